"""CLV and churn models learned on earlier origins: `LearnedCLV`, `LearnedChurn`.

Both learn, at a few origins ``s`` before ``as_of``, how a customer's features at ``s``
(`recsys.profiles.learned_features`, from the purchases before ``s`` only) relate to what
they did in ``[s, s + horizon_days)``, with every such window ending by ``as_of``. They
then score the features at ``as_of``. Nothing at or after ``as_of`` is read, by ``fit``
or by ``predict``.

- `LearnedCLV`: a ridge regression (plain numpy, standardised features) of
  ``log1p(spend in the window)``; ``predict`` returns ``expm1`` of the fitted value
  times the smearing factor (the mean of ``exp(residual)``), so the rank is the
  regression's and the level is the mean spend.
- `LearnedChurn`: a logistic regression (`recsys.profiles.ChurnCalibrator`) of "no order
  in the window" on the features of all training origins but the latest, stacked; then
  its intercept and slope are refitted (Platt) on the latest origin, which is closest to
  ``as_of``: the seasonal shift between origins moves the base rate, not the ranking.

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

from recsys._validation import InstanceOf, Interval
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
    window_labels,
)

__all__ = ["LearnedCLV", "LearnedChurn"]

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


class _Learned(CustomerModel):
    """Shared fit/predict plumbing: parameters, origins, features at ``as_of``."""

    _with_spend: ClassVar[bool]
    as_of_: str
    horizon_days_: int

    def __init__(self, origins: int = 4, step_days: int = 30, min_history_days: int = 60) -> None:
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
        return frame, to_datetime(as_of, "as_of")

    def _features_at(self, purchases: Any, as_of: Any) -> tuple[pl.Series, NDArray[np.float64]]:
        self._check_fitted()
        frame = _purchases(purchases, self._with_spend, f"{type(self).__name__}.predict")
        when = to_datetime(self.as_of_ if as_of is None else as_of, "as_of")
        return customer_features(frame, when, self.horizon_days_, self._with_spend)

    def _dims(self) -> dict[str, int]:
        return {"features": len(self.feature_names)}

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the feature columns, in the order of ``coef_``."""
        return BASE_FEATURES + (SPEND_FEATURES if self._with_spend else ())


class LearnedCLV(_Learned):
    """Spend over the next ``horizon_days``, learned on earlier origins (ridge on log spend).

    Parameters
    ----------
    origins
        Training origins (at most; those without ``min_history_days`` of data are
        skipped).
    step_days
        Days between consecutive training origins.
    min_history_days
        Days of purchases a training origin needs before it.
    l2
        Ridge penalty on the standardised weights (not the intercept).

    Attributes
    ----------
    coef_, intercept_
        Weights on the raw features (`feature_names`) and the intercept.
    smearing_
        Mean of ``exp(residual)`` on the training rows (Duan's smearing).
    as_of_, horizon_days_, label_days_, n_origins_, n_rows_
        The fit's date, horizon, label window used (shorter than the horizon when the
        data are too short), training origins and rows.

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
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **_COMMON,
        "l2": [Interval(float, 0, None)],
    }
    schema: ClassVar[tuple[Spec, ...]] = (
        Array("coef", "float64", ("features",), finite=True),
        Value("intercept", (Interval(float, None, None),)),
        Value("smearing", (Interval(float, 0, None, closed="neither"),)),
        Value("as_of", (InstanceOf(str),)),
        Value("horizon_days", (Interval(int, 1, None),)),
        Value("label_days", (Interval(int, 1, None),)),
        Value("n_origins", (Interval(int, 1, None),)),
        Value("n_rows", (Interval(int, 1, None),)),
    )

    def __init__(
        self,
        origins: int = 4,
        step_days: int = 30,
        min_history_days: int = 60,
        l2: float = 1.0,
    ) -> None:
        super().__init__(origins, step_days, min_history_days)
        self.l2 = l2

    def fit(self, purchases: Any, as_of: Any, horizon_days: int = 90) -> LearnedCLV:
        """Learn from the purchases before ``as_of`` (the rest is never read).

        Raises
        ------
        InputDataError
            Bad parameters, no price column, or too little history before ``as_of`` for
            one training origin with a 7-day label window.
        """
        frame, as_of = self._begin(purchases, as_of, horizon_days)
        frame = frame.filter(pl.col(C.TIMESTAMP) < as_of)
        label_days = int(horizon_days)
        starts = _training_origins(
            frame, as_of, label_days, self.origins, self.step_days, self.min_history_days
        )
        if not starts:
            first: datetime = frame[C.TIMESTAMP].min()  # type: ignore[assignment]
            label_days = (as_of - first).days - self.min_history_days
            if label_days < 7:
                raise InputDataError(
                    f"LearnedCLV: as_of={as_of:%Y-%m-%d} leaves no training origin with "
                    f"{self.min_history_days} days of history and a 7-day window after it"
                )
            starts = [as_of - timedelta(days=label_days)]
        xs, ys = [], []
        for s in starts:
            users, x = customer_features(frame, s, int(horizon_days), True)
            spend, _ = window_labels(frame, users, s, label_days)
            xs.append(x)
            ys.append(np.log1p(np.maximum(spend, 0.0)))
        x, y = np.vstack(xs), np.concatenate(ys)
        intercept, coef = ridge(x, y, float(self.l2))
        residual = y - (intercept + x @ coef)
        self.coef_ = coef
        self.intercept_ = intercept
        self.smearing_ = float(np.mean(np.exp(residual)))
        self.as_of_ = as_of.isoformat()
        self.horizon_days_ = int(horizon_days)
        self.label_days_ = label_days
        self.n_origins_ = len(starts)
        self.n_rows_ = int(y.size)
        return self

    def predict(self, purchases: Any, as_of: Any = None) -> pl.DataFrame:
        """``user_id, clv``: expected spend over ``horizon_days`` after ``as_of``
        (default: the fit's), for every customer with an order before it."""
        users, x = self._features_at(purchases, as_of)
        log_spend = self.intercept_ + x @ self.coef_
        value = np.maximum(self.smearing_ * np.exp(log_spend) - 1.0, 0.0)
        return pl.DataFrame({C.USER: users, "clv": value})


class LearnedChurn(_Learned):
    """P(no order in the next ``horizon_days``), learned on earlier origins.

    A logistic regression on the stacked features of the training origins but the
    latest, recalibrated (intercept and slope of its logit) on the latest one. With a
    single training origin it is fitted there, without recalibration.

    Parameters
    ----------
    origins, step_days, min_history_days
        As in `LearnedCLV`.
    l2
        Penalty of the logistic regression (`ChurnCalibrator`).

    Attributes
    ----------
    coef_, intercept_
        The stacked logistic regression on the raw features (`feature_names`).
    platt_
        ``[intercept, slope]`` applied to its logit.
    as_of_, horizon_days_, n_origins_, n_rows_
        The fit's date, horizon, training origins and rows.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> model = rs.profiles.LearnedChurn().fit(purchases, as_of="2011-09-09", horizon_days=90)
    >>> risk = model.predict(purchases)["churn_risk"]
    >>> bool(((risk > 0) & (risk < 1)).all())
    True
    """

    _with_spend = False
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **_COMMON,
        "l2": [Interval(float, 0, None)],
    }
    schema: ClassVar[tuple[Spec, ...]] = (
        Array("coef", "float64", ("features",), finite=True),
        Value("intercept", (Interval(float, None, None),)),
        Array("platt", "float64", (2,), finite=True),
        Value("as_of", (InstanceOf(str),)),
        Value("horizon_days", (Interval(int, 1, None),)),
        Value("n_origins", (Interval(int, 1, None),)),
        Value("n_rows", (Interval(int, 1, None),)),
    )

    def __init__(
        self,
        origins: int = 4,
        step_days: int = 30,
        min_history_days: int = 60,
        l2: float = 1e-3,
    ) -> None:
        super().__init__(origins, step_days, min_history_days)
        self.l2 = l2

    def fit(self, purchases: Any, as_of: Any, horizon_days: int = 90) -> LearnedChurn:
        """Learn from the purchases before ``as_of`` (the rest is never read).

        Raises
        ------
        InputDataError
            Bad parameters, or no training origin with ``min_history_days`` of history
            and a whole ``horizon_days`` window before ``as_of``.
        """
        frame, as_of = self._begin(purchases, as_of, horizon_days)
        frame = frame.filter(pl.col(C.TIMESTAMP) < as_of)
        starts = _training_origins(
            frame, as_of, int(horizon_days), self.origins, self.step_days, self.min_history_days
        )
        if not starts:
            raise InputDataError(
                f"LearnedChurn: as_of={as_of:%Y-%m-%d} leaves no training origin with "
                f"{self.min_history_days} days of history and a {horizon_days}-day window "
                "before as_of; use a later as_of or a shorter horizon_days"
            )
        xs, ys = [], []
        for s in starts:
            users, x = customer_features(frame, s, int(horizon_days), False)
            _, orders = window_labels(frame, users, s, int(horizon_days))
            xs.append(x)
            ys.append((orders == 0).astype(np.float64))
        stacked = slice(1, None) if len(starts) > 1 else slice(None)
        model = ChurnCalibrator(l2=float(self.l2)).fit(
            np.vstack(xs[stacked]), np.concatenate(ys[stacked])
        )
        self.coef_ = np.asarray(model.coef_, dtype=np.float64)
        self.intercept_ = float(model.intercept_ - model.mean_ @ model.coef_)
        if len(starts) > 1:
            logit = (self.intercept_ + xs[0] @ self.coef_)[:, None]
            platt = ChurnCalibrator(l2=0.0).fit(logit, ys[0])
            self.platt_ = np.array(
                [platt.intercept_ - platt.coef_[0] * float(platt.mean_[0]), platt.coef_[0]]
            )
        else:
            self.platt_ = np.array([0.0, 1.0])
        self.as_of_ = as_of.isoformat()
        self.horizon_days_ = int(horizon_days)
        self.n_origins_ = len(starts)
        self.n_rows_ = int(sum(y.size for y in ys))
        return self

    def predict(self, purchases: Any, as_of: Any = None) -> pl.DataFrame:
        """``user_id, churn_risk`` for every customer with an order before ``as_of``
        (default: the fit's)."""
        users, x = self._features_at(purchases, as_of)
        logit = self.intercept_ + x @ self.coef_
        risk = special.expit(self.platt_[0] + self.platt_[1] * logit)
        return pl.DataFrame({C.USER: users, "churn_risk": risk})


def ridge(
    x: NDArray[np.float64], y: NDArray[np.float64], l2: float
) -> tuple[float, NDArray[np.float64]]:
    """Intercept and weights (on the raw columns) of ridge regression on standardised
    columns, the intercept unpenalised (normal equations).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> b0, b = ridge(x, 1.0 + 2.0 * x[:, 0], 0.0)
    >>> round(b0, 6), np.round(b, 6).tolist()
    (1.0, [2.0])
    """
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.column_stack([np.ones(len(x)), (x - mean) / scale])
    penalty = np.full(z.shape[1], l2)
    penalty[0] = 0.0
    w = np.linalg.solve(z.T @ z + np.diag(penalty), z.T @ y)
    coef = w[1:] / scale
    return float(w[0] - mean @ coef), coef
