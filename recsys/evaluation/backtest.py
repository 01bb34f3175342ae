"""Backtests: every prediction next to the naive rule it replaces, on rolling origins.

At each origin (an ``as_of``), the predictions and the naive rules use only the
purchases strictly before it; the labels come from the window
``[origin, origin + horizon_days)``. Each prediction is scored with the naive rule's
metric on the same customers, and the difference gets a paired bootstrap interval.

======================= ==================================== ===============================
prediction              metrics (model vs naive)             naive rules
======================= ==================================== ===============================
``churn``               ``auc`` of ``churn_risk`` = P(no     ``recency`` (days since the
                        purchase in the window); ``brier``   last order), ``frequency``
                        (lower is better); the calibration   (fewer orders = more likely
                        table by decile                      gone); ``base_rate`` (Brier)
``clv``                 ``spearman`` with the window's       ``past_spend`` (``monetary``)
                        spend, ``top_decile_capture``,
                        ``spend_captured`` (all cut-offs)
``due``                 ``date_mae`` (median absolute error  ``item_median`` (last purchase
                        of the date, days, pairs bought      + the item's median gap),
                        again; lower is better), ``brier``   ``item_base_rate``
                        of ``p_within_horizon``
``next_basket``         ``hit_rate@k``, ``recall@k``,        ``repurchase``
                        ``ndcg@k`` of the recommender        (`recsys.Repurchase`),
                                                             ``last_basket``
======================= ==================================== ===============================

The interval: a customer-level paired bootstrap, clustered by customer. Each resample
draws the customers of all origins once (with replacement); a customer's draw count
weighs every row of theirs (their items, at every origin where they appear), for the
model and the naive rule alike. So the per-origin rows resample the customers within
that origin, the ``"all"`` rows (the mean of the per-origin values) account for the
same customers appearing at several origins, and ``diff = value - naive_value`` is
paired. Every statistic is computed exactly on each resample (`recsys.stats.weighted`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from recsys._validation import check_positive_int, check_probability
from recsys.data import columns as C
from recsys.data.canonical import require_purchases
from recsys.data.sources import FrameLike, to_frame
from recsys.data.timeutil import TimeLike, to_datetime
from recsys.evaluation._backtest_units import (
    as_array,
    customer_units,
    due_units,
    next_basket_units,
    split_window,
)
from recsys.evaluation.calibration import churn_calibration
from recsys.exceptions import InputDataError
from recsys.models.buyagain import BuyAgain
from recsys.profiles.config import ProfileConfig
from recsys.stats import weighted as S
from recsys.stats.resample import draw_counts, percentile_ci, resample_seeds

__all__ = ["PREDICTIONS", "TABLE_COLUMNS", "Backtest", "backtest", "describe_difference"]

PREDICTIONS = ("churn", "clv", "due", "next_basket")
OVERALL = "all"
TABLE_COLUMNS = (
    "prediction", "metric", "origin", "model", "naive", "value", "naive_value", "diff",
    "ci_low", "ci_high", "n",
)  # fmt: skip
#: Metrics where a lower value is better (the rest: higher is better).
LOWER_IS_BETTER = frozenset({"brier", "date_mae"})
#: The metric each verdict is worded from.
HEADLINE = {"churn": "auc", "clv": "spearman", "due": "date_mae", "next_basket": "hit_rate"}
_NEXT_BASKET_METRICS = ("hit_rate", "recall", "ndcg")
_BLOCK_CELLS = 1 << 22  # weights of one block of resamples: at most 32 MB


Stat = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class _Spec:
    """One (prediction, metric, model, naive) comparison at one origin."""

    prediction: str
    metric: str
    model: str
    naive: str
    origin: int
    rows: np.ndarray  # the customer (universe index) of each row
    stat: Stat


@dataclass(frozen=True)
class Backtest:
    """The result of `backtest`.

    Attributes
    ----------
    table
        One row per prediction, metric, origin (ISO date, or ``"all"``: the mean over
        origins) and naive rule: ``prediction, metric, origin, model, naive, value,
        naive_value, diff, ci_low, ci_high, n`` (``diff = value - naive_value``, its
        paired interval ``ci_low, ci_high``; ``n`` = customers, or customer-item pairs
        for ``due``, or pairs bought again for ``date_mae``).
    calibration
        Churn by decile of the risk at each origin: ``origin, model, decile, customers,
        predicted_churn, observed_churn`` (``model``: ``churn_risk``, the profile's, or
        the class name of ``churn_model``).
    holdout
        Orders in the window by calibration-period frequency (capped at 7): ``origin,
        frequency, customers, actual, predicted`` (mean orders per customer).
    units
        Per prediction, the rows scored (``origin``, ``user_id``, the predictions, the
        naive rules' scores and the outcome): the evidence behind the table.
    confidence
        The level of the intervals.
    """

    table: pl.DataFrame
    calibration: pl.DataFrame
    holdout: pl.DataFrame
    units: dict[str, pl.DataFrame] = field(default_factory=dict)
    confidence: float = 0.95

    def verdict(self, prediction: str, metric: str | None = None, model: str | None = None) -> str:
        """One sentence: does the prediction beat every naive rule on ``metric``?

        ``"beats <rule>: <metric> <value> vs <rule's> (difference ..., 95% CI ...)"`` for
        each rule when every interval of the pooled (``"all"``) difference lies on the
        better side of 0; otherwise ``"no better than <rule>: ...; use <rule>"`` naming
        the first rule it does not beat (the fallback); without intervals
        (``bootstrap=0``) nothing is claimed. ``metric`` defaults to the prediction's
        headline metric (AUC, Spearman, date error, hit rate). ``model`` picks one
        model's rows where the backtest scored several (``churn_model`` /
        ``clv_model``); default: the profile's (``churn_risk`` / ``clv``).
        """
        if prediction not in PREDICTIONS:
            raise InputDataError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
        metric = HEADLINE[prediction] if metric is None else metric
        if model is None and prediction in ("churn", "clv"):
            model = "churn_risk" if prediction == "churn" else "clv"
        rows = self.table.filter(
            (pl.col("prediction") == prediction)
            & ((pl.col("model") == model) if model is not None else pl.lit(True))
            & (pl.col("origin") == OVERALL)
            & (pl.col("metric").str.split("@").list.first() == metric.split("@")[0])
        )
        if rows.height == 0:
            raise InputDataError(
                f"no {metric!r} rows for {prediction!r} in this backtest; it has "
                f"{sorted(set(self.table['metric']))}"
            )
        lower = metric.split("@")[0] in LOWER_IS_BETTER
        wins = []
        for row in rows.iter_rows(named=True):
            low, high, diff = row["ci_low"], row["ci_high"], row["diff"]
            better = (high < 0) if lower else (low > 0)
            rule = row["naive"].replace("_", " ")
            detail = describe_difference(
                row["metric"], row["value"], row["naive_value"], diff, low, high, self.confidence
            )
            if not better:
                return f"no better than {rule}: {detail}; use {rule}"
            wins.append(f"{rule}: {detail}")
        return "beats " + "; beats ".join(wins)


#: How a verdict names each metric: (label, unit, decimals).
_LABELS = {
    "auc": ("AUC", "", 3),
    "brier": ("Brier score", "", 4),
    "spearman": ("Spearman correlation", "", 3),
    "top_decile_capture": ("top-decile capture", "", 3),
    "spend_captured": ("spend captured", "", 3),
    "date_mae": ("median date error", " days", 1),
    "hit_rate": ("HR", "", 3),
    "recall": ("recall", "", 3),
    "ndcg": ("NDCG", "", 3),
}


def describe_difference(
    metric: str,
    value: float,
    naive_value: float,
    diff: float,
    ci_low: float,
    ci_high: float,
    confidence: float,
) -> str:
    """``"<metric> value vs naive_value (difference d, 95% CI lo to hi)"``: how a verdict
    and the job's claims state one row of a backtest.

    Examples
    --------
    >>> describe_difference("auc", 0.742, 0.721, 0.021, 0.01, 0.029, 0.95)
    'AUC 0.742 vs 0.721 (difference +0.021, 95% CI +0.010 to +0.029)'
    >>> describe_difference("brier", 0.205, 0.249, -0.044, float("nan"), float("nan"), 0.95)
    'Brier score 0.2050 vs 0.2490 (difference -0.0440, no interval: run with bootstrap > 0)'
    """
    name, unit, digits = _label(metric)
    if not (math.isfinite(value) and math.isfinite(naive_value)):
        return f"{name} undefined (every customer had the same outcome)"
    ci = (
        f"{confidence:.0%} CI {ci_low:+.{digits}f} to {ci_high:+.{digits}f}"
        if math.isfinite(ci_low)
        else "no interval: run with bootstrap > 0"
    )
    return (
        f"{name} {value:.{digits}f}{unit} vs {naive_value:.{digits}f}{unit} (difference "
        f"{diff:+.{digits}f}, {ci})"
    )


def _label(metric: str) -> tuple[str, str, int]:
    base, _, k = metric.partition("@")
    name, unit, digits = _LABELS.get(base, (base, "", 3))
    return (f"{name}@{k}" if k else name), unit, digits


def check_window(
    purchases: pl.DataFrame,
    origin: datetime,
    horizon_days: int,
    name: str,
    observed_until: datetime | None = None,
) -> None:
    """Refuse an origin without purchases before it, or whose label window
    ``[origin, origin + horizon_days)`` runs past the data (``observed_until``, default
    the day after the last purchase): customers would count as churned only because
    the data end."""
    first: datetime = purchases[C.TIMESTAMP].min()  # type: ignore[assignment]
    last: datetime = purchases[C.TIMESTAMP].max()  # type: ignore[assignment]
    until = last + timedelta(days=1) if observed_until is None else observed_until
    if first is None or not first < origin or origin + timedelta(days=horizon_days) > until:
        raise InputDataError(
            f"{name}: {origin:%Y-%m-%d} + horizon_days={horizon_days} must lie within "
            f"the data ({first} to {until}), with purchases before the origin"
        )


def _origins(origins: TimeLike | Sequence[TimeLike]) -> list[datetime]:
    if isinstance(origins, (str, datetime)) or not isinstance(origins, Sequence):
        origins = [origins]
    if len(origins) == 0:
        raise InputDataError("origins must name at least one as_of date")
    out = sorted({to_datetime(o, "origins") for o in origins})
    return out


def _model_columns(units: pl.DataFrame, column: str) -> list[tuple[str, str]]:
    """``(column, model name)`` of the profile's prediction and of each extra model's
    (``<column>__<ModelName>``, from ``churn_model`` / ``clv_model``)."""
    extra = [c for c in units.columns if c.startswith(f"{column}__")]
    return [(column, column)] + [(c, c.split("__", 1)[1]) for c in extra]


def _churn_specs(units: pl.DataFrame, rows: np.ndarray, o: int) -> list[_Spec]:
    y = as_array(units, "churned")
    recency, frequency = as_array(units, "recency_days"), -as_array(units, "frequency")
    specs = []
    for column, model in _model_columns(units, "churn_risk"):
        risk = as_array(units, column)
        if np.isnan(risk).any():
            raise InputDataError(
                f"{column} is missing for some customers at this origin (too little history "
                "for the churn model); start the origins later"
            )

        def against(naive: np.ndarray, risk: np.ndarray = risk) -> Stat:
            return _paired(S.auc, (risk, y), (naive, y))

        def brier(w: np.ndarray, risk: np.ndarray = risk) -> tuple[np.ndarray, np.ndarray]:
            return S.brier(w, risk, y), S.base_rate_brier(w, y)

        specs += [
            _Spec("churn", "auc", model, "recency", o, rows, against(recency)),
            _Spec("churn", "auc", model, "frequency", o, rows, against(frequency)),
            _Spec("churn", "brier", model, "base_rate", o, rows, brier),
        ]
    return specs


def _paired(fn: Callable[..., np.ndarray], model: tuple, naive: tuple) -> Stat:
    """The statistic ``fn`` of the model's and of the naive rule's arrays, same weights."""

    def stat(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return fn(w, *model), fn(w, *naive)

    return stat


def _clv_specs(units: pl.DataFrame, rows: np.ndarray, o: int) -> list[_Spec]:
    past = as_array(units, "monetary")
    spend = np.nan_to_num(as_array(units, "spend_after"))
    specs = []
    for column, model in _model_columns(units, "clv"):
        clv = as_array(units, column)
        for metric, fn in (
            ("spearman", S.spearman),
            ("top_decile_capture", S.top_decile_capture),
            ("spend_captured", S.spend_captured),
        ):
            specs.append(
                _Spec(
                    "clv", metric, model, "past_spend", o, rows,
                    _paired(fn, (clv, spend), (past, spend)),
                )
            )  # fmt: skip
    return specs


def _due_specs(units: pl.DataFrame, rows: np.ndarray, o: int) -> list[_Spec]:
    p, base, y = (as_array(units, c) for c in ("p_within_horizon", "base_rate", "bought"))
    bought = y == 1.0
    err, naive_err = as_array(units, "error_days")[bought], as_array(units, "naive_error_days")
    naive_err = naive_err[bought]
    return [
        _Spec(
            "due", "date_mae", "due_items", "item_median", o, rows[bought],
            lambda w: (S.median(w, err), S.median(w, naive_err)),
        ),
        _Spec(
            "due", "brier", "due_items", "item_base_rate", o, rows,
            lambda w: (S.brier(w, p, y), S.brier(w, base, y)),
        ),
    ]  # fmt: skip


def _basket_specs(units: pl.DataFrame, rows: np.ndarray, o: int, k: int, model: str) -> list[_Spec]:
    specs = []
    for metric in _NEXT_BASKET_METRICS:
        mine = as_array(units, f"{metric}__model")
        for naive in ("repurchase", "last_basket"):
            theirs = as_array(units, f"{metric}__{naive}")
            specs.append(
                _Spec(
                    "next_basket", f"{metric}@{k}", model, naive, o, rows,
                    _paired(S.mean, (mine,), (theirs,)),
                )
            )  # fmt: skip
    return specs


_BUILDERS: dict[str, Callable[[pl.DataFrame, np.ndarray, int], list[_Spec]]] = {
    "churn": _churn_specs,
    "clv": _clv_specs,
    "due": _due_specs,
}


def _scored(
    merged: dict[str, pl.DataFrame],
    dates: list[datetime],
    wanted: list[str],
    builders: dict[str, Callable[[pl.DataFrame, np.ndarray, int], list[_Spec]]],
    bootstrap: int,
    seed: int,
    confidence: float,
) -> pl.DataFrame:
    """The table of every wanted prediction's rows (``merged``: units with ``origin``),
    each customer one cluster of the bootstrap across predictions and origins."""
    universe = (
        pl.concat([u.select(pl.col(C.USER).cast(pl.String)) for u in merged.values()])
        .unique()
        .sort(C.USER)[C.USER]
    )
    index = {u: i for i, u in enumerate(universe.to_list())}
    specs: list[_Spec] = []
    for name in wanted:
        for o, origin in enumerate(dates):
            part = merged[name].filter(pl.col("origin") == origin.date().isoformat())
            ids = part[C.USER].cast(pl.String).to_list()
            rows = np.array([index[u] for u in ids], dtype=np.int64)
            specs.extend(builders[name](part, rows, o))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN resamples: NaN, by design
        table = _table(specs, dates, bootstrap, seed, confidence, len(index))
    order = {name: i for i, name in enumerate(PREDICTIONS)}
    return table.sort(
        pl.col("prediction").replace_strict(order, default=len(order)), maintain_order=True
    )


def _draws(
    specs: list[_Spec], n_customers: int, bootstrap: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Model and naive values of every spec on each resample: two ``(bootstrap, n_specs)``."""
    model = np.full((bootstrap, len(specs)), np.nan)
    naive = np.full((bootstrap, len(specs)), np.nan)
    if bootstrap == 0 or n_customers == 0:
        return model, naive
    widest = max((s.rows.size for s in specs), default=1)
    block = int(max(1, min(bootstrap, _BLOCK_CELLS // max(widest, n_customers))))
    seeds = resample_seeds(bootstrap, seed)
    counts = np.empty(n_customers, dtype=np.uint8)
    for start in range(0, bootstrap, block):
        stop = min(bootstrap, start + block)
        weights = np.empty((stop - start, n_customers))
        for r in range(start, stop):
            draw_counts(seeds[r], counts)
            weights[r - start] = counts
        for j, spec in enumerate(specs):
            model[start:stop, j], naive[start:stop, j] = spec.stat(weights[:, spec.rows])
    return model, naive


def _table(
    specs: list[_Spec],
    origins: list[datetime],
    bootstrap: int,
    seed: int,
    confidence: float,
    n_customers: int,
) -> pl.DataFrame:
    point = [spec.stat(np.ones((1, spec.rows.size))) for spec in specs]
    value = np.array([p[0][0] for p in point])
    naive_value = np.array([p[1][0] for p in point])
    model_draws, naive_draws = _draws(specs, n_customers, bootstrap, seed)
    keys = list(dict.fromkeys((s.prediction, s.metric, s.model, s.naive) for s in specs))
    records = []
    columns: dict[tuple[str, ...], list[int]] = {key: [] for key in keys}
    for j, s in enumerate(specs):
        columns[(s.prediction, s.metric, s.model, s.naive)].append(j)
    for key, cols in columns.items():
        diff_draws = model_draws[:, cols] - naive_draws[:, cols]
        low, high = percentile_ci(diff_draws, confidence)  # NaN without resamples
        for i, j in enumerate(cols):
            records.append(
                (*key[:2], origins[specs[j].origin].date().isoformat(), *key[2:],
                 value[j], naive_value[j], value[j] - naive_value[j], low[i], high[i],
                 int(specs[j].rows.size))
            )  # fmt: skip
        plow, phigh = percentile_ci(diff_draws.mean(axis=1, keepdims=True), confidence)
        v, nv = float(value[cols].mean()), float(naive_value[cols].mean())
        records.append(
            (*key[:2], OVERALL, *key[2:], v, nv, v - nv, float(plow[0]), float(phigh[0]),
             int(sum(specs[j].rows.size for j in cols)))
        )  # fmt: skip
    schema: dict[str, Any] = dict.fromkeys(TABLE_COLUMNS, pl.Float64)
    schema.update(dict.fromkeys(("prediction", "metric", "origin", "model", "naive"), pl.String))
    schema["n"] = pl.Int64
    return pl.DataFrame(records, schema=schema, orient="row")


def _with_models(
    customers: pl.DataFrame,
    models: dict[str, Any],
    before: pl.DataFrame,
    origin: datetime,
    horizon_days: int,
    wanted: list[str],
) -> pl.DataFrame:
    """``customers`` with a ``<column>__<ModelName>`` column per extra customer model,
    fitted on ``before`` only."""
    for column, model in models.items():
        if (column == "churn_risk" and "churn" not in wanted) or (
            column == "clv" and "clv" not in wanted
        ):
            continue
        fitted = type(model)(**model.get_params()).fit(
            before, as_of=origin, horizon_days=horizon_days
        )
        scores = fitted.predict(before, as_of=origin).select(
            pl.col(C.USER).cast(customers[C.USER].dtype),
            pl.col(column).alias(f"{column}__{type(model).__name__}"),
        )
        customers = customers.join(scores, on=C.USER, how="left", maintain_order="left")
    return customers


def backtest(
    purchases: FrameLike,
    origins: TimeLike | Sequence[TimeLike],
    predictions: Sequence[str] = PREDICTIONS,
    horizon_days: int = 90,
    *,
    k: int = 10,
    recommender: Any = None,
    config: ProfileConfig | None = None,
    churn_model: Any = None,
    clv_model: Any = None,
    bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    observed_until: TimeLike | None = None,
) -> Backtest:
    """Score each prediction against its naive rule at rolling origins, with intervals.

    The predictions, naive rules, metrics and the paired bootstrap are described in
    `recsys.evaluation.backtest`.

    Parameters
    ----------
    purchases
        Canonical purchases (`recsys.clean_purchases`) covering the origins and the
        windows after them; ``clv`` needs ``price``.
    origins
        The ``as_of`` dates (one or several; str, date or datetime). Each uses only the
        purchases strictly before it for features, fits and naive rules.
    predictions
        Any of ``"churn", "clv", "due", "next_basket"``.
    horizon_days
        The label window ``[origin, origin + horizon_days)``: churn = no purchase in it,
        CLV over it, items due in it, the next basket = the items bought in it.
    k
        List length of the next-basket metrics.
    recommender
        Unfitted recommender for ``next_basket`` (cloned and fitted at each origin);
        default `recsys.BuyAgain`.
    config
        `ProfileConfig` for the churn and CLV profiles (its horizons are set to
        ``horizon_days``; CLV undiscounted).
    churn_model, clv_model
        Unfitted customer models scored next to the profile's ``churn_risk`` / ``clv``
        (e.g. `recsys.profiles.LearnedChurn`, `recsys.profiles.LearnedCLV`): cloned
        and fitted at each origin on the purchases before it
        (``fit(before, as_of=origin, horizon_days=horizon_days)``), their
        ``predict(before)`` column scored in rows of their own (``model`` = the class
        name).
    bootstrap
        Resamples of customers for the intervals (0 = no intervals).
    seed
        Seed of the resamples: the same seed gives the same table.
    confidence
        Level of the intervals.
    observed_until
        The end of what is known (e.g. the job's ``as_of``); default the day after the
        last purchase. Each origin's window must end by then.

    Returns
    -------
    Backtest
        ``table`` (see `Backtest`), ``calibration``, ``holdout``, ``units`` and
        ``verdict(prediction)``.

    Raises
    ------
    InputDataError
        Unknown prediction, bad parameters, an origin without purchases before it or
        with a window that runs past the data, ``clv`` without prices.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> result = rs.evaluation.backtest(purchases, ["2011-06-01", "2011-09-09"],
    ...     predictions=["churn"], bootstrap=200)
    >>> result.table.filter(origin="all", metric="auc")["naive"].to_list()
    ['recency', 'frequency']
    >>> result.verdict("churn").split(" ")[0] in ("beats", "no")
    True
    """
    frame = require_purchases(to_frame(purchases), needs=C.REQUIRED, where="backtest")
    wanted = list(dict.fromkeys([predictions] if isinstance(predictions, str) else predictions))
    for name in wanted:
        if name not in PREDICTIONS:
            raise InputDataError(f"predictions: {name!r} is not one of {PREDICTIONS}")
    if not wanted:
        raise InputDataError(f"predictions must name at least one of {PREDICTIONS}")
    horizon_days = check_positive_int("horizon_days", horizon_days)
    k = check_positive_int("k", k)
    bootstrap = check_positive_int("bootstrap", bootstrap, allow_zero=True)
    confidence = check_probability("confidence", confidence)
    if "clv" in wanted and C.PRICE not in frame.columns:
        raise InputDataError("predictions: 'clv' needs a price column in purchases")
    if config is not None and not isinstance(config, ProfileConfig):
        raise InputDataError(f"config must be a ProfileConfig, got {type(config).__name__}")
    if recommender is None:
        recommender = BuyAgain()
    if not (hasattr(recommender, "clone") and hasattr(recommender, "fit")):
        raise InputDataError(
            f"recommender must be an unfitted recsys model, got {type(recommender).__name__}"
        )
    extra = {
        name: model
        for name, model in (("churn_risk", churn_model), ("clv", clv_model))
        if model is not None
    }
    for column, model in extra.items():
        if not (hasattr(model, "get_params") and hasattr(model, "predict")):
            raise InputDataError(
                f"{'churn_model' if column == 'churn_risk' else 'clv_model'} must be an "
                f"unfitted customer model (fit / predict), got {type(model).__name__}"
            )
    dates = _origins(origins)
    until = None if observed_until is None else to_datetime(observed_until, "observed_until")
    for origin in dates:
        check_window(frame, origin, horizon_days, "origins", until)

    model_name = str(getattr(recommender, "registry_name", type(recommender).__name__))
    units: dict[str, list[pl.DataFrame]] = {name: [] for name in wanted}
    calibration, holdout = [], []
    for origin in dates:
        before, window = split_window(frame, origin, horizon_days)
        stamp = pl.lit(origin.date().isoformat()).alias("origin")
        if {"churn", "clv"} & set(wanted):
            customers, table = customer_units(
                before, window, origin, horizon_days, config, "clv" in wanted
            )
            customers = _with_models(customers, extra, before, origin, horizon_days, wanted)
            holdout.append(table.select(stamp, pl.all()))
            for name in {"churn", "clv"} & set(wanted):
                units[name].append(customers.select(stamp, pl.all()))
            if "churn" in wanted:
                history = pl.concat([before, window], how="diagonal_relaxed")
                for column, model in _model_columns(customers, "churn_risk"):
                    scored = customers.select(C.USER, pl.col(column).alias("churn_risk"))
                    cal = churn_calibration(scored, history, origin, horizon_days)
                    calibration.append(cal.select(stamp, pl.lit(model).alias("model"), pl.all()))
        if "due" in wanted:
            due = due_units(before, window, origin, horizon_days)
            units["due"].append(due.select(stamp, pl.all()))
        if "next_basket" in wanted:
            basket = next_basket_units(
                frame, origin, horizon_days, recommender, k, _NEXT_BASKET_METRICS
            )
            units["next_basket"].append(basket.select(stamp, pl.all()))

    merged = {name: pl.concat(parts, how="vertical_relaxed") for name, parts in units.items()}
    builders = {
        **_BUILDERS,
        "next_basket": lambda u, r, o: _basket_specs(u, r, o, k, model_name),
    }
    table = _scored(merged, dates, wanted, builders, bootstrap, seed, confidence)
    return Backtest(
        table=table,
        calibration=pl.concat(calibration) if calibration else pl.DataFrame(),
        holdout=pl.concat(holdout) if holdout else pl.DataFrame(),
        units=merged,
        confidence=confidence,
    )
