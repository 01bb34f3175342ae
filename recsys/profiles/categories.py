"""Category affinity of `recsys.build_profiles`: each customer's spend shares by
category, the top categories and the entropy of the shares."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from recsys.data import columns as C
from recsys.data.canonical import without_returns
from recsys.profiles.config import ProfileConfig
from recsys.profiles.source import ProfileSource, micro_units

__all__ = ["category_shares"]


def category_shares(
    source: ProfileSource,
    as_of: datetime,
    categories: pl.DataFrame | None,
    config: ProfileConfig,
) -> tuple[pl.DataFrame, int]:
    """Category shares per customer and the number of purchase rows without a category."""
    column = config.category_column
    bought = without_returns(source.lf.filter(pl.col(C.TIMESTAMP) < as_of))
    weight = (pl.col(C.QUANTITY) * pl.col(C.PRICE)) if source.has_price else pl.col(C.QUANTITY)
    if categories is not None:
        rows = bought.select(C.USER, C.ITEM, weight.alias("_w")).join(
            categories.lazy(), on=C.ITEM, how="left"
        )
    else:
        rows = bought.select(
            C.USER, pl.col(column).cast(pl.String).alias("_category"), weight.alias("_w")
        )
    by_cat, unknown = pl.collect_all(
        [
            rows.filter(pl.col("_category").is_not_null())
            .group_by(C.USER, "_category")
            .agg(micro_units(pl.col("_w"), strict=False).sum().alias("_w")),
            rows.select(pl.col("_category").is_null().sum().alias("n")),
        ],
        engine=source.engine,
    )
    # weights in integer micro-units (each customer's total was checked by orders_before):
    # the customer's total does not depend on the order of the rows (group_by's order is
    # not fixed), so neither do the shares
    share = pl.col("_w") / pl.col("_w").sum().over(C.USER)
    by_cat = by_cat.with_columns(
        pl.when(pl.col("_w").sum().over(C.USER) > 0)
        .then(share)
        .otherwise(1.0 / pl.len().over(C.USER))
        .alias("_share")
    ).sort([C.USER, "_share", "_category"], descending=[False, True, False])
    k = config.top_categories
    entropy = -(pl.col("_share") * pl.col("_share").log(2)).filter(pl.col("_share") > 0).sum()
    frame = by_cat.group_by(C.USER, maintain_order=True).agg(
        pl.col("_category").head(k).alias("top_categories"),
        pl.col("_share").head(k).alias("top_category_shares"),
        (entropy + 0.0).alias("category_entropy"),
        pl.len().cast(pl.Int64).alias("n_categories"),
    )
    return frame, int(unknown["n"][0])
