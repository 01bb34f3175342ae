"""The console's note on the return rows is true when some fall after as_of (walk #10):
those rows are counted and said to be counted nowhere, and no profile's return_rate
has them."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from recsys.cli import main
from recsys.cli.reading import RETURNS_USE
from tests.test_cli_returns import COLUMNS, _shop

LATE = "; but 2 of them are dated at or after as_of"


@pytest.fixture
def late_csv(tmp_path: Path) -> Path:
    """The 30-customer shop (last purchase 2023-11-17) and two returns of customer 3 on
    2023-12-01, after it."""
    late = pl.DataFrame(
        [(3, "i21", "2023-12-01", -1, 3.0), (3, "i22", "2023-12-01", -1, 3.0)],
        schema=_shop().schema,
        orient="row",
    )
    path = tmp_path / "late.csv"
    pl.concat([_shop(), late]).write_csv(path)
    return path


def _rates(path: Path) -> dict[int, float]:
    p = pl.read_parquet(path)
    return dict(zip(p["user_id"].to_list(), p["return_rate"].to_list(), strict=True))


def test_profile_says_the_late_returns_count_nowhere(
    late_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "p.parquet"
    assert main(["profile", str(late_csv), "--columns", COLUMNS, "--out", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    note = f"the return rows kept: {RETURNS_USE['profile']}"
    assert f"{note}{LATE} (2023-11-17 00:00:00), so nothing counts them" in err
    assert _rates(out)[3] == 0.0  # the two late returns are in no return_rate
    # an as_of after them: counted, and nothing is said to be left out
    argv = ["profile", str(late_csv), "--columns", COLUMNS, "--as-of", "2024-01-01"]
    assert main([*argv, "--out", str(out)]) == 0
    assert note in capsys.readouterr().err.splitlines()
    assert _rates(out)[3] == pytest.approx(2 / (30 * 2))


def test_actions_uses_the_jobs_as_of(
    late_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "a.parquet"
    argv = ["actions", str(late_csv), "--columns", COLUMNS, "--bootstrap", "10"]
    assert main([*argv, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{LATE} (2023-11-18 00:00:00), so nothing counts them" in err
