"""The one place that imports matplotlib (a base dependency, imported only when a plot is drawn)."""

from __future__ import annotations

from typing import Any

__all__ = ["pyplot"]


def pyplot() -> Any:
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib, a dependency of recsys that is missing here: "
            "pip install matplotlib"
        ) from err
    return plt
