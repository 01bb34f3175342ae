"""Customer profiles: RFM, intervals, lifecycle stage, tier, category affinity, churn risk,
spend and lifetime value (Gamma-Gamma, CLV).

>>> import recsys as rs
>>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
>>> profiles = rs.build_profiles(purchases, as_of="2011-09-09")
>>> cohorts = rs.cohort_retention(purchases, period="month")
"""

from recsys.profiles.base import CustomerModel
from recsys.profiles.bgnbd import BGNBD, bgnbd_inputs, bgnbd_log_likelihood
from recsys.profiles.build import build_profiles
from recsys.profiles.churn import ChurnCalibrator, OneTimeBuyerSurvival, OwnRhythmRule
from recsys.profiles.churn_hazard import GapSurvival
from recsys.profiles.cohorts import cohort_retention
from recsys.profiles.config import ProfileConfig
from recsys.profiles.due import DueItems, due_items
from recsys.profiles.gammagamma import GammaGamma, clv, gammagamma_log_likelihood
from recsys.profiles.learned import LearnedChurn, LearnedCLV
from recsys.profiles.rfm import RFM_SEGMENTS, SEGMENT_NAMES
from recsys.profiles.rfm_table import rfm_table

__all__ = [
    "BGNBD",
    "RFM_SEGMENTS",
    "SEGMENT_NAMES",
    "ChurnCalibrator",
    "CustomerModel",
    "DueItems",
    "GammaGamma",
    "GapSurvival",
    "LearnedCLV",
    "LearnedChurn",
    "OneTimeBuyerSurvival",
    "OwnRhythmRule",
    "ProfileConfig",
    "bgnbd_inputs",
    "bgnbd_log_likelihood",
    "build_profiles",
    "clv",
    "cohort_retention",
    "due_items",
    "gammagamma_log_likelihood",
    "rfm_table",
]
