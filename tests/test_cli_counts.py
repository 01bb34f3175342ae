"""Who is left out is counted, on the Python route (a DataWarning) and on the command line
(the same count, in the flags' words): test customers without history, short lists; and
the command line's errors name its flags, not the library's parameters."""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

import recsys as rs
from recsys.cli import main
from recsys.exceptions import DataWarning, InputDataError

COLUMNS = "user_id=customer,item_id=sku,timestamp=when,quantity=qty,price=unit_price"
COLUMNS_DICT = dict(pair.split("=") for pair in COLUMNS.split(","))


def _rows(rows: list[tuple[int, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer": [r[0] for r in rows],
            "sku": [r[1] for r in rows],
            "when": [r[2] for r in rows],
            "qty": [1] * len(rows),
            "unit_price": [2.5] * len(rows),
        }
    )


# customers 1 and 2 buy before 2020-01-10; in the window 1 returns, 3 and 4 are new
SHOP = _rows(
    [
        (1, "a", "2020-01-02 10:00:00"),
        (1, "b", "2020-01-03 10:00:00"),
        (2, "a", "2020-01-04 10:00:00"),
        (1, "c", "2020-01-12 10:00:00"),
        (3, "a", "2020-01-13 10:00:00"),
        (4, "b", "2020-01-14 10:00:00"),
        (4, "c", "2020-01-14 10:00:00"),
    ]
)
LEFT_OUT = (
    "2 of 3 test customers (66.7%) had no purchase before the cutoff 2020-01-10 and are "
    "left out of the test set (3 rows): the 1 other is evaluated"
)


def _purchases() -> pl.DataFrame:
    frame, _ = rs.clean_purchases(SHOP, columns=COLUMNS_DICT)
    return frame


@pytest.fixture
def shop_csv(tmp_path: Path) -> Path:
    path = tmp_path / "shop.csv"
    SHOP.write_csv(path)
    return path


def test_temporal_split_warns_with_the_count_of_test_customers_left_out() -> None:
    with pytest.warns(DataWarning) as shown:
        split = rs.evaluation.temporal_split(_purchases(), "2020-01-10")
    messages = [str(w.message) for w in shown.list]
    assert messages == [f"{LEFT_OUT}; include_cold_users=True keeps them"]
    assert split.info["test_users_without_history"] == 2
    assert split.test["user_id"].to_list() == [1]
    assert "2 users without history left out" in repr(split)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # nobody left out: no warning
        kept = rs.evaluation.temporal_split(_purchases(), "2020-01-10", include_cold_users=True)
    assert sorted(kept.test["user_id"].unique().to_list()) == [1, 3, 4]


def test_a_second_purchase_row_required_is_named_in_the_count() -> None:
    with pytest.warns(DataWarning, match=r"^2 of 3 test customers \(66.7%\) had fewer than 2 "):
        rs.evaluation.temporal_split(_purchases(), "2020-01-10", min_train_purchases=2)


def test_evaluate_on_the_command_line_states_who_is_left_out_and_the_flag(
    shop_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["evaluate", str(shop_csv), "--columns", COLUMNS, "--cutoff", "2020-01-10"]
    argv += ["--models", "popular", "--bootstrap", "5", "--k", "2"]
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert f"warning: {LEFT_OUT}; --on-unknown fallback keeps them" in err
    assert main([*argv, "--on-unknown", "fallback"]) == 0
    assert not any("left out of the test set" in line for line in capsys.readouterr().err)


def test_recommend_counts_the_customers_with_nothing_new_to_offer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # customer 1 bought the whole catalogue; customer 2 one item of three
    frame = _rows([(1, "a", "2020-01-02"), (1, "b", "2020-01-03"), (1, "c", "2020-01-04")])
    frame = pl.concat([frame, _rows([(2, "a", "2020-01-05")])])
    inter = rs.Interactions.from_frame(frame.rename({"customer": "user_id", "sku": "item_id"}))
    with pytest.warns(DataWarning) as shown:
        recs = rs.ALS(factors=2, iterations=2).fit(inter).recommend(k=2)
    assert recs.group_by("user_id").len().rows() == [(2, 2)]
    assert [str(w.message) for w in shown.list] == [
        "ALS has fewer than 2 items to recommend to 1 customer of 2 (none to 1): the "
        "catalogue holds 3 items, less the items each bought before (exclude_seen=True)"
    ]
    path, out = tmp_path / "one.csv", tmp_path / "recs.parquet"
    frame.filter(pl.col("customer") == 1).write_csv(path)
    argv = ["recommend", str(path), "--columns", COLUMNS, "--model", "als", "--k", "5"]
    assert main([*argv, "--out", str(out)]) == 0
    assert pl.read_parquet(out).height == 0
    assert (
        "warning: ALS has fewer than 5 items to recommend to 1 customer of 1 (none to 1): the "
        "catalogue holds 3 items, less the items each bought before (exclude_seen=True)"
    ) in capsys.readouterr().err.splitlines()


def test_errors_name_the_flags_on_the_command_line_and_the_parameters_in_python(
    shop_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(InputDataError, match=r"pass timestamp_format= \(strftime syntax\)$"):
        rs.clean_purchases(SHOP, columns=COLUMNS_DICT, timestamp_format="%Y/%m/%d")
    argv = ["profile", str(shop_csv), "--columns", COLUMNS, "--out", str(tmp_path / "p.csv")]
    assert main([*argv, "--date-format", "%Y/%m/%d"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("do not parse as '%Y/%m/%d', e.g. '2020-01-02 10:00:00', "
                        "'2020-01-03 10:00:00', '2020-01-04 10:00:00'; pass --date-format "
                        "(strftime syntax)")  # fmt: skip
    assert "timestamp_format" not in err
    with pytest.raises(InputDataError, match=r"^as_of=2019-01-01 00:00:00 is not after"):
        rs.build_profiles(_purchases(), as_of=datetime(2019, 1, 1))
    assert main([*argv, "--as-of", "2019-01-01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        "recsys profile: error: --as-of 2019-01-01 00:00:00 is not after the first purchase "
        "(2020-01-02 10:00:00): no customer has a purchase strictly before it"
    )


def test_ambiguous_dates_ask_for_the_flags_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = SHOP.with_columns(when=pl.lit("02/01/2020 10:00"))  # 2 January or 1 February
    with pytest.raises(InputDataError, match=r"pass dayfirst=True or dayfirst=False, or "):
        rs.clean_purchases(frame, columns=COLUMNS_DICT)
    path = tmp_path / "ambiguous.csv"
    frame.write_csv(path)
    assert main(["profile", str(path), "--columns", COLUMNS]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "; pass --dayfirst or --monthfirst, or --date-format (e.g. '%d/%m/%Y %H:%M'" in err
    assert "dayfirst=" not in err
    assert "timestamp_format" not in err
