"""The CLV headroom table of bench_backtest.py (benchmarks/_clv_headroom.py) on a
hand-worked example: 20 customers, so the top decile is 2 of them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks._clv_headroom import ItemGrowthCLV, clv_headroom
from tests._purchases import purchases_frame

PAST = [100.0, 90, 80, 70, 60, 50, 40, 30, 20, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0.5]
# the top customer by past spend buys nothing; the 5th by past spend is the window's best
AFTER = [0.0, 50.0, 0.0, 0.0, 200.0] + [0.0] * 14 + [30.0]


def _units(origin: str, after: list[float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "origin": [origin] * 20,
            "user_id": [f"c{i}" for i in range(20)],
            "monetary": PAST,
            "spend_after": after,
            "n_orders_after": [int(v > 0) for v in after],
            "clv__Perfect": [v + 1.0 for v in after],
            "clv": PAST[::-1],  # the reversed ranking: customers 19 and 18 on top
        }
    )


def test_headroom_by_hand() -> None:
    shifted = AFTER[1:] + AFTER[:1]  # a second origin, to check the grouping
    table = clv_headroom(pl.concat([_units("2011-01-01", AFTER), _units("2011-02-01", shifted)]))
    assert table["origin"].to_list() == ["2011-01-01", "2011-02-01"]
    r = table.row(0, named=True)
    total = 280.0
    assert r["customers"] == 20
    assert r["past_spend"] == pytest.approx(50 / total)  # customers 0 and 1
    assert r["Perfect"] == pytest.approx(250 / total)
    assert r["clv"] == pytest.approx(30 / total)  # customers 19 (30) and 18 (0)
    assert r["buyers_only"] == pytest.approx(250 / total)  # customers 1 and 4
    assert r["perfect"] == pytest.approx(250 / total)
    assert r["missed_share"] == pytest.approx(200 / total)  # customer 4, missed
    assert r["missed_median_rank"] == 5  # its rank by past spend
    assert r["wrong_no_order"] == 1.0  # customer 0 bought nothing
    assert r["largest_share"] == pytest.approx(200 / total)
    assert r["ceiling"] is None
    # second origin: customer 0 now holds 50 (AFTER[1]) and customer 3 holds 200
    s = table.row(1, named=True)
    assert s["past_spend"] == pytest.approx(50 / total)  # customers 0 (50) and 1 (0)
    assert s["missed_median_rank"] == 4
    assert s["wrong_no_order"] == 1.0  # customer 1


def test_headroom_matches_numpy_on_random_data() -> None:
    rng = np.random.default_rng(0)
    past = rng.lognormal(6, 1, 500)
    after = np.where(rng.random(500) < 0.5, 0.0, past * rng.lognormal(-1, 1, 500))
    units = pl.DataFrame(
        {
            "origin": ["2011-01-01"] * 500,
            "user_id": np.arange(500),
            "monetary": past,
            "spend_after": after,
            "n_orders_after": (after > 0).astype(np.int64),
        }
    )
    r = clv_headroom(units).row(0, named=True)
    top = 50
    best = np.sort(after)[::-1][:top].sum() / after.sum()
    by_past = after[np.argsort(-past)][:top].sum() / after.sum()
    buyers = after[np.argsort(-(past * (after > 0)))][:top].sum() / after.sum()
    assert r["perfect"] == pytest.approx(best)
    assert r["past_spend"] == pytest.approx(by_past)
    assert r["buyers_only"] == pytest.approx(buyers)
    assert r["past_spend"] <= r["buyers_only"] <= r["perfect"]


def _purchases(extra: list[tuple] | None = None) -> pl.DataFrame:
    from datetime import datetime as dt

    rows = [
        (1, "x", "o1", dt(2020, 2, 1), 1.0, 10.0),  # A: item x, then 100 in the window
        (2, "y", "o2", dt(2020, 2, 1), 2.0, 5.0),  # B: item y, nothing in the window
        (1, "x", "o3", dt(2020, 2, 25), 10.0, 10.0),
        (3, "z", "o4", dt(2020, 2, 26), 1.0, 7.0),  # C: only in the window, item z
    ]
    return purchases_frame(rows + (extra or []))


def test_item_growth_clv_by_hand() -> None:
    # one training origin, 2020-03-01 - 10 d = 2020-02-20: A grew from 10 to 100, B to 0;
    # growths log(101 / (10 * 10 / 365 + 1)) and log(1 / (...)), centred: +-log(101) / 2;
    # item x = +log(101) / 2 / (1 buyer + shrink 1), item y the opposite, z unseen (0)
    model = ItemGrowthCLV(origins=1, shrink=1.0, min_history_days=1)
    clv = model.fit(_purchases(), "2020-03-01", horizon_days=10).predict(_purchases())
    assert clv["user_id"].to_list() == [1, 2, 3]
    expected = [110.0 * 101**0.25, 10.0 * 101**-0.25, 7.0]
    np.testing.assert_allclose(clv["clv"].to_numpy(), expected, rtol=1e-12)


def test_item_growth_clv_reads_nothing_at_or_after_as_of() -> None:
    from datetime import datetime as dt

    later = [
        (2, "x", "o9", dt(2020, 3, 1), 1000.0, 10.0),  # at as_of
        (4, "y", "o10", dt(2020, 3, 5), 50.0, 3.0),
    ]
    model = ItemGrowthCLV(origins=1, shrink=1.0, min_history_days=1)
    base = model.fit(_purchases(), "2020-03-01", horizon_days=10).predict(_purchases())
    with_later = (
        ItemGrowthCLV(origins=1, shrink=1.0, min_history_days=1)
        .fit(_purchases(later), "2020-03-01", horizon_days=10)
        .predict(_purchases(later))
    )
    assert with_later.equals(base)


def test_item_growth_clv_without_a_training_origin() -> None:
    from recsys.exceptions import InputDataError

    with pytest.raises(InputDataError, match="no training origin with 30 days of history"):
        ItemGrowthCLV().fit(_purchases(), "2020-03-01", horizon_days=10)
