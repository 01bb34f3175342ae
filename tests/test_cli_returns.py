"""Every command reads the user's file one way (`recsys.cli.common.read_purchases`): the
return rows are kept and flagged as the main job keeps them, the console states their
count in the same line everywhere, and each command says what it does with them;
``recommend`` and ``evaluate`` leave them out. A cleaning warning the account prints
is printed once."""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from recsys.cli import main
from recsys.cli.common import warnings_as_log_lines
from recsys.cli.reading import RETURNS_USE, read_purchases
from recsys.job.inputs import JOB_RETURNS_USE


def _shop() -> pl.DataFrame:
    """30 customers over 2023: customer c buys item (7 c + k) % 40 on day 10 k + c,
    k < 30; customer 1 returns 1 of the 4 units of its first line, customer 2 returns 1
    unit of an item it bought; customer 99 has only a return row; every buying line is
    2 units but customer 1's first (4)."""
    rows = []
    for c in range(1, 31):
        for k in range(30):
            day = date(2023, 1, 1) + timedelta(days=10 * k + c)
            qty = 4 if (c, k) == (1, 0) else 2
            rows.append((c, f"i{(7 * c + k) % 40}", day.isoformat(), qty, 3.0))
    rows.append((1, "i7", "2023-01-05", -1, 3.0))
    rows.append((2, "i14", "2023-02-01", -1, 3.0))
    rows.append((99, "i3", "2023-03-01", -2, 3.0))
    return pl.DataFrame(rows, schema=["who", "sku", "day", "qty", "price"], orient="row")


COLUMNS = "user_id=who,item_id=sku,timestamp=day,quantity=qty,price=price"


@pytest.fixture
def shop_csv(tmp_path: Path) -> Path:
    path = tmp_path / "shop.csv"
    _shop().write_csv(path)
    return path


def _count_line(n: int) -> str:
    return f"{n} return/cancellation rows kept, flagged is_return (counted in rows out)"


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        ("profile", []),
        ("recommend", ["--model", "popular", "--k", "2"]),
        ("evaluate", ["--cutoff", "2023-10-01", "--models", "popular", "--bootstrap", "10"]),
        ("actions", ["--bootstrap", "10"]),
    ],
)
def test_every_command_states_the_return_rows_the_same_way(
    command: str, extra: list[str], shop_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / f"{command}.parquet"
    argv = [command, str(shop_csv), "--columns", COLUMNS, "--out", str(out), *extra]
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    returns = int((_shop()["qty"] <= 0).sum())  # 3: every negative line is a return
    assert err.count(_count_line(returns)) == 1
    assert err.count(f"the return rows kept: {RETURNS_USE[command]}") == 1
    assert not [line for line in err if "report.returns" in line]  # none dropped


def test_profile_counts_returns_as_the_job_does(
    shop_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "p.parquet"
    assert main(["profile", str(shop_csv), "--columns", COLUMNS, "--out", str(out)]) == 0
    profiles = pl.read_parquet(out).sort("user_id")
    rate = dict(zip(profiles["user_id"].to_list(), profiles["return_rate"], strict=True))
    spend = dict(zip(profiles["user_id"].to_list(), profiles["monetary"], strict=True))
    # returned units / bought units; spend is the purchases' (the job's profile spend)
    assert rate[1] == pytest.approx(1 / (4 + 29 * 2))
    assert rate[2] == pytest.approx(1 / (30 * 2))
    assert rate[3] == 0.0
    assert spend[1] == pytest.approx((4 + 29 * 2) * 3.0)
    assert 99 not in rate  # only a return: no profile
    assert "1 customer has only return rows" in capsys.readouterr().err


def test_recommend_never_sees_a_return_row(shop_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    argv = ["recommend", str(shop_csv), "--columns", COLUMNS, "--model", "popular"]
    assert main([*argv, "--k", "2", "--out", str(out)]) == 0
    recs = pl.read_parquet(out)
    assert sorted(recs["user_id"].unique().to_list()) == list(range(1, 31))  # not 99


def test_the_job_states_the_count_in_the_same_line(
    shop_csv: Path, capsys: pytest.CaptureFixture
) -> None:
    from recsys.job import load_purchases

    read_purchases(
        lambda: load_purchases(
            str(shop_csv), columns=dict(p.split("=") for p in COLUMNS.split(","))
        ),
        JOB_RETURNS_USE,
        label="shop",
        file=None,
    )
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "[read] shop ..."
    assert err.count(_count_line(3)) == 1
    assert err.count(f"the return rows kept: {JOB_RETURNS_USE}") == 1


def _named_shop() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [1, 1, 2],
            "item_id": ["a", "a", "POST"],
            "timestamp": ["2024-01-02", "2024-01-03", "2024-01-04"],
            "Description": ["MUG", "Mug", "postage"],
        }
    )


def test_a_cleaning_warning_the_account_prints_is_printed_once(
    capsys: pytest.CaptureFixture,
) -> None:
    from recsys.job import load_purchases

    with warnings_as_log_lines():
        read_purchases(
            lambda: load_purchases(_named_shop(), non_product_items=("POST", "NOPE")),
            JOB_RETURNS_USE,
        )
    err = capsys.readouterr().err
    assert err.count("'NOPE' matches no item id") == 1
    assert err.count("1 item id carries several names in column 'Description'") == 1


def test_a_warning_raised_before_a_failure_is_still_printed(
    capsys: pytest.CaptureFixture,
) -> None:
    def load() -> None:
        warnings.warn("read half of it", UserWarning, stacklevel=1)
        raise ValueError("then failed")

    with warnings_as_log_lines(), pytest.raises(ValueError, match="then failed"):
        read_purchases(load, JOB_RETURNS_USE)  # type: ignore[arg-type]
    assert capsys.readouterr().err.count("read half of it") == 1


def test_the_unmatched_non_product_ids_are_printed_once(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "retail.csv"
    pl.DataFrame(
        {
            "InvoiceNo": ["1", "1", "C2"],
            "StockCode": ["85123A", "POST", "85123A"],
            "Quantity": [2, 1, -1],
            "InvoiceDate": ["2011-01-01 10:00:00"] * 2 + ["2011-01-03 10:00:00"],
            "UnitPrice": [10.0, 4.0, 10.0],
            "CustomerID": [7, 7, 7],
        }
    ).write_csv(path)
    out = tmp_path / "p.parquet"
    argv = ["profile", str(path), "--preset", "online_retail", "--out", str(out)]
    assert main([*argv, "--non-product-items", "+NOPE,POST"]) == 0
    err = capsys.readouterr().err
    assert err.count("non_product_items: 'NOPE' matches no item id") == 1
    assert err.count(_count_line(1).replace("rows", "row", 1)) == 1
    assert f"wrote {out} (1 row)" in err
