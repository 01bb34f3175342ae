"""Where work runs: ``engine=`` on `recsys.Recommender.recommend`, `recsys.evaluate` and
`recsys.build_profiles`.

One signature per job: the same call runs in this process (`Local`, the default) or
on a Ray cluster (`Ray`), with the same result. See the "Scaling out" page.

>>> import recsys as rs
>>> rs.engine.Ray(workers=4, out="recs/")  # doctest: +NORMALIZE_WHITESPACE
Ray(address=None, workers=4, out='recs/', threads_per_worker=1, item_shards=1,
    batch_size=None, partitions=None)
"""

from recsys.engine.engines import Engine, Local, Ray, ray_job

__all__ = ["Engine", "Local", "Ray", "ray_job"]
