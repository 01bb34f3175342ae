"""Run a snippet of Python in a fresh interpreter with chosen thread-count variables."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS", "POLARS_MAX_THREADS")


def run_with_threads(code: str, threads: int) -> str:
    """Stdout of ``code`` run with every thread-count variable set to ``threads``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    env.pop("OMP_NUM_THREADS", None)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def same_output_at_one_and_two_threads(code: str) -> str:
    """Stdout of ``code``, asserted byte-identical when run at 1 and at 2 threads."""
    one = run_with_threads(code, 1)
    two = run_with_threads(code, 2)
    assert one == two
    return one
