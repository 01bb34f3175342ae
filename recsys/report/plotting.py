"""The one place that imports matplotlib (the optional ``plot`` extra)."""

from __future__ import annotations

from typing import Any

__all__ = ["pyplot"]


def pyplot() -> Any:
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib, the optional 'plot' extra: pip install 'recsys[plot]'"
        ) from err
    return plt
