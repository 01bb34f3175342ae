"""recsys: personalized recommendation and customer retention for e-commerce.

>>> import recsys as rs
>>> purchases, report = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
>>> inter = rs.Interactions.from_purchases(purchases, weight="count")
"""

from recsys import datasets, exceptions, profiles, uplift
from recsys.data import CleaningReport, IdMap, Interactions, clean_purchases
from recsys.exceptions import (
    DataWarning,
    InputDataError,
    ModelFormatError,
    NotFittedError,
    RecsysError,
    UnknownIdError,
)
from recsys.profiles import ProfileConfig, build_profiles, cohort_retention

__version__ = "0.1.0"

__all__ = [
    "CleaningReport",
    "DataWarning",
    "IdMap",
    "InputDataError",
    "Interactions",
    "ModelFormatError",
    "NotFittedError",
    "ProfileConfig",
    "RecsysError",
    "UnknownIdError",
    "__version__",
    "build_profiles",
    "clean_purchases",
    "cohort_retention",
    "datasets",
    "exceptions",
    "profiles",
    "uplift",
]
