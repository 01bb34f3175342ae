"""Numba scoring kernels: dense top-K, sparse kNN top-K, and the item-item similarity.

The top-K functions return ``(ids int32 [n, k], scores float32 [n, k])``, best first,
ties broken toward the lower item index, rows padded with ``-1`` / ``-inf`` when fewer
than ``k`` items are eligible. ``item_similarity`` (and ``prune_topk_rows``) keep each
row's ``k`` largest entries with the same selection and tie rule, as a CSR matrix with
sorted indices. Results do not depend on ``num_threads``.

>>> import numpy as np
>>> import recsys as rs
>>> ids, scores = rs.scoring.topk(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32), 1)
>>> ids.tolist()
[[0], [1]]
"""

from recsys.scoring.dense import select_topk, topk
from recsys.scoring.knn import knn_topk
from recsys.scoring.similarity import bm25_weight, item_similarity, prune_topk_rows

__all__ = ["bm25_weight", "item_similarity", "knn_topk", "prune_topk_rows", "select_topk", "topk"]
