"""Files are untrusted input: a damaged Parquet file is read or refused, never a crash."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import json, sys, warnings
    import polars as pl
    import recsys as rs

    warnings.simplefilter("ignore")
    path = sys.argv[1]
    raw = rs.datasets.online_retail().head(2000)
    raw.write_parquet(path)
    data = open(path, "rb").read()
    counts = {"read": 0, "refused": 0}
    step = max(1, len(data) // 500)
    for pos in range(0, len(data), step):
        flipped = bytearray(data)
        flipped[pos] ^= 0xFF
        open(path + ".x.parquet", "wb").write(flipped)
        try:
            purchases, report = rs.clean_purchases(path + ".x.parquet", preset="online_retail")
        except rs.InputDataError:
            counts["refused"] += 1
            continue
        except BaseException as err:
            print("ESCAPED", pos, type(err).__module__, type(err).__name__, str(err)[:200])
            sys.exit(3)
        assert report.rows_in == report.rows_out + sum(report.dropped.values())
        counts["read"] += 1
    print(json.dumps(counts))
    """
)


def test_every_flipped_byte_of_a_parquet_file_is_read_or_refused(tmp_path: Path) -> None:
    """About 500 single-byte flips; a reader panic or a crash fails (subprocess)."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "export.parquet")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["refused"] > 0
