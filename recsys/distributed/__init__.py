"""The Ray engine's implementation (extra ``recsys[ray]``), and data layout for it.

``engine=rs.engine.Ray(...)`` on `recsys.Recommender.recommend`, `recsys.evaluate`
and `recsys.build_profiles` runs the single-process recsys functions here, on
shards of users, and gives exactly their result; nothing here is a second
implementation or a second signature. Ray is imported only when a job runs on it,
so ``import recsys`` works without Ray installed. See the "Scaling out" page.

`write_partitioned` lays purchases out as the per-customer Parquet files that
``rs.build_profiles(folder, engine=rs.engine.Ray(...))`` reads shard by shard.
"""

from recsys.distributed.profiles import write_partitioned

__all__ = ["write_partitioned"]
