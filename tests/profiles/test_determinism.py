"""Profile, cohort, RFM, CLV and due-item tables: the same bytes at any thread count."""

from __future__ import annotations

import pytest

from tests._subprocess import same_output_at_one_and_two_threads

PROFILES = """
import warnings
warnings.simplefilter("ignore")
import recsys as rs

purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
config = rs.ProfileConfig(clv_horizon_days=180)
print(rs.build_profiles(purchases, as_of="2011-09-09", config=config).sort("user_id").write_csv())
print(rs.cohort_retention(purchases).write_csv())
print(rs.profiles.rfm_table(purchases, as_of="2011-09-09").sort("user_id").write_csv())
print(rs.due_items(purchases, as_of="2011-09-09").sort("user_id", "item_id").write_csv())
"""


@pytest.mark.slow
def test_profile_tables_are_identical_at_one_and_two_threads() -> None:
    out = same_output_at_one_and_two_threads(PROFILES)
    assert "churn_risk" in out
    assert "p_within_horizon" in out
