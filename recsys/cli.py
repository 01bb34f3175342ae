"""The ``recsys`` command line.

``recsys report FILE`` runs the main job on your own CSV or Parquet file and writes an
HTML report; ``recsys demo`` is the same on the bundled data; ``profile``,
``recommend``, ``evaluate``, ``uplift`` and ``actions`` run one step. Errors in files
or arguments exit with code 2 and a one-line message (``--debug`` shows the
traceback). Slow steps draw progress bars on a terminal; previews fit the terminal
(``--out`` writes the full table).
"""

from __future__ import annotations

import argparse
import logging
import shutil
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


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: X)`` for every option with a value default; options whose
    default is None say in their help what happens without them."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or isinstance(action.default, bool):
            return action.help
        if action.default == "":
            return f"{action.help} (default: none)"
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, turned into exit code 2 by `main`;
    every ``--help`` shows the defaults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def _progress(**kwargs: Any) -> Any:
    """A step progress bar on stderr, drawn only when stderr is a terminal."""
    from recsys._progress import tqdm

    return tqdm(disable=None, file=sys.stderr, leave=False, **kwargs)


@contextmanager
def _steps(labels: Sequence[str]) -> Iterator[Callable[[str], None]]:
    """A bar over the named steps of a command; call the yielded function to start a step."""
    bar = _progress(total=len(labels), desc=labels[0] if labels else "")
    started = [False]

    def start(label: str) -> None:
        if started[0]:
            bar.update(1)
        started[0] = True
        bar.set_description(label)

    try:
        yield start
    finally:
        bar.close()


def _interactive() -> bool:
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _parse_value(text: str) -> Any:
    """``128`` -> 128, ``0.1`` -> 0.1, ``true`` -> True, ``none`` -> None, else the text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_params(items: Sequence[str] | None) -> dict[str, Any]:
    """``["factors=128", "regularization=10"]`` -> ``{"factors": 128, "regularization": 10}``."""
    params: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputDataError(f"--param expects name=value like factors=128, got {item!r}")
        params[key.strip()] = _parse_value(value)
    return params


def parse_ratio(text: str | None) -> list[tuple[str | None, float]] | None:
    """``"0.9,0.1"`` or ``"treatment=0.9,control=0.1"`` -> ``[(label or None, share), ...]``."""
    if not text:
        return None
    pairs: list[tuple[str | None, float]] = []
    for part in text.split(","):
        label, sep, share = part.rpartition("=") if "=" in part else ("", "", part)
        try:
            value = float(share)
        except ValueError:
            raise InputDataError(
                f"--expected-ratio expects shares like 0.9,0.1 or treatment=0.9,control=0.1, "
                f"got {part!r}"
            ) from None
        if not value > 0:
            raise InputDataError(f"--expected-ratio shares must be > 0, got {part!r}")
        pairs.append((label.strip() if sep else None, value))
    if len({label is None for label, _ in pairs}) > 1:
        raise InputDataError("--expected-ratio: give either all shares bare or all as arm=share")
    return pairs


def _int_at_least(minimum: int, what: str) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum`` (``what`` names it in the message)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_non_negative_int = _int_at_least(0, "an integer >= 0")


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


def _clean_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "columns": parse_columns(args.columns),
        "preset": args.preset,
        "timestamp_format": args.date_format,
        "dayfirst": args.dayfirst,
        "encoding": args.encoding,
    }


def _load_purchases(args: argparse.Namespace) -> pl.DataFrame:
    from recsys.data import clean_purchases

    purchases, report = clean_purchases(args.file, **_clean_options(args))
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

    dates = {}
    for option in ("as_of", "cutoff"):
        value = getattr(args, option, None)
        if value is not None:
            dates[option] = to_datetime(value, f"--{option.replace('_', '-')}")
    if args.command == "report" and len(dates) == 2 and dates["cutoff"] >= dates["as_of"]:
        raise InputDataError(
            f"--cutoff {args.cutoff} must be before --as-of {args.as_of}: the models are "
            "evaluated on the days after the cutoff, the decisions are taken at --as-of"
        )
    dataset_out = args.command in ("recommend", "profile") and getattr(args, "engine", "") == "ray"
    if dataset_out and (not args.out or Path(args.out).suffix):
        raise InputDataError("--engine ray writes a Parquet dataset: --out must name a folder")
    if args.command not in ("demo", "report") and getattr(args, "out", None) and not dataset_out:
        _check_out(args.out)
    if getattr(args, "models", None) is not None:
        _model_names(args.models)
    if getattr(args, "columns", None) is not None:
        parse_columns(args.columns)
    if getattr(args, "expected_ratio", None) is not None:
        parse_ratio(args.expected_ratio)
    if hasattr(args, "param"):
        names = (
            _model_names(args.models)
            if getattr(args, "models", None)
            else [args.model]
            if getattr(args, "model", "none") != "none"
            else []
        )
        params = parse_params(args.param)
        if params and not names:
            raise InputDataError("--param needs a model (--model none fits no model)")
        for name in names:
            _make_model(name, params, getattr(args, "seed", 0), strict=len(names) == 1)
        unused = set(params) - {p for n in names for p in _accepted(n)}
        if unused:
            raise InputDataError(
                f"--param {sorted(unused)[0]}: no model of {names} has this parameter; "
                + "; ".join(f"{n}: {', '.join(sorted(_accepted(n)))}" for n in names)
            )


#: The columns a terminal preview shows, per command (the full frame goes to --out).
PREVIEW_COLUMNS = {
    "profile": (
        "user_id",
        "lifecycle_stage",
        "tier",
        "rfm_segment",
        "frequency",
        "monetary",
        "recency_days",
        "churn_risk",
    ),
    "recommend": ("user_id", "rank", "item_id", "score"),
    "evaluate": ("model", "metric", "k", "mode", "value", "ci_low", "ci_high", "n_users"),
    "actions": ("user_id", "action", "value_at_stake", "priority", "items"),
    "uplift": ("arm", "n", "rate", "control_rate", "uplift", "ci_low", "ci_high", "p_value"),
}


def preview(frame: pl.DataFrame, command: str, rows: int = 10, width: int | None = None) -> str:
    """A preview that fits the terminal: key columns, a few rows, and what was left out."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    keep = [c for c in PREVIEW_COLUMNS.get(command, ()) if c in frame.columns] or frame.columns
    shown = frame
    if command == "evaluate" and "segment" in frame.columns:
        shown = frame.filter(pl.col("segment") == "all")
    while True:  # drop trailing columns until a row fits
        with pl.Config(
            tbl_rows=rows,
            tbl_cols=-1,
            tbl_width_chars=60_000,  # never wrapped: measured, then columns dropped
            tbl_hide_dataframe_shape=True,
            tbl_hide_column_data_types=True,
            fmt_str_lengths=24,
            float_precision=3,
            tbl_formatting="UTF8_FULL_CONDENSED",
        ):
            text = str(shown.head(rows).select(keep))
        if len(keep) <= 2 or max(len(line) for line in text.splitlines()) <= width:
            break
        keep = keep[:-1]
    hidden = [c for c in frame.columns if c not in keep]
    footer = f"{frame.height:,} rows x {frame.width} columns"
    if frame.height > rows or hidden:
        footer += f"; showing {min(rows, shown.height)} rows"
        if hidden:
            footer += f" and {len(keep)} columns (not shown: {', '.join(hidden[:8])}"
            footer += ", ...)" if len(hidden) > 8 else ")"
        footer += ". Write everything with --out FILE.parquet or FILE.csv"
    return f"{text}\n{footer}"


def _write(frame: pl.DataFrame, out: str | None, command: str = "", rows: int = 10) -> None:
    from recsys._io import atomic_path

    if out is None:
        print(preview(frame, command, rows))
        return
    path = Path(out)
    suffix = _check_out(out)
    with atomic_path(path) as tmp:
        frame.write_parquet(tmp) if suffix == ".parquet" else frame.write_csv(tmp)
    print(f"wrote {path} ({frame.height:,} rows)", file=sys.stderr)


def _cmd_demo(args: argparse.Namespace) -> None:
    from recsys.demo import DemoConfig, run_demo

    start = time.perf_counter()
    config = DemoConfig(
        sample_users=args.sample_users,
        bootstrap=args.bootstrap,
        seed=args.seed,
        currency=args.currency,
    )
    run_demo(args.out, config, show_progress=_interactive())
    print(f"done in {time.perf_counter() - start:.1f} s")


def _cmd_report(args: argparse.Namespace) -> None:
    from recsys.demo import DemoConfig, run_report

    start = time.perf_counter()
    config = DemoConfig(
        cutoff=args.cutoff,
        horizon_days=args.horizon,
        k=args.k,
        bootstrap=args.bootstrap,
        seed=args.seed,
        dataset=args.title or Path(args.file).name,
        as_of=args.as_of,
        currency=args.currency,
        clv_horizon_days=args.clv_horizon,
        due_horizon_days=args.due_horizon,
    )
    run_report(
        args.file,
        args.out,
        config,
        description=args.description,
        show_progress=_interactive(),
        **_clean_options(args),
    )
    print(f"done in {time.perf_counter() - start:.1f} s")


def _cmd_profile(args: argparse.Namespace) -> None:
    from recsys.profiles import build_profiles

    with _steps(["read and clean", "profile customers"]) as step:
        step("read and clean")
        purchases = _load_purchases(args)
        step("profile customers")
        if args.engine == "ray":
            _profile_on_ray(purchases, args)
            return
        profiles = build_profiles(purchases, as_of=args.as_of)
    _write(profiles, args.out, "profile")


def _profile_on_ray(purchases: pl.DataFrame, args: argparse.Namespace) -> None:
    """``profile --engine ray``: shards of customers through the cluster's object store."""
    from recsys.engine import Ray
    from recsys.profiles import build_profiles

    written = build_profiles(
        purchases, as_of=args.as_of, engine=Ray(address=args.ray_address, out=args.out)
    )
    assert isinstance(written, pl.LazyFrame)  # Ray(out=...) returns the files, scanned
    rows = written.select(pl.len()).collect().item()
    print(f"wrote {rows:,} profiles to {args.out}")


def _accepted(name: str) -> set[str]:
    from recsys.models import registry

    return set(registry.get(name)().get_params(deep=False))


def _make_model(
    name: str, params: dict[str, Any] | None = None, seed: int = 0, *, strict: bool = True
) -> Any:
    """The registry model ``name`` with the ``--param`` values it accepts and ``--seed``.

    Values are checked against the model's ``_parameter_constraints`` here, before
    any data is read. With ``strict``, a parameter the model lacks is an error.
    """
    from recsys.models import registry

    cls = registry.get(name)
    accepted = _accepted(name)
    params = dict(params or {})
    unknown = sorted(set(params) - accepted)
    if unknown and strict:
        raise InputDataError(
            f"--param {unknown[0]}: {cls.__name__} has no such parameter; "
            f"its parameters: {', '.join(sorted(accepted))}"
        )
    chosen = {k: v for k, v in params.items() if k in accepted}
    if "random_state" in accepted and "random_state" not in chosen:
        chosen["random_state"] = seed
    if "show_progress" in accepted and "show_progress" not in chosen:
        chosen["show_progress"] = False
    model = cls(**chosen)
    model._validate_params()
    return model


def _cmd_recommend(args: argparse.Namespace) -> None:
    from recsys.data import Interactions

    params = parse_params(args.param)
    with _steps(["read and clean", f"fit {args.model}", "recommend"]) as step:
        step("read and clean")
        purchases = _load_purchases(args)
        step(f"fit {args.model}")
        model = _make_model(args.model, params, args.seed)
        model.fit(Interactions.from_purchases(purchases, as_of=args.as_of))
        step("recommend")
        if args.engine == "ray":
            _recommend_on_ray(model, args)
            return
        recs = model.recommend(users=None, k=args.k, show_progress=_interactive())
    _write(recs, args.out, "recommend")


def _recommend_on_ray(model: Any, args: argparse.Namespace) -> None:
    """``recommend --engine ray``: score every customer on the cluster."""
    from recsys.engine import Ray

    written = model.recommend(k=args.k, engine=Ray(address=args.ray_address, out=args.out))
    counts = written.select(pl.len(), pl.col("user_id").n_unique()).collect().row(0)
    print(f"wrote {counts[0]:,} rows for {counts[1]:,} customers to {args.out}")


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from recsys.data import Interactions
    from recsys.evaluation import evaluate, temporal_split

    names = _model_names(args.models)
    params = parse_params(args.param)
    with _steps(["read and clean", *(f"fit {n}" for n in names), "evaluate"]) as step:
        step("read and clean")
        purchases = _load_purchases(args)
        split = temporal_split(purchases, cutoff=args.cutoff, horizon_days=args.horizon)
        train = Interactions.from_purchases(split.train)
        models = {}
        for name in names:
            step(f"fit {name}")
            models[name] = _make_model(name, params, args.seed, strict=False).fit(train)
        step("evaluate")
        from recsys.engine import Local, Ray

        table = evaluate(
            models,
            split,
            k=[args.k],
            exclude_seen=None,
            bootstrap=args.bootstrap,
            seed=args.seed,
            show_progress=_interactive(),
            engine=Ray(address=args.ray_address) if args.engine == "ray" else Local(),
        ).table
    _write(table, args.out, "evaluate", rows=40)


def _cmd_uplift(args: argparse.Namespace) -> None:
    from recsys.data.sources import to_frame
    from recsys.uplift import uplift_table

    frame = to_frame(args.file)
    if args.arm in frame.columns:  # labels typed on the command line are text
        frame = frame.with_columns(pl.col(args.arm).cast(pl.String))
    unit = args.unit
    if unit in frame.columns:
        repeated = frame[unit].is_duplicated()
        if repeated.any():
            example = frame[unit].filter(repeated)[0]
            raise InputDataError(
                f"the experiment table has {frame.height:,} rows for "
                f"{frame[unit].n_unique():,} values of the unit column {unit!r}: one row per "
                f"unit is expected ({example!r} repeats). Aggregate to one row per customer "
                "(one outcome each) first, or name the unit column with --unit"
            )
    elif unit != "user_id":
        raise InputDataError(f"--unit {unit!r} is not a column; columns are {frame.columns}")
    else:
        logging.getLogger("recsys").warning(
            "no 'user_id' column: cannot check that there is one row per customer "
            "(name the unit column with --unit)"
        )
    expected = None
    ratio = parse_ratio(args.expected_ratio)
    if ratio is not None and args.arm in frame.columns:
        arms = sorted(str(a) for a in frame[args.arm].drop_nulls().unique().to_list())
        control = str(args.control)
        if ratio[0][0] is None:  # bare shares: treatments in label order, control last
            order = [a for a in arms if a != control] + [control]
            if len(order) != len(ratio):
                raise InputDataError(
                    f"--expected-ratio has {len(ratio)} shares for {len(order)} arms; bare "
                    f"shares are for {', '.join(order)} in this order"
                )
            expected = {a: share for a, (_, share) in zip(order, ratio, strict=True)}
        else:
            expected = {str(label): share for label, share in ratio}
        total = sum(expected.values())
        expected = {a: share / total for a, share in expected.items()}
    table = uplift_table(
        frame,
        arm=args.arm,
        outcome=args.outcome,
        control=args.control,
        by=args.by,
        seed=args.seed,
        expected_ratio=expected,
    )
    _write(table, args.out, "uplift")


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
        model = _make_model(args.model, parse_params(args.param), args.seed).fit(
            Interactions.from_purchases(purchases, as_of=args.as_of)
        )
        recs = model.recommend(
            users=None, k=args.k, on_unknown="skip", show_progress=_interactive()
        )
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
    _write(table, args.out, "actions")


def _add_input_options(parser: argparse.ArgumentParser, *, out: bool = True) -> None:
    parser.add_argument("file", help="purchases as CSV/TSV (optionally .gz) or Parquet")
    parser.add_argument(
        "--columns",
        help="map canonical names to yours: user_id=CustomerID,item_id=StockCode,"
        "timestamp=InvoiceDate,quantity=Quantity,price=UnitPrice,order_id=InvoiceNo",
    )
    parser.add_argument(
        "--preset", help="known layout: online_retail, online_retail_ii, ta_feng, complete_journey"
    )
    if out:
        parser.add_argument(
            "--out",
            help="output file (.parquet or .csv); default: a preview that fits the terminal",
        )
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


def _add_seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed",
        type=_non_negative_int,
        default=0,
        help="seed of every random choice (model initialisation, bootstrap, sampling)",
    )


def _add_params(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a model hyperparameter, repeatable: --param factors=128 --param "
        "regularization=10 (checked against the model's declared constraints)",
    )


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
    from recsys.models import registry

    parser = _Parser(
        prog="recsys",
        description="Personalized recommendation and customer retention for purchase histories.",
    )
    from recsys._version import __version__

    parser.add_argument("--version", action="version", version=f"recsys {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show full tracebacks on errors (before or after the command)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    report = sub.add_parser(
        "report",
        help="the main job on your file: profiles, models, decisions and an HTML report",
        description="Clean FILE, profile the customers, evaluate the recommenders on the last "
        "--horizon days before --as-of, choose one, and write the decisions (win-back list, "
        "items due, recommendations) and a self-contained report.html to --out.",
    )
    _add_input_options(report, out=False)
    report.add_argument("--out", default="recsys-report", help="output folder")
    report.add_argument("--as-of", help="decisions date (default: the day after the last purchase)")
    report.add_argument(
        "--cutoff", help="evaluation split date (default: --horizon days before --as-of)"
    )
    report.add_argument("--horizon", type=_positive_int, default=90, help="test window in days")
    report.add_argument("--k", type=_positive_int, default=10, help="items per customer")
    report.add_argument(
        "--bootstrap", type=_positive_int, default=1000, help="bootstrap resamples for the CIs"
    )
    report.add_argument("--currency", default="", help="currency symbol or code for money")
    report.add_argument(
        "--description",
        help="column of product names (default: Description, description, product_name, "
        "ProductName or name when present; '' for none)",
    )
    report.add_argument("--title", help="name of the data in the title (default: the file name)")
    report.add_argument(
        "--clv-horizon", type=_positive_int, default=365, help="customer value horizon, days"
    )
    report.add_argument(
        "--due-horizon", type=_positive_int, default=30, help="days ahead for items due"
    )
    _add_seed(report)
    report.set_defaults(handler=_cmd_report)

    demo = sub.add_parser(
        "demo",
        help="recsys report on the bundled Online Retail data",
        description="Run recsys report on the bundled UCI Online Retail data (evaluation "
        "cutoff 2011-09-09) and write the outputs to --out.",
    )
    demo.add_argument("--out", default="recsys-demo", help="output folder")
    demo.add_argument(
        "--sample-users",
        type=_positive_int,
        default=None,
        help="run on a random sample of N customers",
    )
    demo.add_argument(
        "--bootstrap", type=_positive_int, default=1000, help="bootstrap resamples for the CIs"
    )
    demo.add_argument("--currency", default="£", help="currency symbol for money")
    _add_seed(demo)
    demo.set_defaults(handler=_cmd_demo)

    profile = sub.add_parser(
        "profile",
        help="one profile row per customer (RFM, lifecycle, tier, churn risk)",
        description="Clean FILE and build customer profiles as of --as-of.",
    )
    _add_input_options(profile)
    profile.add_argument("--as-of", help="profile date (default: just after the last purchase)")
    _add_engine_options(profile)
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
        help="the model to fit (repeat_explore: the buy-again / discover blend)",
    )
    recommend.add_argument("--k", type=_positive_int, default=10, help="items per customer")
    recommend.add_argument("--as-of", help="use only purchases before this date (default: all)")
    _add_params(recommend)
    _add_seed(recommend)
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
    evaluate.add_argument("--k", type=_positive_int, default=10, help="items per customer")
    evaluate.add_argument(
        "--bootstrap", type=_positive_int, default=1000, help="bootstrap resamples for the CIs"
    )
    _add_params(evaluate)
    _add_seed(evaluate)
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
    uplift.add_argument(
        "--unit",
        default="user_id",
        help="the unit column (one row each); several rows per unit are an error",
    )
    uplift.add_argument(
        "--expected-ratio",
        help="the planned split, for the sample-ratio-mismatch check: treatment=0.9,"
        "control=0.1, or bare shares for the treatment arms in label order then the control "
        "(0.9,0.1 = a 10%% holdout); default: equal shares",
    )
    uplift.add_argument("--out", help="output file (.parquet or .csv); default: print a preview")
    _add_seed(uplift)
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
        "--horizon", type=_positive_int, default=30, help="days ahead for items due"
    )
    actions.add_argument(
        "--clv-horizon", type=_positive_int, default=365, help="CLV horizon in days"
    )
    actions.add_argument(
        "--model",
        choices=(*registry.names(), "none"),
        default="repeat_explore",
        help="recommender for cross-sell / win-back / onboard items (none: no items)",
    )
    actions.add_argument("--k", type=_positive_int, default=5, help="items per customer")
    _add_params(actions)
    _add_seed(actions)
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
