"""allocate (whom to treat) and plan_value (what the plan is worth), by hand and simulated."""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError
from tests.uplift._simulate import simulate


def test_budget_takes_the_best_gain_per_unit_of_cost_by_hand():
    scores = pl.DataFrame(
        {"user_id": ["a", "b", "c", "d"], "uplift": [0.5, 0.4, 0.3, 0.2], "cost": [40, 10, 10, 5]}
    )
    plan = rs.uplift.allocate(scores, value=100.0, cost="cost", budget=25.0, holdout=0.0)
    # gains 10, 30, 20, 15; per unit of cost 0.25, 3, 2, 3: b, d, c fit in 25, a does not.
    assert plan["user_id"].to_list() == ["b", "d", "c", "a"]
    assert plan["expected_gain"].to_list() == pytest.approx([30.0, 15.0, 20.0, 10.0])
    assert plan["treat"].to_list() == [True, True, True, False]
    assert plan["reason"][3] == "not treated: the budget of 25 is used up"


def test_count_positive_gains_and_reasons():
    scores = pl.DataFrame({"user_id": [1, 2, 3, 4, 5], "uplift": [0.2, 0.3, -0.1, 0.0, 0.3]})
    plan = rs.uplift.allocate(scores, value=10.0, cost=1.0, margin=0.5, count=1, holdout=0.0)
    # gains 0, 0.5, -1.5, -1, 0.5: the tie 2 / 5 goes to the earlier row.
    assert plan.filter("treat")["user_id"].to_list() == [2]
    reasons = dict(zip(plan["user_id"], plan["reason"], strict=True))
    assert reasons[5] == "not treated: the count of 1 customer is used up"
    assert "lowers this customer's outcome" in reasons[3]
    assert reasons[4] == "not treated: no expected response to the treatment"
    assert "does not pay the cost" in reasons[1]  # a gain of exactly 0 is not worth a contact
    everyone = rs.uplift.allocate(scores, value=10.0, cost=1.0, margin=0.5, holdout=0.0)
    assert sorted(everyone.filter("treat")["user_id"].to_list()) == [2, 5]


def _blake(user_id, seed: int) -> float:
    digest = hashlib.blake2b(f"holdout:{seed}:{user_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def test_holdout_is_hash_stable_random_and_never_treated():
    n = 20_000
    scores = pl.DataFrame({"user_id": np.arange(n), "uplift": np.linspace(0.01, 0.5, n)})
    plan = rs.uplift.allocate(scores, value=10.0, cost=0.05, holdout=0.1, seed=3)
    held = plan.filter("in_holdout")
    expected = {u for u in range(n) if _blake(u, 3) < 0.1}
    assert set(held["user_id"].to_list()) == expected
    assert abs(held.height / n - 0.1) < 4 * np.sqrt(0.1 * 0.9 / n)
    assert not held["treat"].any()
    assert held["planned"].all()  # no cap: the plan would treat every positive gain
    shuffled = rs.uplift.allocate(scores.reverse(), value=10.0, cost=0.05, holdout=0.1, seed=3)
    assert set(shuffled.filter("in_holdout")["user_id"].to_list()) == expected
    other = rs.uplift.allocate(scores, value=10.0, cost=0.05, holdout=0.1, seed=4)
    assert set(other.filter("in_holdout")["user_id"].to_list()) != expected


def test_holdout_customers_are_planned_only_above_the_plans_cut():
    n = 2000
    scores = pl.DataFrame({"user_id": np.arange(n), "uplift": np.linspace(1.0, 0.001, n)})
    plan = rs.uplift.allocate(scores, count=500, holdout=0.2, seed=0)
    assert plan["treat"].sum() == 500
    cut = plan.filter("treat")["uplift"].min()
    held = plan.filter("in_holdout")
    np.testing.assert_array_equal(held["planned"], held["uplift"] >= cut)
    assert held.filter("planned")["reason"][0].startswith("holdout: the plan would treat")


def test_allocate_bad_input():
    scores = pl.DataFrame({"user_id": [1, 2], "uplift": [0.1, 0.2]})
    with pytest.raises(InputDataError, match="repeated 'user_id'"):
        rs.uplift.allocate(pl.concat([scores, scores]))
    with pytest.raises(InputDataError, match="cost must be >= 0"):
        rs.uplift.allocate(scores, cost=-1.0)
    with pytest.raises(InputDataError, match="every cost must be > 0"):
        rs.uplift.allocate(scores, budget=10.0)
    with pytest.raises(InputDataError, match="holdout must be in"):
        rs.uplift.allocate(scores, holdout=1.0)
    with pytest.raises(InputDataError, match="no column 'clv'"):
        rs.uplift.allocate(scores, value="clv")
    with pytest.raises(InputDataError, match="NaN"):
        rs.uplift.allocate(scores.with_columns(uplift=pl.lit(float("nan"))))


# ------------------------------------------------------------------------------ plan_value
@pytest.fixture(scope="module")
def heldout():
    """A held-out experiment and the plan of a model fitted on its other half."""
    frame, tau = simulate(8000, 0.5, binary=True, seed=11)
    train, test = frame.filter(pl.col("user_id") % 2 == 0), frame.filter(pl.col("user_id") % 2 == 1)
    features = ["user_id", "x1", "x2", "x3", "x4"]
    model = rs.uplift.UpliftModel("x", n_folds=2, learner_params={"max_iter": 60}, num_threads=1)
    model.fit(
        train.select("user_id", "arm", "outcome"),
        train.select(features),
        treatment="arm",
        outcome="outcome",
        control="control",
    )
    plan = rs.uplift.allocate(model.predict(test.select(features)), value=20.0, cost=1.0)
    return test, plan, tau[1::2]


# The held-out experiment's columns and the campaign's economics (value 20, cost 1).
CAMPAIGN = {
    "treatment": "arm",
    "outcome": "outcome",
    "control": "control",
    "value": 20.0,
    "cost": 1.0,
    "rank_by": ["churn_risk"],
}


def test_plan_value_ips_by_hand_and_the_plan_beats_churn_targeting(heldout):
    test, plan, _ = heldout
    result = rs.uplift.plan_value(test, plan, **CAMPAIGN, bootstrap=40, seed=0)
    table = result.table
    assert set(table["policy"]) == {"plan", "treat_all", "treat_none", "random", "by_churn_risk"}
    t = (test["arm"] == "offer").to_numpy()
    reward = 20.0 * test["outcome"].to_numpy() - 1.0 * t
    ips = dict(zip(*table.filter(estimator="ips").select("policy", "value"), strict=True))
    assert ips["treat_all"] == pytest.approx(reward[t].sum() / t.mean() / t.size)
    assert ips["treat_none"] == pytest.approx(reward[~t].sum() / (1 - t.mean()) / t.size)
    for row in table.iter_rows(named=True):
        assert row["ci_low"] <= row["value"] <= row["ci_high"]
        if row["policy"] == "treat_none":
            assert row["gain"] == 0
            assert row["gain_ci_low"] == row["gain_ci_high"] == 0
    dr = dict(zip(*table.filter(estimator="dr").select("policy", "gain"), strict=True))
    assert dr["plan"] > dr["by_churn_risk"]
    assert dr["plan"] > dr["random"]
    assert result.varies
    assert result.qini_auc.ci_low > 0
    assert result.claim.startswith("The model ranks responders better than random")
    assert result.qini["ci_low"].is_not_null().all()


def test_plan_value_with_no_heterogeneity_states_the_fallback():
    rng = np.random.default_rng(0)
    n = 3000
    t = rng.integers(0, 2, n)
    exp = pl.DataFrame({"user_id": np.arange(n), "arm": t, "y": (rng.random(n) < 0.2 + 0.05 * t)})
    plan = rs.uplift.allocate(pl.DataFrame({"user_id": np.arange(n), "uplift": rng.random(n)}))
    result = rs.uplift.plan_value(exp, plan, treatment="arm", outcome="y", control=0, bootstrap=30)
    assert not result.varies
    assert "barely varies by customer" in result.claim
    assert "Fall back" in result.claim


def test_plan_value_that_ranks_responders_last_says_so():
    rng = np.random.default_rng(1)
    n = 4000
    t = rng.integers(0, 2, n)
    responds = rng.random(n) < 0.5
    y = rng.random(n) < 0.1 + 0.4 * (t * responds)
    exp = pl.DataFrame({"user_id": np.arange(n), "arm": t, "y": y})
    backwards = (~responds) + 0.01 * rng.random(n)  # the non-responders first
    plan = rs.uplift.allocate(pl.DataFrame({"user_id": np.arange(n), "uplift": backwards}))
    result = rs.uplift.plan_value(exp, plan, treatment="arm", outcome="y", control=0, bootstrap=30)
    assert result.qini_auc.ci_high < 0
    assert not result.varies
    assert "worse than random" in result.claim
    assert "includes 0" not in result.claim
    assert "Fall back" in result.claim


def test_plan_value_bad_input(heldout):
    test, plan, _ = heldout
    kwargs = {"treatment": "arm", "outcome": "outcome", "control": "control"}
    with pytest.raises(InputDataError, match="10 of 4000 experiment customers have no row"):
        rs.uplift.plan_value(test, plan.slice(10), **kwargs)
    with pytest.raises(InputDataError, match="bootstrap must be >= 10"):
        rs.uplift.plan_value(test, plan, bootstrap=5, **kwargs)
    with pytest.raises(InputDataError, match="no column 'clv'"):
        rs.uplift.plan_value(test, plan, rank_by=["clv"], **kwargs)


def test_plan_value_gains_cover_the_true_gains(heldout):
    test, plan, tau = heldout
    result = rs.uplift.plan_value(test, plan, **CAMPAIGN, bootstrap=100, seed=1)
    # The true gain of a policy d over treating no one, per customer: mean(d (20 tau - 1)).
    planned = plan.join(test.select("user_id"), on="user_id").sort("user_id")["planned"]
    assert test["user_id"].is_sorted()
    truth = {
        "plan": float(np.mean(planned.to_numpy() * (20 * tau - 1))),
        "treat_all": float(np.mean(20 * tau - 1)),
    }
    for row in result.table.filter(pl.col("policy").is_in(list(truth))).iter_rows(named=True):
        assert row["gain_ci_low"] <= truth[row["policy"]] <= row["gain_ci_high"], row
