"""The recsys command line: help, the demo job, one-line errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from recsys.cli import main


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "demo" in out
    assert "usage: recsys" in out
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


def test_demo_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--out" in out
    assert "--sample-users" in out


def test_demo_writes_purchases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "demo"
    assert main(["demo", "--out", str(out_dir), "--sample-users", "200"]) == 0
    text = capsys.readouterr().out
    assert "rows in" in text
    assert "interaction matrix" in text
    purchases = pl.read_parquet(out_dir / "purchases.parquet")
    assert purchases.columns[:4] == ["user_id", "item_id", "order_id", "timestamp"]
    assert 0 < purchases["user_id"].n_unique() <= 200
    assert purchases["quantity"].min() > 0  # type: ignore[operator]
    assert [p.name for p in out_dir.iterdir()] == ["purchases.parquet"]  # no temp files left


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--sample-users", "zero"],
        ["demo", "--sample-users", "-3"],
        ["demo", "--bogus"],
        ["nonsense"],
    ],
)
def test_bad_argument_exits_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("recsys")
    assert "error" in lines[0]


def test_unwritable_output_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["demo", "--out", str(blocker / "sub"), "--sample-users", "20"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("recsys demo: error:")
