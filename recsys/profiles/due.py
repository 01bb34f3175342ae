"""Items due again: when will a customer need an item again, and how likely within a horizon?

`due_items` gives one row per (customer, item) bought before ``as_of``. Only
purchases strictly before ``as_of`` are used. A *purchase day* of a pair is a
calendar day on which the customer bought the item (several orders of the item on
one day count once), so intervals are whole days >= 1.

Interval (shrinkage in log days, `recsys.stats.repurchase.shrunk_interval`). For a pair
with ``k`` repeat gaps ``g_1 .. g_k`` (days between consecutive purchase days) and the
item's population log-interval ``L_item``:

``log interval = (k * mean(log g) + prior_strength * L_item) / (k + prior_strength)``

so a customer with no repeat of the item gets the item's typical interval, and one
with many repeats essentially their own (with ``prior_strength = 2``, two own gaps
weigh as much as the item's population). ``due_date = last_purchase + interval``.
``L_item`` is the log of the item's Kaplan-Meier median gap, shrunk toward the log of
the Kaplan-Meier median over all items with weight ``item_prior`` gaps against the
item's ``n`` completed gaps: ``(n log m_item + item_prior log m_all) / (n +
item_prior)`` (an item whose curve never falls to 1/2 counts ``n = 0``). The
Kaplan-Meier curve takes the completed gaps as events and, as censored gaps, the open
spells (days from the last purchase to ``as_of``) of pairs bought at least twice:
without them, long gaps that have not ended by ``as_of`` would be missing and the
intervals too short (the history is only so long).

Probability within the horizon (a defective renewal model per pair). The next gap
is ``Gamma(shape, interval / shape)`` (mean ``interval``), and with probability
``1 - rho`` the customer never buys the item again. ``rho`` is the item's repeat
propensity (share of its buyers with a second purchase day, shrunk toward all
items' share with weight ``item_prior`` buyers) updated by the pair's own repeats:
``rho = (k + prior_strength * rho_item) / (k + prior_strength)``. Given ``s`` days
since the last purchase and no purchase since:

``p_raw = rho (F(s + h) - F(s)) / (1 - rho F(s))``,

``F`` the gap CDF and ``h = horizon_days``. With ``calibrate=True`` (default),
``p_raw`` is recalibrated by a logistic regression on ``[logit p_raw, log k+1]``
(`recsys.stats.logistic.fit_logistic`, unpenalised)
fitted at the internal cutoff ``as_of - horizon_days``: the same model computed
from the purchases before that cutoff, against whether each pair was bought in
``[as_of - horizon_days, as_of)``. Where those outcomes are (almost) separated by the
two features (a weight's standard error above 100 log-odds per standard deviation, a
singular Hessian, or no convergence), the weights are not identified: they run off to a
step fitted to that one window, which extrapolates to the next in any direction, so the
calibration is skipped (a `DataWarning`). Nothing on or after ``as_of`` is used.
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import polars as pl
from scipy import special, stats

from recsys._validation import InstanceOf, Interval
from recsys.data import columns as C
from recsys.data.canonical import US_PER_DAY, require_purchases, without_returns
from recsys.data.sources import FrameLike, to_lazyframe
from recsys.data.timeutil import TimeLike, to_datetime
from recsys.exceptions import DataWarning, InputDataError, ModelFormatError
from recsys.models.schema import Array, Spec, Value
from recsys.profiles.base import CustomerModel
from recsys.stats.logistic import LogisticFit, fit_logistic, logistic_probability
from recsys.stats.repurchase import shrunk_interval
from recsys.stats.survival import km_quantiles

__all__ = ["DueItems", "due_items"]


def _purchase_days(lf: pl.LazyFrame, schema: pl.Schema, as_of: datetime) -> pl.DataFrame:
    """Distinct (user, item, day) purchase rows strictly before ``as_of``."""
    rows = without_returns(lf.filter(pl.col(C.TIMESTAMP) < as_of))
    if C.QUANTITY in schema:
        rows = rows.filter(pl.col(C.QUANTITY) > 0)
    return (
        rows.group_by(C.USER, C.ITEM, pl.col(C.TIMESTAMP).dt.date().alias("_day"))
        .agg(pl.col(C.TIMESTAMP).max().alias("_t"))
        .select(C.USER, C.ITEM, "_t", pl.col("_day").cast(pl.Int32).alias("_d"))
        .sort(C.USER, C.ITEM, "_d")
        .collect()
    )


def _km_medians(spells: pl.DataFrame, by: str) -> pl.DataFrame:
    """Kaplan-Meier median ``_median`` of ``_time`` per ``by`` group (``_event`` 1 = gap
    ended, 0 = censored), null where the survival curve stays above 1/2; ``_ig`` counts
    the events."""
    return km_quantiles(spells, (0.5,), time="_time", event="_event", by=by).rename(
        {"km_0.5": "_median", "events": "_ig"}
    )


def _pair_model(
    days: pl.DataFrame,
    as_of: datetime,
    horizon: int,
    prior_strength: float,
    item_prior: float,
    shape: float,
) -> pl.DataFrame:
    """Per-pair interval, due date and uncalibrated probability from ``days`` (sorted by
    user, item, day: each pair's rows are consecutive, so a pair starts where the user
    or the item changes; no grouping by the string keys is needed)."""
    start = ~(
        pl.col(C.USER).eq_missing(pl.col(C.USER).shift())
        & pl.col(C.ITEM).eq_missing(pl.col(C.ITEM).shift())
    )
    gaps = days.with_columns(
        pl.when(start).then(None).otherwise(pl.col("_d").diff()).cast(pl.Float64).alias("_gap"),
        start.cum_sum().alias("_pair"),
    )
    pairs = (
        gaps.group_by("_pair", maintain_order=True)
        .agg(
            pl.col(C.USER).first(),
            pl.col(C.ITEM).first(),
            pl.len().cast(pl.Int64).alias("n_purchases"),
            pl.col("_t").max().alias("last_purchase"),
            pl.col("_gap").log().mean().alias("_own_log"),
        )
        .with_columns(
            (
                (pl.lit(as_of) - pl.col("last_purchase")).dt.total_microseconds().cast(pl.Float64)
                / US_PER_DAY
            ).alias("_elapsed")
        )
        .drop("_pair")
    )
    # Kaplan-Meier medians of the gaps: completed gaps are events, the open spells of
    # pairs that have repeated before are censored gaps.
    spells = pl.concat(
        [
            gaps.filter(pl.col("_gap").is_not_null()).select(
                C.ITEM, pl.col("_gap").alias("_time"), pl.lit(1.0).alias("_event")
            ),
            pairs.filter(pl.col("n_purchases") > 1).select(
                C.ITEM, pl.col("_elapsed").alias("_time"), pl.lit(0.0).alias("_event")
            ),
        ]
    )
    del gaps  # the rows are done with: only the pairs and the spells from here
    global_median = _km_medians(spells.with_columns(pl.lit(0).alias("_all")), "_all")
    medians = global_median["_median"].drop_nulls()
    global_log = math.log(max(float(medians[0]), 1.0)) if medians.len() else math.log(30.0)
    item_log = _km_medians(spells, C.ITEM).with_columns(
        pl.col("_median").clip(lower_bound=1.0).log().alias("_km_log")
    )
    del spells
    n_pairs = pairs.height
    global_rho = float((pairs["n_purchases"] > 1).sum()) / max(n_pairs, 1)
    item_rho = pairs.group_by(C.ITEM).agg(
        pl.len().alias("_ib"), (pl.col("n_purchases") > 1).sum().alias("_ir")
    )
    weight = pl.when(pl.col("_km_log").is_not_null()).then(pl.col("_ig")).otherwise(0)
    items = item_rho.join(item_log, on=C.ITEM, how="left").with_columns(
        (
            (weight * pl.col("_km_log").fill_null(0.0) + item_prior * global_log)
            / (weight + item_prior)
        ).alias("_item_log"),
        ((pl.col("_ir") + item_prior * global_rho) / (pl.col("_ib") + item_prior)).alias(
            "_item_rho"
        ),
    )
    k = pl.col("n_purchases") - 1
    c = prior_strength
    # pairs are in the order of ``days``: by user, item
    out = pairs.join(
        items.select(C.ITEM, "_item_log", "_item_rho"), on=C.ITEM, how="left", maintain_order="left"
    )
    interval = shrunk_interval(
        out["_own_log"].to_numpy(),
        out["n_purchases"].to_numpy() - 1,
        out["_item_log"].to_numpy(),
        c,
    )
    out = out.with_columns(
        pl.Series("interval_days", interval, dtype=pl.Float64),
        ((k + c * pl.col("_item_rho")) / (k + c)).alias("_rho"),
    ).with_columns(
        (
            pl.col("last_purchase")
            + pl.duration(
                microseconds=(pl.col("interval_days") * US_PER_DAY).round().cast(pl.Int64)
            )
        ).alias("due_date")
    )
    scale = out["interval_days"].to_numpy() / shape
    s = out["_elapsed"].to_numpy()
    rho = out["_rho"].to_numpy()
    f_s = stats.gamma.cdf(s, shape, scale=scale)
    f_sh = stats.gamma.cdf(s + horizon, shape, scale=scale)
    raw = rho * (f_sh - f_s) / np.maximum(1.0 - rho * f_s, 1e-12)
    return out.select(
        C.USER,
        C.ITEM,
        "last_purchase",
        "n_purchases",
        "interval_days",
        "due_date",
        pl.Series("_p_raw", np.clip(raw, 0.0, 1.0)),
    )


def _design(frame: pl.DataFrame) -> np.ndarray:
    """The calibration's features ``[logit p_raw, log n_purchases]`` (intercept added by
    `recsys.stats.logistic.fit_logistic`)."""
    p = np.clip(frame["_p_raw"].to_numpy(), 1e-6, 1 - 1e-6)
    n = frame["n_purchases"].to_numpy().astype(np.float64)
    return np.column_stack([special.logit(p), np.log(n)])


def due_items(
    purchases: FrameLike,
    as_of: TimeLike,
    horizon_days: int = 30,
    *,
    prior_strength: float = 2.0,
    item_prior: float = 5.0,
    shape: float = 2.0,
    calibrate: bool = True,
    min_calibration_pairs: int = 500,
) -> pl.DataFrame:
    """Items each customer is due to buy again, with the chance of a purchase in the horizon.

    The model is described in `recsys.profiles.due`.

    Parameters
    ----------
    purchases
        Canonical purchases (``user_id, item_id, timestamp``; ``quantity`` and
        ``is_return`` are honoured when present).
    as_of
        Point in time; only purchases strictly before it are used.
    horizon_days
        Window ``[as_of, as_of + horizon_days)`` of ``p_within_horizon``.
    prior_strength
        Weight (in gaps) of the item's population interval and repeat propensity
        against the pair's own repeats.
    item_prior
        Weight (in gaps, and in buyers) of all items' interval and repeat share
        against one item's.
    shape
        Shape of the Gamma distribution of the next gap (1 = exponential; larger
        = more regular).
    calibrate
        Recalibrate the probabilities at the internal cutoff ``as_of - horizon_days``
        (skipped with a `DataWarning` when fewer than
        ``min_calibration_pairs`` pairs or fewer than 10 of either outcome are there, or
        when the outcomes there are (almost) separated by the calibration's features, so
        that its weights are not identified).
    min_calibration_pairs
        Fewest pairs at the internal cutoff for calibration.

    Returns
    -------
    pl.DataFrame
        ``user_id, item_id, last_purchase, n_purchases, interval_days, due_date,
        p_within_horizon``, one row per pair bought before ``as_of``, sorted by
        ``user_id, item_id``. ``due_date`` may lie before ``as_of`` (overdue).

    Raises
    ------
    InputDataError
        Missing columns, bad parameters, or no purchase before ``as_of``.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> due = rs.due_items(purchases, as_of="2011-09-09", horizon_days=30)
    >>> due.columns[:4]
    ['user_id', 'item_id', 'last_purchase', 'n_purchases']
    >>> bool(due["p_within_horizon"].is_between(0, 1).all())
    True
    """
    model = DueItems(
        horizon_days,
        prior_strength=prior_strength,
        item_prior=item_prior,
        shape=shape,
        calibrate=calibrate,
        min_calibration_pairs=min_calibration_pairs,
    )
    return model.fit(purchases, as_of).items_


_POSITIVE = Interval(float, 0, None, closed="neither")
_DESIGN_NAMES = ["logit_p_raw", "log_n_purchases"]


class DueItems(CustomerModel):
    """The items-due model of `due_items` as a fitted customer model.

    ``fit`` computes the renewal model of every (customer, item) pair bought before
    ``as_of`` and learns its calibration at the internal cutoff ``as_of -
    horizon_days`` (the model is described in `recsys.profiles.due`); ``items_``
    is `due_items`' table. ``predict`` applies the learned calibration to the pairs
    of any purchases at any ``as_of``. The parameters are those of `due_items`.

    Attributes
    ----------
    items_ : pl.DataFrame
        The table of `due_items` at the fitted ``as_of`` (not saved by `save`; not set by
        ``fit(..., table=False)``).
    calibrated_ : bool
        Whether the calibration was learned (else the probabilities are the renewal
        model's).
    mean_, scale_, weights_, covariance_ : ndarray
        The calibration's logistic regression on ``[logit p_raw, log n_purchases]``
        (`recsys.stats.logistic`); empty when not calibrated.
    as_of_ : str
        The fitted ``as_of`` (ISO format).

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> model = rs.profiles.DueItems(horizon_days=30).fit(purchases, as_of="2011-09-09")
    >>> model.summary()["parameter"].to_list()
    ['logit_p_raw', 'log_n_purchases', 'intercept']
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "horizon_days": [Interval(int, 1, None)],
        "prior_strength": [_POSITIVE],
        "item_prior": [_POSITIVE],
        "shape": [_POSITIVE],
        "calibrate": [InstanceOf(bool)],
        "min_calibration_pairs": [Interval(int, 1, None)],
    }
    schema: ClassVar[tuple[Spec, ...]] = (
        Array("mean", "float64", (None,), finite=True),
        Array("scale", "float64", (None,), finite=True, above=0.0),
        Array("weights", "float64", (None,), finite=True),
        Array("covariance", "float64", (None, None)),
        Value("calibrated", (InstanceOf(bool),)),
        Value("as_of", (InstanceOf(str),)),
    )

    def __init__(
        self,
        horizon_days: int = 30,
        *,
        prior_strength: float = 2.0,
        item_prior: float = 5.0,
        shape: float = 2.0,
        calibrate: bool = True,
        min_calibration_pairs: int = 500,
    ) -> None:
        self.horizon_days = horizon_days
        self.prior_strength = prior_strength
        self.item_prior = item_prior
        self.shape = shape
        self.calibrate = calibrate
        self.min_calibration_pairs = min_calibration_pairs

    def _days(self, purchases: FrameLike, as_of: TimeLike) -> tuple[pl.DataFrame, datetime]:
        lf = require_purchases(
            to_lazyframe(purchases), needs=(C.USER, C.ITEM, C.TIMESTAMP), where="due_items"
        )
        when = to_datetime(as_of, "as_of")
        days = _purchase_days(lf, lf.collect_schema(), when)
        if days.height == 0:
            raise InputDataError(f"no purchase strictly before as_of={when}")
        return days, when

    def _table(self, days: pl.DataFrame, when: datetime) -> pl.DataFrame:
        model = _pair_model(
            days, when, self.horizon_days, self.prior_strength, self.item_prior, self.shape
        )
        p = model["_p_raw"].to_numpy()
        if self.calibrated_:
            p = logistic_probability((self.mean_, self.scale_, self.weights_), _design(model))
        return model.select(
            C.USER,
            C.ITEM,
            "last_purchase",
            "n_purchases",
            "interval_days",
            "due_date",
            pl.Series("p_within_horizon", p, dtype=pl.Float64),
        )

    def fit(self, purchases: FrameLike, as_of: TimeLike, *, table: bool = True) -> DueItems:
        """Fit on the purchases strictly before ``as_of`` (see `due_items`); with
        ``table=False`` only the calibration is learned and ``items_`` is not set (``predict``
        gives the same table later, without holding it meanwhile)."""
        self._start_fit()
        self.__dict__.pop("items_", None)
        days, when = self._days(purchases, as_of)
        fit = None
        if self.calibrate:
            fit = _calibration(
                days,
                when,
                self.horizon_days,
                self.prior_strength,
                self.item_prior,
                self.shape,
                self.min_calibration_pairs,
            )
        empty = np.zeros(0)
        self.calibrated_ = fit is not None
        self.mean_ = fit.mean if fit is not None else empty
        self.scale_ = fit.scale if fit is not None else empty
        self.weights_ = fit.coef if fit is not None else empty
        self.covariance_ = fit.covariance if fit is not None else np.zeros((0, 0))
        self.as_of_ = when.isoformat()
        if table:
            self.items_ = self._table(days, when)
        return self

    def predict(self, purchases: FrameLike, as_of: TimeLike | None = None) -> pl.DataFrame:
        """`due_items`' table of ``purchases`` at ``as_of`` (default: the fitted one)
        with the fitted calibration."""
        self._check_fitted()
        days, when = self._days(purchases, self.as_of_ if as_of is None else as_of)
        return self._table(days, when)

    def _parameter_table(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        if not self.calibrated_:
            return [], np.zeros(0), np.zeros((0, 0))
        raw = LogisticFit(self.mean_, self.scale_, self.weights_, self.covariance_, True).raw_coef
        return [*_DESIGN_NAMES, "intercept"], raw, self.covariance_

    def _check_state(self) -> None:
        k = 2 if self.calibrated_ else 0
        expected = {
            "mean_": (k,),
            "scale_": (k,),
            "weights_": (k + 1,) if k else (0,),
            "covariance_": (k + 1, k + 1) if k else (0, 0),
        }
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ModelFormatError(
                    f"{name} has shape {getattr(self, name).shape}, expected {shape} "
                    f"(calibrated_={self.calibrated_})"
                )


#: Largest standard error of a calibration weight (log-odds per standard deviation of
#: its feature) for the fit to count as identified: on a few hundred pairs or more a
#: weight is known to well within 1 unless the outcomes are (almost) separated.
_MAX_WEIGHT_SE = 100.0


def _identified(fit: LogisticFit) -> bool:
    """Whether the calibration's weights are identified: Newton converged, the Hessian is
    invertible and no standardised weight has a standard error above `_MAX_WEIGHT_SE`."""
    if not fit.converged or not np.isfinite(fit.covariance).all():
        return False
    variance = np.diag(fit.covariance)[:-1] * fit.scale**2  # raw slopes -> standardised
    return bool(np.all(variance <= _MAX_WEIGHT_SE**2))


def _calibration(
    days: pl.DataFrame,
    as_of: datetime,
    horizon: int,
    prior_strength: float,
    item_prior: float,
    shape: float,
    min_pairs: int,
) -> LogisticFit | None:
    try:
        cutoff = as_of - timedelta(days=horizon)
    except OverflowError:  # a horizon of thousands of years: no data that early
        cutoff = datetime.min
    earlier = days.filter(pl.col("_t") < cutoff)
    reason = None
    if earlier.height == 0:
        reason = "nothing was bought before it"
    else:
        past = _pair_model(earlier, cutoff, horizon, prior_strength, item_prior, shape)
        if past.height < min_pairs:
            reason = (
                f"only {past.height:,} (customer, product) pairs were bought before it, at "
                f"least {min_pairs:,} are needed (min_calibration_pairs)"
            )
        else:
            again = (
                days.filter(pl.col("_t") >= cutoff)
                .select(C.USER, C.ITEM)
                .unique()
                .with_columns(pl.lit(1.0).alias("_y"))
            )
            y = (
                past.select(C.USER, C.ITEM)
                .join(again, on=[C.USER, C.ITEM], how="left", maintain_order="left")["_y"]
                .fill_null(0.0)
                .to_numpy()
            )
            again_n = int(y.sum())
            if min(again_n, y.size - again_n) < 10:
                few, outcome = min(
                    (again_n, "were bought again"), (y.size - again_n, "were not bought again")
                )
                reason = (
                    f"of the {y.size:,} (customer, product) pairs bought before it, {few:,} "
                    f"{outcome} in the days after, at least 10 of each outcome are needed"
                )
    fit = None
    if reason is None:
        fit = fit_logistic(_design(past), y)
        if not _identified(fit):
            # (quasi-)separated outcomes: the weights run off to whatever hyperplane
            # separates this one window, and extrapolate to the next as a step in any
            # direction
            reason = (
                "whether they were bought again is (almost) separated by the calibration's "
                "features (logit p_raw, log n_purchases): the calibration is not identified"
            )
    if reason is not None:
        warnings.warn(
            f"p_within_horizon is not calibrated: it is calibrated on the (customer, product) "
            f"pairs bought before {cutoff:%Y-%m-%d} ({horizon:,} days before as_of) and whether "
            f"they were bought again in the {horizon:,} days after, and {reason}; "
            "p_within_horizon is the renewal model's probability, uncalibrated",
            DataWarning,
            stacklevel=3,
        )
        return None
    return fit
