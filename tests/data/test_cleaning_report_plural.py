"""The cleaning account's lines agree with their counts (``1 row``, ``2 rows``)."""

from __future__ import annotations

import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import DataWarning


def _frame(n: int) -> pl.DataFrame:
    """``n`` duplicated lines, ``n`` returns and ``n`` items with two names each."""
    items = [f"i{j}" for j in range(n)]
    return pl.DataFrame(
        {
            "user_id": [1] * 4 * n,
            "item_id": items * 4,
            "timestamp": ["2024-01-02"] * 2 * n + ["2024-01-03"] * n + ["2024-01-04"] * n,
            "quantity": [1.0] * 3 * n + [-1.0] * n,
            "name": ["MUG"] * 3 * n + ["Mug"] * n,
        }
    )


@pytest.mark.parametrize(
    ("n", "lines"),
    [
        (
            1,
            [
                "1 exact duplicate row kept",
                "1 return/cancellation row kept, flagged is_return (counted in rows out)",
                "1 item id carries several names in column 'name'; it keeps its most frequent name",
            ],
        ),
        (
            2,
            [
                "2 exact duplicate rows kept",
                "2 return/cancellation rows kept, flagged is_return (counted in rows out)",
                "2 item ids carry several names in column 'name'; each keeps its most "
                "frequent name",
            ],
        ),
    ],
)
def test_the_account_agrees_with_its_counts(n: int, lines: list[str]) -> None:
    columns = {"item_name": "name"}
    with pytest.warns(DataWarning, match="several names") as caught:
        _, report = rs.clean_purchases(_frame(n), columns=columns, keep_returns=True)
    assert [line for line in report.remarks if line in lines] == lines
    assert str(caught[0].message) == lines[-1]  # the warning is the account's note
    assert report.exact_duplicates == n
    assert report.returns_kept == n
