"""``recsys report`` and ``recsys demo``: read -> `recsys.job.run` -> `recsys.report.write`.

The commands parse arguments and print; the job's errors are reported in the words
of the command line (``--as-of``, not ``as_of``).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
import warnings
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys.cli.common import clean_options
from recsys.cli.reading import command_as_of, read_purchases
from recsys.exceptions import DataWarning, InputDataError

if TYPE_CHECKING:
    from recsys.job.claims import Claim

__all__ = ["FLAGS", "claim_lines", "cmd_demo", "cmd_report", "cutoff_hint", "in_flags"]

#: JobConfig fields and the flags that set them.
FLAGS = {
    "as_of": "--as-of",
    "cutoff": "--cutoff",
    "horizon_days": "--horizon-days",
    "due_horizon_days": "--due-horizon-days",
    "clv_horizon_days": "--clv-horizon-days",
    "contact_cost": "--contact-cost",
    "on_unknown": "--on-unknown",
    "sample_users": "--sample-users",
    "models": "--models",
    "bootstrap": "--bootstrap",
}


def in_flags(message: str) -> str:
    """A job message with the JobConfig field names replaced by their flags.

    Examples
    --------
    >>> in_flags("JobConfig(horizon_days=0): expected an int, got 0; as_of 1990-01-01 ...")
    '--horizon-days 0: expected an int, got 0; --as-of 1990-01-01 ...'
    """
    message = re.sub(r"JobConfig\((\w+)=([^)]*)\)", lambda m: f"{m[1]} {m[2]}", message)
    for name, flag in FLAGS.items():
        message = re.sub(rf"(?<![\w-]){name}(?![\w])", flag, message)
    return message


def _config(args: argparse.Namespace, **fields: Any) -> Any:
    from recsys.job import JobConfig

    try:
        return JobConfig(**fields)
    except InputDataError as err:
        raise InputDataError(in_flags(str(err))) from None


def cutoff_hint(purchases: Any, config: Any) -> str | None:
    """What to pass when the job's cutoff leaves no test window inside the data (it is
    not after the first purchase before ``as_of``, or after the last one), else None.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime
    >>> from recsys.job import JobConfig
    >>> bought = pl.DataFrame({"timestamp": [datetime(2010, 10, 26, 8), datetime(2010, 12, 9)]})
    >>> print(cutoff_hint(bought, JobConfig()))  # doctest: +NORMALIZE_WHITESPACE
    the cutoff 2010-09-11 (--horizon-days 90 before --as-of 2010-12-10) is outside the
    data, which cover 2010-10-26 to 2010-12-09: the models cannot be evaluated; pass
    --cutoff between 2010-10-27 and 2010-12-09, or --horizon-days 44 or fewer
    >>> cutoff_hint(bought, JobConfig(cutoff="2010-11-15")) is None
    True
    """
    import polars as pl

    from recsys.data import columns as C
    from recsys.data.canonical import without_returns
    from recsys.data.timeutil import to_datetime
    from recsys.job import default_as_of

    as_of = to_datetime(config.as_of, "as_of") if config.as_of else default_as_of(purchases)
    ts = pl.col(C.TIMESTAMP)
    first, last = (
        (without_returns(purchases.lazy()).filter(ts < as_of).select(ts.min(), ts.max().alias("l")))
        .collect()
        .row(0)
    )
    if first is None:
        return None
    derived = config.cutoff is None
    cutoff = as_of - timedelta(days=config.horizon_days) if derived else config.cutoff
    cutoff = to_datetime(cutoff, "cutoff")
    if first < cutoff <= last:
        return None
    start = datetime(first.year, first.month, first.day) + timedelta(days=1)
    which = f" (--horizon-days {config.horizon_days} before --as-of {as_of:%Y-%m-%d})"
    hint = (
        f"the cutoff {cutoff:%Y-%m-%d}{which if derived else ''} is outside the data, which "
        f"cover {first:%Y-%m-%d} to {last:%Y-%m-%d}: the models cannot be evaluated; "
        f"pass --cutoff between {start:%Y-%m-%d} and {last:%Y-%m-%d}"
    )
    longest = math.ceil((as_of - first) / timedelta(days=1)) - 1
    if derived and cutoff <= first and longest >= 1:
        hint += f", or --horizon-days {longest} or fewer"
    return hint


def claim_lines(claims: Iterable[Claim]) -> list[str]:
    """The console's summary of the job's cards: each headline, then the warnings that
    concern it (a headline shows them; the log's copies may have scrolled away).

    Examples
    --------
    >>> from recsys.job.claims import Claim
    >>> claim_lines([Claim("due", "1 customer has 2 products due.", True, {}, ("odd",))])
    ['due: 1 customer has 2 products due.', '  warning (due): odd']
    """
    return [
        line
        for claim in claims
        for line in (
            f"{claim.key}: {claim.text}",
            *(f"  warning ({claim.key}): {w}" for w in claim.warnings),
        )
    ]


def _run(purchases: Any, report: Any, names: Any, config: Any, out: str) -> None:
    import recsys.report
    from recsys.job import run

    hint = cutoff_hint(purchases, config)
    if hint is not None:
        warnings.warn(hint, DataWarning, stacklevel=1)
    try:
        result = run(purchases, config, report=report, item_names=names, echo=print)
    except InputDataError as err:
        raise InputDataError(in_flags(str(err))) from None
    paths = recsys.report.write(result, out)
    for line in claim_lines(result.claims.values()):
        print(line)
    for path in paths.values():
        print(f"wrote {path}")


def cmd_demo(args: argparse.Namespace) -> None:
    from recsys.job import load_online_retail
    from recsys.job.inputs import JOB_RETURNS_USE

    start = time.perf_counter()
    config = _config(
        args,
        cutoff="2011-09-09",
        bootstrap=args.bootstrap,
        seed=args.seed,
        currency=args.currency,
        contact_cost=args.contact_cost,
        dataset="UCI Online Retail",
        customer_column="CustomerID",
    )
    purchases, report, names = read_purchases(
        lambda: load_online_retail(sample_users=args.sample_users, seed=args.seed),
        JOB_RETURNS_USE,
        label="the bundled UCI Online Retail data",
        file=sys.stdout,
        as_of=command_as_of(None),
    )
    _run(purchases, report, names, config, args.out)
    print(f"done in {time.perf_counter() - start:.1f} s")


def cmd_report(args: argparse.Namespace) -> None:
    from recsys.cli.common import model_names, parse_columns
    from recsys.cli.targeting import experiment_from_args
    from recsys.job import load_purchases
    from recsys.job.inputs import JOB_RETURNS_USE

    start = time.perf_counter()
    columns = parse_columns(args.columns) or {}
    if args.preset and "user_id" not in columns:
        from recsys.data.presets import get_preset

        columns = {**get_preset(args.preset).columns, **columns}
    config = _config(
        args,
        as_of=args.as_of,
        cutoff=args.cutoff,
        horizon_days=args.horizon_days,
        due_horizon_days=args.due_horizon_days,
        clv_horizon_days=args.clv_horizon_days,
        k=args.k,
        models=tuple(model_names(args.models)),
        on_unknown=args.on_unknown,
        contact_cost=args.contact_cost,
        churn=not args.no_churn,
        value=not args.no_value,
        bootstrap=args.bootstrap,
        seed=args.seed,
        dataset=args.title or Path(args.file).name,
        currency=args.currency,
        customer_column=columns.get("user_id", "user_id"),
        experiment=experiment_from_args(args),
    )
    try:
        purchases, report, names = read_purchases(
            lambda: load_purchases(args.file, description=args.description, **clean_options(args)),
            JOB_RETURNS_USE,
            label=args.file,
            file=sys.stdout,
            as_of=command_as_of(args.as_of),
        )
    except InputDataError as err:
        if "(description)" not in str(err):
            raise  # a MissingColumnError is worded by the command line's error handler
        raise InputDataError(str(err).replace("(description)", "(--description)")) from None
    _run(purchases, report, names, config, args.out)
    print(f"done in {time.perf_counter() - start:.1f} s")
