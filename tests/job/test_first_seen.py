"""A customer not seen before the cutoff is "first seen in the file", never "first-time"
(the file cannot show a customer never bought before it starts), and where the file's
history before the cutoff is short against the shop's own gaps between orders the cards
say so (walk #2).

A simulated shop with a known truth (every customer's first purchase ever) is cut to its
last 120 days: the regime, the evaluation card and the report page say "first seen in
the file" with the caveat, and the truth shows why (many of them bought before the cut).
On the whole history there is no caveat.
"""

from __future__ import annotations

import html
import re
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.job import JobConfig
from recsys.job.claims import evaluation_claim
from recsys.job.regime import SHORT_HISTORY_GAP_SHARE, detect_regime, gaps_longer_than

START = datetime(2022, 1, 1)
DAYS = 730
HORIZON = 90


def _shop(seed: int = 3, customers: int = 500) -> pl.DataFrame:
    """Customers arriving evenly over two years, ordering every 45 days on average
    (exponential gaps) until they stop (one chance in eight after each order)."""
    rng = np.random.default_rng(seed)
    rows = []
    order = 0
    for user in range(customers):
        t = rng.uniform(0, DAYS)
        while t < DAYS:
            order += 1
            for item in rng.choice(40, size=2, replace=False):
                rows.append(
                    (user, f"p{item}", f"o{order}", START + timedelta(days=float(t)), 1.0, 5.0)
                )
            if rng.random() < 1 / 8:
                break
            t += rng.exponential(45)
    return pl.DataFrame(
        rows,
        schema=["user_id", "item_id", "order_id", "timestamp", "quantity", "price"],
        orient="row",
    )


def _cut(p: pl.DataFrame, days: int) -> pl.DataFrame:
    return p.filter(pl.col("timestamp") >= START + timedelta(days=DAYS - days))


AS_OF = START + timedelta(days=DAYS)
CUTOFF = AS_OF - timedelta(days=HORIZON)


def _truly_first_time(full: pl.DataFrame) -> int:
    """Window buyers whose first purchase ever is on or after the cutoff."""
    first = full.group_by("user_id").agg(pl.col("timestamp").min())
    return first.filter(pl.col("timestamp") >= CUTOFF).height


def test_short_history_says_first_seen_and_why():
    full = _shop()
    short = detect_regime(_cut(full, 120), AS_OF, cutoff=CUTOFF, horizon_days=HORIZON)
    truth = _truly_first_time(full)
    # the simulation's point: fewer than two thirds of those first seen are first-time
    assert truth < 0.67 * short.test_first_time
    assert short.history_days == pytest.approx(30, abs=0.5)
    assert short.long_gap_share >= SHORT_HISTORY_GAP_SHARE
    assert short.short_history
    assert "first-time" not in short.statement
    assert f"{short.test_first_time:,} first seen in the file (" in short.statement
    assert "The file starts only 30 days before the cutoff" in short.statement
    assert f"{short.long_gap_share:.0%} of the gaps" in short.statement
    claim = evaluation_claim(
        short,
        returning=short.test_returning,
        first_time=short.test_first_time,
        on_unknown="fallback",
    )
    assert "customers first seen in the file got each model's cold-start" in claim.text
    assert "may have bought before it starts" in claim.text
    assert "first-time" not in claim.text


def test_long_history_has_no_caveat():
    full = _shop()
    long = detect_regime(full, AS_OF, cutoff=CUTOFF, horizon_days=HORIZON)
    assert not long.short_history
    assert long.history_caveat is None
    assert f"{long.test_first_time:,} first seen in the file (" in long.statement
    assert "first-time" not in long.statement
    assert "before it starts" not in long.statement
    claim = evaluation_claim(
        long,
        returning=long.test_returning,
        first_time=long.test_first_time,
        on_unknown="fallback",
    )
    assert "customers first seen in the file got each model's cold-start fallback" in claim.text
    from types import SimpleNamespace

    from recsys.report.files import file_metadata

    for regime, said in ((long, False), (short_regime(full), True)):
        result = SimpleNamespace(
            as_of=AS_OF, model="popular", cutoff=CUTOFF, evaluation=None, regime=regime, claims={}
        )
        assert ("lifecycle_new" in file_metadata(result, "actions")) is said


def short_regime(full: pl.DataFrame):
    return detect_regime(_cut(full, 120), AS_OF, cutoff=CUTOFF, horizon_days=HORIZON)


def test_gap_share_counts_only_gaps_that_could_be_seen_long():
    """A plain-Python reference: consecutive orders' gaps whose earlier order is at least
    ``days`` before as_of, and the share longer than ``days``."""
    p = _cut(_shop(seed=5, customers=120), 200)
    days = 40.0
    times: dict[int, list[datetime]] = {}
    for user, when in (
        p.group_by("user_id", "order_id")
        .agg(pl.col("timestamp").min())
        .select("user_id", "timestamp")
        .iter_rows()
    ):
        times.setdefault(user, []).append(when)
    gaps = [
        (b - a).total_seconds() / 86400
        for ts in times.values()
        for a, b in zip(sorted(ts), sorted(ts)[1:], strict=False)
        if a <= AS_OF - timedelta(days=days)
    ]
    placed = p.group_by("user_id", "order_id").agg(t=pl.col("timestamp").min())
    share, n = gaps_longer_than(placed.select("user_id", "t"), AS_OF, days)
    assert n == len(gaps)
    assert share == pytest.approx(np.mean(np.array(gaps) > days))


def test_page_and_lifecycle_table_carry_the_caveat(tmp_path: Path):
    short = _cut(_shop(), 120)
    config = JobConfig(models=("popular", "repurchase"), bootstrap=20, currency="$")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rs.job.run(short, config)
    assert result.regime.short_history
    rs.report.write(result, tmp_path)
    page = html.unescape(re.sub(r"<[^>]+>", " ", (tmp_path / "report.html").read_text()))
    page = " ".join(page.split())
    assert "first seen in the file (" in page
    assert "'new' = first seen in the file's last days (the onboard action list is these" in page
    assert "does not make them new" in page
    assert re.search(r"first seen in the file \d", page)  # the segment row of the hit-rate table
    assert "first-time (" not in page
    assert "'first seen in the file' = customers with no purchase in the file before" in page
    assert "'first-time' =" not in page
    for name in ("actions", "profiles"):
        meta = pl.read_parquet_metadata(tmp_path / f"{name}.parquet")
        assert meta["lifecycle_new"].startswith("first seen in the file's last days, not known")
    assert (
        "`lifecycle_new` = first seen in the file's last days"
        in (tmp_path / "README.md").read_text()
    )
