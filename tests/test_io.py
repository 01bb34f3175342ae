"""atomic_path: a file appears whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from recsys._io import atomic_path


def _write_then_fail(target: Path, text: str, error: BaseException) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text)
        raise error


def test_success_writes_target(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.parquet"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp != target
        pl.DataFrame({"a": [1, 2]}).write_parquet(tmp)
        assert not target.exists()
    assert pl.read_parquet(target)["a"].to_list() == [1, 2]
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.parquet"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not the private 0600 of mkstemp


def test_new_files_follow_a_umask_set_after_import(tmp_path: Path) -> None:
    """The umask is applied when the file is created, not read once at import."""
    previous = os.umask(0o077)
    try:
        with atomic_path(tmp_path / "private.csv") as tmp:
            tmp.write_text("a")
        os.umask(0o002)
        with atomic_path(tmp_path / "shared.csv") as tmp:
            tmp.write_text("a")
    finally:
        os.umask(previous)
    assert (tmp_path / "private.csv").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "shared.csv").stat().st_mode & 0o777 == 0o664


def test_failure_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    with pytest.raises(RuntimeError, match="boom"):
        _write_then_fail(target, "half a fi", RuntimeError("boom"))
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        _write_then_fail(target, "new but incomplete", KeyboardInterrupt())
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_replaces_existing_on_success(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    target.write_text("old")
    with atomic_path(str(target)) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
