"""Interactions: the CSR matrix equals a dense numpy reference built row by row."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys as rs
from recsys import IdMap, Interactions
from recsys.data.presets import ONLINE_RETAIL_NON_PRODUCTS
from recsys.exceptions import DataWarning, InputDataError, UnknownIdError

T0 = datetime(2024, 1, 1)

purchase_rows = st.lists(
    st.tuples(
        st.integers(0, 5),  # user
        st.sampled_from(["a", "b", "c", "d"]),  # item
        st.integers(0, 20),  # day
        st.integers(0, 23),  # hour
        st.integers(1, 4),  # quantity
        st.sampled_from([0.0, 0.5, 2.0, 3.25]),  # price
    ),
    min_size=1,
    max_size=40,
)


def _frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "timestamp": [T0 + timedelta(days=r[2], hours=r[3]) for r in rows],
            "quantity": [float(r[4]) for r in rows],
            "price": [r[5] for r in rows],
        }
    )


def _dense_reference(
    rows: list[tuple],
    weight: str,
    half_life: float | None,
    as_of: datetime | None,
    users: list | None = None,
    items: list | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list, list, tuple[int, int]]:
    """Weights, counts and last times per (user, item), with plain loops."""
    times = [T0 + timedelta(days=r[2], hours=r[3]) for r in rows]
    keep = [as_of is None or t < as_of for t in times]
    rows = [r for r, k in zip(rows, keep, strict=True) if k]
    times = [t for t, k in zip(times, keep, strict=True) if k]
    reference = as_of if as_of is not None else max(times, default=None)
    users = users if users is not None else sorted({r[0] for r in rows})
    items = items if items is not None else sorted({r[1] for r in rows})
    weights = np.zeros((len(users), len(items)))
    counts = np.zeros((len(users), len(items)), dtype=np.int64)
    last = np.full((len(users), len(items)), np.datetime64("NaT"), dtype="datetime64[us]")
    outside, outside_pairs = 0, set()
    for r, t in zip(rows, times, strict=True):
        if r[0] not in users or r[1] not in items:
            outside += 1
            outside_pairs.add((r[0], r[1]))
            continue
        u, i = users.index(r[0]), items.index(r[1])
        w = {"count": 1.0, "binary": 1.0, "quantity": r[4], "spend": r[4] * r[5]}[weight]
        if half_life is not None:
            assert reference is not None
            age_days = (reference - t) / timedelta(days=1)
            w *= 0.5 ** (age_days / half_life)
        weights[u, i] = max(weights[u, i], w) if weight == "binary" else weights[u, i] + w
        counts[u, i] += 1
        t64 = np.datetime64(t, "us")
        if np.isnat(last[u, i]) or t64 > last[u, i]:
            last[u, i] = t64
    return weights, counts, last, users, items, (outside, len(outside_pairs))


def _dense(inter: Interactions, values: np.ndarray, fill: object) -> np.ndarray:
    out = np.full(inter.shape, fill, dtype=values.dtype)
    rows = np.repeat(np.arange(inter.shape[0]), np.diff(inter.matrix.indptr))
    out[rows, inter.matrix.indices] = values
    return out


def _check_structure(inter: Interactions) -> None:
    m = inter.matrix
    assert m.dtype == np.float32
    assert m.has_sorted_indices
    for u in range(m.shape[0]):  # sorted and distinct column indices in every row
        cols = m.indices[m.indptr[u] : m.indptr[u + 1]]
        assert (np.diff(cols) > 0).all()
    assert inter.purchase_count.dtype == np.int32
    assert len(inter.purchase_count) == m.nnz


@settings(max_examples=80, deadline=None)
@given(
    rows=purchase_rows,
    weight=st.sampled_from(["count", "binary", "quantity", "spend"]),
    half_life=st.one_of(st.none(), st.sampled_from([1.0, 7.5, 30.0])),
    as_of_day=st.one_of(st.none(), st.integers(0, 22)),
)
def test_matrix_equals_dense_reference(
    rows: list[tuple], weight: str, half_life: float | None, as_of_day: int | None
) -> None:
    as_of = None if as_of_day is None else T0 + timedelta(days=as_of_day)
    inter = Interactions.from_purchases(
        _frame(rows),
        weight=weight,  # type: ignore[arg-type]
        half_life_days=half_life,
        as_of=as_of,
    )
    weights, counts, last, users, items, _ = _dense_reference(rows, weight, half_life, as_of)
    _check_structure(inter)
    assert inter.users.ids.to_list() == users
    assert inter.items.ids.to_list() == items
    np.testing.assert_allclose(inter.matrix.toarray(), weights, rtol=1e-6, atol=1e-30)
    np.testing.assert_array_equal(_dense(inter, inter.purchase_count, 0), counts)
    assert inter.last_purchase is not None
    np.testing.assert_array_equal(_dense(inter, inter.last_purchase, np.datetime64("NaT")), last)
    assert inter.weight == weight
    assert inter.half_life_days == half_life
    if as_of is not None:
        assert inter.reference_time == as_of
    elif rows:
        assert inter.reference_time == max(T0 + timedelta(days=r[2], hours=r[3]) for r in rows)


@settings(max_examples=40, deadline=None)
@given(rows=purchase_rows, n_users=st.integers(1, 6), n_items=st.integers(1, 4))
def test_fixed_id_maps_warn_with_counts(rows: list[tuple], n_users: int, n_items: int) -> None:
    users, items = list(range(n_users))[::-1][:n_users], ["a", "b", "c", "d"][:n_items]
    users = sorted(users)
    weights, counts, _, _, _, (outside, outside_pairs) = _dense_reference(
        rows, "count", None, None, users, items
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inter = Interactions.from_purchases(_frame(rows), users=IdMap(users), items=IdMap(items))
    data_warnings = [w for w in caught if issubclass(w.category, DataWarning)]
    if outside:
        assert len(data_warnings) == 1
        assert str(data_warnings[0].message).startswith(
            f"{outside_pairs:,} (user, item) pairs ({outside:,} purchases)"
        )
    else:
        assert not data_warnings
    assert inter.shape == (n_users, n_items)
    np.testing.assert_array_equal(inter.matrix.toarray(), weights)
    np.testing.assert_array_equal(_dense(inter, inter.purchase_count, 0), counts)


def test_fixed_map_of_another_id_type() -> None:
    with pytest.raises(UnknownIdError, match="String"):
        Interactions.from_purchases(_frame([(1, "a", 0, 0, 1, 1.0)]), items=IdMap([1, 2]))


def test_known_answer_small() -> None:
    purchases = pl.DataFrame(
        {
            "user_id": ["u2", "u1", "u1", "u1"],
            "item_id": [20, 10, 10, 20],
            "timestamp": [T0, T0, T0 + timedelta(days=10), T0 + timedelta(days=20)],
            "quantity": [1.0, 2.0, 3.0, 1.0],
            "price": [5.0, 1.0, 1.0, 4.0],
        }
    )
    inter = Interactions.from_purchases(purchases, weight="spend", half_life_days=10)
    # reference time = T0 + 20 days: ages 20, 20, 10, 0 days -> decay 1/4, 1/4, 1/2, 1
    assert inter.matrix.toarray().tolist() == [[2 * 0.25 + 3 * 0.5, 4.0], [0.0, 5 * 0.25]]
    assert inter.purchase_count.tolist() == [2, 1, 1]
    assert inter.users.ids.to_list() == ["u1", "u2"]
    assert inter.reference_time == T0 + timedelta(days=20)
    summary = inter.summary()
    assert summary["users"] == 2
    assert summary["pairs"] == 3
    assert summary["purchases"] == 4
    assert summary["density"] == pytest.approx(3 / 4)


def test_returns_left_out_and_time_optional() -> None:
    purchases = pl.DataFrame(
        {
            "user_id": [1, 1, 2],
            "item_id": ["a", "a", "b"],
            "quantity": [2.0, -2.0, 1.0],
            "is_return": [False, True, False],
        }
    )
    inter = Interactions.from_purchases(purchases, weight="quantity")
    assert inter.matrix.toarray().tolist() == [[2.0, 0.0], [0.0, 1.0]]
    assert inter.last_purchase is None
    assert inter.reference_time is None


def test_time_needed_only_by_time_options() -> None:
    pairs = pl.DataFrame({"user_id": [1], "item_id": ["a"]})
    assert Interactions.from_purchases(pairs).nnz == 1
    with pytest.raises(InputDataError, match=r"\['timestamp'\].*as_of"):
        Interactions.from_purchases(pairs, as_of="2024-01-01")
    with pytest.raises(InputDataError, match=r"\['timestamp'\].*half_life_days"):
        Interactions.from_purchases(pairs, half_life_days=30)
    with pytest.raises(InputDataError, match=r"\['quantity', 'price'\]"):
        Interactions.from_purchases(pairs, weight="spend")


def test_parameter_errors() -> None:
    purchases = _frame([(1, "a", 0, 0, 1, 1.0)])
    with pytest.raises(InputDataError, match="weight must be one of"):
        Interactions.from_purchases(purchases, weight="clicks")  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="half_life_days"):
        Interactions.from_purchases(purchases, half_life_days=0)
    with pytest.raises(InputDataError, match="as_of"):
        Interactions.from_purchases(purchases, as_of="not a date")
    negative = purchases.with_columns(quantity=pl.lit(-1.0))
    with pytest.raises(InputDataError, match="negative weights"):
        Interactions.from_purchases(negative, weight="quantity")


def test_missing_ids_warn() -> None:
    purchases = pl.DataFrame({"user_id": [1, None, 2], "item_id": ["a", "a", None]})
    with pytest.warns(DataWarning, match="2 rows with a missing user or item id"):
        inter = Interactions.from_purchases(purchases)
    assert inter.matrix.toarray().tolist() == [[1.0]]


def test_from_frame() -> None:
    frame = pl.DataFrame(
        {"who": ["x", "y", "x", "x"], "what": [3, 1, 3, 1], "rating": [4.0, 5.0, 1.0, 2.0]}
    )
    inter = Interactions.from_frame(frame, user="who", item="what", weight="rating")
    assert inter.matrix.toarray().tolist() == [[2.0, 5.0], [5.0, 0.0]]
    assert inter.items.ids.to_list() == [1, 3]
    assert inter.purchase_count.tolist() == [1, 2, 1]
    unweighted = Interactions.from_frame(frame.to_pandas(), user="who", item="what")
    assert unweighted.matrix.toarray().tolist() == [[1.0, 2.0], [1.0, 0.0]]
    with pytest.raises(InputDataError, match=r"\['nope'\].*found"):
        Interactions.from_frame(frame, user="nope", item="what")
    with pytest.warns(DataWarning, match="1 row with a missing"):
        Interactions.from_frame(pl.DataFrame({"u": [1, None], "i": [1, 1]}), user="u", item="i")


def test_lazy_and_path_inputs(tmp_path: pytest.TempPathFactory) -> None:
    rows = [(1, "a", 0, 0, 1, 1.0), (2, "b", 1, 0, 2, 2.0), (1, "a", 2, 0, 1, 1.0)]
    path = tmp_path / "purchases.parquet"  # type: ignore[operator]
    _frame(rows).write_parquet(path)
    for source in (path, _frame(rows).lazy()):
        inter = Interactions.from_purchases(source, weight="quantity")
        assert inter.matrix.toarray().tolist() == [[2.0, 0.0], [0.0, 2.0]]


def test_online_retail_matrix(online_retail: pl.DataFrame, online_retail_raw: pl.DataFrame) -> None:
    # the purchases, counted on the raw table with plain polars
    bought = online_retail_raw.filter(
        pl.col("CustomerID").is_not_null(),
        ~pl.col("StockCode").is_in(list(ONLINE_RETAIL_NON_PRODUCTS)),
        ~pl.col("InvoiceNo").str.starts_with("C"),
        pl.col("Quantity") > 0,
        pl.col("UnitPrice") >= 0,
    )
    inter = rs.Interactions.from_purchases(online_retail)
    assert inter.shape == (bought["CustomerID"].n_unique(), bought["StockCode"].n_unique())
    assert int(inter.purchase_count.sum()) == bought.height
    assert inter.matrix.sum() == pytest.approx(bought.height)
    assert not set(inter.items.to_ids(np.arange(len(inter.items)))) & set(
        ONLINE_RETAIL_NON_PRODUCTS
    )
    binary = rs.Interactions.from_purchases(online_retail, weight="binary")
    pairs = online_retail.select("user_id", "item_id").unique().height
    assert binary.nnz == pairs
    assert binary.matrix.sum() == pairs
    before = rs.Interactions.from_purchases(online_retail, as_of="2011-09-09")
    expected = online_retail.filter(pl.col("timestamp") < datetime(2011, 9, 9))
    assert int(before.purchase_count.sum()) == expected.height
    assert len(before.users) == expected["user_id"].n_unique()


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.integers(0, 2**62), max_size=60),
    small=st.lists(st.integers(0, 3), max_size=60),
)
def test_stable_argsort_matches_numpy(keys: list[int], small: list[int]) -> None:
    from recsys.data.interactions import _stable_argsort

    for values in (keys, small):
        key = np.array(values, dtype=np.int64)
        np.testing.assert_array_equal(_stable_argsort(key), np.argsort(key, kind="stable"))


def test_purchases_reference_kept_filtered_and_optional():
    p = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 2],
            "item_id": ["a", "b", "a", "c"],
            "timestamp": [datetime(2024, 1, d) for d in (1, 2, 3, 4)],
            "is_return": [False, False, True, False],
        }
    )
    inter = rs.Interactions.from_purchases(p, as_of="2024-01-04")
    assert inter.purchases is not None
    assert inter.purchases.columns == ["user_id", "item_id", "timestamp"]
    # the return and the purchase on/after as_of are left out, as in the matrix
    assert inter.purchases.rows() == [
        (1, "a", datetime(2024, 1, 1)),
        (1, "b", datetime(2024, 1, 2)),
    ]
    assert rs.Interactions.from_purchases(p, keep_purchases=False).purchases is None
    assert rs.Interactions.from_frame(p).purchases is None


def test_per_user_as_of_decays_each_user_from_their_own_now() -> None:
    p = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2],
            "item_id": ["a", "b", "c", "a", "b"],
            "timestamp": [datetime(2024, 1, d) for d in (1, 11, 21, 1, 31)],
        }
    )
    cut = pl.DataFrame({"user_id": [1], "as_of": [datetime(2024, 1, 21)]})
    inter = Interactions.from_purchases(p, half_life_days=10.0, as_of=cut)
    dense = inter.matrix.toarray()
    # user 1: now = Jan 21, so c (bought Jan 21) is left out; a is 20 days old, b 10.
    assert list(inter.items.to_ids(np.arange(2))) == ["a", "b"]
    assert dense[0].tolist() == pytest.approx([0.25, 0.5])
    # user 2 is not in the frame: now = the last timestamp outside it (Jan 31).
    assert dense[1].tolist() == pytest.approx([0.5**3, 1.0])
    assert inter.user_reference_times().astype("datetime64[D]").astype(str).tolist() == [
        "2024-01-21",
        "2024-01-31",
    ]
    assert inter.reference_time == datetime(2024, 1, 31)


def test_per_user_as_of_frame_is_checked() -> None:
    p = pl.DataFrame({"user_id": [1], "item_id": ["a"], "timestamp": [datetime(2024, 1, 1)]})
    with pytest.raises(rs.InputDataError, match="missing"):
        Interactions.from_purchases(p, as_of=pl.DataFrame({"user_id": [1]}))
    twice = pl.DataFrame({"user_id": [1, 1], "as_of": [datetime(2024, 2, 1)] * 2})
    with pytest.raises(rs.InputDataError, match="more than once"):
        Interactions.from_purchases(p, as_of=twice)
