"""Scale-out on a Ray cluster: batch recommend, evaluate and profiles (extra ``recsys[ray]``).

Every function here runs the single-process recsys functions on shards of users
and gives exactly their result; none is a second implementation. Ray is
imported only when one of them is called, so ``import recsys`` works without
Ray installed. See the "Scaling out" page of the documentation.
"""

from recsys.distributed.evaluate import evaluate_batch
from recsys.distributed.profiles import build_profiles_batch, write_partitioned
from recsys.distributed.recommend import recommend_batch

__all__ = ["build_profiles_batch", "evaluate_batch", "recommend_batch", "write_partitioned"]
