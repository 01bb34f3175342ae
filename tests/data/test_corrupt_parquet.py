"""A corrupt Parquet file: one `InputDataError` naming it, and no Rust panic text on stderr.

Polars panics on some corrupt data pages; the panic hook prints its message (and
a backtrace) to stderr before the exception reaches Python, and some panics
abort the process. The read layer therefore decodes the file with pyarrow first.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError

ROOT = Path(__file__).resolve().parents[2]


def _corrupt(path: Path) -> Path:
    """A small file with one zeroed byte in a list column's page (a polars panic today)."""
    frame = pl.DataFrame({"user_id": list(range(200)), "tags": [[1, 2]] * 200})
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="uncompressed", row_group_size=100)
    data = bytearray(buffer.getvalue())
    data[827] = 0
    path.write_bytes(bytes(data))
    return path


def test_corrupt_data_page_is_one_typed_error_without_panic_text(tmp_path: Path) -> None:
    path = _corrupt(tmp_path / "orders.parquet")
    code = f"""
        import recsys as rs
        try:
            rs.clean_purchases({str(path)!r})
        except rs.InputDataError as err:
            print("InputDataError:", err)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "panicked" not in done.stderr
    assert done.stderr.strip() == ""
    assert done.stdout.startswith("InputDataError: could not read")
    assert "orders.parquet" in done.stdout


def test_corrupt_parquet_through_every_reader(tmp_path: Path) -> None:
    path = _corrupt(tmp_path / "orders.parquet")
    with pytest.raises(InputDataError, match=r"orders\.parquet"):
        rs.data.read_table(path)
    with pytest.raises(InputDataError, match=r"orders\.parquet"):
        rs.Interactions.from_purchases(path)
