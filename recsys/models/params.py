"""Nested hyperparameters: a model's sub-models and named parts, scikit-learn style.

`Recommender.get_params` / ``set_params`` / ``clone`` reach into a parameter that is
a model (``<parameter>__<name>``) or a list of ``(name, model)`` pairs, as in `Blend`
(``<name>`` and ``<name>__<parameter>``); the walking is here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recsys._validation import Constraint
from recsys.exceptions import InputDataError

if TYPE_CHECKING:
    from recsys.models.base import Recommender

__all__ = ["NamedParts", "cloned", "named_parts", "set_params", "with_nested"]


def _is_model(value: Any) -> bool:
    from recsys.models.base import Recommender  # base imports this module

    return isinstance(value, Recommender)


def named_parts(value: Any) -> list[tuple[str, Recommender]]:
    """``value`` as a list of ``(name, model)`` pairs if it is one, else ``[]``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        return []
    if all(
        isinstance(pair, (list, tuple))
        and len(pair) == 2
        and isinstance(pair[0], str)
        and _is_model(pair[1])
        for pair in value
    ):
        return [(str(name), model) for name, model in value]
    return []


class NamedParts(Constraint):
    """A non-empty list of ``(name, model)`` pairs with distinct names (no ``"__"``)."""

    def accepts(self, value: Any) -> bool:
        names = [name for name, _ in named_parts(value)]
        return (
            bool(names)
            and len(set(names)) == len(names)
            and all(name and "__" not in name for name in names)
        )

    def describe(self) -> str:
        return (
            'a non-empty list of (name, model) pairs with distinct names, e.g. [("als", rs.ALS())]'
        )


def with_nested(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` and every nested model's as ``<prefix>__<name>`` (`Recommender.get_params`)."""
    params = dict(params)
    for name, value in list(params.items()):
        nested = [(name, value)] if _is_model(value) else named_parts(value)
        for prefix, model in nested:
            if prefix != name:
                params[prefix] = model
            params.update({f"{prefix}__{key}": v for key, v in model.get_params(deep=True).items()})
    return params


def set_params(model: Recommender, valid: list[str], params: dict[str, Any]) -> None:
    """`Recommender.set_params` on ``model``, whose own parameters are ``valid``."""
    later: dict[str, Any] = {}
    for name, value in params.items():
        if name in valid:
            setattr(model, name, value)
        else:
            later[name] = value
    parts = {part: param for param in valid for part, _ in named_parts(getattr(model, param))}
    nested: dict[str, dict[str, Any]] = {}
    for name, value in later.items():
        outer, _, inner = name.partition("__")
        if outer not in valid and outer not in parts:
            raise InputDataError(
                f"{type(model).__name__} has no parameter or part {outer!r}; valid: "
                f"{valid + list(parts)}"
            )
        if inner:
            nested.setdefault(outer, {})[inner] = value
        else:  # replace a named part
            param = parts[outer]
            pairs = [(n, value if n == outer else m) for n, m in getattr(model, param)]
            setattr(model, param, pairs)
    for outer, inner_params in nested.items():
        sub = (
            dict(named_parts(getattr(model, parts[outer])))[outer]
            if outer in parts
            else (getattr(model, outer))
        )
        if not _is_model(sub):
            raise InputDataError(
                f"{type(model).__name__}.{outer} is {sub!r}, not a model: cannot set "
                f"{sorted(inner_params)} on it"
            )
        sub.set_params(**inner_params)


def cloned(value: Any) -> Any:
    """``value`` with every model in it (itself, or in a list / tuple) cloned."""
    if _is_model(value):
        return value.clone()
    if isinstance(value, (list, tuple)):
        return type(value)(cloned(v) for v in value)
    return value
