"""Blend recommend time and memory against their slowest part, on Ta-Feng.

A blend must stay within the scoring memory budget and within 3x the recommend
time of its slowest part. For every blend (the default ``Blend`` and
``RepeatExplore``) this fits the blend once, then times ``recommend_index`` for
all users of the blend and of each fitted part (best of ``--repeat``), and
records the peak of memory traced by ``tracemalloc`` (numpy's allocations)
during each call.

Run ``RECSYS_DATA=../shared/data python benchmarks/bench_blend.py``; with
``--users N`` only the first N users are scored. Pass ``--code DIR`` to run the
same measurement on another checkout of recsys (e.g. an older commit exported
with ``git worktree add``) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import warnings

import numpy as np


def _measure(model, users: np.ndarray, repeat: int) -> tuple[float, float]:
    """Best wall time over ``repeat`` calls and the peak traced memory (MB) of one call."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        model.recommend_index(users, k=10)
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    model.recommend_index(users, k=10)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=None, help="score only the first N users")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--code", default=None, help="import recsys from this folder")
    args = parser.parse_args()
    if args.code:
        sys.path.insert(0, args.code)
    import recsys as rs

    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from _common import print_environment, shared_purchases

    print_environment()
    print(f"recsys from {rs.__file__}")
    purchases = shared_purchases("ta_feng")
    if purchases is None:
        return
    inter = rs.Interactions.from_purchases(purchases)
    n = inter.shape[0] if args.users is None else min(args.users, inter.shape[0])
    users = np.arange(n, dtype=np.int32)
    print(f"Ta-Feng: {inter.shape[0]:,} users x {inter.shape[1]:,} items; scoring {n:,} users")
    blends = {"Blend()": rs.Blend(), "RepeatExplore()": rs.RepeatExplore()}
    for name, blend in blends.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            blend.fit(inter)
        parts = getattr(blend, "models_", None)
        if parts is None:  # older recsys: RepeatExplore kept repeat_ / explore_
            parts = [blend.repeat_, blend.explore_]
        print(f"\n{name}")
        part_times = []
        for part in parts:
            seconds, mb = _measure(part, users, args.repeat)
            part_times.append(seconds)
            print(f"  part {type(part).__name__:<12} {seconds:8.2f} s  peak {mb:8.1f} MB")
        seconds, mb = _measure(blend, users, args.repeat)
        print(f"  blend              {seconds:8.2f} s  peak {mb:8.1f} MB")
        print(f"  ratio blend / slowest part: {seconds / max(part_times):.2f} (target <= 3)")


if __name__ == "__main__":
    main()
