"""recsys.distributed on a real local Ray cluster: exactly the single-process results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError, UnknownIdError
from tests.distributed.conftest import read_recs


def test_import_recsys_does_not_import_ray() -> None:
    code = "import sys, recsys; recsys.distributed.recommend_batch; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_recommend_batch_users_unknown_candidates(
    cluster: Any, als: rs.ALS, model_path: Path, tmp_path: Path
) -> None:
    users = [*als.users_.ids.head(300).to_list(), -1, *als.users_.ids.slice(900, 300).to_list()]
    candidates = als.items_.ids.head(1500).to_list()
    kw: dict[str, Any] = {"exclude_seen": False, "candidates": candidates, "on_unknown": "fallback"}
    info = rs.distributed.recommend_batch(
        model_path, users, k=7, out=tmp_path / "recs", num_workers=2, batch_size=150, **kw
    )
    expected = als.recommend(users, k=7, **kw)
    got = read_recs(tmp_path / "recs")
    assert got.schema == expected.schema
    assert got.equals(expected.sort("user_id", "rank"))
    assert info["rows"] == expected.height
    assert info["users"] == len(users)


def test_recommend_batch_item_shards_all_users_parquet_input(
    cluster: Any, als: rs.ALS, model_path: Path, tmp_path: Path
) -> None:
    # users from a Parquet dataset, unknown ones skipped, the catalogue in 3 item shards
    ids = [*als.users_.ids.to_list()[::2], -7, -8]
    pl.DataFrame({"user_id": ids}).write_parquet(tmp_path / "users.parquet")
    rs.distributed.recommend_batch(
        model_path,
        tmp_path / "users.parquet",
        k=10,
        out=tmp_path / "recs",
        num_workers=2,
        item_shards=3,
        on_unknown="skip",
        batch_size=400,
    )
    expected = als.recommend(ids, k=10, on_unknown="skip").sort("user_id", "rank")
    assert read_recs(tmp_path / "recs").equals(expected)


def test_item_shards_with_candidates_and_fallback(
    cluster: Any, als: rs.ALS, model_path: Path, tmp_path: Path
) -> None:
    users = [*als.users_.ids.head(200).to_list(), 123456789]
    candidates = als.items_.ids.gather(list(range(0, als.n_items, 3))).to_list()
    kw: dict[str, Any] = {"candidates": candidates, "on_unknown": "fallback"}
    rs.distributed.recommend_batch(
        model_path, users, k=5, out=tmp_path / "recs", num_workers=2, item_shards=2, **kw
    )
    expected = als.recommend(users, k=5, **kw).sort("user_id", "rank")
    assert read_recs(tmp_path / "recs").equals(expected)


@pytest.mark.parametrize("item_shards", [1, 2])
def test_worker_killed_mid_run(
    cluster: Any, als: rs.ALS, model_path: Path, tmp_path: Path, item_shards: int
) -> None:
    """An actor dies (os._exit) at its second batch: Ray restarts it and retries the batch."""
    fault = tmp_path / "died"
    users = als.users_.ids.head(800).to_list()
    rs.distributed.recommend_batch(
        model_path,
        users,
        k=5,
        out=tmp_path / "recs",
        num_workers=2,
        item_shards=item_shards,
        batch_size=100,
        _fault_file=str(fault),
    )
    assert fault.exists()  # a worker did die
    got = read_recs(tmp_path / "recs")
    assert got.select("user_id", "rank").is_duplicated().sum() == 0
    assert got.equals(als.recommend(users, k=5).sort("user_id", "rank"))


def test_recommend_batch_checks_before_starting(model_path: Path, tmp_path: Path) -> None:
    with pytest.raises(UnknownIdError, match="-5"):
        rs.distributed.recommend_batch(model_path, [-5], out=tmp_path / "a")
    with pytest.raises(UnknownIdError):
        rs.distributed.recommend_batch(model_path, candidates=["no such item"], out=tmp_path / "b")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.parquet").write_bytes(b"")
    with pytest.raises(InputDataError, match="not an empty folder"):
        rs.distributed.recommend_batch(model_path, out=tmp_path / "full")
    with pytest.raises(InputDataError, match="out= is required"):
        rs.distributed.recommend_batch(model_path)


def test_evaluate_batch_identical_table(
    cluster: Any, als: rs.ALS, model_path: Path, split: rs.evaluation.Split
) -> None:
    pop = rs.Popular().fit(rs.Interactions.from_purchases(split.train))
    with pytest.warns(rs.DataWarning, match="price 0"):
        profiles = rs.build_profiles(split.train, as_of="2011-04-01")
    kw: dict[str, Any] = {
        "k": [5, 10],
        "by": "lifecycle_stage",
        "segments": profiles,
        "bootstrap": 200,
        "seed": 3,
    }
    expected = rs.evaluate({"als": als, "pop": pop}, split, show_progress=False, **kw)
    got = rs.distributed.evaluate_batch({"als": model_path, "pop": pop}, split, num_workers=2, **kw)
    assert got.table.equals(expected.table)


def test_cli_engine_ray(cluster: Any, online_retail: pl.DataFrame, tmp_path: Path) -> None:
    from recsys.cli import main

    purchases = online_retail.filter(pl.col("timestamp") < pl.datetime(2011, 3, 1))
    purchases.write_parquet(tmp_path / "purchases.parquet")
    argv = ["recommend", str(tmp_path / "purchases.parquet"), "--model", "popular", "--k", "3"]
    assert main([*argv, "--engine", "ray", "--out", str(tmp_path / "recs")]) == 0
    assert main([*argv, "--out", str(tmp_path / "local.parquet")]) == 0
    local = pl.read_parquet(tmp_path / "local.parquet").sort("user_id", "rank")
    assert read_recs(tmp_path / "recs").equals(local)
