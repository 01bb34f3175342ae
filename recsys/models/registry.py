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

A *spec* names a model with its settings: the registry name, or a call of it with
keyword arguments whose values are literals. `build` makes the model of a spec,
`spec_of` writes the one canonical spec of a model (the parameters that differ from
the class defaults, sorted, a whole number written as a float where the default is
one), so one model has one name everywhere:

>>> model = registry.build("buyagain(trend_window_days=30, diversity=0.3)")
>>> registry.spec_of(model)
'buyagain(diversity=0.3, trend_window_days=30.0)'
>>> registry.spec_of(rs.BuyAgain(diversity=0)), registry.base_name("als(factors=64)")
('buyagain', 'als')
"""

from __future__ import annotations

import ast
import importlib
from typing import Any, Literal

from recsys.exceptions import InputDataError

__all__ = [
    "Kind",
    "base_name",
    "build",
    "canonical",
    "classes",
    "get",
    "kind_of",
    "name_of",
    "names",
    "parse",
    "register",
    "spec_of",
]

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


def parse(spec: Any) -> tuple[str, dict[str, Any]]:
    """(model name, keyword values) of a spec, checked for form only (`build` checks
    the name and the parameters).

    Examples
    --------
    >>> from recsys.models import registry
    >>> registry.parse("als(factors=64, use_cg=False)")
    ('als', {'factors': 64, 'use_cg': False})
    """
    if not isinstance(spec, str):
        raise InputDataError(f"model spec {spec!r}: expected a string such as 'als(factors=64)'")
    try:
        tree = ast.parse(spec.strip(), mode="eval").body
    except SyntaxError:
        raise InputDataError(
            f"model spec {spec!r}: not a model name or a call such as 'als(factors=64)'"
        ) from None
    if isinstance(tree, ast.Name):
        return tree.id, {}
    if not isinstance(tree, ast.Call) or not isinstance(tree.func, ast.Name):
        raise InputDataError(
            f"model spec {spec!r}: expected a model name or a call of one such as 'als(factors=64)'"
        )
    if tree.args or any(kw.arg is None for kw in tree.keywords):
        raise InputDataError(
            f"model spec {spec!r}: give the parameters by keyword (name=value), "
            "not by position or **"
        )
    params: dict[str, Any] = {}
    for kw in tree.keywords:
        try:
            params[str(kw.arg)] = ast.literal_eval(kw.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise InputDataError(
                f"model spec {spec!r}: the value of {kw.arg} is not a literal "
                f"({ast.unparse(kw.value)}); use a number, string, True/False/None, "
                "or a tuple/list/dict of them"
            ) from None
    return tree.func.id, params


def base_name(spec: str) -> str:
    """The registry name of the model a spec names (``"als(factors=64)"`` -> ``"als"``).

    Raises
    ------
    InputDataError
        ``spec`` is malformed or names no recommender.
    """
    return name_of(get(parse(spec)[0]))


def build(spec: str, kind: Kind = "recommender") -> Any:
    """The unfitted model a spec names: ``"als"`` or ``"als(factors=64, iterations=10)"``.

    The spec is parsed, never evaluated: a model name (registry or class name) or a
    call of one with keyword arguments whose values are literals.

    Raises
    ------
    InputDataError
        The spec is malformed, names no model of ``kind`` (the message lists them) or a
        parameter the model does not have (the message lists its parameters), or a value
        is not a literal or not one the model accepts.

    Examples
    --------
    >>> from recsys.models import registry
    >>> registry.build("itemknn(neighbors=50)").neighbors
    50
    """
    name, params = parse(spec)
    cls = get(name, kind)
    accepted = cls().get_params(deep=False)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InputDataError(
            f"model spec {spec!r}: {name_of(cls)} has no parameter {unknown[0]!r}; "
            f"its parameters: {', '.join(accepted)}"
        )
    model = cls(**params)
    # The values are checked here (a recommender's ``check_params``), not at the fit.
    return model.check_params() if hasattr(model, "check_params") else model


def spec_of(model: Any) -> str:
    """The canonical spec of a model: its registry name, followed by the parameters that
    differ from the class defaults in name order (the plain name when none differ).

    ``build(spec_of(model))`` has ``model``'s parameters.

    Raises
    ------
    InputDataError
        A parameter that differs from the default is not a literal (a model or an
        array), so no spec can name it.
    """
    cls = type(model)
    defaults = cls().get_params(deep=False)
    changed = {
        key: _as_default_type(value, defaults.get(key))
        for key, value in model.get_params(deep=False).items()
        if not _same(value, defaults.get(key))
    }
    name = name_of(cls)
    for key, value in changed.items():
        try:
            literal = ast.literal_eval(repr(value)) == value
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            literal = False
        if not literal:
            raise InputDataError(
                f"{cls.__name__} parameter {key}={value!r} is not a literal: no spec names "
                "this model"
            )
    if not changed:
        return name
    return f"{name}({', '.join(f'{k}={changed[k]!r}' for k in sorted(changed))})"


def _as_default_type(value: Any, default: Any) -> Any:
    """``30`` for a parameter whose default is a float is written ``30.0``: one spelling."""
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _same(value: Any, default: Any) -> bool:
    if type(value) is not type(default) and not (
        isinstance(value, (int, float)) and isinstance(default, (int, float))
    ):
        return False
    try:
        return bool(value == default)
    except (ValueError, TypeError):  # arrays: no single truth value
        return False


def canonical(spec: str, kind: Kind = "recommender") -> str:
    """The canonical form of a spec (`spec_of` of the model it builds).

    Examples
    --------
    >>> from recsys.models import registry
    >>> registry.canonical("BuyAgain( trend_window_days=30 , diversity=0.3)")
    'buyagain(diversity=0.3, trend_window_days=30.0)'
    """
    return spec_of(build(spec, kind))
