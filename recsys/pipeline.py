"""Deprecated: the demo moved to `recsys.demo`.

``churn_calibration`` moved to `recsys.evaluation`. The old names still work
here, with a DeprecationWarning.
"""

from __future__ import annotations

import importlib
from typing import Any

from recsys._deprecation import warn_renamed

_MOVED = {
    "DemoConfig": "recsys.demo",
    "DemoResult": "recsys.demo",
    "churn_calibration": "recsys.evaluation",
    "demo_models": "recsys.demo",
    "evaluate_models": "recsys.demo",
    "fit_models": "recsys.demo",
    "load_and_clean": "recsys.demo",
    "profile_customers": "recsys.demo",
    "recommend_everyone": "recsys.demo",
    "run_demo": "recsys.demo",
    "summarize_interactions": "recsys.demo",
    "best_model_name": "recsys.demo",
}

__all__: list[str] = []


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _MOVED[name]
    warn_renamed(name, f"{module}.{name}", __name__)
    return getattr(importlib.import_module(module), name)
