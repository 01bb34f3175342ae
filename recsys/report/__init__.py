"""Plots and the HTML report. matplotlib is an optional extra (``pip install recsys[plot]``)."""
