"""Each card shows the warnings of the calls that produced its numbers, each once."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

import recsys as rs
from recsys._warnings import concerning, concerns_of
from recsys.exceptions import DataWarning
from recsys.job import JobConfig, JobResult
from tests.job.shops import four_order_shop


@pytest.fixture(scope="module")
def result() -> JobResult:
    config = JobConfig(bootstrap=20, models=("popular", "repeat_explore", "buyagain"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rs.job.run(four_order_shop(300, 200, seed=0), config)


def test_the_due_models_warning_is_on_the_due_card_only(result: JobResult) -> None:
    due = [m for m in result.warnings["profiles"] if m.startswith("p_within_horizon")]
    assert due  # the renewal model could not be calibrated on these data
    assert set(due) <= set(result.claims["due"].warnings)
    for name in ("churn", "value", "model", "evaluation"):
        assert not set(due) & set(result.claims[name].warnings), name


def test_a_warning_of_the_test_and_the_validation_fits_is_shown_once(result: JobResult) -> None:
    model = result.claims["model"].warnings
    both = set(result.warnings["evaluation"]) & set(result.warnings["choice"])
    assert any(m.startswith("BuyAgain falls back") for m in both)
    assert len(model) == len(set(model))
    for message in both:
        assert model.count(message) == 1
    for claim in result.claims.values():
        assert len(claim.warnings) == len(set(claim.warnings))


def test_the_models_warnings_are_not_on_the_customer_cards(result: JobResult) -> None:
    for name in ("churn", "value", "due"):
        assert not any(
            "BuyAgain" in m or "RepeatExplore" in m for m in result.claims[name].warnings
        )


def test_free_items_are_a_value_warning_named_at_as_of_and_at_the_cutoff(
    result: JobResult,
) -> None:
    assert result.cutoff is not None
    before = result.purchases.filter(pl.col("price") == 0)
    at_as_of = before.height
    at_cutoff = before.filter(pl.col("timestamp") < result.cutoff).height
    value = result.claims["value"].warnings
    assert (
        f"{at_as_of} purchase rows before as_of have price 0 (free items): they add nothing "
        "to monetary but count as items and orders"
    ) in value
    assert (
        f"at the cutoff {result.cutoff:%Y-%m-%d}: {at_cutoff} purchase rows before the cutoff "
        "have price 0 (free items): they add nothing to monetary but count as items and orders"
    ) in value
    assert not any("price 0" in m for m in result.claims["churn"].warnings)


def test_the_innermost_mark_wins() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with concerning("recommendations"):
            with concerning("clv"):
                warnings.warn("Gamma-Gamma q <= 1", DataWarning, stacklevel=1)
            warnings.warn("BuyAgain falls back", DataWarning, stacklevel=1)
        warnings.warn("outside", DataWarning, stacklevel=1)
    assert [(str(w.message), concerns_of(w.message)) for w in caught] == [
        ("Gamma-Gamma q <= 1", ("clv",)),
        ("BuyAgain falls back", ("recommendations",)),
        ("outside", ()),
    ]


def test_a_step_records_each_warning_once_with_its_own_mark_or_the_steps() -> None:
    from recsys.job.evidence import StepWarnings, record_warnings

    step = StepWarnings()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with record_warnings(step, "recommendations"):
            for _ in range(3):
                warnings.warn("ItemKNN scores too few items", DataWarning, stacklevel=1)
            with concerning("evaluation"):
                warnings.warn("k is larger than the longest list", DataWarning, stacklevel=1)
            warnings.warn("a third-party warning", RuntimeWarning, stacklevel=1)
    assert len(caught) == 3  # re-issued once each
    assert step.about("recommendations") == (
        "ItemKNN scores too few items",
        "a third-party warning",
    )
    assert step.about("evaluation") == ("k is larger than the longest list",)


def test_a_marked_warning_is_shown_once_per_place_under_the_default_filter() -> None:
    def fit() -> None:
        with concerning("clv"):
            warnings.warn("Gamma-Gamma q <= 1 in a loop", DataWarning, stacklevel=1)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(3):
            fit()
    assert [str(w.message) for w in caught] == ["Gamma-Gamma q <= 1 in a loop"]
