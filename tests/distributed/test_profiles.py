"""build_profiles(engine=rs.engine.Ray(...)) on a real local Ray cluster: exactly the local rows."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import recsys as rs
from recsys.distributed import _cluster
from recsys.exceptions import InputDataError
from tests.distributed.conftest import ray_engine

AS_OF = "2011-09-09"


def _messages(record: list[warnings.WarningMessage]) -> list[str]:
    return sorted(str(w.message) for w in record if issubclass(w.category, rs.DataWarning))


def _both(
    purchases: Any,
    reference: pl.DataFrame,
    out: Path | None,
    engine: dict[str, Any] | None = None,
    **kw: Any,
) -> pl.DataFrame | pl.LazyFrame:
    """build_profiles on Ray and locally: same rows (exactly), same warnings."""
    with warnings.catch_warnings(record=True) as ray_warnings:
        warnings.simplefilter("always")
        got = rs.build_profiles(purchases, engine=ray_engine(out=out, **(engine or {})), **kw)
    with warnings.catch_warnings(record=True) as local_warnings:
        warnings.simplefilter("always")
        expected = rs.build_profiles(reference, **kw)
    rows = got.collect().sort("user_id") if isinstance(got, pl.LazyFrame) else got
    assert_frame_equal(rows, expected, check_exact=True)
    assert _messages(ray_warnings) == _messages(local_warnings)
    return got


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
    cluster: Any,
    dataset: Path,
    online_retail: pl.DataFrame,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="recsys.distributed"):
        got = _both(dataset, online_retail, tmp_path / "profiles")
    assert isinstance(got, pl.LazyFrame)
    assert len(list((tmp_path / "profiles").iterdir())) == 5  # one file per shard
    # what the driver gathered: a few numbers per customer (40 to 80 bytes)
    record = next(r for r in caplog.records if "driver gathered" in r.getMessage())
    sent = record.args[1]  # type: ignore[index]
    assert set(sent) == {"customers", "cutoff", "gaps"}
    customers = got.select(pl.len()).collect().item()
    assert 40 * customers < sent["customers"] < 80 * customers


def test_frame_items_churn_clv_explicit_as_of(
    cluster: Any, online_retail: pl.DataFrame, tmp_path: Path
) -> None:
    items = (
        online_retail.select("item_id")
        .unique()
        .with_columns(pl.col("item_id").str.slice(0, 2).alias("category"))
    )
    config = rs.profiles.ProfileConfig(clv_horizon_days=180, churn=True)
    got = _both(online_retail, online_retail, None, as_of=AS_OF, items=items, config=config)
    assert isinstance(got, pl.DataFrame)  # no out=: the rows come back as a frame
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rs.DataWarning)  # compared above
        rows, stats = rs.build_profiles(
            online_retail, AS_OF, items, config, return_models=True, engine=ray_engine()
        )
        local_rows, local_stats = rs.build_profiles(
            online_retail, AS_OF, items, config, return_models=True
        )
    assert_frame_equal(rows, local_rows, check_exact=True)
    assert stats.lifecycle == local_stats.lifecycle
    assert stats.scores == local_stats.scores


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
    _both(few, few, tmp_path / "p", as_of="2011-06-01", engine={"partitions": 5})
    assert len(list((tmp_path / "p").iterdir())) == 5


def test_worker_killed_mid_run(
    cluster: Any,
    dataset: Path,
    online_retail: pl.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker dies (os._exit) in its first summary task: Ray retries the task."""
    fault = tmp_path / "died"
    monkeypatch.setattr(_cluster, "FAULT_FILE", str(fault))
    _both(dataset, online_retail, tmp_path / "p", as_of=AS_OF)
    assert fault.exists()


def test_checks(cluster: Any, online_retail: pl.DataFrame, tmp_path: Path) -> None:
    folder = tmp_path / "overlap"
    folder.mkdir()
    online_retail.head(1000).write_parquet(folder / "a.parquet")
    online_retail.slice(500, 1000).write_parquet(folder / "b.parquet")  # users in both
    with pytest.raises(InputDataError, match="several shards"):
        rs.build_profiles(folder, engine=ray_engine(out=tmp_path / "o1"))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    online_retail.head(10).write_parquet(mixed / "a.parquet")
    online_retail.slice(10, 10).drop("price").write_parquet(mixed / "b.parquet")
    with pytest.raises(InputDataError, match="different schemas"):
        rs.build_profiles(mixed, engine=ray_engine(out=tmp_path / "o2"))
    with pytest.raises(InputDataError, match="not after the first purchase"):
        rs.build_profiles(online_retail, as_of="2001-01-01", engine=ray_engine())


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
