"""LearnedChurn and LearnedCLV: a simulation with a known truth, a plain-numpy
reference of the logistic fit, no leakage past as_of, persistence, bad input."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError
from recsys.profiles.learned_features import customer_features, feature_columns

START = datetime(2020, 1, 1)
AS_OF = datetime(2020, 12, 1)


def _simulate(n: int = 400, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    """Purchases of customers buying at their own Poisson rate until they drop out
    (exponential lifetime); returns the purchases and each customer's dropout day."""
    rng = np.random.default_rng(seed)
    rows = []
    dropout = rng.exponential(250.0, n)
    for u in range(n):
        rate = rng.gamma(2.0, 1 / 40.0)  # orders per day
        t = rng.uniform(0, 120)
        price = rng.gamma(2.0, 10.0)
        while t < min(dropout[u], 460.0):
            rows.append((u, int(rng.integers(0, 30)), START + timedelta(days=float(t)), price))
            t += rng.exponential(1.0 / rate)
    frame = pl.DataFrame(
        rows, schema=["user_id", "item_id", "timestamp", "price"], orient="row"
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("us")), quantity=pl.lit(1.0))
    purchases, _ = rs.clean_purchases(frame)
    return purchases, dropout


def _numpy_logistic(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """Logistic regression by Newton's method on standardised columns, minimising the
    mean log-loss + ``l2 * |w|^2`` (intercept unpenalised); probabilities of ``x``."""
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.column_stack([np.ones(len(x)), (x - x.mean(axis=0)) / scale])
    penalty = np.full(z.shape[1], 2.0 * l2)
    penalty[0] = 0.0
    w = np.zeros(z.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) / len(y) + penalty * w
        hess = (z * (p * (1 - p))[:, None]).T @ z / len(y) + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-12:
            break
    return 1.0 / (1.0 + np.exp(-(z @ w)))


@pytest.fixture(scope="module")
def simulated() -> tuple[pl.DataFrame, np.ndarray]:
    return _simulate()


def test_churn_ranks_the_customers_who_dropped_out(simulated):
    purchases, dropout = simulated
    model = rs.profiles.LearnedChurn(origins=3).fit(purchases, as_of=AS_OF, horizon_days=60)
    risk = model.predict(purchases)
    users = risk["user_id"].to_numpy()
    gone = dropout[users] < (AS_OF - START).days  # the truth: dropped out before as_of
    r = risk["churn_risk"].to_numpy()
    assert model.n_origins_ == 3
    assert r[gone].mean() > r[~gone].mean() + 0.2
    pairs = (r[gone][:, None] > r[~gone][None, :]).mean()  # AUC of dropped out vs alive
    assert pairs > 0.8


def test_single_origin_fit_matches_a_numpy_logistic_regression(simulated):
    purchases, _ = simulated
    model = rs.profiles.LearnedChurn(origins=1, l2=1e-2).fit(
        purchases, as_of=AS_OF, horizon_days=60
    )
    origin = AS_OF - timedelta(days=60)
    users, x = customer_features(purchases, origin, 60, True)
    x = x[:, feature_columns(model.feature_names, True)]
    after = purchases.filter((pl.col("timestamp") >= origin) & (pl.col("timestamp") < AS_OF))[
        "user_id"
    ].unique()
    y = (~users.is_in(after.implode())).cast(pl.Float64).to_numpy()
    expected = _numpy_logistic(x, y, 1e-2)
    got = 1.0 / (1.0 + np.exp(-(model.intercept_ + x @ model.coef_)))
    np.testing.assert_allclose(got, expected, atol=2e-3)
    assert abs(got - expected).max() < 0.1 * abs(expected - y.mean()).max()
    np.testing.assert_array_equal(model.platt_, [0.0, 1.0])


def test_clv_is_past_spend_times_the_probability_of_an_order(simulated):
    purchases, _ = simulated
    past = (
        purchases.filter(pl.col("timestamp") < AS_OF)
        .group_by("user_id")
        .agg((pl.col("price") * pl.col("quantity")).sum().alias("past"))
        .sort("user_id")
    )
    alone = rs.profiles.LearnedCLV(churn_weight=0.0).fit(purchases, AS_OF, 60).predict(purchases)
    np.testing.assert_allclose(alone["clv"].to_numpy(), past["past"].to_numpy(), atol=1e-4)
    model = rs.profiles.LearnedCLV().fit(purchases, AS_OF, 60)
    clv = model.predict(purchases)
    _, x = customer_features(purchases, AS_OF, 60, True)
    logit = model.intercept_ + x[:, feature_columns(model.feature_names, True)] @ model.coef_
    risk = 1.0 / (1.0 + np.exp(-(model.platt_[0] + model.platt_[1] * logit)))
    expected = past["past"].to_numpy() * (1.0 - risk)
    np.testing.assert_allclose(clv["clv"].to_numpy(), expected, atol=1e-4)


@pytest.mark.parametrize("cls", [rs.profiles.LearnedChurn, rs.profiles.LearnedCLV])
def test_nothing_at_or_after_as_of_is_read(simulated, cls):
    purchases, _ = simulated
    users = purchases["user_id"].unique().sort()[:50]
    absurd = pl.DataFrame(
        {
            "user_id": users,
            "item_id": pl.Series([999] * users.len(), dtype=purchases["item_id"].dtype),
            "timestamp": [AS_OF + timedelta(hours=i % 3 * 100) for i in range(users.len())],
            "quantity": [1e6] * users.len(),
            "price": [1e6] * users.len(),
        }
    ).cast(purchases.select("user_id", "item_id", "timestamp", "quantity", "price").schema)
    polluted = pl.concat([purchases, absurd], how="diagonal_relaxed")
    clean = cls().fit(purchases, AS_OF, 60).predict(purchases)
    dirty = cls().fit(polluted, AS_OF, 60).predict(polluted)
    assert clean.equals(dirty)


def test_save_and_load_give_the_same_predictions(simulated, tmp_path):
    purchases, _ = simulated
    for cls in (rs.profiles.LearnedChurn, rs.profiles.LearnedCLV):
        model = cls().fit(purchases, AS_OF, 60)
        model.save(tmp_path / "m.npz")
        loaded = rs.load_model(tmp_path / "m.npz")
        assert isinstance(loaded, cls)
        assert loaded.predict(purchases).equals(model.predict(purchases))


def test_bad_input_raises_typed_errors(simulated):
    purchases, _ = simulated
    with pytest.raises(InputDataError, match="price"):
        rs.profiles.LearnedCLV().fit(purchases.drop("price"), AS_OF, 60)
    with pytest.raises(InputDataError, match="no training origin"):
        rs.profiles.LearnedChurn().fit(purchases, START + timedelta(days=100), 90)
    with pytest.raises(InputDataError, match="horizon_days"):
        rs.profiles.LearnedChurn().fit(purchases, AS_OF, 0)
    with pytest.raises(InputDataError, match="no purchases before"):
        rs.profiles.LearnedChurn().fit(purchases, START, 30)
    no_price = rs.profiles.LearnedChurn().fit(purchases.drop("price"), AS_OF, 60)
    assert not no_price.uses_spend_
    assert len(no_price.feature_names) == no_price.coef_.size
    with pytest.raises(rs.NotFittedError):
        rs.profiles.LearnedChurn().predict(purchases)


def _seasonal_shop(n: int = 1500, seed: int = 1) -> pl.DataFrame:
    """Two and a half years of customers (all arrived in the first four months) buying
    at their own Poisson rate, four times as often from October to December (the
    season), each gone after an exponential lifetime."""
    rng = np.random.default_rng(seed)
    start, days = datetime(2019, 1, 1), 900
    rows = []
    for u in range(n):
        rate = rng.gamma(2.0, 1 / 200.0)  # orders per day out of season
        t = float(rng.uniform(0, 120))
        end = t + rng.exponential(1500.0)
        while t < min(end, days):
            when = start + timedelta(days=t)
            rows.append((u, int(rng.integers(0, 20)), when, 10.0))
            t += rng.exponential(1.0 / (rate * (4.0 if when.month >= 10 else 1.0)))
    frame = pl.DataFrame(
        rows, schema=["user_id", "item_id", "timestamp", "price"], orient="row"
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("us")), quantity=pl.lit(1.0))
    return rs.clean_purchases(frame)[0]


def test_platt_step_on_the_same_season_a_year_earlier_when_the_data_cover_it():
    """The Platt step (an intercept) makes the mean risk at its origin equal that
    origin's churn rate: the origin 52 weeks back with ``"season"`` (when two years
    of data cover it), the latest with ``"latest"`` or when they do not."""
    purchases = _seasonal_shop()
    horizon = 90
    for as_of, how, back in (
        (datetime(2020, 10, 1), "season", 364),
        (datetime(2020, 10, 1), "latest", horizon),
        (datetime(2019, 10, 1), "season", horizon),  # no year before: the latest
    ):
        model = rs.profiles.LearnedChurn(calibrate_on=how).fit(purchases, as_of, horizon)
        origin = datetime.fromisoformat(model.calibration_origin_)
        assert abs((origin - (as_of - timedelta(days=back))).days) <= 7  # half a step
        end = origin + timedelta(days=horizon)
        window = purchases.filter((pl.col("timestamp") >= origin) & (pl.col("timestamp") < end))
        risk = model.predict(purchases, as_of=origin)
        churned = ~risk["user_id"].is_in(window["user_id"].unique().implode())
        assert risk["churn_risk"].mean() == pytest.approx(churned.mean(), abs=1e-6)
        assert not model.fallback_


def test_falls_back_to_the_order_count_when_it_cannot_beat_it():
    """Weekly buyers since the first day and one-time buyers who never come back: the
    order count separates them perfectly, so no model beats the rule."""
    start = datetime(2020, 1, 1)
    rows = [(u, 1, start + timedelta(days=7 * w + u % 7)) for u in range(40) for w in range(52)]
    rows += [(100 + u, 2, start + timedelta(days=u)) for u in range(360)]
    frame = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    purchases, _ = rs.clean_purchases(frame.with_columns(pl.col("timestamp").cast(pl.Datetime)))
    as_of = datetime(2020, 12, 1)
    model = rs.profiles.LearnedChurn().fit(purchases, as_of, 30)
    assert model.fallback_
    # the rule, by hand: a logistic regression of churn on log(1 + orders) at the
    # calibration origin (one-time buyers before it all churned, weekly buyers none)
    origin = datetime.fromisoformat(model.calibration_origin_)
    weeks = np.array([sum(start + timedelta(days=7 * w + u % 7) < origin for w in range(52))
                      for u in range(40)])  # fmt: skip
    one_time = (origin - start).days  # one a day
    orders = np.r_[weeks, np.ones(one_time)]
    y = np.r_[np.zeros(40), np.ones(one_time)]
    expected = _numpy_logistic(np.log1p(orders)[:, None], y, 1e-3)
    risk = model.predict(purchases, as_of=origin).sort("user_id")["churn_risk"].to_numpy()
    np.testing.assert_allclose(risk, expected, atol=1e-6)
    at_as_of = model.predict(purchases)
    assert at_as_of.filter(pl.col("user_id") < 100)["churn_risk"].max() < 0.05
    assert at_as_of.filter(pl.col("user_id") >= 100)["churn_risk"].min() > 0.95


def test_no_feature_reads_purchases_at_or_after_as_of(simulated):
    """Every column of `customer_features` (the BG/NBD and gap-model features too) is
    the same with absurd purchases at and after ``as_of`` appended."""
    purchases, _ = simulated
    later = purchases.filter(pl.col("timestamp") >= AS_OF - timedelta(days=200)).with_columns(
        pl.col("timestamp") + pl.duration(days=200), pl.col("quantity") * 50
    )
    at_as_of = purchases.head(30).with_columns(
        pl.lit(AS_OF).cast(pl.Datetime("us")).alias("timestamp")
    )
    polluted = pl.concat([purchases, later, at_as_of])
    for with_spend in (False, True):
        users, x = customer_features(purchases, AS_OF, 60, with_spend)
        users_p, x_p = customer_features(polluted, AS_OF, 60, with_spend)
        assert users.equals(users_p)
        np.testing.assert_array_equal(x, x_p)


def test_no_order_is_bgnbd_alive_times_the_own_rhythm_silence(simulated):
    """The ``no_order`` feature by hand: gaps between purchase days in plain Python,
    `GapSurvival` and `BGNBD` fitted on them, 1 - P(alive) (1 - P(silent))."""
    from scipy import special

    from recsys.profiles.churn_hazard import GapSurvival
    from recsys.profiles.learned_features import BASE_FEATURES

    purchases, _ = simulated
    users, x = customer_features(purchases, AS_OF, 60, False)
    days = (
        purchases.filter(pl.col("timestamp") < AS_OF)
        .group_by("user_id")
        .agg(
            pl.col("timestamp").dt.date().unique().sort().alias("d"),
            # an order is a purchase day here (no order_id): its time is the day's first
            pl.col("timestamp")
            .filter(pl.col("timestamp").dt.date() == pl.col("timestamp").dt.date().max())
            .min(),
        )
        .sort("user_id")
    )
    assert days["user_id"].equals(users)
    m, s, logs, rec = [], [], [], []
    for d, last in zip(days["d"].to_list(), days["timestamp"].to_list(), strict=True):
        gaps = [float((b - a).days) for a, b in itertools.pairwise(d)]
        m.append(len(gaps))
        s.append(sum(gaps))
        logs.append(sum(np.log(gaps)))
        rec.append((AS_OF - last).total_seconds() / 86_400)
    m, s, logs, rec = map(np.array, (m, s, logs, rec))
    np.testing.assert_allclose(np.expm1(x[:, BASE_FEATURES.index("recency")]), rec, rtol=1e-9)
    tenure = np.expm1(x[:, BASE_FEATURES.index("tenure")])
    silent = GapSurvival().fit(m, s, logs).probability_silent(60, m, s, rec)
    t_x = np.where(m > 0, tenure - rec, 0.0)
    bgnbd = rs.profiles.BGNBD(penalizer=1e-3).fit(m, t_x, tenure)
    alive = np.clip(bgnbd.p_alive(m, t_x, tenure), 1e-6, 1 - 1e-6)
    expected = special.logit(np.clip(1 - alive * (1 - silent), 1e-6, 1 - 1e-6))
    np.testing.assert_allclose(x[:, BASE_FEATURES.index("no_order")], expected, atol=1e-9)


@pytest.mark.slow
def test_learned_churn_is_the_same_at_one_and_two_threads():
    from tests._subprocess import same_output_at_one_and_two_threads

    out = same_output_at_one_and_two_threads(
        """
        import warnings
        from datetime import datetime
        warnings.simplefilter("ignore")
        import recsys as rs
        from recsys.profiles.learned_features import customer_features

        purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
        users, x = customer_features(purchases, datetime(2011, 9, 9), 90, True)
        print(x.tobytes().hex())
        model = rs.profiles.LearnedChurn(origins=3).fit(purchases, "2011-09-09", 90)
        print(model.predict(purchases).write_csv())
        """
    )
    assert "churn_risk" in out


def test_a_calibration_origin_with_one_outcome_is_refused_not_fitted_to_a_constant() -> None:
    # 40 customers buying every week for a year: after every training origin, everyone
    # buys again, so there is no churn to calibrate a probability on
    start = datetime(2023, 1, 1)
    rows = [(u, start + timedelta(days=7 * w + u % 7)) for u in range(40) for w in range(52)]
    p = pl.DataFrame(
        {
            "user_id": [u for u, _ in rows],
            "item_id": ["a"] * len(rows),
            "timestamp": [t for _, t in rows],
            "quantity": [1.0] * len(rows),
        }
    )
    with pytest.raises(InputDataError, match="every customer bought in the 90 days after it"):
        rs.profiles.LearnedChurn().fit(p, as_of="2023-12-20", horizon_days=90)
