"""The files of a `recsys.job.JobResult`: Parquet (with ``as_of`` in the key-value
metadata and, where it helps, a column), the metrics CSV and the HTML page.

Written atomically: a failed write leaves no half-written file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from recsys._io import atomic_path
from recsys.data import columns as C

if TYPE_CHECKING:
    from recsys.job import JobResult

__all__ = ["FILES", "file_metadata", "write_files"]

#: The files `write_files` writes, by name.
FILES = {
    "purchases": "purchases.parquet",
    "profiles": "profiles.parquet",
    "due": "due.parquet",
    "actions": "actions.parquet",
    "recommendations": "recommendations.parquet",
    "metrics": "metrics.csv",
    "plan": "plan.parquet",
}


def file_metadata(result: JobResult, name: str) -> dict[str, str]:
    """The key-value metadata of one Parquet file: ``as_of`` (ISO), what the rows are and
    the source of the churn ordering and of the value (model or naive rule).

    ``churn_rank_source``: ``model: <column> (<model>)`` (``churn_risk (BG/NBD)`` or
    ``learned_churn_risk (the learned churn model)``) where that churn risk beats the
    naive rules at the evaluation cutoff, else ``rule: <column> (<ordering>)``;
    ``churn_probability``: ``yes`` where it may be read as a probability;
    ``value_source``: ``model: <column> (<model>)`` (e.g. ``learned_value (the learned
    CLV model)``) or ``rule: past_value (<how>)``.
    """
    meta = {"as_of": result.as_of.isoformat(), "recsys_file": name, "model": result.model}
    meta.update(_sources(result))
    if result.cutoff is not None:
        meta["evaluation_cutoff"] = result.cutoff.isoformat()
        meta["evaluation_horizon_days"] = str(result.config.horizon_days)
    return meta


def _sources(result: JobResult) -> dict[str, str]:
    from recsys.job.decisions import CHURN_RULES

    churn, value = result.claims.get("churn"), result.claims.get("value")
    meta = {}
    if churn is not None:
        by = churn.evidence.get("ranked_by", "")
        meta["churn_rank_source"] = (
            f"rule: {CHURN_RULES[by][0]} ({CHURN_RULES[by][1]})"
            if by in CHURN_RULES
            else f"model: {by} ({churn.evidence.get('model_name', 'BG/NBD')})"
            if by
            else "none"
        )
        meta["churn_probability"] = "yes" if churn.licensed else "no"
    if value is not None:
        meta["value_source"] = (
            f"model: {result.value_column} ({value.evidence.get('model_name', 'the CLV model')})"
            if value.licensed
            else f"rule: {result.value_column} ({value.fallback})"
        )
    return meta


def _with_names(frame: pl.DataFrame, names: pl.DataFrame | None) -> pl.DataFrame:
    """``frame`` with a ``name`` column right after ``item_id`` (when names are known)."""
    if names is None or C.ITEM not in frame.columns:
        return frame
    lookup = names.select(C.ITEM, pl.col("name").alias("item_name"))
    if lookup.schema[C.ITEM] != frame.schema[C.ITEM]:
        lookup = lookup.with_columns(pl.col(C.ITEM).cast(frame.schema[C.ITEM]))
    out = frame.join(lookup, on=C.ITEM, how="left", maintain_order="left")
    order = list(frame.columns)
    order.insert(order.index(C.ITEM) + 1, "item_name")
    return out.select(order)


def _item_list_names(frame: pl.DataFrame, names: pl.DataFrame | None) -> pl.DataFrame:
    """``actions`` with ``item_names`` next to its ``items`` list."""
    if names is None or "items" not in frame.columns:
        return frame
    mapping = {str(k): v for k, v in names.iter_rows()}
    listed = [
        [mapping.get(str(i)) for i in items] if items is not None else []
        for items in frame["items"].to_list()
    ]
    return frame.with_columns(pl.Series("item_names", listed, dtype=pl.List(pl.String)))


def _stamped(frame: pl.DataFrame, result: JobResult) -> pl.DataFrame:
    return frame.with_columns(pl.lit(result.as_of).alias("as_of"))


def write_files(result: JobResult, out_dir: str | Path) -> dict[str, Path]:
    """Write every table of ``result`` to ``out_dir``; returns the paths by name.

    Parquet files carry ``as_of`` (and the evaluation's cutoff) in their key-value
    metadata; profiles, due items, actions and recommendations also carry an
    ``as_of`` column, and an ``item_name`` (``item_names`` for the action lists)
    where the input has product names. ``metrics.csv`` has ``as_of``, ``cutoff``
    and ``horizon_days`` columns (CSV has no metadata). With an experiment,
    ``plan.parquet`` is the targeting plan (`recsys.uplift.allocate`'s columns), with
    the date of the model's features (``features_as_of``) in its metadata too.
    ``purchases.parquet`` holds the purchases before ``as_of`` the job ran on, with their
    return rows flagged ``is_return`` when the input has them.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = result.item_names
    tables: dict[str, Any] = {
        "purchases": result.purchases,
        "profiles": _stamped(result.profiles, result),
        "due": _stamped(_with_names(result.due, names), result),
        "actions": _stamped(_item_list_names(result.actions, names), result),
        "recommendations": _stamped(_with_names(result.recommendations, names), result),
    }
    metadata = {name: file_metadata(result, name) for name in tables}
    if result.targeting is not None:
        tables["plan"] = _stamped(result.targeting.plan, result)
        metadata["plan"] = {
            **file_metadata(result, "plan"),
            "features_as_of": result.targeting.features_as_of.isoformat(),
            "targeting": "uplift model" if result.targeting.by_model else "fallback",
        }
    paths = {}
    for name, frame in tables.items():
        path = out / FILES[name]
        with atomic_path(path) as tmp:
            frame.write_parquet(tmp, metadata=metadata[name])
        paths[name] = path
    metrics = result.metrics.with_columns(
        as_of=pl.lit(result.as_of.isoformat()),
        cutoff=pl.lit(result.cutoff.isoformat() if result.cutoff else None, dtype=pl.String),
        horizon_days=pl.lit(result.config.horizon_days),
    )
    path = out / FILES["metrics"]
    with atomic_path(path) as tmp:
        metrics.write_csv(tmp)
    paths["metrics"] = path
    return paths
