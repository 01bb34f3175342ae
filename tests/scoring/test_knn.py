"""knn_topk against a dense numpy reference, reachability rule, edge cases, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.exceptions import InputDataError
from recsys.scoring import knn_topk
from tests.scoring.reference import reference_select


def _random_sparse(rng: np.random.Generator, shape: tuple[int, int], density: float, low: int):
    values = rng.integers(low, 4, size=shape).astype(np.float32)
    values[values == 0] = 1.0  # stored entries are non-zero (explicit zeros tested apart)
    mask = rng.random(shape) < density
    return sp.csr_matrix(np.where(mask, values, 0.0).astype(np.float32)), mask


def _reference(ui, ui_mask, sim, sim_mask, k, excluded=None, allowed=None):
    scores = (ui.toarray().astype(np.float64) @ sim.toarray().astype(np.float64)).astype(np.float32)
    reached = (ui_mask.astype(np.int64) @ sim_mask.astype(np.int64)) > 0
    scores[~reached] = np.nan  # never reached -> ineligible
    return reference_select(scores, k, excluded, allowed)


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(0, 8),
    m=st.integers(1, 30),
    k=st.integers(1, 35),
    density=st.sampled_from([0.05, 0.2, 0.5]),
    exclude_seen=st.booleans(),
    n_cands=st.one_of(st.none(), st.integers(0, 30)),
)
def test_knn_topk_matches_reference(seed, n, m, k, density, exclude_seen, n_cands):
    rng = np.random.default_rng(seed)
    ui, ui_mask = _random_sparse(rng, (n, m), density, 1)
    sim, sim_mask = _random_sparse(rng, (m, m), density, -3)  # negative similarities too
    cands = None if n_cands is None else rng.choice(m, size=min(n_cands, m))
    allowed = None
    if cands is not None:
        allowed = np.zeros(m, dtype=bool)
        allowed[cands] = True
    exclude = ui if exclude_seen else None
    ids, scores = knn_topk(ui, sim, k, exclude=exclude, candidates=cands)
    ref_ids, ref_scores = _reference(
        ui, ui_mask, sim, sim_mask, k, ui_mask if exclude_seen else None, allowed
    )
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_array_equal(scores, ref_scores)


def test_reached_item_with_zero_score_is_eligible_unreached_is_not():
    history = sp.csr_matrix(np.array([[1.0, 1.0, 0.0, 0.0]], dtype=np.float32))
    # item 2 is reached from item 0 (+1) and item 1 (-1): score 0 but eligible;
    # item 3 is never reached
    sim = sp.csr_matrix(
        np.array([[0, 0.5, 1, 0], [0.5, 0, -1, 0], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32)
    )
    ids, scores = knn_topk(history, sim, 4, exclude=history)
    assert ids.tolist() == [[2, -1, -1, -1]]
    assert scores[0, 0] == 0.0
    ids, scores = knn_topk(history, sim, 4)
    assert ids.tolist() == [[0, 1, 2, -1]]  # seen items score 0.5 each, tie -> lower index
    assert scores[0].tolist()[:3] == [0.5, 0.5, 0.0]


def test_knn_thread_determinism():
    ui = sp.random(400, 600, density=0.02, format="csr", random_state=2, dtype=np.float32)
    sim = sp.random(600, 600, density=0.05, format="csr", random_state=3, dtype=np.float32)
    one = knn_topk(ui, sim, 10, exclude=ui, num_threads=1)
    two = knn_topk(ui, sim, 10, exclude=ui, num_threads=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_knn_empty_users():
    sim = sp.identity(3, format="csr", dtype=np.float32)
    ids, scores = knn_topk(sp.csr_matrix((0, 3), dtype=np.float32), sim, 2)
    assert ids.shape == scores.shape == (0, 2)
    ids, _ = knn_topk(sp.csr_matrix((2, 3), dtype=np.float32), sim, 2)
    assert (ids == -1).all()  # users without history reach nothing


def test_knn_bad_inputs():
    ui = sp.csr_matrix(np.ones((2, 3), dtype=np.float32))
    sim = sp.identity(3, format="csr", dtype=np.float32)
    with pytest.raises(InputDataError, match="one row per column of user_items"):
        knn_topk(ui, sp.identity(4, format="csr"), 2)
    with pytest.raises(InputDataError, match="user_items must be a scipy sparse"):
        knn_topk(np.ones((2, 3)), sim, 2)
    with pytest.raises(InputDataError, match="k must"):
        knn_topk(ui, sim, 0)
    with pytest.raises(InputDataError, match="candidates"):
        knn_topk(ui, sim, 2, candidates=[5])
    with pytest.raises(InputDataError, match="exclude must have shape"):
        knn_topk(ui, sim, 2, exclude=sp.csr_matrix((3, 3)))


def test_knn_rectangular_product_with_duplicates():
    """Any (n, r) @ (r, m) product: duplicates summed, unreached items never listed."""
    rng = np.random.default_rng(4)
    ui = sp.random(6, 4, density=0.5, random_state=1, format="csr", dtype=np.float32)
    rows = rng.integers(0, 4, 30)
    cols = rng.integers(0, 9, 30)
    vals = rng.random(30).astype(np.float32)
    order = np.argsort(rows, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=4))]
    sim = sp.csr_matrix((vals[order], cols[order], indptr), shape=(4, 9))  # with duplicates
    dense = ui.toarray().astype(np.float64) @ sp.coo_matrix((vals, (rows, cols)), (4, 9)).toarray()
    reached = (ui.toarray() > 0).astype(int) @ (
        sp.coo_matrix((np.ones(30), (rows, cols)), (4, 9)).toarray() > 0
    ).astype(int)
    expected = np.where(reached > 0, dense, -np.inf).astype(np.float32)
    ids, scores = knn_topk(ui, sim, 4)
    for r in range(6):
        valid = ids[r] >= 0
        assert valid.sum() == min(4, int((reached[r] > 0).sum()))
        order_r = sorted(np.flatnonzero(reached[r] > 0), key=lambda j: (-expected[r, j], j))
        assert ids[r, valid].tolist() == order_r[: valid.sum()]
        np.testing.assert_allclose(scores[r, valid], expected[r, ids[r, valid]], rtol=1e-5)
