"""Customer tiers of `recsys.build_profiles`: cut points on frequency and spend."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from recsys.profiles.config import ProfileConfig

__all__ = ["tier_column", "tier_rules"]


def tier_rules(
    customers: pl.DataFrame, config: ProfileConfig, has_price: bool
) -> list[tuple[str, np.ndarray, bool]]:
    """Per tier column its cut points: explicit ("at least"), or the ``tier_quantiles``
    quantiles of all customers (strictly above)."""
    rules = [("frequency", config.tier_frequency)]
    if has_price:
        rules.append(("monetary", config.tier_spend))
    out = []
    for column, cuts in rules:
        if cuts is not None:
            out.append((column, np.asarray(cuts, dtype=np.float64), True))
        else:
            values = customers[column].to_numpy().astype(np.float64)
            out.append((column, np.quantile(values, config.tier_quantiles), False))
    return out


def tier_column(
    act: pl.DataFrame, rules: list[tuple[str, np.ndarray, bool]], names: Any
) -> pl.Series:
    level = None
    for column, cuts, at_least in rules:
        values = act[column].to_numpy().astype(np.float64)
        if at_least:
            this = np.searchsorted(cuts, values, side="right")
        else:
            this = (values[:, None] > cuts[None, :]).sum(axis=1)
        level = this if level is None else np.minimum(level, this)
    assert level is not None
    return pl.Series("tier", [names[i] for i in level], dtype=pl.String)
