"""Saving and loading fitted recommenders: one ``.npz`` file, no pickle.

Layout of the file (a numpy ``.npz`` archive written with ``allow_pickle=False``):

- ``__meta__``: a 0-d unicode array holding JSON ``{"format": "recsys-model",
  "format_version": 1, "class": ..., "params": ..., "state": ..., "recsys_version": ...}``;
- ``users``, ``items``: the id maps (int64 or unicode arrays);
- ``user_items.data|indices|indptr|shape``: the training matrix;
- ``item_popularity``: the fallback ranking;
- ``model.<name>``: the model's own arrays (sub-models of a blend nest their keys).
"""

from __future__ import annotations

import json
import zipfile
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._io import atomic_path
from recsys.data.idmap import IdMap
from recsys.exceptions import ModelFormatError

__all__ = ["FORMAT", "FORMAT_VERSION", "decode_model", "encode_params", "load_model", "save_model"]

FORMAT = "recsys-model"
FORMAT_VERSION = 1


def _registry() -> dict[str, type]:
    from recsys.models import (
        ALS,
        BPR,
        Blend,
        BuyAgain,
        ItemKNN,
        Popular,
        RepeatExplore,
        Repurchase,
    )

    return {
        cls.__name__: cls
        for cls in (ALS, BPR, Blend, BuyAgain, ItemKNN, Popular, Repurchase, RepeatExplore)
    }


def _encode_value(value: Any) -> Any:
    from recsys.models.base import Recommender

    if isinstance(value, Recommender):
        return {"__model__": type(value).__name__, "params": encode_params(value.get_params())}
    if isinstance(value, (list, tuple)):
        return [_encode_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def encode_params(params: dict[str, Any]) -> dict[str, Any]:
    """JSON-able hyperparameters; nested models (alone or in lists) become dicts."""
    return {name: _encode_value(value) for name, value in params.items()}


def decode_model(class_name: str, params: dict[str, Any]) -> Any:
    """A new, unfitted model of the registered class ``class_name`` (inverse of encoding)."""
    cls = _registry().get(class_name)
    if cls is None:
        raise ModelFormatError(f"unknown model class {class_name!r} in the file")
    return cls(**_decode_params(params))


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "__model__" in value:
        return decode_model(value["__model__"], value["params"])
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    return value


def _decode_params(params: dict[str, Any]) -> dict[str, Any]:
    return {name: _decode_value(value) for name, value in params.items()}


def model_arrays(model: Any, prefix: str = "") -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """All arrays and JSON state of a fitted model, keys prefixed (used for nesting)."""
    arrays, state = model._state()
    return {f"{prefix}model.{k}": np.asarray(v) for k, v in arrays.items()}, state


def restore_arrays(
    model: Any, arrays: dict[str, np.ndarray], state: dict[str, Any], prefix: str = ""
) -> None:
    """Inverse of :func:`model_arrays` (the shared attributes are set by the caller)."""
    own = {k[len(prefix) + 6 :]: v for k, v in arrays.items() if k.startswith(f"{prefix}model.")}
    model._load_state(own, state)


def save_model(model: Any, path: Any) -> None:
    """Write a fitted model to ``path`` (one ``.npz`` file, written atomically)."""
    matrix = model.user_items_
    own, state = model_arrays(model)
    arrays: dict[str, np.ndarray] = {
        "users": model.users_.to_numpy(),
        "items": model.items_.to_numpy(),
        "user_items.data": matrix.data,
        "user_items.indices": matrix.indices,
        "user_items.indptr": matrix.indptr,
        "user_items.shape": np.asarray(matrix.shape, dtype=np.int64),
        "item_popularity": model.item_popularity_,
        **own,
    }
    from recsys import __version__

    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": type(model).__name__,
        "params": encode_params(model.get_params()),
        "state": state,
        "reference_time": model.reference_time_.isoformat() if model.reference_time_ else None,
        "recsys_version": __version__,
    }
    for key, value in arrays.items():
        if value.dtype == object:
            raise ModelFormatError(f"cannot save array {key!r} of dtype object without pickle")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        payload = {"__meta__": np.asarray(json.dumps(meta)), **arrays}
        savez: Any = np.savez_compressed  # numpy's stub types **kwds as allow_pickle: bool
        savez(fh, **payload)


def load_model(path: Any) -> Any:
    """Load a model saved with ``model.save(path)``.

    Raises
    ------
    ModelFormatError
        The file is missing, corrupt, not a recsys model, or of an unsupported
        format version.

    Examples
    --------
    >>> import tempfile, pathlib, polars as pl, recsys as rs
    >>> p = pl.DataFrame({"user_id": [1, 2], "item_id": ["a", "b"]})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.npz"
    >>> rs.Popular().fit(rs.Interactions.from_frame(p)).save(path)
    >>> type(rs.load_model(path)).__name__
    'Popular'
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except FileNotFoundError as err:
        raise ModelFormatError(f"no model file at {str(path)!r}") from err
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise ModelFormatError(
            f"{str(path)!r} is not a readable recsys model file (corrupt or foreign): {err}"
        ) from err
    if "__meta__" not in arrays:
        raise ModelFormatError(f"{str(path)!r} is not a recsys model file (no metadata)")
    try:
        meta = json.loads(str(arrays.pop("__meta__")))
    except (TypeError, ValueError) as err:
        raise ModelFormatError(f"{str(path)!r}: unreadable model metadata: {err}") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFormatError(f"{str(path)!r} is not a recsys model file (format mismatch)")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{str(path)!r} has model format version {version!r}; this recsys reads "
            f"version {FORMAT_VERSION}"
        )
    cls = _registry().get(meta.get("class", ""))
    if cls is None:
        raise ModelFormatError(f"{str(path)!r}: unknown model class {meta.get('class')!r}")
    try:
        model = cls(**_decode_params(meta["params"]))
        shape = tuple(int(v) for v in arrays["user_items.shape"])
        matrix = sp.csr_matrix(
            (arrays["user_items.data"], arrays["user_items.indices"], arrays["user_items.indptr"]),
            shape=shape,
        )
        matrix.has_sorted_indices = True
        model.users_ = IdMap(arrays["users"])
        model.items_ = IdMap(arrays["items"])
        if (len(model.users_), len(model.items_)) != shape:
            raise ModelFormatError("id maps do not match the training matrix shape")
        model.user_items_ = matrix
        model.item_popularity_ = arrays["item_popularity"]
        ref = meta.get("reference_time")
        model.reference_time_ = datetime.fromisoformat(ref) if ref else None
        restore_arrays(model, arrays, meta.get("state", {}))
    except ModelFormatError:
        raise
    except (KeyError, ValueError, TypeError, IndexError) as err:
        raise ModelFormatError(f"{str(path)!r}: inconsistent model file: {err!r}") from err
    return model
