"""The benchmarks' alternative strategies give the library's results (benchmarks/_alternatives.py).

The benchmark scripts print these alternatives next to the library functions; a ratio is
only meaningful if both compute the same thing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.scoring import item_similarity, topk
from tests.scoring.reference import reference_select
from tests.scoring.test_dense import _allowed
from tests.scoring.test_similarity import _matrix

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks._alternatives import (
    item_similarity_blocked,
    row_blocks,
    topk_blocked,
)


@pytest.mark.parametrize("use_candidates", [False, True])
def test_topk_blocked_equals_topk_and_reference_across_blocks(use_candidates):
    # only 3 distinct scores, so the tie rule decides; a 1 MB budget makes several blocks
    rng = np.random.default_rng(3)
    queries = np.ones((300, 1), dtype=np.float32)
    items = rng.integers(0, 3, size=(5000, 1)).astype(np.float32)
    mask = rng.random((300, 5000)) < 0.3
    cands = rng.choice(5000, 3000, replace=False) if use_candidates else None
    exclude = sp.csr_matrix(mask)
    blocked_ids, blocked_scores = topk_blocked(
        queries, items, 25, exclude=exclude, candidates=cands, memory_budget_mb=1
    )
    ref_ids, ref_scores = reference_select(queries @ items.T, 25, mask, _allowed(5000, cands))
    np.testing.assert_array_equal(blocked_ids, ref_ids)
    np.testing.assert_array_equal(blocked_scores, ref_scores)
    ids, _ = topk(queries, items, 25, exclude=exclude, candidates=cands)
    np.testing.assert_array_equal(blocked_ids, ids)


@pytest.mark.parametrize("kind", ["cosine", "asymmetric_cosine", "jaccard", "bm25"])
def test_item_similarity_blocked_equals_fused_kernel(kind):
    x = _matrix(4, n=60, m=25)
    fused = item_similarity(x, similarity=kind, neighbors=4, shrink=1.0, asymmetry=0.3)
    xd = sp.csr_matrix(x, dtype=np.float64)
    assert len(row_blocks(xd.T.tocsr(), xd, max_products=10)) > 5
    blocked = item_similarity_blocked(
        x, similarity=kind, neighbors=4, shrink=1.0, asymmetry=0.3, max_products=10
    )
    np.testing.assert_array_equal(fused.indptr, blocked.indptr)
    np.testing.assert_array_equal(fused.indices, blocked.indices)
    np.testing.assert_allclose(fused.data, blocked.data, rtol=1e-6)
