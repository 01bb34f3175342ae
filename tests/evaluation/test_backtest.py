"""Backtests: each statistic against an independent computation, the clustered paired
bootstrap against a by-hand resampling, and no feature from data at or after an origin."""

from __future__ import annotations

import contextlib
import itertools
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import ClassVar

import numpy as np
import polars as pl
import pytest
from scipy import stats

import recsys as rs
from recsys.evaluation.backtest import TABLE_COLUMNS
from recsys.exceptions import InputDataError
from recsys.stats import resample_counts
from recsys.stats import weighted as S

ORIGINS = ["2020-07-01", "2020-09-01"]


# ---------------------------------------------------------------- statistics, by hand


def _auc_pairs(score: np.ndarray, y: np.ndarray) -> float:
    pos, neg = score[y == 1], score[y == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (pos.size * neg.size)


def test_auc_by_hand() -> None:
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ordered
    score, y = np.array([0.1, 0.4, 0.35, 0.8]), np.array([0.0, 0.0, 1.0, 1.0])
    assert S.auc(np.ones((1, 4)), score, y)[0] == 0.75
    # a tie between a positive and a negative counts one half: (1 + 0.5) / 2
    assert S.auc(np.ones((1, 3)), np.array([1.0, 2.0, 2.0]), np.array([0.0, 1.0, 0.0]))[0] == 0.75


def test_weighted_statistics_equal_the_resample_written_out() -> None:
    rng = np.random.default_rng(3)
    n = 40
    score = rng.integers(0, 8, n).astype(float)  # many ties
    value = np.where(rng.random(n) < 0.3, 0.0, rng.gamma(2.0, 50.0, n))
    y = (rng.random(n) < 0.4).astype(float)
    weights = resample_counts(n, 5, seed=1).astype(float)
    for r, w in enumerate(weights):
        rows = np.repeat(np.arange(n), w.astype(int))
        s, v, t = score[rows], value[rows], y[rows]
        assert S.auc(weights, score, y)[r] == pytest.approx(_auc_pairs(s, t))
        assert S.spearman(weights, score, value)[r] == pytest.approx(
            stats.spearmanr(s, v).statistic
        )
        assert S.median(weights, value)[r] == pytest.approx(np.median(v))
        assert S.brier(weights, score / 8, y)[r] == pytest.approx(np.mean((s / 8 - t) ** 2))
        assert S.base_rate_brier(weights, y)[r] == pytest.approx(np.mean((t.mean() - t) ** 2))
        top = np.argsort(-s, kind="stable")[: max(1, rows.size // 10)]
        assert S.top_decile_capture(weights, score, value)[r] == pytest.approx(
            v[top].sum() / v.sum()
        )


def test_spearman_matches_scipy_on_data_itself() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=200), rng.normal(size=200)
    y = np.round(x + y, 1)
    ones = np.ones((1, 200))
    assert S.spearman(ones, x, y)[0] == pytest.approx(stats.spearmanr(x, y).statistic)


def test_top_decile_capture_by_hand() -> None:
    # 20 customers: the top 2 by score spent 30 and 10 of a total 100
    score = np.arange(20, 0, -1).astype(float)
    value = np.zeros(20)
    value[[0, 1, 5]] = [30.0, 10.0, 60.0]
    assert S.top_decile_capture(np.ones((1, 20)), score, value)[0] == pytest.approx(0.4)


def test_spend_captured_by_hand() -> None:
    # spends 1, 3 (total 4), ranked worst first: running shares 1/4, 4/4; best first: 3/4, 1
    score, value = np.array([2.0, 1.0]), np.array([1.0, 3.0])
    assert S.spend_captured(np.ones((1, 2)), score, value)[0] == pytest.approx(1.25 / 1.75)
    assert S.spend_captured(np.ones((1, 2)), value, value)[0] == 1.0


# ---------------------------------------------------------------- synthetic shop


def _shop(n_users: int = 250, seed: int = 0) -> pl.DataFrame:
    """Customers with their own purchase rate and lifetime; a few items each."""
    rng = np.random.default_rng(seed)
    start = datetime(2020, 1, 1)
    rows = []
    for u in range(n_users):
        rate = rng.gamma(1.5, 1 / 40)  # orders per day
        alive = rng.exponential(250)
        first = rng.uniform(0, 200)
        t, order = first, 0
        favourites = rng.choice(20, size=3, replace=False)
        while t < min(first + alive, 364):
            for item in rng.choice(favourites, size=rng.integers(1, 3), replace=False):
                rows.append(
                    (u, int(item), f"{u}-{order}", start + timedelta(days=float(t)),
                     float(rng.integers(1, 4)), float(1 + item))
                )  # fmt: skip
            order += 1
            t += rng.exponential(1 / rate)
    return pl.DataFrame(
        rows,
        schema=["user_id", "item_id", "order_id", "timestamp", "quantity", "price"],
        orient="row",
    ).with_columns(pl.col("timestamp").dt.cast_time_unit("us"))


@pytest.fixture(scope="module")
def shop() -> pl.DataFrame:
    return _shop()


@pytest.fixture(scope="module")
def result(shop: pl.DataFrame) -> rs.evaluation.Backtest:
    with _quiet():
        return rs.evaluation.backtest(
            shop, ORIGINS, horizon_days=60, recommender=rs.Popular(), bootstrap=40, seed=0
        )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Small synthetic shops trip the profile models' data warnings; they are not tested here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.DataWarning)
        yield


def test_table_shape_and_columns(result: rs.evaluation.Backtest) -> None:
    t = result.table
    assert t.columns == list(TABLE_COLUMNS)
    assert set(t["prediction"]) == {"churn", "clv", "due", "next_basket"}
    assert set(t["origin"]) == {"2020-07-01", "2020-09-01", "all"}
    assert (t["diff"] - (t["value"] - t["naive_value"])).abs().max() < 1e-12
    assert ((t["ci_low"] <= t["diff"] + 1e-12) & (t["diff"] <= t["ci_high"] + 1e-12)).all()


def test_churn_rows_equal_an_independent_computation(
    shop: pl.DataFrame, result: rs.evaluation.Backtest
) -> None:
    origin = datetime(2020, 7, 1)
    end = origin + timedelta(days=60)
    before = shop.filter(pl.col("timestamp") < origin)
    per_user = before.group_by("user_id").agg(
        ((origin - pl.col("timestamp").max()).dt.total_microseconds() / 86_400e6).alias("rec"),
        pl.col("order_id").n_unique().alias("orders"),
        (pl.col("quantity") * pl.col("price")).sum().alias("spent"),
    )
    window = shop.filter((pl.col("timestamp") >= origin) & (pl.col("timestamp") < end))
    later = window.group_by("user_id").agg(
        (pl.col("quantity") * pl.col("price")).sum().alias("future")
    )
    frame = per_user.join(later, on="user_id", how="left").sort("user_id")
    churned = frame["future"].is_null().to_numpy().astype(float)
    future = frame["future"].fill_null(0.0).to_numpy()

    def row(prediction: str, metric: str, naive: str) -> dict:
        return result.table.filter(
            prediction=prediction, metric=metric, naive=naive, origin="2020-07-01"
        ).row(0, named=True)

    assert row("churn", "auc", "recency")["naive_value"] == pytest.approx(
        _auc_pairs(frame["rec"].to_numpy(), churned)
    )
    assert row("churn", "auc", "frequency")["naive_value"] == pytest.approx(
        _auc_pairs(-frame["orders"].to_numpy().astype(float), churned)
    )
    assert row("churn", "auc", "recency")["n"] == frame.height
    assert row("churn", "brier", "base_rate")["naive_value"] == pytest.approx(
        churned.mean() * (1 - churned.mean())
    )
    assert row("clv", "spearman", "past_spend")["naive_value"] == pytest.approx(
        stats.spearmanr(frame["spent"].to_numpy(), future).statistic
    )
    units = result.units["churn"].filter(origin="2020-07-01").sort("user_id")
    assert row("churn", "auc", "recency")["value"] == pytest.approx(
        _auc_pairs(units["churn_risk"].to_numpy(), churned)
    )


def test_clustered_paired_bootstrap_by_hand(shop: pl.DataFrame) -> None:
    with _quiet():
        res = rs.evaluation.backtest(shop, ORIGINS, predictions=["churn"], bootstrap=30, seed=4)
    units = res.units["churn"]
    universe = sorted(units["user_id"].cast(pl.String).unique().to_list())
    counts = resample_counts(len(universe), 30, seed=4)
    position = {u: i for i, u in enumerate(universe)}
    diffs = []
    for origin in ORIGINS:
        part = units.filter(origin=origin)
        idx = np.array([position[str(u)] for u in part["user_id"]])
        y = part["churned"].to_numpy()
        risk, rec = part["churn_risk"].to_numpy(), part["recency_days"].to_numpy()
        d = []
        for c in counts:
            rows = np.repeat(np.arange(part.height), c[idx])
            d.append(_auc_pairs(risk[rows], y[rows]) - _auc_pairs(rec[rows], y[rows]))
        diffs.append(d)
    diffs = np.array(diffs)
    table = res.table.filter(metric="auc", naive="recency")
    for i, origin in enumerate([*ORIGINS, "all"]):
        draws = diffs[i] if i < 2 else diffs.mean(axis=0)
        low, high = np.quantile(draws, [0.025, 0.975])
        got = table.filter(origin=origin).row(0, named=True)
        assert got["ci_low"] == pytest.approx(low)
        assert got["ci_high"] == pytest.approx(high)
    with _quiet():
        again = rs.evaluation.backtest(shop, ORIGINS, predictions=["churn"], bootstrap=30, seed=4)
    assert again.table.equals(res.table)


def test_due_naive_rule_by_hand(shop: pl.DataFrame, result: rs.evaluation.Backtest) -> None:
    """Last purchase + the item's median gap between purchase days, against the next
    purchase in the window, recomputed from the raw rows."""
    origin = datetime(2020, 9, 1)
    before = shop.filter(pl.col("timestamp") < origin)
    window = shop.filter(
        (pl.col("timestamp") >= origin) & (pl.col("timestamp") < origin + timedelta(days=60))
    )
    gaps: dict[int, list[float]] = {}
    last: dict[tuple[int, int], datetime] = {}
    for (u, i), part in before.group_by("user_id", "item_id"):
        days = sorted(set(part["timestamp"].dt.date().to_list()))
        gaps.setdefault(i, []).extend((b - a).days for a, b in itertools.pairwise(days))
        last[(u, i)] = part["timestamp"].max()
    nxt = {
        (u, i): part["timestamp"].min() for (u, i), part in window.group_by("user_id", "item_id")
    }
    errors = []
    for (u, i), t in last.items():
        if (u, i) in nxt:
            due = t + timedelta(days=float(np.median(gaps[i])))
            errors.append(abs((nxt[(u, i)] - due).total_seconds()) / 86_400)
    row = result.table.filter(metric="date_mae", origin="2020-09-01").row(0, named=True)
    assert row["n"] == len(errors)
    assert row["naive_value"] == pytest.approx(np.median(errors))


def test_due_rows_against_their_units(result: rs.evaluation.Backtest) -> None:
    units = result.units["due"].filter(origin="2020-09-01")
    bought = units.filter(pl.col("bought") == 1.0)
    row = result.table.filter(metric="date_mae", origin="2020-09-01").row(0, named=True)
    assert row["value"] == pytest.approx(np.median(bought["error_days"].to_numpy()))
    assert row["naive_value"] == pytest.approx(np.median(bought["naive_error_days"].to_numpy()))
    assert row["n"] == bought.height


def test_next_basket_rows(shop: pl.DataFrame, result: rs.evaluation.Backtest) -> None:
    split = rs.evaluation.temporal_split(shop, "2020-09-01", horizon_days=60)
    inter = rs.Interactions.from_purchases(split.train)
    recs = rs.Repurchase().fit(inter).recommend(split.test["user_id"].unique(), k=10)
    expected = rs.evaluation.hit_rate(recs, split.test, k=10)
    row = result.table.filter(metric="hit_rate@10", naive="repurchase", origin="2020-09-01").row(
        0, named=True
    )
    assert row["naive_value"] == pytest.approx(expected)
    assert row["model"] == "popular"


def test_last_basket_is_the_last_order() -> None:
    from recsys.evaluation._backtest_units import LastBasket

    t = [datetime(2020, 1, d) for d in (1, 1, 5, 5, 5)]
    p = pl.DataFrame({"user_id": [1] * 5, "item_id": [1, 2, 3, 4, 5], "order_id": list("aabbb"),
                      "timestamp": t, "quantity": [1.0, 1.0, 1.0, 5.0, 2.0]})  # fmt: skip
    recs = LastBasket().fit(p).recommend([1], k=2)
    assert recs["item_id"].to_list() == [4, 5]


class _Spy(rs.Popular):
    fitted: ClassVar[list] = []

    def _fit(self, interactions):  # type: ignore[no-untyped-def]
        _Spy.fitted.append(interactions.matrix.copy())
        super()._fit(interactions)


def _absurd(shop: pl.DataFrame, origin: datetime) -> pl.DataFrame:
    """Existing customers buying a known and a new item in huge amounts at and after ``origin``."""
    rows = [
        (u, item, f"x{u}-{days}", origin + timedelta(days=days), 1e6, 1e6)
        for u in range(0, 250, 3)
        for days in (0, 1, 30, 200)
        for item in (1, 999)
    ]
    extra = pl.DataFrame(rows, schema=shop.columns, orient="row").cast(shop.schema)
    return pl.concat([shop, extra])


def _run(data: pl.DataFrame, origins: list[datetime]) -> tuple[rs.evaluation.Backtest, list]:
    _Spy.fitted = []
    with _quiet():
        res = rs.evaluation.backtest(
            data, origins, horizon_days=60, recommender=_Spy(), bootstrap=0
        )
    return res, list(_Spy.fitted)


def test_nothing_at_or_after_an_origin_is_used(shop: pl.DataFrame) -> None:
    """Absurd purchases at and after an origin change its labels, never its predictions
    (nor those of earlier origins)."""
    origins = [datetime(2020, 7, 1), datetime(2020, 9, 1)]
    predictions = {
        "churn": ["recency_days", "frequency", "churn_risk", "expected_orders"],
        "clv": ["clv", "monetary"],
        "due": ["due_date", "naive_due_date", "p_within_horizon", "base_rate"],
    }
    clean, clean_fits = _run(shop, origins)
    for i, origin in enumerate(origins):
        dirty, dirty_fits = _run(_absurd(shop, origin), origins)
        unaffected = [o.date().isoformat() for o in origins[: i + 1]]
        for name, columns in predictions.items():
            keys = ["origin", "user_id"] + (["item_id"] if name == "due" else [])

            a, b = (
                res.units[name].filter(pl.col("origin").is_in(unaffected)).select(*keys, *columns)
                for res in (clean, dirty)
            )
            assert a.equals(b), (name, origin)
        for m1, m2 in zip(clean_fits[: i + 1], dirty_fits[: i + 1], strict=True):
            assert m1.shape == m2.shape
            assert (m1 != m2).nnz == 0
        spend = dirty.units["churn"].filter(origin=unaffected[-1])["spend_after"]
        before = clean.units["churn"].filter(origin=unaffected[-1])["spend_after"]
        assert spend.fill_null(0).sum() > before.fill_null(0).sum() + 1e11  # the labels moved


def test_verdict_wording(result: rs.evaluation.Backtest) -> None:
    t = result.table.with_columns(
        ci_low=pl.when(pl.col("naive") == "recency").then(0.01).otherwise(pl.col("ci_low")),
        ci_high=pl.when(pl.col("naive") == "recency").then(0.02).otherwise(pl.col("ci_high")),
    )
    fake = rs.evaluation.Backtest(t, result.calibration, result.holdout)
    churn = t.filter(metric="auc", origin="all", naive="frequency").row(0, named=True)
    verdict = fake.verdict("churn")
    if churn["ci_low"] > 0:
        assert verdict.startswith("beats recency: AUC")
        assert "; beats frequency: AUC" in verdict
    else:
        assert verdict.startswith("no better than frequency")
    # lower is better for the date error: an interval below 0 is a win
    due = t.filter(metric="date_mae", origin="all").row(0, named=True)
    assert fake.verdict("due").startswith("beats" if due["ci_high"] < 0 else "no better")
    with pytest.raises(InputDataError, match="prediction"):
        fake.verdict("weather")
    no_ci = rs.evaluation.Backtest(
        t.with_columns(ci_low=float("nan"), ci_high=float("nan")), t, t
    ).verdict("churn")
    assert no_ci.startswith("no better than recency")
    assert "bootstrap > 0" in no_ci


def test_calibration_and_holdout_tables(result: rs.evaluation.Backtest) -> None:
    cal = result.calibration.filter(origin="2020-07-01")
    units = result.units["churn"].filter(origin="2020-07-01")
    assert cal["customers"].sum() == units.height
    assert cal["observed_churn"].dot(cal["customers"]) == pytest.approx(units["churned"].sum())
    hold = result.holdout.filter(origin="2020-07-01")
    assert hold["customers"].sum() == units.height
    assert hold["actual"].dot(hold["customers"]) == pytest.approx(units["n_orders_after"].sum())


def test_bad_input(shop: pl.DataFrame) -> None:
    with pytest.raises(InputDataError, match="predictions"):
        rs.evaluation.backtest(shop, ORIGINS, predictions=["weather"])
    with pytest.raises(InputDataError, match="origins"):
        rs.evaluation.backtest(shop, ["2020-12-01"], predictions=["churn"])
    with pytest.raises(InputDataError, match="price"):
        rs.evaluation.backtest(shop.drop("price"), ORIGINS, predictions=["clv"])
    with pytest.raises(InputDataError, match="horizon_days"):
        rs.evaluation.backtest(shop, ORIGINS, horizon_days=0)


def test_plots_draw_one_line_per_origin(result: rs.evaluation.Backtest) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from recsys.evaluation.backtest_plots import plot_calibration, plot_holdout

    ax = plot_calibration(result)
    assert len(ax.get_lines()) == 1 + len(ORIGINS)  # the diagonal, then one per origin
    first = result.calibration.filter(origin=ORIGINS[0])
    assert list(ax.get_lines()[1].get_ydata()) == first["observed_churn"].to_list()
    ax = plot_holdout(result)
    assert len(ax.get_lines()) == 2 * len(ORIGINS)
    plt.close("all")
    empty = rs.evaluation.Backtest(result.table, pl.DataFrame(), pl.DataFrame())
    with pytest.raises(InputDataError, match="churn"):
        plot_calibration(empty)


def test_same_table_at_one_and_two_threads() -> None:
    from tests._subprocess import same_output_at_one_and_two_threads

    out = same_output_at_one_and_two_threads(
        """
        import warnings
        import recsys as rs
        from tests.evaluation.test_backtest import _shop
        warnings.simplefilter("ignore")
        res = rs.evaluation.backtest(_shop(120, seed=2), ["2020-07-01", "2020-09-01"],
            horizon_days=60, recommender=rs.EASE(l2=10.0), bootstrap=50, seed=1)
        print(res.table.write_csv(float_precision=17))
        """
    )
    assert "next_basket" in out


def test_calibration_has_rows_for_each_churn_model(shop: pl.DataFrame) -> None:
    result = rs.evaluation.backtest(
        shop,
        ORIGINS[-1:],
        predictions=["churn"],
        horizon_days=60,
        churn_model=rs.profiles.LearnedChurn(origins=3, step_days=30),
        bootstrap=0,
    )
    units = result.units["churn"]
    for model, column in (
        ("churn_risk", "churn_risk"),
        ("LearnedChurn", "churn_risk__LearnedChurn"),
    ):
        cal = result.calibration.filter(model=model)
        assert cal["customers"].sum() == units.height
        # the customer-weighted mean of the deciles is the mean risk
        mean = cal["predicted_churn"].dot(cal["customers"]) / units.height
        assert mean == pytest.approx(units[column].mean())
        assert cal["observed_churn"].dot(cal["customers"]) == pytest.approx(units["churned"].sum())
