"""Source readers and the parsing of as_of / cutoff arguments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from recsys.data.sources import to_frame, to_lazyframe
from recsys.data.timeutil import to_datetime
from recsys.exceptions import InputDataError


def test_to_frame_accepts_every_source(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", "007"]})
    assert to_frame(frame) is frame
    assert to_frame(frame.lazy()).equals(frame)
    pytest.importorskip("pandas")
    assert to_frame(frame.to_pandas()).equals(frame)
    path = tmp_path / "t.csv"
    frame.write_csv(path)
    assert to_lazyframe(path, string_columns=["b"]).collect()["b"].to_list() == ["x", "007"]


def test_string_columns_keep_zero_padding(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("code,n\n007,1\n010,2\n")
    assert to_frame(path)["code"].to_list() == [7, 10]
    assert to_lazyframe(path, ["code"]).collect()["code"].to_list() == ["007", "010"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2011-09-09", datetime(2011, 9, 9)),
        (" 2011-09-09 10:30 ", datetime(2011, 9, 9, 10, 30)),
        ("2011-09-09T10:30:00+02:00", datetime(2011, 9, 9, 10, 30)),
        (date(2011, 9, 9), datetime(2011, 9, 9)),
        (datetime(2011, 9, 9, 1, tzinfo=UTC), datetime(2011, 9, 9, 1)),
        (np.datetime64("2011-09-09T12:00"), datetime(2011, 9, 9, 12)),
    ],
)
def test_to_datetime(value: object, expected: datetime) -> None:
    assert to_datetime(value) == expected


@pytest.mark.parametrize("value", ["09/09/2011x", 20110909, None])
def test_to_datetime_errors(value: object) -> None:
    with pytest.raises(InputDataError, match="cutoff must be"):
        to_datetime(value, "cutoff")


def test_doctests_of_the_readers() -> None:
    import doctest

    from recsys.data import read, timestamps

    for module in (read, timestamps):
        failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert tried > 0
        assert failures == 0, module.__name__
