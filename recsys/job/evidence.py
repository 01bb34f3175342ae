"""The evidence the job's claims rest on: churn discrimination and calibration, churn
risk and CLV against the naive rules a shop already uses (the backtest at the
evaluation cutoff), the credibility of the customer-model fits, and the warnings each
step raised."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import rankdata

from recsys._warnings import concerning, concerns_of
from recsys.data.timeutil import to_datetime
from recsys.evaluation import Backtest, backtest_profiles
from recsys.evaluation.backtest import LOWER_IS_BETTER, OVERALL, describe_difference
from recsys.evaluation.backtest_profiles import extra_models, finite_rows, prediction_columns
from recsys.exceptions import DataWarning
from recsys.stats.intervals import z_value

__all__ = [
    "CALIBRATION_TOLERANCE",
    "ChurnEvidence",
    "FitEvidence",
    "RuleComparison",
    "StepWarnings",
    "auc_interval",
    "churn_evidence",
    "fit_evidence",
    "record_warnings",
    "rule_comparisons",
    "rule_evidence",
]

#: Churn risk is calibrated when every decile's predicted and observed churn are within this.
CALIBRATION_TOLERANCE = 0.05


def auc_interval(
    scores: Any, positive: Any, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Area under the ROC curve of ``scores`` for ``positive`` labels, with the
    Hanley-McNeil (1982) interval (clipped to [0, 1]).

    Ties count one half (the Mann-Whitney statistic). NaN when a class is empty.

    Examples
    --------
    >>> auc_interval([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])[0]
    0.75
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return math.nan, math.nan, math.nan
    ranks = rankdata(s)
    auc = float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc * auc) + (n0 - 1) * (q2 - auc * auc)) / (n1 * n0)
    half = z_value(confidence) * math.sqrt(max(var, 0.0))
    return auc, max(0.0, auc - half), min(1.0, auc + half)


@dataclass(frozen=True)
class ChurnEvidence:
    """How churn risk, computed at the evaluation cutoff, did against what happened next.

    ``customers`` had bought before the cutoff; ``churned`` of them bought nothing in
    the ``horizon_days`` after it. ``auc`` (with its interval) measures whether
    the risk separates churners from returners (0.5: no better than chance);
    ``max_gap`` is the largest |predicted - observed| over the deciles of
    ``calibration``.
    """

    customers: int
    churned: int
    auc: float
    auc_low: float
    auc_high: float
    max_gap: float
    calibration: pl.DataFrame
    horizon_days: int

    @property
    def calibrated(self) -> bool:
        return self.calibration.height > 0 and self.max_gap <= CALIBRATION_TOLERANCE

    @property
    def discriminates(self) -> bool:
        return math.isfinite(self.auc_low) and self.auc_low > 0.5


# the profile's own model of each backtest prediction (its ``model`` in the table)
_OWN = {"churn": "churn_risk", "clv": "clv", "orders": "expected_orders"}
# the output each backtest prediction checks (`recsys._warnings.concerning`)
_CONCERNS = {"churn": "churn_risk", "clv": "clv", "orders": "expected_purchases"}


def churn_evidence(
    backtest: Backtest | None, horizon_days: int, model: str = "churn_risk"
) -> ChurnEvidence:
    """`ChurnEvidence` of ``model``'s churn rows of ``backtest`` (`rule_evidence` at the
    cutoff, over the ``horizon_days`` after it; ``model``: ``churn_risk``, the profile's,
    or an extra model's name, e.g. ``LearnedChurn`` for the ``churn_risk__LearnedChurn``
    column): the same customers, labels and calibration table as its comparison with the
    naive rules (the labels are computed once). Without churn rows, no customer is
    checked (NaN).

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 2, 3, 1], "item_id": ["a"] * 4,
    ...     "timestamp": [datetime(2020, 1, 1), datetime(2020, 1, 2), datetime(2020, 1, 3),
    ...                   datetime(2020, 2, 1)]})
    >>> prof = pl.DataFrame({"user_id": [1, 2, 3], "recency_days": [14.0, 13.0, 12.0],
    ...     "frequency": [1, 1, 1], "churn_risk": [0.1, 0.9, 0.8]})
    >>> b = rule_evidence(prof, p, datetime(2020, 1, 15), 30, churn=True, clv=False,
    ...     bootstrap=0, seed=0, observed_until=datetime(2020, 2, 14))
    >>> e = churn_evidence(b, 30)
    >>> e.customers, e.churned, e.auc
    (3, 2, 1.0)
    >>> churn_evidence(None, 30).customers
    0
    """
    empty = pl.DataFrame(
        schema={
            "decile": pl.Int32,
            "customers": pl.UInt32,
            "predicted_churn": pl.Float64,
            "observed_churn": pl.Float64,
        }
    )
    if backtest is None or "churn" not in backtest.units:
        nan = math.nan
        return ChurnEvidence(0, 0, nan, nan, nan, nan, empty, horizon_days)
    units = backtest.units["churn"]
    churned = ~units["retained"].to_numpy().astype(bool)
    column = "churn_risk" if model == "churn_risk" else f"churn_risk__{model}"
    auc, low, high = auc_interval(units[column].to_numpy(), churned)
    calibration = backtest.calibration.filter(pl.col("model") == model).drop("origin", "model")
    gap = (
        float((calibration["predicted_churn"] - calibration["observed_churn"]).abs().max())  # type: ignore[arg-type]
        if calibration.height
        else math.nan
    )
    return ChurnEvidence(
        customers=units.height,
        churned=int(churned.sum()),
        auc=auc,
        auc_low=low,
        auc_high=high,
        max_gap=gap,
        calibration=calibration,
        horizon_days=horizon_days,
    )


@dataclass(frozen=True)
class RuleComparison:
    """A prediction against one naive rule on the customers at the evaluation cutoff:
    one pooled row of `recsys.evaluation.backtest_profiles`.

    ``value`` is the prediction's ``metric`` and ``rule_value`` the rule's, on the same
    ``customers``, over the ``horizon_days`` after the cutoff; ``ci_low, ci_high`` is
    the paired bootstrap interval of ``diff = value - rule_value`` (NaN without
    resamples) at ``confidence``.
    """

    prediction: str
    metric: str
    rule: str
    value: float
    rule_value: float
    diff: float
    ci_low: float
    ci_high: float
    customers: int
    horizon_days: int
    confidence: float = 0.95

    @property
    def beats(self) -> bool:
        """The whole interval of the difference lies on the better side of 0."""
        if self.metric in LOWER_IS_BETTER:
            return bool(self.ci_high < 0)
        return bool(self.ci_low > 0)

    @property
    def loses(self) -> bool:
        """The whole interval of the difference lies on the worse side of 0 (False
        without an interval: a loss is not shown).

        Examples
        --------
        >>> row = RuleComparison("clv", "top_decile_capture", "past_spend", 0.50, 0.56,
        ...                      -0.06, -0.09, -0.02, 3000, 90)
        >>> row.beats, row.loses
        (False, True)
        """
        if self.metric in LOWER_IS_BETTER:
            return bool(self.ci_low > 0)
        return bool(self.ci_high < 0)

    @property
    def worded(self) -> str:
        """The comparison as the cards state it (`recsys.evaluation.backtest.describe_difference`).

        Examples
        --------
        >>> RuleComparison("churn", "auc", "recency", 0.745, 0.736, 0.009, 0.003, 0.015,
        ...                3360, 90).worded
        'AUC 0.745 vs 0.736 (difference +0.009, 95% CI +0.003 to +0.015)'
        """
        return describe_difference(
            self.metric, self.value, self.rule_value, self.diff, self.ci_low, self.ci_high,
            self.confidence,
        )  # fmt: skip


def rule_evidence(
    profiles: pl.DataFrame,
    purchases: pl.DataFrame,
    cutoff: Any,
    horizon_days: int,
    *,
    churn: bool,
    clv: bool,
    bootstrap: int,
    seed: int,
    observed_until: Any = None,
    orders: bool = False,
) -> Backtest | None:
    """`backtest_profiles` of the profiles built at the cutoff (``churn``, ``clv`` and / or
    ``orders``: BG/NBD's expected orders vs past orders, the value without prices):
    each prediction on the customers whose own scored and naive-rule columns are finite
    (the others counted in a `DataWarning` per prediction: a customer without a finite
    CLV still counts for churn); a prediction without any such customer is left out (a
    `DataWarning`); None when there is nothing to score, or (with a `DataWarning`) when
    the window after the cutoff runs past ``observed_until``. The naive rules are
    scored in the order the decisions rank by them (`recsys.job.decisions.churn_rank`:
    the same number of orders by days since the last order, the ties left by
    ``user_id``), not with their ties counted half.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 2, 3, 1], "item_id": ["a"] * 4,
    ...     "timestamp": [datetime(2020, 1, 1), datetime(2020, 1, 2), datetime(2020, 1, 3),
    ...                   datetime(2020, 2, 1)]})
    >>> prof = pl.DataFrame({"user_id": [1, 2, 3], "recency_days": [14.0, 13.0, 12.0],
    ...     "frequency": [1, 1, 1], "churn_risk": [0.1, 0.9, 0.8]})
    >>> b = rule_evidence(prof, p, datetime(2020, 1, 15), 30, churn=True, clv=False,
    ...     bootstrap=0, seed=0, observed_until=datetime(2020, 2, 14))
    >>> [(c.rule, c.value, c.rule_value) for c in rule_comparisons(b, "churn", 30)][:2]
    [('recency', 1.0, 0.0), ('frequency', 1.0, 0.0)]

    (Everyone has one order: the frequency rule ranks by days since the last order.)
    """
    wanted = [name for name, on in (("churn", churn), ("clv", clv), ("orders", orders)) if on]
    wanted = [
        name for name in wanted if prediction_columns(name, horizon_days)[-1] in profiles.columns
    ]
    if not wanted or profiles.height == 0:
        return None
    if observed_until is not None:
        end = to_datetime(cutoff, "cutoff") + timedelta(days=horizon_days)
        until = to_datetime(observed_until, "observed_until")
        if end > until:
            with concerning(*(_CONCERNS[name] for name in wanted)):
                warnings.warn(
                    f"the {horizon_days} days after the cutoff run past {until:%Y-%m-%d}: "
                    "churn risk and CLV are not compared with the naive rules",
                    DataWarning,
                    stacklevel=2,
                )
            return None
    any_finite = profiles.select(
        finite_rows(name, horizon_days, extra_models(name, profiles.columns)).any()
        for name in wanted
    ).row(0)
    for name, some in zip(list(wanted), any_finite, strict=True):
        if not some:
            wanted.remove(name)
            names = ", ".join(
                (*prediction_columns(name, horizon_days), *extra_models(name, profiles.columns))
            )
            with concerning(_CONCERNS[name]):
                warnings.warn(
                    f"no customer at the evaluation cutoff has all of {names} finite: the "
                    f"{name} prediction is not compared with the naive rules",
                    DataWarning,
                    stacklevel=2,
                )
    if not wanted:
        return None
    return backtest_profiles(
        profiles,
        purchases,
        cutoff,
        wanted,
        horizon_days,
        bootstrap=bootstrap,
        seed=seed,
        observed_until=observed_until,
        on_nonfinite="skip",
        rule_ties="deployed",
    )


def rule_comparisons(
    backtest: Backtest | None, prediction: str, horizon_days: int, model: str | None = None
) -> tuple[RuleComparison, ...]:
    """The pooled rows of ``prediction`` (``"churn"``, ``"clv"`` or ``"orders"``) by
    ``model`` (default the profile's own: ``churn_risk``, ``clv``, ``expected_orders``;
    or an extra model's name, e.g. ``LearnedChurn``) in ``backtest`` (over the
    ``horizon_days`` after its origin), in its order (churn: AUC vs ``recency``, vs
    ``frequency``, Brier vs ``base_rate``; CLV: Spearman, top-decile capture, spend
    captured vs ``past_spend``; orders: the same vs ``past_orders``); empty without one.
    """
    if backtest is None:
        return ()
    model = model or _OWN[prediction]
    rows = backtest.table.filter(
        (pl.col("prediction") == prediction)
        & (pl.col("model") == model)
        & (pl.col("origin") == OVERALL)
    )
    return tuple(
        RuleComparison(
            prediction=prediction,
            metric=row["metric"],
            rule=row["naive"],
            value=row["value"],
            rule_value=row["naive_value"],
            diff=row["diff"],
            ci_low=row["ci_low"],
            ci_high=row["ci_high"],
            customers=int(row["n"]),
            horizon_days=horizon_days,
            confidence=backtest.confidence,
        )
        for row in rows.iter_rows(named=True)
    )


@dataclass
class StepWarnings:
    """The distinct warning messages one step raised, in the order first seen, with the
    outputs each concerns (``"churn_risk"``, ``"clv"``, ...: `recsys._warnings.concerning`
    marks them where they are raised, and the job around the calls it makes).

    Examples
    --------
    >>> step = StepWarnings()
    >>> step.add("Gamma-Gamma q <= 1", ("clv",))
    >>> step.add("Gamma-Gamma   q <= 1")
    >>> step.add("p_within_horizon is not calibrated", ("p_within_horizon",))
    >>> step.about("clv", "monetary")
    ('Gamma-Gamma q <= 1',)
    """

    messages: list[str] = field(default_factory=list)
    concerns: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def add(self, message: str, concerns: tuple[str, ...] = ()) -> None:
        text = " ".join(message.split())
        if text not in self.messages:
            self.messages.append(text)
        self.concerns[text] = tuple(dict.fromkeys(self.concerns.get(text, ()) + concerns))

    def messages_tuple(self) -> tuple[str, ...]:
        return tuple(self.messages)

    def about(self, *outputs: str) -> tuple[str, ...]:
        """The messages concerning any of ``outputs``."""
        return tuple(m for m in self.messages if set(self.concerns[m]) & set(outputs))

    def at_cutoff(self, cutoff: datetime, besides: StepWarnings | None = None) -> StepWarnings:
        """These warnings, raised by calls made as of ``cutoff``, saying so (their
        ``as_of`` is the cutoff), without those ``besides`` has word for word.

        Examples
        --------
        >>> from datetime import datetime
        >>> step, before = StepWarnings(), StepWarnings()
        >>> step.add("22 purchase rows before as_of have price 0", ("monetary",))
        >>> step.add("BG/NBD parameters are extreme", ("churn_risk",))
        >>> before.add("BG/NBD parameters are extreme", ("churn_risk",))
        >>> step.at_cutoff(datetime(2010, 9, 10), besides=before).messages
        ['at the cutoff 2010-09-10: 22 purchase rows before the cutoff have price 0']
        """
        named = StepWarnings()
        for m in self.messages:
            if besides is None or m not in besides.messages:
                named.add(in_cutoff_words(m, cutoff), self.concerns[m])
        return named


def in_cutoff_words(message: str, cutoff: datetime) -> str:
    """``message``, raised by a call made as of ``cutoff``, saying so.

    Examples
    --------
    >>> from datetime import datetime
    >>> in_cutoff_words("3 purchase rows before as_of have price 0", datetime(2010, 9, 10))
    'at the cutoff 2010-09-10: 3 purchase rows before the cutoff have price 0'
    """
    text = re.sub(r"\bas_of\b", "the cutoff", " ".join(message.split()))
    return f"at the cutoff {cutoff:%Y-%m-%d}: {text}"


@contextmanager
def record_warnings(
    into: StepWarnings, *concerns: str, cutoff: datetime | None = None
) -> Iterator[None]:
    """Record the warnings raised inside the block into ``into`` (deduplicated, with the
    outputs they concern: `recsys._warnings.concerning`; ``concerns`` for those not
    marked closer to where they were raised), then re-issue each distinct one once, so
    the log still shows them. With ``cutoff`` (the block's calls are made as of the
    evaluation cutoff), the log shows them in `StepWarnings.at_cutoff`'s words, so a
    count "before as_of" is not read as one about the whole history.

    Examples
    --------
    >>> import warnings
    >>> from datetime import datetime
    >>> step = StepWarnings()
    >>> with warnings.catch_warnings(record=True) as shown:
    ...     warnings.simplefilter("always")
    ...     with record_warnings(step, cutoff=datetime(2010, 9, 10)):
    ...         warnings.warn("2 purchase rows before as_of have price 0", DataWarning)
    ...         warnings.warn("2 purchase rows before as_of have price 0", DataWarning)
    >>> step.messages, [str(w.message) for w in shown]  # doctest: +NORMALIZE_WHITESPACE
    (['2 purchase rows before as_of have price 0'],
     ['at the cutoff 2010-09-10: 2 purchase rows before the cutoff have price 0'])
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with concerning(*concerns) if concerns else nullcontext():
            yield
    seen: set[tuple[type, str]] = set()
    for w in caught:
        into.add(str(w.message), concerns_of(w.message) or concerns)
        key = (w.category, " ".join(str(w.message).split()))
        if key in seen:
            continue
        seen.add(key)
        message = w.message
        if cutoff is not None:
            message = w.category(in_cutoff_words(str(w.message), cutoff))
            if isinstance(w.message, DataWarning) and isinstance(message, DataWarning):
                message.concerns = w.message.concerns
        warnings.warn_explicit(message, w.category, w.filename, w.lineno)


#: Words of the warnings that flag a customer-model fit as not credible.
_FLAG_WORDS = (
    "extreme",
    "did not converge",
    "not fitted",
    "failed",
    "non-finite",
    "undefined",
    "null",
    "falls back",
    "fallback",
    "penal",
    "not identified",
    "infinite",
)


@dataclass(frozen=True)
class FitEvidence:
    """Whether the churn (BG/NBD) and value (Gamma-Gamma, CLV) fits are credible, with the
    warnings that flag them."""

    churn_flags: tuple[str, ...]
    value_flags: tuple[str, ...]
    nonfinite_value: int

    @property
    def churn_credible(self) -> bool:
        return not self.churn_flags

    @property
    def value_credible(self) -> bool:
        return not self.value_flags and not self.nonfinite_value


def fit_evidence(step: StepWarnings, profiles: pl.DataFrame) -> FitEvidence:
    """Flags on the customer-model fits from the warnings of the profile step and the
    values they produced (a churn model flagged as extreme also flags the CLV built
    on it)."""

    def flagged(output: str) -> tuple[str, ...]:
        # calibration is judged on its own evidence (ChurnEvidence), not as a fit flag
        return tuple(
            m
            for m in step.about(output)
            if any(w in m.lower() for w in _FLAG_WORDS) and "is not calibrated" not in m
        )

    churn = flagged("churn_risk")
    value = tuple(dict.fromkeys(flagged("clv") + flagged("expected_purchases") + churn))
    bad = 0
    if "clv" in profiles.columns:
        bad = int((~profiles["clv"].cast(pl.Float64).is_finite().fill_null(False)).sum())
    return FitEvidence(churn_flags=churn, value_flags=value, nonfinite_value=bad)
