"""recsys: personalized recommendation and customer retention for e-commerce.

>>> import recsys as rs
>>> purchases, report = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
>>> inter = rs.Interactions.from_purchases(purchases, weight="count")
"""

import recsys._progress  # noqa: F401  (first: tqdm.auto without a notebook warning)
from recsys import (
    actions,
    datasets,
    distributed,
    evaluation,
    exceptions,
    models,
    profiles,
    scoring,
    stats,
    uplift,
)
from recsys._version import __version__
from recsys.actions import retention_actions
from recsys.data import CleaningReport, IdMap, Interactions, clean_purchases, read_table
from recsys.evaluation import evaluate
from recsys.exceptions import (
    DataWarning,
    InputDataError,
    ModelFormatError,
    NotFittedError,
    RecsysError,
    UnknownIdError,
)
from recsys.models import (
    ALS,
    BPR,
    EASE,
    Blend,
    BuyAgain,
    ItemKNN,
    Popular,
    Recommender,
    RepeatExplore,
    Repurchase,
    load_model,
)
from recsys.profiles import ProfileConfig, build_profiles, cohort_retention, due_items

__all__ = [
    "ALS",
    "BPR",
    "EASE",
    "Blend",
    "BuyAgain",
    "CleaningReport",
    "DataWarning",
    "IdMap",
    "InputDataError",
    "Interactions",
    "ItemKNN",
    "ModelFormatError",
    "NotFittedError",
    "Popular",
    "ProfileConfig",
    "Recommender",
    "RecsysError",
    "RepeatExplore",
    "Repurchase",
    "UnknownIdError",
    "__version__",
    "actions",
    "build_profiles",
    "clean_purchases",
    "cohort_retention",
    "datasets",
    "distributed",
    "due_items",
    "evaluate",
    "evaluation",
    "exceptions",
    "load_model",
    "models",
    "profiles",
    "read_table",
    "retention_actions",
    "scoring",
    "stats",
    "uplift",
]
