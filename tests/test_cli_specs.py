"""``--model`` / ``--models`` take model specs: ``"buyagain(diversity=0.3)"``."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from recsys.cli import main
from recsys.cli.common import model_names, split_specs
from tests.test_cli import COLUMNS, orders_csv  # noqa: F401  (the fixture)


def test_a_comma_inside_brackets_does_not_split() -> None:
    text = "popular,buyagain(trend_window_days=30, diversity=0.3), blend(weights=[1, 2]),als"
    assert split_specs(text) == [
        "popular",
        "buyagain(trend_window_days=30, diversity=0.3)",
        "blend(weights=[1, 2])",
        "als",
    ]
    assert split_specs("itemknn(similarity='a,b'),ease") == ["itemknn(similarity='a,b')", "ease"]
    # each spec in its canonical form: the label of the model in every output
    assert model_names("popular, BuyAgain(trend_window_days=30, diversity=0.3)") == [
        "popular",
        "buyagain(diversity=0.3, trend_window_days=30.0)",
    ]


def test_evaluate_with_a_spec(orders_csv: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "evaluation.csv"
    models = "popular,buyagain(trend_window_days=30, diversity=0.3)"
    argv = ["evaluate", str(orders_csv), "--columns", COLUMNS, "--cutoff", "2011-09-09"]
    assert main([*argv, "--models", models, "--bootstrap", "20", "--out", str(out)]) == 0
    labels = set(pl.read_csv(out)["model"])
    assert labels == {"popular", "buyagain(diversity=0.3, trend_window_days=30.0)"}


def test_recommend_with_a_spec_is_the_model_with_those_settings(
    orders_csv: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    argv = ["recommend", str(orders_csv), "--columns", COLUMNS, "--k", "3"]
    spec = tmp_path / "spec.parquet"
    param = tmp_path / "param.parquet"
    assert main([*argv, "--model", "als(factors=8, iterations=2)", "--out", str(spec)]) == 0
    assert main([*argv, "--model", "als", "--param", "factors=8", "--param", "iterations=2",
                 "--out", str(param)]) == 0  # fmt: skip
    assert pl.read_parquet(spec).equals(pl.read_parquet(param))


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["evaluate", "MISSING", "--cutoff", "2010-09-09", "--models", "als(factor=2)"],
         ["--models", "als(factor=2)", "factors"]),
        (["evaluate", "MISSING", "--cutoff", "2010-09-09", "--models", "popular,als(8)"],
         ["--models", "als(8)", "by keyword"]),
        (["recommend", "MISSING", "--model", "nosuch(k=1)"], ["--model", "nosuch", "als"]),
        (["recommend", "MISSING", "--model", "als(factors=x)"], ["--model", "not a literal"]),
        (["actions", "MISSING", "--model", "ease(l2=-1)"], ["l2"]),
    ],
)  # fmt: skip
def test_a_bad_spec_is_refused_before_the_file_is_read(
    argv: list[str], fragments: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(tmp_path / "nope.csv") if a == "MISSING" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    for fragment in fragments:
        assert fragment in err[0], (fragment, err[0])
    assert "not found" not in err[0]
