"""One convention for the customer models: `CustomerModel`.

`BGNBD`, `GammaGamma`, the churn model (`ChurnCalibrator`) and the one-time-buyer
survival curve follow scikit-learn's manners, as the recommenders do: ``__init__``
stores hyperparameters only; ``fit`` validates them and the data, starts over and
returns ``self``; fitted state ends in ``_``; a method that needs a fit raises
`NotFittedError` before it. Every model has ``get_params`` / ``set_params``,
``summary()`` (its parameters with standard errors, where it has any) and
``save(path)`` / `load` in the recommenders' file format (one ``.npz`` archive: numpy
arrays and JSON metadata with a format version and a checksum, never pickle).

A model declares its fitted state as a schema (`StateField` per attribute); saving
and loading are generated from it, and a loaded file is checked against it: a
damaged, foreign or crafted file raises `ModelFormatError`.

Examples
--------
>>> import tempfile, pathlib, numpy as np, recsys as rs
>>> x = np.array([0, 1, 3, 0, 2, 5, 1, 0, 4, 2])
>>> t_x = np.array([0, 10, 30, 0, 25, 38, 5, 0, 35, 12.0])
>>> bg = rs.profiles.BGNBD().fit(x, t_x, np.full(10, 40.0))
>>> path = pathlib.Path(tempfile.mkdtemp()) / "bgnbd.npz"
>>> bg.save(path)
>>> rs.profiles.load(path).params_ == bg.params_
True
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import stats

from recsys._io import atomic_path
from recsys._validation import Interval, validate_params
from recsys._version import __version__
from recsys.exceptions import InputDataError, ModelFormatError, NotFittedError
from recsys.models.persistence import FORMAT, FORMAT_VERSION, check_array

__all__ = ["CustomerModel", "StateField", "as_float_array", "load"]

#: ``kind`` of a customer-model file in the recommenders' container format
#: (`recsys.models.persistence.FORMAT`, ``FORMAT_VERSION``); recommender files have none.
KIND = "customer-model"

_REGISTRY: dict[str, type[CustomerModel]] = {}
_M = TypeVar("_M", bound="CustomerModel")


@dataclass(frozen=True)
class StateField:
    """One fitted attribute of a customer model, as saved and checked on load.

    Attributes
    ----------
    kind
        ``"float"``, ``"int"``, ``"bool"``, ``"str"`` (JSON scalars), ``"params"`` (a
        JSON object of floats with exactly ``keys``) or ``"array"`` (a float64 numpy
        array of ``ndim`` dimensions).
    keys
        The keys of a ``"params"`` object.
    ndim
        Dimensions of an ``"array"``.
    low
        Inclusive lower bound of the value(s).
    positive
        Values must be > 0.
    finite
        Refuse NaN and infinities.
    options
        The allowed values of a ``"str"``.
    """

    kind: Literal["float", "int", "bool", "str", "params", "array"]
    keys: tuple[str, ...] = ()
    ndim: int = 1
    low: float | None = None
    positive: bool = False
    finite: bool = True
    options: tuple[str, ...] = ()


def as_float_array(name: str, values: Any) -> NDArray[np.float64]:
    """``values`` as a flat float64 array, or `InputDataError` naming ``name``.

    Text (even numeric text), booleans and objects that are not numbers are refused;
    ``None`` becomes NaN (refused by the callers' finiteness checks).

    Examples
    --------
    >>> as_float_array("x", [1, 2]).tolist()
    [1.0, 2.0]
    >>> as_float_array("x", ["1", "2"])
    Traceback (most recent call last):
    ...
    recsys.exceptions.InputDataError: x must be numbers, got text (e.g. '1')
    """
    if isinstance(values, pl.Series):
        if not values.dtype.is_numeric():
            raise InputDataError(f"{name} must be a numeric column, got dtype {values.dtype}")
        values = values.cast(pl.Float64).to_numpy()
    if isinstance(values, (str, bytes)):
        raise InputDataError(f"{name} must be numbers, got text {values!r}")
    raw = np.asarray(values)
    if raw.dtype.kind in "USb":
        first = raw.ravel()[0] if raw.size else ""
        raise InputDataError(f"{name} must be numbers, got text (e.g. {str(first)!r})")
    if raw.dtype.kind == "O":
        bad = [v for v in raw.ravel() if v is not None and not _is_number(v)]
        if bad:
            raise InputDataError(
                f"{name} must be numbers, got {type(bad[0]).__name__} values (e.g. {bad[0]!r})"
            )
    try:
        return np.asarray(raw, dtype=np.float64).ravel()
    except (TypeError, ValueError) as err:
        raise InputDataError(f"{name} must be numbers: {err}") from err


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _checksum(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of the metadata and every array's name, dtype, shape and bytes (the
    recommenders' file checksum)."""
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{a.dtype.str}|{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


class CustomerModel:
    """Base of the customer models: parameters, fitted state, summary, save and load.

    Subclasses declare ``_parameter_constraints`` (checked by ``fit`` and on load) and
    ``_state_schema`` (fitted attribute -> `StateField`), and may override
    `_parameter_table` (for `summary`) and `_check_state` (consistency of a loaded
    state).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}
    _state_schema: ClassVar[dict[str, StateField]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    # ------------------------------------------------------------- parameters
    @classmethod
    def _param_names(cls) -> list[str]:
        if cls.__init__ is object.__init__:
            return []
        signature = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return [
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in kinds
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__`` (``deep`` for scikit-learn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self: _M, **params: Any) -> _M:
        """Set hyperparameters; the model must be fitted again to use them."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise InputDataError(
                    f"{type(self).__name__} has no parameter {name!r}; valid: {valid}"
                )
            setattr(self, name, value)
        return self

    def _validate_params(self) -> None:
        validate_params(type(self).__name__, self.get_params(), self._parameter_constraints)

    def _start_fit(self) -> None:
        """Validate the parameters and forget any earlier fit (a second fit starts over)."""
        self._validate_params()
        for name in self._state_schema:
            self.__dict__.pop(name, None)

    @property
    def is_fitted(self) -> bool:
        """Whether every fitted attribute of the schema is set."""
        return all(name in self.__dict__ for name in self._state_schema)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"

    # ---------------------------------------------------------------- summary
    def _parameter_table(self) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]]:
        """Names, estimates and covariance matrix of the model's parameters."""
        raise NotImplementedError(f"{type(self).__name__} has no parameter table")

    def summary(self, confidence: float = 0.95) -> pl.DataFrame:
        """The fitted parameters with standard errors and Wald intervals.

        Standard errors come from the inverse Hessian of the negative log-likelihood at
        the optimum (NaN where the data do not identify the parameters).

        Returns
        -------
        pl.DataFrame
            ``parameter, estimate, std_error, ci_low, ci_high`` (estimate +- z *
            std_error at ``confidence``).
        """
        validate_params(
            "summary",
            {"confidence": confidence},
            {"confidence": [Interval(float, 0, 1, closed="neither")]},
        )
        self._check_fitted()
        names, estimates, cov = self._parameter_table()
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        se = np.where(np.isfinite(np.diag(cov)), se, np.nan)
        z = float(stats.norm.ppf(0.5 + confidence / 2.0))
        return pl.DataFrame(
            {
                "parameter": names,
                "estimate": np.asarray(estimates, dtype=np.float64),
                "std_error": se,
                "ci_low": estimates - z * se,
                "ci_high": estimates + z * se,
            }
        )

    # ----------------------------------------------------------- persistence
    def _check_state(self) -> None:
        """Consistency of a loaded state beyond the schema (raise `ModelFormatError`)."""

    def save(self, path: Any) -> None:
        """Write the fitted model to ``path`` (one ``.npz`` file, written atomically)."""
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {}
        state: dict[str, Any] = {}
        for name, field in self._state_schema.items():
            value = getattr(self, name)
            if field.kind == "array":
                arrays[f"model.{name}"] = np.ascontiguousarray(value, dtype=np.float64)
            elif field.kind == "params":
                state[name] = {k: float(value[k]) for k in field.keys}
            else:
                state[name] = value
        meta: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": KIND,
            "model": {
                "class": type(self).__name__,
                "params": _encode_params(self.get_params(deep=False)),
                "state": state,
            },
            "recsys_version": __version__,
        }
        meta["checksum"] = _checksum(meta, arrays)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            payload = {"__meta__": np.asarray(json.dumps(meta)), **arrays}
            savez: Any = np.savez_compressed
            savez(fh, **payload)

    @classmethod
    def load(cls: type[_M], path: Any) -> _M:
        """Load a model saved with `save` (of this class)."""
        model = load(path)
        if not isinstance(model, cls):
            raise ModelFormatError(
                f"{str(path)!r} holds a {type(model).__name__}, not a {cls.__name__}"
            )
        return model


def _encode_params(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in params.items():
        if isinstance(value, tuple):
            value = list(value)
        if not (value is None or isinstance(value, (bool, int, float, str, list))):
            raise ModelFormatError(f"cannot save parameter {name}={value!r} as JSON")
        out[name] = value
    return out


def _read_archive(path: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    name = repr(str(path))
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError as err:
        raise ModelFormatError(f"no model file at {name}") from err
    except Exception as err:  # every reader failure of an untrusted file
        raise ModelFormatError(f"{name} is not a readable model file: {err}") from err
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ModelFormatError(f"{name} is not a recsys model file (not an .npz archive)")
    try:
        with archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as err:
        raise ModelFormatError(f"{name} is damaged: {type(err).__name__}: {err}") from err
    raw = arrays.pop("__meta__", None)
    if raw is None or raw.dtype.kind != "U" or raw.ndim != 0:
        raise ModelFormatError(f"{name} is not a recsys model file (no metadata)")
    try:
        meta = json.loads(str(raw))
    except ValueError as err:
        raise ModelFormatError(f"{name}: unreadable model metadata: {err}") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFormatError(f"{name} is not a recsys model file (format mismatch)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{name} has model format version {meta.get('format_version')!r}; "
            f"this recsys reads version {FORMAT_VERSION}"
        )
    stored = meta.pop("checksum", None)
    if stored != _checksum(meta, arrays):
        raise ModelFormatError(f"{name}: checksum mismatch: the file is damaged or was altered")
    if meta.get("kind") != KIND:
        raise ModelFormatError(
            f"{name} is a recommender file, not a customer model: load it with rs.load_model"
        )
    return meta, arrays


def _decode_field(name: str, field: StateField, value: Any) -> Any:
    if field.kind == "params":
        if not isinstance(value, dict) or sorted(value) != sorted(field.keys):
            raise ModelFormatError(f"state {name!r} must hold exactly the keys {field.keys}")
        return {k: _decode_number(f"{name}[{k!r}]", field, value[k], float) for k in field.keys}
    if field.kind == "float":
        return _decode_number(name, field, value, float)
    if field.kind == "int":
        if not (isinstance(value, int) and not isinstance(value, bool)):
            raise ModelFormatError(f"state {name!r} must be an integer, got {value!r}")
        return _decode_number(name, field, value, int)
    if field.kind == "bool":
        if not isinstance(value, bool):
            raise ModelFormatError(f"state {name!r} must be true or false, got {value!r}")
        return value
    if not isinstance(value, str) or (field.options and value not in field.options):
        allowed = f"one of {field.options}" if field.options else "text"
        raise ModelFormatError(f"state {name!r} must be {allowed}, got {value!r}")
    return value


def _decode_number(name: str, field: StateField, value: Any, kind: type) -> Any:
    if not _is_number(value):
        raise ModelFormatError(f"state {name!r} must be a number, got {value!r}")
    v = float(value)
    if field.finite and not math.isfinite(v):
        raise ModelFormatError(f"state {name!r} must be finite, got {value!r}")
    if field.positive and not v > 0:
        raise ModelFormatError(f"state {name!r} must be > 0, got {value!r}")
    if field.low is not None and not v >= field.low:
        raise ModelFormatError(f"state {name!r} must be >= {field.low}, got {value!r}")
    return kind(value)


def load(path: Any) -> CustomerModel:
    """Load a customer model saved with ``model.save(path)``.

    Raises
    ------
    ModelFormatError
        The file is missing, damaged (checksum), not a customer-model file, of an
        unsupported format version, or its parameters or state are not what the
        model's schema declares (a crafted file).
    """
    meta, arrays = _read_archive(path)
    name = repr(str(path))
    node = meta.get("model")
    if not isinstance(node, dict):
        raise ModelFormatError(f"{name}: no model description")
    cls = _REGISTRY.get(str(node.get("class")))
    if cls is None:
        raise ModelFormatError(f"{name}: unknown customer model class {node.get('class')!r}")
    params, state = node.get("params"), node.get("state")
    if not isinstance(params, dict) or not isinstance(state, dict):
        raise ModelFormatError(f"{name}: model parameters or state missing")
    try:
        unknown = sorted(set(params) - set(cls._param_names()))
        if unknown:
            raise ModelFormatError(f"unknown parameters {unknown} for {cls.__name__}")
        model = cls(**params)
        model._validate_params()
        expected_arrays = {
            f"model.{k}" for k, field in cls._state_schema.items() if field.kind == "array"
        }
        extra = sorted((set(arrays) - expected_arrays) | (set(state) - set(cls._state_schema)))
        if extra:
            raise ModelFormatError(f"unexpected entries {extra}")
        for attr, field in cls._state_schema.items():
            if field.kind == "array":
                key = f"model.{attr}"
                value = check_array(
                    arrays,
                    key,
                    kind="f",
                    shape=(None,) * field.ndim,
                    finite=field.finite,
                    low=field.low,
                )
                if field.positive and np.any(value <= 0):
                    raise ModelFormatError(f"array {key!r} must be > 0")
                setattr(model, attr, np.asarray(value, dtype=np.float64))
            else:
                if attr not in state:
                    raise ModelFormatError(f"state {attr!r} is missing")
                setattr(model, attr, _decode_field(attr, field, state[attr]))
        model._check_state()
    except InputDataError as err:
        raise ModelFormatError(f"{name}: invalid parameters: {err}") from err
    except ModelFormatError as err:
        raise ModelFormatError(f"{name}: {err}") from err
    except (KeyError, ValueError, TypeError, IndexError) as err:
        raise ModelFormatError(f"{name}: inconsistent model file: {err!r}") from err
    return model
