"""What every ``recsys`` command shares: the argument parser's manners, value parsers,
the checks made before any file is read, previews, writing, models from the
registry, and warnings as one-line log messages."""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

from recsys._text import counted
from recsys.exceptions import InputDataError, MissingColumnError

OUTPUT_SUFFIXES = (".parquet", ".csv")


class UsageError(Exception):
    """A bad command-line argument (reported on one line, exit code 2)."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: X)`` for every option with a value default; options whose
    default is None say in their help what happens without them."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or isinstance(action.default, bool):
            return action.help
        if action.default == "":
            return f"{action.help} (default: none)"
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, turned into exit code 2 by `main`;
    every ``--help`` shows the defaults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def progress(**kwargs: Any) -> Any:
    """A step progress bar on stderr, drawn only when stderr is a terminal."""
    from recsys._progress import tqdm

    return tqdm(disable=None, file=sys.stderr, leave=False, **kwargs)


@contextmanager
def steps(labels: Sequence[str]) -> Iterator[Callable[[str], None]]:
    """A bar over the named steps of a command; call the yielded function to start a step."""
    bar = progress(total=len(labels), desc=labels[0] if labels else "")
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


def interactive() -> bool:
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


def int_at_least(minimum: int, what: str, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum`` (and <= ``maximum``; ``what`` names it
    in the message)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    return parse


positive_int = int_at_least(1, "a positive integer")
non_negative_int = int_at_least(0, "an integer >= 0")


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


def clean_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "columns": parse_columns(args.columns),
        "preset": args.preset,
        "timestamp_format": args.date_format,
        "dayfirst": args.dayfirst,
        "encoding": args.encoding,
        "cancelled_status": (
            [v.strip() for v in args.cancelled_status.split(",") if v.strip()]
            if getattr(args, "cancelled_status", None)
            else None
        ),
        "non_product_items": non_product_option(
            getattr(args, "non_product_items", None), args.preset
        ),
    }


def non_product_option(text: str | None, preset: str | None) -> tuple[str, ...] | None:
    """The ids of ``--non-product-items``: ``ID,ID`` replaces the preset's list,
    ``+ID,ID`` adds to it; ``None`` (the option not given) keeps the preset's list.

    Examples
    --------
    >>> non_product_option(" SHIP, FEE,", "online_retail")
    ('SHIP', 'FEE')
    >>> ids = non_product_option("+WRAP", "online_retail")
    >>> "POST" in ids, ids[-1]
    (True, 'WRAP')
    >>> non_product_option("", None), non_product_option("+WRAP", None)
    ((), ('WRAP',))
    """
    if text is None:
        return None
    listed = text.strip()
    ids = tuple(v.strip() for v in listed.removeprefix("+").split(",") if v.strip())
    if listed.startswith("+") and preset is not None:
        from recsys.data.presets import get_preset

        ids = (*sorted(get_preset(preset).non_product_items), *ids)
    return ids


def in_cli_words(err: BaseException) -> str:
    """``err``'s message in the words of the command line (``--columns user_id=...``,
    not ``columns={'user_id': ...}``).

    Examples
    --------
    >>> from recsys.exceptions import MissingColumnError
    >>> err = MissingColumnError(["user_id", "item_id"], ["member", "sku"])
    >>> for part in in_cli_words(err).split("; "):
    ...     print(part)
    no column for 'user_id', 'item_id': pass --columns user_id=<your column>,item_id=<your column>
    columns found: ['member', 'sku']

    The ``--columns`` value shown is whole: the pairs given, then the missing ones. A
    preset the library suggests is the ``--preset`` option.

    >>> err = MissingColumnError(["item_id"], ["member", "sku"], given={"user_id": "member"})
    >>> in_cli_words(err).split("; ")[0]
    "no column for 'item_id': pass --columns user_id=member,item_id=<your column>"
    """
    if isinstance(err, MissingColumnError):
        return err.hint(
            lambda pairs: (
                "--columns "
                + ",".join(f"{n}={'<your column>' if c is None else c}" for n, c in pairs)
            ),
            lambda name: f"--preset {name}",
        )
    return in_flag_words(re.sub(r"\bpreset='(\w+)'", r"--preset \1", str(err)))


#: The library's ``parameter=`` in a message, as the command line's flag: a clean
#: option (``--date-format``), a step's setting (``--as-of``) or its equivalent.
PARAMETER_FLAGS = {
    "timestamp_format=": "--date-format",
    "as_of=": "--as-of",
    "include_cold_users=True": "--on-unknown fallback",
    "dayfirst=True or dayfirst=False": "--dayfirst or --monthfirst",
}


def in_flag_words(text: str) -> str:
    """``text`` (a library error or warning) with `PARAMETER_FLAGS` named as flags.

    Examples
    --------
    >>> in_flag_words("values do not parse as '%Y'; pass timestamp_format= (strftime syntax)")
    "values do not parse as '%Y'; pass --date-format (strftime syntax)"
    >>> in_flag_words("as_of=2009-01-01 00:00:00 is not after the first purchase")
    '--as-of 2009-01-01 00:00:00 is not after the first purchase'
    >>> in_flag_words("fix them, pass timestamp_format=, or check timestamp_format='%d'")
    "fix them, pass --date-format, or check --date-format '%d'"
    >>> in_flag_words("; include_cold_users=True keeps them; split.as_of= stays")
    '; --on-unknown fallback keeps them; split.as_of= stays'
    """
    for name, flag in PARAMETER_FLAGS.items():
        found = rf"(?<![\w.]){re.escape(name)}"
        if name.endswith("="):  # a value follows, or nothing ("pass timestamp_format=,")
            text = re.sub(rf"{found}(?=[\w'\"])", f"{flag} ", text)
        text = re.sub(found, flag, text)
    return text


def check_out(out: str) -> str:
    suffix = Path(out).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InputDataError(
            f"--out must end in {' or '.join(OUTPUT_SUFFIXES)} (unsupported output format), "
            f"got {out!r}"
        )
    return suffix


def split_specs(text: str) -> list[str]:
    """The model specs of a comma-separated list: a comma inside brackets or quotes
    belongs to a spec (``"popular,als(factors=64, iterations=5)"`` is two specs).

    Examples
    --------
    >>> split_specs("popular, buyagain(diversity=0.3, trend_window_days=30),als")
    ['popular', 'buyagain(diversity=0.3, trend_window_days=30)', 'als']
    """
    specs, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            specs.append(text[start:i])
            start = i + 1
    specs.append(text[start:])
    return [spec.strip() for spec in specs if spec.strip()]


def model_names(text: str) -> list[str]:
    """The models of ``--models``: canonical specs (`recsys.models.registry.canonical`),
    checked (an unknown model, parameter or a malformed spec raises `InputDataError`)."""
    from recsys.models import registry

    specs = split_specs(text)
    if not specs:
        raise InputDataError(f"--models: no model given; choose from {', '.join(registry.names())}")
    try:
        return [registry.canonical(spec) for spec in specs]
    except InputDataError as err:
        raise InputDataError(f"--models: {err}") from None


def check_args(args: argparse.Namespace) -> None:
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
        check_out(args.out)
    if getattr(args, "models", None) is not None:
        model_names(args.models)
    if getattr(args, "model", "none") != "none":
        from recsys.models import registry

        try:
            registry.canonical(args.model)
        except InputDataError as err:
            raise InputDataError(f"--model: {err}") from None
    if getattr(args, "columns", None) is not None:
        parse_columns(args.columns)
    if getattr(args, "expected_ratio", None) is not None:
        parse_ratio(args.expected_ratio)
    if hasattr(args, "contact_cost") or hasattr(args, "min_expected_value"):
        from recsys.actions import check_budget

        try:
            check_budget(
                getattr(args, "contact_cost", None), getattr(args, "min_expected_value", None)
            )
        except InputDataError as err:
            words = str(err).replace("contact_cost", "--contact-cost")
            raise InputDataError(
                words.replace("min_expected_value", "--min-expected-value")
            ) from None
    if hasattr(args, "param"):
        names = (
            model_names(args.models)
            if getattr(args, "models", None)
            else [args.model]
            if getattr(args, "model", "none") != "none"
            else []
        )
        params = parse_params(args.param)
        if params and not names:
            raise InputDataError("--param needs a model (--model none fits no model)")
        for name in names:
            make_model(name, params, getattr(args, "seed", 0), strict=len(names) == 1)
        unused = set(params) - {p for n in names for p in accepted_params(n)}
        if unused:
            raise InputDataError(
                f"--param {sorted(unused)[0]}: no model of {names} has this parameter; "
                + "; ".join(f"{n}: {', '.join(sorted(accepted_params(n)))}" for n in names)
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
    "actions": ("user_id", "action", "projected_value", "priority", "items"),
    "uplift": ("arm", "n", "rate", "control_rate", "uplift", "ci_low", "ci_high", "p_value"),
}


def preview(frame: pl.DataFrame, command: str, rows: int = 10, width: int | None = None) -> str:
    """A preview that fits the terminal: key columns, a few rows, and what was left out."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    keep = [c for c in PREVIEW_COLUMNS.get(command, ()) if c in frame.columns] or frame.columns
    if command == "uplift" and "arm" in frame.columns:  # the --by segment column(s) first
        keep = frame.columns[: frame.columns.index("arm")] + keep
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
    footer = f"{counted(frame.height, 'row')} x {counted(frame.width, 'column')}"
    if frame.height > rows or hidden:
        footer += f"; showing {counted(min(rows, shown.height), 'row')}"
        if hidden:
            footer += f" and {counted(len(keep), 'column')} (not shown: {', '.join(hidden[:8])}"
            footer += ", ...)" if len(hidden) > 8 else ")"
        footer += ". Write everything with --out FILE.parquet or FILE.csv"
    return f"{text}\n{footer}"


def write_table(frame: pl.DataFrame, out: str | None, command: str = "", rows: int = 10) -> None:
    from recsys._io import atomic_path

    if out is None:
        print(preview(frame, command, rows))
        return
    path = Path(out)
    suffix = check_out(out)
    with atomic_path(path) as tmp:
        frame.write_parquet(tmp) if suffix == ".parquet" else frame.write_csv(tmp)
    print(f"wrote {path} ({counted(frame.height, 'row')})", file=sys.stderr)


def accepted_params(spec: str) -> set[str]:
    from recsys.models import registry

    return set(registry.build(spec).get_params(deep=False))


def make_model(
    spec: str, params: dict[str, Any] | None = None, seed: int = 0, *, strict: bool = True
) -> Any:
    """The model of a spec (``"als"``, ``"als(factors=64)"``: `recsys.models.registry.build`)
    with the ``--param`` values it accepts on top, and ``--seed`` unless either sets
    ``random_state`` (`recsys.job.evaluation.unfitted_model`).

    Values are checked against the model's ``_parameter_constraints`` here, before
    any data is read. With ``strict``, a parameter the model lacks is an error.
    """
    from recsys.job.evaluation import unfitted_model

    model = unfitted_model(spec, seed)  # the spec's values, seeded and silent unless set
    accepted = set(model.get_params(deep=False))
    unknown = sorted(set(params or {}) - accepted)
    if unknown and strict:
        raise InputDataError(
            f"--param {unknown[0]}: {type(model).__name__} has no such parameter; "
            f"its parameters: {', '.join(sorted(accepted))}"
        )
    chosen = {k: v for k, v in (params or {}).items() if k in accepted}
    return model.set_params(**chosen).check_params() if chosen else model


class _OneLine(logging.Formatter):
    """``warning: <message on one line>``: no source path, no code line."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {' '.join(in_flag_words(record.getMessage()).split())}"


def _message_only(message: Warning | str, *args: Any, **kwargs: Any) -> str:
    return str(message)


#: A bare count ("32", "2,034", "0.5"), not a part of a date, a time, a name or a quote.
_COUNT = re.compile(r"(?<![-:'\"\w.,])\d[\d,]*(?:\.\d+)?(?![-:'\"\w])")


class _Once(logging.Filter):
    """Lets each distinct message through once per command (no warning printed twice).

    Messages that differ in their numbers only (the same model's short lists on the
    test and then the validation split) are the same warning: the first is printed; the
    report shows each.

    Examples
    --------
    >>> once = _Once()
    >>> def shown(text: str) -> bool:
    ...     return once.filter(logging.makeLogRecord({"msg": text}))
    >>> shown("ItemKNN scores too few items for 32 of 2,034 customers")
    True
    >>> shown("ItemKNN scores too few items for 43 of 2,015 customers")
    False
    >>> shown("at the cutoff 2010-09-10: 3 purchase rows before the cutoff have price 0")
    True
    >>> shown("column 'Q1' has 3 nulls"), shown("column 'Q2' has 3 nulls")
    (True, True)
    >>> shown("at the cutoff 2010-09-11: 3 purchase rows before the cutoff have price 0")
    True
    >>> shown("column '2019' has 3 nulls"), shown("column '2020' has 3 nulls")
    (True, True)
    """

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        # only bare counts are masked: dates, times and quoted or named numbers stay
        text = _COUNT.sub("#", " ".join(record.getMessage().split()))
        if text in self.seen:
            return False
        self.seen.add(text)
        return True


@contextmanager
def warnings_as_log_lines() -> Iterator[None]:
    """Route library warnings through the ``recsys`` logger, one line each on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    handler.addFilter(_Once())
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
