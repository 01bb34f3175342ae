"""UpliftModel on simulated experiments with known effects, and on bad input."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError, NotFittedError
from tests.uplift._simulate import simulate

FEATURES = ["user_id", "x1", "x2", "x3", "x4"]
FAST = {"max_iter": 60}


def _fit(method: str, frame: pl.DataFrame, **kwargs) -> np.ndarray:
    model = rs.uplift.UpliftModel(
        method, n_folds=3, learner_params=FAST, num_threads=1, random_state=0, **kwargs
    )
    oof = model.fit_predict(
        frame.select("user_id", "arm", "outcome"),
        frame.select(FEATURES),
        treatment="arm",
        outcome="outcome",
        control="control",
    )
    assert oof["user_id"].to_list() == frame["user_id"].to_list()
    return oof["uplift"].to_numpy()


def _pehe(estimate: np.ndarray, tau: np.ndarray) -> float:
    return float(np.sqrt(np.mean((estimate - tau) ** 2)))


def _true_gain(treat: np.ndarray, tau: np.ndarray) -> float:
    return float(tau[treat].sum())


@pytest.fixture(scope="module")
def balanced():
    frame, tau = simulate(20_000, 0.5, binary=True, seed=1)
    return frame, tau, {m: _fit(m, frame) for m in ("t", "x", "dr")}


@pytest.fixture(scope="module")
def unbalanced():
    frame, tau = simulate(20_000, 0.9, binary=False, seed=2)
    return frame, tau, {m: _fit(m, frame) for m in ("t", "x", "dr")}


def test_every_learner_recovers_heterogeneous_effects(balanced):
    _, tau, estimates = balanced
    # Knowing nothing but the average effect gives PEHE = sd(tau); each learner does better.
    for method, estimate in estimates.items():
        assert _pehe(estimate, tau) < 0.8 * tau.std(), method
        # The customers the treatment puts off (x3 < -0.5) are found as such on average.
        assert estimate[tau < -0.05].mean() < 0 < estimate[tau > 0.05].mean(), method


def test_x_and_dr_beat_t_when_arms_are_unbalanced(unbalanced):
    _, tau, estimates = unbalanced
    pehe = {m: _pehe(e, tau) for m, e in estimates.items()}
    assert pehe["x"] < 0.5 * pehe["t"], pehe
    assert pehe["dr"] < pehe["t"], pehe


@pytest.mark.parametrize("case", ["balanced", "unbalanced"])
def test_plans_beat_churn_risk_and_approach_the_oracle(case, request):
    frame, tau, estimates = request.getfixturevalue(case)
    count = len(tau) // 3
    oracle = _true_gain(np.argsort(-tau)[:count], tau)
    by_churn = _true_gain(np.argsort(-frame["churn_risk"].to_numpy())[:count], tau)
    for method, estimate in estimates.items():
        plan = rs.uplift.allocate(
            pl.DataFrame({"user_id": frame["user_id"], "uplift": estimate}),
            count=count,
            holdout=0.0,
        )
        treated = plan.filter("treat")["user_id"].to_numpy()
        gain = _true_gain(treated, tau)
        assert gain > by_churn, (case, method)
        regret = (oracle - gain) / oracle
        assert regret < 0.35, (case, method, regret)


def test_no_customer_is_scored_by_a_model_that_saw_them():
    frame, _ = simulate(3000, seed=3)
    before = _fit("x", frame)
    # Change one customer's outcome: the customers of their fold were scored by the model
    # fitted without that fold, so their scores cannot move; the others' can.
    changed = frame.with_columns(
        pl.when(pl.col("user_id") == 0)
        .then(1 - pl.col("outcome"))
        .otherwise(pl.col("outcome"))
        .alias("outcome")
    )
    after = _fit("x", changed)
    moved = before != after
    assert moved.any()
    t = (frame["arm"] == "offer").to_numpy().astype(np.int8)
    from recsys.uplift.models import _folds

    fold = _folds(t, 3, 0)
    assert not moved[fold == fold[0]].any()


def test_default_folds_are_two_from_many_customers_in_the_smaller_arm():
    from recsys.uplift.models import MANY_CUSTOMERS, default_folds

    def arms(treated: int, control: int) -> np.ndarray:
        return np.r_[np.ones(treated, dtype=np.int8), np.zeros(control, dtype=np.int8)]

    assert default_folds(arms(MANY_CUSTOMERS, MANY_CUSTOMERS)) == 2
    assert default_folds(arms(9 * MANY_CUSTOMERS, MANY_CUSTOMERS - 1)) == 5
    assert default_folds(arms(MANY_CUSTOMERS - 1, 9 * MANY_CUSTOMERS)) == 5
    frame, _ = simulate(600, seed=8)
    model = rs.uplift.UpliftModel("t", learner_params={"max_iter": 5}, num_threads=1)
    model.fit(frame.drop("churn_risk"), treatment="arm", outcome="outcome", control="control")
    assert model.n_folds_ == 5
    assert len(model.fold_models_) == 5


def test_predict_averages_the_fold_models_and_is_deterministic():
    frame, _ = simulate(1500, seed=4)
    data = frame.select("user_id", "arm", "outcome")
    feats = frame.select(FEATURES)
    kwargs = {"treatment": "arm", "outcome": "outcome", "control": "control"}
    fits = [
        rs.uplift.UpliftModel(
            "dr", n_folds=3, learner_params=FAST, num_threads=threads, random_state=seed
        ).fit(data, feats, **kwargs)
        for threads, seed in ((1, 0), (2, 0), (1, 5))
    ]
    new = feats.head(50)
    preds = [m.predict(new)["uplift"].to_numpy() for m in fits]
    codes = fits[0].bins_.transform(fits[0].encoder_.transform(new))
    by_hand = np.mean([fm.predict(codes, 1) for fm in fits[0].fold_models_], axis=0)
    np.testing.assert_allclose(preds[0], by_hand, rtol=1e-12)
    np.testing.assert_array_equal(preds[0], preds[1])  # 1 and 2 threads
    np.testing.assert_array_equal(fits[0].oof_["uplift"], fits[1].oof_["uplift"])
    assert not np.array_equal(preds[0], preds[2])  # another random_state, other folds


def test_continuous_outcome_is_incremental_value():
    frame, tau = simulate(4000, binary=False, seed=5)
    model = rs.uplift.UpliftModel("t", n_folds=2, learner_params=FAST, num_threads=1)
    model.fit(frame.drop("churn_risk"), treatment="arm", outcome="outcome", control="control")
    assert model.outcome_kind_ == "continuous"
    # Mean effect 0.5 (in the outcome's unit), recovered within noise.
    assert abs(model.oof_["uplift"].mean() - tau.mean()) < 0.25


def test_one_arm_against_control_of_a_multi_arm_experiment():
    frame, _ = simulate(3000, seed=6)
    third = frame.with_columns(
        pl.when(pl.col("user_id") % 3 == 0)
        .then(pl.lit("mail"))
        .otherwise(pl.col("arm"))
        .alias("arm")
    ).drop("churn_risk")
    kwargs = {"treatment": "arm", "outcome": "outcome", "control": "control"}
    model = rs.uplift.UpliftModel("t", n_folds=2, learner_params=FAST, num_threads=1)
    with pytest.raises(InputDataError, match="arm="):
        model.fit(third, **kwargs)
    model.fit(third, arm="offer", **kwargs)
    assert model.arm_ == "offer"
    assert model.n_other_arms_ == int((third["arm"] == "mail").sum())
    assert model.oof_.height == third.height - model.n_other_arms_
    with pytest.raises(InputDataError, match="not a treated arm"):
        model.fit(third, arm="sms", **kwargs)


# ----------------------------------------------------------------------------- bad input
@pytest.fixture
def small():
    frame, _ = simulate(600, seed=7)
    return frame.drop("churn_risk")


def _model():
    return rs.uplift.UpliftModel("t", n_folds=2, learner_params={"max_iter": 5}, num_threads=1)


KW = {"treatment": "arm", "outcome": "outcome", "control": "control"}


def test_a_treatment_column_with_one_arm_is_an_error(small):
    with pytest.raises(InputDataError, match="one arm"):
        _model().fit(small.with_columns(arm=pl.lit("offer")), **KW)


def test_an_outcome_constant_in_an_arm_warns_and_is_modelled_as_that_constant(small):
    data = small.with_columns(
        outcome=pl.when(pl.col("arm") == "control").then(0).otherwise(pl.col("outcome"))
    )
    with pytest.warns(DataWarning, match="constant in the control arm"):
        model = _model().fit(data, **KW)
    # uplift = P(y | treated, x) - 0: never negative.
    assert model.oof_["uplift"].min() >= 0
    with pytest.raises(InputDataError, match="both arms"):
        _model().fit(small.with_columns(outcome=pl.lit(1)), **KW)


def test_null_features_are_counted_and_warned(small):
    data = small.with_columns(x1=pl.when(pl.col("user_id") < 7).then(None).otherwise(pl.col("x1")))
    with pytest.warns(DataWarning, match="'x1': 7 nulls"):
        model = _model().fit(data, **KW)
    assert model.oof_["uplift"].is_finite().all()


def test_text_features_become_categories_and_unseen_values_warn(small):
    data = small.with_columns(
        channel=pl.when(pl.col("x4") > 0).then(pl.lit("web")).otherwise(pl.lit("phone"))
    )
    with pytest.warns(DataWarning, match="'channel' \\(2 values\\)"):
        model = _model().fit(data, **KW)
    assert model.encoder_.categories["channel"] == ["phone", "web"]
    new = data.head(3).with_columns(channel=pl.lit("store"))
    with pytest.warns(DataWarning, match="'channel': 3 values not seen at fit"):
        model.predict(new)
    many = data.with_columns(code=pl.col("user_id").cast(pl.String))
    with pytest.raises(InputDataError, match="'code' is text with 600 distinct"):
        _model().fit(many, **KW)
    dates = data.with_columns(day=pl.date(2020, 1, 1))
    with pytest.warns(DataWarning, match=r"1 date/time feature columns are not used: \['day'\]"):
        model = _model().fit(dates, **KW)
    assert "day" not in model.encoder_.columns
    lists = data.with_columns(basket=pl.concat_list("x1", "x2"))
    with pytest.raises(InputDataError, match="'basket' has dtype List"):
        _model().fit(lists, **KW)


def test_customers_missing_from_the_features_are_counted_and_warned(small):
    experiment = small.select("user_id", "arm", "outcome")
    features = small.select(FEATURES).filter(pl.col("user_id") >= 25)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = _model().fit(experiment, features, **KW)
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert len(messages) == 1  # counted once, not again as nulls of every column
    assert "25 of 600 customers have no row in features" in messages[0]
    assert model.oof_.height == 600
    with pytest.raises(InputDataError, match="repeated 'user_id'"):
        _model().fit(experiment, pl.concat([features, features.head(1)]), **KW)


def test_other_bad_input(small):
    with pytest.raises(NotFittedError):
        _model().predict(small)
    with pytest.raises(InputDataError, match="has 3 nulls"):
        _model().fit(
            small.with_columns(
                arm=pl.when(pl.col("user_id") < 3).then(None).otherwise(pl.col("arm"))
            ),
            **KW,
        )
    with pytest.raises(InputDataError, match="control='none' is not an arm"):
        _model().fit(small, treatment="arm", outcome="outcome", control="none")
    with pytest.raises(InputDataError, match="method"):
        rs.uplift.UpliftModel("s").fit(small, **KW)
    with pytest.raises(InputDataError, match="n_folds must be >= 2"):
        rs.uplift.UpliftModel(n_folds=1).fit(small, **KW)
    with pytest.raises(InputDataError, match=r"max_leaf_nodes must be 2\.\.64, got None"):
        rs.uplift.UpliftModel(learner_params={"max_leaf_nodes": None}).fit(small, **KW)


def test_features_in_the_experiments_order_or_not_give_the_same_model(small):
    experiment = small.select("user_id", "arm", "outcome")
    features = small.select(FEATURES)
    shuffled = features.sample(fraction=1.0, shuffle=True, seed=3)
    with_nulls = features.with_columns(
        x2=pl.when(pl.col("user_id") % 7 == 0).then(None).otherwise(pl.col("x2"))
    )
    for frame, other in ((features, shuffled), (with_nulls, with_nulls.reverse())):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # the nulls, counted the same way
            same = _model().fit(experiment, frame, **KW)
            joined = _model().fit(experiment, other, **KW)
        np.testing.assert_array_equal(same.oof_["uplift"], joined.oof_["uplift"])
        new = frame.head(50)
        np.testing.assert_array_equal(same.predict(new)["uplift"], joined.predict(new)["uplift"])
