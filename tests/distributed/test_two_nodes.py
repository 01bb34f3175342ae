"""One test on a two-node Ray cluster on localhost (``ray start --head`` + ``ray start``).

The nodes run with ``--block`` in their own process groups, and the test stops
exactly those groups at the end (``ray stop --force`` would also stop every
other Ray instance running on the machine); it then removes the
``ray_current_cluster`` file ``ray start --head`` wrote (in the session's
``RAY_TMPDIR``, see `no_ray_left_behind`), which only ``ray stop`` would remove.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

import recsys as rs
from tests.distributed.conftest import import_ray

DRIVER = """
import sys, time, ray, recsys as rs
ray.init(address="{address}", log_to_driver=False)
deadline = time.monotonic() + 90
while len([n for n in ray.nodes() if n["Alive"]]) < 2:
    assert time.monotonic() < deadline, "the second node did not join"
    time.sleep(0.5)
users = [int(u) for u in sys.argv[1:]]
engine = rs.engine.Ray(address="{address}", item_shards=2, batch_size=256, out="{out}")
rs.load_model("{model}").recommend(users, k=5, engine=engine)
print("nodes", len([n for n in ray.nodes() if n["Alive"]]))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"the Ray head did not listen on port {port}")


def _stop(node: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(node.pid, signal.SIGTERM)
        node.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.pid, signal.SIGKILL)


def test_two_node_cluster(
    worker_env: None,
    no_ray_left_behind: Path,
    als: rs.ALS,
    model_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import_ray()
    # A throwaway cluster bound to the loopback interface: no token to generate and share.
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    ray_cli = str(Path(sys.executable).with_name("ray"))
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = ["--block", "--num-cpus=1", "--disable-usage-stats", "--node-ip-address=127.0.0.1"]
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        head = [ray_cli, "start", "--head", f"--port={port}", "--include-dashboard=false"]
        nodes.append(
            subprocess.Popen([*head, *common], start_new_session=True, stdout=subprocess.DEVNULL)
        )
        _wait_for_port(port)
        nodes.append(
            subprocess.Popen(
                [ray_cli, "start", f"--address={address}", *common],
                start_new_session=True,
                stdout=subprocess.DEVNULL,
            )
        )
        # The driver runs in a fresh process: this one may have run a local cluster already.
        users = als.users_.ids.head(600).to_list()
        driver = DRIVER.format(address=address, model=str(model_path), out=str(tmp_path / "recs"))
        done = subprocess.run(
            [sys.executable, "-c", driver, *map(str, users)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.split()[-2:] == ["nodes", "2"]
        got = pl.read_parquet(sorted((tmp_path / "recs").glob("*.parquet")))
        assert got.equals(als.recommend(users, k=5))
    finally:
        for node in reversed(nodes):
            _stop(node)
        (no_ray_left_behind / "ray" / "ray_current_cluster").unlink(missing_ok=True)
