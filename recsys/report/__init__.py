"""Plots, number formats, templates and the HTML report.

matplotlib and jinja2 are base dependencies."""
