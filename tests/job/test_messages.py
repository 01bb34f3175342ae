"""The claims' wording: a number shown next to its threshold is shown so they differ."""

from __future__ import annotations

import polars as pl
import pytest

from recsys.job.claims_churn import churn_claim
from recsys.job.evidence import ChurnEvidence, FitEvidence


@pytest.mark.parametrize(
    ("gap", "shown"),
    [
        (0.0512, "5.1% in a decile (tolerance 5.0%)"),
        (0.0501, "5.01% in a decile (tolerance 5.00%)"),
    ],
)
def test_a_calibration_gap_just_above_the_tolerance_is_shown_above_it(
    gap: float, shown: str
) -> None:
    cal = pl.DataFrame(
        {"decile": [1, 2], "predicted_churn": [0.2, 0.8], "observed_churn": [0.2 + gap, 0.78]}
    )
    evidence = ChurnEvidence(500, 250, 0.8, 0.76, 0.84, gap, cal, 90)
    assert not evidence.calibrated
    text = churn_claim(evidence, FitEvidence((), (), 0)).text
    assert f"it is not calibrated: predicted and observed churn differ by up to {shown}" in text
