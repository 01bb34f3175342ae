"""The examples in the docstrings of recsys.stats run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "name",
    [
        "recsys.stats",
        "recsys.stats.intervals",
        "recsys.stats.likelihood",
        "recsys.stats.logistic",
        "recsys.stats.multiple",
        "recsys.stats.repurchase",
        "recsys.stats.resample",
        "recsys.stats.survival",
    ],
)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    failures, attempted = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0, name
    assert failures == 0, name


def test_kernel_docstring_example_is_collected() -> None:
    from recsys.stats import resample

    tests = doctest.DocTestFinder().find(resample)
    assert any(t.name.endswith("draw_counts") and t.examples for t in tests)
