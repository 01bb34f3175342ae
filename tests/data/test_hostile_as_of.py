"""Per-user ``as_of`` frames: wall-clock time, one parsing rule for text, strict ids.

The promises (``recsys.data.canonical``): a zone-aware time keeps its wall-clock
time and drops its zone; text reads like `recsys.data.to_datetime` (ISO) or is
refused with a typed error; an id that is not exactly a purchases' id is refused
(`recsys.data.canonical.cast_ids`).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError

# User 1 buys at 08:00 and 10:00; their "now" is 09:00 wall-clock time: only the
# 08:00 purchase may enter training, whatever the zone of the as_of value.
PURCHASES = pl.DataFrame(
    {
        "user_id": [1, 1, 2],
        "item_id": ["early", "late", "late"],
        "timestamp": [datetime(2024, 1, 1, 8), datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 10)],
    }
)
NINE = datetime(2024, 1, 1, 9)


def _items_of_user_1(as_of: pl.DataFrame) -> list[str]:
    inter = rs.Interactions.from_purchases(PURCHASES, as_of=as_of)
    row = inter.users.to_index([1])[0]
    columns = inter.matrix[row].indices
    return sorted(inter.items.to_ids(columns).tolist())


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo", "UTC"])
def test_zone_aware_as_of_keeps_wall_clock_time(zone: str) -> None:
    cut = pl.DataFrame({"user_id": [1], "as_of": [NINE]}).with_columns(
        pl.col("as_of").dt.replace_time_zone(zone)
    )
    assert _items_of_user_1(cut) == ["early"]
    inter = rs.Interactions.from_purchases(PURCHASES, as_of=cut)
    now = inter.user_reference_times()[inter.users.to_index([1])[0]]
    assert now == np.datetime64(NINE, "us")


@pytest.mark.parametrize("unit", ["ns", "us", "ms"])
def test_naive_as_of_of_any_unit(unit: str) -> None:
    cut = pl.DataFrame({"user_id": [1], "as_of": [NINE]}).with_columns(
        pl.col("as_of").cast(pl.Datetime(unit))  # type: ignore[arg-type]
    )
    assert _items_of_user_1(cut) == ["early"]


@pytest.mark.parametrize(
    "text", ["2024-01-01 09:00", "2024-01-01T09:00:00", "2024-01-01T09:00:00-05:00"]
)
def test_text_as_of_reads_like_to_datetime(text: str) -> None:
    assert rs.data.to_datetime(text) == NINE
    assert _items_of_user_1(pl.DataFrame({"user_id": [1], "as_of": [text]})) == ["early"]


def test_date_as_of_is_midnight() -> None:
    cut = pl.DataFrame({"user_id": [1], "as_of": [NINE.date()]})
    inter = rs.Interactions.from_purchases(PURCHASES, as_of=cut)
    assert 1 not in inter.users  # both of user 1's purchases are after midnight


@pytest.mark.parametrize("bad", [["09/01/2024"], ["soon"], [12.5]])
def test_unreadable_as_of_is_a_typed_error(bad: list) -> None:
    cut = pl.DataFrame({"user_id": [1], "as_of": bad})
    with pytest.raises(InputDataError, match="as_of"):
        rs.Interactions.from_purchases(PURCHASES, as_of=cut)


def test_fractional_user_id_does_not_cut_another_customer() -> None:
    cut = pl.DataFrame({"user_id": [1.5], "as_of": [datetime(2023, 1, 1)]})
    with pytest.raises(InputDataError, match=r"1\.5"):
        rs.Interactions.from_purchases(PURCHASES, as_of=cut)


def test_lossless_user_ids_still_match() -> None:
    cut = pl.DataFrame({"user_id": [1.0], "as_of": [NINE]})
    assert _items_of_user_1(cut) == ["early"]
    text_ids = PURCHASES.with_columns(pl.col("user_id").cast(pl.String))
    cut = pl.DataFrame({"user_id": [1], "as_of": [NINE]})
    inter = rs.Interactions.from_purchases(text_ids, as_of=cut)
    assert inter.matrix[inter.users.to_index(["1"])[0]].nnz == 1
