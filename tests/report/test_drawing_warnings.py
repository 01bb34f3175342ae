"""matplotlib's own warnings while the page is drawn go to the log, not among the
report's warnings (walk #9: a one-customer file's plots have axes with identical limits)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

import recsys as rs
from recsys.exceptions import DataWarning
from recsys.job import JobConfig
from tests.profiles.test_lifecycle_few import _one_customer


def test_one_customer_page_logs_matplotlib_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rs.job.run(_one_customer(), JobConfig(models=("popular",), bootstrap=10))
    caplog.set_level(logging.INFO, logger="recsys.report")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rs.report.write(result, tmp_path)
    assert [w for w in caught if not issubclass(w.category, DataWarning)] == []
    logged = [r.getMessage() for r in caplog.records if r.name == "recsys.report"]
    assert any("identical low and high" in m for m in logged)
    assert (tmp_path / "report.html").exists()
