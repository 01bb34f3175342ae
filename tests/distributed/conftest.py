"""Fixtures of the Ray tests: a model and a split on a slice of the bundled data.

Tests that need Ray skip (with the reason) where it cannot be imported; ``make
test`` installs it with the ``ray`` extra.

Ray leaves nothing behind: every Ray test runs with ``RAY_TMPDIR`` set to a fresh
folder of this session (sessions, logs, sockets and the ``ray_current_cluster`` file
that ``ray start`` writes go there, not to the machine's shared ``/tmp/ray``), and
at the end of the session `no_ray_left_behind` fails if a Ray session is still
initialised, a ``ray_current_cluster`` file remains, or a process still runs from
that folder; then it removes the folder.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import recsys as rs

ROOT = Path(rs.__file__).resolve().parents[1]


def import_ray() -> Any:
    return pytest.importorskip("ray", reason="Ray is not installed: pip install 'recsys[ray]'")


def ray_processes(folder: Path) -> list[str]:
    """Command lines of the live processes that run from ``folder`` (a Ray temp dir).

    Ray's processes (GCS, raylet, workers) name their session folder on their
    command line. Read from ``/proc`` (Linux, where the suite runs).
    """
    found = []
    for entry in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmdline = entry.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        if str(folder) in cmdline:
            found.append(f"{entry.parent.name}: {cmdline[:200]}")
    return found


@pytest.fixture(scope="session", autouse=True)
def no_ray_left_behind() -> Iterator[Path]:
    """Ray state of this session in its own folder; fails if any of it is left at the end."""
    folder = Path(tempfile.mkdtemp(prefix="rsray"))  # short: Ray's socket paths are limited
    old = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = str(folder)
    try:
        yield folder
        left = []
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            left.append("a Ray session is still initialised (ray.shutdown() missing)")
        left += [f"file {f}" for f in folder.rglob("ray_current_cluster")]
        left += [f"process {p}" for p in ray_processes(folder)]
        assert not left, "the Ray tests left state behind:\n" + "\n".join(left)
    finally:
        if old is None:
            os.environ.pop("RAY_TMPDIR", None)
        else:
            os.environ["RAY_TMPDIR"] = old
        shutil.rmtree(folder, ignore_errors=True)


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


def ray_engine(**kw: Any) -> rs.engine.Ray:
    """The engine of the tests: the session's 2-CPU cluster, one thread per worker."""
    return rs.engine.Ray(**{"workers": 2, **kw})
