"""Fixtures of the Ray tests: a model and a split on a slice of the bundled data.

Tests that need Ray skip (with the reason) where it cannot be imported; ``make
test`` installs it with the ``ray`` extra.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import recsys as rs

ROOT = Path(rs.__file__).resolve().parents[1]


def import_ray() -> Any:
    return pytest.importorskip("ray", reason="Ray is not installed: pip install 'recsys[ray]'")


@pytest.fixture(scope="package")
def worker_env() -> Iterator[None]:
    """Ray workers import the recsys under test (this checkout), not another install."""
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), old) if p)
    yield
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


@pytest.fixture(scope="module")
def cluster(worker_env: None) -> Iterator[Any]:
    """A local 2-CPU Ray cluster for the tests of one module."""
    ray = import_ray()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="package")
def split(online_retail: pl.DataFrame) -> rs.evaluation.Split:
    purchases = online_retail.filter(pl.col("timestamp") < pl.datetime(2011, 6, 1))
    return rs.evaluation.temporal_split(purchases, cutoff="2011-04-01", horizon_days=60)


@pytest.fixture(scope="package")
def als(split: rs.evaluation.Split) -> rs.ALS:
    inter = rs.Interactions.from_purchases(split.train)
    return rs.ALS(factors=16, iterations=3, random_state=0, num_threads=1).fit(inter)


@pytest.fixture(scope="package")
def model_path(als: rs.ALS, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "als.npz"
    als.save(path)
    return path


def read_recs(folder: Path) -> pl.DataFrame:
    """The Parquet dataset written by recommend_batch, in user then rank order."""
    return pl.read_parquet(folder / "*.parquet").sort("user_id", "rank")
