"""The engine objects, and a library engine that never joins a stale cluster."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import recsys as rs
from recsys.exceptions import InputDataError
from tests.distributed.conftest import import_ray, ray_processes

STALE = """
import polars as pl, recsys as rs
p = pl.DataFrame({"user_id": [1, 1, 2, 3], "item_id": ["a", "b", "a", "c"]})
model = rs.Popular().fit(rs.Interactions.from_frame(p))
got = model.recommend(k=2, engine=rs.engine.Ray(workers=1))
assert got.equals(model.recommend(k=2)), got
print("ok")
"""


def test_engines_are_frozen_and_checked() -> None:
    engine = rs.engine.Ray(address="auto", workers=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        engine.workers = 4  # type: ignore[misc]
    assert rs.engine.Local() == rs.engine.Local()
    assert dataclasses.replace(engine, workers=4).workers == 4
    for bad in ({"workers": 0}, {"batch_size": -1}, {"threads_per_worker": 1.5}):
        with pytest.raises(InputDataError, match=next(iter(bad))):
            rs.engine.Ray(**bad)  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="address"):
        rs.engine.Ray(address=6379)  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="out"):
        rs.engine.Ray(out=3)  # type: ignore[arg-type]


def test_no_address_starts_a_fresh_cluster_despite_a_stale_one(
    worker_env: None, no_ray_left_behind: Path, tmp_path: Path
) -> None:
    """A ``ray_current_cluster`` file naming a cluster that is gone (what an interrupted
    ``ray start`` leaves) must not make ``Ray()`` hang: it starts its own local cluster."""
    import_ray()
    folder = no_ray_left_behind / "stale"
    (folder / "ray").mkdir(parents=True)
    stale = folder / "ray" / "ray_current_cluster"
    stale.write_text("127.0.0.1:9")  # nothing listens there
    try:
        env = {**os.environ, "RAY_TMPDIR": str(folder)}
        done = subprocess.run(
            [sys.executable, "-c", STALE],
            capture_output=True,
            text=True,
            timeout=240,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip().endswith("ok")
        assert stale.read_text() == "127.0.0.1:9"  # ray.init(address="local") never used it
        assert not ray_processes(folder)  # the driver's exit stopped its cluster
    finally:
        stale.unlink()


@pytest.mark.parametrize("name", ["als", "popular", "repurchase", "itemknn"])
def test_a_block_model_recommends_as_the_whole_model(
    name: str, als: rs.ALS, split: rs.evaluation.Split
) -> None:
    """Item-side arrays plus one block's users' arrays: a model of those users whose lists
    are the whole model's, bit for bit (what each Ray worker rebuilds per block)."""
    from recsys.distributed._cluster import model_arrays, per_user_keys, user_arrays
    from recsys.models.persistence import model_from_arrays

    inter = rs.Interactions.from_purchases(split.train)
    models = {"popular": rs.Popular, "repurchase": rs.Repurchase, "itemknn": rs.ItemKNN}
    model = als if name == "als" else models[name]().fit(inter)
    meta, arrays = model_arrays(model, "recommend")
    keys = per_user_keys(model, arrays)
    assert {"users", "user_items.indptr"} <= keys
    if name == "als":
        assert "model.user_factors" in keys
        assert "model.item_factors" not in keys
    query = model.users_.ids.gather([700, 3, 3, 511, 40]).to_list()
    index = np.unique(model.users_.to_index(query))
    item_side = {key: value for key, value in arrays.items() if key not in keys}
    block = model_from_arrays(meta, {**item_side, **user_arrays(model, index, keys)})
    assert block.n_users == 4
    assert block.recommend(query, k=8).equals(model.recommend(query, k=8))


WORKER_IMPORTS = """
import sys
before = set(sys.modules)
import numpy as np, polars as pl
from recsys.models import ALS
from recsys.data.idmap import IdMap
import scipy.sparse as sp
model = ALS(factors=2)
model.users_, model.items_ = IdMap(np.arange(3)), IdMap(np.arange(4))
model.user_items_ = sp.csr_matrix(np.eye(3, 4, dtype=np.float32))
model.item_popularity_ = np.ones(4, np.float32)
model.reference_time_ = None
model.user_factors_ = np.ones((3, 2), np.float32)
model.item_factors_ = np.ones((4, 2), np.float32)
from recsys.distributed._cluster import model_arrays
meta, arrays = model_arrays(model, "recommend")
import recsys.distributed.recommend
from recsys.models.persistence import model_from_arrays
model_from_arrays(meta, arrays).recommend([0], k=2)
new = set(sys.modules) - before
print(sorted(m for m in new if m.startswith(("scipy.stats", "recsys.profiles"))))
"""


def test_a_recommend_worker_loads_no_customer_models_or_scipy_stats() -> None:
    """What a Ray worker of `recommend` imports: its module and a recommender rebuilt from
    arrays, not the customer models or scipy.stats (about 100 MB of every worker's RSS)."""
    out = subprocess.run(
        [sys.executable, "-c", WORKER_IMPORTS],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(rs.__file__).resolve().parents[1])},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "[]"


def test_default_blocks_hold_at_most_block_bytes_of_users(als: rs.ALS) -> None:
    """A block's users' arrays (factors, ids, seen-items rows) and lists stay under
    BLOCK_BYTES by default, on the kernel's tile; an explicit batch_size is kept."""
    from recsys.distributed._cluster import model_arrays, per_user_keys
    from recsys.distributed.recommend import BLOCK_BYTES, ENTRY_BYTES, _block_size, _user_bytes
    from recsys.scoring.dense import ROW_TILE

    _, arrays = model_arrays(als, "recommend")
    n, f = als.user_factors_.shape
    by_hand = f * 4 + 8 + (als.user_items_.nnz * 8 + (n + 1) * 4) / n + 10 * ENTRY_BYTES
    per_user = _user_bytes(arrays, per_user_keys(als, arrays), 10)
    assert by_hand <= per_user < by_hand + 1
    for users in (1_000, 200_000, 2_000_000, 50_000_000):
        size = _block_size(users, 2, None, 50 * per_user)
        assert size % ROW_TILE == 0
        assert size == ROW_TILE or size * 50 * per_user <= BLOCK_BYTES
        # halved no further than the budget needs
        assert size * 2 * 50 * per_user > BLOCK_BYTES or size >= -(-users // 8)
    assert _block_size(2_000_000, 2, 65_536, 10**6) == 65_536
