"""The one-step commands: ``profile``, ``recommend``, ``evaluate``, ``uplift``, ``actions``."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from typing import Any

import polars as pl

from recsys._text import counted
from recsys.cli.common import (
    interactive,
    make_model,
    model_names,
    parse_params,
    parse_ratio,
    steps,
    write_table,
)
from recsys.cli.reading import load_purchases
from recsys.exceptions import InputDataError

__all__ = ["cmd_actions", "cmd_evaluate", "cmd_profile", "cmd_recommend", "cmd_uplift"]


def cmd_profile(args: argparse.Namespace) -> None:
    from recsys.profiles import build_profiles

    with steps(["read and clean", "profile customers"]) as step:
        step("read and clean")
        purchases = load_purchases(args)
        step("profile customers")
        if args.engine == "ray":
            _profile_on_ray(purchases, args)
            return
        profiles = build_profiles(purchases, as_of=args.as_of)
    write_table(profiles, args.out, "profile")


def _profile_on_ray(purchases: pl.DataFrame, args: argparse.Namespace) -> None:
    """``profile --engine ray``: shards of customers through the cluster's object store."""
    from recsys.engine import Ray
    from recsys.profiles import build_profiles

    written = build_profiles(
        purchases, as_of=args.as_of, engine=Ray(address=args.ray_address, out=args.out)
    )
    assert isinstance(written, pl.LazyFrame)  # Ray(out=...) returns the files, scanned
    rows = written.select(pl.len()).collect().item()
    print(f"wrote {counted(rows, 'profile')} to {args.out}")


def cmd_recommend(args: argparse.Namespace) -> None:
    from recsys.data import Interactions

    params = parse_params(args.param)
    with steps(["read and clean", f"fit {args.model}", "recommend"]) as step:
        step("read and clean")
        purchases = load_purchases(args)
        step(f"fit {args.model}")
        model = make_model(args.model, params, args.seed)
        model.fit(Interactions.from_purchases(purchases, as_of=args.as_of))
        step("recommend")
        if args.engine == "ray":
            _recommend_on_ray(model, args)
            return
        recs = model.recommend(users=None, k=args.k, show_progress=interactive())
    write_table(recs, args.out, "recommend")


def _recommend_on_ray(model: Any, args: argparse.Namespace) -> None:
    """``recommend --engine ray``: score every customer on the cluster."""
    from recsys.engine import Ray

    written = model.recommend(k=args.k, engine=Ray(address=args.ray_address, out=args.out))
    counts = written.select(pl.len(), pl.col("user_id").n_unique()).collect().row(0)
    print(f"wrote {counted(counts[0], 'row')} for {counted(counts[1], 'customer')} to {args.out}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from recsys.data import Interactions
    from recsys.evaluation import evaluate, temporal_split

    names = model_names(args.models)
    params = parse_params(args.param)
    with steps(["read and clean", *(f"fit {n}" for n in names), "evaluate"]) as step:
        step("read and clean")
        purchases = load_purchases(args)
        try:
            split = temporal_split(
                purchases,
                cutoff=args.cutoff,
                horizon_days=args.horizon_days,
                include_cold_users=args.on_unknown == "fallback",
            )
        except InputDataError as err:
            from recsys.cli.job import in_flags

            raise InputDataError(in_flags(str(err))) from None
        train = Interactions.from_purchases(split.train)
        models = {}
        for name in names:
            step(f"fit {name}")
            models[name] = make_model(name, params, args.seed, strict=False).fit(train)
        step("evaluate")
        from recsys.engine import Local, Ray

        table = evaluate(
            models,
            split,
            k=[args.k],
            exclude_seen=None,
            bootstrap=args.bootstrap,
            seed=args.seed,
            show_progress=interactive(),
            on_unknown=args.on_unknown,
            engine=Ray(address=args.ray_address) if args.engine == "ray" else Local(),
        ).table
    write_table(table, args.out, "evaluate", rows=40)


def cmd_uplift(args: argparse.Namespace) -> None:
    from recsys.data.sources import to_frame
    from recsys.uplift import uplift_table

    frame = to_frame(args.file)
    if args.arm in frame.columns:  # labels typed on the command line are text
        frame = frame.with_columns(pl.col(args.arm).cast(pl.String))
    unit = args.unit
    if unit not in frame.columns:
        if unit != "user_id":
            raise InputDataError(f"--unit {unit!r} is not a column; columns are {frame.columns}")
        logging.getLogger("recsys").warning(
            "no 'user_id' column: cannot check that there is one row per customer "
            "(name the unit column with --unit)"
        )
        unit = None
    if args.target is not None:  # the uplift model, the plan and its value
        from recsys.cli.targeting import cmd_target

        cmd_target(args, frame)
        return
    expected = None
    ratio = parse_ratio(args.expected_ratio)
    if ratio is not None and args.arm in frame.columns:
        arms = sorted(str(a) for a in frame[args.arm].drop_nulls().unique().to_list())
        control = str(args.control)
        if ratio[0][0] is None:  # bare shares: treatments in label order, control last
            order = [a for a in arms if a != control] + [control]
            if len(order) != len(ratio):
                raise InputDataError(
                    f"--expected-ratio has {counted(len(ratio), 'share')} for "
                    f"{counted(len(order), 'arm')}; bare "
                    f"shares are for {', '.join(order)} in this order"
                )
            expected = {a: share for a, (_, share) in zip(order, ratio, strict=True)}
        else:
            expected = {str(label): share for label, share in ratio}
        total = sum(expected.values())
        expected = {a: share / total for a, share in expected.items()}
    try:
        table = uplift_table(
            frame,
            arm=args.arm,
            outcome=args.outcome,
            control=args.control,
            by=args.by,
            seed=args.seed,
            expected_ratio=expected,
            unit=unit,
        )
    except InputDataError as err:  # the library's parameter names, as the user's flags
        text = re.sub(r"\b(arm|outcome|control|by|unit)=", r"--\1", str(err))
        raise InputDataError(text.replace("given as --", "--")) from None
    write_table(table, args.out, "uplift")


def cmd_actions(args: argparse.Namespace) -> None:
    from recsys.job import action_list

    purchases = load_purchases(args)
    model = None
    if args.model != "none":
        model = make_model(args.model, parse_params(args.param), args.seed)
    plan = None
    if args.plan is not None:
        from recsys.data.sources import to_frame

        plan = to_frame(args.plan)
    table = action_list(
        purchases,
        as_of=args.as_of,
        recommender=model,
        k=args.k,
        horizon_days=args.horizon_days,
        due_horizon_days=args.due_horizon_days,
        clv_horizon_days=args.clv_horizon_days,
        bootstrap=args.bootstrap,
        seed=args.seed,
        max_customers=args.max_customers,
        contact_cost=args.contact_cost,
        min_expected_value=args.min_expected_value,
        plan=plan,
        echo=lambda line: print(line, file=sys.stderr),
    )
    if plan is not None:
        from recsys.actions import plan_counts

        counts = plan_counts(table)
        print(
            f"plan: {counted(counts['not_treated'], 'customer')} not treated, "
            f"{counts['holdout']:,} in its holdout, {counts['missing']:,} not in the plan: "
            "no action for them",
            file=sys.stderr,
        )
    if args.out is not None and args.out.lower().endswith(".csv"):  # CSV has no lists
        table = table.with_columns(pl.col("items").cast(pl.List(pl.String)).list.join(" "))
    write_table(table, args.out, "actions")
