"""The Ray engine's implementation (extra ``recsys[ray]``), and data layout for it.

``engine=rs.engine.Ray(...)`` on `recsys.Recommender.recommend`, `recsys.evaluate`
and `recsys.build_profiles` runs the single-process recsys functions here, on
shards of users, and gives exactly their result; nothing here is a second
implementation or a second signature. Ray is imported only when a job runs on it,
so ``import recsys`` works without Ray installed. See the "Scaling out" page.

`write_partitioned` lays purchases out as the per-customer Parquet files that
``rs.build_profiles(folder, engine=rs.engine.Ray(...))`` reads shard by shard.

Each job's module is imported on first use (PEP 562): a Ray worker that only
recommends never loads the profiles' modules (scipy.stats and the rest), whose
pages would count in every worker's memory.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recsys.distributed.profiles import write_partitioned

__all__ = ["write_partitioned"]


def __getattr__(name: str) -> Any:
    if name == "write_partitioned":
        value = importlib.import_module("recsys.distributed.profiles").write_partitioned
        globals()[name] = value
        return value
    raise AttributeError(f"module 'recsys.distributed' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
