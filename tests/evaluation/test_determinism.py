"""evaluate() gives the same table, to the last digit, at any BLAS / Numba / polars thread count."""

from __future__ import annotations

import pytest

from tests._subprocess import run_with_threads

EVALUATE = """
import polars as pl
import recsys as rs

purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
small = purchases.filter(pl.col("user_id") < 13600)
split = rs.evaluation.temporal_split(small, "2011-09-09", horizon_days=90)
inter = rs.Interactions.from_purchases(split.train)
models = {"popular": rs.Popular().fit(inter), "repurchase": rs.Repurchase().fit(inter)}
# many metric columns: the old engine switched to a BLAS product above 12
table = rs.evaluate(models, split, k=[5, 10, 20], bootstrap=300, seed=0, show_progress=False)
assert table.height > 12
print(table.write_csv())
"""


@pytest.mark.slow
def test_evaluate_table_is_identical_at_one_and_two_threads() -> None:
    one = run_with_threads(EVALUATE, 1)
    two = run_with_threads(EVALUATE, 2)
    assert one == two
    assert "ci_low" in one
