"""`backtest_profiles`: the churn and CLV rows of `recsys.evaluation.backtest` at one
origin, for profiles already built as of it (no profile is rebuilt).

The main job (`recsys.job.run`) builds profiles at its evaluation cutoff anyway; this
scores them against the naive rules (churn risk vs days since the last order and vs
the number of orders; CLV vs past spend; without prices, BG/NBD's expected orders vs
past orders) with the same statistics and the same customer-clustered paired bootstrap
as `backtest`, so a claim can say whether the prediction beats the rule a shop already
uses.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal

import numpy as np
import polars as pl

from recsys._text import counted
from recsys._validation import check_positive_int, check_probability
from recsys._warnings import concerning
from recsys.data import columns as C
from recsys.data.canonical import require_purchases
from recsys.data.sources import FrameLike, to_frame
from recsys.data.timeutil import TimeLike, to_datetime
from recsys.evaluation._backtest_units import as_array, holdout_table, profile_units
from recsys.evaluation.backtest import (
    _BUILDERS,
    Backtest,
    _model_columns,
    _paired,
    _scored,
    _Spec,
    check_window,
)
from recsys.evaluation.calibration import churn_deciles
from recsys.exceptions import DataWarning, InputDataError
from recsys.stats import weighted as S

__all__ = ["PROFILE_PREDICTIONS", "backtest_profiles", "extra_models", "finite_rows"]

#: The predictions `backtest_profiles` scores, and the profile columns each needs
#: (``<h>``: the ``horizon_days`` scored; `prediction_columns`).
PROFILE_PREDICTIONS = {
    "churn": ("recency_days", "frequency", "churn_risk"),
    "clv": ("monetary", "clv"),
    "orders": ("frequency", "expected_purchases_<h>d"),
}

#: The output each prediction's warnings concern (`recsys._warnings.concerning`).
_CONCERNS = {"churn": "churn_risk", "clv": "clv", "orders": "expected_purchases"}


def prediction_columns(prediction: str, horizon_days: int = 90) -> tuple[str, ...]:
    """The profile columns ``prediction`` needs (`PROFILE_PREDICTIONS`) at ``horizon_days``.

    Examples
    --------
    >>> prediction_columns("orders", 30)
    ('frequency', 'expected_purchases_30d')
    """
    return tuple(c.replace("<h>", str(horizon_days)) for c in PROFILE_PREDICTIONS[prediction])


def extra_models(prediction: str, columns: Sequence[str]) -> tuple[str, ...]:
    """The extra model columns of ``prediction`` among ``columns``: ``churn_risk__<Model>``
    for ``churn``, ``clv__<Model>`` for ``clv`` (none for ``orders``), scored next to the
    profile's own column in rows of their own (``model`` = ``<Model>``).

    Examples
    --------
    >>> extra_models("churn", ["churn_risk", "churn_risk__LearnedChurn", "clv__LearnedCLV"])
    ('churn_risk__LearnedChurn',)
    """
    if prediction == "orders":
        return ()
    scored = PROFILE_PREDICTIONS[prediction][-1]
    return tuple(c for c in columns if c.startswith(f"{scored}__"))


def finite_rows(prediction: str, horizon_days: int = 90, extra: Sequence[str] = ()) -> pl.Expr:
    """True where every profile column ``prediction`` needs (`prediction_columns`), and
    every ``extra`` model column of it (`extra_models`), is finite (not null, NaN or
    infinite).

    Examples
    --------
    >>> p = pl.DataFrame({"monetary": [1.0, 2.0], "clv": [3.0, float("nan")]})
    >>> p.select(finite_rows("clv"))["clv"].to_list()
    [True, False]
    """
    return pl.all_horizontal(
        pl.col(c).cast(pl.Float64).is_finite().fill_null(False)
        for c in (*prediction_columns(prediction, horizon_days), *extra)
    ).alias(prediction)


def backtest_profiles(
    profiles: FrameLike,
    purchases: FrameLike,
    origin: TimeLike,
    predictions: Sequence[str] = ("churn", "clv"),
    horizon_days: int = 90,
    *,
    bootstrap: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    observed_until: TimeLike | None = None,
    on_nonfinite: Literal["raise", "skip"] = "raise",
    rule_ties: Literal["tied", "deployed"] = "tied",
) -> Backtest:
    """Score profiles built as of ``origin`` against the naive rules, with intervals.

    The rows are those of `recsys.evaluation.backtest` at a single origin, on the
    customers of ``profiles`` (every one of them is one cluster of the paired bootstrap):
    ``churn``: AUC of ``churn_risk`` vs ``recency`` and ``frequency``, Brier score vs
    the ``base_rate``; ``clv``: Spearman correlation, top-decile capture and spend
    captured of ``clv`` vs ``past_spend`` (``monetary``); ``orders`` (no prices needed):
    Spearman correlation, top-decile capture and orders captured (the ``spend_captured``
    statistic on orders) of the BG/NBD ``expected_purchases_<horizon_days>d`` vs
    ``past_orders`` (``frequency``) with the window's orders; all against the window
    ``[origin, origin + horizon_days)`` of ``purchases``.

    Parameters
    ----------
    profiles
        `recsys.build_profiles` as of ``origin`` (built on purchases strictly before
        it: the caller's guarantee): ``user_id``, ``recency_days``, ``frequency``, and
        ``churn_risk`` for ``churn``, ``monetary`` and ``clv`` for ``clv``,
        ``expected_purchases_<horizon_days>d`` for ``orders``.
    purchases
        Canonical purchases covering the window after ``origin`` (``user_id``,
        ``timestamp``; ``clv`` needs ``quantity`` and ``price``).
    origin
        The profiles' ``as_of``: the start of the label window.
    predictions
        ``"churn"``, ``"clv"``, ``"orders"`` or several (default: churn and CLV). Extra
        models' columns in ``profiles``, ``churn_risk__<Model>`` and ``clv__<Model>``
        (e.g. `recsys.profiles.LearnedChurn`'s predictions as of ``origin``, fitted on
        the purchases before it), are scored in rows of their own (``model`` =
        ``<Model>``; the profile's own rows have ``model`` = ``churn_risk`` / ``clv``),
        as `recsys.evaluation.backtest` scores its ``churn_model`` / ``clv_model``, on
        the same customers (those with every model's column finite).
    horizon_days, bootstrap, seed, confidence
        As in `recsys.evaluation.backtest`.
    observed_until
        The end of what is known (e.g. the job's ``as_of``); default the day after the
        last purchase. The label window must end by then.
    on_nonfinite
        A customer whose scored or naive-rule column of a prediction is not finite:
        ``"raise"`` an `InputDataError`; ``"skip"``: score each prediction on the
        customers whose own columns are finite (a customer without a finite ``clv``
        still counts in the churn rows), the others counted in a `DataWarning` per
        prediction.
    rule_ties
        The naive churn rules' tied customers: ``"tied"`` (half credit in the AUC, as
        `recsys.evaluation.backtest` scores the rules) or ``"deployed"``: in the order
        of a list ranked by the rule (`recsys.job.decisions.churn_rank`): the same
        number of orders by days since the last order (longest first), the ties left
        (and those of the ``recency`` rule) by ``user_id``.

    Returns
    -------
    Backtest
        ``table`` (origin = the ISO date and ``"all"``, equal at one origin),
        ``calibration`` (with ``churn``: one table per churn model), ``holdout`` (when
        ``profiles`` have
        ``expected_purchases_<horizon_days>d``), ``units`` and ``verdict``.

    Raises
    ------
    InputDataError
        An unknown prediction, a profile column missing, a customer in several rows, a
        scored or naive-rule column that is not finite (with ``on_nonfinite="skip"``:
        for every customer of a prediction), ``clv`` without quantities and
        prices, an ``origin`` without purchases before it or whose label window runs
        past ``observed_until``, bad parameters.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> before = purchases.filter(purchases["timestamp"] < rs.data.timeutil.to_datetime(
    ...     "2011-09-09", "as_of"))
    >>> config = rs.profiles.ProfileConfig(clv_horizon_days=90, clv_discount_monthly=0.0)
    >>> profiles = rs.build_profiles(before, as_of="2011-09-09", config=config)
    >>> result = rs.evaluation.backtest_profiles(profiles, purchases, "2011-09-09",
    ...     bootstrap=200)
    >>> result.table.filter(origin="all", metric="auc")["naive"].to_list()
    ['recency', 'frequency']
    >>> result.verdict("clv").split(" ")[0] in ("beats", "no")
    True
    """
    frame = to_frame(profiles)
    if not isinstance(predictions, (str, Sequence)):
        raise InputDataError(
            f"predictions must name one or more of {tuple(PROFILE_PREDICTIONS)}, got "
            f"{type(predictions).__name__}"
        )
    wanted = list(dict.fromkeys([predictions] if isinstance(predictions, str) else predictions))
    if not wanted:
        raise InputDataError(f"predictions must name at least one of {tuple(PROFILE_PREDICTIONS)}")
    for name in wanted:
        if name not in PROFILE_PREDICTIONS:
            raise InputDataError(
                f"predictions: {name!r} is not one of {tuple(PROFILE_PREDICTIONS)} (the "
                "other predictions need their own fits: use rs.evaluation.backtest)"
            )
    horizon_days = check_positive_int("horizon_days", horizon_days)
    extras = {name: extra_models(name, frame.columns) for name in wanted}
    needed = [
        C.USER,
        *(c for name in wanted for c in (*prediction_columns(name, horizon_days), *extras[name])),
    ]
    missing = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if missing:
        raise InputDataError(
            f"profiles lack column(s) {missing} needed for {wanted}; got {frame.columns}"
        )
    repeated = frame.height - frame[C.USER].n_unique()
    if repeated:
        raise InputDataError(
            f"profiles: {counted(repeated, 'row repeats', 'rows repeat')} a customer already "
            "in profiles; one row per customer (each is one cluster of the bootstrap)"
        )
    if on_nonfinite not in ("raise", "skip"):
        raise InputDataError(f"on_nonfinite must be 'raise' or 'skip', got {on_nonfinite!r}")
    if rule_ties not in ("tied", "deployed"):
        raise InputDataError(f"rule_ties must be 'tied' or 'deployed', got {rule_ties!r}")
    for column in dict.fromkeys(needed[1:]):
        bad = int((~frame[column].cast(pl.Float64).is_finite().fill_null(False)).sum())
        if bad and on_nonfinite == "raise":
            raise InputDataError(
                f"profiles: {column} is not finite for {bad:,} customers; score the "
                "customers with a finite value (or fix the fit), or pass on_nonfinite='skip'"
            )
    finite = frame.select(finite_rows(name, horizon_days, extras[name]) for name in wanted)
    for name in wanted:
        left = frame.height - int(finite[name].sum())
        columns = _names((*prediction_columns(name, horizon_days), *extras[name]))
        if left == frame.height:
            raise InputDataError(
                f"profiles: no customer has a finite {columns}: there is no {name} to score"
            )
        if left:
            with concerning(_CONCERNS[name]):
                warnings.warn(
                    f"{left:,} of {frame.height:,} customers have no finite "
                    f"{columns}: they are left out of "
                    f"the {name} comparison with the naive rules",
                    DataWarning,
                    stacklevel=2,
                )
    spend = (C.QUANTITY, C.PRICE) if "clv" in wanted else ()
    history = require_purchases(
        to_frame(purchases), needs=(C.USER, C.TIMESTAMP, *spend), where="backtest_profiles"
    )
    bootstrap = check_positive_int("bootstrap", bootstrap, allow_zero=True)
    confidence = check_probability("confidence", confidence)
    when = to_datetime(origin, "origin")
    until = None if observed_until is None else to_datetime(observed_until, "observed_until")
    check_window(history, when, horizon_days, "origin", until)
    t = pl.col(C.TIMESTAMP)
    window = history.filter((t >= when) & (t < when + timedelta(days=horizon_days)))
    units, _ = profile_units(
        frame,
        window,
        when,
        horizon_days,
        with_clv="clv" in wanted,
        with_churn="churn" in wanted,
        extra=[c for name in wanted for c in extras[name]],
    )
    stamp = pl.lit(when.date().isoformat()).alias("origin")
    merged = {name: units.filter(finite[name]).select(stamp, pl.all()) for name in wanted}
    # the expected orders are the churn model's: on its customers
    holdout = holdout_table(merged["churn" if "churn" in merged else wanted[0]].drop("origin"))
    builders = {**_BUILDERS, "orders": _orders_specs}
    if rule_ties == "deployed":
        builders["churn"] = _as_deployed
    table = _scored(merged, [when], wanted, builders, bootstrap, seed, confidence)
    calibration = pl.DataFrame()
    if "churn" in wanted:
        calibration = pl.concat(
            churn_deciles(
                merged["churn"].select(pl.col(column).alias("churn_risk"), "retained")
            ).select(stamp, pl.lit(model).alias("model"), pl.all())
            for column, model in _model_columns(merged["churn"], "churn_risk")
        )
    return Backtest(
        table=table,
        calibration=calibration,
        holdout=holdout.select(stamp, pl.all()) if holdout.height else holdout,
        units=merged,
        confidence=confidence,
    )


def _names(columns: Sequence[str]) -> str:
    """``a, b or c``."""
    return " or ".join([", ".join(columns[:-1]), columns[-1]] if len(columns) > 1 else columns)


def _orders_specs(units: pl.DataFrame, rows: np.ndarray, o: int) -> list[_Spec]:
    """BG/NBD's expected orders vs past orders, ranking the window's orders."""
    past, expected = as_array(units, "frequency"), as_array(units, "expected_orders")
    after = np.nan_to_num(as_array(units, "n_orders_after"))
    return [
        _Spec("orders", metric, "expected_orders", "past_orders", o, rows,
              _paired(fn, (expected, after), (past, after)))
        for metric, fn in (
            ("spearman", S.spearman),
            ("top_decile_capture", S.top_decile_capture),
            ("spend_captured", S.spend_captured),
        )
    ]  # fmt: skip


def _as_deployed(units: pl.DataFrame, rows: np.ndarray, o: int) -> list[_Spec]:
    """The churn rows with each rule in the order of its list: the ``frequency`` rule's
    ties by days since the last order, then (both rules) by ``user_id``. The rule scores
    ``-frequency``, so the fewest orders, then the longest since the last order, get the
    lowest ``frequency``; ``recency_days`` becomes minus the list's rank."""
    user = pl.col(C.USER)
    order = pl.struct(pl.col("frequency"), pl.col("recency_days").neg(), user).rank("ordinal")
    longest = pl.struct(pl.col("recency_days").neg(), user).rank("ordinal").cast(pl.Float64)
    ranked = units.with_columns(frequency=order, recency_days=longest.neg())
    return _BUILDERS["churn"](ranked, rows, o)
