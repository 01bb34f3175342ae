"""topk / select_topk against a plain numpy reference, edge cases and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.exceptions import InputDataError
from recsys.scoring import dense, select_topk, topk
from tests.scoring.reference import reference_select


def _random_case(seed: int, n: int, m: int, f: int, density: float, n_cands: int | None):
    """Integer-valued factors: every product is exact in float32, and ties are frequent."""
    rng = np.random.default_rng(seed)
    queries = rng.integers(-2, 3, size=(n, f)).astype(np.float32)
    items = rng.integers(-2, 3, size=(m, f)).astype(np.float32)
    mask = rng.random((n, m)) < density
    exclude = sp.csr_matrix(mask.astype(np.float32))
    cands = None if n_cands is None else rng.choice(m, size=min(n_cands, m), replace=True)
    return queries, items, mask, exclude, cands


def _allowed(m: int, cands: np.ndarray | None) -> np.ndarray | None:
    if cands is None:
        return None
    allowed = np.zeros(m, dtype=bool)
    allowed[cands] = True
    return allowed


case_params = {
    "seed": st.integers(0, 2**31),
    "n": st.integers(0, 9),
    "m": st.integers(1, 40),
    "f": st.integers(1, 4),
    "k": st.integers(1, 45),
    "density": st.sampled_from([0.0, 0.2, 0.7, 1.0]),
    "n_cands": st.one_of(st.none(), st.integers(0, 30)),
}


@settings(max_examples=80, deadline=None)
@given(**case_params)
def test_topk_matches_reference(seed, n, m, f, k, density, n_cands):
    queries, items, mask, exclude, cands = _random_case(seed, n, m, f, density, n_cands)
    ids, scores = topk(queries, items, k, exclude=exclude, candidates=cands)
    ref_ids, ref_scores = reference_select(queries @ items.T, k, mask, _allowed(m, cands))
    assert ids.shape == scores.shape == (n, k)
    assert ids.dtype == np.int32
    assert scores.dtype == np.float32
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_array_equal(scores, ref_scores)


@settings(max_examples=80, deadline=None)
@given(**case_params)
def test_select_topk_matches_reference(seed, n, m, f, k, density, n_cands):
    queries, items, mask, exclude, cands = _random_case(seed, n, m, f, density, n_cands)
    block = queries @ items.T
    rng = np.random.default_rng(seed + 1)
    block[rng.random(block.shape) < 0.1] = np.nan
    ids, scores = select_topk(block, k, exclude=exclude, candidates=cands)
    ref_ids, ref_scores = reference_select(block, k, mask, _allowed(m, cands))
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_array_equal(scores, ref_scores)


wide_params = {
    **case_params,
    # wider than a 128-score run and than an item tile: runs, bit masks, partial runs
    "m": st.integers(60, 1400),
    "k": st.integers(1, 30),
    "density": st.sampled_from([0.0, 0.02, 0.3]),
    "n_cands": st.one_of(st.none(), st.integers(0, 900)),
}


@settings(max_examples=40, deadline=None)
@given(**wide_params, scale=st.sampled_from([1, 1000]))
def test_topk_matches_reference_on_wide_catalogues(seed, n, m, f, k, density, n_cands, scale):
    # scale 1: integer scores with many ties; scale 1000: mostly distinct scores, so the
    # threshold keeps rising across tiles
    queries, items, mask, exclude, cands = _random_case(seed, n, m, f, density, n_cands)
    rng = np.random.default_rng(seed + 2)
    items = items * rng.integers(1, scale + 1, size=items.shape).astype(np.float32)
    ids, scores = topk(queries, items, k, exclude=exclude, candidates=cands)
    ref_ids, ref_scores = reference_select(queries @ items.T, k, mask, _allowed(m, cands))
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_array_equal(scores, ref_scores)


@settings(max_examples=40, deadline=None)
@given(**wide_params)
def test_select_topk_matches_reference_on_wide_catalogues(seed, n, m, f, k, density, n_cands):
    queries, items, mask, exclude, cands = _random_case(seed, n, m, f, density, n_cands)
    block = queries @ items.T
    rng = np.random.default_rng(seed + 1)
    block[rng.random(block.shape) < 0.05] = np.nan
    ids, scores = select_topk(block, k, exclude=exclude, candidates=cands)
    ref_ids, ref_scores = reference_select(block, k, mask, _allowed(m, cands))
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_array_equal(scores, ref_scores)


@pytest.mark.parametrize("use_candidates", [False, True])
def test_topk_ties_across_column_tiles(use_candidates):
    # 5000 items > one item tile; only 3 distinct scores, so the tie rule decides
    rng = np.random.default_rng(3)
    n = dense.ROW_TILE + 44  # more queries than one query tile
    queries = np.ones((n, 1), dtype=np.float32)
    items = rng.integers(0, 3, size=(5000, 1)).astype(np.float32)
    mask = rng.random((n, 5000)) < 0.3
    cands = rng.choice(5000, 3000, replace=False) if use_candidates else None
    ids, scores = topk(queries, items, 25, exclude=sp.csr_matrix(mask), candidates=cands)
    ref_ids, ref_scores = reference_select(queries @ items.T, 25, mask, _allowed(5000, cands))
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_array_equal(scores, ref_scores)


def test_topk_float_factors_and_thread_determinism():
    rng = np.random.default_rng(0)
    queries = rng.standard_normal((150, 16)).astype(np.float32)
    items = rng.standard_normal((4200, 16)).astype(np.float32)
    exclude = sp.random(150, 4200, density=0.05, format="csr", random_state=1)
    one = topk(queries, items, 10, exclude=exclude, num_threads=1)
    two = topk(queries, items, 10, exclude=exclude, num_threads=2)
    for result in (two,):
        np.testing.assert_array_equal(one[0], result[0])
        np.testing.assert_array_equal(one[1], result[1])
    dense = (queries.astype(np.float64) @ items.T.astype(np.float64)).astype(np.float32)
    dense[exclude.toarray() != 0] = -np.inf
    ref_ids, ref_scores = reference_select(dense, 10)
    np.testing.assert_allclose(one[1], ref_scores, rtol=1e-5, atol=1e-5)
    assert (one[0] == ref_ids).mean() > 0.99  # only float near-ties may differ


def test_small_memory_budget_shrinks_tiles(monkeypatch):
    monkeypatch.setattr(dense, "ROW_TILE", 1024)  # 2 threads x 1024 x 256 x 4 B > 1 MB
    queries, items, mask, exclude, _ = _random_case(11, 40, 3000, 3, 0.2, None)
    ids, scores = topk(queries, items, 12, exclude=exclude, num_threads=2, memory_budget_mb=1)
    ref_ids, ref_scores = reference_select(queries @ items.T, 12, mask)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_array_equal(scores, ref_scores)


def test_select_topk_thread_determinism():
    rng = np.random.default_rng(5)
    block = rng.integers(0, 4, size=(300, 500)).astype(np.float32)
    one = select_topk(block, 7, num_threads=1)
    two = select_topk(block, 7, num_threads=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_k_larger_than_catalogue_pads():
    items = np.array([[1.0], [3.0], [2.0]], dtype=np.float32)
    ids, scores = topk(np.ones((1, 1), dtype=np.float32), items, 5)
    assert ids.tolist() == [[1, 2, 0, -1, -1]]
    assert scores.tolist() == [[3.0, 2.0, 1.0, -np.inf, -np.inf]]


def test_exclusion_uses_structure_and_pads():
    items = np.array([[1.0], [3.0], [2.0]], dtype=np.float32)
    exclude = sp.csr_matrix(
        (np.array([0.0, 5.0], dtype=np.float32), np.array([1, 2]), np.array([0, 2])),
        shape=(1, 3),
    )
    ids, scores = topk(np.ones((1, 1), dtype=np.float32), items, 2, exclude=exclude)
    assert ids.tolist() == [[0, -1]]  # the explicit zero excludes item 1 too
    assert scores.tolist() == [[1.0, -np.inf]]


def test_unsorted_and_duplicate_exclusions():
    items = np.arange(6, dtype=np.float32)[:, None]
    exclude = sp.csr_matrix(
        (np.ones(4, dtype=np.float32), np.array([5, 3, 5, 0]), np.array([0, 4])), shape=(1, 6)
    )
    exclude.has_sorted_indices = False
    ids, _ = topk(np.ones((1, 1), dtype=np.float32), items, 3, exclude=exclude)
    assert ids.tolist() == [[4, 2, 1]]


def test_empty_queries_and_empty_candidates():
    items = np.ones((4, 2), dtype=np.float32)
    ids, scores = topk(np.zeros((0, 2), dtype=np.float32), items, 3)
    assert ids.shape == (0, 3)
    assert scores.shape == (0, 3)
    ids, scores = topk(np.ones((2, 2), dtype=np.float32), items, 2, candidates=[])
    assert (ids == -1).all()
    assert np.isneginf(scores).all()
    ids, _ = select_topk(np.zeros((0, 4), dtype=np.float32), 2)
    assert ids.shape == (0, 2)


def test_nan_and_neg_inf_in_select_topk():
    block = np.array([[np.nan, -np.inf, 1.0, np.nan]], dtype=np.float32)
    ids, scores = select_topk(block, 4)
    assert ids.tolist() == [[2, 1, -1, -1]]
    assert scores[0, 0] == 1.0
    assert np.isneginf(scores[0, 1:]).all()


def test_float64_and_integer_inputs_are_converted():
    ids, scores = topk(np.array([[1, 2]]), np.array([[1.0, 0.0], [0.0, 1.0]]), 1)
    assert ids.tolist() == [[1]]
    assert scores.dtype == np.float32


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "3"])
def test_bad_k(k):
    with pytest.raises(InputDataError, match="k must"):
        topk(np.ones((1, 2)), np.ones((3, 2)), k)
    with pytest.raises(InputDataError, match="k must"):
        select_topk(np.ones((1, 3)), k)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"candidates": [0, 3]}, "candidates"),
        ({"candidates": [-1]}, "candidates"),
        ({"candidates": [0.5]}, "candidates"),
        ({"candidates": [[0]]}, "candidates"),
        ({"exclude": sp.csr_matrix((2, 2))}, "exclude must have shape"),
        ({"exclude": np.zeros((1, 3))}, "exclude must be a scipy sparse"),
        ({"num_threads": -1}, "num_threads"),
        ({"memory_budget_mb": 0}, "memory_budget_mb"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(InputDataError, match=match):
        topk(np.ones((1, 2)), np.ones((3, 2)), 2, **kwargs)


def test_bad_shapes():
    with pytest.raises(InputDataError, match="same number of factors"):
        topk(np.ones((1, 2)), np.ones((3, 4)), 2)
    with pytest.raises(InputDataError, match="queries must be a 2-D"):
        topk(np.ones(2), np.ones((3, 2)), 2)
    with pytest.raises(InputDataError, match="item_factors must hold real"):
        topk(np.ones((1, 2)), np.array([["a", "b"]]), 2)
    with pytest.raises(InputDataError, match="scores must be a dense"):
        select_topk(sp.csr_matrix(np.ones((2, 2))), 1)
    with pytest.raises(InputDataError, match="candidates"):
        select_topk(np.ones((1, 3)), 1, candidates=[3])


def test_int64_index_arrays_in_exclude():
    items = np.arange(6, dtype=np.float32)[:, None]
    exclude = sp.csr_matrix(
        (np.ones(2, dtype=np.float32), np.array([5, 3], dtype=np.int64), np.array([0, 2])),
        shape=(1, 6),
    )
    exclude.indices = exclude.indices.astype(np.int64)
    exclude.indptr = exclude.indptr.astype(np.int64)
    ids, _ = topk(np.ones((1, 1), dtype=np.float32), items, 3, exclude=exclude)
    assert ids.tolist() == [[4, 2, 1]]


def test_thread_limits_cap_every_blas_library():
    from threadpoolctl import threadpool_info

    from recsys._threads import thread_limits

    with thread_limits(2, blas_threads=1):
        blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
        assert blas
        assert all(lib["num_threads"] == 1 for lib in blas)
