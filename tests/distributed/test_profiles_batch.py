"""build_profiles_batch on a real local Ray cluster: exactly build_profiles' rows."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import recsys as rs
from recsys.exceptions import InputDataError

AS_OF = "2011-09-09"


def _messages(record: list[warnings.WarningMessage]) -> list[str]:
    return sorted(str(w.message) for w in record if issubclass(w.category, rs.DataWarning))


def _both(
    purchases: Any,
    reference: pl.DataFrame,
    out: Path,
    batch: dict[str, Any] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """build_profiles_batch and build_profiles: same rows (exactly), same warnings."""
    with warnings.catch_warnings(record=True) as batch_warnings:
        warnings.simplefilter("always")
        info = rs.distributed.build_profiles_batch(
            purchases, out=out, num_workers=2, show_progress=False, **(batch or {}), **kw
        )
    with warnings.catch_warnings(record=True) as local_warnings:
        warnings.simplefilter("always")
        expected = rs.build_profiles(reference, **kw)
    got = pl.read_parquet(out).sort("user_id")
    assert_frame_equal(got, expected, check_exact=True)
    assert _messages(batch_warnings) == _messages(local_warnings)
    assert info["customers"] == expected.height
    return info


@pytest.fixture(scope="module")
def dataset(online_retail: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cleaned Online Retail purchases as 4 user-hash partitions plus an empty file."""
    folder = tmp_path_factory.mktemp("purchases") / "by_user"
    files = rs.distributed.write_partitioned(online_retail, folder, partitions=4)
    assert len(files) == 4
    online_retail.head(0).write_parquet(folder / "part-empty.parquet")  # a shard of 0 users
    per_file = [pl.read_parquet(f).get_column("user_id").unique() for f in files]
    assert sum(len(u) for u in per_file) == online_retail["user_id"].n_unique()
    return folder


def test_dataset_default_as_of(
    cluster: Any, dataset: Path, online_retail: pl.DataFrame, tmp_path: Path
) -> None:
    info = _both(dataset, online_retail, tmp_path / "profiles")
    assert info["files"] == 5
    sent = info["driver_bytes"]
    assert set(sent) == {"customers", "cutoff", "gaps"}
    assert 40 * info["customers"] < sent["customers"] < 80 * info["customers"]


def test_frame_items_churn_clv_explicit_as_of(
    cluster: Any, online_retail: pl.DataFrame, tmp_path: Path
) -> None:
    items = (
        online_retail.select("item_id")
        .unique()
        .with_columns(pl.col("item_id").str.slice(0, 2).alias("category"))
    )
    config = rs.profiles.ProfileConfig(clv_horizon_days=180, churn=True)
    info = _both(
        online_retail, online_retail, tmp_path / "p", as_of=AS_OF, items=items, config=config
    )
    assert info["files"] == 8  # 4 shards per worker


def test_shards_without_customers(
    cluster: Any, online_retail: pl.DataFrame, tmp_path: Path
) -> None:
    """7 customers in 5 shards: some shards are empty, one customer buys after as_of only."""
    first = online_retail.group_by("user_id").agg(pl.col("timestamp").min()).sort("user_id")
    late = first.filter(pl.col("timestamp") > pl.datetime(2011, 6, 1))["user_id"][0]
    users = [*first["user_id"].head(6).to_list(), late]
    few = online_retail.filter(pl.col("user_id").is_in(users))
    buckets = few.select(pl.col("user_id").hash(seed=0) % 5).to_series().unique()
    assert len(buckets) < 5  # at least one shard without customers
    _both(few, few, tmp_path / "p", as_of="2011-06-01", batch={"partitions": 5})


def test_worker_killed_mid_run(
    cluster: Any, dataset: Path, online_retail: pl.DataFrame, tmp_path: Path
) -> None:
    """A worker dies (os._exit) in its first summary task: Ray retries the task."""
    fault = tmp_path / "died"
    _both(dataset, online_retail, tmp_path / "p", as_of=AS_OF, batch={"_fault_file": str(fault)})
    assert fault.exists()


def test_checks(cluster: Any, online_retail: pl.DataFrame, tmp_path: Path) -> None:
    folder = tmp_path / "overlap"
    folder.mkdir()
    online_retail.head(1000).write_parquet(folder / "a.parquet")
    online_retail.slice(500, 1000).write_parquet(folder / "b.parquet")  # users in both
    with pytest.raises(InputDataError, match="several shards"):
        rs.distributed.build_profiles_batch(folder, out=tmp_path / "o1", show_progress=False)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    online_retail.head(10).write_parquet(mixed / "a.parquet")
    online_retail.slice(10, 10).drop("price").write_parquet(mixed / "b.parquet")
    with pytest.raises(InputDataError, match="different schemas"):
        rs.distributed.build_profiles_batch(mixed, out=tmp_path / "o2", show_progress=False)
    with pytest.raises(InputDataError, match="not after the first purchase"):
        rs.distributed.build_profiles_batch(
            online_retail, as_of="2001-01-01", out=tmp_path / "o3", show_progress=False
        )
    with pytest.raises(InputDataError, match="out= is required"):
        rs.distributed.build_profiles_batch(online_retail)


def test_cli_profile_engine_ray(cluster: Any, online_retail: pl.DataFrame, tmp_path: Path) -> None:
    from recsys.cli import main

    purchases = online_retail.filter(pl.col("timestamp") < pl.datetime(2011, 5, 1))
    purchases.write_parquet(tmp_path / "purchases.parquet")
    argv = ["profile", str(tmp_path / "purchases.parquet"), "--as-of", "2011-04-01"]
    assert main([*argv, "--engine", "ray", "--out", str(tmp_path / "profiles")]) == 0
    assert main([*argv, "--out", str(tmp_path / "local.parquet")]) == 0
    local = pl.read_parquet(tmp_path / "local.parquet")
    assert_frame_equal(
        pl.read_parquet(tmp_path / "profiles").sort("user_id"), local, check_exact=True
    )
    assert main([*argv, "--engine", "ray", "--out", str(tmp_path / "x.parquet")]) != 0
