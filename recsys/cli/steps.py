"""The one-step commands: ``profile``, ``recommend``, ``evaluate``, ``uplift``, ``actions``."""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path
from typing import Any

import polars as pl

from recsys.cli.common import (
    interactive,
    load_purchases,
    make_model,
    model_names,
    parse_params,
    parse_ratio,
    steps,
    write_table,
)
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
    from recsys.distributed import build_profiles_batch

    info = build_profiles_batch(
        purchases,
        as_of=args.as_of,
        out=args.out,
        ray_address=args.ray_address,
        show_progress=interactive(),
    )
    print(f"wrote {info['customers']:,} profiles in {info['files']} files to {info['path']}")


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
    """``recommend --engine ray``: save the model, score every customer on the cluster."""
    import tempfile

    from recsys.distributed import recommend_batch

    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "model.npz")
        info = recommend_batch(
            Path(folder) / "model.npz", k=args.k, out=args.out, ray_address=args.ray_address
        )
    print(f"wrote {info['rows']:,} rows for {info['users']:,} customers to {info['path']}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from recsys.data import Interactions
    from recsys.evaluation import evaluate, temporal_split

    names = model_names(args.models)
    params = parse_params(args.param)
    with steps(["read and clean", *(f"fit {n}" for n in names), "evaluate"]) as step:
        step("read and clean")
        purchases = load_purchases(args)
        split = temporal_split(
            purchases,
            cutoff=args.cutoff,
            horizon_days=args.horizon_days,
            include_cold_users=args.on_unknown == "fallback",
        )
        train = Interactions.from_purchases(split.train)
        models = {}
        for name in names:
            step(f"fit {name}")
            models[name] = make_model(name, params, args.seed, strict=False).fit(train)
        step("evaluate")
        if args.engine == "ray":
            from recsys.distributed import evaluate_batch

            table = evaluate_batch(
                models,
                split,
                k=[args.k],
                bootstrap=args.bootstrap,
                seed=args.seed,
                ray_address=args.ray_address,
            ).table
        else:
            table = evaluate(
                models,
                split,
                k=[args.k],
                exclude_seen=None,
                bootstrap=args.bootstrap,
                seed=args.seed,
                show_progress=interactive(),
                on_unknown=args.on_unknown,
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
    from recsys.actions import retention_actions
    from recsys.data import Interactions
    from recsys.data import columns as C
    from recsys.job import default_as_of
    from recsys.profiles import ProfileConfig, build_profiles, due_items

    purchases = load_purchases(args)
    as_of = args.as_of if args.as_of is not None else default_as_of(purchases)
    has_prices = C.PRICE in purchases.columns  # without prices, value is counted in orders
    config = ProfileConfig(clv_horizon_days=args.clv_horizon_days if has_prices else None)
    profiles = build_profiles(purchases, as_of=as_of, config=config)
    due = due_items(purchases, as_of=as_of, horizon_days=args.due_horizon_days)
    recs = None
    if args.model != "none":
        model = make_model(args.model, parse_params(args.param), args.seed).fit(
            Interactions.from_purchases(purchases, as_of=as_of)
        )
        recs = model.recommend(users=None, k=args.k, on_unknown="skip", show_progress=interactive())
    table = retention_actions(
        profiles,
        due=due,
        recommendations=recs,
        max_customers=args.max_customers,
        contact_cost=args.contact_cost,
        min_expected_value=args.min_expected_value,
        k=args.k,
        value="clv" if has_prices else "frequency",
    )
    if args.out is not None and args.out.lower().endswith(".csv"):  # CSV has no lists
        table = table.with_columns(pl.col("items").cast(pl.List(pl.String)).list.join(" "))
    write_table(table, args.out, "actions")
