"""Customers with only return rows are kept (flagged) but are in no purchase count:
the cleaning report says how many, so they are not left out silently."""

import polars as pl

import recsys as rs


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [1, 1, 2, 3, 3, 4],
            "item_id": ["a", "a", "b", "c", "c", "d"],
            "timestamp": [
                "2024-01-02",
                "2024-01-09",
                "2024-01-03",
                "2024-01-04",
                "2024-01-05",
                "2024-01-06",
            ],
            "quantity": [2.0, -1.0, -1.0, -1.0, -2.0, 1.0],
        }
    )


def test_return_only_customers_are_counted_in_a_note() -> None:
    purchases, report = rs.clean_purchases(_frame(), keep_returns=True)
    assert report.n_users == 2  # customers 1 and 4 bought; 2 and 3 only returned
    assert purchases["user_id"].n_unique() == 4
    notes = [n for n in report.remarks if "only return rows" in n]
    assert len(notes) == 1
    assert notes[0].startswith("2 customers have only return rows")


def test_no_note_when_every_customer_bought() -> None:
    frame = _frame().filter(pl.col("user_id").is_in([1, 4]))
    _, report = rs.clean_purchases(frame, keep_returns=True)
    assert not [n for n in report.remarks if "only return rows" in n]
