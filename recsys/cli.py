"""The ``recsys`` command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

from recsys.exceptions import RecsysError

__all__ = ["main"]


class _UsageError(Exception):
    """A bad command-line argument (reported on one line, exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse prints usage + exits; we return 2
        raise _UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="recsys",
        description="Personalized recommendation and customer retention for purchase histories.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="run the main job on the bundled Online Retail data",
        description=(
            "Clean the bundled UCI Online Retail data, print the cleaning report and an "
            "interaction-matrix summary, and write the canonical purchases to --out."
        ),
    )
    demo.add_argument("--out", default="recsys-demo", help="output folder (default: recsys-demo)")
    demo.add_argument(
        "--sample-users",
        type=_positive_int,
        default=None,
        help="run on a random sample of N customers",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``recsys`` command; returns the exit code."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        print(err, file=sys.stderr)
        return 2
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "demo":
            from recsys.pipeline import run_demo

            start = time.perf_counter()
            run_demo(args.out, sample_users=args.sample_users)
            print(f"done in {time.perf_counter() - start:.1f} s")
    except (RecsysError, OSError) as err:
        if args.debug:
            raise
        print(f"recsys {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
