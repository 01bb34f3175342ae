"""File writing that never leaves a half-written file behind."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path"]


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
