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
    import tempfile

    from recsys.models.persistence import read_model_file

    if not callable(getattr(model, "save", None)):
        raise InputDataError(
            f"{job} with engine=rs.engine.Ray(...) needs recsys models (they reach the "
            f"workers as their saved arrays), got {type(model).__name__}"
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        model.save(path)
        return read_model_file(path)


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


#: Model classes whose per-user arrays are known (beyond the id map and the training
#: matrix's rows): their workers receive only each block's users. Other models'
#: arrays are sent whole to every node.
USER_ARRAYS: dict[str, tuple[str, ...]] = {
    "ALS": ("model.user_factors",),
    "BPR": ("model.user_factors",),
    "Popular": (),
    "ItemKNN": (),
}
USER_KEYS = ("users", "user_items.data", "user_items.indices", "user_items.indptr")


def item_side(arrays: dict[str, np.ndarray], user_arrays: tuple[str, ...]) -> dict[str, np.ndarray]:
    """A model file's arrays without its per-user ones (those `user_slice` cuts)."""
    per_user = {*USER_KEYS, "user_items.shape", *user_arrays}
    return {key: value for key, value in arrays.items() if key not in per_user}


def user_slice(
    arrays: dict[str, np.ndarray], index: np.ndarray, user_arrays: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """The per-user arrays of the users ``index`` (sorted, distinct): with `item_side`,
    a valid model file of these users only.

    Examples
    --------
    >>> import numpy as np
    >>> arrays = {"users": np.array([10, 11, 12]), "user_items.data": np.ones(3, np.float32),
    ...           "user_items.indices": np.array([0, 1, 1], np.int32),
    ...           "user_items.indptr": np.array([0, 1, 1, 3], np.int32),
    ...           "user_items.shape": np.array([3, 2]), "items": np.array([7, 8])}
    >>> part = user_slice(arrays, np.array([0, 2]), ())
    >>> part["users"].tolist(), part["user_items.indptr"].tolist()
    ([10, 12], [0, 1, 3])
    """
    indptr = arrays["user_items.indptr"]
    starts, stops = indptr[index].astype(np.int64), indptr[index + 1].astype(np.int64)
    lengths = stops - starts
    rows = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    take = rows + np.arange(int(lengths.sum()), dtype=np.int64)
    out = {
        "users": arrays["users"][index],
        "user_items.data": arrays["user_items.data"][take],
        "user_items.indices": arrays["user_items.indices"][take],
        "user_items.indptr": np.concatenate([[0], np.cumsum(lengths)]).astype(indptr.dtype),
        "user_items.shape": np.asarray(
            [len(index), int(arrays["user_items.shape"][1])], dtype=np.int64
        ),
    }
    for key in user_arrays:
        out[key] = np.ascontiguousarray(arrays[key][index])
    return out
