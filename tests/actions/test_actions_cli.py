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
def test_actions_command(
    purchases_parquet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "actions.parquet"
    argv = ["actions", str(purchases_parquet), "--preset", "online_retail"]
    argv += ["--as-of", "2011-09-09", "--max-customers", "50", "--model", "popular"]
    argv += ["--bootstrap", "50"]
    assert main([*argv, "--out", str(out)]) == 0
    # what ranks the customers, checked on the 90 days before --as-of, as the report says
    err = capsys.readouterr().err
    purchases, _ = rs.clean_purchases(pl.read_parquet(purchases_parquet), preset="online_retail")
    config = rs.job.JobConfig(as_of="2011-09-09", k=5, bootstrap=50, models=("popular",))
    job = rs.job.run(purchases, config)
    assert f"churn: {job.claims['churn'].text}" in err
    assert f"value: {job.claims['value'].text}" in err
    actions = pl.read_parquet(out)
    assert actions.columns == [
        "user_id",
        "action",
        "reason",
        "projected_value",
        "items",
        "priority",
    ]
    assert (actions["action"] != "none").sum() == 50
    csv = tmp_path / "actions.csv"
    assert main([*argv, "--out", str(csv)]) == 0
    assert pl.read_csv(csv).height == actions.height


@pytest.mark.filterwarnings("ignore::recsys.exceptions.DataWarning")
def test_actions_command_takes_the_same_as_of_default_as_report(
    purchases_parquet: Path, tmp_path: Path
) -> None:
    out = tmp_path / "actions.parquet"
    argv = ["actions", str(purchases_parquet), "--preset", "online_retail", "--model", "none"]
    assert main([*argv, "--out", str(out)]) == 0
    actions = pl.read_parquet(out)
    purchases, _ = rs.clean_purchases(pl.read_parquet(purchases_parquet), preset="online_retail")
    assert actions.height == purchases["user_id"].n_unique()  # everyone, as of the day after


def test_actions_without_prices_values_customers_in_orders(tmp_path: Path) -> None:
    from tests.job import shops

    path = tmp_path / "grocery.csv"
    shop = shops.grocery(customers=60)
    shop.write_csv(path)
    out = tmp_path / "actions.parquet"
    assert main(["actions", str(path), "--model", "none", "--out", str(out)]) == 0
    actions = pl.read_parquet(out)
    assert actions.height == shop["user_id"].n_unique()
    assert (actions["projected_value"] > 0).any()


@pytest.mark.parametrize(
    ("flag", "value", "fragment"),
    [
        ("--contact-cost", "-1", "--contact-cost must be >= 0"),
        ("--min-expected-value", "inf", "--min-expected-value must be a finite number"),
        ("--due-horizon-days", "3000000", "--due-horizon-days"),
    ],
)
def test_budget_flags_checked_before_the_file_is_read(
    flag: str, value: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["actions", str(tmp_path / "missing.csv"), flag, value]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1  # nothing was read, cleaned or profiled first
    assert fragment in err[0]
    assert "not found" not in err[0]


@pytest.mark.filterwarnings("ignore::recsys.exceptions.DataWarning")
def test_actions_command_takes_a_plan(
    purchases_parquet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    purchases, _ = rs.clean_purchases(pl.read_parquet(purchases_parquet), preset="online_retail")
    customers = purchases["user_id"].unique().sort()
    planned = customers.head(customers.len() - 10)  # the last 10 are missing from the plan
    plan = pl.DataFrame(
        {
            "user_id": planned,
            "treat": [i % 3 == 0 for i in range(planned.len())],
            "in_holdout": [i % 3 == 1 for i in range(planned.len())],
            "reason": "by hand",
        }
    )
    plan.write_parquet(tmp_path / "plan.parquet")
    out = tmp_path / "actions.parquet"
    argv = ["actions", str(purchases_parquet), "--preset", "online_retail", "--model", "none"]
    assert main([*argv, "--plan", str(tmp_path / "plan.parquet"), "--out", str(out)]) == 0
    actions = pl.read_parquet(out)
    offered = set(actions.filter(pl.col("action") != "none")["user_id"])
    assert offered <= set(plan.filter("treat")["user_id"])
    holdout = plan.filter("in_holdout").height
    not_treated = plan.height - holdout - plan["treat"].sum()
    err = capsys.readouterr().err
    assert f"{not_treated:,} customers not treated, {holdout:,} in its holdout, 10 not in" in err
