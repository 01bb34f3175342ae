"""The warnings a job prints on the console: each once per step, in the words of the step
(as of ``as_of`` or as of the evaluation cutoff), with counts that agree with their noun."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta

import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import DataWarning
from recsys.job import JobConfig
from recsys.job.actions import action_list
from tests.job.shops import four_order_shop

_FREE_ITEMS = "they add nothing to monetary but count as items and orders"


def _price_0_lines(shown: list[warnings.WarningMessage]) -> list[str]:
    return [" ".join(str(w.message).split()) for w in shown if "price 0" in str(w.message)]


def _expected(purchases: pl.DataFrame, as_of: datetime, cutoff: datetime) -> list[str]:
    free = purchases.filter((pl.col("price") == 0) & (pl.col("timestamp") < as_of))
    at_cutoff = free.filter(pl.col("timestamp") < cutoff).height
    return [
        f"{free.height} purchase rows before as_of have price 0 (free items): {_FREE_ITEMS}",
        f"at the cutoff {cutoff:%Y-%m-%d}: {at_cutoff} purchase rows before the cutoff "
        f"have price 0 (free items): {_FREE_ITEMS}",
    ]


def test_the_job_says_free_items_once_per_step_as_of_as_of_and_as_of_the_cutoff() -> None:
    purchases = four_order_shop(200, 100, seed=1)
    config = JobConfig(bootstrap=10, models=("popular",))
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        result = rs.job.run(purchases, config)
    assert result.cutoff is not None
    assert _price_0_lines(shown) == _expected(purchases, result.as_of, result.cutoff)


def test_recsys_actions_says_free_items_once_per_step_in_the_same_words() -> None:
    purchases = four_order_shop(200, 100, seed=1)
    as_of = datetime(2024, 1, 1)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        action_list(purchases, as_of=as_of, horizon_days=90, bootstrap=10)
    assert _price_0_lines(shown) == _expected(purchases, as_of, as_of - timedelta(days=90))


def test_one_free_purchase_row_is_singular() -> None:
    purchases = four_order_shop(200, 100, seed=1).with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(0.0).otherwise(10.0).alias("price")
    )
    with pytest.warns(DataWarning) as shown:
        rs.build_profiles(purchases, as_of=datetime(2024, 1, 1))
    assert (
        "1 purchase row before as_of has price 0 (a free item): it adds nothing to "
        "monetary but counts as an item and an order"
    ) in [" ".join(str(w.message).split()) for w in shown]


def test_a_steps_timing_line_names_the_step_by_its_short_name() -> None:
    from recsys.job.run import _Steps

    lines: list[str] = []
    steps = _Steps(lines.append, total=2)
    with steps("evaluation", "evaluate popular, als, itemknn on the 90 days after 2010-09-11"):
        pass
    with steps("choice", "choose the model on a validation split of the training data"):
        pass
    assert [line.split(":")[0] for line in lines] == [
        "[1/2] evaluate popular, als, itemknn on the 90 days after 2010-09-11 ...",
        "      evaluation",
        "[2/2] choose the model on a validation split of the training data ...",
        "      choice",
    ]
    assert all(line.endswith(" s") for line in lines[1::2])
