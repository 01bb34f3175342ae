"""Statistics shared by evaluation and uplift: one bootstrap engine, intervals, tests.

* Resampling (`recsys.stats.resample`): `resample_seeds`, `draw_counts`,
  `resample_counts`, `bootstrap_sums`, `bootstrap_means`, `bootstrap_ci`,
  `ratio_ci` (a ratio of sums), and `percentile_ci` for any bootstrap draws. One
  counts-based engine, seeded per resample and summed in a fixed order: the same seed
  gives bit-identical results at any thread count.
* Closed-form intervals and tests (`recsys.stats.intervals`): Wilson, Newcombe,
  Wald, Welch, relative (Katz, delta method), the two-proportion z-test, ``z_value`` and
  the `Estimate` tuple.
* Multiple testing (`recsys.stats.multiple`): `bonferroni`, `holm`.
* The one logistic regression (`recsys.stats.logistic`): `fit_logistic`,
  `logistic_logit`, `logistic_probability` (thread-independent weights and log-odds).
* The one repurchase-interval estimator (`recsys.stats.repurchase`):
  `pair_interval`, `typical_interval`, `shrunk_interval`.
* The one Kaplan-Meier estimator (`recsys.stats.survival`): `km_quantiles` of
  right-censored durations (repurchase intervals, lifecycle thresholds).
* Standard errors of maximum-likelihood fits (`recsys.stats.likelihood`):
  `hessian_from_gradient`, `log_parameter_covariance`.

>>> import numpy as np
>>> import recsys as rs
>>> low, high = rs.stats.bootstrap_ci(np.array([0.0, 1.0, 1.0, 0.0, 1.0]), 200, seed=0)
>>> bool(low[0] <= 0.6 <= high[0])
True
"""

from recsys.stats.intervals import (
    Estimate,
    newcombe_interval,
    relative_interval_binary,
    relative_interval_means,
    two_proportion_p_value,
    wald_interval,
    welch,
    wilson_interval,
    z_value,
)
from recsys.stats.likelihood import hessian_from_gradient, log_parameter_covariance
from recsys.stats.logistic import LogisticFit, fit_logistic, logistic_logit, logistic_probability
from recsys.stats.multiple import bonferroni, holm
from recsys.stats.repurchase import pair_interval, shrunk_interval, typical_interval
from recsys.stats.resample import (
    bootstrap_ci,
    bootstrap_means,
    bootstrap_sums,
    draw_counts,
    percentile_ci,
    ratio_ci,
    resample_counts,
    resample_seeds,
)
from recsys.stats.survival import km_quantiles

__all__ = [
    "Estimate",
    "LogisticFit",
    "bonferroni",
    "bootstrap_ci",
    "bootstrap_means",
    "bootstrap_sums",
    "draw_counts",
    "fit_logistic",
    "hessian_from_gradient",
    "holm",
    "km_quantiles",
    "log_parameter_covariance",
    "logistic_logit",
    "logistic_probability",
    "newcombe_interval",
    "pair_interval",
    "percentile_ci",
    "ratio_ci",
    "relative_interval_binary",
    "relative_interval_means",
    "resample_counts",
    "resample_seeds",
    "shrunk_interval",
    "two_proportion_p_value",
    "typical_interval",
    "wald_interval",
    "welch",
    "wilson_interval",
    "z_value",
]
