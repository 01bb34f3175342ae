"""Retention and uplift evaluators: did a campaign or a recommendation bring customers back?

* `retention_labels`, `retention_rate`, `repurchase_rate` — retention
  outcomes from a purchase history.
* `uplift_table` — uplift of randomized experiment arms with intervals, p-values,
  segments, CUPED and a sample-ratio-mismatch check.
* `assign` — deterministic salted-hash assignment to arms, balanced within strata,
  with a sample-ratio-mismatch check.
* `sequential` — always-valid confidence sequences for a daily readout.
* `sample_size`, `minimum_detectable_effect` — experiment design.
* `uplift_curve`, `qini_curve`, `qini_auc`, `auuc`,
  `uplift_at_k`, `uplift_by_percentile` — targeting curves with bootstrap CIs.
* `recsys.uplift.offpolicy` — IPS, SNIPS and doubly robust estimates of a new
  policy from logged bandit feedback.
* `covariate_balance` — are the features balanced between the arms? A column that is
  not was most likely measured after the assignment (an outcome leaking into a model).
* `UpliftModel` — T-, X- and DR-learners of each customer's uplift, cross-fitted.
* `allocate` — whom to treat under a budget or a count, with a reason and a holdout.
* `plan_value` — a plan's value vs treat-all/none/random/by-column (IPS, DR, bootstrap
  intervals) and its Qini curve, on experiment customers the model never saw.
* `hit_retention` — association (not causation) between recommendation hits and
  retention.
"""

from recsys.uplift import offpolicy
from recsys.uplift.allocation import allocate
from recsys.uplift.assignment import assign
from recsys.uplift.balance import covariate_balance
from recsys.uplift.curves import (
    auuc,
    qini_auc,
    qini_curve,
    uplift_at_k,
    uplift_by_percentile,
    uplift_curve,
)
from recsys.uplift.design import SampleSize, minimum_detectable_effect, sample_size
from recsys.uplift.experiment import sample_ratio_mismatch, uplift_table
from recsys.uplift.hits import hit_retention
from recsys.uplift.models import UpliftModel
from recsys.uplift.plan_value import PlanValue, plan_value
from recsys.uplift.retention import repurchase_rate, retention_labels, retention_rate
from recsys.uplift.sequential_readout import confidence_sequence, sequential

__all__ = [
    "PlanValue",
    "SampleSize",
    "UpliftModel",
    "allocate",
    "assign",
    "auuc",
    "confidence_sequence",
    "covariate_balance",
    "hit_retention",
    "minimum_detectable_effect",
    "offpolicy",
    "plan_value",
    "qini_auc",
    "qini_curve",
    "repurchase_rate",
    "retention_labels",
    "retention_rate",
    "sample_ratio_mismatch",
    "sample_size",
    "sequential",
    "uplift_at_k",
    "uplift_by_percentile",
    "uplift_curve",
    "uplift_table",
]
