"""Console messages of the command line: each warning printed once, in readable words."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys.cli.common import warnings_as_log_lines
from recsys.exceptions import DataWarning, InputDataError
from recsys.models.ranker import warn_filled


class ItemKNN:  # only its name is read
    pass


def _fill_message(filled: np.ndarray) -> str:
    with pytest.warns(DataWarning) as shown:
        warn_filled(ItemKNN(), filled)
    return str(shown.list[0].message)


def test_the_fill_warning_is_readable_with_thousands_separators() -> None:
    filled = np.zeros((2034, 10), dtype=bool)
    filled[0, 9] = True
    assert _fill_message(filled) == (
        "ItemKNN scores too few items for 1 of 2,034 customers: the most popular "
        "products fill 1 empty slot of their lists (1 per customer), with score -inf"
    )
    filled[1:33, 5:] = True
    assert _fill_message(filled) == (
        "ItemKNN scores too few items for 33 of 2,034 customers: the most popular "
        "products fill 161 empty slots of their lists (1 to 5 per customer), with score -inf"
    )


def test_the_fill_warning_of_the_test_and_validation_splits_prints_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    test_split = np.zeros((2034, 10), dtype=bool)
    test_split[:32, 9] = True
    validation_split = np.zeros((2015, 10), dtype=bool)
    validation_split[:43, 8:] = True
    with warnings_as_log_lines(), warnings.catch_warnings():
        warnings.simplefilter("always")
        warn_filled(ItemKNN(), test_split)
        warn_filled(ItemKNN(), validation_split)
        warnings.warn("3 purchase rows before as_of have price 0", DataWarning, stacklevel=1)
        warnings.warn(
            "at the cutoff 2010-09-10: 2 purchase rows before the cutoff have price 0",
            DataWarning,
            stacklevel=1,
        )
    assert capsys.readouterr().err.splitlines() == [
        "warning: ItemKNN scores too few items for 32 of 2,034 customers: the most popular "
        "products fill 32 empty slots of their lists (1 per customer), with score -inf",
        "warning: 3 purchase rows before as_of have price 0",
        "warning: at the cutoff 2010-09-10: 2 purchase rows before the cutoff have price 0",
    ]


_ORII_HEADER = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price"]
_ORII_HEADER += ["Customer ID", "Country"]


def test_the_wrong_online_retail_preset_suggests_the_one_whose_columns_the_file_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import recsys as rs
    from recsys.cli import main

    frame = pl.DataFrame(
        [["489434", "85048", "LIGHTS", 12, "2009-12-01 07:45:00", 6.95, 13085.0, "UK"]],
        schema=_ORII_HEADER,
        orient="row",
    )
    with pytest.raises(InputDataError) as err:
        rs.clean_purchases(frame, preset="online_retail")
    found = f"columns found: {_ORII_HEADER}"
    mismatch = (
        "mapped column(s) not in the table: user_id -> 'CustomerID', order_id -> "
        "'InvoiceNo', price -> 'UnitPrice'; " + found
    )
    assert str(err.value) == mismatch + "; the table has the columns of preset='online_retail_ii'"
    path = tmp_path / "orii.csv"
    frame.write_csv(path)
    assert main(["profile", str(path), "--preset", "online_retail"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"recsys profile: error: {mismatch}; the table has the columns of --preset online_retail_ii"
    )


def test_a_cutoff_outside_the_data_suggests_the_cutoffs_and_horizons_that_fit() -> None:
    from datetime import datetime

    from recsys.cli.job import cutoff_hint
    from recsys.job import JobConfig

    bought = pl.DataFrame(
        {
            "timestamp": [datetime(2010, 10, 26, 8, 11), datetime(2010, 12, 9, 20, 1)],
            "is_return": [False, False],
        }
    )
    cover = "is outside the data, which cover 2010-10-26 to 2010-12-09: the models cannot be "
    assert cutoff_hint(bought, JobConfig()) == (
        f"the cutoff 2010-09-11 (--horizon-days 90 before --as-of 2010-12-10) {cover}"
        "evaluated; pass --cutoff between 2010-10-27 and 2010-12-09, or --horizon-days 44 "
        "or fewer"
    )
    assert cutoff_hint(bought, JobConfig(cutoff="2010-10-01")) == (
        f"the cutoff 2010-10-01 {cover}evaluated; pass --cutoff between 2010-10-27 and 2010-12-09"
    )
    assert cutoff_hint(bought, JobConfig(horizon_days=44)) is None


def test_recsys_evaluate_names_the_cutoff_flag_outside_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from recsys.cli import main

    path = tmp_path / "shop.csv"
    pl.DataFrame(
        {
            "user_id": ["a", "b", "a"],
            "item_id": ["x", "y", "y"],
            "timestamp": ["2010-10-26 08:11:00", "2010-11-02 10:00:00", "2010-12-09 20:01:00"],
        }
    ).write_csv(path)
    out = tmp_path / "metrics.csv"
    assert main(["evaluate", str(path), "--cutoff", "2010-01-01", "--out", str(out)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "recsys evaluate: error: --cutoff 2010-01-01 00:00:00 is outside the data: it must be "
        "after the first purchase (2010-10-26 08:11:00) and at or before the last one "
        "(2010-12-09 20:01:00)"
    )
    assert not out.exists()


def test_the_horizon_days_help_says_everything_it_sets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from recsys.cli import main

    assert main(["report", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert (
        "--horizon-days N N days, the length of the evaluation's test window after --cutoff "
        "(on which the models, churn risk and CLV are checked), of the churn horizon (churn "
        "risk = no purchase in the next N days), of the campaign check's window (what the "
        "win-back customers spent in the N days after --cutoff), and the default --cutoff "
        "(N days before --as-of) (default: 90)"
    ) in shown


def test_prices_without_a_quantity_column_are_a_warning_that_spend_is_price_per_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from recsys.cli import main

    path = tmp_path / "shop.csv"
    shop = pl.DataFrame(
        {
            "member": ["a", "b", "a", "b"],
            "sku": ["x", "y", "y", "x"],
            "when": ["2024-01-02", "2024-01-03", "2024-02-01", "2024-02-03"],
            "Price": [2.5, 4.0, 4.0, 2.5],
        }
    )
    shop.write_csv(path)
    mapped = "user_id=member,item_id=sku,timestamp=when,price=Price"
    out = tmp_path / "profiles.csv"
    assert main(["profile", str(path), "--columns", mapped, "--out", str(out)]) == 0
    said = capsys.readouterr().err.splitlines()
    assert [line for line in said if "quantity column" in line] == [
        "warning: no quantity column: spend = price per row (every row counts as 1 unit); if "
        "a row can hold several units, pass --columns quantity=<your column>"
    ]
    shop.with_columns(Qty=pl.lit(2)).write_csv(path)
    assert (
        main(["profile", str(path), "--columns", f"{mapped},quantity=Qty", "--out", str(out)]) == 0
    )
    assert "quantity column" not in capsys.readouterr().err


def test_the_console_summary_shows_each_cards_warnings_under_its_headline() -> None:
    from recsys.cli.job import claim_lines
    from recsys.job.claims import Claim

    claims = [
        Claim("churn", "Churn is ranked by recency.", False, {}, ()),
        Claim("campaign", "Win back 3 customers.", True, {}, ("a peak window", "short history")),
    ]
    assert claim_lines(claims) == [
        "churn: Churn is ranked by recency.",
        "campaign: Win back 3 customers.",
        "  warning (campaign): a peak window",
        "  warning (campaign): short history",
    ]
