"""IdMap: exact round trips for int and string ids, strict and lenient lookups."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys import IdMap
from recsys.exceptions import InputDataError, UnknownIdError

int_ids = st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=40)
str_ids = st.lists(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=8), min_size=1, max_size=40
)


def _reference_index(values: list) -> tuple[list, np.ndarray]:
    """Sorted distinct ids and each value's position among them (plain numpy)."""
    distinct = sorted(set(values))
    position = {v: i for i, v in enumerate(distinct)}
    return distinct, np.array([position[v] for v in values], dtype=np.int32)


@settings(max_examples=100, deadline=None)
@given(values=st.one_of(int_ids, str_ids))
def test_round_trip_matches_sorted_unique(values: list) -> None:
    distinct, expected_index = _reference_index(values)
    m = IdMap.from_values(values)
    assert len(m) == len(distinct)
    assert m.ids.to_list() == distinct
    index = m.to_index(values)
    assert index.dtype == np.int32
    np.testing.assert_array_equal(index, expected_index)
    assert m.to_ids(index).tolist() == values
    assert m.to_ids(np.arange(len(m))).tolist() == distinct
    # the saved form rebuilds the same map, without object arrays
    if any(isinstance(v, str) and v.endswith("\x00") for v in distinct):
        with pytest.raises(InputDataError, match="NUL"):
            m.to_numpy()  # numpy unicode arrays drop trailing NULs
    else:
        saved = m.to_numpy()
        assert saved.dtype != object
        assert IdMap(saved) == m


@settings(max_examples=60, deadline=None)
@given(known=int_ids, queries=st.lists(st.integers(-50, 50), max_size=30))
def test_on_unknown_modes(known: list, queries: list) -> None:
    m = IdMap.from_values(known)
    known_set = set(known)
    lookup = {v: i for i, v in enumerate(sorted(known_set))}
    expected = np.array([lookup.get(q, -1) for q in queries], dtype=np.int32)
    np.testing.assert_array_equal(m.to_index(queries, on_unknown="minus_one"), expected)
    np.testing.assert_array_equal(m.to_index(queries, on_unknown="skip"), expected[expected >= 0])
    if (expected < 0).any():
        first_unknown = next(q for q in queries if q not in known_set)
        with pytest.raises(UnknownIdError, match=repr(first_unknown)):
            m.to_index(queries)
    else:
        np.testing.assert_array_equal(m.to_index(queries), expected)


def test_known_answers_and_inputs() -> None:
    m = IdMap.from_values(["b", "a", "b", "c"])
    assert m.to_index(["c", "a"]).tolist() == [2, 0]
    assert m.to_index(np.array(["c", "a"])).tolist() == [2, 0]
    assert m.to_index(pl.Series(["b"])).tolist() == [1]
    assert m.to_index("c").tolist() == [2]
    assert m.to_ids(np.array([[0, 2], [1, 1]])).tolist() == [["a", "c"], ["b", "b"]]
    assert "a" in m
    assert "z" not in m
    assert 3 not in m  # another type is just absent
    ints = IdMap.from_values(np.array([30, 10, 20], dtype=np.int32))
    assert ints.dtype == pl.Int64
    assert ints.to_index(np.array([20, 30], dtype=np.uint8)).tolist() == [1, 2]
    assert ints.to_index([]).tolist() == []
    assert repr(ints) == "IdMap(n=3, dtype=Int64)"


def test_empty_map() -> None:
    m = IdMap.from_values([])
    assert len(m) == 0
    assert m.to_index([5], on_unknown="minus_one").tolist() == [-1]


def test_errors() -> None:
    m = IdMap.from_values([1, 2, 3])
    with pytest.raises(UnknownIdError, match=r"2 unknown id\(s\): 7, 9"):
        m.to_index([1, 7, 9, 7])
    with pytest.raises(UnknownIdError, match="String"):
        m.to_index(["1"])
    with pytest.raises(UnknownIdError, match="out of range"):
        m.to_ids([3])
    with pytest.raises(UnknownIdError, match="out of range"):
        m.to_ids([-1])
    with pytest.raises(InputDataError, match="integers"):
        m.to_ids([0.5])
    with pytest.raises(InputDataError, match="on_unknown"):
        m.to_index([1], on_unknown="ignore")  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="distinct"):
        IdMap([1, 1])
    with pytest.raises(InputDataError, match="nulls"):
        IdMap([1, None])
    with pytest.raises(InputDataError, match="integers or strings"):
        IdMap([1.5, 2.5])
    with pytest.raises(AttributeError):
        m.extra = 1  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None)
@given(
    ids=st.one_of(
        st.lists(st.integers(-1000, 1000), min_size=1, max_size=30, unique=True),
        st.lists(st.text(max_size=4), min_size=1, max_size=30, unique=True),
    ),
    data=st.data(),
)
def test_ids_in_given_order(ids: list, data: st.DataObject) -> None:
    """A map built from ids in any order (sorted or not) indexes them by position."""
    m = IdMap(ids)
    queries = data.draw(st.lists(st.sampled_from(ids), max_size=20))
    expected = [ids.index(q) for q in queries]
    assert m.to_index(queries).tolist() == expected
    assert m.to_ids(np.array(expected, dtype=np.int64)).tolist() == queries
    stranger = 5000 if isinstance(ids[0], int) else "\u2603" * 5
    assert m.to_index([stranger], on_unknown="minus_one").tolist() == [-1]
