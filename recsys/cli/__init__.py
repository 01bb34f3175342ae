"""The ``recsys`` command line.

``recsys report FILE`` runs the main job on your own CSV or Parquet file and writes an
HTML report; ``recsys demo`` is the same on the bundled data; ``profile``,
``recommend``, ``evaluate``, ``uplift`` and ``actions`` run one step. The commands
parse arguments, call the library and print; errors in files or arguments exit
with code 2 and a one-line message in the words of the command line (``--debug``
shows the traceback). Slow steps draw progress bars on a terminal; previews fit
the terminal (``--out`` writes the full table).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from recsys.cli.common import (
    UsageError,
    check_args,
    in_cli_words,
    preview,
    warnings_as_log_lines,
)
from recsys.cli.parser import build_parser
from recsys.data.read import is_rust_panic
from recsys.exceptions import RecsysError

__all__ = ["main", "preview"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``recsys`` command; returns the exit code."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    end = argv.index("--") if "--" in argv else len(argv)
    debug = "--debug" in argv[:end]  # accepted before or after the command
    argv = [a for i, a in enumerate(argv) if not (a == "--debug" and i < end)]
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        print(err, file=sys.stderr)
        return 2
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    if args.command is None:
        parser.print_help()
        return 0
    handler: Callable[[argparse.Namespace], Any] = args.handler
    try:
        with warnings_as_log_lines():
            check_args(args)
            handler(args)
    except BaseException as err:
        file_error = isinstance(err, (RecsysError, OSError, pl.exceptions.PolarsError))
        if debug or not (file_error or is_rust_panic(err)):
            raise
        message = " ".join(in_cli_words(err).split()) or type(err).__name__
        print(f"recsys {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0
