"""Why a CLV rank ties past spend on top-decile capture: the headroom at each origin.

Printed by ``bench_backtest.py`` whenever it scores CLV (issue 22 item 2). From the
backtest's own CLV rows (``Backtest.units["clv"]``: past spend ``monetary``, the
window's ``spend_after`` and ``n_orders_after``, each model's ``clv`` column), per origin:

- the top-decile capture of past spend, of each CLV model, and of two oracles that read
  the window: past spend among the customers who did order in it (``monetary x [an
  order]``: the most that weighting past spend by any churn probability can reach) and
  the window's spend itself (the perfect ranking);
- where past spend goes wrong: the share of the window's spend held by the customers of
  the true top decile it leaves out, their median rank by past spend, the share of the
  customers it puts in the top decile who bought nothing, and the largest single
  customer's share of the window's spend (how much one customer moves the metric);
- with ``ceiling=True`` (needs scikit-learn): the in-sample ceiling of the learned
  models' features, a Poisson regression of the window's spend with past spend as the
  offset (``E[spend] = past spend x exp(features @ beta)``, on
  `recsys.profiles.learned_features.customer_features`), fitted on the origin's own
  window, scored by 5-fold cross-validation across its customers. It reads the labels it
  is scored on: a bound on what these features can do, never a model to use.

Every capture is `recsys.stats.weighted.top_decile_capture` with unit weights: the
backtest's statistic on the data itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from recsys.data import columns as C
from recsys.data.canonical import without_returns
from recsys.data.timeutil import to_datetime
from recsys.exceptions import InputDataError
from recsys.profiles.learned_features import SPEND_FEATURES, customer_features, window_labels
from recsys.profiles.source import MICRO, micro_units
from recsys.stats.weighted import top_decile_capture


def _capture(score: np.ndarray, value: np.ndarray) -> float:
    return float(top_decile_capture(np.ones((1, value.size)), score, value)[0])


def _poisson_ceiling(
    purchases: pl.DataFrame, origin: datetime, horizon_days: int, units: pl.DataFrame
) -> float | None:
    """Top-decile capture of the cross-validated Poisson regression with offset (above),
    or None without scikit-learn."""
    try:
        from sklearn.linear_model import PoissonRegressor
        from sklearn.model_selection import KFold
    except ImportError:
        return None
    users, x = customer_features(purchases, origin, horizon_days, with_spend=True)
    frame = pl.DataFrame({C.USER: users.cast(pl.String), "_row": np.arange(users.len())})
    rows = (
        units.select(pl.col(C.USER).cast(pl.String))
        .join(frame, on=C.USER, how="left", maintain_order="left")["_row"]
        .to_numpy()
    )
    x = x[rows]
    past = np.nan_to_num(units["monetary"].to_numpy().astype(np.float64))
    y = np.nan_to_num(units["spend_after"].to_numpy().astype(np.float64))
    spend = x[:, -len(SPEND_FEATURES)]  # log1p(spend)
    # the recent-vs-total spend ratios, in logs, next to the raw features
    x = np.column_stack([x, x[:, -len(SPEND_FEATURES) + 1 : -1] - spend[:, None]])
    score = np.zeros_like(y)
    for train, test in KFold(5, shuffle=True, random_state=0).split(x):
        train = train[past[train] > 0]
        mu, sd = x[train].mean(axis=0), x[train].std(axis=0) + 1e-9
        fit = PoissonRegressor(alpha=1e-3, max_iter=1000).fit(
            (x[train] - mu) / sd, y[train] / past[train], sample_weight=past[train] / past.mean()
        )
        score[test] = past[test] * fit.predict((x[test] - mu) / sd)
    return _capture(score, y)


def clv_headroom(
    units: pl.DataFrame,
    purchases: pl.DataFrame | None = None,
    horizon_days: int = 90,
) -> pl.DataFrame:
    """One row per origin of the backtest's CLV units (see the module docstring); the
    ``ceiling`` column when ``purchases`` is given (else null)."""
    models = [c for c in units.columns if c == "clv" or c.startswith("clv__")]
    records = []
    for (origin,), part in units.group_by("origin", maintain_order=True):
        past = np.nan_to_num(part["monetary"].to_numpy().astype(np.float64))
        y = np.nan_to_num(part["spend_after"].to_numpy().astype(np.float64))
        bought = part["n_orders_after"].to_numpy() > 0
        n = y.size
        top = max(1, n // 10)
        by_past = np.argsort(-past, kind="stable")
        rank = np.empty(n, dtype=np.int64)
        rank[by_past] = np.arange(1, n + 1)
        true_top = np.zeros(n, dtype=bool)
        true_top[np.argsort(-y, kind="stable")[:top]] = True
        missed = true_top & (rank > top)
        wrong = ~true_top & (rank <= top)
        record = {
            "origin": origin,
            "customers": n,
            "past_spend": _capture(past, y),
            **{
                ("clv" if c == "clv" else c.removeprefix("clv__")): _capture(
                    np.nan_to_num(part[c].to_numpy().astype(np.float64)), y
                )
                for c in models
            },
            "buyers_only": _capture(past * bought, y),
            "perfect": _capture(y, y),
            "missed_share": float(y[missed].sum() / y.sum()),
            "missed_median_rank": float(np.median(rank[missed])) if missed.any() else np.nan,
            "wrong_no_order": float(np.mean(~bought[wrong])) if wrong.any() else np.nan,
            "largest_share": float(y.max() / y.sum()),
            "ceiling": None,
        }
        if purchases is not None:
            when = datetime.fromisoformat(str(origin))
            before = purchases.filter(pl.col(C.TIMESTAMP) < when)
            record["ceiling"] = _poisson_ceiling(before, when, horizon_days, part)
        records.append(record)
    return pl.DataFrame(records, infer_schema_length=None)


def print_clv_headroom(table: pl.DataFrame) -> None:
    """The headroom table as Markdown (captures in %, differences to past spend)."""
    models = [
        c
        for c in table.columns
        if c not in {"origin", "customers", "past_spend", "buyers_only", "perfect"}
        and c not in {"missed_share", "missed_median_rank", "wrong_no_order", "largest_share"}
        and c != "ceiling"
    ]
    print("\n### CLV headroom: top-decile capture of past spend, the models and two oracles")
    head = " | ".join(f"{m} (diff)" for m in models)
    print(
        f"| origin | customers | past spend | {head} | in-sample ceiling (diff) | "
        "past spend, buyers only (oracle) | perfect (oracle) | window spend of the true "
        "top decile past spend misses | their median rank by past spend | of its top "
        "decile, no order | largest customer's share |"
    )
    print("|---|---:|---:|" + "---:|" * (len(models) + 7))
    for r in table.iter_rows(named=True):
        cells = " | ".join(f"{r[m]:.4f} ({r[m] - r['past_spend']:+.4f})" for m in models)
        ceiling = (
            "-"
            if r["ceiling"] is None
            else f"{r['ceiling']:.4f} ({r['ceiling'] - r['past_spend']:+.4f})"
        )
        print(
            f"| {r['origin']} | {r['customers']:,} | {r['past_spend']:.4f} | {cells} | {ceiling} | "
            f"{r['buyers_only']:.4f} ({r['buyers_only'] - r['past_spend']:+.4f}) | "
            f"{r['perfect']:.4f} | {r['missed_share']:.3f} | {r['missed_median_rank']:.0f} | "
            f"{r['wrong_no_order']:.2f} | {r['largest_share']:.3f} |"
        )


class ItemGrowthCLV:
    """A research candidate (``--clv-items``): past spend times the growth its customers'
    items foretold at earlier origins.

    At ``origins`` training origins ``s = as_of - horizon_days - step_days * j`` (each
    window ``[s, s + horizon_days)`` ends by ``as_of``; those with ``min_history_days``
    of purchases before them), every customer with an order before ``s`` gets the log
    growth ``log((window spend + 1) / (past spend * horizon_days / 365 + 1))``, centred
    on that origin's mean. An item's encoding is the sum of the growths of the customers
    who bought it before ``s``, over all training origins, divided by their count plus
    ``shrink`` (shrunk to 0 for rarely bought items). A customer's score at ``as_of`` is
    ``past spend * exp(mean encoding of the distinct items they bought before as_of)``:
    the encoding is a log growth, so its exponent is the growth it predicts (no weight is
    fitted). Only purchases before ``as_of`` are read, by ``fit`` and by ``predict``.
    """

    def __init__(
        self,
        origins: int = 6,
        step_days: int = 14,
        shrink: float = 30.0,
        min_history_days: int = 30,
    ) -> None:
        self.origins = origins
        self.step_days = step_days
        self.shrink = shrink
        self.min_history_days = min_history_days

    def get_params(self) -> dict[str, float]:
        return {
            "origins": self.origins,
            "step_days": self.step_days,
            "shrink": self.shrink,
            "min_history_days": self.min_history_days,
        }

    @staticmethod
    def _lines(purchases: pl.DataFrame, end: datetime) -> pl.DataFrame:
        return without_returns(purchases.filter(pl.col(C.TIMESTAMP) < end)).with_columns(
            _v=micro_units(pl.col(C.QUANTITY) * pl.col(C.PRICE))
        )

    def fit(self, purchases: pl.DataFrame, as_of: Any, horizon_days: int = 90) -> ItemGrowthCLV:
        as_of = to_datetime(as_of, "as_of")
        frame = purchases.filter(pl.col(C.TIMESTAMP) < as_of)
        first: datetime = frame[C.TIMESTAMP].min()  # type: ignore[assignment]
        parts = []
        for j in range(self.origins):
            s = as_of - timedelta(days=horizon_days + self.step_days * j)
            if s - first < timedelta(days=self.min_history_days):
                continue
            before = self._lines(frame, s)
            past = before.group_by(C.USER).agg((pl.col("_v").sum() / MICRO).alias("_past"))
            spend, _ = window_labels(frame, past[C.USER], s, horizon_days)
            growth = np.log((spend + 1.0) / (past["_past"].to_numpy() * horizon_days / 365 + 1.0))
            past = past.with_columns(_g=pl.Series(growth - growth.mean()))
            pairs = before.select(C.USER, C.ITEM).unique().join(past, on=C.USER)
            parts.append(pairs.group_by(C.ITEM).agg(pl.col("_g").sum(), pl.len().alias("_n")))
        if not parts:
            raise InputDataError(
                f"ItemGrowthCLV: as_of={as_of:%Y-%m-%d} leaves no training origin with "
                f"{self.min_history_days} days of history and a {horizon_days}-day window before it"
            )
        self.encoding_ = (
            pl.concat(parts)
            .group_by(C.ITEM)
            .agg(pl.col("_g").sum(), pl.col("_n").sum())
            .select(C.ITEM, (pl.col("_g") / (pl.col("_n") + self.shrink)).alias("_e"))
        )
        self.as_of_ = as_of
        return self

    def predict(self, purchases: pl.DataFrame, as_of: Any = None) -> pl.DataFrame:
        as_of = self.as_of_ if as_of is None else to_datetime(as_of, "as_of")
        before = self._lines(purchases, as_of)
        items = (
            before.select(C.USER, C.ITEM)
            .unique()
            .join(self.encoding_, on=C.ITEM, how="left")
            .group_by(C.USER)
            .agg(pl.col("_e").fill_null(0.0).mean())
        )
        return (
            before.group_by(C.USER)
            .agg((pl.col("_v").sum() / MICRO).alias("_past"))
            .join(items, on=C.USER)
            .select(C.USER, (pl.col("_past") * pl.col("_e").exp()).alias("clv"))
            .sort(C.USER)
        )
