"""Every config declares what each field accepts; a wrong value names the field."""

from __future__ import annotations

import dataclasses

import pytest

from recsys.evaluation import SampledNegatives
from recsys.job import JobConfig
from recsys.profiles import ProfileConfig

CONFIGS = [ProfileConfig, SampledNegatives, JobConfig]


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_every_field_is_declared_and_checked(cls) -> None:
    import recsys as rs

    fields = [f.name for f in dataclasses.fields(cls)]
    assert set(cls._parameter_constraints) == set(fields)
    for name in fields:
        for bad in (object(), "x", float("nan")):
            if isinstance(getattr(cls(), name), str) and bad == "x":
                continue  # a string is a valid value of a text field
            with pytest.raises(rs.InputDataError, match=rf"{cls.__name__}\({name}="):
                cls(**{name: bad})
    cls()  # the defaults are valid
