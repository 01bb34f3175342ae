"""Shared benchmark helpers: environment record, timing, peak memory."""

from __future__ import annotations

import os
import platform
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Any

PACKAGES = ("numpy", "scipy", "polars", "numba", "implicit", "threadpoolctl", "pandas", "recsys")


def environment(threads: int | None = None) -> dict[str, Any]:
    """Machine, thread count and package versions, to print at the top of every benchmark."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "machine": f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "threads": threads if threads is not None else os.cpu_count(),
        **versions,
    }


def print_environment(threads: int | None = None) -> None:
    env = environment(threads)
    print("environment: " + "; ".join(f"{k}={v}" for k, v in env.items()))


def shared_purchases(name: str) -> Any:
    """The shared data set ``name`` cleaned with its preset, or None (said) where it is absent."""
    import recsys as rs

    try:
        raw = rs.datasets.load_shared(name)
    except rs.InputDataError as err:
        print(f"  {name} skipped: {err}")
        return None
    purchases, _ = rs.clean_purchases(raw, preset=name)
    return purchases


def evaluate_at_10(
    models: Any, split: Any, *, metrics: list[str], bootstrap: int, **options: Any
) -> Any:
    """``rs.evaluate`` at k = 10 with each model's own ``exclude_seen``, without progress bars."""
    import recsys as rs

    return rs.evaluate(
        models,
        split,
        k=[10],
        metrics=metrics,
        exclude_seen=None,
        bootstrap=bootstrap,
        show_progress=False,
        **options,
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux ru_maxrss is in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(label: str, results: dict[str, float] | None = None) -> Iterator[None]:
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    if results is not None:
        results[label] = elapsed
    print(f"  {label}: {elapsed:.3f} s")


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Minimum wall time over ``repeat`` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out
