"""evaluate() gives the same table, to the last digit, at any BLAS / Numba / polars thread count."""

from __future__ import annotations

import pytest

from tests._subprocess import same_output_at_one_and_two_threads

EVALUATE = """
import polars as pl
import recsys as rs

purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
small = purchases.filter(pl.col("user_id") < 13600)
split = rs.evaluation.temporal_split(small, "2011-09-09", horizon_days=90)
inter = rs.Interactions.from_purchases(split.train)
models = {"popular": rs.Popular().fit(inter), "repurchase": rs.Repurchase().fit(inter)}
table = rs.evaluate(
    models, split, k=[5, 10, 20], bootstrap=300, seed=0, show_progress=False
).table
# one bootstrap column per row: the old engine switched to a BLAS product above 12
assert table.filter(segment="all").height > 12
print(table.write_csv())
"""


@pytest.mark.slow
def test_evaluate_table_is_identical_at_one_and_two_threads() -> None:
    assert "ci_low" in same_output_at_one_and_two_threads(EVALUATE)
