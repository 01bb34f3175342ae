"""The ``recsys`` command line.

``recsys demo`` runs the main job on the bundled data; ``profile``, ``recommend``,
``evaluate``, ``uplift`` and ``actions`` run one step on your own CSV or Parquet file. Errors
in files or arguments exit with code 2 and a one-line message (``--debug`` shows
the traceback).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

from recsys.data.read import is_rust_panic
from recsys.exceptions import InputDataError, RecsysError

__all__ = ["main"]

OUTPUT_SUFFIXES = (".parquet", ".csv")


class _UsageError(Exception):
    """A bad command-line argument (reported on one line, exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, turned into exit code 2 by `main`."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def parse_columns(text: str | None) -> dict[str, str] | None:
    """``"user_id=CustomerID,item_id=StockCode"`` -> ``{"user_id": "CustomerID", ...}``."""
    if not text:
        return None
    mapping = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputDataError(
                f"--columns expects canonical=yours pairs like user_id=CustomerID, got {part!r}"
            )
        mapping[key.strip()] = value.strip()
    return mapping


def _load_purchases(args: argparse.Namespace) -> pl.DataFrame:
    from recsys.data import clean_purchases

    purchases, report = clean_purchases(
        args.file,
        columns=parse_columns(args.columns),
        preset=args.preset,
        timestamp_format=args.date_format,
        dayfirst=args.dayfirst,
        encoding=args.encoding,
    )
    print(report, file=sys.stderr)
    return purchases


def _check_out(out: str) -> str:
    suffix = Path(out).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InputDataError(
            f"--out must end in {' or '.join(OUTPUT_SUFFIXES)} (unsupported output format), "
            f"got {out!r}"
        )
    return suffix


def _model_names(text: str) -> list[str]:
    """The model names of ``--models`` (registry names), checked."""
    from recsys.models import registry

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = sorted(set(names) - set(registry.names()))
    if unknown or not names:
        raise InputDataError(
            f"--models: unknown model(s) {unknown}; choose from {', '.join(registry.names())}"
        )
    return names


def _check_args(args: argparse.Namespace) -> None:
    """Check every argument that can be checked before a file is read (fail fast)."""
    from recsys.data.timeutil import to_datetime

    for option in ("as_of", "cutoff"):
        value = getattr(args, option, None)
        if value is not None:
            to_datetime(value, f"--{option.replace('_', '-')}")
    if args.command != "demo" and getattr(args, "out", None) is not None:
        _check_out(args.out)
    if getattr(args, "models", None) is not None:
        _model_names(args.models)
    if getattr(args, "columns", None) is not None:
        parse_columns(args.columns)


def _write(frame: pl.DataFrame, out: str | None, default_rows: int = 20) -> None:
    from recsys._io import atomic_path

    if out is None:
        with pl.Config(tbl_rows=default_rows, tbl_cols=-1, tbl_width_chars=120):
            print(frame)
        return
    path = Path(out)
    suffix = _check_out(out)
    with atomic_path(path) as tmp:
        frame.write_parquet(tmp) if suffix == ".parquet" else frame.write_csv(tmp)
    print(f"wrote {path} ({frame.height:,} rows)", file=sys.stderr)


def _cmd_demo(args: argparse.Namespace) -> None:
    from recsys.demo import DemoConfig, run_demo

    start = time.perf_counter()
    run_demo(args.out, DemoConfig(sample_users=args.sample_users, bootstrap=args.bootstrap))
    print(f"done in {time.perf_counter() - start:.1f} s")


def _cmd_profile(args: argparse.Namespace) -> None:
    from recsys.profiles import build_profiles

    purchases = _load_purchases(args)
    _write(build_profiles(purchases, as_of=args.as_of), args.out)


def _make_model(name: str) -> Any:
    from recsys.models import registry

    return registry.get(name)()


def _cmd_recommend(args: argparse.Namespace) -> None:
    from recsys.data import Interactions

    purchases = _load_purchases(args)
    model = _make_model(args.model).fit(Interactions.from_purchases(purchases, as_of=args.as_of))
    _write(model.recommend(users=None, k=args.k), args.out)


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from recsys.data import Interactions
    from recsys.evaluation import evaluate, temporal_split

    purchases = _load_purchases(args)
    split = temporal_split(purchases, cutoff=args.cutoff, horizon_days=args.horizon)
    names = _model_names(args.models)
    train = Interactions.from_purchases(split.train)
    results = evaluate(
        {name: _make_model(name).fit(train) for name in names},
        split,
        k=[args.k],
        exclude_seen=None,
        bootstrap=args.bootstrap,
        show_progress=False,
    )
    _write(results.table, args.out, default_rows=100)


def _cmd_uplift(args: argparse.Namespace) -> None:
    from recsys.data.sources import to_frame
    from recsys.uplift import uplift_table

    frame = to_frame(args.file)
    if args.arm in frame.columns:  # labels typed on the command line are text
        frame = frame.with_columns(pl.col(args.arm).cast(pl.String))
    table = uplift_table(
        frame, arm=args.arm, outcome=args.outcome, control=args.control, by=args.by
    )
    _write(table, args.out)


def _cmd_actions(args: argparse.Namespace) -> None:
    from recsys.actions import retention_actions
    from recsys.data import Interactions
    from recsys.profiles import ProfileConfig, build_profiles, due_items

    purchases = _load_purchases(args)
    config = ProfileConfig(clv_horizon_days=args.clv_horizon)
    profiles = build_profiles(purchases, as_of=args.as_of, config=config)
    due = due_items(purchases, as_of=args.as_of, horizon_days=args.horizon)
    recs = None
    if args.model != "none":
        model = _make_model(args.model).fit(
            Interactions.from_purchases(purchases, as_of=args.as_of)
        )
        recs = model.recommend(users=None, k=args.k, on_unknown="skip")
    table = retention_actions(
        profiles,
        due=due,
        recommendations=recs,
        max_customers=args.max_customers,
        cost_per_contact=args.cost_per_contact,
        min_expected_value=args.min_expected_value,
        n_items=args.k,
    )
    if args.out is not None and args.out.lower().endswith(".csv"):  # CSV has no lists
        table = table.with_columns(pl.col("items").cast(pl.List(pl.String)).list.join(" "))
    _write(table, args.out)


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="purchases as CSV/TSV (optionally .gz) or Parquet")
    parser.add_argument(
        "--columns",
        help="map canonical names to yours: user_id=CustomerID,item_id=StockCode,"
        "timestamp=InvoiceDate,quantity=Quantity,price=UnitPrice,order_id=InvoiceNo",
    )
    parser.add_argument(
        "--preset", help="known layout: online_retail, online_retail_ii, ta_feng, complete_journey"
    )
    parser.add_argument("--out", help="output file (.parquet or .csv); default: print a preview")
    parser.add_argument(
        "--date-format",
        help="format of the timestamps, strftime syntax (e.g. '%%d/%%m/%%Y %%H:%%M') or "
        "unix_s, unix_ms, excel, yyyymmdd; default: decided from the data",
    )
    order = parser.add_mutually_exclusive_group()
    order.add_argument(
        "--dayfirst",
        dest="dayfirst",
        action="store_true",
        default=None,
        help="dates like 01/12/2009 are day-first (1 December)",
    )
    order.add_argument(
        "--monthfirst",
        dest="dayfirst",
        action="store_false",
        help="dates like 01/12/2009 are month-first (12 January)",
    )
    parser.add_argument("--encoding", help="text encoding of a CSV file (default: UTF-8)")


def _build_parser() -> argparse.ArgumentParser:
    from recsys.models import registry

    parser = _Parser(
        prog="recsys",
        description="Personalized recommendation and customer retention for purchase histories.",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show full tracebacks on errors (before or after the command)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = sub.add_parser(
        "demo",
        help="run the main job on the bundled Online Retail data",
        description="Run the whole workflow on the bundled UCI Online Retail data and write "
        "the outputs to --out.",
    )
    demo.add_argument("--out", default="recsys-demo", help="output folder (default: recsys-demo)")
    demo.add_argument(
        "--sample-users",
        type=_positive_int,
        default=None,
        help="run on a random sample of N customers",
    )
    demo.add_argument(
        "--bootstrap", type=_positive_int, default=1000, help="bootstrap resamples for the CIs"
    )
    demo.set_defaults(handler=_cmd_demo)

    profile = sub.add_parser(
        "profile",
        help="one profile row per customer (RFM, lifecycle, tier, churn risk)",
        description="Clean FILE and build customer profiles as of --as-of.",
    )
    _add_input_options(profile)
    profile.add_argument("--as-of", help="profile date (default: just after the last purchase)")
    profile.set_defaults(handler=_cmd_profile)

    recommend = sub.add_parser(
        "recommend",
        help="top-k recommendations for every customer",
        description="Clean FILE, fit --model on it and recommend --k items to every customer.",
    )
    _add_input_options(recommend)
    recommend.add_argument(
        "--model",
        choices=registry.names(),
        default="repeat_explore",
        help="the model to fit (default: repeat_explore, the buy-again / discover blend)",
    )
    recommend.add_argument("--k", type=_positive_int, default=10, help="items per customer")
    recommend.add_argument("--as-of", help="use only purchases before this date")
    recommend.set_defaults(handler=_cmd_recommend)

    evaluate = sub.add_parser(
        "evaluate",
        help="hit rate, NDCG and recall with confidence intervals on a time split",
        description="Clean FILE, train every model on purchases before --cutoff and evaluate "
        "them on the next --horizon days.",
    )
    _add_input_options(evaluate)
    evaluate.add_argument("--cutoff", required=True, help="split date, e.g. 2011-09-09")
    evaluate.add_argument("--horizon", type=_positive_int, default=90, help="test window in days")
    evaluate.add_argument(
        "--models",
        default="popular,repurchase,als,itemknn,repeat_explore",
        help="comma-separated model names (registry names, as for recommend --model)",
    )
    evaluate.add_argument("--k", type=_positive_int, default=10)
    evaluate.add_argument("--bootstrap", type=_positive_int, default=1000)
    evaluate.set_defaults(handler=_cmd_evaluate)

    uplift = sub.add_parser(
        "uplift",
        help="uplift of each treatment arm over the control, with intervals",
        description="Read an experiment table (one row per customer) and compare each arm "
        "with --control on --outcome.",
    )
    uplift.add_argument("file", help="experiment table as CSV/TSV (optionally .gz) or Parquet")
    uplift.add_argument("--arm", required=True, help="column holding the arm of each customer")
    uplift.add_argument("--control", required=True, help="label of the control arm")
    uplift.add_argument("--outcome", required=True, help="0/1 or numeric outcome column")
    uplift.add_argument("--by", help="segment column: one table per segment")
    uplift.add_argument("--out", help="output file (.parquet or .csv); default: print")
    uplift.set_defaults(handler=_cmd_uplift)

    actions = sub.add_parser(
        "actions",
        help="the retention action list: win back, replenish, cross-sell, onboard",
        description="Clean FILE, build profiles (with CLV), items due and recommendations as "
        "of --as-of, and write one action per customer (rs.retention_actions default rules).",
    )
    _add_input_options(actions)
    actions.add_argument("--as-of", required=True, help="decision date, e.g. 2011-09-09")
    actions.add_argument(
        "--horizon", type=_positive_int, default=30, help="days ahead for items due (default 30)"
    )
    actions.add_argument(
        "--clv-horizon", type=_positive_int, default=365, help="CLV horizon in days (default 365)"
    )
    actions.add_argument(
        "--model",
        choices=(*registry.names(), "none"),
        default="repeat_explore",
        help="recommender for cross-sell / win-back / onboard items (none: no items)",
    )
    actions.add_argument("--k", type=_positive_int, default=5, help="items per customer")
    actions.add_argument("--max-customers", type=_positive_int, help="contact at most N customers")
    actions.add_argument("--cost-per-contact", type=float, help="cost of one contact")
    actions.add_argument(
        "--min-expected-value", type=float, help="minimum value at stake net of the cost"
    )
    actions.set_defaults(handler=_cmd_actions)
    return parser


class _OneLine(logging.Formatter):
    """``warning: <message on one line>``: no source path, no code line."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {' '.join(record.getMessage().split())}"


def _message_only(message: Warning | str, *args: Any, **kwargs: Any) -> str:
    return str(message)


@contextmanager
def _warnings_as_log_lines() -> Iterator[None]:
    """Route library warnings through the ``recsys`` logger, one line each on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    loggers = [logging.getLogger("recsys"), logging.getLogger("py.warnings")]
    saved = [(lg.propagate, lg.level) for lg in loggers]
    saved_format = warnings.formatwarning
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.WARNING)
    warnings.formatwarning = _message_only
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        warnings.formatwarning = saved_format
        for logger, (propagate, level) in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.propagate, logger.level = propagate, level


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``recsys`` command; returns the exit code."""
    parser = _build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    end = argv.index("--") if "--" in argv else len(argv)
    debug = "--debug" in argv[:end]  # accepted before or after the command
    argv = [a for i, a in enumerate(argv) if not (a == "--debug" and i < end)]
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
    handler: Callable[[argparse.Namespace], Any] = args.handler
    try:
        with _warnings_as_log_lines():
            _check_args(args)
            handler(args)
    except BaseException as err:
        file_error = isinstance(err, (RecsysError, OSError, pl.exceptions.PolarsError))
        if debug or not (file_error or is_rust_panic(err)):
            raise
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"recsys {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
