"""Shared fixtures: the bundled Online Retail purchases and the shared data folder."""

from __future__ import annotations

import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import InputDataError


@pytest.fixture(scope="session")
def online_retail_raw() -> pl.DataFrame:
    return rs.datasets.online_retail()


@pytest.fixture(scope="session")
def online_retail(online_retail_raw: pl.DataFrame) -> pl.DataFrame:
    """Canonical purchases of the full bundled Online Retail table."""
    purchases, _ = rs.clean_purchases(online_retail_raw, preset="online_retail")
    return purchases


def shared_dataset(name: str) -> pl.DataFrame:
    """A dataset of the shared data folder, or skip the test with the reason."""
    try:
        return rs.datasets.load_shared(name)
    except InputDataError as err:
        pytest.skip(f"shared dataset {name!r} not available: {err}")
