"""Build recsys/datasets/online_retail.parquet from the shared UCI Online Retail CSV.

Usage: python scripts/make_bundled_data.py [path/to/online_retail.csv.gz]

The Parquet file keeps every row and column of the original (541,909 rows) with
typed columns; InvoiceDate is parsed to a datetime (UK local clock time).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
TARGET = ROOT / "recsys" / "datasets" / "online_retail.parquet"
SHA256 = "700cef8714f410b087e21c11f3afecf863c0f007bdcbdf746843bfc2c54b0d79"


def main(source: Path = DEFAULT_SOURCE) -> None:
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != SHA256:
        sys.exit(f"{source}: sha256 {digest} is not the documented {SHA256}")
    raw = pl.read_csv(
        source,
        schema={
            "InvoiceNo": pl.String,
            "StockCode": pl.String,
            "Description": pl.String,
            "Quantity": pl.Int32,
            "InvoiceDate": pl.String,
            "UnitPrice": pl.Float64,
            "CustomerID": pl.Int32,
            "Country": pl.Categorical,
        },
    ).with_columns(pl.col("InvoiceDate").str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S"))
    assert raw.height == 541_909, raw.height
    tmp = TARGET.with_suffix(".tmp")
    raw.write_parquet(tmp, compression="zstd", compression_level=22, statistics=False)
    tmp.replace(TARGET)
    print(f"wrote {TARGET} ({TARGET.stat().st_size / 1e6:.1f} MB, {raw.height:,} rows)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)
