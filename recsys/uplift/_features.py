"""Customer features for the uplift models: a polars frame to a float matrix, checked.

Numeric and boolean columns become float64 (null -> NaN). Text columns (String,
Categorical, Enum) become category codes: the categories seen at fit, sorted, numbered
0, 1, ...; the gradient-boosting learner treats them as categories (not as an order).
Nulls, values unseen at fit and customers missing from the feature frame become NaN,
which the learner routes down its own learned "missing" branch; each is counted and
warned with `DataWarning`. Date and time columns (``first_purchase`` of
`recsys.build_profiles`) are not used, with a warning naming them: an absolute date does
not carry over to customers scored later. Other dtypes (lists, structs) raise
InputDataError.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl

from recsys.exceptions import DataWarning, InputDataError

__all__ = ["FeatureEncoder", "join_features"]

# HistGradientBoosting's categorical features take at most max_bins (255) categories.
MAX_CATEGORIES = 255
_TEXT = (pl.String, pl.Categorical, pl.Enum)


def _is_text(dtype: pl.DataType) -> bool:
    return any(dtype == t or isinstance(dtype, t) for t in _TEXT)


@dataclass
class FeatureEncoder:
    """The feature columns and their categories, learnt at fit and reused at predict."""

    columns: list[str]
    categories: dict[str, list[str]]

    @classmethod
    def fit(cls, frame: pl.DataFrame, user_col: str) -> FeatureEncoder:
        dates = [c for c in frame.columns if c != user_col and frame.schema[c].is_temporal()]
        if dates:
            warnings.warn(
                f"{len(dates)} date/time feature columns are not used: {dates} (an absolute "
                "date does not carry over to customers scored at a later as_of; durations "
                "such as recency_days do)",
                DataWarning,
                stacklevel=4,
            )
        columns = [c for c in frame.columns if c != user_col and c not in dates]
        if not columns:
            raise InputDataError(
                f"features has no feature columns besides {user_col!r}; "
                "give profile columns (rs.build_profiles) and/or customer columns"
            )
        categories: dict[str, list[str]] = {}
        for column in columns:
            dtype = frame.schema[column]
            if _is_text(dtype):
                values = frame[column].cast(pl.String).drop_nulls().unique().sort().to_list()
                if len(values) > MAX_CATEGORIES:
                    raise InputDataError(
                        f"features column {column!r} is text with {len(values)} distinct "
                        f"values; at most {MAX_CATEGORIES} categories are supported "
                        "(group rare values or turn it into a number first)"
                    )
                categories[column] = values
            elif not (dtype.is_numeric() or dtype == pl.Boolean):
                raise InputDataError(
                    f"features column {column!r} has dtype {dtype}; features must be numeric, "
                    "boolean or text"
                )
        if categories:
            warnings.warn(
                "text feature columns encoded as categories (codes of the sorted values): "
                + ", ".join(f"{c!r} ({len(v)} values)" for c, v in categories.items()),
                DataWarning,
                stacklevel=4,
            )
        return cls(columns, categories)

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.array([c in self.categories for c in self.columns], dtype=bool)

    def transform(self, frame: pl.DataFrame, name: str = "features", absent: int = 0) -> np.ndarray:
        """The ``[n_rows, n_columns]`` float64 matrix, NaN where missing (counted, warned).

        ``absent``: rows of customers without a feature row, already warned about by
        `join_features` (their nulls are not counted again).
        """
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise InputDataError(f"{name} lacks the feature columns {missing} seen at fit")
        out = np.empty((frame.height, len(self.columns)), dtype=np.float64)
        notes = []
        for j, column in enumerate(self.columns):
            series = frame[column]
            if column in self.categories:
                lookup = pl.DataFrame(
                    {"v": self.categories[column], "code": np.arange(len(self.categories[column]))}
                )
                codes = (
                    pl.DataFrame({"v": series.cast(pl.String)})
                    .join(lookup, on="v", how="left", maintain_order="left")["code"]
                    .cast(pl.Float64)
                )
                unseen = int(codes.null_count() - series.null_count())
                if unseen:
                    notes.append(f"{column!r}: {unseen} values not seen at fit")
                values = codes.fill_null(np.nan).to_numpy()
            elif not (series.dtype.is_numeric() or series.dtype == pl.Boolean):
                raise InputDataError(
                    f"{name} column {column!r} has dtype {series.dtype}, numeric at fit"
                )
            else:
                values = series.cast(pl.Float64).fill_null(np.nan).to_numpy()
            nulls = series.null_count() - absent
            if nulls:
                notes.append(f"{column!r}: {nulls} nulls")
            if not np.all(np.isfinite(values) | np.isnan(values)):
                raise InputDataError(f"{name} column {column!r} has infinite values")
            out[:, j] = values
        if notes:
            warnings.warn(
                f"{name}: missing values are kept as 'missing' (the learner's own branch): "
                + "; ".join(notes),
                DataWarning,
                stacklevel=4,
            )
        return out


def join_features(
    ids: pl.Series, features: pl.DataFrame, user_col: str, name: str = "features"
) -> tuple[pl.DataFrame, int]:
    """The rows of ``features`` for ``ids``, in order, and how many ids had no row.

    Ids without a row get nulls (counted, warned). ``ids`` are unique (the caller checks):
    a feature frame whose ids are ``ids`` in the same order is returned as it is (no join).
    """
    if user_col not in features.columns:
        raise InputDataError(f"{name} has no column {user_col!r}; columns are {features.columns}")
    if features[user_col].equals(ids, check_dtypes=True):
        return features, 0
    if features[user_col].is_duplicated().any():
        n = int(features[user_col].is_duplicated().sum())
        raise InputDataError(f"{name} has {n} rows with a repeated {user_col!r}; one row each")
    keys = pl.DataFrame({user_col: ids})
    try:
        joined = keys.join(features, on=user_col, how="left", maintain_order="left")
    except pl.exceptions.PolarsError as err:
        raise InputDataError(
            f"{name} column {user_col!r} ({features.schema[user_col]}) cannot be joined with "
            f"the customers' ids ({ids.dtype}): {err}"
        ) from err
    found = keys.join(features.select(user_col), on=user_col, how="semi").height
    absent = ids.len() - found
    if absent:
        warnings.warn(
            f"{absent} of {ids.len()} customers have no row in {name}; their features are "
            "missing (the learner's own branch), e.g. customers without purchases before as_of",
            DataWarning,
            stacklevel=4,
        )
    return joined, absent
