"""Connecting to Ray and sharing a model file's arrays through the object store.

Nothing here imports Ray at module level: ``import recsys`` never imports Ray,
only calling a function of `recsys.distributed` does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from recsys._validation import check_positive_int
from recsys.exceptions import InputDataError

__all__ = ["check_out", "connect", "import_ray", "maybe_die", "resolve_workers"]

#: Test hook, set only by the tests (monkeypatched on the driver, passed to the workers
#: with their work): a worker dies once, as if killed, at its ``FAULT_AT``-th call if
#: this file does not exist yet (it creates the file first).
FAULT_FILE: str | None = None
FAULT_AT = 2


def import_ray() -> Any:
    """The ``ray`` module, or an ImportError saying how to install it."""
    try:
        import ray
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "recsys.distributed needs Ray: pip install 'recsys[ray]' (installs ray[data])"
        ) from err
    return ray


def connect(address: str | None) -> Any:
    """Ray, connected: the running session, else ``ray.init(address=...)``.

    ``address=None`` with no running session starts a fresh local cluster
    (``address="local"``): Ray's own default would join whatever cluster
    ``/tmp/ray/ray_current_cluster`` names, and hang when that cluster is gone.
    ``"auto"`` joins the cluster started on this machine with ``ray start``;
    ``"ray://host:10001"`` goes through Ray Client (e.g. a KubeRay head service).
    """
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(
            address="local" if address is None else address,
            include_dashboard=False,
            log_to_driver=False,
        )
    return ray


def resolve_workers(ray: Any, workers: int | None) -> int:
    """``workers`` checked, or one worker per CPU of the cluster."""
    if workers is None:
        return max(1, int(ray.cluster_resources().get("CPU", 1)))
    return check_positive_int("workers", workers)


def maybe_die(fault_file: str | None, calls: int) -> None:
    """The test hook of `FAULT_FILE`: exit at once (no cleanup, like ``kill -9``)."""
    if fault_file and calls == FAULT_AT and not os.path.exists(fault_file):
        Path(fault_file).touch()
        os._exit(1)


def model_arrays(model: Any, job: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A fitted model's file contents (metadata, arrays), as `recsys.load_model` reads them.

    The workers rebuild the model from these arrays with `model_from_arrays`: the
    model object itself is never pickled.
    """
    from recsys.models import Recommender
    from recsys.models.persistence import to_arrays

    if not isinstance(model, Recommender):
        raise InputDataError(
            f"{job} with engine=rs.engine.Ray(...) needs recsys models (they reach the "
            f"workers as their saved arrays), got {type(model).__name__}"
        )
    return to_arrays(model)


def check_out(out: Any) -> Path:
    """The output folder ``out`` of `recsys.engine.Ray`: created if missing, refused if it
    already holds files."""
    path = Path(os.fspath(out))
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise InputDataError(
            f"out={str(path)!r} exists and is not an empty folder; the workers write a new "
            "Parquet dataset there: choose another folder or remove it"
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def split_arrays(
    arrays: dict[str, np.ndarray], lo: int, hi: int, item_arrays: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """The arrays of the items ``lo .. hi - 1`` of a model file (a valid model of its own).

    ``item_arrays`` names the model arrays indexed by item on their first axis;
    the id map, training matrix (its columns) and popularity are cut as well.
    """
    import scipy.sparse as sp

    n_users, n_items = (int(v) for v in arrays["user_items.shape"])
    matrix = sp.csr_matrix(
        (arrays["user_items.data"], arrays["user_items.indices"], arrays["user_items.indptr"]),
        shape=(n_users, n_items),
    )[:, lo:hi]
    matrix.sort_indices()
    out = {
        "items": arrays["items"][lo:hi],
        "item_popularity": arrays["item_popularity"][lo:hi],
        "user_items.data": matrix.data.astype(np.float32, copy=False),
        "user_items.indices": matrix.indices.astype(np.int32, copy=False),
        "user_items.indptr": matrix.indptr.astype(np.int32, copy=False),
        "user_items.shape": np.asarray([n_users, hi - lo], dtype=np.int64),
    }
    for key in item_arrays:
        out[key] = np.ascontiguousarray(arrays[key][lo:hi])
    return out


def per_user_keys(model: Any, arrays: dict[str, np.ndarray]) -> frozenset[str]:
    """The names of ``model``'s per-user arrays in its file layout (``arrays``).

    Those that `Recommender.select_users` cuts (the user ids, the training rows and
    every array the model's schema declares per user), found as the arrays a model of
    no users holds with another shape, plus the training matrix's shape.
    """
    from recsys.models.persistence import to_arrays

    _, empty = to_arrays(model.select_users(np.empty(0, dtype=np.int64)))
    changed = {key for key, value in arrays.items() if empty[key].shape != value.shape}
    return frozenset({"users", "user_items.shape", *changed})


def user_arrays(
    model: Any,
    index: np.ndarray,
    keys: frozenset[str],
    items: tuple[int, int, tuple[str, ...]] | None = None,
) -> dict[str, np.ndarray]:
    """The per-user arrays (``keys``) of the users ``index``: with the item side of the
    model's arrays, the file of a model of these users only (`Recommender.select_users`).

    ``items=(lo, hi, item_arrays)``: the training rows cut to the items ``lo .. hi - 1``
    as well, for the item shard of `split_arrays`.
    """
    from recsys.models.persistence import to_arrays

    _, arrays = to_arrays(model.select_users(index))
    if items is not None:
        arrays = {**arrays, **split_arrays(arrays, *items)}
    return {key: arrays[key] for key in keys}
