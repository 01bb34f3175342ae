"""Where the items-due card is not licensed, the reminders follow the naive rule it was
compared against (issue 22, item 3: "falls back to the rule").

The naive rule (`recsys.job.due_check.naive_due_items`) is recomputed here by hand, in
plain Python: a (customer, product) pair is due when its last purchase plus the
product's median gap between purchase days falls in ``[as_of, as_of + 30 days)``, its
chance the product's base rate (the share of its pairs bought before ``as_of - 30 days``
bought again in the 30 days before ``as_of``); reminded at a chance of 20% or more.
"""

from __future__ import annotations

import itertools
import statistics
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.job import JobConfig
from recsys.job.actions import action_list
from recsys.job.claims_due import due_claim
from recsys.job.due_check import DueEvidence, follows_model
from recsys.job.evidence import RuleComparison
from recsys.report.cards import card_headline, due_caption
from recsys.report.files import due_source

START = datetime(2023, 1, 1)
CUTOFF = START + timedelta(days=300)
END = START + timedelta(days=400)
DUE_DAYS = 30  # JobConfig's due_horizon_days
RATES = {"a": 1 / 15, "b": 1 / 40}


def memoryless_shop(seed: int = 3) -> pl.DataFrame:
    """60 customers, each buying "a" on any day with chance 1/15 and "b" with 1/40: the
    time since the last purchase says nothing about the next, so the product's base rate
    is the true chance, and the model (whose chance grows with the time since the last
    purchase) is worse than it at the cutoff (Brier 0.261 vs 0.178, its interval above 0
    with this seed)."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(60):
        for item, rate in RATES.items():
            for day in np.flatnonzero(rng.random(400) < rate):
                rows.append((user, item, START + timedelta(days=int(day), hours=9), 1.0, 2.0))
    return pl.DataFrame(
        rows, schema=["user_id", "item_id", "timestamp", "quantity", "price"], orient="row"
    ).sort("timestamp")


def naive_reminders(purchases: pl.DataFrame, as_of: datetime) -> dict[tuple[int, str], float]:
    """The naive rule's pairs with their chance (>= 20%), by hand."""
    rows = [
        (u, i, t)
        for u, i, t in purchases.select("user_id", "item_id", "timestamp").iter_rows()
        if t < as_of
    ]
    days: dict[tuple[int, str], set] = {}
    last: dict[tuple[int, str], datetime] = {}
    for u, i, t in rows:
        days.setdefault((u, i), set()).add(t.date())
        last[(u, i)] = max(last.get((u, i), t), t)
    gaps: dict[str, list[int]] = {}
    for (_, i), ds in days.items():
        ordered = sorted(ds)
        gaps.setdefault(i, []).extend((b - a).days for a, b in itertools.pairwise(ordered))
    median = {i: statistics.median(g) for i, g in gaps.items()}
    late = as_of - timedelta(days=DUE_DAYS)
    early = {(u, i) for u, i, t in rows if t < late}
    recent = {(u, i) for u, i, t in rows if late <= t}
    base = {
        i: sum(p in recent for p in early if p[1] == i) / sum(p[1] == i for p in early)
        for i in {i for _, i in early}
    }
    end = as_of + timedelta(days=DUE_DAYS)
    return {
        pair: base[pair[1]]
        for pair, t in last.items()
        if as_of <= t + timedelta(days=median[pair[1]]) < end and base[pair[1]] >= 0.2
    }


def reminded(actions: pl.DataFrame) -> set[tuple[int, str]]:
    replenish = actions.filter(pl.col("action") == "replenish")
    return {(u, i) for u, items in replenish.select("user_id", "items").iter_rows() for i in items}


def likely(due: pl.DataFrame) -> dict[tuple[int, str], float]:
    rows = due.filter(pl.col("p_within_horizon") >= 0.2)
    return {(u, i): p for u, i, p in rows.select("user_id", "item_id", "p_within_horizon").rows()}


@pytest.mark.filterwarnings("ignore::recsys.exceptions.DataWarning")
def test_an_unlicensed_due_card_hands_the_reminders_to_the_naive_rule() -> None:
    shop = memoryless_shop()
    config = JobConfig(
        as_of=END, cutoff=CUTOFF, horizon_days=60, models=("popular", "repurchase"), bootstrap=200
    )
    result = rs.job.run(shop, config)
    claim = result.claims["due"]
    assert claim.evidence["brier_ci_low"] > 0  # checked at the cutoff: the model loses
    assert not claim.licensed, claim.text
    naive = naive_reminders(shop, END)
    model = likely(rs.due_items(shop, as_of=END, horizon_days=DUE_DAYS))
    assert naive
    assert set(naive) != set(model)
    assert likely(result.due) == pytest.approx(naive)
    # every customer with a pair due by the rule is reminded of it, unless an earlier
    # rule (onboard, win back) took them
    earlier = set(result.actions.filter(pl.col("action").is_in(["onboard", "win_back"]))["user_id"])
    assert reminded(result.actions) == {p for p in naive if p[0] not in earlier}
    assert reminded(result.actions)
    assert claim.evidence["follows"] == "rule"
    assert "The replenishment reminders follow the naive rule instead" in claim.text
    assert "median gap" in claim.text
    assert "still follow the model" not in claim.text
    assert f"{len({u for u, _ in naive}):,} customers have {len(naive):,} products" in claim.text
    assert due_source(result).startswith("rule: a product is due when")
    assert "naive rule" in due_caption(result)
    assert card_headline(result, "due").endswith("by the naive rule (the model is not licensed)")
    # the library's action list decides the same way (its check at as_of - 100 days)
    listed = action_list(shop, as_of=END, horizon_days=100, bootstrap=200)
    assert reminded(listed) == reminded(result.actions)


@pytest.mark.filterwarnings("ignore::recsys.exceptions.DataWarning")
def test_a_licensed_due_card_keeps_the_model_reminders() -> None:
    from tests.job.test_due_card import CUTOFF as CYCLE_CUTOFF
    from tests.job.test_due_card import END as CYCLE_END
    from tests.job.test_due_card import cycle_shop

    shop = cycle_shop(stop_share=0.0)
    config = JobConfig(
        as_of=CYCLE_END, cutoff=CYCLE_CUTOFF, horizon_days=60,
        models=("popular", "repurchase"), bootstrap=200,
    )  # fmt: skip
    result = rs.job.run(shop, config)
    claim = result.claims["due"]
    assert claim.licensed, claim.text
    assert claim.evidence["follows"] == "model"
    model = rs.due_items(shop, as_of=CYCLE_END, horizon_days=DUE_DAYS)
    assert result.due.equals(model)
    earlier = set(result.actions.filter(pl.col("action").is_in(["onboard", "win_back"]))["user_id"])
    mine = {p for p in likely(model) if p[0] not in earlier}
    k = config.k
    per_user = pl.DataFrame(
        [(u, i, p) for (u, i), p in likely(model).items()],
        schema=["user_id", "item_id", "p"],
        orient="row",
    )
    top = per_user.sort(["user_id", "p", "item_id"], descending=[False, True, False])
    heads = top.group_by("user_id", maintain_order=True).head(k)
    firsts = set(heads.select("user_id", "item_id").rows())
    assert reminded(result.actions) == {p for p in firsts if p in mine}
    assert due_source(result) == "model: due_items (p_within_horizon)"
    assert card_headline(result, "due").endswith("products due")


def _evidence(beats: bool) -> DueEvidence:
    high = -0.02 if beats else 0.01  # the interval of the Brier difference's upper end
    brier = RuleComparison("due", "brier", "item_base_rate", 0.20, 0.22, -0.02, -0.05, high,
                           900, 30)  # fmt: skip
    return DueEvidence(
        cutoff=CUTOFF, horizon_days=30, min_probability=0.2, pairs=900, brier=brier, date=None,
        likely_pairs=400, likely_customers=120, expected=400.0, realised=200, ratio=0.5,
        ci_low=0.4, ci_high=0.6, confidence=0.95,
    )  # fmt: skip


def test_the_card_of_the_rule_is_not_scaled_by_the_model_check() -> None:
    assert follows_model(_evidence(True))
    assert not follows_model(_evidence(False))
    rule = due_claim(
        120, 900, 300.0, min_probability=0.2, horizon_days=30, replenish=100,
        evidence=_evidence(False),
    )  # fmt: skip
    assert not rule.licensed
    assert rule.evidence["expected_basis"] == "rule"
    assert "expected_purchases" not in rule.evidence  # the rule claims no expectation
    assert rule.evidence["base_rate_sum"] == 300.0
    assert "scaled" not in rule.text
    assert "base rates add up to about 300 purchases, a sum no check covers" in rule.text
