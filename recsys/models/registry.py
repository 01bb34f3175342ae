"""The one list of recommender classes: every concrete model registers itself.

Persistence (class names in saved files), the ``recsys`` command (``--model``
names) and the model contract test all read this registry, so a new model is
available everywhere once its module is imported by `recsys.models`.

Examples
--------
>>> import recsys as rs
>>> from recsys.models import registry
>>> registry.get("als") is rs.ALS and registry.get("ALS") is rs.ALS
True
>>> "repeat_explore" in registry.names()
True
"""

from __future__ import annotations

from typing import Any

from recsys.exceptions import InputDataError

__all__ = ["classes", "get", "name_of", "names", "register"]

_CLASSES: dict[str, type] = {}  # registry name -> class, in registration order


def register(cls: type, name: str) -> None:
    """Record ``cls`` under ``name`` (called by ``Recommender.__init_subclass__``)."""
    other = _CLASSES.get(name)
    if other is not None and other is not cls:
        raise TypeError(f"model name {name!r} is taken by {other.__qualname__}")
    _CLASSES[name] = cls


def names() -> tuple[str, ...]:
    """Registry names of every model, in registration order (``"als"``, ``"bpr"``, ...)."""
    return tuple(_CLASSES)


def classes() -> tuple[type, ...]:
    """Every registered model class."""
    return tuple(_CLASSES.values())


def name_of(cls: type) -> str:
    """The registry name of a model class."""
    for name, registered in _CLASSES.items():
        if registered is cls:
            return name
    raise KeyError(cls.__qualname__)


def get(name: Any) -> type:
    """The model class registered as ``name`` (registry name or class name).

    Raises
    ------
    InputDataError
        ``name`` is not a string or names no model (the message lists them).
    """
    if isinstance(name, str):
        if name in _CLASSES:
            return _CLASSES[name]
        for cls in _CLASSES.values():
            if cls.__name__ == name:
                return cls
    raise InputDataError(f"unknown model {name!r}; choose from {', '.join(_CLASSES)}")
