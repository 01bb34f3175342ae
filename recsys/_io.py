"""File writing that never leaves a half-written file behind; reading model archives."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from recsys.exceptions import ModelFormatError

__all__ = ["atomic_path", "checksum", "read_archive", "verify_checksum", "write_archive"]


def _new_file_beside(target: Path) -> Path:
    """Create an empty, uniquely named file in ``target``'s directory.

    Created with mode 0666 so the kernel applies the process umask as for any new
    file (``tempfile.mkstemp`` makes it private, 0600, and reading the umask to undo
    that means setting it, a process-wide change).
    """
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file beside {str(target)!r}")


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` on success.

    On an exception the temporary file is removed and ``target`` is untouched. The
    file gets the permissions of any new file (0666 less the process umask).

    Examples
    --------
    >>> import polars as pl, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.parquet"
    >>> with atomic_path(out) as tmp:
    ...     pl.DataFrame({"a": [1]}).write_parquet(tmp)
    >>> out.exists()
    True
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_file_beside(target)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def read_archive(path: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON metadata (``__meta__``) and the arrays of a model ``.npz`` file.

    Every failure of an untrusted file (missing, not a zip, damaged, no metadata,
    unreadable metadata) is a `ModelFormatError` naming ``path``; the caller checks
    the metadata's format.

    Examples
    --------
    >>> import io, json, numpy as np
    >>> buffer = io.BytesIO()
    >>> np.savez(buffer, __meta__=np.asarray(json.dumps({"format": "x"})), w=np.ones(2))
    >>> _ = buffer.seek(0)
    >>> meta, arrays = read_archive(buffer)
    >>> meta, list(arrays)
    ({'format': 'x'}, ['w'])
    """
    name = repr(str(path))
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError as err:
        raise ModelFormatError(f"no model file at {name}") from err
    except Exception as err:  # every reader failure of an untrusted file
        raise ModelFormatError(
            f"{name} is not a readable recsys model file (corrupt or foreign): {err}"
        ) from err
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
    if not isinstance(meta, dict):
        raise ModelFormatError(f"{name} is not a recsys model file (format mismatch)")
    return meta, arrays


def checksum(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of the metadata and every array's name, dtype, shape and bytes."""
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{a.dtype.str}|{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def write_archive(path: Any, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write ``meta`` (plus its ``checksum``) and ``arrays`` to one compressed ``.npz``
    file at ``path``, atomically; `read_archive` reads it back."""
    meta = {**meta, "checksum": checksum(meta, arrays)}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        payload = {"__meta__": np.asarray(json.dumps(meta)), **arrays}
        savez: Any = np.savez_compressed  # numpy's stub types **kwds as allow_pickle: bool
        savez(fh, **payload)


def verify_checksum(meta: dict[str, Any], arrays: dict[str, np.ndarray], path: Any) -> None:
    """Pop ``meta["checksum"]`` and raise `ModelFormatError` if it does not match."""
    if meta.pop("checksum", None) != checksum(meta, arrays):
        raise ModelFormatError(
            f"{str(path)!r}: checksum mismatch: the file is damaged or was altered"
        )
