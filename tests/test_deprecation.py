"""warn_renamed: one DeprecationWarning naming the old and the new name."""

from __future__ import annotations

import doctest

import pytest

import recsys._deprecation
from recsys._deprecation import warn_renamed


def test_warn_renamed_points_at_the_caller_of_the_old_name() -> None:
    def old_function() -> None:
        warn_renamed("old_function", "recsys.new_function", "recsys.somewhere")

    with pytest.warns(DeprecationWarning, match=r"'old_function' in recsys\.somewhere") as caught:
        old_function()
    assert "recsys.new_function" in str(caught[0].message)
    assert caught[0].filename == __file__
    failures, _ = doctest.testmod(recsys._deprecation)
    assert failures == 0
