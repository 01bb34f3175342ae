"""A customer model that cannot be fitted never stops build_profiles (issue 20 item 6).

The grocery export of issue 20 (members buying on a few days each, spread evenly over
two years, no dropout visible) made BG/NBD diverge: ``r`` and ``alpha`` run to the
bound, the predictions overflow and ``build_profiles`` raised `InputDataError`
("churn model produced non-finite expected for 3844 customers"). The synthetic shop
below reproduces it.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs
import recsys.profiles.bgnbd as bgnbd_module
from recsys.exceptions import DataWarning
from recsys.profiles import OwnRhythmRule, ProfileConfig
from tests.conftest import shared_dataset

CHURN_COLUMNS = ("p_alive", "churn_risk", "expected_purchases_90d")


def grocery_like(n: int = 1500, seed: int = 0) -> pl.DataFrame:
    """Every member buys on 2 to 5 distinct days drawn uniformly from two years: the
    visit counts are *under*-dispersed (less varied than Poisson), so BG/NBD's rate
    heterogeneity ``r`` runs to infinity, and nobody appears to drop out."""
    rng = np.random.default_rng(seed)
    start = datetime(2014, 1, 1)
    users, days = [], []
    for member in range(n):
        chosen = rng.choice(730, rng.integers(2, 6), replace=False)
        users += [member] * len(chosen)
        days += chosen.tolist()
    purchases, _ = rs.clean_purchases(
        pl.DataFrame(
            {
                "user_id": users,
                "item_id": rng.integers(0, 167, len(users)),
                "timestamp": [start + timedelta(days=int(d)) for d in days],
            }
        )
    )
    return purchases


@pytest.fixture(scope="module")
def grocery() -> pl.DataFrame:
    return grocery_like()


def _model_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "BG/NBD" in str(w.message)]


@pytest.mark.parametrize("as_of", ["2015-06-25", "2015-09-25", "2015-12-25"])
def test_grocery_like_shop_gets_finite_churn_columns(grocery: pl.DataFrame, as_of: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profiles, stats = rs.build_profiles(grocery, as_of=as_of, return_models=True)
    for column in CHURN_COLUMNS:
        values = profiles[column].to_numpy()
        assert np.all(np.isfinite(values)), column
    assert profiles["churn_risk"].is_between(0, 1).all()
    assert profiles["p_alive"].is_between(0, 1).all()
    # the plain fit is extreme: refitted with a light penalty, said once
    assert stats.transactions is not None
    assert stats.transactions.status == "bgnbd_penalized"
    assert len(_model_warnings(caught)) == 1
    assert "extreme" in _model_warnings(caught)[0]
    assert "penalty" in _model_warnings(caught)[0]


def test_unidentified_bgnbd_falls_back_to_the_stated_rule(
    grocery: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # without the penalised refit the fit stays extreme and gives non-finite predictions
    monkeypatch.setattr(bgnbd_module, "RESCUE_PENALIZER", 0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profiles, stats = rs.build_profiles(
            grocery,
            as_of="2015-09-25",
            config=ProfileConfig(calibrate_churn=False),
            return_models=True,
        )
    assert stats.transactions is not None
    assert stats.transactions.status == "own_rhythm_rule"
    assert isinstance(stats.churn.bgnbd, OwnRhythmRule)  # type: ignore[union-attr]
    messages = _model_warnings(caught)
    assert len(messages) == 1
    assert "not bad input" in messages[0]
    assert "OwnRhythmRule" in messages[0]
    # the repeat buyers' columns are the rule's, computed independently here
    repeat = profiles.filter(pl.col("frequency") > 1)
    x = repeat["frequency"].to_numpy() - 1.0
    big_t = repeat["tenure_days"].to_numpy()
    recency = repeat["recency_days"].to_numpy()
    gap = np.maximum((big_t - recency) / x, 1.0)
    alive = np.exp(-recency / gap)
    np.testing.assert_allclose(repeat["p_alive"].to_numpy(), alive, rtol=1e-12)
    np.testing.assert_allclose(
        repeat["churn_risk"].to_numpy(), 1.0 - alive * (1.0 - np.exp(-90.0 / gap)), rtol=1e-12
    )
    np.testing.assert_allclose(
        repeat["expected_purchases_90d"].to_numpy(), alive * 90.0 / gap, rtol=1e-12
    )


def test_bgnbd_status_and_diagnosis_on_the_grocery_shop(grocery: pl.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        profiles = rs.build_profiles(grocery, as_of="2015-12-25", config=ProfileConfig(churn=False))
    with pytest.warns(DataWarning, match="extreme") as caught:
        bg = rs.profiles.BGNBD().fit_profiles(profiles)
    assert len(caught) == 1
    assert bg.status_ == "penalized"
    assert "r" in bg.diagnosis_
    assert "penalty" in bg.diagnosis_
    x, t_x, T = rs.profiles.bgnbd_inputs(profiles)
    assert np.all(np.isfinite(bg.conditional_expected_purchases(90.0, x, t_x, T)))
    assert bg.summary()["std_error"].is_finite().all()


def test_churn_and_value_models_can_be_turned_off(grocery: pl.DataFrame) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profiles, stats = rs.build_profiles(
            grocery, as_of="2015-09-25", config=ProfileConfig(churn=False), return_models=True
        )
    assert not set(CHURN_COLUMNS) & set(profiles.columns)
    assert "clv" not in profiles.columns
    assert stats.transactions is None
    assert stats.churn is None
    assert not _model_warnings(caught)


def test_rule_matches_a_hand_worked_customer() -> None:
    rule = OwnRhythmRule()
    # 4 repeat orders over 40 days (gap 10), last one 10 days ago; a one-time buyer
    x, t_x, T = [4, 0], [40.0, 0.0], [50.0, 20.0]
    np.testing.assert_allclose(rule.p_alive(x, t_x, T), [np.exp(-1.0), 1.0])
    np.testing.assert_allclose(
        rule.conditional_expected_purchases(30.0, x, t_x, T), [3 * np.exp(-1.0), 30.0 / 20.0]
    )
    np.testing.assert_allclose(
        rule.probability_no_purchase(30.0, x, t_x, T),
        [1 - np.exp(-1.0) * (1 - np.exp(-3.0)), np.exp(-1.5)],
    )


def _shared_purchases(name: str) -> pl.DataFrame:
    raw = shared_dataset(name)
    purchases, _ = rs.clean_purchases(raw, preset=name)
    return purchases


@pytest.mark.parametrize(
    ("name", "dates"),
    [
        ("ta_feng", ["2000-12-01", "2001-01-10", "2001-02-20"]),
        ("complete_journey", ["2017-03-01", "2017-09-01", "2017-11-15", "2018-01-01"]),
    ],
)
def test_grocery_datasets_give_finite_predictions_at_every_as_of(
    name: str, dates: list[str]
) -> None:
    purchases = _shared_purchases(name)
    config = ProfileConfig(clv_horizon_days=90)
    for as_of in dates:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            profiles = rs.build_profiles(purchases, as_of=as_of, config=config)
        for column in (*CHURN_COLUMNS, "clv", "expected_order_value"):
            values = profiles[column].to_numpy()
            assert np.all(np.isfinite(values)), (name, as_of, column)


def test_value_model_uses_the_same_fallback_and_says_so_once(
    grocery: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bgnbd_module, "RESCUE_PENALIZER", 0.0)
    priced = grocery.with_columns(
        price=(pl.col("item_id").cast(pl.Float64) % 7 + 1.0), quantity=pl.lit(1.0)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profiles, stats = rs.build_profiles(
            priced,
            as_of="2015-09-25",
            config=ProfileConfig(churn=False, clv_horizon_days=90),
            return_models=True,
        )
    assert stats.transactions is not None
    assert stats.transactions.status == "own_rhythm_rule"
    assert np.all(np.isfinite(profiles["clv"].to_numpy()))
    assert len(_model_warnings(caught)) == 1
    # CLV = expected spend per order x the rule's discounted expected orders
    rule, _spend = stats.clv  # type: ignore[misc]
    assert isinstance(rule, OwnRhythmRule)
    x, t_x, T = rs.profiles.bgnbd_inputs(profiles)
    orders = rs.profiles.gammagamma.discounted_purchases(
        rule, x, t_x, T, horizon_days=90, discount_monthly=0.01
    )
    np.testing.assert_allclose(
        profiles["clv"].to_numpy(), profiles["expected_order_value"].to_numpy() * orders
    )
