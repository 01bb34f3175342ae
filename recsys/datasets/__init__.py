"""Datasets: the bundled UCI Online Retail table and loaders for the shared data folder.

The bundled data is the UCI "Online Retail" dataset (id 352, doi:10.24432/C5BW33),
licensed CC BY 4.0. Cite: D. Chen, S. L. Sain, K. Guo (2012), "Data mining for the
online retail industry: A case study of RFM model-based customer segmentation
using data mining", Journal of Database Marketing and Customer Strategy
Management 19(3):197-208, doi:10.1057/dbm.2012.17.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import polars as pl

from recsys.data.read import reading
from recsys.exceptions import InputDataError

__all__ = ["SHARED_DATASETS", "load_shared", "online_retail", "shared_data_dir"]


def online_retail() -> pl.DataFrame:
    """The full raw UCI Online Retail table, bundled with the package.

    541,909 rows, 2010-12-01 to 2011-12-09, columns ``InvoiceNo`` (str, a
    leading ``C`` marks a cancellation), ``StockCode`` (str), ``Description``,
    ``Quantity`` (int, negative for returns), ``InvoiceDate`` (datetime, UK local
    time), ``UnitPrice`` (float, GBP), ``CustomerID`` (int, null for 135,080
    rows), ``Country``. License CC BY 4.0 (Chen, Sain & Guo, 2012).

    Examples
    --------
    >>> import recsys as rs
    >>> rs.datasets.online_retail().height
    541909
    """
    with (
        resources.as_file(resources.files(__name__) / "online_retail.parquet") as path,
        reading(path),
    ):
        return pl.read_parquet(path)


#: name -> (relative path, CSV options) of the datasets in the shared data folder.
SHARED_DATASETS: dict[str, tuple[str, dict[str, object]]] = {
    "online_retail": ("online_retail/online_retail.csv.gz", {"infer_schema_length": None}),
    "online_retail_ii": (
        "online_retail_ii_2009_2010/online_retail_ii_2009_2010.csv.gz",
        {"infer_schema_length": None},
    ),
    "ta_feng": (
        "ta_feng/ta_feng_all_months_merged.csv.gz",
        {
            "schema_overrides": {
                "CUSTOMER_ID": pl.String,
                "PRODUCT_ID": pl.String,
                "PRODUCT_SUBCLASS": pl.String,
                "PIN_CODE": pl.String,
            }
        },
    ),
    "complete_journey": (
        "completejourney_sample/transactions_sample.csv.gz",
        {"schema_overrides": {"basket_id": pl.String}},
    ),
    # One product_id is written "9e+05" (by R): read as float, cast back to Int64 below.
    "complete_journey_products": (
        "completejourney_sample/products.csv.gz",
        {"schema_overrides": {"product_id": pl.Float64}},
    ),
    "movielens_100k": (
        "movielens_100k/u.data",
        {
            "separator": "\t",
            "has_header": False,
            "new_columns": ["user_id", "item_id", "rating", "timestamp"],
        },
    ),
    **{
        f"open_bandit_{policy}_{campaign}": (f"open_bandit/{policy}/{campaign}.csv.gz", {})
        for policy in ("random", "bts")
        for campaign in ("all", "men", "women")
    },
}


def shared_data_dir() -> Path:
    """The shared data folder: ``$RECSYS_DATA``, else the first ``shared/data`` found.

    Looked up in the working directory, the source checkout and all their parents
    (so ``../shared/data`` beside the checkout is found).
    Raises `InputDataError` when there is none.
    """
    env = os.environ.get("RECSYS_DATA")
    if env:
        path = Path(env)
        if not path.is_dir():
            raise InputDataError(f"RECSYS_DATA={env!r} is not a directory")
        return path
    # ``../shared/data`` beside the checkout; looking in every ancestor also finds it
    # from a git worktree or a sub-folder (notebooks, benchmarks).
    starts = [Path.cwd().resolve(), Path(__file__).resolve().parents[2]]
    candidates = list(
        dict.fromkeys(
            folder / "shared" / "data" for start in starts for folder in (start, *start.parents)
        )
    )
    for path in candidates:
        if path.is_dir():
            return path
    raise InputDataError(
        "shared data folder not found: set RECSYS_DATA to the folder holding the datasets "
        f"(looked for shared/data in {starts[0]}, {starts[1]} and their parents)"
    )


def load_shared(name: str) -> pl.DataFrame:
    """Read one dataset of the shared data folder as a raw polars DataFrame.

    Parameters
    ----------
    name
        One of `SHARED_DATASETS`: ``online_retail``, ``online_retail_ii``,
        ``ta_feng``, ``complete_journey``, ``complete_journey_products``,
        ``movielens_100k``, ``open_bandit_<random|bts>_<all|men|women>``.
        MovieLens is read in place and never copied (its license forbids
        redistribution).

    Raises
    ------
    InputDataError
        Unknown name, or the folder or file is absent.
    """
    if name not in SHARED_DATASETS:
        raise InputDataError(
            f"unknown shared dataset {name!r}; known: {', '.join(sorted(SHARED_DATASETS))}"
        )
    relative, options = SHARED_DATASETS[name]
    path = shared_data_dir() / relative
    if not path.is_file():
        raise InputDataError(f"dataset {name!r} not found at {path}")
    with reading(path):
        frame = pl.read_csv(path, **options)  # type: ignore[arg-type]
    if name.startswith("open_bandit") and frame.columns[0] in ("", "column_1"):
        frame = frame.drop(frame.columns[0])
    if name == "complete_journey_products":
        frame = frame.with_columns(pl.col("product_id").cast(pl.Int64, strict=True))
    return frame
