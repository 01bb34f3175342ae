"""Numba scoring kernels: dense top-K over factor products or score blocks, sparse kNN top-K.

Every function returns ``(ids int32 [n, k], scores float32 [n, k])``, best first, ties
broken toward the lower item index, rows padded with ``-1`` / ``-inf`` when fewer than
``k`` items are eligible. Results do not depend on ``num_threads``.

>>> import numpy as np
>>> import recsys as rs
>>> ids, scores = rs.scoring.topk(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32), 1)
>>> ids.tolist()
[[0], [1]]
"""

from recsys.scoring.dense import select_topk, topk
from recsys.scoring.knn import knn_topk

__all__ = ["knn_topk", "select_topk", "topk"]
