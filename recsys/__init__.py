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

# --- models (recommenders) ---------------------------------------------------------------
from recsys import models
from recsys.models import (
    ALS,
    BPR,
    ItemKNN,
    Popular,
    Recommender,
    RepeatExplore,
    Repurchase,
    load_model,
)

__all__ += [
    "ALS",
    "BPR",
    "ItemKNN",
    "Popular",
    "Recommender",
    "RepeatExplore",
    "Repurchase",
    "load_model",
    "models",
]

# --- evaluation (issue 5): rs.evaluation subpackage and rs.evaluate ---
from recsys import evaluation  # noqa: E402
from recsys.evaluation import evaluate  # noqa: E402

__all__ += ["evaluate", "evaluation"]
