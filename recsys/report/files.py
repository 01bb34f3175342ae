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

__all__ = ["FILES", "due_source", "file_metadata", "readme", "value_source", "write_files"]

#: The files `write_files` writes, by name.
FILES = {
    "purchases": "purchases.parquet",
    "profiles": "profiles.parquet",
    "due": "due.parquet",
    "actions": "actions.parquet",
    "recommendations": "recommendations.parquet",
    "metrics": "metrics.csv",
    "plan": "plan.parquet",
    "readme": "README.md",
}

#: What the rows of each file are (``README.md``).
ROWS = {
    "purchases": "one row per purchase line before as_of the job ran on",
    "profiles": "one row per customer, as of as_of",
    "due": "one row per customer and product that may be bought again (where the "
    "reminders follow the naive rule, see due_source: only the pairs it finds due)",
    "actions": "one row per customer: the action to take",
    "recommendations": "one row per customer and rank",
    "plan": "one row per customer: the targeting plan",
    "metrics": "one row per model, metric, items mode and segment on the test window",
}

#: What a column holds, where its name does not say it (``README.md``).
COLUMN_NOTES = {
    "churn_risk": "BG/NBD's probability of no purchase over the evaluation horizon",
    "learned_churn_risk": "the learned churn model's churn risk (deployed: the churn card "
    "licensed it)",
    "learned_value": "the learned CLV model's value over the value horizon (deployed: the "
    "value card licensed it)",
    "clv": "BG/NBD x Gamma-Gamma value over the value horizon",
    "expected_orders": "BG/NBD's expected orders over the value horizon",
    "churn_rank": "1 = most likely gone, by the churn card's ordering (metadata churn_rank_source)",
    "projected_value": "the value the decision weighs, as projected over the value horizon "
    "(x churn risk for win_back where churn risk is licensed; metadata value_source): not "
    "the campaign card's stake, which is over the window it checked",
    "as_of": "the date everything in the file is as of",
    "item_name": "the product's name",
    "item_names": "the names of the products in items",
}


def file_metadata(result: JobResult, name: str) -> dict[str, str]:
    """The key-value metadata of one Parquet file: ``as_of`` (ISO), what the rows are,
    the evaluation's cutoff and window (only where the models were evaluated) and, in
    ``profiles.parquet`` (the file whose columns they name), the source of the churn
    ordering and of the value (model or naive rule).

    ``churn_rank_source``: ``model: <column> (<model>)`` (``churn_risk (BG/NBD)`` or
    ``learned_churn_risk (the learned churn model)``) where that churn risk beats the
    naive rules at the evaluation cutoff, else ``rule: <column> (<ordering>)``;
    ``churn_probability``: ``yes`` where it may be read as a probability;
    ``value_source``: `value_source`. ``evaluation_window_days``: the days after the
    cutoff the data cover (``evaluation_horizon_days``, or fewer where the horizon runs
    past ``as_of``). ``due_source`` (``due.parquet``, ``actions.parquet``):
    `due_source`. ``lifecycle_new``, in ``profiles.parquet`` and ``actions.parquet``
    where the file's history is short (`recsys.job.regime.Regime.short_history`): what
    the ``new`` stage and the ``onboard`` action then mean.
    """
    meta = {"as_of": result.as_of.isoformat(), "recsys_file": name, "model": result.model}
    if name == "profiles":
        meta.update(_sources(result))
    if name in ("due", "actions") and "due" in result.claims:
        meta["due_source"] = due_source(result)
    if name in ("profiles", "actions") and result.regime.short_history:
        meta["lifecycle_new"] = (
            "first seen in the file's last days, not known to be new (so are the customers "
            f"of the onboard action): {result.regime.history_caveat}"
        )
    if result.cutoff is not None and result.evaluation is not None:
        meta["evaluation_cutoff"] = result.cutoff.isoformat()
        meta["evaluation_horizon_days"] = str(result.config.horizon_days)
        meta["evaluation_window_days"] = f"{result.regime.window_days:g}"
    return meta


def value_source(result: JobResult) -> str:
    """Where the value the decisions use comes from, naming ``profiles.parquet`` columns
    only: ``model: <column> (<model>)`` (e.g. ``learned_value (the learned CLV model)``)
    where the value claim licenses the model, else ``rule: <column> x <ratio> (<how>)``
    (``monetary``, or ``frequency`` without prices, scaled by the shop's past-value
    ratio: `recsys.job.decisions.past_value`)."""
    value = result.claims["value"]
    column = result.value_column
    if value.licensed and column in result.profiles.columns:
        return f"model: {column} ({value.evidence.get('model_name', 'the CLV model')})"
    past = "monetary" if "monetary" in result.profiles.columns else "frequency"
    return f"rule: {past} x {value.evidence.get('ratio', float('nan')):.3g} ({value.fallback})"


def due_source(result: JobResult) -> str:
    """What the items due and the replenishment reminders follow: ``model: due_items``
    where the due card licensed its chances, else ``rule: <the naive rule>``
    (`recsys.job.due_check.deployed_due`)."""
    ev = result.claims["due"].evidence
    if ev.get("follows") == "rule":
        return f"rule: {ev['naive_rule']}"
    return "model: due_items (p_within_horizon)"


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
        meta["value_source"] = value_source(result)
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
    where the input has product names. ``metrics.csv`` has ``as_of``, ``cutoff``,
    ``horizon_days`` and ``window_days`` (the days after the cutoff the data cover:
    fewer than ``horizon_days`` where it runs past ``as_of``) columns (CSV has no
    metadata). ``README.md`` lists each file's columns (`readme`). With an experiment,
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
        window_days=pl.lit(result.regime.window_days),
    )
    path = out / FILES["metrics"]
    with atomic_path(path) as tmp:
        metrics.write_csv(tmp)
    paths["metrics"] = path
    schemas = {name: frame.schema for name, frame in tables.items()}
    schemas["metrics"] = metrics.schema
    path = out / FILES["readme"]
    with atomic_path(path) as tmp:
        tmp.write_text(readme(result, schemas, metadata), encoding="utf-8")
    paths["readme"] = path
    return paths


def readme(
    result: JobResult,
    schemas: dict[str, pl.Schema],
    metadata: dict[str, dict[str, str]],
) -> str:
    """``README.md`` of the output folder: each file written, what its rows are, the
    columns it holds (each once, in the file's order: only those this run wrote) and its
    key-value metadata.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from datetime import datetime
    >>> r = SimpleNamespace(config=SimpleNamespace(dataset="shop"), as_of=datetime(2024, 1, 1))
    >>> text = readme(r, {"due": pl.Schema({"user_id": pl.Int64, "as_of": pl.Date})},
    ...               {"due": {"as_of": "2024-01-01T00:00:00"}})
    >>> print(text.split("## ")[1])  # doctest: +NORMALIZE_WHITESPACE
    `due.parquet`
    <BLANKLINE>
    One row per customer and product that may be bought again (where the reminders follow
    the naive rule, see due_source: only the pairs it finds due).
    <BLANKLINE>
    - `user_id`: customer
    - `as_of`: the date everything in the file is as of
    <BLANKLINE>
    Metadata: `as_of` = 2024-01-01T00:00:00
    <BLANKLINE>
    <BLANKLINE>
    """
    from recsys.report.format import label

    lines = [
        f"# recsys report: {result.config.dataset}, as of {result.as_of:%Y-%m-%d}",
        "",
        "The files of this folder, with the columns this run wrote (in each file's order) "
        "and their metadata; report.html is the page.",
        "",
    ]
    for name, schema in schemas.items():
        rows = ROWS.get(name, "")
        lines += [f"## `{FILES[name]}`", "", rows[:1].upper() + rows[1:] + ".", ""]
        for column in dict.fromkeys(schema):
            words = COLUMN_NOTES.get(column, label(column))
            said = words != column.replace("_", " ")
            lines.append(f"- `{column}`" + (f": {words}" if said else ""))
        meta = metadata.get(name)
        if meta:
            pairs = "; ".join(f"`{k}` = {v}" for k, v in meta.items())
            lines += ["", f"Metadata: {pairs}"]
        lines += ["", ""]
    return "\n".join(lines)
