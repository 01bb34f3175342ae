"""The job receives the return rows (flagged ``is_return``): the campaign check at the
cutoff nets them, no model, recommendation, profile spend or count sees them, and the
cleaning account (command line and report page) says how many were kept and adds up."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import recsys as rs
from recsys.cli import main
from recsys.job import JobConfig, JobResult
from recsys.job.inputs import load_purchases
from recsys.job.run import default_as_of
from recsys.job.sampling import sample_customers
from recsys.report.quality import quality_notes
from tests.job import shops

AS_OF = datetime(2024, 1, 1)
CUTOFF = AS_OF - timedelta(days=90)
LAPSED = 10_000  # bought three large orders early, lapsed, came back in the window
RETURNED = 20 * 10.0  # the line cancelled in the window: 20 units at 10
ONLY_RETURNED = "ONLY-RETURNED"  # an item that is returned and never bought


def _config(**fields: object) -> JobConfig:
    base: dict[str, object] = {
        "as_of": AS_OF,
        "models": ("popular", "repurchase", "itemknn"),
        "bootstrap": 20,
        "currency": "$",
    }
    return JobConfig(**{**base, **fields})  # type: ignore[arg-type]


def _rows(user: int, order: str, when: datetime, lines: list[tuple[str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [user] * len(lines),
            "item_id": [item for item, _ in lines],
            "order_id": [order] * len(lines),
            "timestamp": [when] * len(lines),
            "quantity": [quantity for _, quantity in lines],
            "price": [10.0] * len(lines),
        },
        schema_overrides={"user_id": pl.Int64, "quantity": pl.Float64},
    )


def _shop() -> pl.DataFrame:
    """The wholesale shop and one lapsed customer who buys 400 in the window (no returns)."""
    early = [
        _rows(LAPSED, f"r{n}", datetime(2023, 1, 5) + timedelta(days=15 * n), [("p0", 50.0)])
        for n in range(3)
    ]
    back = _rows(LAPSED, "r9", CUTOFF + timedelta(days=20), [("p0", 10.0), ("p1", 30.0)])
    frame = pl.concat([shops.wholesale(), *early, back], how="vertical_relaxed")
    return frame.sort("timestamp", "user_id").with_columns(is_return=pl.lit(False))


def _returns(frame: pl.DataFrame) -> pl.DataFrame:
    """Return rows (negative quantity, flagged) as `recsys.clean_purchases` keeps them."""
    return frame.with_columns(pl.col("quantity").neg(), is_return=pl.lit(True))


def _cancelled_in_window() -> pl.DataFrame:
    return _returns(_rows(LAPSED, "Cr9", CUTOFF + timedelta(days=21), [("p1", 20.0)]))


def _checked(result: JobResult) -> tuple[float, float, int]:
    evidence = result.claims["campaign"].evidence
    return (
        evidence["checked_realised"],
        evidence["checked_projected"],
        evidence["checked_customers"],
    )


def test_a_return_in_the_campaign_window_lowers_the_realised_spend_by_its_amount() -> None:
    shop = _shop()
    plain = rs.job.run(shop, _config())
    netted = rs.job.run(pl.concat([shop, _cancelled_in_window()]), _config())
    realised, projected, customers = _checked(plain)
    assert _checked(netted) == (pytest.approx(realised - RETURNED, abs=1e-6), projected, customers)
    # the customer who came back and cancelled a line is one of those checked
    assert realised >= RETURNED


def test_the_command_line_s_loading_gives_the_job_the_returns(tmp_path: Path) -> None:
    # the same shop as a file: the cancelled line is a negative quantity the cleaning flags
    shop = _shop()
    path = tmp_path / "shop.csv"
    pl.concat([shop, _cancelled_in_window()]).drop("is_return").write_csv(path)
    purchases, report, _ = load_purchases(path)
    assert report.returns_kept == 1
    assert report.rows_in == report.rows_out + report.rows_dropped == shop.height + 1
    netted = rs.job.run(purchases, _config(), report=report)
    realised, projected, customers = _checked(rs.job.run(shop, _config()))
    assert _checked(netted) == (pytest.approx(realised - RETURNED, abs=1e-6), projected, customers)


def _with_returns(shop: pl.DataFrame) -> pl.DataFrame:
    """Returns of bought items (some in the test window), an item only ever returned (by
    many customers, before the cutoff, in the window and before as_of) and a customer
    who only returned."""
    bought = shop.filter(pl.col("user_id") < 40)
    returned = _returns(bought.gather_every(7)).with_columns(
        pl.col("quantity").clip(upper_bound=-1)
    )
    users = shop["user_id"].unique().sort().head(60).to_list()
    whens = [datetime(2023, 3, 1), CUTOFF + timedelta(days=10), AS_OF - timedelta(days=3)]
    only = pl.concat(
        [
            _returns(_rows(user, f"C{user}-{n}", whens[n % 3], [(ONLY_RETURNED, 2.0)]))
            for n, user in enumerate([*users, 20_000])  # 20,000 returned and never bought
        ]
    )
    return pl.concat([shop, returned, only]).sort("timestamp", "user_id")


@pytest.fixture(scope="module")
def with_and_without() -> tuple[JobResult, JobResult, pl.DataFrame]:
    shop = _shop()
    full = _with_returns(shop)
    return rs.job.run(shop, _config()), rs.job.run(full, _config()), full


def test_no_model_recommendation_profile_or_count_sees_a_return_row(
    with_and_without: tuple[JobResult, JobResult, pl.DataFrame],
) -> None:
    plain, returned, full = with_and_without
    assert full["is_return"].sum() > 100
    assert returned.recommendations.equals(plain.recommendations)
    assert ONLY_RETURNED not in returned.recommendations["item_id"].to_list()
    assert ONLY_RETURNED not in returned.due["item_id"].to_list()
    # the same decisions (the projected value to the last bits: sums over other frames)
    assert_frame_equal(returned.actions, plain.actions, rel_tol=1e-12)
    assert returned.due.equals(plain.due)
    assert returned.metrics.equals(plain.metrics)
    assert returned.model == plain.model
    assert returned.repeat_at_rank1 == plain.repeat_at_rank1
    assert returned.cohorts.equals(plain.cohorts)
    assert (returned.regime.customers, returned.regime.orders) == (
        plain.regime.customers,
        plain.regime.orders,
    )
    # the profiles are the same (the one deployed and the one checked at the cutoff),
    # with the share of units returned besides
    assert (plain.profiles["return_rate"] == 0).all()
    assert_frame_equal(
        returned.profiles.drop("return_rate"), plain.profiles.drop("return_rate"), rel_tol=1e-12
    )
    assert 20_000 not in returned.profiles["user_id"].to_list()
    assert (returned.profiles["return_rate"] > 0).sum() >= 40
    for key in ("churn", "value", "evaluation", "model", "due"):
        assert returned.claims[key].text == plain.claims[key].text, key


def test_the_evaluation_counts_an_item_only_returned_as_never_bought() -> None:
    # rs.evaluation's "repeat" and "new" items: a test purchase of an item the customer
    # only returned before the cutoff is a new item, not a repeat
    train = pl.DataFrame(
        {
            "user_id": [1, 1, 2],
            "item_id": ["a", "b", "a"],
            "timestamp": [datetime(2024, 1, d) for d in (1, 2, 3)],
            "quantity": [1.0, -1.0, 1.0],
            "is_return": [False, True, False],
        }
    )
    test = pl.DataFrame({"user_id": [1, 1], "item_id": ["a", "b"]})
    from recsys.evaluation.metrics import mode_truth

    assert mode_truth(test, "repeat", train)["item_id"].to_list() == ["a"]
    assert mode_truth(test, "new", train)["item_id"].to_list() == ["b"]


def _cells(page: str, caption: str) -> list[list[str]]:
    """The body cells of the table whose caption starts with ``caption``."""
    start = page.index(html.escape(caption, quote=False))
    table = page[page.rindex("<table", 0, start) : page.index("</table>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    cells = [
        [html.unescape(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S)]
        for r in rows
    ]
    return [c for c in cells if c]


def test_the_report_s_data_quality_table_accounts_for_returns_and_notes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = _shop().drop("is_return")
    text = shop.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%d %H:%M:%S"))
    extra = pl.DataFrame(
        {
            "user_id": [None, 3, 3],
            "item_id": ["p0", "POST", "p0"],
            "order_id": ["x1", "x2", "x3"],
            "timestamp": [
                "2023-05-01 10:00:00",
                "2023-05-01 10:00:00",
                "2023-05-02 10:00:00+02:00",
            ],
            "quantity": [1.0, 1.0, 1.0],
            "price": [10.0, 5.0, 10.0],
        },
        schema_overrides={"user_id": pl.Int64},
    )
    cancelled = _cancelled_in_window().drop("is_return")
    cancelled = cancelled.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%d %H:%M:%S"))
    path = tmp_path / "shop.csv"
    pl.concat([text, extra, cancelled]).write_csv(path)
    out = tmp_path / "report"
    argv = ["report", str(path), "--as-of", "2024-01-01", "--models", "popular,repurchase"]
    argv += ["--bootstrap", "20", "--non-product-items", "POST,FEE", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    _, report, _ = load_purchases(path, non_product_items=("FEE", "POST"))
    notes = quality_notes(report)
    assert any(n.startswith("timestamps: 1 of ") and "+02:00 on 1" in n for n in notes)
    assert any(n.startswith("non_product_items: 'FEE' matches no item id") for n in notes)
    assert "non_product rows by item: POST 1" in notes
    assert notes[-1].startswith("the return rows kept: the spend measured after")
    for note in notes:  # the command line prints every one of them
        assert note in printed

    page = (out / "report.html").read_text(encoding="utf-8")
    account = {step: rows for step, rows, _ in _cells(page, "Every input row, accounted for")}
    rows = {step: int(n.replace(",", "")) for step, n in account.items()}
    assert rows["rows read"] == shop.height + 4
    assert rows["dropped: missing user"] == 1
    assert rows["dropped: non product"] == 1
    dropped = sum(n for step, n in rows.items() if step.startswith("dropped"))
    assert rows["rows read"] == rows["rows kept"] + dropped
    assert rows["of the rows kept: returns, flagged is_return and netted"] == 1
    shown = [cells[0] for cells in _cells(page, "What cleaning assumed or changed")]
    assert shown == notes


def test_dates_and_samples_are_of_customers_who_bought() -> None:
    # 3 buyers and 50 customers who only returned (the last row of all is a return)
    bought = _rows(1, "a", datetime(2024, 1, 1), [("p0", 1.0)])
    bought = pl.concat(
        [bought, *(_rows(u, f"b{u}", datetime(2024, 1, 2), [("p0", 1.0)]) for u in (2, 3))]
    )
    only = pl.concat(
        [_returns(_rows(u, f"C{u}", datetime(2024, 3, 1), [("p0", 1.0)])) for u in range(10, 60)]
    )
    frame = pl.concat([bought.with_columns(is_return=pl.lit(False)), only])
    assert default_as_of(frame) == datetime(2024, 1, 3)  # not after the returns
    assert sorted(sample_customers(frame, 3, seed=0)["user_id"].unique()) == [1, 2, 3]
