"""The learned models fitted on a customer sample: the claim says they were refitted
as of as_of only where they were (the licensed, deployed ones), not where the check
left the decision to the naive rule."""

from __future__ import annotations

import warnings

import recsys as rs
from recsys.job import JobConfig
from tests.job import shops


def test_an_unlicensed_learned_model_is_not_said_to_be_refitted_as_of_as_of() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rs.job.run(
            shops.durables(), JobConfig(models=("popular",), bootstrap=20, learned_customers=100)
        )
    for key, model, column in (
        ("churn", "LearnedChurn", "learned_churn_risk"),
        ("value", "LearnedCLV", "learned_value"),
    ):
        claim = result.claims[key]
        assert claim.evidence["model"] == model  # the learned model was the candidate
        assert column not in result.profiles.columns  # ... and was not deployed
        assert "fitted on the purchases of 100 customers drawn at random (at the cutoff, of" in (
            claim.text
        )
        assert "; as of as_of, of" not in claim.text
