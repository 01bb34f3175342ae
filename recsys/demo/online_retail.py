"""``recsys demo``: the main job on the bundled UCI Online Retail data.

Everything specific to the bundled table (its raw columns, its cleaning preset)
is here; the steps themselves (`recsys.demo.pipeline`) work on canonical
purchases.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from recsys.data import CleaningReport, clean_purchases
from recsys.data import columns as C
from recsys.data.presets import get_preset
from recsys.datasets import online_retail
from recsys.demo.pipeline import (
    DemoConfig,
    DemoResult,
    _step,
    run_pipeline,
    summary_text,
    write_outputs,
)
from recsys.demo.report import write_demo_report

__all__ = ["load_and_clean", "run_demo"]

PRESET = "online_retail"


def load_and_clean(
    raw: pl.DataFrame | None = None, *, sample_users: int | None = None, seed: int = 0
) -> tuple[pl.DataFrame, CleaningReport]:
    """Clean the bundled Online Retail table (or ``raw``), optionally on a customer sample.

    ``sample_users`` keeps the rows of that many randomly chosen customers (rows
    without a customer are kept, so the cleaning account stays representative).

    Examples
    --------
    >>> purchases, report = load_and_clean(sample_users=50)
    >>> purchases["user_id"].n_unique()
    50
    """
    raw = online_retail() if raw is None else raw
    if sample_users is not None:
        customer = get_preset(PRESET).columns[C.USER]  # the raw customer column
        customers = raw[customer].drop_nulls().unique().sort()
        chosen = customers.sample(min(sample_users, len(customers)), seed=seed)
        raw = raw.filter(pl.col(customer).is_in(chosen.implode()) | pl.col(customer).is_null())
    return clean_purchases(raw, preset=PRESET)


def run_demo(
    out_dir: str | Path = "recsys-demo",
    config: DemoConfig | None = None,
    *,
    echo: Callable[[str], Any] = print,
) -> DemoResult:
    """Run the whole retention-personalization workflow on the bundled Online Retail data.

    Steps: clean (with the cleaning account), then `recsys.demo.run_pipeline`
    (profiles, split, models, evaluation, retention of buyers of recommendations,
    recommendations for everyone).

    Writes ``purchases.parquet`` (canonical), ``recommendations.parquet``,
    ``profiles.parquet``, ``metrics.csv`` and ``report.html`` (self-contained) to
    ``out_dir``.

    Examples
    --------
    >>> result = run_demo("recsys-demo", DemoConfig(sample_users=300, bootstrap=50),
    ...                   echo=lambda s: None)  # doctest: +SKIP
    """
    config = config or DemoConfig()
    total = 7
    with _step(echo, 1, total, "clean the orders"):
        purchases, report = load_and_clean(sample_users=config.sample_users, seed=config.seed)
    echo(str(report))
    result = run_pipeline(purchases, report, config, echo=echo, first_step=2, total_steps=total)
    files = write_outputs(result, out_dir)
    write_demo_report(result, config, files["report"])
    result.summary = summary_text(result, config)
    echo(result.summary)
    for path in files.values():
        echo(f"wrote {path}")
    return result
