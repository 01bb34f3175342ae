"""churn_calibration: predicted churn risk against observed churn, by decile."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError


def test_deciles_against_a_hand_count() -> None:
    # 20 customers bought on Jan 1; the even ones buy again in the window
    users = list(range(20))
    purchases = pl.DataFrame(
        {
            "user_id": users + users[::2],
            "timestamp": [datetime(2020, 1, 1)] * 20 + [datetime(2020, 2, 1)] * 10,
        }
    )
    profiles = pl.DataFrame({"user_id": users, "churn_risk": [u / 20 for u in users]})
    table = rs.evaluation.churn_calibration(profiles, purchases, "2020-01-15", horizon_days=30)
    assert table.columns == ["decile", "customers", "predicted_churn", "observed_churn"]
    assert table["customers"].sum() == 20
    assert table["decile"].to_list() == sorted(table["decile"].to_list())
    observed = (table["observed_churn"] * table["customers"]).sum() / 20
    assert observed == pytest.approx(0.5)  # the odd half did not come back
    predicted = (table["predicted_churn"] * table["customers"]).sum() / 20
    assert predicted == pytest.approx(sum(u / 20 for u in users) / 20)


def test_customers_without_history_are_left_out_and_bad_input_is_named() -> None:
    purchases = pl.DataFrame(
        {
            "user_id": [1, 1],
            "timestamp": [datetime(2020, 1, 1), datetime(2020, 1, 1) + timedelta(days=40)],
        }
    )
    profiles = pl.DataFrame({"user_id": [1, 2], "churn_risk": [0.3, 0.6]})
    table = rs.evaluation.churn_calibration(profiles, purchases, "2020-01-20", horizon_days=30)
    assert table["customers"].sum() == 1
    assert table["observed_churn"].to_list() == [0.0]
    with pytest.raises(InputDataError, match="churn_risk"):
        rs.evaluation.churn_calibration(profiles.drop("churn_risk"), purchases, "2020-01-20", 30)
