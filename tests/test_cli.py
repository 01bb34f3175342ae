"""The recsys command line: help, the demo job, one-line errors."""

from __future__ import annotations

import re
from datetime import datetime
from html import escape as html_escape
from pathlib import Path

import polars as pl
import pytest

from recsys.cli import main
from recsys.exceptions import InputDataError


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


def test_demo_writes_every_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "demo"
    argv = ["demo", "--out", str(out_dir), "--sample-users", "300", "--bootstrap", "20"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "rows in" in text
    assert "model: " in text
    assert "evaluation: Evaluated on all" in text
    purchases = pl.read_parquet(out_dir / "purchases.parquet")
    assert purchases.columns[:4] == ["user_id", "item_id", "order_id", "timestamp"]
    # 300 customers drawn among those with a purchase (no cancellation-only customer)
    assert purchases.filter(~pl.col("is_return"))["user_id"].n_unique() == 300
    # the return rows are kept, flagged (the campaign check nets them)
    assert purchases["is_return"].any()
    assert (purchases["quantity"] > 0).to_list() == (~purchases["is_return"]).to_list()
    # their count once, in the cleaning account; what the job does with them once
    kept = int(purchases["is_return"].sum())
    assert text.count(f"{kept:,} return/cancellation rows kept, flagged is_return") == 1
    assert text.count("the return rows kept: the spend measured after the evaluation") == 1
    names = sorted(p.name for p in out_dir.iterdir())  # no temp files left
    assert names == [
        "README.md",
        "actions.parquet",
        "due.parquet",
        "metrics.csv",
        "profiles.parquet",
        "purchases.parquet",
        "recommendations.parquet",
        "report.html",
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--sample-users", "zero"],
        ["demo", "--sample-users", "-3"],
        ["demo", "--bogus"],
        ["nonsense"],
        ["recommend", "orders.csv", "--model", "nope"],
        ["evaluate", "orders.csv"],
        ["uplift", "experiment.csv", "--arm", "a"],
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


@pytest.fixture
def orders_csv(tmp_path: Path) -> Path:
    """A small orders file in the user's own column names (Online Retail sample)."""
    import recsys as rs

    raw = rs.datasets.online_retail()
    customers = raw["CustomerID"].drop_nulls().unique().sort().head(150)
    sample = raw.filter(pl.col("CustomerID").is_in(customers.implode())).rename(
        {"CustomerID": "customer", "StockCode": "sku", "InvoiceDate": "when", "Quantity": "qty"}
    )
    path = tmp_path / "orders.csv"
    columns = ("customer", "sku", "when", "qty", "UnitPrice", "InvoiceNo", "Description")
    sample.select(columns).write_csv(path)
    return path


COLUMNS = "user_id=customer,item_id=sku,timestamp=when,quantity=qty,price=UnitPrice"


def test_profile_command(orders_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "profiles.parquet"
    argv = ["profile", str(orders_csv), "--columns", COLUMNS, "--as-of", "2011-09-09"]
    assert main([*argv, "--out", str(out)]) == 0
    profiles = pl.read_parquet(out)
    assert {"user_id", "rfm_segment", "lifecycle_stage", "churn_risk"} <= set(profiles.columns)
    assert profiles["last_purchase"].max() < datetime(2011, 9, 9)  # type: ignore[operator]


def test_recommend_command_csv_output(orders_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "recs.csv"
    argv = ["recommend", str(orders_csv), "--columns", COLUMNS, "--model", "popular", "--k", "3"]
    assert main([*argv, "--out", str(out)]) == 0
    recs = pl.read_csv(out)
    assert recs.columns == ["user_id", "item_id", "score", "rank"]
    assert recs.group_by("user_id").len()["len"].max() == 3
    orders = pl.read_csv(orders_csv, infer_schema_length=None)
    buyers = orders.filter((pl.col("qty") > 0) & ~pl.col("InvoiceNo").str.starts_with("C"))
    assert recs["user_id"].n_unique() == buyers["customer"].n_unique()  # every buying customer


def test_evaluate_command(orders_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["evaluate", str(orders_csv), "--columns", COLUMNS, "--cutoff", "2011-09-09"]
    assert main([*argv, "--models", "popular,repurchase", "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out
    assert "repurchase" in out
    assert "hit_rate" in out


def test_uplift_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "experiment.csv"
    pl.DataFrame(
        {"group": [0] * 100 + [1] * 100, "retained": [1] * 20 + [0] * 80 + [1] * 35 + [0] * 65}
    ).write_csv(path)
    out = tmp_path / "uplift.parquet"
    argv = ["uplift", str(path), "--arm", "group", "--control", "0", "--outcome", "retained"]
    assert main([*argv, "--out", str(out)]) == 0
    table = pl.read_parquet(out)
    assert table["uplift"].to_list() == pytest.approx([0.15])


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["profile", "missing.csv"], "file not found"),
        (["profile", "ORDERS", "--columns", "user_id"], "--columns expects"),
        (["profile", "ORDERS", "--columns", COLUMNS.replace("customer", "nope")], "'nope'"),
        (["recommend", "ORDERS", "--columns", COLUMNS, "--out", "recs.txt"], ".parquet or .csv"),
        (
            ["evaluate", "ORDERS", "--columns", COLUMNS, "--cutoff", "2011-09-09", "--models", "x"],
            "x",
        ),
        (["uplift", "ORDERS", "--arm", "nope", "--control", "a", "--outcome", "qty"], "nope"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], fragment: str, orders_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(orders_csv) if a == "ORDERS" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"recsys {argv[0]}: error:")
    assert fragment in err[-1]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["profile", "MISSING", "--as-of", "yesterday"], "--as-of must be"),
        (["evaluate", "MISSING", "--cutoff", "09/09/2010"], "--cutoff must be"),
        (["recommend", "MISSING", "--out", "recs.xlsx"], ".parquet or .csv"),
        (["evaluate", "MISSING", "--cutoff", "2010-09-09", "--models", "als,nope"], "nope"),
        (["profile", "MISSING", "--columns", "user_id"], "canonical=yours"),
    ],
)
def test_arguments_checked_before_the_file_is_read(
    argv: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the file does not exist: an argument error proves nothing was read first
    argv = [str(tmp_path / "nope.csv") if a == "MISSING" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert fragment in err[0]
    assert "not found" not in err[0]


def test_date_format_and_dayfirst(
    orders_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pl.read_csv(orders_csv, infer_schema_length=None)
    moments = frame["when"].str.to_datetime()
    # every day <= 12: only the user can tell day-first from month-first
    moments = moments.dt.replace(day=moments.dt.day().clip(1, 12))
    path = tmp_path / "uk.csv"
    frame.with_columns(when=moments.dt.strftime("%d/%m/%Y %H:%M")).write_csv(path)
    argv = ["profile", str(path), "--columns", COLUMNS]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "day-first and month-first" in err[0]
    assert "'when'" in err[0]
    out = tmp_path / "p.parquet"
    assert main([*argv, "--dayfirst", "--out", str(out)]) == 0
    assert main([*argv, "--date-format", "%d/%m/%Y %H:%M", "--out", str(out)]) == 0
    assert main([*argv, "--monthfirst", "--out", str(out)]) == 0


def test_warnings_are_one_line_messages(
    orders_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pl.read_csv(orders_csv, infer_schema_length=None)
    bad = frame.with_columns(when=pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("n/a")))
    path = tmp_path / "orders.csv"
    frame.with_columns(when=pl.coalesce(bad["when"], frame["when"])).write_csv(path)
    assert main(["profile", str(path), "--columns", COLUMNS, "--out", str(tmp_path / "p.csv")]) == 0
    err = capsys.readouterr().err.splitlines()
    dropped = [line for line in err if "'n/a'" in line]
    assert len(dropped) == 1
    assert dropped[0].startswith("warning: column 'when' (timestamp): 1 of")
    assert not any(".py:" in line for line in err)


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_before_or_after_the_command_shows_the_traceback(where: str, tmp_path: Path) -> None:
    argv = ["profile", str(tmp_path / "nope.csv")]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    with pytest.raises(InputDataError, match="file not found"):
        main(argv)


def test_unreadable_files_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "garbage.csv"
    junk.write_bytes(bytes(range(256)) * 8)
    unclosed = tmp_path / "unclosed.csv"
    unclosed.write_text('user_id,item_id,timestamp\n1,"a,2024-01-01\n2,b,2024-01-02\n')
    for path in (junk, unclosed, tmp_path):
        assert main(["profile", str(path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert err[0].startswith("recsys profile: error:")
        assert str(path) in err[0]
        assert len(err[0]) < 400


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from recsys._version import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"recsys {__version__}"


@pytest.mark.parametrize(
    "command", ["report", "demo", "recommend", "evaluate", "uplift", "actions"]
)
def test_every_help_shows_defaults_and_seed(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: " in out
    assert "--seed SEED" in out
    if command in ("recommend", "evaluate", "actions"):
        assert "--param NAME=VALUE" in out


def test_report_command_on_your_own_file(
    orders_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    argv = ["report", str(orders_csv), "--columns", COLUMNS + ",order_id=InvoiceNo"]
    argv += ["--out", str(out), "--bootstrap", "20", "--currency", "EUR ", "--seed", "3"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "model: " in text
    lines = text.splitlines()
    read = lines.index(f"[read] {orders_csv} ...")
    assert re.fullmatch(rf"      read {re.escape(str(orders_csv))}: \d+\.\d s", lines[read + 1])
    html = (out / "report.html").read_text()
    assert "What to do now" in html
    assert "EUR " in html
    assert "Data quality" in html
    # product names from the Description column, as written, next to the codes
    recs = pl.read_parquet(out / "recommendations.parquet")
    first = str(recs["item_id"][0])
    orders = pl.read_csv(orders_csv, infer_schema_length=None)
    names = orders.filter(pl.col("sku").cast(pl.String) == first)["Description"].drop_nulls()
    assert recs["item_name"][0] in set(names.str.strip_chars())
    assert html_escape(recs["item_name"][0]) in html
    actions = pl.read_parquet(out / "actions.parquet")
    assert {"user_id", "action", "projected_value"} <= set(actions.columns)


def test_report_dates_checked_before_reading(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["report", "missing.csv", "--as-of", "2011-01-01", "--cutoff", "2011-02-01"]
    assert main(argv) == 2
    assert "--cutoff 2011-02-01 must be before --as-of" in capsys.readouterr().err
    assert main(["report", "missing.csv", "--cutoff", "09/31/2011"]) == 2
    err = capsys.readouterr().err
    assert "--cutoff" in err
    assert "as_of" not in err


def test_report_as_of_before_the_data_names_the_date_given(
    orders_csv: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["report", str(orders_csv), "--columns", COLUMNS, "--as-of", "1990-01-01"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--as-of 1990-01-01" in err
    assert "1989" not in err  # never a date the user did not give


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--horizon-days", "0"], "--horizon-days"),
        (["--due-horizon-days", "3000000"], "--due-horizon-days"),
        (["--contact-cost", "-1"], "--contact-cost"),
        (["--on-unknown", "raise"], "--on-unknown"),
        (["--models", "popular,nope"], "nope"),
    ],
)
def test_report_flags_checked_in_their_own_words(
    flags: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "missing.csv", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert fragment in err[0]
    assert "not found" not in err[0]
    internal = ("JobConfig", "horizon_days", "contact_cost", "on_unknown", "as_of")
    assert not any(name in err[0] for name in internal)


def test_report_description_column_named_in_the_users_words(
    orders_csv: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["report", str(orders_csv), "--columns", COLUMNS, "--description", "Nope"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "'Nope'" in err
    assert "--description" in err
    assert "keep_columns" not in err


@pytest.mark.parametrize(
    ("param", "fragment"),
    [
        ("factors=-3", "factors"),
        ("factorz=3", "no such parameter"),
        ("factors", "name=value"),
    ],
)
def test_model_parameters_are_checked_before_reading(
    param: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["recommend", "missing.csv", "--model", "als", "--param", param]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert fragment in err
    assert "missing.csv" not in err  # the parameter is checked before the file


def test_model_parameters_reach_the_model(orders_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "recs.parquet"
    argv = ["recommend", str(orders_csv), "--columns", COLUMNS, "--model", "als"]
    argv += ["--param", "factors=8", "--param", "iterations=2", "--seed", "1"]
    assert main([*argv, "--out", str(out)]) == 0
    first = pl.read_parquet(out)
    assert main([*argv, "--out", str(out)]) == 0
    assert pl.read_parquet(out).equals(first)  # --seed makes it repeatable


def test_preview_fits_the_terminal() -> None:
    from recsys.cli import preview

    wide = pl.DataFrame({f"column_number_{i}": [1.5, 2.5] for i in range(22)})
    text = preview(wide, "", width=80)
    assert all(len(line) <= 80 for line in text.splitlines()[:-1])
    assert "--out" in text.splitlines()[-1]


def _experiment(tmp_path: Path, repeated: bool = False) -> Path:
    import numpy as np

    rng = np.random.default_rng(0)
    n = 4000
    arm = np.where(rng.random(n) < 0.9, "treatment", "control")
    ids = np.arange(n) // (3 if repeated else 1)
    path = tmp_path / "experiment.csv"
    outcome = (rng.random(n) < 0.3).astype(int)
    pl.DataFrame({"user_id": ids, "arm": arm, "retained": outcome}).write_csv(path)
    return path


def test_uplift_expected_ratio_silences_a_planned_imbalance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["uplift", str(_experiment(tmp_path)), "--arm", "arm", "--control", "control"]
    argv += ["--outcome", "retained"]
    assert main(argv) == 0
    assert "sample ratio mismatch" in capsys.readouterr().err
    assert main([*argv, "--expected-ratio", "0.9,0.1"]) == 0
    assert "sample ratio mismatch" not in capsys.readouterr().err
    assert main([*argv, "--expected-ratio", "treatment=0.9,control=0.1"]) == 0
    assert "sample ratio mismatch" not in capsys.readouterr().err


def test_uplift_refuses_several_rows_per_unit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["uplift", str(_experiment(tmp_path, repeated=True)), "--arm", "arm"]
    assert main([*argv, "--control", "control", "--outcome", "retained"]) == 2
    err = capsys.readouterr().err
    assert "'user_id'" in err
    assert "one row per unit" in err


def test_report_without_prices_ranks_by_orders(orders_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    columns = "user_id=customer,item_id=sku,timestamp=when,quantity=qty"
    argv = ["report", str(orders_csv), "--columns", columns, "--out", str(out)]
    assert main([*argv, "--bootstrap", "20"]) == 0
    html = (out / "report.html").read_text()
    assert "the file has no prices" in html


def test_one_row_per_unit_is_the_librarys_check() -> None:
    import recsys as rs

    frame = pl.DataFrame({"user_id": [1, 1, 2], "arm": ["a", "b", "a"], "y": [1, 0, 1]})
    with pytest.raises(InputDataError, match="one row per unit"):
        rs.uplift.uplift_table(frame, arm="arm", outcome="y", control="a", unit="user_id")


def test_a_warning_is_printed_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import warnings

    from recsys.cli.common import warnings_as_log_lines
    from recsys.exceptions import DataWarning

    with warnings_as_log_lines():
        for _ in range(3):
            warnings.warn("the same   message", DataWarning, stacklevel=1)
        warnings.warn("another message", DataWarning, stacklevel=1)
    err = capsys.readouterr().err.splitlines()
    assert err == ["warning: the same message", "warning: another message"]


def test_status_and_line_total_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "orders.csv"
    pl.DataFrame(
        {
            "who": [1, 1, 2, 2],
            "sku": ["a", "b", "a", "c"],
            "when": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
            "qty": [2, 1, 1, 3],
            "Sales": [10.0, 3.0, 5.0, 9.0],
            "state": ["done", "done", "Cancelled", "done"],
        }
    ).write_csv(path)
    columns = "user_id=who,item_id=sku,timestamp=when,quantity=qty,amount=Sales,status=state"
    out = tmp_path / "p.parquet"
    argv = ["profile", str(path), "--columns", columns, "--out", str(out)]
    assert main([*argv, "--cancelled-status", "cancelled"]) == 0
    assert "cancellation" in capsys.readouterr().err
    profiles = pl.read_parquet(out).sort("user_id")
    assert profiles["monetary"].to_list() == [13.0, 9.0]  # line totals, not x quantity


def test_non_product_items_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "orders.csv"
    pl.DataFrame(
        {
            "who": [1, 1, 2, 2],
            "sku": ["a", "SHIP", "a", "FEE"],
            "when": ["2024-01-01", "2024-01-01", "2024-01-03", "2024-01-04"],
            "qty": [1, 1, 1, 1],
            "price": [10.0, 4.0, 5.0, 2.0],
        }
    ).write_csv(path)
    columns = "user_id=who,item_id=sku,timestamp=when,quantity=qty,price=price"
    out = tmp_path / "p.parquet"
    argv = ["profile", str(path), "--columns", columns, "--out", str(out)]
    assert main([*argv, "--non-product-items", "SHIP, FEE"]) == 0
    assert "non_product" in capsys.readouterr().err
    profiles = pl.read_parquet(out).sort("user_id")
    assert profiles["monetary"].to_list() == [10.0, 5.0]  # postage and fee lines left out
    assert main([*argv, "--non-product-items", ""]) == 0
    assert pl.read_parquet(out).sort("user_id")["monetary"].to_list() == [14.0, 7.0]


def test_non_product_items_replace_or_add_to_the_preset_s_and_unmatched_ones_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "retail.csv"
    pl.DataFrame(
        {
            "InvoiceNo": ["1", "1", "1", "2"],
            "StockCode": ["85123A", "POST", "WRAP", "85123A"],
            "Quantity": [1, 1, 1, 2],
            "InvoiceDate": ["2011-01-01 10:00:00"] * 3 + ["2011-01-03 10:00:00"],
            "UnitPrice": [10.0, 4.0, 3.0, 5.0],
            "CustomerID": [7, 7, 7, 8],
        }
    ).write_csv(path)
    out = tmp_path / "p.parquet"
    argv = ["profile", str(path), "--preset", "online_retail", "--out", str(out)]

    def monetary(items: str | None) -> list[float]:
        extra = [] if items is None else ["--non-product-items", items]
        assert main([*argv, *extra]) == 0
        return pl.read_parquet(out).sort("user_id")["monetary"].to_list()

    assert monetary(None) == [13.0, 10.0]  # the preset's list drops POST
    assert "match" not in capsys.readouterr().err  # its codes absent here are not named
    assert monetary("WRAP") == [14.0, 10.0]  # replaces the preset's list: POST is back
    assert monetary("+WRAP") == [10.0, 10.0]  # adds to it
    assert "matches no item id" not in capsys.readouterr().err
    assert monetary("+WRAP,POSTAGE") == [10.0, 10.0]
    err = capsys.readouterr().err
    # named in the warning and in the cleaning account's notes (the report page's too)
    assert "non_product_items: 'POSTAGE' matches no item id" in err
    assert "'WRAP' matches" not in err


def test_a_missing_column_is_named_in_the_words_of_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ta_feng.csv"
    pl.DataFrame(
        {
            "TRANSACTION_DT": ["11/1/2000"],
            "CUSTOMER_ID": ["01104905"],
            "PRODUCT_ID": ["4710199010372"],
            "AMOUNT": [2],
            "SALES_PRICE": [42.0],
        }
    ).write_csv(path)
    assert main(["profile", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "recsys profile: error: no column for 'user_id', 'item_id', 'timestamp': pass --preset "
        "ta_feng (the table has its columns), or --columns user_id=<your column>,item_id=<your "
        "column>,timestamp=<your column>; columns found: ['TRANSACTION_DT', "
    )
    assert "columns={" not in err
    out = tmp_path / "report"
    assert main(["report", str(path), "--columns", "user_id=CUSTOMER_ID", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no column for 'item_id', 'timestamp': pass --preset ta_feng" in err
    # the whole --columns value: the pair given, then the missing ones
    hint = "--columns user_id=CUSTOMER_ID,item_id=<your column>,timestamp=<your column>;"
    assert hint in err
    # filled in as it stands, the hint reads the file
    filled = hint.removeprefix("--columns ").rstrip(";")
    filled = filled.replace("<your column>", "PRODUCT_ID", 1).replace(
        "<your column>", "TRANSACTION_DT"
    )
    out = tmp_path / "p.parquet"
    assert main(["profile", str(path), "--columns", filled, "--monthfirst", "--out", str(out)]) == 0
    assert pl.read_parquet(out)["user_id"].to_list() == ["01104905"]
