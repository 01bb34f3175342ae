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

The items due the job deploys follow the check (`deployed_due`): the model's table where
its chances beat the item's base rate at the cutoff (`follows_model`), else the naive rule
the card compared it against (`naive_due_items`), as churn and value fall back to theirs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from recsys.data import columns as C
from recsys.evaluation import backtest
from recsys.exceptions import InputDataError
from recsys.job.config import JobConfig
from recsys.job.evidence import RuleComparison, rule_comparisons
from recsys.job.sampling import customer_sample
from recsys.profiles.due_naive import naive_due
from recsys.stats import ratio_ci

__all__ = [
    "DUE_MODEL",
    "NAIVE_DUE_RULE",
    "DueEvidence",
    "deployed_due",
    "due_at_cutoff",
    "due_check",
    "follows_model",
    "likely_due",
    "naive_due_items",
]

#: The items-due model's name in `recsys.evaluation.backtest`'s table.
DUE_MODEL = "due_items"

#: The naive reminder rule of `naive_due_items`, in words (the card, the files).
NAIVE_DUE_RULE = (
    "a product is due when the customer's last purchase of it plus the product's median "
    "gap between purchases falls in the next {horizon_days} days, with the product's base "
    "rate as the chance (the share of its customers from before the last {horizon_days} "
    "days who bought it again in them)"
)


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


def due_at_cutoff(
    evaluated_on: pl.DataFrame,
    cutoff: datetime,
    config: JobConfig,
    *,
    min_probability: float,
    observed_until: datetime,
) -> tuple[DueEvidence | None, str, tuple[int, int] | None]:
    """`due_check` at ``cutoff`` on the purchases of at most ``config.due_check_customers``
    customers of ``evaluated_on`` drawn at random (`recsys.job.sampling.customer_sample`,
    ``config.seed``), over ``config.due_horizon_days`` with the job's resamples: the
    evidence (or None), why nothing was checked, and (sampled customers, customers) where
    it ran on a sample.
    """
    due_on, sampled = customer_sample(evaluated_on, config.due_check_customers, config.seed)
    evidence, why = due_check(
        due_on,
        cutoff,
        horizon_days=config.due_horizon_days,
        min_probability=min_probability,
        bootstrap=min(config.bootstrap, config.backtest_bootstrap),
        seed=config.seed,
        observed_until=observed_until,
    )
    return evidence, why, sampled


def follows_model(evidence: DueEvidence | None) -> bool:
    """Whether the items due the job deploys are the model's: its chances beat the item's
    base rate at the evaluation cutoff (`DueEvidence.beats_base_rate`). Unchecked
    (``evidence`` None) or not shown to beat it, they follow the naive rule
    (`naive_due_items`).

    Examples
    --------
    >>> follows_model(None)
    False
    """
    return evidence is not None and evidence.beats_base_rate


def naive_due_items(
    due: pl.DataFrame, purchases: pl.DataFrame, as_of: datetime, horizon_days: int
) -> pl.DataFrame:
    """The naive reminder rule the items-due card compares the model against, as of
    ``as_of``: the pairs of ``due`` (`recsys.profiles.due_items`' table as of ``as_of``,
    for each pair's ``last_purchase`` and ``n_purchases``) that the rule finds due in
    ``[as_of, as_of + horizon_days)``, in the same columns.

    The rule is the backtest's (`recsys.evaluation.backtest`, ``item_median`` and
    ``item_base_rate``; one computation, `recsys.profiles.due_naive.naive_due`, on
    the purchases strictly before ``as_of``): ``interval_days`` is the product's median
    gap between purchase days over all its customers, ``due_date`` = ``last_purchase`` +
    that gap, and ``p_within_horizon`` is the product's base rate: the share of its
    (customer, product) pairs bought before ``as_of - horizon_days`` that were bought
    again in ``[as_of - horizon_days, as_of)``. A pair is kept when its ``due_date``
    falls in ``[as_of, as_of + horizon_days)`` (a pair overdue by the rule is not due in
    the horizon); the job then reminds the pairs with a chance of at least its threshold,
    as it does with the model's (`likely_due`).

    Examples
    --------
    >>> from datetime import datetime
    >>> p = pl.DataFrame({"user_id": [1, 1, 1, 2, 2], "item_id": ["a"] * 5,
    ...     "timestamp": [datetime(2024, 1, d) for d in (1, 11, 21, 2, 22)]})
    >>> due = pl.DataFrame({"user_id": [1, 2], "item_id": ["a", "a"],
    ...     "last_purchase": [datetime(2024, 1, 21), datetime(2024, 1, 22)],
    ...     "n_purchases": [3, 2], "interval_days": [10.0, 20.0],
    ...     "due_date": [datetime(2024, 1, 31), datetime(2024, 2, 11)],
    ...     "p_within_horizon": [0.9, 0.1]})
    >>> out = naive_due_items(due, p, datetime(2024, 1, 25), 10)
    >>> out.select("user_id", "due_date", "p_within_horizon").rows()  # gap 10 days
    [(1, datetime.datetime(2024, 1, 31, 0, 0), 1.0), (2, datetime.datetime(2024, 2, 1, 0, 0), 1.0)]
    """
    ts, date = pl.col(C.TIMESTAMP), pl.col("naive_due_date")
    pairs = due.select(C.USER, C.ITEM, "last_purchase", "n_purchases")
    naive = naive_due(pairs, purchases.filter(ts < as_of), as_of, horizon_days)
    return (
        naive.filter((date >= as_of) & (date < as_of + timedelta(days=horizon_days)))
        .select(
            C.USER,
            C.ITEM,
            "last_purchase",
            "n_purchases",
            pl.col("naive_interval_days").cast(due.schema["interval_days"]).alias("interval_days"),
            date.alias("due_date"),
            pl.col("base_rate").cast(pl.Float64).alias("p_within_horizon"),
        )
        .sort(C.USER, C.ITEM)
    )


def deployed_due(
    due: pl.DataFrame,
    purchases: pl.DataFrame,
    as_of: datetime,
    horizon_days: int,
    evidence: DueEvidence | None,
) -> pl.DataFrame:
    """The items due the job deploys as of ``as_of``: ``due`` (the model's table) where it
    beats the item's base rate at the evaluation cutoff (`follows_model`), else the naive
    rule's (`naive_due_items`), in the same columns. The reminders (`recsys.actions`), the
    card and ``due.parquet`` all take this table.
    """
    if follows_model(evidence):
        return due
    return naive_due_items(due, purchases, as_of, horizon_days)
