"""The Python blocks of the documentation pages run, in order, each page on its own (a
page defines what its blocks use), so that an example cannot rot unnoticed."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

#: Pages whose blocks run on the bundled data, each with its marks. Not yet here: pages
#: whose blocks are sketches of a session (data, demo, uplift, scaling, targeting: they
#: use the reader's files, an experiment, a cluster or a ``model`` they do not define).
PAGES = {
    "getting-started.md": [],
    "multi-table-exports.md": [],
    "evaluation.md": [pytest.mark.slow],  # RepeatExplore, ALS and 1,000 resamples: ~30 s
    "recommenders.md": [],
    "profiles.md": [pytest.mark.slow],  # LearnedChurn and LearnedCLV in a backtest: ~30 s
    "backtests.md": [pytest.mark.slow],  # four origins, every prediction: about a minute
}
#: Blocks that need data absent from the repository: not run, and why.
NOT_RUN = {
    ("getting-started.md", 2): "reads the reader's own export, orders.csv",
    ("multi-table-exports.md", 1): "reads the reader's own lines.parquet",
}


def blocks(page: str) -> list[str]:
    return BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))


def test_the_pattern_finds_every_python_block() -> None:
    for page in PAGES:
        text = (DOCS / page).read_text(encoding="utf-8")
        assert len(blocks(page)) == text.count("```python") > 0, page


@pytest.mark.parametrize(
    "page", [pytest.param(page, marks=marks, id=page) for page, marks in PAGES.items()]
)
def test_the_python_blocks_of_a_page_run_in_order(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)  # the pages save models to the working directory
    namespace: dict[str, Any] = {"__name__": f"docs.{page}"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the pages' data warn; what runs is checked
            for number, code in enumerate(blocks(page), start=1):
                if (page, number) in NOT_RUN:
                    continue
                exec(compile(code, f"docs/{page}, block {number}", "exec"), namespace)
    finally:
        plt.close("all")
