"""Smoke test of a base install (``pip install . pandas``, no extras): pandas in and out.

Run by ``make test`` in a separate virtual environment, so that a dependency the
library needs but only an extra installs (pyarrow for pandas, say) fails CI.
"""

from __future__ import annotations

import sys

import pandas as pd

import recsys as rs


def main() -> None:
    assert "site-packages" in rs.__file__, f"not the installed package: {rs.__file__}"
    raw = rs.datasets.online_retail().head(30_000).to_pandas()
    assert isinstance(raw, pd.DataFrame)
    purchases, report = rs.clean_purchases(raw, preset="online_retail")
    assert report.rows_in == report.rows_out + sum(report.dropped.values())
    profiles = rs.build_profiles(purchases).to_pandas()
    assert isinstance(profiles, pd.DataFrame)
    assert len(profiles) > 0
    model = rs.Popular().fit(rs.Interactions.from_purchases(purchases))
    recs = model.recommend(users=pd.Series(profiles["user_id"].head(5)), k=3).to_pandas()
    assert list(recs.columns) == ["user_id", "item_id", "score", "rank"]
    for optional in ("ray", "matplotlib", "pytest"):
        assert optional not in sys.modules, f"import recsys imported {optional}"
    print(f"base install: ok ({len(profiles):,} profiles, recsys {rs.__version__})")


if __name__ == "__main__":
    main()
