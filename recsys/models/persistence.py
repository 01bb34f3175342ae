"""Saving and loading fitted models: one ``.npz`` file, no pickle, checked on load.

One format for every model of `recsys.models.registry`: the recommenders and the
customer models of `recsys.profiles` (BG/NBD, Gamma-Gamma, the churn model, items
due, ...). Nothing here knows a model: what is saved, and how each array is checked
on load, is generated from the model's declared ``schema`` (`recsys.models.schema`);
`load_model` finds the class in the registry from the file's metadata.

Layout of the file (a numpy ``.npz`` archive written with ``allow_pickle=False``),
format version 3:

- ``__meta__``: a 0-d unicode array holding JSON ``{"format": "recsys-model",
  "format_version": 3, "model": NODE, "reference_time": ..., "recsys_version": ...,
  "checksum": ...}`` where ``NODE = {"class": ..., "params": ..., "state": {fitted
  values}, "parts": {name: NODE | [NODE, ...] | null}}`` describes the model and,
  recursively, the sub-models its schema declares;
- recommenders only (``reference_time`` is ``null`` for a customer model):
  ``users``, ``items``: the id maps (int64 or unicode arrays);
  ``user_items.data|indices|indptr|shape``: the training matrix;
  ``item_popularity``: the fallback ranking;
- ``<path>model.<name>``: each model's own arrays, ``<path>`` locating a sub-model
  (``""`` for the saved model, ``"models[1]."`` for the second part of a blend).

``checksum`` is the SHA-256 of the metadata (without the checksum) and of every
array's name, dtype, shape and bytes: a damaged byte anywhere is detected, not only
the ones that break decompression. A file is untrusted input even with a valid
checksum (anyone can re-sign one): the hyperparameters go through the model's own
parameter validation, fitted values through their declared constraints, and every
array is checked against its declared dtype, shape and values (CSR structure,
finiteness, signs) before a Numba kernel sees it, then the model's own
``_check_state`` (consistency across fitted values); any problem raises
`ModelFormatError`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from recsys._io import read_archive, verify_checksum, write_archive
from recsys._version import __version__
from recsys.data.idmap import IdMap
from recsys.exceptions import InputDataError, ModelFormatError
from recsys.models import registry, schema
from recsys.models.schema import check_array, check_csr

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "check_array",
    "check_csr",
    "from_config",
    "load_model",
    "model_from_arrays",
    "read_model_file",
    "save_model",
    "to_arrays",
    "to_config",
]

FORMAT = "recsys-model"
FORMAT_VERSION = 3
_SHARED = ("users_", "items_", "user_items_", "item_popularity_", "reference_time_")


# ----------------------------------------------------------------- parameters
def _encode_value(value: Any) -> Any:
    if hasattr(value, "get_params") and hasattr(value, "registry_name"):
        return {"__model__": type(value).__name__, "params": _encode_params(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode_value(v) for v in value]}
    if isinstance(value, list):
        return [_encode_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ModelFormatError(f"cannot save {type(value).__name__} value {value!r} as JSON")


def _encode_params(model: Any) -> dict[str, Any]:
    out = {}
    for name, value in model.get_params(deep=False).items():
        try:
            out[name] = _encode_value(value)
        except ModelFormatError as err:
            raise ModelFormatError(f"parameter {name} of {type(model).__name__}: {err}") from err
    return out


def to_config(model: Any) -> dict[str, Any]:
    """A model's class and hyperparameters as JSON-able data (nested models included).

    ``from_config(to_config(model))`` is an unfitted copy; the dict can be stored as
    JSON, e.g. next to an experiment's results.

    Examples
    --------
    >>> import json, recsys as rs
    >>> config = rs.models.to_config(rs.RepeatExplore(explore=rs.ALS(factors=8)))
    >>> config["params"]["explore"]["params"]["factors"]
    8
    >>> rs.models.from_config(json.loads(json.dumps(config))).explore.factors
    8
    """
    return {"__model__": type(model).__name__, "params": _encode_params(model)}


def from_config(config: Any) -> Any:
    """A new, unfitted model from `to_config`'s output (ModelFormatError if invalid)."""
    if not isinstance(config, dict) or "__model__" not in config:
        raise ModelFormatError(f"a model config is a dict with '__model__', got {config!r}")
    return _new_model(config["__model__"], config.get("params"))


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("__tuple__"), list) and len(value) == 1:
        return tuple(_decode_value(v) for v in value["__tuple__"])
    if isinstance(value, dict):
        if "__model__" not in value:
            raise ModelFormatError(f"unexpected object in model parameters: {value!r}")
        return _new_model(value["__model__"], value.get("params"))
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    return value


def _class_of(class_name: Any) -> type:
    if not isinstance(class_name, str):
        raise ModelFormatError(f"model class must be a name, got {class_name!r}")
    try:
        return registry.get(class_name, kind=None)
    except InputDataError as err:
        raise ModelFormatError(f"unknown model class {class_name!r} in the file") from err


def _new_model(class_name: Any, params: Any) -> Any:
    cls = _class_of(class_name)
    if not isinstance(params, dict):
        raise ModelFormatError(f"parameters of {class_name} must be an object, got {params!r}")
    try:
        return cls(**{str(k): _decode_value(v) for k, v in params.items()})
    except TypeError as err:
        raise ModelFormatError(f"parameters {sorted(params)} do not fit {class_name}") from err


# ----------------------------------------------------------------------- save
def _walk_save(model: Any, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    own, values, parts = schema.dump(model)
    arrays.update({f"{prefix}model.{k}": v for k, v in own.items()})
    nodes: dict[str, Any] = {}
    for name, value in parts.items():
        if isinstance(value, list):
            nodes[name] = [
                _walk_save(sub, f"{prefix}{name}[{i}].", arrays) for i, sub in enumerate(value)
            ]
        else:
            nodes[name] = None if value is None else _walk_save(value, f"{prefix}{name}.", arrays)
    return {
        "class": type(model).__name__,
        "params": _encode_params(model),
        "state": values,
        "parts": nodes,
    }


def _is_recommender(cls: type) -> bool:
    return registry.kind_of(cls) == "recommender"


def to_arrays(model: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A fitted model as (metadata, named arrays): what `save_model` writes, unsigned.

    ``model_from_arrays(*to_arrays(model))`` is the same model; with
    `Recommender.select_users` it gives the arrays a worker needs for its users.
    """
    arrays: dict[str, np.ndarray] = {}
    reference_time = None
    if _is_recommender(type(model)):
        matrix = model.user_items_
        arrays = {
            "users": model.users_.to_numpy(),
            "items": model.items_.to_numpy(),
            "user_items.data": matrix.data,
            "user_items.indices": matrix.indices,
            "user_items.indptr": matrix.indptr,
            "user_items.shape": np.asarray(matrix.shape, dtype=np.int64),
            "item_popularity": model.item_popularity_,
        }
        if model.reference_time_:
            reference_time = model.reference_time_.isoformat()
    node = _walk_save(model, "", arrays)
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": node,
        "reference_time": reference_time,
        "recsys_version": __version__,
    }
    for key, value in arrays.items():
        if value.dtype == object:
            raise ModelFormatError(f"cannot save array {key!r} of dtype object without pickle")
    return meta, arrays


def save_model(model: Any, path: Any) -> None:
    """Write a fitted model (recommender or customer model) to ``path`` (one ``.npz``
    file, written atomically; nothing is written if the model cannot be saved)."""
    write_archive(path, *to_arrays(model))


# ----------------------------------------------------------------------- load
def _read(path: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    meta, arrays = read_archive(path)
    if meta.get("format") != FORMAT:
        raise ModelFormatError(f"{str(path)!r} is not a recsys model file (format mismatch)")
    return meta, arrays


def _walk_load(
    node: Any, arrays: dict[str, np.ndarray], prefix: str, shared: dict[str, Any]
) -> Any:
    if not isinstance(node, dict):
        raise ModelFormatError(f"model description at {prefix or 'the root'!r} is not an object")
    model = _new_model(node.get("class"), node.get("params"))
    try:
        model._validate_params()
    except InputDataError as err:
        raise ModelFormatError(f"invalid hyperparameters: {err}") from err
    for attr, shared_value in shared.items():
        setattr(model, attr, shared_value)
    schema.restore_values(model, node.get("state") or {})
    parts = node.get("parts") or {}
    if not isinstance(parts, dict):
        raise ModelFormatError("model parts must be an object")
    value: Any
    for spec in model.schema:
        if not isinstance(spec, schema.Part):
            continue
        if not schema.present(model, spec):
            setattr(model, f"{spec.name}_", None)
            continue
        sub = parts.get(spec.name)
        if spec.many:
            if not isinstance(sub, list) or not sub:
                raise ModelFormatError(f"parts {spec.name!r} must be a non-empty list")
            value = [
                _walk_load(s, arrays, f"{prefix}{spec.name}[{i}].", shared)
                for i, s in enumerate(sub)
            ]
        else:
            value = (
                None if sub is None else _walk_load(sub, arrays, f"{prefix}{spec.name}.", shared)
            )
        setattr(model, f"{spec.name}_", value)
    start = f"{prefix}model."
    schema.restore_arrays(
        model, {k[len(start) :]: v for k, v in arrays.items() if k.startswith(start)}
    )
    model._check_state()
    return model


def _array_keys(model: Any, prefix: str) -> set[str]:
    """The names of the arrays ``model`` (and its parts) keep in a file."""
    keys: set[str] = set()
    for spec in model.schema:
        if not schema.present(model, spec):
            continue
        if isinstance(spec, schema.Array):
            keys.add(f"{prefix}model.{spec.name}")
        elif isinstance(spec, schema.Csr):
            keys.update(f"{prefix}model.{spec.name}.{k}" for k in ("data", "indices", "indptr"))
        elif isinstance(spec, schema.Part):
            value = getattr(model, f"{spec.name}_")
            if isinstance(value, list):
                for i, sub in enumerate(value):
                    keys |= _array_keys(sub, f"{prefix}{spec.name}[{i}].")
            elif value is not None:
                keys |= _array_keys(value, f"{prefix}{spec.name}.")
    return keys


def _refuse_extra(model: Any, arrays: dict[str, np.ndarray], shared: tuple[str, ...]) -> Any:
    extra = sorted(set(arrays) - _array_keys(model, "") - set(shared))
    if extra:
        raise ModelFormatError(f"unexpected arrays {extra} for a {type(model).__name__}")
    return model


_SHARED_ARRAYS = (
    "users",
    "items",
    "user_items.data",
    "user_items.indices",
    "user_items.indptr",
    "user_items.shape",
    "item_popularity",
)


def read_model_file(path: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and arrays of a model file, its format version and checksum checked.

    The first half of `load_model`: ``model_from_arrays(*read_model_file(path))``
    is ``load_model(path)``. `recsys.distributed` reads a file once on the
    driver, shares the arrays through Ray's object store and rebuilds the model on
    each worker with `model_from_arrays`, so the arrays are never copied per
    task and the model itself is never pickled.

    Returns
    -------
    meta, arrays
        The JSON metadata (checksum removed) and the named numpy arrays.

    Raises
    ------
    ModelFormatError
        Missing, foreign, damaged or unsupported file.
    """
    name = repr(str(path))
    meta, arrays = _read(path)
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{name} has model format version {version!r}; this recsys reads "
            f"version {FORMAT_VERSION} only (save the model again with this version)"
        )
    verify_checksum(meta, arrays, path)
    return meta, arrays


def model_from_arrays(
    meta: dict[str, Any], arrays: dict[str, np.ndarray], source: str = "model arrays"
) -> Any:
    """The model described by ``meta`` (from `read_model_file`) over ``arrays``.

    Every array is checked against the metadata as `load_model` does; arrays
    already of the right dtype and layout are used as they are (not copied), so
    read-only arrays shared between processes stay shared.

    Raises
    ------
    ModelFormatError
        An array of the wrong shape, dtype or range, or inconsistent metadata.
    """
    try:
        node = meta.get("model")
        if not isinstance(node, dict):
            raise ModelFormatError("the model description is not an object")
        if not _is_recommender(_class_of(node.get("class"))):
            return _refuse_extra(_walk_load(node, arrays, "", {}), arrays, ())
        shape_arr = check_array(arrays, "user_items.shape", kind="iu", shape=(2,), low=0)
        shape = (int(shape_arr[0]), int(shape_arr[1]))
        users = IdMap(check_array(arrays, "users", kind="iuU", shape=(shape[0],)))
        items = IdMap(check_array(arrays, "items", kind="iuU", shape=(shape[1],)))
        matrix = check_csr(arrays, "user_items", shape)
        if matrix.nnz and matrix.data.min() < 0:
            raise ModelFormatError("array 'user_items.data' holds negative weights")
        popularity = check_array(
            arrays,
            "item_popularity",
            kind="f",
            dtype="float32",
            shape=(shape[1],),
            finite=True,
            low=0.0,
        )
        ref = meta.get("reference_time")
        reference_time = datetime.fromisoformat(ref) if ref else None
        shared = dict(zip(_SHARED, (users, items, matrix, popularity, reference_time), strict=True))
        return _refuse_extra(_walk_load(node, arrays, "", shared), arrays, _SHARED_ARRAYS)
    except ModelFormatError as err:
        raise ModelFormatError(f"{source}: {err}") from err
    except InputDataError as err:  # a customer model's own consistency checks
        raise ModelFormatError(f"{source}: {err}") from err
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as err:
        raise ModelFormatError(f"{source}: inconsistent model file: {err!r}") from err


def load_model(path: Any) -> Any:
    """Load a model saved with ``model.save(path)``: a recommender or a customer model.

    Raises
    ------
    ModelFormatError
        The file is missing, damaged (checksum), not a recsys model, of an
        unsupported format version, or inconsistent (an array of the wrong shape,
        dtype or range).

    Examples
    --------
    >>> import tempfile, pathlib, polars as pl, recsys as rs
    >>> p = pl.DataFrame({"user_id": [1, 2], "item_id": ["a", "b"]})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.npz"
    >>> rs.Popular().fit(rs.Interactions.from_frame(p)).save(path)
    >>> type(rs.load_model(path)).__name__
    'Popular'
    >>> x, t_x = [0, 1, 3, 0, 2, 5, 1, 0, 4, 2], [0, 10, 30, 0, 25, 38, 5, 0, 35, 12.0]
    >>> bg = rs.profiles.BGNBD().fit(x, t_x, [40.0] * 10)
    >>> bg.save(path)
    >>> rs.load_model(path).params_ == bg.params_
    True
    """
    meta, arrays = read_model_file(path)
    return model_from_arrays(meta, arrays, repr(str(path)))
