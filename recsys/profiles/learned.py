"""CLV and churn models learned on earlier origins: `LearnedCLV`, `LearnedChurn`.

Both learn, at a few origins ``s`` before ``as_of``, how a customer's features at ``s``
(`recsys.profiles.learned_features`, from the purchases before ``s`` only) relate to what
they did in ``[s, s + horizon_days)``, with every such window ending by ``as_of``. They
then score the features at ``as_of``. Nothing at or after ``as_of`` is read, by ``fit``
or by ``predict``.

- `LearnedCLV`: past spend times the learned probability of an order in the window
  (``(1 - churn_risk) ** churn_weight``): the expected spend when a buyer spends in
  proportion to what they spent before. (A ridge regression of log spend and a Poisson
  regression of spend on the same features, learned on earlier origins, lost to past
  spend on Online Retail II: the earlier origins have short histories, so what they
  teach about recent vs old spend does not carry to later origins.)
- `LearnedChurn`: a logistic regression (`recsys.profiles.ChurnCalibrator`, i.e. the
  project's one logistic regression, `recsys.stats.logistic`) of "no order
  in the window" on a few features of up to a year of training origins, stacked; then
  its intercept and slope are refitted (Platt) on the origin left out of the stack
  that is nearest the same season a year earlier, else on the latest: the seasonal
  shift between origins moves the base rate more than the ranking. Where it does not
  beat the order count and the base rate on that origin, it falls back to the churn
  rate by order count.

The training origins are ``as_of - horizon_days - step_days * j`` for ``j = 0 ..
origins - 1``, keeping those with ``min_history_days`` of purchases before them; the
CLV model shortens its label window when not even one fits (e.g. a 6-month CLV three
months into the data): only the ranking is learned then.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import special

from recsys._validation import InstanceOf, Interval, Options
from recsys.data import columns as C
from recsys.data.canonical import require_purchases
from recsys.data.sources import to_frame
from recsys.data.timeutil import to_datetime
from recsys.exceptions import InputDataError
from recsys.models.schema import Array, Spec, Value
from recsys.profiles.base import CustomerModel
from recsys.profiles.churn import ChurnCalibrator
from recsys.profiles.learned_features import (
    BASE_FEATURES,
    SPEND_FEATURES,
    customer_features,
    feature_columns,
    window_labels,
)

__all__ = ["LearnedCLV", "LearnedChurn"]

#: Days back to the same calendar window a year earlier (52 weeks: same weekdays).
_SEASON_DAYS = 364

_COMMON: dict[str, list[Any]] = {
    "origins": [Interval(int, 1, None)],
    "step_days": [Interval(int, 1, None)],
    "min_history_days": [Interval(int, 1, None)],
}


def _purchases(purchases: Any, needs_price: bool, where: str) -> pl.DataFrame:
    frame = require_purchases(to_frame(purchases), needs=C.REQUIRED, where=where)
    if needs_price and C.PRICE not in frame.columns:
        raise InputDataError(f"{where} needs a price column in purchases (spend)")
    return frame


def _training_origins(
    frame: pl.DataFrame, as_of: datetime, label_days: int, origins: int, step: int, history: int
) -> list[datetime]:
    """The training origins, latest first: each with ``history`` days of data before it
    and its label window ending by ``as_of``."""
    first: datetime = frame[C.TIMESTAMP].min()  # type: ignore[assignment]
    out = []
    for j in range(origins):
        s = as_of - timedelta(days=label_days + step * j)
        if s - first >= timedelta(days=history):
            out.append(s)
    return out


#: The fitted state both learned models declare (`recsys.models.schema`).
_STATE: tuple[Spec, ...] = (
    Array("coef", "float64", ("features",), finite=True),
    Value("intercept", (Interval(float, None, None),)),
    Array("platt", "float64", (2,), finite=True),
    Value("uses_spend", (InstanceOf(bool),)),
    Value("as_of", (InstanceOf(str),)),
    Value("horizon_days", (Interval(int, 1, None),)),
    Value("n_origins", (Interval(int, 1, None),)),
    Value("n_rows", (Interval(int, 1, None),)),
    Value("calibration_origin", (InstanceOf(str),)),
    Value("fallback", (InstanceOf(bool),)),
    Array("rule", "float64", (2,), finite=True),
)


class _Learned(CustomerModel):
    """Shared fit/predict plumbing: parameters, origins, features at ``as_of``."""

    _with_spend: ClassVar[bool]  # price required
    #: The churn model's features (`recsys.profiles.learned_features`), without and
    #: with prices.
    _features: ClassVar[tuple[str, ...]]
    _spend_features: ClassVar[tuple[str, ...]]
    #: "season" or "latest": where the Platt step is fitted (see `LearnedChurn`).
    calibrate_on: str = "latest"
    as_of_: str
    horizon_days_: int
    uses_spend_: bool
    fallback_: bool
    rule_: NDArray[np.float64]

    def __init__(self, origins: int, step_days: int, min_history_days: int) -> None:
        self.origins = origins
        self.step_days = step_days
        self.min_history_days = min_history_days

    def _begin(
        self, purchases: Any, as_of: Any, horizon_days: Any
    ) -> tuple[pl.DataFrame, datetime]:
        self._start_fit()
        if not isinstance(horizon_days, (int, np.integer)) or horizon_days < 1:
            raise InputDataError(f"horizon_days must be a positive integer, got {horizon_days!r}")
        frame = _purchases(purchases, self._with_spend, type(self).__name__)
        when = to_datetime(as_of, "as_of")
        frame = frame.filter(pl.col(C.TIMESTAMP) < when)
        if frame.height == 0:
            raise InputDataError(f"{type(self).__name__}: no purchases before as_of={when}")
        return frame, when

    def _names(self, with_spend: bool) -> tuple[str, ...]:
        return self._features + (self._spend_features if with_spend else ())

    def _features_at(self, purchases: Any, as_of: Any) -> tuple[pl.Series, NDArray[np.float64]]:
        self._check_fitted()
        frame = _purchases(purchases, self.uses_spend_, f"{type(self).__name__}.predict")
        when = to_datetime(self.as_of_ if as_of is None else as_of, "as_of")
        users, x = customer_features(frame, when, self.horizon_days_, self.uses_spend_)
        return users, x[:, feature_columns(self.feature_names, self.uses_spend_)]

    def _dims(self) -> dict[str, int]:  # from uses_spend_ (loaded before the arrays)
        return {"features": len(self._names(self.uses_spend_))}

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the churn model's features, in the order of ``coef_``."""
        self._check_fitted()
        return self._names(self.uses_spend_)


class LearnedCLV(_Learned):
    """Spend over the next ``horizon_days``: past spend weighed by the learned P(an order).

    ``clv = past_spend * (1 - churn_risk) ** churn_weight``, with ``churn_risk`` from a
    logistic regression learned as `LearnedChurn`'s on earlier origins, on the
    features measured for CLV (``learned_features.BASE_FEATURES`` through ``expected``,
    then ``SPEND_FEATURES``), fitted on the origins but the latest and recalibrated on
    the latest (no seasonal origin, no fallback; its label window shortened to
    what the data allow when ``horizon_days`` does not fit before ``as_of``). With
    ``churn_weight = 1`` it is the expected spend when a customer who buys spends in
    proportion to what they spent before; past spend alone is ``churn_weight = 0``.

    Parameters
    ----------
    origins, step_days, min_history_days, l2
        Of the churn model (as in `LearnedChurn`).
    churn_weight
        Exponent of the probability of an order.

    Attributes
    ----------
    coef_, intercept_, platt_
        The churn model's (`LearnedChurn`).
    as_of_, horizon_days_, label_days_, n_origins_, n_rows_
        The fit's date, horizon, the churn label window used (shorter than the horizon
        when the data are too short), training origins and rows.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> model = rs.profiles.LearnedCLV().fit(purchases, as_of="2011-09-09", horizon_days=90)
    >>> model.n_origins_
    4
    >>> scores = model.predict(purchases)
    >>> scores.columns, bool((scores["clv"] >= 0).all())
    (['user_id', 'clv'], True)
    """

    _with_spend = True
    _features = BASE_FEATURES[:12]  # through "expected": the set measured for CLV
    _spend_features = SPEND_FEATURES
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **_COMMON,
        "l2": [Interval(float, 0, None)],
        "churn_weight": [Interval(float, 0, None)],
    }
    schema: ClassVar[tuple[Spec, ...]] = (*_STATE, Value("label_days", (Interval(int, 1, None),)))

    def __init__(
        self,
        origins: int = 4,
        step_days: int = 30,
        min_history_days: int = 30,
        l2: float = 1e-3,
        churn_weight: float = 1.0,
    ) -> None:
        super().__init__(origins, step_days, min_history_days)
        self.l2 = l2
        self.churn_weight = churn_weight

    def fit(self, purchases: Any, as_of: Any, horizon_days: int = 90) -> LearnedCLV:
        """Learn from the purchases before ``as_of`` (the rest is never read).

        Raises
        ------
        InputDataError
            Bad parameters, no price column, too little history before ``as_of`` for
            one training origin with a 7-day label window, or a calibration origin after
            which every customer, or none, churned.
        """
        frame, as_of = self._begin(purchases, as_of, horizon_days)
        label_days = int(horizon_days)
        if not _training_origins(
            frame, as_of, label_days, 1, self.step_days, self.min_history_days
        ):
            first: datetime = frame[C.TIMESTAMP].min()  # type: ignore[assignment]
            label_days = (as_of - first).days - self.min_history_days
            if label_days < 7:
                raise InputDataError(
                    f"LearnedCLV: as_of={as_of:%Y-%m-%d} leaves no training origin with "
                    f"{self.min_history_days} days of history and a 7-day window after it"
                )
        _fit_churn(self, frame, as_of, int(horizon_days), label_days)
        self.label_days_ = label_days
        return self

    def predict(self, purchases: Any, as_of: Any = None) -> pl.DataFrame:
        """``user_id, clv``: expected spend over ``horizon_days`` after ``as_of``
        (default: the fit's), for every customer with an order before it."""
        users, x = self._features_at(purchases, as_of)
        past = np.expm1(x[:, len(self._features)])  # "spend": spend before as_of
        alive = 1.0 - _churn_risk(self, x)
        value = past * alive ** float(self.churn_weight)
        return pl.DataFrame({C.USER: users, "clv": value})


class LearnedChurn(_Learned):
    """P(no order in the next ``horizon_days``), learned on earlier origins.

    A logistic regression on a few features (`feature_names`: orders, recency, tenure,
    BG/NBD's P(alive) and expected orders, active months, recency over the customer's
    median gap, orders in the last 90 days, distinct items, P(no order) by BG/NBD's
    P(alive) and the customer's own rhythm (`recsys.profiles.churn_hazard`); with
    prices, spend and spend over the last 365 days) of up to ``origins`` training
    origins ``step_days`` apart, stacked, so the seasons of a year of origins are all
    in the fit. Its logit is then recalibrated (intercept and slope, Platt) on one
    origin left out of that fit: with ``calibrate_on="season"`` the training origin
    nearest the same calendar window a year earlier (``as_of - 364`` days) when the
    data cover it, else (and with ``"latest"``) the latest one, ``as_of -
    horizon_days``. The base rate of churn moves
    with the season (on Online Retail, 52% of customers bought nothing in the 90 days
    after 2011-06-11, 43% after 2011-09-09, the Christmas run-up); a year earlier is
    the nearest window that has seen the same season.

    On that left-out origin the model is checked against the rule "fewer orders = more
    likely gone": unless it ranks churners better (AUC) than the order count and its
    Brier score is below the base rate's there, ``fallback_`` is set and `predict`
    returns the rule instead, calibrated: a logistic regression of churn on
    ``log(1 + orders)`` alone at that origin (``rule_``), which ranks customers as the
    order count does.

    Parameters
    ----------
    origins, step_days, min_history_days
        At most ``origins`` training origins ``as_of - horizon_days - step_days * j``,
        each with ``min_history_days`` of purchases before it.
    l2
        Penalty of the logistic regression (`ChurnCalibrator`).
    calibrate_on
        ``"season"`` or ``"latest"``: the origin of the Platt step (above).

    Attributes
    ----------
    coef_, intercept_
        The stacked logistic regression on the raw features (`feature_names`: the
        spend features too when the purchases have prices, ``uses_spend_``).
    platt_
        ``[intercept, slope]`` applied to its logit.
    calibration_origin_
        The origin of the Platt step and of the check against the rule (ISO date).
    fallback_, rule_
        Whether `predict` returns the rule, and the rule's ``[intercept, slope]`` on
        ``log(1 + orders)``.
    as_of_, horizon_days_, n_origins_, n_rows_
        The fit's date, horizon, training origins and rows.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> model = rs.profiles.LearnedChurn().fit(purchases, as_of="2011-09-09", horizon_days=90)
    >>> model.n_origins_, model.calibration_origin_, model.fallback_
    (12, '2011-06-11', False)
    >>> risk = model.predict(purchases)["churn_risk"]
    >>> bool(((risk > 0) & (risk < 1)).all())
    True
    """

    _with_spend = False
    _features = (
        "orders", "recency", "tenure", "p_alive", "expected", "months", "overdue",
        "orders_90", "items", "no_order",
    )  # fmt: skip
    _spend_features = ("spend", "spend_365")
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **_COMMON,
        "l2": [Interval(float, 0, None)],
        "calibrate_on": [Options("season", "latest")],
    }
    schema: ClassVar[tuple[Spec, ...]] = _STATE

    def __init__(
        self,
        origins: int = 26,
        step_days: int = 14,
        min_history_days: int = 30,
        l2: float = 1e-3,
        calibrate_on: str = "season",
    ) -> None:
        super().__init__(origins, step_days, min_history_days)
        self.l2 = l2
        self.calibrate_on = calibrate_on

    def fit(self, purchases: Any, as_of: Any, horizon_days: int = 90) -> LearnedChurn:
        """Learn from the purchases before ``as_of`` (the rest is never read).

        Raises
        ------
        InputDataError
            Bad parameters, no training origin with ``min_history_days`` of history
            and a whole ``horizon_days`` window before ``as_of``, or a calibration origin
            after which every customer, or none, churned.
        """
        frame, as_of = self._begin(purchases, as_of, horizon_days)
        _fit_churn(self, frame, as_of, int(horizon_days))
        return self

    def predict(self, purchases: Any, as_of: Any = None) -> pl.DataFrame:
        """``user_id, churn_risk`` for every customer with an order before ``as_of``
        (default: the fit's)."""
        users, x = self._features_at(purchases, as_of)
        if self.fallback_:
            log_orders = x[:, self._features.index("orders")]
            risk = np.asarray(special.expit(self.rule_[0] + self.rule_[1] * log_orders))
        else:
            risk = _churn_risk(self, x)
        return pl.DataFrame({C.USER: users, "churn_risk": risk})


def _frequency_rule(log_orders: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """``[intercept, slope]`` of the logistic regression of churn ``y`` on
    ``log(1 + orders)`` (`ChurnCalibrator`; its small default penalty keeps the slope
    finite where the order count separates churners perfectly)."""
    fit = ChurnCalibrator(l2=1e-3).fit(log_orders[:, None], y)
    return np.array([fit.intercept_, float(fit.coef_[0])])


def _calibration_index(starts: list[datetime], as_of: datetime, model: Any) -> int:
    """The training origin of the Platt step: the one nearest ``as_of - 364`` days
    (within half a step) with ``calibrate_on="season"`` when there is one, else the
    latest (index 0)."""
    if model.calibrate_on == "season" and len(starts) > 1:
        target = as_of - timedelta(days=_SEASON_DAYS)
        gaps = [abs((s - target).total_seconds()) / 86_400 for s in starts]
        j = int(np.argmin(gaps))
        if gaps[j] <= model.step_days / 2:
            return j
    return 0


def _fit_churn(
    model: Any,
    frame: pl.DataFrame,
    as_of: datetime,
    horizon_days: int,
    label_days: int | None = None,
) -> None:
    """Fit the stacked logistic regression, its Platt step and the check against the
    frequency rule into ``model``'s state (with the spend features when the purchases
    have prices)."""
    from recsys.stats.weighted import auc  # the backtest's AUC

    model.uses_spend_ = C.PRICE in frame.columns
    label_days = horizon_days if label_days is None else label_days
    starts = _training_origins(
        frame, as_of, label_days, model.origins, model.step_days, model.min_history_days
    )
    if not starts:
        raise InputDataError(
            f"{type(model).__name__}: as_of={as_of:%Y-%m-%d} leaves no training origin with "
            f"{model.min_history_days} days of history and a {label_days}-day window "
            "before as_of; use a later as_of or a shorter horizon_days"
        )
    columns = feature_columns(model._names(model.uses_spend_), model.uses_spend_)
    xs, ys, counts = [], [], []
    for s in starts:
        users, x = customer_features(frame, s, horizon_days, model.uses_spend_)
        _, orders = window_labels(frame, users, s, label_days)
        counts.append(x[:, BASE_FEATURES.index("orders")])  # log(1 + orders)
        xs.append(x[:, columns])
        ys.append((orders == 0).astype(np.float64))
    c = _calibration_index(starts, as_of, model)
    if ys[c].min() == ys[c].max():
        raise InputDataError(
            f"{type(model).__name__}: at its calibration origin {starts[c]:%Y-%m-%d}, "
            f"{'no' if ys[c][0] else 'every'} customer bought in the {label_days} days "
            "after it: the churn probability cannot be calibrated there"
        )
    rest = [j for j in range(len(starts)) if j != c] or [c]
    fit = ChurnCalibrator(l2=float(model.l2)).fit(
        np.vstack([xs[j] for j in rest]), np.concatenate([ys[j] for j in rest])
    )
    model.coef_ = np.asarray(fit.coef_, dtype=np.float64)
    model.intercept_ = float(fit.intercept_)
    model.platt_ = np.array([0.0, 1.0])
    model.rule_ = _frequency_rule(counts[c], ys[c])
    model.fallback_ = False
    if len(starts) > 1:
        logit = _logit(model, xs[c])[:, None]
        platt = ChurnCalibrator(l2=0.0).fit(logit, ys[c])
        model.platt_ = np.array([platt.intercept_, float(platt.coef_[0])])
        y, one = ys[c], np.ones((1, ys[c].size))
        risk = special.expit(model.platt_[0] + model.platt_[1] * logit[:, 0])
        beats_rule = auc(one, risk, y)[0] > auc(one, -counts[c], y)[0]
        beats_base = float(np.mean((risk - y) ** 2)) < float(y.mean() * (1.0 - y.mean()))
        model.fallback_ = not (beats_rule and beats_base)
    model.calibration_origin_ = starts[c].date().isoformat()
    model.as_of_ = as_of.isoformat()
    model.horizon_days_ = horizon_days
    model.n_origins_ = len(starts)
    model.n_rows_ = int(sum(y.size for y in ys))


def _logit(model: Any, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """The stacked regression's logit of feature rows ``x`` (`feature_names` columns);
    column by column, so a row's value does not depend on the other rows (no BLAS)."""
    logit = np.full(len(x), model.intercept_)
    for j in range(model.coef_.size):
        logit += x[:, j] * model.coef_[j]
    return logit


def _churn_risk(model: Any, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """The fitted churn probability of feature rows ``x`` (`feature_names` columns)."""
    logit = _logit(model, x)
    return np.asarray(special.expit(model.platt_[0] + model.platt_[1] * logit))
