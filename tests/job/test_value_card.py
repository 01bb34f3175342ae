"""The value card states the comparison it rests on, whatever the verdict: a flagged fit
does not hide that the rule it falls back to loses, or that the rule itself ranks
poorly."""

from __future__ import annotations

from recsys.job.claims_customer import WEAK_SPEARMAN, value_claim
from recsys.job.evidence import FitEvidence, RuleComparison


def _rows(value: float, rule: float, low: float, high: float) -> tuple[RuleComparison, ...]:
    diff = value - rule
    return (
        RuleComparison("clv", "spearman", "past_spend", value, rule, diff, low, high, 6957, 90),
        RuleComparison("clv", "top_decile_capture", "past_spend", 0.25, 0.142, 0.1, 0.05, 0.15,
                       6957, 90),
    )  # fmt: skip


FLAGGED = FitEvidence(("BG/NBD parameters ['a', 'b'] are extreme",), ("BG/NBD extreme",), 0)


def test_a_flagged_fit_still_states_that_the_fallback_loses() -> None:
    claim = value_claim(
        FLAGGED, has_prices=True, rules=_rows(0.149, 0.039, 0.086, 0.132), ratio=0.549,
        ratio_days=182.5,
    )  # fmt: skip
    assert not claim.licensed
    assert "its fit is flagged" in claim.text
    assert (
        "It is ranked by past spend, although the CLV model's expected value over the next "
        "365 days (discounted 1% a month) ranked the next 90 days' spend better than past "
        "spend: Spearman correlation 0.149 vs 0.039 (difference +0.110, 95% CI +0.086 to "
        "+0.132) on 6,957 customers at the evaluation cutoff; top-decile capture 0.250 vs "
        "0.142. Past spend itself ranks the next 90 days' spend poorly here (Spearman "
        "correlation 0.039)."
    ) in claim.text


def test_a_flagged_fit_that_loses_says_so_and_a_strong_rule_is_not_called_poor() -> None:
    claim = value_claim(FLAGGED, has_prices=True, rules=_rows(0.40, 0.55, -0.2, -0.1))
    assert "ranked the next 90 days' spend no better than past spend: Spearman" in claim.text
    assert "poorly" not in claim.text
    assert WEAK_SPEARMAN > 0.039
    # every verdict names a weak rule
    unflagged = value_claim(FitEvidence((), (), 0), has_prices=True,
                            rules=_rows(0.12, 0.10, -0.02, 0.06))  # fmt: skip
    assert "Past spend itself ranks the next 90 days' spend poorly here" in unflagged.text
