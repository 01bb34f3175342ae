"""``recsys uplift --by COL`` shows the segment column in its preview (walk #5)."""

from __future__ import annotations

import numpy as np
import polars as pl

from recsys.cli import main, preview


def test_the_by_column_is_in_the_preview_so_rows_can_be_told_apart(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 3000
    pl.DataFrame(
        {
            "user_id": np.arange(n),
            "arm": rng.choice(["mail", "none"], n),
            "channel": rng.choice(["Phone", "Web"], n),
            "visit": rng.integers(0, 2, n),
        }
    ).write_csv(tmp_path / "exp.csv")
    argv = ["uplift", str(tmp_path / "exp.csv"), "--arm", "arm", "--control", "none"]
    assert main([*argv, "--outcome", "visit", "--by", "channel"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split("┆")[0].strip("│ ") == "channel"
    assert [line.split("┆")[0].strip("│ ") for line in lines[3:5]] == ["Phone", "Web"]
    assert "not shown: channel" not in lines[-1]


def test_a_narrow_terminal_drops_trailing_columns_before_the_segment():
    table = pl.DataFrame(
        {"channel": ["Phone", "Web"], "arm": ["mail", "mail"], "n": [10, 12], "rate": [0.1, 0.2]}
        | {"uplift": [0.01, 0.02], "ci_low": [0.0, 0.0], "ci_high": [0.1, 0.1]}
    )
    text = preview(table, "uplift", width=40)
    assert "channel" in text.splitlines()[1]
    assert "ci_high" in text.splitlines()[-1]  # named among those not shown
