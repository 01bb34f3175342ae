"""``recsys uplift FILE ... --target DIR``: an uplift model, the plan and its value, as files.

The model (`recsys.uplift.UpliftModel`) is cross-fitted on the experiment, so each
customer's uplift comes from a model that never saw them; the plan (`recsys.uplift.allocate`)
and its value against simple rules (`recsys.uplift.plan_value`) use those out-of-fold
scores. Everything is computed before anything is written; each file is written whole
or not at all.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

import polars as pl

from recsys._text import counted
from recsys.exceptions import InputDataError

__all__ = [
    "add_experiment_columns",
    "add_experiment_options",
    "add_target_options",
    "cmd_target",
    "experiment_from_args",
]


def add_experiment_columns(parser: Any, *, required: bool) -> None:
    """``--arm``, ``--control``, ``--outcome`` (the experiment's columns) and ``--unit``."""
    parser.add_argument("--arm", required=required, help="column holding the arm of each customer")
    parser.add_argument("--control", required=required, help="label of the control arm")
    parser.add_argument("--outcome", required=required, help="0/1 or numeric outcome column")
    parser.add_argument(
        "--unit",
        default="user_id",
        help="the experiment's customer column (one row each); several rows per unit are an error",
    )


def _add_plan_options(group: Any) -> None:
    """The model and plan options shared by ``recsys uplift --target`` and ``recsys report
    --experiment``."""
    group.add_argument("--treated", help="the treated arm compared with --control (if several)")
    group.add_argument("--method", choices=("t", "x", "dr"), default="x", help="meta-learner")
    group.add_argument("--value", default="1", help="worth of one outcome: a number or a column")
    group.add_argument("--margin", type=float, default=1.0, help="share of value that is profit")
    group.add_argument("--budget", type=float, help="cap on the total contact cost")
    group.add_argument("--count", type=int, help="cap on the number of customers treated")
    group.add_argument(
        "--holdout", type=float, default=0.1, help="share kept untreated for the next readout"
    )
    group.add_argument(
        "--target-bootstrap", type=int, default=200, help="bootstrap resamples of the plan value"
    )


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """The ``--target`` options of ``recsys uplift``."""
    group = parser.add_argument_group(
        "targeting (with --target DIR: fit an uplift model, write the plan and its value)"
    )
    group.add_argument(
        "--target",
        metavar="DIR",
        help="write DIR/plan.parquet (whom to treat, with reasons and a holdout), "
        "DIR/value.parquet (the plan against treat-all/none/random/--rank-by, IPS and DR), "
        "DIR/qini.parquet and DIR/qini.png (the Qini curve with its band)",
    )
    group.add_argument("--features", help="feature table by --unit (default: the other columns)")
    group.add_argument(
        "--contact-cost", type=float, default=0.0, help="cost of one contact (default 0)"
    )
    group.add_argument("--rank-by", help="comma-separated columns to compare with (CLV, risk)")
    _add_plan_options(group)


def add_experiment_options(parser: argparse.ArgumentParser) -> None:
    """``recsys report --experiment FILE``: the targeting card from an experiment file."""
    group = parser.add_argument_group(
        "targeting (with --experiment FILE: an uplift model on the experiment, the plan of "
        "whom to send the offer to, plan.parquet and the targeting card)"
    )
    group.add_argument(
        "--experiment",
        metavar="FILE",
        help="a randomized experiment of an offer (CSV/Parquet, one row per customer: --unit, "
        "--arm, --outcome; other columns are customer features)",
    )
    group.add_argument(
        "--experiment-start",
        help="the experiment's start: the model's features are the profiles as of it "
        "(default: --as-of, stated in the card)",
    )
    add_experiment_columns(group, required=False)
    _add_plan_options(group)


def experiment_from_args(args: argparse.Namespace) -> Any:
    """The `recsys.job.targeting.Experiment` of ``recsys report --experiment`` (or None)."""
    from recsys.job.targeting import Experiment

    if args.experiment is None:
        return None
    missing = [f"--{n}" for n in ("arm", "control", "outcome") if getattr(args, n) is None]
    if missing:
        raise InputDataError(f"--experiment needs {', '.join(missing)}")
    value = _number_or_column(args.value)
    if isinstance(value, str):
        raise InputDataError(
            f"--value {value!r}: with --experiment, the worth of one outcome is a number"
        )
    try:
        return Experiment(
            args.experiment,
            arm=args.arm,
            control=args.control,
            outcome=args.outcome,
            treated=args.treated,
            start=args.experiment_start,
            unit=args.unit,
            method=args.method,
            value=value,
            margin=args.margin,
            budget=args.budget,
            count=args.count,
            holdout=args.holdout,
            bootstrap=args.target_bootstrap,
        )
    except InputDataError as err:
        text = str(err).replace("Experiment(", "").replace("=...)", "")
        flags = {"start": "experiment-start", "bootstrap": "target-bootstrap"}
        first, _, rest = text.partition(" ")
        raise InputDataError(f"--{flags.get(first, first).replace('_', '-')} {rest}") from None


def _number_or_column(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _found_in_features(
    frame: pl.DataFrame,
    features: pl.DataFrame | None,
    args: argparse.Namespace,
    rank_by: list[str],
    value: float | str,
) -> list[str]:
    """The ``--rank-by`` and ``--value`` columns the experiment lacks and the
    ``--features`` file has; InputDataError naming the flag and where it looked for one
    in neither."""
    wanted = [("--rank-by", c) for c in rank_by]
    if isinstance(value, str):
        wanted.append(("--value", value))
    found = []
    for flag, column in wanted:
        if column in frame.columns:
            continue
        if features is not None and column in features.columns:
            found.append(column)
            continue
        where = args.file + (f" or in --features {args.features}" if features is not None else "")
        known = set(frame.columns) | set(features.columns if features is not None else ())
        raise InputDataError(
            f"{flag} {column!r}: no such column in {where}; columns are "
            f"{sorted(known - {args.arm, args.outcome})}"
        )
    return sorted(set(found))


def cmd_target(args: argparse.Namespace, frame: pl.DataFrame) -> None:
    """Fit, plan, value; then write the three files under ``args.target``."""
    from recsys._io import atomic_path
    from recsys.data.sources import to_frame
    from recsys.uplift import UpliftModel, allocate, plan_value
    from recsys.uplift.balance import imbalance_message

    unit = args.unit
    if unit not in frame.columns:
        raise InputDataError(f"--target needs the unit column {unit!r} (--unit)")
    value, cost = _number_or_column(args.value), args.contact_cost
    rank_by = [c.strip() for c in args.rank_by.split(",")] if args.rank_by else []
    features = to_frame(args.features) if args.features else None
    from_features = _found_in_features(frame, features, args, rank_by, value)
    model = UpliftModel(args.method, random_state=args.seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            scores = model.fit_predict(
                frame,
                features,
                treatment=args.arm,
                outcome=args.outcome,
                control=args.control,
                arm=args.treated,
                user_col=unit,
            )
        except InputDataError:
            balance = getattr(model, "balance_", None)
            if features is not None or balance is None or not balance["imbalanced"].any():
                raise
            raise InputDataError(
                imbalance_message(
                    balance,
                    model.arm_,
                    model.control_,
                    "--target: without --features, the features are the file's other columns; its",
                    f"Pass --features FILE (by --unit {unit}) with the columns measured before "
                    "the assignment only, or remove these columns from the experiment file",
                )
            ) from None
    for w in caught:  # the balance warning is shown under the claim, the others now
        if str(w.message) != model.balance_warning_:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    valued = frame
    if features is not None and from_features:  # the join the model made: it checked it
        extra = features.select(unit, *from_features)
        valued = frame.join(extra, on=unit, how="left", maintain_order="left")
    kept = [c for c in ({value} if isinstance(value, str) else set()) | set(rank_by)]
    plan = allocate(
        scores.join(valued.select(unit, *kept), on=unit, how="left"),
        value=value,
        cost=cost,
        budget=args.budget,
        count=args.count,
        margin=args.margin,
        holdout=args.holdout,
        seed=args.seed,
        user_col=unit,
    )
    result = plan_value(
        valued,
        plan,
        treatment=args.arm,
        outcome=args.outcome,
        control=args.control,
        arm=model.arm_,
        value=value,
        cost=cost,
        margin=args.margin,
        rank_by=rank_by,
        user_col=unit,
        bootstrap=args.target_bootstrap,
        seed=args.seed,
    )
    from recsys.report.plotting import pyplot
    from recsys.report.uplift import plot_curve

    ax = plot_curve(result.qini, label=f"{args.method}-learner")
    ax.set_title(" ".join(result.claim.split(":")[0].split()[:8]), fontsize=9)
    out = Path(args.target)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in (("plan", plan), ("value", result.table), ("qini", result.qini)):
        with atomic_path(out / f"{name}.parquet") as tmp:
            table.write_parquet(tmp)
    with atomic_path(out / "qini.png") as tmp:
        ax.figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(ax.figure)
    print(result.claim)
    if model.balance_warning_ is not None:
        print(f"warning: {model.balance_warning_}")
    print(
        f"wrote {out}/plan.parquet ({counted(plan.height, 'customer')}, "
        f"{int(plan['treat'].sum()):,} to treat), value.parquet, qini.parquet, qini.png",
        file=sys.stderr,
    )
