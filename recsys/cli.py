"""The ``recsys`` command line.

``recsys demo`` runs the main job on the bundled data; ``profile``, ``recommend``,
``evaluate`` and ``uplift`` run one step on your own CSV or Parquet file. Errors
in files or arguments exit with code 2 and a one-line message (``--debug`` shows
the traceback).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

from recsys.exceptions import InputDataError, RecsysError

__all__ = ["main"]


class _UsageError(Exception):
    """A bad command-line argument (reported on one line, exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, turned into exit code 2 by :func:`main`."""

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
        args.file, columns=parse_columns(args.columns), preset=args.preset
    )
    print(report, file=sys.stderr)
    return purchases


def _write(frame: pl.DataFrame, out: str | None, default_rows: int = 20) -> None:
    from recsys._io import atomic_path

    if out is None:
        with pl.Config(tbl_rows=default_rows, tbl_cols=-1, tbl_width_chars=120):
            print(frame)
        return
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputDataError(f"--out must end in .parquet or .csv, got {out!r}")
    with atomic_path(path) as tmp:
        frame.write_parquet(tmp) if suffix == ".parquet" else frame.write_csv(tmp)
    print(f"wrote {path} ({frame.height:,} rows)", file=sys.stderr)


def _cmd_demo(args: argparse.Namespace) -> None:
    from recsys.pipeline import DemoConfig, run_demo

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


def _model_names() -> tuple[str, ...]:
    from recsys.models import registry

    return registry.names()


def _cmd_recommend(args: argparse.Namespace) -> None:
    from recsys.data import Interactions

    purchases = _load_purchases(args)
    model = _make_model(args.model).fit(Interactions.from_purchases(purchases, as_of=args.as_of))
    if args.engine == "ray":
        import tempfile
        from pathlib import Path

        from recsys.distributed import recommend_batch

        if not args.out or Path(args.out).suffix:
            raise InputDataError("--engine ray writes a Parquet dataset: --out must name a folder")
        with tempfile.TemporaryDirectory() as folder:
            model.save(Path(folder) / "model.npz")
            info = recommend_batch(
                Path(folder) / "model.npz", k=args.k, out=args.out, ray_address=args.ray_address
            )
        print(f"wrote {info['rows']} rows for {info['users']} customers to {info['path']}")
        return
    _write(model.recommend(users=None, k=args.k), args.out)


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from recsys.evaluation import evaluate, temporal_split

    purchases = _load_purchases(args)
    split = temporal_split(purchases, cutoff=args.cutoff, horizon_days=args.horizon)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = sorted(set(names) - set(_model_names()))
    if unknown:
        raise InputDataError(
            f"--models: unknown model(s) {unknown}; choose from {', '.join(_model_names())}"
        )
    models = {name: _make_model(name) for name in names}
    table: Any
    if args.engine == "ray":
        from recsys.data import Interactions
        from recsys.distributed import evaluate_batch

        train = Interactions.from_purchases(split.train)
        fitted = {name: model.fit(train) for name, model in models.items()}
        table = evaluate_batch(
            fitted, split, k=[args.k], bootstrap=args.bootstrap, ray_address=args.ray_address
        )
    else:
        table = evaluate(
            models,
            split,
            k=[args.k],
            exclude_seen=None,
            bootstrap=args.bootstrap,
            fit=True,
            show_progress=False,
        )
    assert isinstance(table, pl.DataFrame)  # return_per_user=False
    _write(table, args.out, default_rows=100)


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


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process; ray: a Ray cluster (pip install 'recsys[ray]')",
    )
    parser.add_argument(
        "--ray-address",
        help="with --engine ray: the cluster to join ('auto', 'ray://head:10001'); "
        "default: a local Ray started for the run",
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="recsys",
        description="Personalized recommendation and customer retention for purchase histories.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
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
        choices=_model_names(),
        default="repeat_explore",
        help="the model to fit (default: repeat_explore, the buy-again / discover blend)",
    )
    recommend.add_argument("--k", type=_positive_int, default=10, help="items per customer")
    recommend.add_argument("--as-of", help="use only purchases before this date")
    _add_engine_options(recommend)
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
    _add_engine_options(evaluate)
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
    handler: Callable[[argparse.Namespace], Any] = args.handler
    try:
        handler(args)
    except (RecsysError, OSError) as err:
        if args.debug:
            raise
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"recsys {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
