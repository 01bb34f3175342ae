"""recsys: personalized recommendation and customer retention for e-commerce.

>>> import recsys as rs
>>> purchases, report = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
>>> inter = rs.Interactions.from_purchases(purchases, weight="count")

Importing ``recsys`` loads only the exceptions: each subpackage and each name below
is imported on first use (``rs.ALS``, ``from recsys import evaluate``), so a script
that only cleans data never loads Numba or scipy.stats (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from recsys import exceptions
from recsys._version import __version__
from recsys.exceptions import (
    DataWarning,
    InputDataError,
    MissingColumnError,
    ModelFormatError,
    NotFittedError,
    RecsysError,
    UnknownIdError,
)

if TYPE_CHECKING:
    from recsys import (
        actions,
        data,
        datasets,
        distributed,
        engine,
        evaluation,
        job,
        models,
        profiles,
        report,
        scoring,
        stats,
        uplift,
    )
    from recsys.actions import retention_actions
    from recsys.data import CleaningReport, IdMap, Interactions, clean_purchases, read_table
    from recsys.evaluation import evaluate
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
    "MissingColumnError",
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
    "data",
    "datasets",
    "distributed",
    "due_items",
    "engine",
    "evaluate",
    "evaluation",
    "exceptions",
    "job",
    "load_model",
    "models",
    "profiles",
    "read_table",
    "report",
    "retention_actions",
    "scoring",
    "stats",
    "uplift",
]

_SUBPACKAGES = frozenset(
    (
        "actions",
        "data",
        "datasets",
        "distributed",
        "engine",
        "evaluation",
        "job",
        "models",
        "profiles",
        "report",
        "scoring",
        "stats",
        "uplift",
    )
)
_NAMES_BY_HOME = {
    "recsys.actions": ("retention_actions",),
    "recsys.data": ("CleaningReport", "IdMap", "Interactions", "clean_purchases", "read_table"),
    "recsys.evaluation": ("evaluate",),
    "recsys.models": (
        "ALS",
        "BPR",
        "EASE",
        "Blend",
        "BuyAgain",
        "ItemKNN",
        "Popular",
        "Recommender",
        "RepeatExplore",
        "Repurchase",
        "load_model",
    ),
    "recsys.profiles": ("ProfileConfig", "build_profiles", "cohort_retention", "due_items"),
}
_HOMES = {name: home for home, names in _NAMES_BY_HOME.items() for name in names}


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"recsys.{name}")
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'recsys' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
