"""The report page and files say only what the job's evidence licenses, on hand-built
shops unlike the bundled one (tests/job/shops.py): the win-back caption's value source,
the lifecycle table's deployed churn score, the hit-retention population, the header
and shop summary without an evaluation, a test window cut short by as_of, the
profiles' metadata and README, the cleaning warnings and the number formats.

Each run is made once (module fixture) with cheap models and few resamples; every
expected figure is recomputed here from the purchases or the profiles.
"""

from __future__ import annotations

import html
import re
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.job import JobConfig, JobResult
from recsys.report.cards import winback_table
from recsys.report.format import Table, interval, number, percent
from recsys.report.html import HtmlReport
from recsys.report.page import _customers_section
from tests.job import shops

MODELS = ("popular", "repurchase", "repeat_explore")


def _run(purchases: pl.DataFrame, folder: Path, **fields: object) -> tuple[JobResult, Path]:
    config = JobConfig(**{"models": MODELS, "bootstrap": 50, "currency": "$", **fields})  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rs.job.run(purchases, config)
    rs.report.write(result, folder)
    return result, folder


def _short() -> pl.DataFrame:
    """The wholesale shop's last 45 days: the default cutoff (90 days before as_of) is
    before its first purchase."""
    p = shops.wholesale()
    return p.filter(pl.col("timestamp") > p["timestamp"].max() - timedelta(days=45))


def _as_of(purchases: pl.DataFrame) -> datetime:
    last = purchases["timestamp"].max()
    return datetime(last.year, last.month, last.day) + timedelta(days=1)


def _returns_before_cutoff() -> tuple[pl.DataFrame, set[int]]:
    """The durables shop, and a return row before the default cutoff for ten customers
    whose first purchase is in the test window: they bought nothing before it."""
    p = shops.durables().with_columns(is_return=pl.lit(False))
    cutoff = _as_of(p) - timedelta(days=90)
    first = p.group_by("user_id").agg(pl.col("timestamp").min())
    late = sorted(first.filter(pl.col("timestamp") >= cutoff)["user_id"].to_list())[:10]
    rows = p.filter(pl.col("user_id").is_in(late)).unique("user_id", keep="first")
    returned = rows.with_columns(
        pl.col("quantity").neg(),
        is_return=pl.lit(True),
        timestamp=pl.lit(cutoff - timedelta(days=30)),
        order_id=pl.lit("C") + pl.col("order_id"),
    )
    return pl.concat([p, returned]).sort("timestamp", "user_id"), set(late)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[JobResult, Path]]:
    out = {name: _run(getattr(shops, name)(), tmp_path_factory.mktemp(name)) for name in (
        "mixed", "wholesale", "durables"
    )}  # fmt: skip
    out["short"] = _run(_short(), tmp_path_factory.mktemp("short"))
    out["returns"] = _run(_returns_before_cutoff()[0], tmp_path_factory.mktemp("returns"))
    last = shops.wholesale()["timestamp"].max()
    as_of = datetime(last.year, last.month, last.day) + timedelta(days=1)
    out["late"] = _run(
        shops.wholesale(), tmp_path_factory.mktemp("late"), cutoff=as_of - timedelta(days=20)
    )
    return out


def _tables(result: JobResult) -> list[Table]:
    page = HtmlReport("t")
    _customers_section(page, result, None)
    return [b["table"] for b in page.blocks if b["kind"] == "table"]


def _page(folder: Path) -> str:
    return html.unescape((folder / "report.html").read_text(encoding="utf-8"))


# --- #4 the win-back table names the value the job deployed ----------------------------


def test_winback_caption_names_the_learned_value_when_it_is_deployed(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, _ = runs["mixed"]
    assert result.claims["value"].licensed
    assert result.value_column == "learned_value"
    table = winback_table(result, {})
    assert table is not None
    assert "model: learned_value (the learned CLV model)" in table.caption
    assert "learned CLV model's chance of an order" in table.caption  # the campaign's basis
    assert "past-spend value" not in table.caption


def test_winback_caption_names_the_rule_and_its_column_otherwise(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, _ = runs["wholesale"]
    assert not result.claims["value"].licensed
    table = winback_table(result, {})
    assert table is not None
    ratio = result.claims["value"].evidence["ratio"]
    assert "Projected value is the past-spend value" in table.caption
    assert f"rule: monetary x {ratio:.3g} (past spend" in table.caption


# --- #5 the lifecycle table shows the deployed churn score ------------------------------


def _stage_means(result: JobResult, column: str) -> dict[str, float]:
    p = result.profiles
    stages = p["lifecycle_stage"].to_numpy()
    values = p[column].to_numpy().astype(float)
    return {s: float(np.mean(values[stages == s])) for s in np.unique(stages)}


def test_lifecycle_table_shows_the_learned_score_not_bgnbd_and_no_chance(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, _ = runs["mixed"]
    churn = result.claims["churn"]
    assert churn.evidence["ranked_by"] == "learned_churn_risk"
    assert not churn.licensed
    stages = _tables(result)[0]
    assert "mean churn score" in stages.columns
    assert "mean churn risk" not in stages.columns
    assert "not a probability" in stages.caption
    assert "chance of no purchase" not in stages.caption
    column = stages.columns.index("mean churn score")
    means = _stage_means(result, "learned_churn_risk")
    assert {row[0]: row[column] for row in stages.rows} == {s: number(v) for s, v in means.items()}


def test_lifecycle_table_shows_a_chance_where_the_card_licenses_one(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, _ = runs["durables"]
    churn = result.claims["churn"]
    assert churn.licensed
    by = churn.evidence["ranked_by"]
    stages = _tables(result)[0]
    column = stages.columns.index("mean churn risk")
    means = _stage_means(result, by)
    assert {row[0]: row[column] for row in stages.rows} == {s: percent(v) for s, v in means.items()}
    assert f"{churn.evidence['model_name']}'s mean chance of no purchase" in stages.caption


def test_lifecycle_table_shows_no_mean_for_a_rule(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, _folder = runs["wholesale"]
    assert result.claims["churn"].evidence["ranked_by"] == "recency"
    stages = _tables(result)[0]
    assert not any("churn" in c for c in stages.columns)
    assert "days since the last order (longest first)" in stages.caption
    assert "no churn chance is shown" in stages.caption


def test_calibration_caption_names_the_model_it_covers(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, folder = runs["mixed"]
    assert result.churn is not None
    assert result.churn.calibration.height
    assert "in ten equal groups by the learned churn model's churn risk" in _page(folder)


# --- #9 hit retention: returning customers, ordering again in the window ----------------


def test_hit_retention_covers_the_returning_test_customers_only(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, folder = runs["durables"]
    assert result.cutoff is not None
    assert result.hit_retention is not None
    p = shops.durables().filter(pl.col("timestamp") < result.as_of)
    end = result.cutoff + timedelta(days=result.config.horizon_days)
    before = set(p.filter(pl.col("timestamp") < result.cutoff)["user_id"].to_list())
    window = p.filter(pl.col("timestamp") >= result.cutoff, pl.col("timestamp") < end)
    in_window = set(window["user_id"].to_list())
    returning = len(before & in_window)
    assert 0 < returning < len(in_window)  # the shop has first-time buyers in the window
    row = result.hit_retention.row(0, named=True)
    assert row["n_customers"] == row["n_returned"] == returning
    assert row["n_hit"] + row["n_no_hit"] == returning
    assert returning == result.claims["evaluation"].evidence["returning"]
    text = _page(folder)
    assert f"The customers who had bought before {result.cutoff:%Y-%m-%d}" in text
    assert "customers first seen in the file are left out" in text
    assert "placed another order later in the same window" in text


def test_hit_retention_leaves_out_customers_with_only_returns_before_the_cutoff(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, _ = runs["returns"]
    p, late = _returns_before_cutoff()
    assert result.cutoff is not None
    assert result.hit_retention is not None
    bought = p.filter(~pl.col("is_return"), pl.col("timestamp") < result.as_of)
    before = set(bought.filter(pl.col("timestamp") < result.cutoff)["user_id"].to_list())
    in_window = set(bought.filter(pl.col("timestamp") >= result.cutoff)["user_id"].to_list())
    assert late <= in_window - before  # first-time buyers, though they have a row before
    returning = len(before & in_window)
    assert result.hit_retention["n_customers"][0] == returning
    assert result.claims["evaluation"].evidence["returning"] == returning


# --- #10 no evaluation: the header and the shop summary say nothing of a window ---------


def test_without_an_evaluation_no_window_is_claimed(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, folder = runs["short"]
    assert result.evaluation is None
    assert result.claims["evaluation"].text.startswith("No evaluation:")
    text = _page(folder)
    assert "models evaluated on" not in text
    assert "no model evaluated (see the evaluation card)" in text
    card = text[text.index('id="decision-evaluation"') :]
    assert '<p class="big">no evaluation</p>' in card[: card.index("</section>")]
    assert "first-time" not in result.regime.statement
    assert "bought in the" not in result.regime.statement
    meta = pl.read_parquet_metadata(folder / "profiles.parquet")
    assert "evaluation_cutoff" not in meta


# --- #8 a test window cut short by as_of says how long it is ----------------------------


def test_a_window_cut_short_by_as_of_states_its_real_length(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, folder = runs["late"]
    assert result.cutoff is not None
    assert result.evaluation is not None
    days = (result.as_of - result.cutoff).days
    assert days == 20
    window = (
        f"the 20 days after {result.cutoff:%Y-%m-%d} (not horizon_days = 90: the data end "
        f"at as_of {result.as_of:%Y-%m-%d})"
    )
    assert result.regime.window == window
    text = _page(folder)
    assert f"models evaluated on {window}" in text
    assert f"who bought in {window}" in result.claims["evaluation"].text
    assert "the 90 days after" not in result.claims["evaluation"].text
    p = shops.wholesale().filter(pl.col("timestamp") >= result.cutoff)
    assert result.regime.test_customers == p["user_id"].n_unique()
    meta = pl.read_parquet_metadata(folder / "profiles.parquet")
    assert meta["evaluation_window_days"] == "20"
    assert meta["evaluation_horizon_days"] == "90"
    metrics = pl.read_csv(folder / "metrics.csv")
    assert metrics["window_days"].unique().to_list() == [20.0]


# --- #11 the profiles' metadata and README name the columns in the file ----------------


@pytest.mark.parametrize("name", ["mixed", "wholesale", "short"])
def test_profiles_metadata_names_only_columns_of_the_file(
    name: str, runs: dict[str, tuple[JobResult, Path]]
) -> None:
    _, folder = runs[name]
    columns = pl.read_parquet_schema(folder / "profiles.parquet")
    meta = pl.read_parquet_metadata(folder / "profiles.parquet")
    for key in ("churn_rank_source", "value_source"):
        named = re.match(r"(model|rule): (\w+)", meta[key])
        assert named is not None, meta[key]
        assert named.group(2) in columns, (key, meta[key])
    for other in ("due", "actions", "recommendations"):
        assert "value_source" not in pl.read_parquet_metadata(folder / f"{other}.parquet")


@pytest.mark.parametrize("name", ["mixed", "short"])
def test_readme_lists_each_written_column_once(
    name: str, runs: dict[str, tuple[JobResult, Path]]
) -> None:
    _, folder = runs[name]
    readme = (folder / "README.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", readme, flags=re.M)[1:]
    files = {s.split("\n", 1)[0].strip("` "): s for s in sections}
    for file in ("profiles.parquet", "actions.parquet", "due.parquet"):
        listed = re.findall(r"^- `(\w+)`", files[file], flags=re.M)
        assert listed == list(pl.read_parquet_schema(folder / file)), file
    learned = "learned_value" in pl.read_parquet_schema(folder / "profiles.parquet")
    assert ("`learned_value`" in readme) == learned


# --- #13 a cleaning warning reaches the page --------------------------------------------


def test_a_cleaning_warning_is_on_the_page(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 3],
            "item_id": [" a", "b", "a", "b", "a"],
            "timestamp": [datetime(2024, 1, d) for d in (1, 8, 2, 9, 3)],
            "quantity": [1.0] * 5,
        }
    )
    with pytest.warns(rs.DataWarning, match="spaces trimmed around 1 id"):
        _purchases, report = rs.clean_purchases(frame)
    assert "column 'item_id' (item_id): spaces trimmed around 1 id" in report.remarks
    from recsys.report.quality import quality_section

    page = HtmlReport("t")
    quality_section(page, report)
    assert "spaces trimmed around 1 id" in page.render()


# --- #15 numbers: one rule for an interval, days, model names as written ----------------


def test_intervals_have_one_format() -> None:
    assert interval(0.005, -0.00002, 0.0094, signed=True) == "+0.005 [0.000, +0.009]"
    assert interval(0.246, 0.23, 0.264, signed=True) == "+0.246 [+0.230, +0.264]"
    assert interval(0.512, 0.48, 0.55) == "0.512 [0.480, 0.550]"


def test_the_page_prints_intervals_one_way_and_model_names_as_written(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    _result, folder = runs["mixed"]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", _page(folder))
    bounds = [c for c in cells if re.search(r"\[[^\]]*, [^\]]*\]", c)]
    assert bounds  # the tables print intervals
    for cell in bounds:
        assert "-0.000" not in cell
        assert "-0.0," not in cell
        # every number of an interval cell has three decimals
        for figure in re.findall(r"[+-]?\d+\.\d+", cell):
            assert len(figure.split(".")[1]) == 3, cell
    assert "<th>repeat_explore</th>" in (folder / "report.html").read_text()


def test_days_are_printed_to_four_digits_at_most(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, _ = runs["short"]
    days = result.claims["value"].evidence["ratio_days"]
    text = result.claims["value"].text
    shown = re.search(r"in the last (\d+(?:\.\d+)?) days x 365/(\d+(?:\.\d+)?)", text)
    assert shown is not None, text
    assert shown.group(1) == shown.group(2) == f"{days:.4g}"
    assert len(shown.group(1).replace(".", "").lstrip("0")) <= 4  # never 11.4062


def test_the_model_card_prints_its_interval_as_the_tables_do() -> None:
    from recsys.job.choice import ModelChoice
    from recsys.job.claims import model_claim

    comparisons = pl.DataFrame(
        {"model": ["b"], "difference": [0.005], "ci_low": [-0.00002], "ci_high": [0.0094]}
    )
    choice = ModelChoice("a", "b", ("a", "b"), "b", comparisons, "hit_rate", 10)
    claim = model_claim(
        choice, used="b", used_because="the simpler", evaluated=500, best_value=0.75
    )
    assert "differ by +0.005 in hit rate@10, 95% interval [0.000, +0.009]" in claim.text
    assert interval(0.005, -0.00002, 0.0094, signed=True) == "+0.005 [0.000, +0.009]"
