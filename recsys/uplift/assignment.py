"""Deterministic, balanced assignment of units to experiment arms: `assign`.

Every unit gets the hash ``h = blake2b(f"{experiment}:{seed}:{unit_id}")`` (first 8
bytes, big-endian, as an unsigned 64-bit integer) — a stable hash, unlike Python's
``hash()``, so the same unit gets the same hash on every machine and run.

``method="balanced"`` (default): within each stratum (all units when
``strata=None``), units are sorted by ``(h, str(unit_id))``; with ``n`` units in the
stratum and arms in the order given, arm ``j`` takes the positions
``[floor(n * c_{j-1} + v), floor(n * c_j + v))`` where ``c_j`` is the cumulative
weight of arms ``0..j`` (``c_{-1} = 0``, ``c_last = 1``) and ``v`` in [0, 1) is the
stratum's own draw, the hash of ``f"{experiment}:{seed}:stratum={label}"`` scaled
to [0, 1) (systematic rounding). Each arm's count is the floor or the ceiling of
``n * w_j`` in every stratum, and exactly ``n * w_j`` in expectation over seeds
for every stratum size: which arm gets a stratum's leftover units is random, so
a one-customer stratum at 50/50 goes to either arm with probability 1/2. The
result does not depend on row order, but a unit's arm depends on the other units
of its stratum (its rank among their hashes).

``method="hash"``: arm ``j`` takes the units with ``h / 2^64`` in ``[c_{j-1}, c_j)``:
a unit's arm depends on its id, the experiment and the seed only (stable when units
are added later), and counts are binomial rather than exact.

``hash_unit`` (the hash scaled to [0, 1)) is returned for auditing; it determines the
arm, so never reuse it to randomize anything else (send-out batches, a second test):
draw those from another experiment key.

Either way the arm counts are checked against the weights with
`sample_ratio_mismatch` (a `DataWarning`
when its p-value is below 0.001). With ``method="hash"`` counts are binomial;
with ``"balanced"`` only the strata's leftover units are random, so the warning
comes by chance still more rarely than 1 in 1,000 (most often with many strata of
one or two units) and otherwise points to a defect.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
import polars as pl

from recsys._validation import InstanceOf, check_param
from recsys.data import columns as C
from recsys.exceptions import DataWarning, InputDataError
from recsys.uplift._checks import as_frame, require_columns
from recsys.uplift.experiment import sample_ratio_mismatch

__all__ = ["assign", "unit_hash"]

SRM_ALPHA = 0.001


def unit_hash(unit_id: Any, experiment: str, seed: int) -> int:
    """The 64-bit assignment hash of one unit.

    Examples
    --------
    >>> unit_hash(12345, "spring-winback", 0) == unit_hash("12345", "spring-winback", 0)
    True
    """
    digest = hashlib.blake2b(f"{experiment}:{seed}:{unit_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _check_arms(arms: Mapping[str, float]) -> tuple[list[str], np.ndarray]:
    if not isinstance(arms, Mapping) or len(arms) < 2:
        raise InputDataError(
            f"arms must map at least 2 arm names to weights, got {arms!r} "
            "(an experiment with one arm has nothing to compare)"
        )
    names = [str(a) for a in arms]
    if len(set(names)) != len(names):
        raise InputDataError(f"arms has duplicate names: {names}")
    for name, w in arms.items():
        if isinstance(w, bool) or not isinstance(w, numbers.Real):
            raise InputDataError(
                f"arms weights must be numbers > 0, got {w!r} for arm {name!r} in {dict(arms)}"
            )
    weights = np.array([float(w) for w in arms.values()])
    if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise InputDataError(f"arms weights must be finite and > 0, got {dict(arms)}")
    if not math.isclose(float(weights.sum()), 1.0, abs_tol=1e-9):
        raise InputDataError(f"arms weights must sum to 1, got {float(weights.sum())!r}")
    return names, weights


def assign(
    units: Any,
    arms: Mapping[str, float] | None = None,
    strata: str | None = None,
    seed: int = 0,
    experiment: str = "experiment",
    *,
    unit: str = C.USER,
    method: Literal["balanced", "hash"] = "balanced",
) -> pl.DataFrame:
    """Assign each unit to an arm, deterministically and balanced within strata.

    The procedure is described in `recsys.uplift.assignment`.

    Parameters
    ----------
    units
        A frame with the ``unit`` column (and ``strata`` if given), or a sequence
        of unit ids.
    arms
        Arm name -> weight, weights > 0 summing to 1. Default
        ``{"treatment": 0.9, "control": 0.1}``.
    strata
        Column to balance within (e.g. ``"lifecycle_stage"``); nulls form one stratum.
    seed, experiment
        Salt of the hash: the same ``(experiment, seed, unit_id)`` always gives the
        same hash; a new experiment reshuffles everyone.
    unit
        The unit id column.
    method
        ``"balanced"`` (exact counts per stratum) or ``"hash"`` (each unit's arm
        depends on its own hash only).

    Returns
    -------
    pl.DataFrame
        The input columns plus ``arm`` (String) and ``hash_unit`` (the hash as a
        float in [0, 1)), in the input row order.

    Raises
    ------
    InputDataError
        Missing columns, a unit listed twice (it would be in two arms), fewer than
        2 arms, weights that are not numbers > 0 summing to 1, null unit ids, a
        unit or strata column of nested values (lists, structs).

    Warns
    -----
    DataWarning
        Sample-ratio mismatch of the arm counts (p < 0.001): by chance about 1
        run in 1,000 with ``method="hash"``, more rarely with ``"balanced"``
        (only leftover units of small strata are random; see the module notes).

    Examples
    --------
    >>> import polars as pl, recsys as rs
    >>> customers = pl.DataFrame({"user_id": range(1000), "stage": ["new", "active"] * 500})
    >>> a = rs.uplift.assign(customers, {"treatment": 0.9, "control": 0.1}, strata="stage",
    ...                      seed=7, experiment="winback")
    >>> a.group_by("stage", "arm").len().sort("stage", "arm")["len"].to_list()
    [50, 450, 50, 450]
    >>> b = rs.uplift.assign(customers.reverse(), {"treatment": 0.9, "control": 0.1},
    ...                      strata="stage", seed=7, experiment="winback")
    >>> a.sort("user_id")["arm"].equals(b.sort("user_id")["arm"])
    True
    """
    names, weights = _check_arms(arms if arms is not None else {"treatment": 0.9, "control": 0.1})
    if method not in ("balanced", "hash"):
        raise InputDataError(f"method must be 'balanced' or 'hash', got {method!r}")
    check_param("seed", seed, InstanceOf(int, "an integer"))
    check_param("experiment", experiment, InstanceOf(str, "a name"))
    check_param("unit", unit, InstanceOf(str, "a column name"))
    if isinstance(units, (pl.DataFrame, pl.LazyFrame)) or hasattr(units, "columns"):
        frame = as_frame(units, "units")
    elif isinstance(units, (str, bytes)) or not isinstance(units, Iterable):
        raise InputDataError(f"units must be a frame or a sequence of unit ids, got {units!r}")
    else:
        try:
            frame = pl.DataFrame({unit: pl.Series(unit, list(units), strict=True)})
        except (TypeError, pl.exceptions.PolarsError) as err:
            raise InputDataError(
                f"units must be ids of one type (all integers or all text): {err}".split("\n")[0]
            ) from err
    require_columns(frame, "units", {"unit": unit, "strata": strata})
    for parameter, column in (("unit", unit), ("strata", strata)):
        if column is not None and frame.schema[column].is_nested():
            raise InputDataError(
                f"units column {column!r} (given as {parameter}=) holds "
                f"{frame.schema[column]} values; expected ids or labels (numbers or text)"
            )
    if frame[unit].null_count():
        raise InputDataError(f"units column {unit!r} has {frame[unit].null_count()} null ids")
    dup = frame.filter(pl.col(unit).is_duplicated())
    if dup.height:
        raise InputDataError(
            f"units column {unit!r} lists {dup[unit].n_unique()} unit(s) more than once, e.g. "
            f"{dup[unit][0]!r}: a unit must be in exactly one arm; deduplicate first"
        )
    ids = frame[unit].cast(pl.String).to_list()
    hashes = np.array([unit_hash(u, experiment, seed) for u in ids], dtype=np.uint64)
    u01 = hashes.astype(np.float64) / 2.0**64
    cum = np.cumsum(weights)
    cum[-1] = 1.0
    arm_index = np.empty(frame.height, dtype=np.int64)
    if method == "hash":
        arm_index[:] = np.minimum(np.searchsorted(cum, u01, side="right"), len(names) - 1)
    else:
        if strata is None:
            labels, inverse = np.array(["\x00all"]), np.zeros(frame.height, dtype=np.int64)
        else:
            key = frame[strata].cast(pl.String).fill_null("\x00null").to_numpy()
            labels, inverse = np.unique(key, return_inverse=True)
        id_array = np.array(ids, dtype=object)
        sizes = np.bincount(inverse, minlength=len(labels))
        groups = np.split(np.argsort(inverse, kind="stable"), np.cumsum(sizes)[:-1])
        for g, rows in enumerate(groups):
            if rows.size == 0:  # the one label of an empty frame
                continue
            order = rows[np.lexsort((id_array[rows].astype(str), hashes[rows]))]
            # The stratum's own draw decides which arms get its leftover units.
            v = unit_hash(f"stratum={labels[g]}", experiment, seed) / 2.0**64
            bounds = np.floor(order.size * np.concatenate([[0.0], cum]) + v).astype(np.int64)
            bounds[0], bounds[-1] = 0, order.size
            for j in range(len(names)):
                arm_index[order[bounds[j] : bounds[j + 1]]] = j
    arm_names = np.array(names, dtype=object)[arm_index]
    out = frame.with_columns(
        pl.Series("arm", arm_names.tolist(), dtype=pl.String), pl.Series("hash_unit", u01)
    )
    counts = {a: int(np.sum(arm_index == j)) for j, a in enumerate(names)}
    if frame.height:
        p = sample_ratio_mismatch(counts, dict(zip(names, weights, strict=True)))
        if p < SRM_ALPHA:
            warnings.warn(
                f"sample-ratio mismatch: arm counts {counts} vs weights "
                f"{dict(zip(names, weights.round(4), strict=True))} (chi-square p = {p:.2g})",
                DataWarning,
                stacklevel=2,
            )
    return out
