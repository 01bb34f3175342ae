"""Offline evaluation: splits, ranking metrics with bootstrap CIs, tuning, calibration, backtests.

>>> import recsys as rs
>>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
>>> split = rs.evaluation.temporal_split(purchases, cutoff="2011-09-09", horizon_days=90)
>>> split.test["user_id"].n_unique()
1904
"""

from recsys.evaluation.backtest import Backtest, backtest
from recsys.evaluation.backtest_profiles import backtest_profiles
from recsys.evaluation.calibration import churn_calibration
from recsys.evaluation.evaluate import evaluate
from recsys.evaluation.metrics import (
    ACCURACY_METRICS,
    METRICS,
    MODES,
    accuracy_per_user,
    coverage,
    hit_rate,
    map,
    mean_average_precision,
    mrr,
    ndcg,
    novelty,
    novelty_per_user,
    precision,
    recall,
    repeat_share,
)
from recsys.evaluation.per_user import per_user_metrics
from recsys.evaluation.protocols import (
    FullRanking,
    SampledNegatives,
    sample_negatives,
    sampled_ranks,
)
from recsys.evaluation.results import EvaluationResults, PerUserMetrics, compare
from recsys.evaluation.splits import (
    Split,
    leave_last_basket,
    leave_last_out,
    random_holdout,
    temporal_split,
)
from recsys.evaluation.summary import summarize
from recsys.evaluation.tuning import TuneResult, tune

__all__ = [
    "ACCURACY_METRICS",
    "METRICS",
    "MODES",
    "Backtest",
    "EvaluationResults",
    "FullRanking",
    "PerUserMetrics",
    "SampledNegatives",
    "Split",
    "TuneResult",
    "accuracy_per_user",
    "backtest",
    "backtest_profiles",
    "churn_calibration",
    "compare",
    "coverage",
    "evaluate",
    "hit_rate",
    "leave_last_basket",
    "leave_last_out",
    "map",
    "mean_average_precision",
    "mrr",
    "ndcg",
    "novelty",
    "novelty_per_user",
    "per_user_metrics",
    "precision",
    "random_holdout",
    "recall",
    "repeat_share",
    "sample_negatives",
    "sampled_ranks",
    "summarize",
    "temporal_split",
    "tune",
]
