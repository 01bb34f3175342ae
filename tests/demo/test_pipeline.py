"""The demo pipeline on a customer sample: files, schemas, and a self-contained report."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from recsys.demo import DemoConfig, DemoResult, run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, Path]:
    out = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    config = DemoConfig(sample_users=400, bootstrap=50, currency="£")
    result = run_demo(out, config, echo=lines.append)
    return result, out


def test_files_and_schemas(demo: tuple[DemoResult, Path]) -> None:
    result, out = demo
    recs = pl.read_parquet(out / "recommendations.parquet")
    assert recs.columns == ["user_id", "item_id", "score", "rank"]
    assert recs["user_id"].n_unique() == result.purchases["user_id"].n_unique()
    assert recs["rank"].max() == 10
    profiles = pl.read_parquet(out / "profiles.parquet")
    assert profiles.height == result.profiles.height
    assert profiles["last_purchase"].max() < datetime(2011, 9, 9)  # type: ignore[operator]
    metrics = pl.read_csv(out / "metrics.csv")
    assert {"model", "metric", "k", "segment", "value", "ci_low", "ci_high"} <= set(metrics.columns)
    assert set(metrics["model"]) == {
        "popular",
        "repurchase",
        "als",
        "itemknn",
        "repeat_explore",
        "blend",
    }
    assert set(metrics["metric"]) == {"hit_rate", "ndcg", "recall"}
    assert {"all", "active"} <= set(metrics["segment"])
    assert (metrics["ci_low"] <= metrics["value"]).all()
    assert result.best_model in set(metrics["model"])


def test_report_is_self_contained(demo: tuple[DemoResult, Path]) -> None:
    html = (demo[1] / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    # nothing is fetched: no external scripts, stylesheets, fonts or images
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)
    assert "@import" not in html
    assert html.count("data:image/png;base64,") >= 5
    for section in ("What to do now", "Data quality", "Churn risk", "Recommenders", "association"):
        assert section in html
    assert 'id="no-plots"' not in html
    # people's numbers: currency, ids without separators, no raw column names as prose
    assert "£" in html
    assert not re.search(r"<td[^>]*>1\d,\d{3}</td>", html.split("Recommendations</h2>")[-1])
    for raw in ("n_returned", "hit_retention", "churn_risk</th>"):
        assert raw not in html


def test_decisions_come_first(demo: tuple[DemoResult, Path]) -> None:
    result, out = demo
    html = (out / "report.html").read_text()
    assert html.index("What to do now") < html.index("Data quality")
    assert result.choice is not None
    assert result.best_model == result.choice.chosen
    assert result.choice.chosen in html
    assert "tied" in html or "separates" in html
    assert result.actions is not None
    n_win_back = result.actions.filter(pl.col("action") == "win_back").height
    assert f"{n_win_back:,} customers" in html
    assert (out / "actions.parquet").exists()


def test_report_says_loudly_when_plots_are_missing(
    demo: tuple[DemoResult, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recsys.demo.report as report

    monkeypatch.setattr(report, "plots_available", lambda: False)
    path = report.write_demo_report(demo[0], DemoConfig(currency="£"), tmp_path / "r.html")
    html = path.read_text()
    assert 'id="no-plots"' in html
    assert "data:image/png" not in html


def test_hit_retention_per_lifecycle_stage(demo: tuple[DemoResult, Path]) -> None:
    segments = demo[0].hit_retention["segment"].to_list()
    assert segments[0] == "all"
    assert set(segments[1:]) <= {"new", "active", "dormant", "churned", "reactivated"}
    assert len(segments) > 1


def test_summary_names_every_model(demo: tuple[DemoResult, Path]) -> None:
    summary = demo[0].summary
    for name in ("popular", "repurchase", "als", "itemknn", "repeat_explore", "blend"):
        assert name in summary


def test_steps_work_on_canonical_purchases_only() -> None:
    # the raw layout of the bundled table is known only to the entry point
    import inspect

    import recsys.demo.pipeline
    import recsys.demo.report

    for module in (recsys.demo.pipeline, recsys.demo.report):
        source = inspect.getsource(module)
        for raw_column in ("CustomerID", "StockCode", "InvoiceNo", "InvoiceDate"):
            assert raw_column not in source, (module.__name__, raw_column)


def test_doctests() -> None:
    import doctest

    import recsys.demo.online_retail

    failures, _ = doctest.testmod(recsys.demo.online_retail)
    assert failures == 0
