"""EASE against its closed form in plain numpy, and its memory limit."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

import recsys as rs
from recsys.exceptions import InputDataError
from recsys.models.ease import ease_bytes


def _interactions(dense: np.ndarray) -> rs.Interactions:
    users, items = np.nonzero(dense)
    frame = pl.DataFrame(
        {"user_id": users, "item_id": items, "weight": dense[users, items].astype(np.float64)}
    )
    return rs.Interactions.from_frame(frame, weight="weight")


def _closed_form(x: np.ndarray, l2: float) -> np.ndarray:
    p = np.linalg.inv(x.T @ x + l2 * np.eye(x.shape[1]))
    b = np.eye(x.shape[1]) - p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return b


@pytest.fixture(scope="module")
def dense() -> np.ndarray:
    rng = np.random.default_rng(0)
    x = (rng.random((60, 25)) < 0.2) * rng.integers(1, 4, (60, 25))
    x[:, :25][np.arange(25), np.arange(25)] = 1  # every item bought at least once
    return x.astype(np.float64)


@pytest.mark.parametrize("binary", [True, False])
def test_weights_equal_the_closed_form(dense: np.ndarray, binary: bool) -> None:
    inter = _interactions(dense)
    model = rs.EASE(l2=3.0, binary=binary).fit(inter)
    x = inter.matrix.toarray().astype(np.float64)
    x = (x > 0).astype(np.float64) if binary else x
    expected = _closed_form(x, 3.0)
    assert model.item_weights_.dtype == np.float32
    np.testing.assert_allclose(model.item_weights_, expected, rtol=1e-5, atol=1e-6)
    assert np.all(np.diag(model.item_weights_) == 0)
    # the columns solve the ridge problem: (XᵀX + λI) B_j = XᵀX_j off the diagonal
    scores = model.score_pairs(
        inter.users.to_ids(np.repeat(np.arange(60), 25)),
        inter.items.to_ids(np.tile(np.arange(25), 60)),
    )
    np.testing.assert_allclose(scores.reshape(60, 25), x @ expected, rtol=1e-4, atol=1e-5)


def test_recommendations_rank_by_x_b(dense: np.ndarray) -> None:
    inter = _interactions(dense)
    model = rs.EASE(l2=3.0).fit(inter)
    x = (inter.matrix.toarray() > 0).astype(np.float64)
    scores = x @ _closed_form(x, 3.0)
    scores[x > 0] = -np.inf
    ids, _ = model.recommend_index(np.arange(60), k=3)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :3]
    assert (ids == order).mean() > 0.95  # float32 vs float64: near-ties may swap


def test_larger_l2_shrinks_the_weights(dense: np.ndarray) -> None:
    inter = _interactions(dense)
    small = rs.EASE(l2=1.0).fit(inter).item_weights_
    large = rs.EASE(l2=1000.0).fit(inter).item_weights_
    assert np.abs(large).sum() < np.abs(small).sum()


def test_catalogue_above_max_items_says_how_much_memory(dense: np.ndarray) -> None:
    with pytest.raises(InputDataError, match=r"25 items need about 0\.0 GB.*max_items=24"):
        rs.EASE(max_items=24).fit(_interactions(dense))
    assert ease_bytes(18_000) == 12 * 18_000**2


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_l2_must_be_positive(dense: np.ndarray, bad: float) -> None:
    with pytest.raises(InputDataError, match="l2"):
        rs.EASE(l2=bad).fit(_interactions(dense))


def test_save_and_load(tmp_path, dense: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    model = rs.EASE(l2=3.0).fit(_interactions(dense))
    model.save(tmp_path / "ease.npz")
    loaded = rs.load_model(tmp_path / "ease.npz")
    assert isinstance(loaded, rs.EASE)
    assert np.array_equal(loaded.item_weights_, model.item_weights_)
    assert sp.issparse(loaded.user_items_)
