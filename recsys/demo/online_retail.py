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
from recsys.demo.own_data import run_report
from recsys.demo.pipeline import DemoConfig, DemoResult

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
    show_progress: bool = False,
) -> DemoResult:
    """``recsys report`` on the bundled Online Retail data (`recsys.demo.run_report`).

    Steps: clean (with the cleaning account), then `recsys.demo.run_pipeline`
    (profiles, split, models, evaluation and the model choice, retention of
    buyers of recommendations, the decisions: recommendations, win-back list,
    items due). Money is in pounds sterling.

    Writes ``purchases.parquet`` (canonical), ``recommendations.parquet``,
    ``profiles.parquet``, ``actions.parquet``, ``metrics.csv`` and ``report.html``
    (self-contained) to ``out_dir``.

    Examples
    --------
    >>> result = run_demo("recsys-demo", DemoConfig(sample_users=300, bootstrap=50),
    ...                   echo=lambda s: None)  # doctest: +SKIP
    """
    config = config or DemoConfig(currency="£")
    raw = online_retail()
    if config.sample_users is not None:
        customer = get_preset(PRESET).columns[C.USER]  # the raw customer column
        customers = raw[customer].drop_nulls().unique().sort()
        chosen = customers.sample(min(config.sample_users, len(customers)), seed=config.seed)
        raw = raw.filter(pl.col(customer).is_in(chosen.implode()) | pl.col(customer).is_null())
    return run_report(
        raw,
        out_dir,
        config,
        description="Description",
        echo=echo,
        show_progress=show_progress,
        preset=PRESET,
    )
