"""recsys._deprecation: one message for renamed parameters."""

from __future__ import annotations

import pytest

from recsys._deprecation import warn_renamed


def test_warn_renamed_points_at_the_caller_of_the_renamed_function() -> None:
    def renamed(**kwargs: object) -> None:
        warn_renamed("old", "new", "renamed")

    with pytest.warns(
        DeprecationWarning, match="renamed: the argument 'old' is renamed 'new'"
    ) as rec:
        renamed(old=1)
    assert rec[0].filename == __file__
