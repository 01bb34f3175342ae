"""The retention action list: rules, projected value, items, budget, bad input."""

from __future__ import annotations

import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError


def _profiles() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [1, 2, 3, 4, 5, 6],
            "lifecycle_stage": ["new", "dormant", "active", "active", "churned", "dormant"],
            "churn_risk": [0.3, 0.8, 0.2, 0.1, None, 0.3],
            "clv": [50.0, 400.0, 300.0, 80.0, 10.0, 90.0],
        }
    )


def _due() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [3, 3, 3, 6, 4],
            "item_id": ["A", "B", "C", "D", "E"],
            "p_within_horizon": [0.3, 0.9, 0.5, 0.4, 0.05],
        }
    )


def _recs() -> pl.DataFrame:
    return pl.DataFrame(
        {"user_id": [1, 1, 2, 4], "item_id": ["X", "Y", "Z", "W"], "rank": [2, 1, 1, 1]}
    )


def test_default_rules_value_and_items() -> None:
    out = rs.retention_actions(_profiles(), due=_due(), recommendations=_recs())
    rows = {r["user_id"]: r for r in out.iter_rows(named=True)}
    assert rows[1]["action"] == "onboard"
    assert rows[1]["items"] == ["Y", "X"]  # by rank
    assert rows[2]["action"] == "win_back"
    assert rows[2]["projected_value"] == pytest.approx(400 * 0.8)
    assert "churn_risk 0.8 >= 0.5" in rows[2]["reason"]
    assert rows[3]["action"] == "replenish"
    assert rows[3]["items"] == ["B", "C", "A"]  # most probable first
    assert rows[3]["projected_value"] == 300.0
    assert rows[4]["action"] == "cross_sell"  # E is below due_min_probability
    assert rows[5]["action"] == "none"  # churned but churn risk unknown, nothing due
    assert rows[5]["items"] == []
    assert rows[6]["action"] == "replenish"  # dormant, low risk, due item D
    assert out["priority"].to_list()[:5] == [1, 2, 3, 4, 5]
    assert out.height == 6


def test_budget_max_customers_and_cost() -> None:
    out = rs.retention_actions(_profiles(), due=_due(), max_customers=2)
    contacted = out.filter(pl.col("action") != "none")
    assert contacted["user_id"].to_list() == [2, 3]
    cut = out.filter(pl.col("user_id") == 6).row(0, named=True)
    assert cut["action"] == "none"
    assert cut["reason"].startswith("budget: replenish ranked")
    out = rs.retention_actions(_profiles(), due=_due(), contact_cost=60.0)
    assert set(out.filter(pl.col("action") != "none")["user_id"]) == {2, 3, 4, 6}
    out = rs.retention_actions(_profiles(), due=_due(), contact_cost=60.0, min_expected_value=100.0)
    assert set(out.filter(pl.col("action") != "none")["user_id"]) == {2, 3}


def test_user_rules_as_frame_and_value_fallback() -> None:
    rules = pl.DataFrame(
        {
            "action": ["win_back", "cross_sell"],
            "lifecycle_stage": [["dormant", "churned"], None],
            "min_value": [None, 60.0],
        }
    )
    profiles = _profiles().drop("clv").with_columns(monetary=pl.Series([1.0, 2, 3, 70, 5, 6]))
    out = rs.retention_actions(profiles, rules=rules)
    acts = dict(zip(out["user_id"], out["action"], strict=True))
    assert acts == {
        1: "none",
        2: "win_back",
        3: "none",
        4: "cross_sell",
        5: "win_back",
        6: "win_back",
    }


def test_bad_input() -> None:
    with pytest.raises(InputDataError, match="unknown keys"):
        rs.retention_actions(_profiles(), rules=[{"action": "win_back", "stage": "x"}])
    with pytest.raises(InputDataError, match="action"):
        rs.retention_actions(_profiles(), rules=[{"action": "spam"}])
    with pytest.raises(InputDataError, match="churn_risk"):
        rs.retention_actions(
            _profiles().drop("churn_risk"), rules=[{"action": "win_back", "min_churn_risk": 0.5}]
        )
    with pytest.raises(InputDataError, match="more than once"):
        rs.retention_actions(pl.concat([_profiles(), _profiles().head(1)]))
    with pytest.raises(InputDataError, match="max_customers"):
        rs.retention_actions(_profiles(), max_customers=-1)
    with pytest.raises(InputDataError, match="value column"):
        rs.retention_actions(_profiles().drop("clv"))


def test_on_real_profiles(online_retail: pl.DataFrame) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.DataWarning)
        profiles = rs.build_profiles(online_retail, as_of="2011-09-09")
        due = rs.due_items(online_retail, as_of="2011-09-09", horizon_days=30)
    out = rs.retention_actions(profiles, due=due, max_customers=500)
    assert out.height == profiles.height
    assert (out["action"] != "none").sum() == 500
    assert set(out["action"].unique()) <= set(rs.actions.ACTIONS)


def test_nan_chance_never_makes_a_customer_due() -> None:
    due = pl.DataFrame(
        {"user_id": [3, 4], "item_id": ["A", "B"], "p_within_horizon": [float("nan"), None]},
        schema_overrides={"p_within_horizon": pl.Float64},
    )
    with pytest.warns(rs.DataWarning, match="2 due rows have no p_within_horizon"):
        out = rs.retention_actions(_profiles(), due=due)
    acts = dict(zip(out["user_id"], out["action"], strict=True))
    assert "replenish" not in acts.values()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"rules": [{"action": "win_back", "min_churn_risk": "0.5"}]}, "min_churn_risk"),
        ({"rules": [{"action": "win_back", "min_value": True}]}, "min_value"),
        ({"rules": [{"action": "win_back", "lifecycle_stage": 3}]}, "lifecycle_stage"),
        ({"rules": [{"action": "replenish", "has_due": "yes"}]}, "has_due"),
        ({"due_min_probability": "0.2"}, "due_min_probability"),
        ({"due_min_probability": 1.5}, "due_min_probability"),
        ({"k": 0}, "k must be"),
        ({"contact_cost": -1.0}, "contact_cost must be >= 0"),
        ({"min_expected_value": float("inf")}, "min_expected_value"),
        ({"rank_by": "nope"}, "rank_by"),
    ],
)
def test_untyped_values_are_typed_errors(kwargs: dict, fragment: str) -> None:
    with pytest.raises(InputDataError, match=fragment):
        rs.retention_actions(_profiles(), due=_due(), **kwargs)


def test_text_probabilities_are_a_typed_error() -> None:
    due = _due().with_columns(pl.col("p_within_horizon").cast(pl.String))
    with pytest.raises(InputDataError, match="p_within_horizon"):
        rs.retention_actions(_profiles(), due=due)


def test_ids_of_different_types_name_both_dtypes() -> None:
    due = _due().with_columns(pl.col("user_id").cast(pl.String))
    with pytest.raises(
        InputDataError, match=r"user_id has type Int64 in profiles but String in due"
    ):
        rs.retention_actions(_profiles(), due=due)
    recs = pl.DataFrame({"user_id": ["1"], "item_id": ["A"], "rank": [1]})
    with pytest.raises(InputDataError, match="String in recommendations"):
        rs.retention_actions(_profiles(), recommendations=recs)
    # integer ids of different widths are one id type
    narrow = _due().with_columns(pl.col("user_id").cast(pl.Int32))
    assert rs.retention_actions(_profiles(), due=narrow).height == _profiles().height


def test_rank_by_orders_the_contact_list() -> None:
    profiles = _profiles().with_columns(order=-pl.col("clv"))
    out = rs.retention_actions(profiles, due=_due(), rank_by="order")
    contacted = out.filter(pl.col("action") != "none")
    values = contacted.join(profiles, on="user_id", maintain_order="left")["clv"].to_list()
    assert values == sorted(values)  # the lowest value first, as rank_by says
