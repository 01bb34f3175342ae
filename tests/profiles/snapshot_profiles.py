"""Save or compare `build_profiles` tables on the bundled data (a refactoring check).

Run before a change with ``save DIR`` and after it with ``compare DIR``: every table
must be equal (values and dtypes)::

    python -m tests.profiles.snapshot_profiles save /tmp/before
    python -m tests.profiles.snapshot_profiles compare /tmp/before
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import polars as pl

import recsys as rs


def tables() -> dict[str, pl.DataFrame]:
    """Profiles under several configurations and inputs (prices, returns, categories,
    CLV, lazy input, default and explicit ``as_of``)."""
    warnings.simplefilter("ignore")
    raw = rs.datasets.online_retail()
    purchases, _ = rs.clean_purchases(raw, preset="online_retail")
    with_returns, _ = rs.clean_purchases(raw, preset="online_retail", keep_returns=True)
    categories = purchases.with_columns(
        pl.col("item_id").cast(pl.String).str.slice(0, 2).alias("category")
    )
    build = rs.build_profiles
    return {
        "default_0909": build(purchases, as_of="2011-09-09"),
        "clv_0601": build(
            purchases, as_of="2011-06-01", config=rs.ProfileConfig(clv_horizon_days=180)
        ),
        "nocal_end": build(
            purchases, config=rs.ProfileConfig(calibrate_churn=False, clv_horizon_days=90)
        ),
        "cat_1001": build(categories, as_of="2011-10-01"),
        "returns_0801": build(
            with_returns, as_of="2011-08-01", config=rs.ProfileConfig(clv_horizon_days=60)
        ),
        "lazy_0701": build(purchases.lazy(), as_of="2011-07-01"),
    }


def main(argv: list[str]) -> int:
    action, folder = argv[0], Path(argv[1])
    if action == "save":
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in tables().items():
            frame.write_parquet(folder / f"{name}.parquet")
        return 0
    different = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in tables().items():
            frame.write_parquet(Path(tmp) / "now.parquet")
            now = pl.read_parquet(Path(tmp) / "now.parquet")
            before = pl.read_parquet(folder / f"{name}.parquet")
            same = now.schema == before.schema and now.equals(before)
            print(f"{name}: {'identical' if same else 'DIFFERENT'}")
            if not same:
                different.append(name)
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
