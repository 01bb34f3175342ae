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

__all__ = ["connect", "import_ray", "resolve_workers"]


def import_ray() -> Any:
    """The ``ray`` module, or an ImportError saying how to install it."""
    try:
        import ray
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "recsys.distributed needs Ray: pip install 'recsys[ray]' (installs ray[data])"
        ) from err
    return ray


def connect(ray_address: str | None) -> Any:
    """Ray, connected: the running session, else ``ray.init(address=ray_address)``.

    ``ray_address=None`` with no running session starts a local cluster; ``"auto"``
    joins the cluster started on this machine with ``ray start``; ``"ray://host:10001"``
    goes through Ray Client (e.g. a KubeRay head service).
    """
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(address=ray_address, include_dashboard=False, log_to_driver=False)
    return ray


def resolve_workers(ray: Any, num_workers: int | None) -> int:
    """``num_workers`` checked, or one worker per CPU of the cluster."""
    if num_workers is None:
        return max(1, int(ray.cluster_resources().get("CPU", 1)))
    return check_positive_int("num_workers", num_workers)


def check_out(out: Any) -> Path:
    """The output folder: created if missing, refused if it already holds files."""
    if out is None:
        raise InputDataError("out= is required: the folder the workers write Parquet files to")
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
