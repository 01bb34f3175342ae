"""``engine=rs.engine.Ray(...)`` on a local Ray cluster against one process, in one run.

1. Recommend-all (ALS-shaped model, synthetic factors), k=10: ``model.recommend`` with
   ``engine=Ray(workers=2, out=...)`` (1 thread each; the time includes saving the
   model's arrays once) vs ``recommend_index`` in one process with 2 threads.
   Targets: throughput ratio >= 0.8, identical output, peak RSS per worker <= item
   factors + 2 x the kernel's block budget (256 MB).
2. The same with 2 item shards (part ``shards``, with ``recommend``): exact same top-10,
   the merge overhead.
3. ``evaluate`` on Ray vs locally on a synthetic split: identical table, overhead.
4. ``build_profiles`` on Ray (2 workers, 16 user-hash partitions) vs locally
   (one process, streaming over one Parquet file) on the synthetic purchases of
   ``bench_data.py`` (``--profile-rows``, 20M by default), cleaned with the Online
   Retail preset: identical output asserted, wall time, peak memory per worker, the
   bytes the driver gathers per customer. Parts: ``--parts recommend,shards,evaluate,profiles``.

The issue's size is 2M users x 100k items x 64 factors; on a 2-core machine shared with
other jobs run a scaled size (``--users``, ``--items``) and say so.

    python benchmarks/bench_distributed.py --users 200000 --items 20000
    python benchmarks/bench_distributed.py --parts profiles --profile-rows 20000000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from _common import peak_rss_mb, print_environment
from bench_data import generate_purchases
from polars.testing import assert_frame_equal

import recsys as rs
from recsys.data.idmap import IdMap


def synthetic_model(n_users: int, n_items: int, factors: int, seed: int = 0) -> rs.ALS:
    """A fitted-looking ALS with random factors and ~5 seen items per user (no training)."""
    rng = np.random.default_rng(seed)
    model = rs.ALS(factors=factors)
    model.users_ = IdMap(np.arange(n_users, dtype=np.int64))
    model.items_ = IdMap(np.arange(n_items, dtype=np.int64))
    nnz = 5 * n_users
    rows = np.repeat(np.arange(n_users), 5)
    cols = np.minimum((rng.pareto(1.2, nnz) * 50).astype(np.int64), n_items - 1)
    seen = sp.csr_matrix((np.ones(nnz, np.float32), (rows, cols)), shape=(n_users, n_items))
    seen.sum_duplicates()
    seen.sort_indices()
    model.user_items_ = seen
    model.item_popularity_ = np.bincount(seen.indices, minlength=n_items).astype(np.float32)
    model.reference_time_ = None
    model.user_factors_ = rng.standard_normal((n_users, factors), dtype=np.float32)
    model.item_factors_ = rng.standard_normal((n_items, factors), dtype=np.float32)
    return model


def rss_parts(pid: int) -> dict[str, float]:
    """A process's resident memory by kind, in MB (``/proc/<pid>/status``): ``anon``
    (private heap, Python objects, numba's code), ``file`` (shared libraries' pages) and
    ``shm`` (pages of Ray's object store the process has touched: mapped, shared)."""
    parts = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile", "RssShmem"):
                parts[key[3:].lower()] = int(value.split()[0]) / 1024
    return parts


class WorkerMemory:
    """Peak RSS and private (USS) memory of the Ray worker processes, sampled every 0.2 s;
    ``parts``: the RSS of the peak sample by kind (`rss_parts`)."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        self.prefixes = prefixes
        self.rss = 0.0
        self.uss = 0.0
        self.parts: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            for proc in psutil.process_iter(["cmdline"]):
                try:
                    name = " ".join(proc.info["cmdline"] or [])
                    if name.startswith(self.prefixes):
                        info = proc.memory_full_info()
                        if info.rss / 2**20 > self.rss:
                            self.parts = rss_parts(proc.pid)
                        self.rss = max(self.rss, info.rss / 2**20)
                        self.uss = max(self.uss, info.uss / 2**20)
                except Exception:
                    continue
            time.sleep(0.2)

    def describe(self) -> str:
        """The peak sample's RSS by kind, for the report."""
        return ", ".join(f"{key} {value:.0f}" for key, value in self.parts.items())

    def __enter__(self) -> WorkerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def read_index(folder: Path, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The Parquet files written by ``Ray(out=folder)`` back as [n, k] index arrays (ids
    are indices here)."""
    frame = pl.read_parquet(folder / "*.parquet")
    ids = np.full((n, k), -1, dtype=np.int32)
    scores = np.full((n, k), -np.inf, dtype=np.float32)
    u = frame["user_id"].to_numpy()
    r = frame["rank"].to_numpy() - 1
    ids[u, r] = frame["item_id"].to_numpy()
    scores[u, r] = frame["score"].to_numpy()
    return ids, scores


def synthetic_split(n_users: int, n_items: int, seed: int = 1) -> rs.evaluation.Split:
    rng = np.random.default_rng(seed)
    per_user = 6
    n = n_users * per_user
    start = datetime(2024, 1, 1)
    frame = pl.DataFrame(
        {
            "user_id": np.repeat(np.arange(n_users, dtype=np.int64), per_user),
            "item_id": np.minimum((rng.pareto(1.2, n) * 30).astype(np.int64), n_items - 1),
            "timestamp": pl.Series(
                [start + timedelta(days=int(d)) for d in rng.integers(0, 200, n)]
            ),
            "quantity": np.ones(n),
        }
    )
    return rs.evaluation.temporal_split(frame, cutoff="2024-06-01", horizon_days=60)


def bench_recommend(args: argparse.Namespace) -> None:
    n, m, f, k = args.users, args.items, args.factors, 10
    print(f"recommend-all: {n} users x {m} items x {f} factors, k={k}")
    model = synthetic_model(n, m, f)
    with tempfile.TemporaryDirectory(prefix="bench_distributed_") as tmp:
        _bench_recommend(args, model, Path(tmp))


def _bench_recommend(args: argparse.Namespace, model: rs.ALS, folder: Path) -> None:
    import ray

    n, k = args.users, 10
    item_mb = model.item_factors_.nbytes / 2**20
    print(f"  item factors {item_mb:.0f} MB, "
          f"user factors {model.user_factors_.nbytes / 2**20:.0f} MB")  # fmt: skip

    model.recommend_index(np.arange(1000), k=k, num_threads=2)  # JIT warm-up
    start = time.perf_counter()
    ids, scores = model.recommend_index(np.arange(n), k=k, num_threads=2)
    local = time.perf_counter() - start
    print(f"  one process, 2 threads: {local:.2f} s ({n / local:,.0f} users/s); "
          f"driver peak RSS {peak_rss_mb():.0f} MB")  # fmt: skip

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    # warm-up on a small query (worker start, JIT in the workers) so both sides are warm
    model.recommend(list(range(1000)), k=k, engine=rs.engine.Ray(workers=2, out=folder / "w"))
    with WorkerMemory(("ray::_Recommender",)) as mem:
        start = time.perf_counter()
        model.recommend(k=k, engine=rs.engine.Ray(workers=2, out=folder / "users"))
        dist = time.perf_counter() - start
    got_ids, got_scores = read_index(folder / "users", n, k)
    same = np.array_equal(got_ids, ids) and np.array_equal(got_scores, scores)
    budget = item_mb + 2 * 256
    files = len(list((folder / "users").glob("*.parquet")))
    print(f"  Ray, 2 workers x 1 thread: {dist:.2f} s ({n / dist:,.0f} users/s), "
          f"{files} files")  # fmt: skip
    print(f"  throughput ratio ray / one process = {local / dist:.2f} (target >= 0.8)")
    print(f"  identical output: {same}")
    print(f"  peak RSS per worker {mem.rss:.0f} MB (private USS {mem.uss:.0f} MB; "
          f"target <= item factors + 2 x 256 MB = {budget:.0f} MB); the user factors "
          f"({model.user_factors_.nbytes / 2**20:.0f} MB) travel in blocks")  # fmt: skip
    print(f"  RSS of the peak sample by kind (MB): {mem.describe()}")

    if "shards" not in args.parts.split(","):
        return
    with WorkerMemory(("ray::_Recommender",)) as mem2:
        start = time.perf_counter()
        engine = rs.engine.Ray(workers=2, item_shards=2, out=folder / "shards")
        model.recommend(k=k, engine=engine)
        sharded = time.perf_counter() - start
    sh_ids, sh_scores = read_index(folder / "shards", n, k)
    same2 = np.array_equal(sh_ids, ids) and np.array_equal(sh_scores, scores)
    print(f"  Ray, 2 item shards: {sharded:.2f} s; exact same top-{k}: {same2}; "
          f"time ratio to user sharding {sharded / dist:.2f}; "
          f"peak RSS per worker {mem2.rss:.0f} MB (USS {mem2.uss:.0f} MB; "
          f"{mem2.describe()})")  # fmt: skip


def bench_evaluate(args: argparse.Namespace) -> None:
    import ray

    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    print(f"evaluate: synthetic split, {args.eval_users} users")
    split = synthetic_split(args.eval_users, 5_000)
    pop = rs.Popular().fit(rs.Interactions.from_purchases(split.train))
    kw: dict[str, Any] = {"k": [10], "bootstrap": 200, "seed": 0}
    start = time.perf_counter()
    expected = rs.evaluate({"popular": pop}, split, show_progress=False, **kw)
    one = time.perf_counter() - start
    start = time.perf_counter()
    engine = rs.engine.Ray(workers=2)
    got = rs.evaluate({"popular": pop}, split, show_progress=False, engine=engine, **kw)
    two = time.perf_counter() - start
    print(f"  test users {split.test['user_id'].n_unique()}; evaluate {one:.2f} s, "
          f"on Ray (2 workers) {two:.2f} s, ratio {two / one:.2f}; "
          f"identical table: {got.table.equals(expected.table)}")  # fmt: skip


ONE_PROCESS = """
import json, resource, sys, time, warnings
import recsys as rs
warnings.simplefilter("ignore")
start = time.perf_counter()
profiles = rs.build_profiles(sys.argv[1])
seconds = time.perf_counter() - start
profiles.write_parquet(sys.argv[2])
print(json.dumps({"seconds": seconds, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def profile_data(rows: int) -> tuple[Path, Path]:
    """The cleaned synthetic purchases as one Parquet file and as 16 user-hash partitions
    (made once in ``benchmarks/_work/``)."""
    work = Path(__file__).resolve().parent / "_work"
    size = f"{rows // 1_000_000}m" if rows >= 1_000_000 else f"{rows}"
    raw = work / f"purchases_{size}.parquet"  # bench_data.py's file
    clean = work / f"purchases_{size}_clean.parquet"
    by_user = work / f"purchases_{size}_by_user"
    if not raw.exists():
        generate_purchases(raw, rows)
    if not clean.exists():
        purchases, _ = rs.clean_purchases(raw, preset="online_retail")
        purchases.write_parquet(clean)
    if not by_user.exists():
        rs.distributed.write_partitioned(clean, by_user, partitions=16)
    return clean, by_user


class Gathered(logging.Handler):
    """The bytes the driver gathered, by part, from the engine's INFO log record."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if "driver gathered" in record.getMessage():
            self.parts = dict(record.args[1])  # type: ignore[index]


def bench_profiles(args: argparse.Namespace) -> None:
    clean, by_user = profile_data(args.profile_rows)
    n_rows = pl.scan_parquet(clean).select(pl.len()).collect().item()
    print(f"profiles: synthetic purchases, {n_rows:,} clean rows, 16 user-hash partitions")
    with tempfile.TemporaryDirectory(prefix="bench_profiles_") as tmp:
        _bench_profiles(args, clean, by_user, n_rows, Path(tmp))


def _bench_profiles(
    args: argparse.Namespace, clean: Path, by_user: Path, n_rows: int, folder: Path
) -> None:
    import ray

    expected_path = folder / "one_process.parquet"
    child = subprocess.run(
        [sys.executable, "-c", ONE_PROCESS, str(clean), str(expected_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    one = json.loads(child.stdout.strip().splitlines()[-1])
    expected = pl.read_parquet(expected_path)
    print(f"  build_profiles, one process (streaming over one file): {one['seconds']:.2f} s, "
          f"peak RSS {one['rss'] / 1024:.0f} MB; {expected.height:,} customers")  # fmt: skip

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # warm-up: the worker processes start and import polars/recsys
        small = pl.read_parquet(clean, n_rows=20_000)
        rs.build_profiles(small, engine=rs.engine.Ray(out=folder / "w"))
        prefixes = ("ray::_range_task", "ray::_summary_task", "ray::_apply_task")
        gathered = Gathered()
        logging.getLogger("recsys.distributed").addHandler(gathered)
        logging.getLogger("recsys.distributed").setLevel(logging.INFO)
        with WorkerMemory(prefixes) as mem:
            start = time.perf_counter()
            engine = rs.engine.Ray(workers=2, out=folder / "profiles")
            rs.build_profiles(by_user, engine=engine)
            dist = time.perf_counter() - start
    ray.shutdown()
    got = pl.read_parquet(folder / "profiles").sort("user_id")
    try:
        assert_frame_equal(got, expected, check_exact=True)
        same = True
    except AssertionError as err:
        same = False
        print(f"  DIFFERENT: {str(err)[:300]}")
    sent = gathered.parts
    customers = max(got.height, 1)
    per_customer = sum(sent.values()) / customers
    parts = ", ".join(f"{k} {v / customers:.0f}" for k, v in sent.items())
    files = len(list((folder / "profiles").glob("*.parquet")))
    print(f"  build_profiles on Ray, 2 workers: {dist:.2f} s; ratio one process / Ray = "
          f"{one['seconds'] / dist:.2f}; identical output: {same}")  # fmt: skip
    print(f"  peak memory per worker: RSS {mem.rss:.0f} MB, private USS {mem.uss:.0f} MB; "
          f"driver peak RSS {peak_rss_mb():.0f} MB")  # fmt: skip
    print(f"  gathered on the driver: {sum(sent.values()) / 2**20:.1f} MB, "
          f"{per_customer:.0f} bytes per customer ({parts}); "
          f"{files} files written")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--eval-users", type=int, default=200_000)
    parser.add_argument("--profile-rows", type=int, default=20_000_000)
    parser.add_argument("--parts", default="recommend,shards,evaluate,profiles")
    args = parser.parse_args()
    # Ray's sessions and logs in a folder of this run, removed at the end: the run
    # leaves nothing in the machine's /tmp/ray.
    with tempfile.TemporaryDirectory(prefix="rsbench") as ray_tmp:
        os.environ["RAY_TMPDIR"] = ray_tmp
        run(args)


def run(args: argparse.Namespace) -> None:
    import ray

    print_environment(threads=2)
    print(f"ray={ray.__version__}")
    root = Path(__file__).resolve().parents[1]
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root), os.environ.get("PYTHONPATH")) if p
    )
    parts = set(args.parts.split(","))
    if "recommend" in parts:
        bench_recommend(args)
    if "evaluate" in parts:
        bench_evaluate(args)
    if ray.is_initialized():
        ray.shutdown()
    if "profiles" in parts:
        bench_profiles(args)


if __name__ == "__main__":
    main()
