"""`recsys actions` on a small Online Retail sample (kept apart from tests/test_cli.py)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import recsys as rs
from recsys.cli import main


@pytest.fixture
def purchases_parquet(tmp_path: Path) -> Path:
    raw = rs.datasets.online_retail()
    customers = raw["CustomerID"].drop_nulls().unique().sort().head(300)
    path = tmp_path / "raw.parquet"
    raw.filter(pl.col("CustomerID").is_in(customers.implode())).write_parquet(path)
    return path


@pytest.mark.filterwarnings("ignore::recsys.exceptions.DataWarning")
def test_actions_command(purchases_parquet: Path, tmp_path: Path) -> None:
    out = tmp_path / "actions.parquet"
    argv = ["actions", str(purchases_parquet), "--preset", "online_retail"]
    argv += ["--as-of", "2011-09-09", "--max-customers", "50", "--model", "popular"]
    assert main([*argv, "--out", str(out)]) == 0
    actions = pl.read_parquet(out)
    assert actions.columns == ["user_id", "action", "reason", "value_at_stake", "items", "priority"]
    assert (actions["action"] != "none").sum() == 50
    csv = tmp_path / "actions.csv"
    assert main([*argv, "--out", str(csv)]) == 0
    assert pl.read_csv(csv).height == actions.height


def test_actions_command_needs_as_of(purchases_parquet: Path) -> None:
    assert main(["actions", str(purchases_parquet), "--preset", "online_retail"]) == 2
