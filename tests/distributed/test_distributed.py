"""engine=rs.engine.Ray(...) on a real local Ray cluster: exactly the single-process results."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.distributed import _cluster
from recsys.exceptions import InputDataError, UnknownIdError
from recsys.scoring.dense import ROW_TILE
from tests.distributed.conftest import ray_engine


def test_import_recsys_does_not_import_ray() -> None:
    code = "import sys, recsys; recsys.engine.Ray(); print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_recommend_users_unknown_candidates_exclude(cluster: Any, als: rs.ALS) -> None:
    """Returned frame (no out=): the local frame, row for row, with every option."""
    users = [*als.users_.ids.head(300).to_list(), -1, *als.users_.ids.slice(900, 300).to_list()]
    candidates = als.items_.ids.head(1500).to_list()
    exclude = pl.DataFrame(
        {"user_id": users[:50], "item_id": als.items_.ids.gather([0] * 50).to_list()}
    )
    kw: dict[str, Any] = {
        "exclude_seen": False,
        "candidates": candidates,
        "on_unknown": "fallback",
        "exclude": exclude,
    }
    got = als.recommend(users, k=7, engine=ray_engine(batch_size=150), **kw)
    expected = als.recommend(users, k=7, **kw)
    assert isinstance(got, pl.DataFrame)
    assert got.schema == expected.schema
    assert got.equals(expected)


def test_recommend_item_shards_written_to_out(cluster: Any, als: rs.ALS, tmp_path: Path) -> None:
    # unknown users skipped, the catalogue in 3 item shards, the lists written as Parquet
    ids = [*als.users_.ids.to_list()[::2], -7, -8]
    engine = ray_engine(item_shards=3, batch_size=400, out=tmp_path / "recs")
    written = als.recommend(ids, k=10, on_unknown="skip", engine=engine)
    assert isinstance(written, pl.LazyFrame)
    files = sorted(p.name for p in (tmp_path / "recs").iterdir())
    assert files == [f"part-{b:06d}.parquet" for b in range(len(files))]
    assert written.collect().equals(als.recommend(ids, k=10, on_unknown="skip"))


def test_item_shards_with_candidates_and_fallback(cluster: Any, als: rs.ALS) -> None:
    users = [*als.users_.ids.head(200).to_list(), 123456789]
    candidates = als.items_.ids.gather(list(range(0, als.n_items, 3))).to_list()
    kw: dict[str, Any] = {"candidates": candidates, "on_unknown": "fallback"}
    got = als.recommend(users, k=5, engine=ray_engine(item_shards=2), **kw)
    assert got.equals(als.recommend(users, k=5, **kw))


@pytest.mark.parametrize("item_shards", [1, 2])
def test_worker_killed_mid_run(
    cluster: Any, als: rs.ALS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, item_shards: int
) -> None:
    """An actor dies (os._exit) at its second block: Ray restarts it and retries the block."""
    fault = tmp_path / "died"
    monkeypatch.setattr(_cluster, "FAULT_FILE", str(fault))
    # blocks are whole scoring tiles: four of them, so each of the two actors gets two
    users = als.users_.ids.head(4 * ROW_TILE).to_list()
    assert len(users) == 4 * ROW_TILE
    engine = ray_engine(item_shards=item_shards, batch_size=100, out=tmp_path / "recs")
    got = als.recommend(users, k=5, engine=engine).collect()
    assert fault.exists()  # a worker did die
    assert got.select("user_id", "rank").is_duplicated().sum() == 0
    assert got.equals(als.recommend(users, k=5))


def test_recommend_checks_before_starting(als: rs.ALS, tmp_path: Path) -> None:
    """Bad calls fail on this process, before Ray is even started."""
    with pytest.raises(UnknownIdError, match="-5"):
        als.recommend([-5], engine=ray_engine())
    with pytest.raises(UnknownIdError):
        als.recommend(candidates=["no such item"], engine=ray_engine())
    with pytest.raises(InputDataError, match="lacks column"):
        als.recommend(exclude=pl.DataFrame({"user_id": [1]}), engine=ray_engine())
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.parquet").write_bytes(b"")
    with pytest.raises(InputDataError, match="not an empty folder"):
        als.recommend(engine=ray_engine(out=tmp_path / "full"))
    purchases = pl.DataFrame(
        {"user_id": [1], "item_id": ["a"], "timestamp": [datetime(2024, 1, 1)]}
    )
    repurchase = rs.Repurchase().fit(rs.Interactions.from_purchases(purchases))
    with pytest.raises(InputDataError, match="item_shards > 1 supports"):
        repurchase.recommend(engine=ray_engine(item_shards=2))
    with pytest.raises(InputDataError, match="engine must be"):
        als.recommend(engine="ray")  # type: ignore[arg-type]


def test_evaluate_identical_table(cluster: Any, als: rs.ALS, split: rs.evaluation.Split) -> None:
    pop = rs.Popular().fit(rs.Interactions.from_purchases(split.train))
    with pytest.warns(rs.DataWarning, match="price 0"):
        profiles = rs.build_profiles(split.train, as_of="2011-04-01")
    kw: dict[str, Any] = {
        "k": [5, 10],
        "by": "lifecycle_stage",
        "segments": profiles,
        "bootstrap": 200,
        "seed": 3,
        "modes": ["all", "new", "repeat"],
        "show_progress": False,
    }
    expected = rs.evaluate({"als": als, "pop": pop}, split, **kw)
    got = rs.evaluate({"als": als, "pop": pop}, split, engine=ray_engine(partitions=5), **kw)
    assert got.table.equals(expected.table)
    assert np.array_equal(got.values, expected.values, equal_nan=True)


def test_evaluate_refuses_what_ray_cannot_do(als: rs.ALS, split: rs.evaluation.Split) -> None:
    sampled = rs.evaluation.SampledNegatives(n=10, seed=0)
    with pytest.raises(InputDataError, match="SampledNegatives"):
        rs.evaluate(als, split, protocol=sampled, show_progress=False, engine=ray_engine())
    with pytest.raises(InputDataError, match="without out="):
        rs.evaluate(als, split, show_progress=False, engine=ray_engine(out="x"))


def test_cli_engine_ray(cluster: Any, online_retail: pl.DataFrame, tmp_path: Path) -> None:
    from recsys.cli import main

    purchases = online_retail.filter(pl.col("timestamp") < pl.datetime(2011, 3, 1))
    purchases.write_parquet(tmp_path / "purchases.parquet")
    argv = ["recommend", str(tmp_path / "purchases.parquet"), "--model", "popular", "--k", "3"]
    assert main([*argv, "--engine", "ray", "--out", str(tmp_path / "recs")]) == 0
    assert main([*argv, "--out", str(tmp_path / "local.parquet")]) == 0
    local = pl.read_parquet(tmp_path / "local.parquet")
    assert pl.read_parquet(sorted((tmp_path / "recs").glob("*.parquet"))).equals(local)
