"""EASE: the closed-form linear item-item autoencoder (Steck, WWW 2019)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from recsys._validation import InstanceOf, Interval
from recsys.data.interactions import Interactions
from recsys.exceptions import InputDataError
from recsys.models.base import Recommender
from recsys.models.ranker import Query
from recsys.models.schema import Array
from recsys.models.scores import Dense

__all__ = ["EASE", "ease_bytes"]

#: Peak bytes per (item, item) pair of the fit: the float64 Gram matrix, inverted in
#: place, plus the float32 weights built from it.
BYTES_PER_PAIR = 12
_ROW_BLOCK = 512  # items per block when building and symmetrising the dense matrices


def ease_bytes(n_items: int) -> int:
    """Peak memory of `EASE.fit` for a catalogue of ``n_items``: ``12 n_items²`` bytes.

    The float64 Gram matrix ``XᵀX + λI`` (inverted in place by a Cholesky factorisation,
    ``8 n²``) and the float32 weights ``B`` (``4 n²``); the interactions and one block of
    the sparse product come on top. The fitted model keeps ``B`` only (``4 n²``).

    Examples
    --------
    >>> ease_bytes(10_000) / 1e9
    1.2
    """
    return BYTES_PER_PAIR * int(n_items) ** 2


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder: ``score(u) = x_u B`` with a closed-form ``B``.

    ``B = I - P diag(1 / diag(P))`` with ``P = (XᵀX + l2 I)⁻¹``, so ``diag(B) = 0``
    (an item never explains itself); ``X`` is the users x items matrix (binary by
    default). Steck (2019), "Embarrassingly Shallow Autoencoders for Sparse Data".
    The fit is one ``n_items x n_items`` inversion (a Cholesky factorisation on one BLAS
    thread: the same weights at any thread count); scoring is a sparse-dense product
    in float32. Both hold dense ``n_items²`` matrices, so the catalogue is limited by
    ``max_items`` (see `ease_bytes`).

    Parameters
    ----------
    l2 : float
        Ridge penalty ``λ`` (> 0). Larger values shrink the weights toward
        popularity-like scores; choose it on a validation split (`recsys.tune`). Steck
        reports 200-1000 on MovieLens-20M and Netflix.
    binary : bool
        Fit on who bought what (``True``, as in the paper) or on the interaction weights.
    max_items : int
        Largest catalogue fitted: 18,000 items need about 3.9 GB at the peak of the fit
        (``12 n_items²`` bytes) and keep 1.3 GB (``4 n_items²``). Above it, `fit` raises
        `InputDataError` with the memory it would need.

    Examples
    --------
    >>> import recsys as rs
    >>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
    >>> model = rs.EASE(l2=200.0).fit(rs.Interactions.from_purchases(purchases.head(20_000)))
    >>> model.item_weights_.dtype.name, float(abs(model.item_weights_.diagonal()).max())
    ('float32', 0.0)
    >>> model.recommend(k=3).columns
    ['user_id', 'item_id', 'score', 'rank']
    """

    registry_name = "ease"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "l2": [Interval(float, 0, None, closed="neither")],
        "binary": [InstanceOf(bool)],
        "max_items": [Interval(int, 1, None)],
    }
    schema = (Array("item_weights", "float32", ("items", "items"), finite=True),)

    def __init__(self, l2: float = 500.0, binary: bool = True, max_items: int = 18_000) -> None:
        self.l2 = l2
        self.binary = binary
        self.max_items = max_items

    def _inputs(self) -> sp.csr_matrix:
        x = self.user_items_
        if self.binary:
            x = sp.csr_matrix(
                (np.ones(x.nnz, dtype=np.float64), x.indices, x.indptr), shape=x.shape
            )
        return sp.csr_matrix(x, dtype=np.float64)

    def _fit(self, interactions: Interactions) -> None:
        n = self.n_items
        if n > self.max_items:
            raise InputDataError(
                f"EASE holds dense n_items x n_items matrices: {n:,} items need about "
                f"{ease_bytes(n) / 1e9:.1f} GB to fit and {4 * n * n / 1e9:.1f} GB to keep, "
                f"above max_items={self.max_items:,} (about "
                f"{ease_bytes(self.max_items) / 1e9:.1f} GB); raise max_items if the "
                "machine has the memory, or fit on the most bought items only"
            )
        x = self._inputs()
        xt = sp.csc_matrix(x).T.tocsr()
        gram = np.empty((n, n), dtype=np.float64)
        for start in range(0, n, _ROW_BLOCK):  # one block of the sparse product at a time
            stop = min(n, start + _ROW_BLOCK)
            gram[start:stop] = (xt[start:stop] @ x).toarray()
        gram[np.diag_indices(n)] += float(self.l2)
        with threadpool_limits(limits=1, user_api="blas"):
            # gram is symmetric, so its transpose (a Fortran-ordered view of the same
            # buffer) is the same matrix: LAPACK then works in place, without a copy.
            factor, info = lapack.dpotrf(gram.T, lower=False, overwrite_a=True, clean=False)
            if info == 0:
                p, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
        if info != 0:  # XᵀX + λI with λ > 0 is positive definite: only overflow gets here
            raise InputDataError(
                f"EASE could not invert XᵀX + l2 I (LAPACK info {info}); the interaction "
                "weights may be too large: use binary=True or smaller weights"
            )
        weights = np.empty((n, n), dtype=np.float32)
        for start in range(0, n, _ROW_BLOCK):  # dpotri fills the upper triangle
            stop = min(n, start + _ROW_BLOCK)
            p[start:stop, :start] = p[:start, start:stop].T
            lower = np.tril_indices(stop - start, -1)
            block = p[start:stop, start:stop]
            block[lower] = block.T[lower]
        scale = -1.0 / np.diag(p)
        for start in range(0, n, _ROW_BLOCK):
            stop = min(n, start + _ROW_BLOCK)
            weights[start:stop] = p[start:stop] * scale[None, :]
        weights[np.diag_indices(n)] = 0.0
        self.item_weights_: np.ndarray = weights

    def _score(self, user_index: np.ndarray, query: Query | None) -> Dense:
        rows = self.user_items_[user_index]
        if self.binary:
            rows = sp.csr_matrix(
                (np.ones(rows.nnz, dtype=np.float32), rows.indices, rows.indptr), shape=rows.shape
            )
        return Dense(np.ascontiguousarray(rows @ self.item_weights_, dtype=np.float32))
