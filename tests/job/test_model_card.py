"""The model card never contradicts the test window it shows (walk #7).

The model is chosen on the validation split (never on the test window); where the test
window separates its best model above the one used, the card says so, and "not enough
evidence" is said only of naming one best model. Hand-built evaluation tables: their
paired differences are `recsys.evaluation.compare`'s from the intervals, recomputed here.
"""

from __future__ import annotations

import math

import polars as pl
import pytest

from recsys.job.choice import choose_model
from recsys.job.claims import Claim, model_claim

Z = 1.959963984540054


def _table(rows: dict[str, tuple[float, float]]) -> pl.DataFrame:
    """One model per row: hit rate@10 and its standard error (a symmetric interval)."""
    names = list(rows)
    return pl.DataFrame(
        {
            "model": names,
            "mode": ["all"] * len(names),
            "metric": ["hit_rate"] * len(names),
            "k": [10] * len(names),
            "segment": ["all"] * len(names),
            "value": [rows[m][0] for m in names],
            "ci_low": [rows[m][0] - Z * rows[m][1] for m in names],
            "ci_high": [rows[m][0] + Z * rows[m][1] for m in names],
            "n_users": [2867] * len(names),
        }
    )


def _interval(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float, float]:
    diff = a[0] - b[0]
    half = Z * math.hypot(a[1], b[1])
    return diff, diff - half, diff + half


#: Online Retail II's run (a): buyagain ahead of repurchase, tied with repeat_explore.
WALK = {
    "buyagain": (0.749, 0.0020),
    "repeat_explore": (0.744, 0.0020),
    "repurchase": (0.742, 0.0020),
    "popular": (0.30, 0.0050),
}


def _claim(rows: dict[str, tuple[float, float]], used: str) -> Claim:
    choice = choose_model(_table(rows), 10)
    return model_claim(
        choice,
        used=used,
        used_because="the simplest of the models tied on the validation split",
        evaluated=2867,
        best_value=max(v for v, _ in rows.values()),
    )


def test_a_separated_better_model_on_the_test_window_is_said_plainly() -> None:
    diff, low, high = _interval(WALK["buyagain"], WALK["repurchase"])
    assert low > 0  # the hand-built table separates buyagain above repurchase
    claim = _claim(WALK, used="repurchase")
    assert not claim.licensed  # no single best model: buyagain ties repeat_explore
    assert claim.fallback == "repurchase"
    assert not claim.text.startswith("Not enough evidence")
    assert claim.text.startswith("The test window favours buyagain over repurchase")
    assert f"{diff:+.3f} in hit rate@10, 95% paired interval [{low:+.3f}, {high:+.3f}]" in (
        claim.text
    )
    assert "chosen on the validation split, never on the test window" in claim.text
    assert "single window's" in claim.text
    assert "not acted on" in claim.text
    assert "No single best model can be named: buyagain and the runner-up repeat_explore" in (
        claim.text
    )
    assert claim.evidence["test_favours"] == "buyagain"
    assert claim.evidence["favoured_ci_low"] == pytest.approx(low)
    assert claim.evidence["favoured_difference"] == pytest.approx(diff)


def test_not_enough_evidence_where_the_test_window_ties_the_model_used() -> None:
    claim = _claim(WALK, used="repeat_explore")  # tied with the best on the test window
    assert not claim.licensed
    assert claim.text.startswith("Not enough evidence to name a best model")
    assert "favours" not in claim.text
    assert "test_favours" not in claim.evidence
    used_best = _claim(WALK, used="buyagain")
    assert used_best.text.startswith("Not enough evidence to name a best model")
    assert "favours" not in used_best.text


def test_a_best_model_other_than_the_one_used_is_named_with_its_lead_over_it() -> None:
    rows = {
        "buyagain": (0.76, 0.0020),
        "repeat_explore": (0.745, 0.0020),
        "repurchase": (0.742, 0.0020),
    }
    _, runner_low, _ = _interval(rows["buyagain"], rows["repeat_explore"])
    diff, low, high = _interval(rows["buyagain"], rows["repurchase"])
    assert runner_low > 0
    claim = _claim(rows, used="repurchase")
    assert claim.licensed  # buyagain is the best model on the test window
    assert claim.text.startswith("buyagain is the best model on the test window")
    assert f"ahead by {diff:+.3f}" in claim.text
    assert f"[{low:+.3f}, {high:+.3f}]" in claim.text
    assert "not acted on" in claim.text
    assert claim.text.index("favours") < claim.text.index("The job uses repurchase")
    same = _claim(rows, used="buyagain")
    assert "favours" not in same.text
    assert "not acted on" not in same.text


def test_the_gap_to_the_runner_up_in_use_is_stated_once() -> None:
    # the best model separated from the runner-up, and the runner-up is the model used:
    # the favouring sentence would repeat the licensed comparison word for word
    rows = {"als": (0.50, 0.02), "popular": (0.30, 0.02)}
    claim = _claim(rows, used="popular")
    _, low, high = _interval(rows["als"], rows["popular"])
    assert claim.licensed
    assert claim.text.count(f"[{low:+.3f}, {high:+.3f}]") == 1, claim.text
    assert claim.text.count("The job uses popular") == 1, claim.text
