"""Diversified buy-again lists: co-basket counts and the greedy order against plain references."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

import recsys as rs
from recsys.models.diversify import basket_cosine, diversified_values

DAY = 86_400_000_000


def _reference_counts(users, items, times, n_items):
    """Baskets (customer, day) as Python sets, co-occurrence counted pair by pair."""
    baskets: dict[tuple[int, int], set[int]] = {}
    for u, i, t in zip(users, items, times, strict=True):
        baskets.setdefault((int(u), int(t) // DAY), set()).add(int(i))
    together = np.zeros((n_items, n_items))
    for basket in baskets.values():
        for a in basket:
            for b in basket:
                together[a, b] += 1
    return together, np.diag(together).copy()


def test_basket_cosine_matches_pairwise_count():
    rng = np.random.default_rng(0)
    n = 400
    users, items = rng.integers(0, 12, n), rng.integers(0, 9, n)
    times = rng.integers(0, 20, n) * DAY + rng.integers(0, DAY, n)  # several rows a day
    together, baskets = basket_cosine(users, items, times, 10)
    ref_together, ref_baskets = _reference_counts(users, items, times, 10)
    np.testing.assert_array_equal(together.toarray(), ref_together)
    np.testing.assert_array_equal(baskets, ref_baskets)
    assert together.has_sorted_indices


def _reference_greedy(matrix, values, together, baskets, diversity, pool):
    """The greedy order of the module docstring, one customer at a time, in plain Python."""
    dense = together.toarray()
    out = values.astype(np.float32).copy()
    for u in range(matrix.shape[0]):
        start, end = matrix.indptr[u], matrix.indptr[u + 1]
        entries = sorted(range(start, end), key=lambda e: (-float(values[e]), matrix.indices[e]))
        entries = entries[:pool]
        keep = {e: 1.0 for e in entries}
        chosen = []
        while keep:
            best = max(keep, key=lambda e: (float(values[e]) * keep[e], -entries.index(e)))
            del keep[best]
            chosen.append(best)
            a = matrix.indices[best]
            for e in keep:
                b = matrix.indices[e]
                keep[e] *= 1 - diversity * dense[a, b] / np.sqrt(baskets[a] * baskets[b])
        for slot, e in enumerate(chosen):
            out[e] = values[entries[slot]]
    return out


@pytest.mark.parametrize("diversity", [0.3, 1.0])
def test_greedy_order_matches_reference(diversity):
    rng = np.random.default_rng(1)
    n = 3_000
    users, items = rng.integers(0, 30, n), rng.integers(0, 40, n)
    times = rng.integers(0, 60, n) * DAY
    together, baskets = basket_cosine(users, items, times, 40)
    matrix = sp.csr_matrix((np.ones(n), (users, items)), shape=(30, 40))
    matrix.sum_duplicates()
    values = rng.random(matrix.nnz).astype(np.float32) * 0.9 + 0.05
    pool = 15
    got = diversified_values(matrix, values, together, baskets, diversity, pool)
    expected = _reference_greedy(matrix, values, together, baskets, diversity, pool)
    for u in range(30):
        row = slice(matrix.indptr[u], matrix.indptr[u + 1])
        # Same order (the stored values are nudged below their predecessor on ties only).
        assert np.array_equal(
            np.lexsort((matrix.indices[row], -got[row])),
            np.lexsort((matrix.indices[row], -expected[row])),
        )
        # The row's values are kept, only re-assigned: same multiset up to the nudges.
        np.testing.assert_allclose(np.sort(got[row]), np.sort(values[row]), rtol=1e-6)
        assert (got[row] > 0).all()


def test_zero_diversity_and_short_rows_unchanged():
    matrix = sp.csr_matrix(np.array([[1.0, 0, 0], [1.0, 1.0, 1.0]]))
    values = np.array([0.5, 0.9, 0.8, 0.7], dtype=np.float32)
    together = sp.csr_matrix(np.full((3, 3), 2.0))
    baskets = np.full(3, 2.0)
    np.testing.assert_array_equal(
        diversified_values(matrix, values, together, baskets, 0.0), values
    )
    got = diversified_values(matrix, values, together, baskets, 1.0)
    assert got[0] == values[0]  # one bought item: nothing to re-order
    # All three always together: full diversity zeroes the others' weight after the
    # first pick, so the rest keep their order by probability (ties by position).
    np.testing.assert_array_equal(got[1:], values[1:])


def _set_purchases() -> pl.DataFrame:
    """Customers 0..29 buy a "red" and a "blue" variant together, "soap" on other days.

    Red and blue always share a basket (co-basket cosine 1); soap never does.
    """
    rows = []
    start = datetime(2024, 1, 1)
    for u in range(30):
        for week in range(0, 26, 2):
            day = start + timedelta(days=7 * week + u % 5)
            rows += [(u, "red", day), (u, "blue", day)]
        for week in range(1, 26, 3):
            rows.append((u, "soap", start + timedelta(days=7 * week + u % 5)))
        rows.append((u, f"once{u}", start + timedelta(days=3)))
    return pl.DataFrame(rows, schema=["user_id", "item_id", "timestamp"], orient="row")


def test_buyagain_keeps_one_variant_of_a_set_in_the_list():
    inter = rs.Interactions.from_purchases(_set_purchases())
    plain = rs.BuyAgain().fit(inter).recommend(k=4)
    diverse = rs.BuyAgain(diversity=1.0).fit(inter).recommend(k=4)
    variants = pl.col("item_id").is_in(["red", "blue"])
    top3 = pl.col("rank") <= 3
    # By probability both variants make the top 3; diversified, only one does, and
    # the other falls below the one-off item (its weight after its twin: 1 - 1 = 0).
    assert plain.filter(top3 & variants).group_by("user_id").len()["len"].to_list() == [2] * 30
    assert diverse.filter(top3 & variants).group_by("user_id").len()["len"].to_list() == [1] * 30
    assert diverse.filter(rank=4, item_id="soap").height == 0
    assert diverse.filter(top3, item_id="soap").height == 30
    # Same items, same scores per customer: only their order changed.
    a = plain.sort("user_id", "score")
    b = diverse.sort("user_id", "score")
    assert a["user_id"].to_list() == b["user_id"].to_list()
    np.testing.assert_allclose(a["score"].to_numpy(), b["score"].to_numpy(), rtol=1e-6)


def test_diversity_out_of_range_names_the_parameter():
    inter = rs.Interactions.from_purchases(_set_purchases())
    with pytest.raises(rs.InputDataError, match="diversity"):
        rs.BuyAgain(diversity=1.5).fit(inter)
