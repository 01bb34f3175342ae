"""A model's fitted state, declared: arrays, fitted values and sub-models.

Every recommender and every customer model (`recsys.profiles.CustomerModel`) lists
what ``fit`` leaves behind in its ``schema`` (a tuple of the specs below).
Persistence, validation of model files and `Recommender.select_users` are generated
from it: no model writes its own save, load or slicing code.

- `Array`: a numpy array attribute (``<name>_``) with an exact dtype and a shape in
  symbols: ``"users"`` (training customers), ``"items"`` (catalogue), ``"seen"``
  (one entry per stored (user, item) pair of the training matrix, in its order), a
  name the model resolves in ``_dims()`` (e.g. ``"factors"``), a literal int, or
  ``None`` (any length: a customer model's per-feature arrays, checked by the model);
  optional value checks (finite, bounds).
- `Csr`: a CSR matrix attribute, stored as ``<name>.data|indices|indptr``; the
  structure is checked (row pointer, index range, sorted rows).
- `Value`: a JSON-able fitted value (a string, a flag, a list of strings), checked
  with the constraints of `recsys._validation`.
- `Part`: a sub-model (or a list of them) fitted with the parent on the same data.

An array whose first axis is ``"users"`` or ``"seen"`` (a `Csr` with ``"users"``
rows) is *per-user*: `Recommender.select_users` slices it, everything else is
item-side and shared. ``when=("value", x)`` makes a spec present only when a fitted
`Value` equals ``x``.

Examples
--------
>>> spec = Array("item_factors", "float32", ("items", "factors"), finite=True)
>>> spec.per_user, Array("user_factors", "float32", ("users", "factors")).per_user
(False, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._validation import Constraint, validate_params
from recsys.exceptions import InputDataError, ModelFormatError

__all__ = ["Array", "Csr", "Part", "Spec", "Value", "check_array", "check_csr", "row_positions"]

Dim = str | int | None

#: Elements checked at a time by `check_array` (bounds its temporary memory).
_CHECK_SLICE = 1 << 20


@dataclass(frozen=True)
class Array:
    """A fitted numpy array (see the module docstring)."""

    name: str
    dtype: str
    shape: tuple[Dim, ...]
    finite: bool = False
    low: float | None = None
    high: float | None = None
    #: Exclusive lower bound (values must be ``> above``).
    above: float | None = None
    when: tuple[str, Any] | None = None

    @property
    def per_user(self) -> bool:
        return bool(self.shape) and self.shape[0] in ("users", "seen")


@dataclass(frozen=True)
class Csr:
    """A fitted float32 CSR matrix with sorted, distinct indices in each row."""

    name: str
    shape: tuple[str | int, str | int]
    finite: bool = True
    when: tuple[str, Any] | None = None

    @property
    def per_user(self) -> bool:
        return self.shape[0] == "users"


@dataclass(frozen=True)
class Value:
    """A JSON-able fitted value, checked with `recsys._validation` constraints."""

    name: str
    allowed: tuple[Constraint | None, ...]
    when: tuple[str, Any] | None = None
    #: For a list: its length, in the symbols of `Array` shapes.
    length: Dim | None = None


@dataclass(frozen=True)
class Part:
    """A sub-model attribute: one model (``many=False``, ``None`` allowed) or a list."""

    name: str
    many: bool = False
    when: tuple[str, Any] | None = None


Spec = Array | Csr | Value | Part


def present(model: Any, spec: Spec) -> bool:
    """Whether ``spec`` applies to ``model`` (its ``when`` condition holds)."""
    if spec.when is None:
        return True
    name, expected = spec.when
    return bool(getattr(model, f"{name}_", None) == expected)


def resolve(model: Any, shape: Sequence[Dim]) -> tuple[int | None, ...]:
    """The shape of a spec in numbers for ``model`` (fitted or being loaded).

    ``None`` (any length) stays ``None``; ``"users"``, ``"items"`` and ``"seen"``
    are a recommender's training sizes; other names come from ``model._dims()``.
    """
    own = model._dims()

    def size(d: Dim) -> int | None:
        if d is None or isinstance(d, int):
            return d
        if d in own:
            return int(own[d])
        if d == "seen":
            return int(model.user_items_.nnz)
        if d == "users":
            return int(model.n_users)
        if d == "items":
            return int(model.n_items)
        raise ModelFormatError(f"{type(model).__name__} declares no size {d!r}")

    return tuple(size(d) for d in shape)


# --------------------------------------------------------------------- checks
def check_array(
    arrays: Mapping[str, np.ndarray],
    key: str,
    *,
    kind: str,
    shape: tuple[int | None, ...],
    finite: bool = False,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    dtype: str | None = None,
) -> np.ndarray:
    """``arrays[key]`` if it has the dtype, shape and value range expected.

    Parameters
    ----------
    kind
        numpy dtype kinds accepted, e.g. ``"f"`` (float), ``"iu"`` (integers).
    shape
        Expected shape; ``None`` matches any length on that axis.
    finite
        Refuse NaN and infinities.
    low, high
        Inclusive bounds on the values (index arrays: ``0`` and ``size - 1``).
    above
        Exclusive lower bound.
    dtype
        The exact dtype required (``None``: any of ``kind``).

    Raises
    ------
    ModelFormatError
        Naming the array and what is wrong with it.

    Examples
    --------
    >>> check_array({"w": np.array([1.0, -2.0])}, "w", kind="f", shape=(2,), low=0)
    Traceback (most recent call last):
    ...
    recsys.exceptions.ModelFormatError: array 'w' holds values below 0
    """
    if key not in arrays:
        raise ModelFormatError(f"array {key!r} is missing")
    a = arrays[key]
    if a.dtype.kind not in kind or (dtype is not None and a.dtype != np.dtype(dtype)):
        expected = dtype or f"kind {kind!r}"
        raise ModelFormatError(f"array {key!r} has dtype {a.dtype}, expected {expected}")
    if a.ndim != len(shape) or any(
        s is not None and s != n for s, n in zip(shape, a.shape, strict=True)
    ):
        raise ModelFormatError(f"array {key!r} has shape {a.shape}, expected {shape}")
    # In slices of the flat array: checking a model's factors must not allocate a
    # second copy of them. NaN compares False, so it passes the bounds (allowed unless
    # finite).
    flat = a.reshape(-1)
    for start in range(0, flat.size, _CHECK_SLICE):
        part = flat[start : start + _CHECK_SLICE]
        if a.dtype.kind == "f" and finite and not np.isfinite(part).all():
            raise ModelFormatError(f"array {key!r} holds NaN or infinite values")
        if low is not None and (part < low).any():
            raise ModelFormatError(f"array {key!r} holds values below {low}")
        if above is not None and (part <= above).any():
            raise ModelFormatError(f"array {key!r} holds values <= {above} (must be > {above})")
        if high is not None and (part > high).any():
            raise ModelFormatError(f"array {key!r} holds values above {high}")
    return a


def check_csr(
    arrays: Mapping[str, np.ndarray], prefix: str, shape: tuple[int, int], *, finite: bool = True
) -> sp.csr_matrix:
    """A CSR matrix from ``<prefix>.data|indices|indptr``, its structure checked.

    ``indptr`` must start at 0, be non-decreasing and end at ``nnz``; ``indices``
    must lie in ``[0, n_columns)`` and be strictly increasing within each row
    (the kernels assume sorted, duplicate-free rows).
    """
    n_rows, n_cols = shape
    indptr = check_array(arrays, f"{prefix}.indptr", kind="iu", shape=(n_rows + 1,))
    if indptr[0] != 0 or (np.diff(indptr.astype(np.int64)) < 0).any():
        raise ModelFormatError(f"array {prefix + '.indptr'!r} is not a valid CSR row pointer")
    nnz = int(indptr[-1])
    data = check_array(
        arrays, f"{prefix}.data", kind="f", shape=(nnz,), finite=finite, dtype="float32"
    )
    indices = check_array(
        arrays, f"{prefix}.indices", kind="iu", shape=(nnz,), low=0, high=n_cols - 1
    )
    if nnz:
        steps = np.diff(indices.astype(np.int64))
        row_starts = indptr[1:-1].astype(np.int64)
        inside = np.ones(nnz - 1, dtype=bool)
        inside[row_starts[(row_starts > 0) & (row_starts < nnz)] - 1] = False
        if (steps[inside] <= 0).any():
            raise ModelFormatError(f"array {prefix + '.indices'!r} is not sorted within rows")
    matrix = sp.csr_matrix(
        (data, indices.astype(np.int32, copy=False), indptr.astype(np.int32, copy=False)),
        shape=shape,
    )
    matrix.has_sorted_indices = True
    return matrix


# ------------------------------------------------------ state from the schema
def dump(model: Any) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any]]:
    """A fitted model's own arrays, fitted values and parts, as its schema lists them."""
    arrays: dict[str, np.ndarray] = {}
    values: dict[str, Any] = {}
    parts: dict[str, Any] = {}
    for spec in model.schema:
        if not present(model, spec):
            continue
        value = getattr(model, f"{spec.name}_")
        if isinstance(spec, Array):
            arrays[spec.name] = np.asarray(value)
        elif isinstance(spec, Csr):
            arrays.update(
                {f"{spec.name}.{key}": getattr(value, key) for key in ("data", "indices", "indptr")}
            )
        elif isinstance(spec, Value):
            values[spec.name] = list(value) if isinstance(value, tuple) else value
        else:
            parts[spec.name] = value
    return arrays, values, parts


def restore_values(model: Any, values: Any) -> None:
    """Set the fitted values of ``model`` from a file, each checked by its constraints."""
    if not isinstance(values, dict):
        raise ModelFormatError("model state must be an object")
    for spec in model.schema:
        if isinstance(spec, Value) and present(model, spec):
            if spec.name not in values:
                raise ModelFormatError(f"fitted value {spec.name!r} is missing")
            value = values[spec.name]
            try:
                validate_params(
                    f"{type(model).__name__} fitted", {spec.name: value}, {spec.name: spec.allowed}
                )
            except InputDataError as err:
                raise ModelFormatError(str(err)) from err
            setattr(model, f"{spec.name}_", tuple(value) if isinstance(value, list) else value)
    declared = {s.name for s in model.schema if isinstance(s, Value) and present(model, s)}
    extra = sorted(set(values) - declared)
    if extra:
        raise ModelFormatError(f"unexpected fitted values {extra}")


def restore_arrays(model: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """Set the fitted arrays of ``model``, each checked against its spec (no copy)."""
    for spec in model.schema:
        if not present(model, spec):
            continue
        if isinstance(spec, Array):
            value: Any = check_array(
                arrays,
                spec.name,
                kind=np.dtype(spec.dtype).kind,
                dtype=spec.dtype,
                shape=resolve(model, spec.shape),
                finite=spec.finite,
                low=spec.low,
                high=spec.high,
                above=spec.above,
            )
        elif isinstance(spec, Csr):
            rows, cols = resolve(model, spec.shape)
            if rows is None or cols is None:  # Csr shapes have no None: a bug, not a file
                raise TypeError(f"{type(model).__name__}.{spec.name}: a Csr needs a fixed shape")
            value = check_csr(arrays, spec.name, (rows, cols), finite=spec.finite)
        else:
            if isinstance(spec, Value) and spec.length is not None:
                (length,) = resolve(model, (spec.length,))
                if len(getattr(model, f"{spec.name}_")) != length:
                    raise ModelFormatError(f"fitted value {spec.name!r} must hold {length} entries")
            continue
        setattr(model, f"{spec.name}_", value)


def row_positions(indptr: np.ndarray, user_index: np.ndarray) -> np.ndarray:
    """Positions in a CSR's data of the given rows' entries, row after row.

    Examples
    --------
    >>> row_positions(np.array([0, 2, 3, 5]), np.array([2, 0])).tolist()
    [3, 4, 0, 1]
    """
    lengths = np.diff(indptr)[user_index].astype(np.int64)
    starts = indptr[user_index].astype(np.int64)
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + offsets


def select_rows(model: Any, copy: Any, user_index: np.ndarray) -> None:
    """Set ``copy``'s per-user arrays to ``model``'s rows ``user_index`` (parts too)."""
    positions = None
    for spec in model.schema:
        if not present(model, spec):
            continue
        name = f"{spec.name}_"
        value = getattr(model, name)
        if isinstance(spec, Part):
            if isinstance(value, list):
                value = [part.select_users(user_index) for part in value]
            elif value is not None:
                value = value.select_users(user_index)
        elif isinstance(spec, (Array, Csr)) and spec.per_user:
            if isinstance(spec, Array) and spec.shape[0] == "seen":
                if positions is None:
                    positions = row_positions(model.user_items_.indptr, user_index)
                value = value[positions]
            else:
                value = value[user_index]
        setattr(copy, name, value)
