"""Recommenders: matrix factorization (ALS, BPR), EASE, ItemKNN, baselines and blends.

Every model follows the same contract (`Recommender`): ``fit(interactions)``
returns the model; ``recommend(users, k)`` returns a frame ``user_id, item_id,
score, rank``; ``save(path)`` / `load_model` persist it without pickle.

Examples
--------
>>> import recsys as rs
>>> purchases, _ = rs.clean_purchases(rs.datasets.online_retail(), preset="online_retail")
>>> inter = rs.Interactions.from_purchases(purchases.head(20_000))
>>> rs.Popular().fit(inter).recommend(k=3).columns
['user_id', 'item_id', 'score', 'rank']
"""

from recsys.models import registry
from recsys.models.base import Recommender
from recsys.models.baselines import Popular, Repurchase
from recsys.models.blend import Blend
from recsys.models.buyagain import BuyAgain
from recsys.models.ease import EASE
from recsys.models.knn import ItemKNN
from recsys.models.mf import ALS, BPR, MatrixFactorization
from recsys.models.persistence import from_config, load_model, to_config
from recsys.models.repeat_explore import RepeatExplore

__all__ = [
    "ALS",
    "BPR",
    "EASE",
    "Blend",
    "BuyAgain",
    "ItemKNN",
    "MatrixFactorization",
    "Popular",
    "Recommender",
    "RepeatExplore",
    "Repurchase",
    "from_config",
    "load_model",
    "registry",
    "to_config",
]
