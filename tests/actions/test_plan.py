"""The action list takes a treatment plan (`rs.uplift.allocate`) to decide who gets the offer."""

from __future__ import annotations

import polars as pl
import pytest

import recsys as rs
from recsys.actions import PLAN_HOLDOUT, PLAN_MISSING, PLAN_NOT_TREATED, plan_counts
from recsys.exceptions import DataWarning, InputDataError


def _profiles() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [1, 2, 3, 4, 5],
            "lifecycle_stage": ["dormant", "dormant", "active", "active", "new"],
            "churn_risk": [0.9, 0.8, 0.2, 0.1, 0.3],
            "clv": [100.0, 400.0, 300.0, 80.0, 50.0],
        }
    )


def _plan() -> pl.DataFrame:
    # by hand: 1 treated, 2 not treated, 3 in the holdout, 4 treated; 5 absent
    return pl.DataFrame(
        {
            "user_id": [1, 2, 3, 4],
            "treat": [True, False, False, True],
            "in_holdout": [False, False, True, False],
            "reason": ["treat: gain 3", "not treated: no gain", "holdout: would treat", "treat"],
        }
    )


def test_the_plan_decides_who_gets_an_action() -> None:
    with pytest.warns(DataWarning, match="1 of 5 customers have no row in plan"):
        out = rs.retention_actions(_profiles(), plan=_plan())
    rows = {r["user_id"]: r for r in out.iter_rows(named=True)}
    assert rows[1]["action"] == "win_back"
    assert rows[4]["action"] == "cross_sell"
    assert rows[2]["action"] == "none"  # win_back by the rules, but the plan says no
    assert rows[2]["reason"].startswith(PLAN_NOT_TREATED + " (not treated: no gain)")
    assert rows[2]["projected_value"] == 0.0
    assert rows[2]["priority"] is None
    assert rows[3]["action"] == "none"
    assert rows[3]["reason"].startswith(PLAN_HOLDOUT)
    assert rows[5]["action"] == "none"
    assert rows[5]["reason"].startswith(PLAN_MISSING)
    assert plan_counts(out) == {"not_treated": 1, "holdout": 1, "missing": 1}
    # without the plan, the same rules contact all five
    assert (rs.retention_actions(_profiles())["action"] != "none").sum() == 5


def test_the_plan_comes_before_the_budget() -> None:
    plan = _plan().vstack(
        pl.DataFrame({"user_id": [5], "treat": [True], "in_holdout": [False], "reason": ["treat"]})
    )
    out = rs.retention_actions(_profiles(), plan=plan, max_customers=2)
    contacted = out.filter(pl.col("action") != "none")
    # planned customers 1 (90), 4 (80), 5 (50): the budget keeps the two highest
    assert sorted(contacted["user_id"]) == [1, 4]
    assert contacted["priority"].to_list() == [1, 2]


def test_an_allocate_plan_feeds_the_action_list() -> None:
    scores = pl.DataFrame({"user_id": [1, 2, 3, 4, 5], "uplift": [0.3, -0.1, 0.2, 0.0, 0.4]})
    plan = rs.uplift.allocate(scores, value=10.0, cost=1.0, holdout=0.0)
    out = rs.retention_actions(_profiles(), plan=plan)
    offered = set(out.filter(pl.col("action") != "none")["user_id"])
    assert offered == set(plan.filter("treat")["user_id"]) == {1, 3, 5}


def test_bad_plans_are_typed_errors() -> None:
    with pytest.raises(InputDataError, match=r"plan lacks the columns \['in_holdout'\]"):
        rs.retention_actions(_profiles(), plan=_plan().drop("in_holdout"))
    with pytest.raises(InputDataError, match="more than once"):
        rs.retention_actions(_profiles(), plan=_plan().vstack(_plan().head(1)))
    with pytest.raises(InputDataError, match="'treat' must be True/False"):
        rs.retention_actions(_profiles(), plan=_plan().with_columns(pl.col("treat").cast(int)))
    with pytest.raises(InputDataError, match="user_id has type"):
        rs.retention_actions(
            _profiles(), plan=_plan().with_columns(pl.col("user_id").cast(pl.String))
        )
