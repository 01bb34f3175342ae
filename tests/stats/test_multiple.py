"""Holm's adjustment: a hand-worked example and the NaN and cap rules."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.stats import holm


def test_holm_hand_example():
    # sorted 0.01, 0.03, 0.04 -> 0.03, 0.06, max(0.06, 0.04) = 0.06
    assert holm(np.array([0.01, 0.04, 0.03])).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm(np.array([0.5, np.nan]))[0] == 0.5
    assert holm(np.array([0.9, 0.8])).tolist() == [1.0, 1.0]  # 0.8·2 capped at 1
