"""The churn columns of `recsys.build_profiles` (``p_alive``, ``churn_risk``, expected
purchases): BG/NBD, or the stated `OwnRhythmRule` where the data do not identify it,
the one-time-buyer survival curve, and the calibrated churn model."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from recsys.exceptions import DataWarning, InputDataError
from recsys.profiles.bgnbd import BGNBD, bgnbd_inputs
from recsys.profiles.churn import (
    ChurnCalibrator,
    OneTimeBuyerSurvival,
    OwnRhythmRule,
    churn_features,
)
from recsys.profiles.config import ProfileConfig

__all__ = [
    "ChurnModels",
    "TransactionFit",
    "Transactions",
    "announce",
    "churn_columns",
    "fit_churn",
    "fit_transactions",
]


@dataclass(frozen=True)
class ChurnModels:
    """The churn columns' models, fitted on every customer.

    ``bgnbd``: the fitted `BGNBD`, the `OwnRhythmRule` where BG/NBD cannot be used
    (``status`` and ``reason`` say why, as `TransactionFit` does), or None when no
    customer has a repeat purchase (the survival curve alone).
    """

    survival: OneTimeBuyerSurvival | None
    bgnbd: Transactions | None
    calibrator: ChurnCalibrator | None
    status: str = "bgnbd"
    reason: str = ""


Transactions = BGNBD | OwnRhythmRule


@dataclass(frozen=True)
class TransactionFit:
    """The model of the purchase counts that the churn and CLV columns share.

    Attributes
    ----------
    model
        The fitted `BGNBD`, the `OwnRhythmRule` where BG/NBD is not identified by
        the data (or gives non-finite predictions), or None when no customer has a
        repeat purchase.
    status
        ``"bgnbd"`` (BG/NBD fit as is), ``"bgnbd_penalized"`` (BG/NBD refitted with a
        light penalty), ``"bgnbd_not_converged"``, ``"own_rhythm_rule"`` (the
        fallback) or ``"no_repeat_buyers"``.
    reason
        Why the status is not ``"bgnbd"`` (empty when it is).
    """

    model: Transactions | None
    status: str
    reason: str


def fit_transactions(act: pl.DataFrame, horizons: Sequence[float]) -> TransactionFit:
    """BG/NBD on ``act``'s customers, or the stated rule where it cannot be used.

    Warnings of the fit are collected, not raised: the caller states the outcome once.
    """
    x, t_x, T = bgnbd_inputs(act)
    if np.all(x == 0):
        return TransactionFit(None, "no_repeat_buyers", "no customer has a repeat purchase")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            bg = BGNBD().fit(x, t_x, T)
        except InputDataError as err:
            return TransactionFit(
                OwnRhythmRule(), "own_rhythm_rule", f"BG/NBD cannot be fitted: {err}"
            )
    if bg.status_ == "unidentified":
        return TransactionFit(OwnRhythmRule(), "own_rhythm_rule", bg.diagnosis_)
    with np.errstate(all="ignore"):
        for horizon in horizons:
            values = (
                bg.conditional_expected_purchases(horizon, x, t_x, T),
                bg.probability_no_purchase(horizon, x, t_x, T),
            )
            bad = int(sum(np.sum(~np.isfinite(v)) for v in values))
            if bad:
                reason = (
                    f"BG/NBD (r={bg.params_['r']:.4g}, alpha={bg.params_['alpha']:.4g}, "
                    f"a={bg.params_['a']:.4g}, b={bg.params_['b']:.4g}) gives non-finite "
                    f"predictions over {horizon:g} days for {bad} customers"
                )
                return TransactionFit(OwnRhythmRule(), "own_rhythm_rule", reason)
    status = {"converged": "bgnbd", "penalized": "bgnbd_penalized"}.get(
        bg.status_, "bgnbd_not_converged"
    )
    return TransactionFit(bg, status, bg.diagnosis_)


def announce(fit: TransactionFit, uses: str) -> None:
    """The one warning about the transaction model of ``build_profiles``."""
    if fit.status == "own_rhythm_rule":
        warnings.warn(
            f"{fit.reason}. This is a limit of the model on these data, not bad input: "
            f"{uses} of repeat buyers come from the stated fallback rule instead (recency "
            "against the customer's own mean gap between orders, rs.profiles.OwnRhythmRule)",
            DataWarning,
            stacklevel=4,
        )
    elif fit.status == "no_repeat_buyers" and "churn" in uses:
        warnings.warn(
            "no customer has a repeat purchase before as_of: BG/NBD is not fitted and churn "
            "columns come from the one-time-buyer survival curve alone",
            DataWarning,
            stacklevel=4,
        )
    elif fit.reason:
        warnings.warn(fit.reason, DataWarning, stacklevel=4)


def _survival(act: pl.DataFrame) -> OneTimeBuyerSurvival:
    """The one-time-buyer survival curve fitted on ``act``'s customers."""
    _, _, T = bgnbd_inputs(act)
    to_second = act["_to_second"]
    returned = to_second.is_not_null().to_numpy()
    durations = np.where(returned, to_second.fill_null(0.0).to_numpy(), T)
    return OneTimeBuyerSurvival().fit(durations, returned)


def _predict(
    act: pl.DataFrame, km: OneTimeBuyerSurvival, bg: Transactions | None, horizon: int
) -> dict[str, np.ndarray]:
    """BG/NBD or its fallback rule (repeat buyers) + one-time-buyer survival predictions
    for ``act``'s customers (customer by customer: any subset of the fitted population)."""
    x, t_x, T = bgnbd_inputs(act)
    recency = act["recency_days"].to_numpy()
    one = x == 0
    pn_km = km.probability_no_return(T, horizon)
    if bg is None:
        return {
            "no_purchase": pn_km,
            "p_alive": km.p_alive(T),
            "expected": 1.0 - pn_km,
            "x": x,
            "T": T,
            "recency": recency,
        }
    pn_bg = bg.probability_no_purchase(horizon, x, t_x, T)
    expected_bg = bg.conditional_expected_purchases(horizon, x, t_x, T)
    p_alive = np.where(one, km.p_alive(T), bg.p_alive(x, t_x, T))
    no_purchase = np.where(one, pn_km, pn_bg)
    scale = np.divide(1.0 - pn_km, 1.0 - pn_bg, out=np.zeros_like(pn_bg), where=pn_bg < 1.0)
    expected = np.where(one, expected_bg * scale, expected_bg)
    return {
        "no_purchase": no_purchase,
        "p_alive": p_alive,
        "expected": expected,
        "x": x,
        "T": T,
        "recency": recency,
    }


def _features(act: pl.DataFrame, pred: dict[str, np.ndarray], has_price: bool) -> np.ndarray:
    return churn_features(
        repeat_purchases=pred["x"],
        recency_days=pred["recency"],
        tenure_days=pred["T"],
        model_no_purchase=pred["no_purchase"],
        expected_purchases=pred["expected"],
        decayed_60=act["_decayed_60"].to_numpy(),
        decayed_180=act["_decayed_180"].to_numpy(),
        orders_last_90=act["_orders_90"].to_numpy(),
        orders_last_30=act["_orders_30"].to_numpy(),
        orders_last_180=act["_orders_180"].to_numpy(),
        orders_90_to_180=act["_orders_90_180"].to_numpy(),
        active_months=act["_active_months"].to_numpy(),
        median_gap=act["median_interpurchase_days"].fill_null(0.0).to_numpy(),
        monetary=act["monetary"].to_numpy() if has_price else None,
    )


def fit_churn(
    customers: pl.DataFrame,
    cutoff: pl.DataFrame | None,
    has_price: bool,
    as_of: datetime,
    config: ProfileConfig,
    transactions: TransactionFit,
) -> ChurnModels:
    """The churn models on every customer (``customers`` and ``cutoff`` of
    `recsys.profiles.steps.GlobalInputs`), sharing ``transactions`` with the CLV."""
    # One BLAS thread: the model's matrices are small, and idle BLAS threads spinning
    # for work slowed the fits ~5x on a busy machine (also keeps sums thread-independent).
    with threadpool_limits(limits=1, user_api="blas"):
        km = _survival(customers)
        calibrator = None
        if config.calibrate_churn:
            assert cutoff is not None
            tenure = customers["tenure_days"].max() if customers.height else None
            first = as_of - timedelta(days=float(tenure)) if tenure is not None else None  # type: ignore[arg-type]
            calibrator = _fit_calibrator(
                cutoff, as_of, config, has_price, transactions.model, first
            )
        return ChurnModels(
            km, transactions.model, calibrator, transactions.status, transactions.reason
        )


def _fit_calibrator(
    act_c: pl.DataFrame,
    as_of: datetime,
    config: ProfileConfig,
    has_price: bool,
    model: Transactions | None,
    first: datetime | None = None,
) -> ChurnCalibrator | None:
    """The churn calibrator fitted at ``as_of - horizon``, or None (DataWarning).

    At the internal cutoff the transactions are modelled as at ``as_of``: BG/NBD
    refitted on the earlier data, or the same rule when ``as_of`` uses the rule."""
    horizon = config.horizon_days
    cutoff = as_of - timedelta(days=horizon)
    n_users = act_c.height
    reason = None
    if n_users < config.min_calibration_customers:
        reason = (
            f"{f'only {n_users:,} customers' if n_users else 'no customer'} bought before "
            f"it, at least {config.min_calibration_customers:,} are needed"
            + (f" (the purchases begin on {first:%Y-%m-%d})" if first and first >= cutoff else "")
        )
    else:
        pred_c = None
        if isinstance(model, OwnRhythmRule):
            pred_c = _predict(act_c, _survival(act_c), model, horizon)
        else:
            fit_c = fit_transactions(act_c, [horizon])
            if fit_c.status != "own_rhythm_rule":
                pred_c = _predict(act_c, _survival(act_c), fit_c.model, horizon)
        y = act_c["_churned"].to_numpy().astype(np.float64)
        churned = int(y.sum())
        if pred_c is None:
            reason = "the BG/NBD model cannot be used on the purchases before it"
        elif min(churned, y.size - churned) < config.min_calibration_class:
            few, outcome = min((churned, "bought nothing"), (y.size - churned, "bought again"))
            reason = (
                f"of the {n_users:,} customers who bought before it, {few:,} {outcome} in "
                f"the days after, at least {config.min_calibration_class:,} of each outcome "
                "are needed"
            )
    if reason is not None:
        warnings.warn(
            f"churn_risk is not calibrated: it is calibrated on the customers who bought "
            f"before {cutoff:%Y-%m-%d} ({horizon:,} days before as_of) and whether they bought "
            f"in the {horizon:,} days after, and {reason}. churn_risk is the model probability "
            "of no purchase (BG/NBD or its fallback rule, one-time-buyer survival curve); "
            f"more purchase history before {cutoff:%Y-%m-%d}, or a shorter horizon_days, lets "
            "it be calibrated",
            DataWarning,
            stacklevel=5,
        )
        return None
    assert pred_c is not None
    return ChurnCalibrator().fit(_features(act_c, pred_c, has_price), y)


def churn_columns(
    act: pl.DataFrame, models: ChurnModels, config: ProfileConfig, has_price: bool
) -> dict[str, pl.Series]:
    horizon = config.horizon_days
    expected_name = f"expected_purchases_{horizon}d"
    if models.survival is None or act.height == 0:
        n = act.height
        return {
            "p_alive": pl.Series("p_alive", [None] * n, dtype=pl.Float64),
            "churn_risk": pl.Series("churn_risk", [None] * n, dtype=pl.Float64),
            expected_name: pl.Series(expected_name, [None] * n, dtype=pl.Float64),
        }
    with threadpool_limits(limits=1, user_api="blas"):
        pred = _predict(act, models.survival, models.bgnbd, horizon)
        risk = pred["no_purchase"]
        if models.calibrator is not None:
            risk = models.calibrator.predict_proba(_features(act, pred, has_price))
    return {
        "p_alive": pl.Series("p_alive", pred["p_alive"]),
        "churn_risk": pl.Series("churn_risk", risk),
        expected_name: pl.Series(expected_name, pred["expected"]),
    }
