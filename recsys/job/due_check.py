"""The items-due model checked at the evaluation cutoff: `due_check`.

The job's items due (`recsys.profiles.due_items`, over ``due_horizon_days``) are a
prediction like churn risk and CLV, and are checked the same way: computed on the
purchases strictly before the evaluation cutoff and scored on the window after it by
`recsys.evaluation.backtest`'s items-due unit (one origin, the cutoff), against the
naive rules the backtest defines: the Brier score of ``p_within_horizon`` against the
item's base rate (the share of the item's customer-product pairs bought again in the
last window before the cutoff), and the median date error against the item's median
gap. The card's own figure, the purchases expected from the pairs due with a chance
of at least the job's threshold (the sum of their ``p_within_horizon``), is set
against the pairs of that rule at the cutoff that were bought in the window: the
realised/expected ratio, with a percentile bootstrap interval over customers
(`recsys.stats.bootstrap_sums`, as the campaign's check, `recsys.job.campaign`).
`recsys.job.claims_due.due_claim` words the card from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from recsys.data import columns as C
from recsys.evaluation import backtest
from recsys.exceptions import InputDataError
from recsys.job.evidence import RuleComparison, rule_comparisons
from recsys.stats import ratio_ci

__all__ = ["DUE_MODEL", "DueEvidence", "due_check"]

#: The items-due model's name in `recsys.evaluation.backtest`'s table.
DUE_MODEL = "due_items"


@dataclass(frozen=True)
class DueEvidence:
    """The items-due model at the evaluation ``cutoff``, against the ``horizon_days``
    after it.

    ``brier`` is the Brier score of ``p_within_horizon`` against the item's base rate
    and ``date`` the median date error against the item's median gap (None when no
    pair was bought again in the window), each a pooled backtest row over every
    (customer, product) pair bought before the cutoff (``pairs``). Of them,
    ``likely_pairs`` of ``likely_customers`` had a chance of at least
    ``min_probability``: they were expected to give ``expected`` purchases (the sum of
    their chances) and ``realised`` of them were bought in the window; ``ratio`` =
    realised / expected, with its percentile bootstrap interval over customers
    (``ci_low, ci_high`` at ``confidence``; NaN without resamples or without any pair
    expected).
    """

    cutoff: datetime
    horizon_days: int
    min_probability: float
    pairs: int
    brier: RuleComparison
    date: RuleComparison | None
    likely_pairs: int
    likely_customers: int
    expected: float
    realised: int
    ratio: float
    ci_low: float
    ci_high: float
    confidence: float

    @property
    def beats_base_rate(self) -> bool:
        """The Brier score's interval of the difference lies below 0 (the base rate's is
        higher)."""
        return self.brier.beats

    @property
    def over_predicts(self) -> bool:
        """The realised/expected interval lies below 1: fewer purchases than expected."""
        return math.isfinite(self.ci_high) and self.ci_high < 1.0


def likely_due(due: pl.DataFrame, min_probability: float) -> pl.DataFrame:
    """The (customer, product) pairs of ``due`` with a chance ``p_within_horizon`` of at
    least ``min_probability`` (a NaN or missing chance is not one): the pairs the job
    counts, checks and lists as due.

    Examples
    --------
    >>> due = pl.DataFrame({"user_id": [1, 2, 3], "p_within_horizon": [0.5, float("nan"), 0.1]})
    >>> likely_due(due, 0.2)["user_id"].to_list()
    [1]
    """
    chance = pl.col("p_within_horizon").cast(pl.Float64)
    return due.filter(chance.is_not_nan() & (chance >= min_probability))


def due_check(
    purchases: pl.DataFrame,
    cutoff: datetime,
    *,
    horizon_days: int,
    min_probability: float,
    bootstrap: int,
    seed: int,
    observed_until: datetime,
    confidence: float = 0.95,
) -> tuple[DueEvidence | None, str]:
    """The items due as of ``cutoff`` (on the purchases strictly before it), scored on
    ``[cutoff, cutoff + horizon_days)`` of ``purchases``: `DueEvidence` and "", or None
    and why nothing was checked (the window runs past ``observed_until``, no purchase
    before the cutoff, no pair with a chance at the cutoff).

    The Brier and date rows are `recsys.evaluation.backtest` (``predictions=("due",)``,
    one origin: the cutoff) with ``bootstrap`` resamples of customers and ``seed``; the
    realised/expected interval resamples the customers of the likely pairs
    (`recsys.stats.ratio_ci`, the same ``bootstrap`` and ``seed``).

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> rows = [(u, "soap", datetime(2024, 1, 1) + timedelta(days=10 * i + u))
    ...         for u in range(40) for i in range(12)]
    >>> p = pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")
    >>> p = p.with_columns(quantity=pl.lit(1.0))
    >>> e, why = due_check(p, datetime(2024, 3, 1), horizon_days=10, min_probability=0.2,
    ...     bootstrap=0, seed=0, observed_until=datetime(2024, 4, 1))
    >>> e.pairs, e.likely_pairs, e.realised  # every customer buys soap every 10 days
    (40, 40, 40)
    >>> due_check(p, datetime(2024, 3, 25), horizon_days=10, min_probability=0.2,
    ...     bootstrap=0, seed=0, observed_until=datetime(2024, 4, 1))[1]
    'the 10 days after the evaluation cutoff run past as_of'
    """
    if cutoff + timedelta(days=horizon_days) > observed_until:
        return None, f"the {horizon_days} days after the evaluation cutoff run past as_of"
    first = purchases.get_column(C.TIMESTAMP).min()
    if first is None or not first < cutoff:  # type: ignore[operator]
        return None, "no purchase before the evaluation cutoff"
    try:
        result = backtest(
            purchases,
            cutoff,
            predictions=("due",),
            horizon_days=horizon_days,
            bootstrap=bootstrap,
            seed=seed,
            confidence=confidence,
            observed_until=observed_until,  # known to as_of, not only to the last purchase
        )
    except InputDataError as err:
        return None, f"the items due could not be scored at the evaluation cutoff: {err}"
    rows = {r.metric: r for r in rule_comparisons(result, "due", horizon_days, model=DUE_MODEL)}
    units = result.units["due"]
    brier = rows["brier"]
    if not math.isfinite(brier.value):
        return None, "no (customer, product) pair at the evaluation cutoff has a chance"
    date = rows.get("date_mae")
    if date is not None and not math.isfinite(date.value):
        date = None
    likely = (
        likely_due(units, min_probability)
        .group_by(C.USER)
        .agg(
            realised=pl.col("bought").sum(),
            expected=pl.col("p_within_horizon").sum(),
            pairs=pl.len(),
        )
        .sort(C.USER)  # one row per customer, by id: the resamples do not depend on order
    )
    expected = float(likely["expected"].sum())
    realised = int(likely["realised"].sum())
    ratio = low = high = math.nan
    if expected > 0:
        ratio = realised / expected
        low, high = ratio_ci(likely["realised"], likely["expected"], bootstrap, seed, confidence)
    evidence = DueEvidence(
        cutoff=cutoff,
        horizon_days=horizon_days,
        min_probability=min_probability,
        pairs=units.height,
        brier=brier,
        date=date,
        likely_pairs=int(likely["pairs"].sum()),
        likely_customers=likely.height,
        expected=expected,
        realised=realised,
        ratio=ratio,
        ci_low=low,
        ci_high=high,
        confidence=result.confidence,
    )
    return evidence, ""
