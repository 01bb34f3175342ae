"""Importing recsys has no process-wide effect and loads the heavy libraries on first use."""

from __future__ import annotations

import importlib

import pytest

import recsys
from tests._subprocess import run_with_threads

SUBPACKAGES = sorted(recsys._SUBPACKAGES)


def _run(code: str) -> str:
    return run_with_threads(code, 1).strip()


def test_import_loads_no_heavy_library_and_leaves_umask_and_tqdm_alone() -> None:
    out = _run(
        """
        import os, sys
        calls = []
        real_umask = os.umask
        os.umask = lambda mask: calls.append(mask) or real_umask(mask)
        before = set(sys.modules)
        import recsys
        loaded = sorted(
            name for name in set(sys.modules) - before
            if name.split(".")[0] in {"numba", "implicit", "matplotlib", "scipy", "tqdm", "polars"}
        )
        print(calls, loaded)
        """
    )
    assert out == "[] []"


def test_every_subpackage_imports_without_touching_umask_or_tqdm_auto() -> None:
    out = _run(
        f"""
        import os, sys
        calls = []
        real_umask = os.umask
        os.umask = lambda mask: calls.append(mask) or real_umask(mask)
        import recsys
        for name in {SUBPACKAGES!r}:
            getattr(recsys, name)
        import recsys._io, recsys._progress
        print(calls, [m for m in ("tqdm.auto", "tqdm.autonotebook") if m in sys.modules])
        """
    )
    assert out == "[] []"


@pytest.mark.parametrize("name", recsys.__all__)
def test_every_public_name_resolves_to_its_home(name: str) -> None:
    value = getattr(recsys, name)
    if name in SUBPACKAGES:
        assert value is importlib.import_module(f"recsys.{name}")
    elif name in recsys._HOMES:
        assert value is getattr(importlib.import_module(recsys._HOMES[name]), name)
    assert name in dir(recsys)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'pipeline'"):
        recsys.pipeline  # noqa: B018
    with pytest.raises(ImportError):
        exec("from recsys import run_demo", {})


def test_star_import_gives_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from recsys import *", namespace)
    assert set(recsys.__all__) <= set(namespace)
    assert namespace["ALS"] is recsys.models.ALS
