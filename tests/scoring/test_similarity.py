"""item_similarity against dense numpy formulas; prune_topk_rows; agreement with implicit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.exceptions import InputDataError
from recsys.scoring import bm25_weight, item_similarity, prune_topk_rows
from tests.scoring.reference import reference_prune_rows, reference_select


def _matrix(seed: int, n: int = 40, m: int = 15, density: float = 0.25) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    values = rng.integers(1, 5, size=(n, m)).astype(np.float32)
    return sp.csr_matrix(np.where(rng.random((n, m)) < density, values, 0.0).astype(np.float32))


def _dense_similarity(x: np.ndarray, kind: str, shrink: float, asymmetry: float) -> np.ndarray:
    """Every formula of the module docstring, written out on dense arrays."""
    x = x.astype(np.float64)
    if kind == "jaccard":
        b = (x != 0).astype(np.float64)
        inter = b.T @ b
        count = b.sum(axis=0)
        return inter / (count[:, None] + count[None, :] - inter + shrink)
    if kind == "bm25":
        n_items = x.shape[1]
        idf = np.log(n_items) - np.log1p((x != 0).sum(axis=1))
        length = x.sum(axis=0)
        norm = 0.25 + 0.75 * length / length.mean()
        w = np.where(x != 0, x * 2.2 / (1.2 * norm[None, :] + x) * idf[:, None], 0.0)
        return (w.T @ w) / (1.0 + shrink)
    dots = x.T @ x
    sq = (x * x).sum(axis=0)
    if kind == "cosine":
        return dots / (np.sqrt(sq[:, None] * sq[None, :]) + shrink)
    return dots / (sq[:, None] ** asymmetry * sq[None, :] ** (1 - asymmetry) + shrink)


@pytest.mark.parametrize("kind", ["cosine", "asymmetric_cosine", "jaccard", "bm25"])
@pytest.mark.parametrize("shrink", [0.0, 2.5])
def test_unpruned_similarity_matches_dense_formula(kind, shrink):
    x = _matrix(1)
    asymmetry = 0.8
    result = item_similarity(x, similarity=kind, neighbors=1000, shrink=shrink, asymmetry=asymmetry)
    assert result.dtype == np.float32
    assert result.has_sorted_indices
    expected = _dense_similarity(x.toarray(), kind, shrink, asymmetry)
    co_bought = ((x != 0).T @ (x != 0)).toarray() > 0
    np.fill_diagonal(co_bought, False)
    stored = result.toarray() != 0
    np.testing.assert_array_equal(stored, co_bought & (expected != 0))
    np.testing.assert_allclose(result.toarray()[co_bought], expected[co_bought], rtol=1e-5)
    assert result.diagonal().sum() == 0


def test_asymmetric_cosine_with_half_asymmetry_is_cosine():
    x = _matrix(2)
    a = item_similarity(x, similarity="asymmetric_cosine", asymmetry=0.5, neighbors=5)
    c = item_similarity(x, similarity="cosine", neighbors=5)
    np.testing.assert_allclose(a.toarray(), c.toarray(), rtol=1e-6)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_pruning_keeps_exactly_top_k(k):
    x = _matrix(3, m=20)
    full = item_similarity(x, similarity="jaccard", neighbors=1000)  # many exact ties
    pruned = item_similarity(x, similarity="jaccard", neighbors=k)
    dense = full.toarray()
    dense[full.toarray() == 0] = np.nan  # absent pairs are not neighbours
    ref_ids, _ = reference_select(dense, k)
    got = pruned.toarray()
    for row in range(dense.shape[0]):
        keep = ref_ids[row][ref_ids[row] >= 0]
        assert sorted(np.flatnonzero(got[row])) == sorted(keep.tolist())
        np.testing.assert_array_equal(got[row, keep], full.toarray()[row, keep])


def test_prune_topk_rows_block_with_first_row_and_ties():
    block = sp.csr_matrix(
        np.array([[0.5, 0.9, 0.5, 0.5, 0.1], [0.2, 0.2, 0.2, 9.0, 0.2]], dtype=np.float32)
    )
    pruned = prune_topk_rows(block, 2, first_row=3)  # rows are items 3 and 4
    expected = np.array(
        [
            [0.5, 0.9, 0.0, 0.0, 0.0],  # 3 is the diagonal; the 0.5 tie goes to column 0
            [0.2, 0.0, 0.0, 9.0, 0.0],  # 4 is the diagonal; the 0.2 tie goes to column 0
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(pruned.toarray(), expected)
    assert pruned.has_sorted_indices
    assert np.all(np.diff(pruned.indices[pruned.indptr[0] : pruned.indptr[1]]) > 0)


def test_prune_drops_nan_and_handles_k_beyond_width():
    block = sp.csr_matrix(np.array([[0.0, np.nan, 2.0]], dtype=np.float32))
    assert prune_topk_rows(block, 10, first_row=5).toarray().tolist() == [[0.0, 0.0, 2.0]]


def test_thread_count_does_not_change_result():
    x = _matrix(5, n=80, m=30)
    one = item_similarity(x, similarity="bm25", neighbors=5, num_threads=1)
    two = item_similarity(x, similarity="bm25", neighbors=5, num_threads=2)
    np.testing.assert_array_equal(one.toarray(), two.toarray())


def test_bm25_weight_matches_implicit():
    nn = pytest.importorskip("implicit.nearest_neighbours")
    x = _matrix(6)
    ours = bm25_weight(x, 1.2, 0.75).toarray()
    theirs = sp.csr_matrix(nn.bm25_weight(x.T, K1=1.2, B=0.75).T).toarray()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:Method expects CSR input")
@pytest.mark.parametrize("kind", ["cosine", "bm25"])
def test_same_neighbours_as_implicit(kind):
    nn = pytest.importorskip("implicit.nearest_neighbours")
    rng = np.random.default_rng(7)
    # continuous weights: no exact ties, so the neighbour sets are unique
    x = sp.random(300, 60, density=0.1, format="csr", random_state=rng, dtype=np.float32)
    k = 8
    ours = item_similarity(x, similarity=kind, neighbors=k)
    model = nn.CosineRecommender(K=k + 1) if kind == "cosine" else nn.BM25Recommender(K=k + 1)
    model.fit(x, show_progress=False)
    theirs = sp.csr_matrix(model.similarity, dtype=np.float64)
    theirs.setdiag(0)
    theirs.eliminate_zeros()
    np.testing.assert_allclose(ours.toarray(), theirs.toarray(), rtol=1e-5, atol=1e-7)


def test_empty_and_bad_inputs():
    empty = item_similarity(sp.csr_matrix((5, 4), dtype=np.float32), neighbors=3)
    assert empty.shape == (4, 4)
    assert empty.nnz == 0
    x = _matrix(8)
    with pytest.raises(InputDataError, match="similarity must be one of"):
        item_similarity(x, similarity="pearson")
    with pytest.raises(InputDataError, match="neighbors must"):
        item_similarity(x, neighbors=0)
    with pytest.raises(InputDataError, match="shrink"):
        item_similarity(x, shrink=-1)
    with pytest.raises(InputDataError, match="asymmetry"):
        item_similarity(x, similarity="asymmetric_cosine", asymmetry=1.5)
    with pytest.raises(InputDataError, match="user_items must be a scipy sparse"):
        item_similarity(x.toarray())
    negative = x.copy()
    negative.data[0] = -1
    with pytest.raises(InputDataError, match="non-negative"):
        item_similarity(negative)
    with pytest.raises(InputDataError, match="csr must be"):
        prune_topk_rows(np.ones((2, 2)), 1)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    rows=st.integers(1, 6),
    cols=st.integers(1, 60),
    k=st.integers(1, 70),
    first_row=st.integers(0, 5),
)
def test_prune_topk_rows_matches_reference(seed, rows, cols, k, first_row):
    rng = np.random.default_rng(seed)
    dense = rng.integers(1, 4, size=(rows, cols)).astype(np.float32)  # many ties
    dense[rng.random((rows, cols)) < 0.3] = 0.0  # absent entries
    pruned = prune_topk_rows(sp.csr_matrix(dense), k, first_row=first_row)
    expected = reference_prune_rows(np.where(dense == 0, np.nan, dense), k, first_row)
    np.testing.assert_array_equal(pruned.toarray(), expected)
    _assert_sorted_rows(pruned)


def _assert_sorted_rows(csr: sp.csr_matrix) -> None:
    assert csr.has_sorted_indices
    for r in range(csr.shape[0]):
        assert np.all(np.diff(csr.indices[csr.indptr[r] : csr.indptr[r + 1]]) > 0)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    users=st.integers(1, 30),
    items=st.integers(1, 40),
    k=st.integers(1, 45),
    kind=st.sampled_from(["cosine", "asymmetric_cosine", "jaccard", "bm25"]),
    density=st.sampled_from([0.1, 0.3, 0.8]),
    num_threads=st.sampled_from([1, 2]),
)
def test_item_similarity_pruning_matches_reference(
    seed, users, items, k, kind, density, num_threads
):
    """The fused kernel keeps exactly the reference top-k of every row of the unpruned
    similarity (ties to the lower item index), in increasing item order."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(1, 4, size=(users, items)).astype(np.float32)  # many ties
    x = sp.csr_matrix(np.where(rng.random((users, items)) < density, weights, 0.0))
    options = {"similarity": kind, "shrink": 0.5, "asymmetry": 0.7, "num_threads": num_threads}
    full = item_similarity(x, neighbors=items, **options)  # every pair no user shares is absent
    entries = np.full((items, items), np.nan, dtype=np.float32)
    dense_full = full.toarray()
    stored = full.copy()
    stored.data[:] = 1
    entries[stored.toarray() != 0] = dense_full[stored.toarray() != 0]
    pruned = item_similarity(x, neighbors=k, **options)
    np.testing.assert_array_equal(pruned.toarray(), reference_prune_rows(entries, k))
    _assert_sorted_rows(pruned)
