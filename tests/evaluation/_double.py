"""A small recommender used as a test double: it follows the recsys model protocol.

score(u, i) = personal * (times u bought i) + popularity(i) / n_users, ties toward
the lower item index. Real enough to give different results for different
parameters (for tuning tests), small enough to check by hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

import recsys as rs
from recsys.exceptions import NotFittedError, UnknownIdError


class CountRecommender:
    def __init__(self, personal: float = 1.0) -> None:
        self.personal = personal

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"personal": self.personal}

    def set_params(self, **params: Any) -> CountRecommender:
        self.personal = params.pop("personal", self.personal)
        assert not params, params
        return self

    def fit(self, interactions: rs.Interactions) -> CountRecommender:
        self.users_ = interactions.users
        self.items_ = interactions.items
        self.user_items_ = interactions.matrix.tocsr()
        counts = (self.user_items_ > 0).sum(axis=0).A1.astype(np.float64)
        self._popularity = counts / max(len(self.users_), 1)
        return self

    def _scores(self, rows: np.ndarray) -> np.ndarray:
        personal = self.user_items_[rows].toarray().astype(np.float64)
        return self.personal * personal + self._popularity[None, :]

    def recommend(
        self,
        users: Any = None,
        k: int = 10,
        *,
        exclude_seen: bool | None = True,
        candidates: Any = None,
        on_unknown: str = "raise",
    ) -> pl.DataFrame:
        if not hasattr(self, "users_"):
            raise NotFittedError("fit first")
        ids = self.users_.ids if users is None else pl.Series("user_id", users)
        index = self.users_.to_index(ids, on_unknown="minus_one")
        if (index < 0).any() and on_unknown == "raise":
            raise UnknownIdError("unknown users")
        known = index >= 0
        rows = index[known]
        user_ids = ids.filter(pl.Series(known))
        scores = self._scores(rows)
        if exclude_seen or exclude_seen is None:
            scores[self.user_items_[rows].toarray() > 0] = -np.inf
        if candidates is not None:
            allowed = np.zeros(scores.shape[1], dtype=bool)
            allowed[self.items_.to_index(candidates)] = True  # unknown ids raise, like recsys
            scores[:, ~allowed] = -np.inf
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        top = np.take_along_axis(scores, order, axis=1)
        valid = np.isfinite(top)
        u = np.repeat(np.arange(len(rows)), order.shape[1])[valid.ravel()]
        items = order.ravel()[valid.ravel()]
        rank = np.tile(np.arange(1, order.shape[1] + 1), len(rows))[valid.ravel()]
        return pl.DataFrame(
            {
                "user_id": user_ids.gather(u),
                "item_id": pl.Series(self.items_.to_ids(items))
                if items.size
                else self.items_.ids.head(0),
                "score": top.ravel()[valid.ravel()].astype(np.float32),
                "rank": rank.astype(np.int64),
            }
        )


class FixedRecommender:
    """Returns a given recommendations frame (filtered to the requested users)."""

    def __init__(self, recommendations: pl.DataFrame) -> None:
        self.recommendations = recommendations

    def fit(self, interactions: Any) -> FixedRecommender:
        return self

    def recommend(
        self,
        users: Any = None,
        k: int = 10,
        *,
        exclude_seen: bool | None = True,
        candidates: Any = None,
        on_unknown: str = "raise",
    ) -> pl.DataFrame:
        frame = self.recommendations.filter(pl.col("rank") <= k)
        if users is not None:
            frame = frame.join(
                pl.DataFrame({"user_id": pl.Series(users)}), on="user_id", how="semi"
            )
        return frame
