"""The one list of model classes: every concrete model registers itself.

Recommenders register as ``kind="recommender"``, the customer models of
`recsys.profiles` as ``kind="customer"``. Persistence (class names in saved files,
for either kind), the ``recsys`` command (``--model`` names: recommenders) and the
model contract test all read this registry, so a new model is available everywhere
once its module is imported by `recsys`.

Examples
--------
>>> import recsys as rs
>>> from recsys.models import registry
>>> registry.get("als") is rs.ALS and registry.get("ALS") is rs.ALS
True
>>> "repeat_explore" in registry.names()
True
>>> registry.kind_of(rs.profiles.BGNBD), "BGNBD" in registry.names()
('customer', False)
"""

from __future__ import annotations

import importlib
from typing import Any, Literal

from recsys.exceptions import InputDataError

__all__ = ["Kind", "classes", "get", "kind_of", "name_of", "names", "register"]

Kind = Literal["recommender", "customer"]

_CLASSES: dict[str, type] = {}  # registry name -> class, in registration order
_KINDS: dict[type, Kind] = {}
#: The package whose import registers the models of each kind, imported on first need
#: (``recsys`` imports its subpackages lazily, and `recsys.models` sits below
#: `recsys.profiles`, so it cannot import it).
_PACKAGES: dict[Kind, str] = {"recommender": "recsys.models", "customer": "recsys.profiles"}


def _import(kind: Kind | None) -> None:
    for k, package in _PACKAGES.items():
        if kind in (None, k):
            importlib.import_module(package)


def register(cls: type, name: str, kind: Kind = "recommender") -> None:
    """Record ``cls`` under ``name`` (called by ``Recommender.__init_subclass__`` and
    ``CustomerModel.__init_subclass__``)."""
    other = _CLASSES.get(name)
    if other is not None and other is not cls:
        raise TypeError(f"model name {name!r} is taken by {other.__qualname__}")
    _CLASSES[name] = cls
    _KINDS[cls] = kind


def names(kind: Kind = "recommender") -> tuple[str, ...]:
    """Registry names of every model of ``kind``, in registration order (``"als"``,
    ``"bpr"``, ...)."""
    _import(kind)
    return tuple(name for name, cls in _CLASSES.items() if _KINDS[cls] == kind)


def classes(kind: Kind = "recommender") -> tuple[type, ...]:
    """Every registered model class of ``kind``."""
    _import(kind)
    return tuple(cls for cls in _CLASSES.values() if _KINDS[cls] == kind)


def kind_of(cls: type) -> Kind:
    """Whether a registered class is a ``"recommender"`` or a ``"customer"`` model."""
    if cls not in _KINDS:
        raise KeyError(cls.__qualname__)
    return _KINDS[cls]


def name_of(cls: type) -> str:
    """The registry name of a model class."""
    for name, registered in _CLASSES.items():
        if registered is cls:
            return name
    raise KeyError(cls.__qualname__)


def _find(name: str, kind: Kind | None) -> type | None:
    found = _CLASSES.get(name)
    if found is None:
        found = next((c for c in _CLASSES.values() if c.__name__ == name), None)
    return found if found is not None and kind in (None, _KINDS[found]) else None


def get(name: Any, kind: Kind | None = "recommender") -> type:
    """The model class registered as ``name`` (registry name or class name).

    ``kind=None`` looks among every kind (a model file names either).

    Raises
    ------
    InputDataError
        ``name`` is not a string or names no model of ``kind`` (the message lists them).
    """
    if isinstance(name, str):
        found = _find(name, kind)
        if found is None:
            # Import the packages only when needed: loading a recommender's file in a
            # Ray worker must not import every customer model (scipy.stats and more).
            _import(kind)
            found = _find(name, kind)
        if found is not None:
            return found
    choices = tuple(_CLASSES) if kind is None else names(kind)
    raise InputDataError(f"unknown model {name!r}; choose from {', '.join(choices)}")
