"""recsys: personalized recommendation and customer retention for e-commerce.

>>> import recsys as rs
>>> purchases, report = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
>>> inter = rs.Interactions.from_purchases(purchases, weight="count")
"""

from recsys import datasets, exceptions
from recsys.data import CleaningReport, IdMap, Interactions, clean_purchases
from recsys.exceptions import (
    DataWarning,
    InputDataError,
    ModelFormatError,
    NotFittedError,
    RecsysError,
    UnknownIdError,
)

__version__ = "0.1.0"

__all__ = [
    "CleaningReport",
    "DataWarning",
    "IdMap",
    "InputDataError",
    "Interactions",
    "ModelFormatError",
    "NotFittedError",
    "RecsysError",
    "UnknownIdError",
    "__version__",
    "clean_purchases",
    "datasets",
    "exceptions",
]

# --- profiles (issue 4): customer profiles, BG/NBD churn model, cohort retention ---
from recsys import profiles
from recsys.profiles import ProfileConfig, build_profiles, cohort_retention

__all__ += ["ProfileConfig", "build_profiles", "cohort_retention", "profiles"]

# --- uplift: retention labels, experiment uplift, targeting curves, off-policy (issue 6) ---
from recsys import uplift

__all__ += ["uplift"]
