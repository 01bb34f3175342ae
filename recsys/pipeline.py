"""The steps of the main job (``recsys demo``), one function each.

Each step takes the previous step's output, so notebooks can run the same
workflow piece by piece.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from recsys import datasets
from recsys._io import atomic_path
from recsys.data import CleaningReport, Interactions, clean_purchases

__all__ = ["DemoResult", "load_and_clean", "run_demo", "summarize_interactions"]


@dataclass
class DemoResult:
    """What :func:`run_demo` produced: frames, tables and the files written."""

    purchases: pl.DataFrame
    report: CleaningReport
    interactions: Interactions
    files: dict[str, Path] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def load_and_clean(
    raw: pl.DataFrame | None = None, *, sample_users: int | None = None, seed: int = 0
) -> tuple[pl.DataFrame, CleaningReport]:
    """Clean the bundled Online Retail table (or ``raw``), optionally on a user sample.

    ``sample_users`` keeps the rows of that many randomly chosen customers (rows
    without a customer are kept, so the cleaning account stays representative).
    """
    raw = datasets.online_retail() if raw is None else raw
    if sample_users is not None:
        customers = raw["CustomerID"].drop_nulls().unique().sort()
        chosen = customers.sample(min(sample_users, len(customers)), seed=seed)
        raw = raw.filter(
            pl.col("CustomerID").is_in(chosen.implode()) | pl.col("CustomerID").is_null()
        )
    return clean_purchases(raw, preset="online_retail")


def summarize_interactions(inter: Interactions) -> str:
    """A few lines describing the interaction matrix."""
    s = inter.summary()
    q = s["items_per_user_quantiles"]
    return (
        f"interaction matrix: {s['users']:,} users x {s['items']:,} items, "
        f"{s['pairs']:,} pairs (density {s['density']:.4f}), {s['purchases']:,} purchases\n"
        "distinct items per user: " + ", ".join(f"{k} {v:g}" for k, v in q.items())
    )


def run_demo(
    out_dir: str | Path = "recsys-demo",
    *,
    sample_users: int | None = None,
    echo: Any = print,
) -> DemoResult:
    """Run the main job on the bundled Online Retail data and write its files.

    Parameters
    ----------
    out_dir
        Folder for the outputs (created if needed).
    sample_users
        Run on a random sample of this many customers (for quick checks).
    echo
        Callable receiving the text to show (``print`` by default).
    """
    out = Path(out_dir)
    purchases, report = load_and_clean(sample_users=sample_users)
    echo("Cleaning report (UCI Online Retail)\n" + str(report))
    inter = Interactions.from_purchases(purchases, weight="count")
    echo(summarize_interactions(inter))
    files = {"purchases": out / "purchases.parquet"}
    with atomic_path(files["purchases"]) as tmp:
        purchases.write_parquet(tmp)
    echo(f"wrote {files['purchases']}")
    return DemoResult(purchases, report, inter, files, inter.summary())
