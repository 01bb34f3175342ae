"""Small synthetic purchase histories shared by the model tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

import recsys as rs
from recsys._io import checksum


def block_purchases(n_users_per_group: int = 30, n_items_per_group: int = 12, seed: int = 0):
    """Two customer groups buying from two disjoint item sets, with times.

    Users ``0..n-1`` buy only items ``A00..``; users ``1000..`` only items ``B00..``.
    Each user buys two thirds of their group's items (low indices more likely), 1-3 times
    each, over 60 days before 2024-03-01.
    """
    rng = np.random.default_rng(seed)
    rows = []
    start = datetime(2024, 1, 1)
    for group, (user_base, prefix) in enumerate(((0, "A"), (1000, "B"))):
        for u in range(n_users_per_group):
            weights = 1.0 / np.arange(1, n_items_per_group + 1)
            items = rng.choice(
                n_items_per_group,
                size=2 * n_items_per_group // 3,
                replace=False,
                p=weights / weights.sum(),
            )
            for i in items:
                for _ in range(int(rng.integers(1, 4))):
                    t = start + timedelta(days=float(rng.uniform(0, 60)))
                    rows.append((user_base + u, f"{prefix}{i:02d}", t, group))
    frame = pl.DataFrame(
        rows, schema=["user_id", "item_id", "timestamp", "group"], orient="row"
    ).with_columns(pl.col("user_id").cast(pl.Int64), pl.col("timestamp").cast(pl.Datetime("us")))
    return frame


def block_interactions(**kwargs) -> rs.Interactions:
    return rs.Interactions.from_purchases(block_purchases(**kwargs).drop("group"))


def crafted_copy(
    src: Path, dst: Path, change: Callable[[dict, dict[str, np.ndarray]], None]
) -> Path:
    """A copy of the model file ``src`` changed by ``change(meta, arrays)``, re-signed
    with a matching checksum (what a forger could write)."""
    with np.load(src, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    meta.pop("checksum")
    change(meta, arrays)
    meta["checksum"] = checksum(meta, arrays)
    np.savez(dst, __meta__=np.asarray(json.dumps(meta)), **arrays)
    return dst
