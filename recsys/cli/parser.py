"""The ``recsys`` argument parser: one sub-command per job."""

from __future__ import annotations

import argparse

from recsys.cli.common import Parser, int_at_least, non_negative_int, positive_int
from recsys.cli.job import cmd_demo, cmd_report
from recsys.cli.steps import cmd_actions, cmd_evaluate, cmd_profile, cmd_recommend, cmd_uplift
from recsys.cli.targeting import (
    add_experiment_columns,
    add_experiment_options,
    add_target_options,
)
from recsys.job.config import DEFAULT_MODELS

__all__ = ["build_parser"]

#: What ``recsys report --horizon-days`` sets (`recsys.job.JobConfig.horizon_days`).
HORIZON_DAYS_HELP = (
    "N days, the length of the evaluation's test window after --cutoff (on which the "
    "models, churn risk and CLV are checked), of the churn horizon (churn risk = no "
    "purchase in the next N days), of the campaign check's window (what the win-back "
    "customers spent in the N days after --cutoff), and the default --cutoff (N days "
    "before --as-of)"
)

#: A number of days: an integer from 1 to 100 years (longer horizons overflow dates).
days = int_at_least(1, "a number of days from 1 to 36500", maximum=36_500)


def add_on_unknown(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--on-unknown",
        choices=("fallback", "skip"),
        default=default,
        help="customers who bought in the test window without any purchase in the file before "
        "it (first seen in the file): fallback = evaluated on each model's cold-start list (the "
        "training popularity ranking); skip = left out of the evaluation",
    )


def add_contact_cost(parser: argparse.ArgumentParser) -> None:
    from recsys.job import DEFAULT_CONTACT_COST

    parser.add_argument(
        "--contact-cost",
        type=float,
        default=DEFAULT_CONTACT_COST,
        help="cost of one retention contact (currency of the prices): a win-back campaign "
        "is proposed only where the value at stake per contact exceeds it",
    )


def add_input_options(parser: argparse.ArgumentParser, *, out: bool = True) -> None:
    parser.add_argument("file", help="purchases as CSV/TSV (optionally .gz) or Parquet")
    parser.add_argument(
        "--columns",
        help="map canonical names to yours: user_id=CustomerID,item_id=StockCode,"
        "timestamp=InvoiceDate,quantity=Quantity,price=UnitPrice,order_id=InvoiceNo; "
        "also amount= (a line total: quantity x unit price), status= (an order status) and "
        "item_name= (product names)",
    )
    parser.add_argument(
        "--cancelled-status",
        help="with status= in --columns: the comma-separated status values that mean "
        "cancelled, returned or unavailable (those rows are counted under cancellation); "
        "default: the library's list",
    )
    parser.add_argument(
        "--preset", help="known layout: online_retail, online_retail_ii, ta_feng, complete_journey"
    )
    parser.add_argument(
        "--non-product-items",
        help="comma-separated item ids that are not products (postage, fees, manual lines): "
        "dropped and counted as non_product. The list REPLACES the preset's (the Online "
        "Retail presets' is recsys.data.presets.ONLINE_RETAIL_NON_PRODUCTS); '+ID,ID' adds "
        "to it; '' keeps every line. Listed ids that match no item are named in a warning",
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


def add_seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seed of every random choice (model initialisation, bootstrap, sampling)",
    )


def add_k(parser: argparse.ArgumentParser, default: int = 10) -> None:
    parser.add_argument("--k", type=positive_int, default=default, help="items per customer")


def add_bootstrap(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap", type=positive_int, default=1000, help="bootstrap resamples for the CIs"
    )


def add_customer_horizons(parser: argparse.ArgumentParser) -> None:
    """``--due-horizon-days`` (items due) and ``--clv-horizon-days`` (customer value)."""
    parser.add_argument(
        "--due-horizon-days", type=days, default=30, help="days ahead for items due"
    )
    parser.add_argument(
        "--clv-horizon-days", type=days, default=365, help="customer value (CLV) horizon, days"
    )


def add_params(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a model hyperparameter, repeatable: --param factors=128 --param "
        "regularization=10 (checked against the model's declared constraints)",
    )


def add_engine_options(parser: argparse.ArgumentParser) -> None:
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


def add_model_options(parser: argparse.ArgumentParser, *, engine: bool) -> None:
    """``--param`` and ``--seed`` of a command that fits a model; ``--engine`` if it scales out."""
    add_params(parser)
    add_seed(parser)
    if engine:
        add_engine_options(parser)


def build_parser() -> argparse.ArgumentParser:
    from recsys.models import registry

    parser = Parser(
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    report = sub.add_parser(
        "report",
        help="the main job on your file: profiles, models, decisions and an HTML report",
        description="Clean FILE, profile the customers, evaluate the recommenders on the last "
        "--horizon-days days before --as-of, choose one, and write the decisions (win-back list, "
        "items due, recommendations) and a self-contained report.html to --out.",
    )
    add_input_options(report, out=False)
    report.add_argument("--out", default="recsys-report", help="output folder")
    report.add_argument("--as-of", help="decisions date (default: the day after the last purchase)")
    report.add_argument(
        "--cutoff", help="evaluation split date (default: --horizon-days before --as-of)"
    )
    report.add_argument(
        "--horizon-days",
        type=days,
        default=90,
        metavar="N",
        help=HORIZON_DAYS_HELP,
    )
    add_k(report)
    add_bootstrap(report)
    report.add_argument("--currency", default="", help="currency symbol or code for money")
    report.add_argument(
        "--description",
        help="column of product names (default: Description, description, product_name, "
        "ProductName or name when present; '' for none)",
    )
    report.add_argument("--title", help="name of the data in the title (default: the file name)")
    add_customer_horizons(report)
    report.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help="the recommenders compared, comma-separated: names, or names with settings "
        "such as 'als(factors=64)'; the one used is chosen on a validation split of the "
        "training data",
    )
    add_on_unknown(report, "fallback")
    add_contact_cost(report)
    report.add_argument(
        "--no-churn",
        action="store_true",
        help="do not use the churn model (the win-back list uses its stated fallback order)",
    )
    report.add_argument(
        "--no-value",
        action="store_true",
        help="do not use the customer value model (CLV); customers are valued by past spend",
    )
    add_seed(report)
    add_experiment_options(report)
    report.set_defaults(handler=cmd_report)

    demo = sub.add_parser(
        "demo",
        help="recsys report on the bundled Online Retail data",
        description="Run recsys report on the bundled UCI Online Retail data (evaluation "
        "cutoff 2011-09-09) and write the outputs to --out.",
    )
    demo.add_argument("--out", default="recsys-demo", help="output folder")
    demo.add_argument(
        "--sample-users",
        type=positive_int,
        default=None,
        help="run on N customers drawn at random (--seed) among those with a purchase "
        "(the cleaning account is the sample's)",
    )
    add_bootstrap(demo)
    demo.add_argument("--currency", default="£", help="currency symbol for money")
    add_contact_cost(demo)
    add_seed(demo)
    demo.set_defaults(handler=cmd_demo)

    profile = sub.add_parser(
        "profile",
        help="one profile row per customer (RFM, lifecycle, tier, churn risk)",
        description="Clean FILE and build customer profiles as of --as-of.",
    )
    add_input_options(profile)
    profile.add_argument("--as-of", help="profile date (default: just after the last purchase)")
    add_engine_options(profile)
    profile.set_defaults(handler=cmd_profile)

    recommend = sub.add_parser(
        "recommend",
        help="top-k recommendations for every customer",
        description="Clean FILE, fit --model on it and recommend --k items to every customer.",
    )
    add_input_options(recommend)
    recommend.add_argument(
        "--model",
        default="repeat_explore",
        help="the model to fit: a name, or a name with settings such as "
        f"'als(factors=64)' (one of {', '.join(registry.names())}; repeat_explore: the "
        "buy-again / discover blend)",
    )
    add_k(recommend)
    recommend.add_argument("--as-of", help="use only purchases before this date (default: all)")
    add_model_options(recommend, engine=True)
    recommend.set_defaults(handler=cmd_recommend)

    evaluate = sub.add_parser(
        "evaluate",
        help="hit rate, NDCG and recall with confidence intervals on a time split",
        description="Clean FILE, train every model on purchases before --cutoff and evaluate "
        "them on the next --horizon-days days.",
    )
    add_input_options(evaluate)
    evaluate.add_argument("--cutoff", required=True, help="split date, e.g. 2011-09-09")
    evaluate.add_argument("--horizon-days", type=days, default=90, help="test window in days")
    add_on_unknown(evaluate, "skip")
    evaluate.add_argument(
        "--models",
        default="popular,repurchase,als,itemknn,repeat_explore",
        help="comma-separated models: names, or names with settings such as "
        "'als(factors=64)' (as for recommend --model)",
    )
    add_k(evaluate)
    add_bootstrap(evaluate)
    add_model_options(evaluate, engine=True)
    evaluate.set_defaults(handler=cmd_evaluate)

    uplift = sub.add_parser(
        "uplift",
        help="uplift of each treatment arm over the control, with intervals",
        description="Read an experiment table (one row per customer) and compare each arm "
        "with --control on --outcome.",
    )
    uplift.add_argument("file", help="experiment table as CSV/TSV (optionally .gz) or Parquet")
    add_experiment_columns(uplift, required=True)
    uplift.add_argument("--by", help="segment column: one table per segment")
    uplift.add_argument(
        "--expected-ratio",
        help="the planned split, for the sample-ratio-mismatch check: treatment=0.9,"
        "control=0.1, or bare shares for the treatment arms in label order then the control "
        "(0.9,0.1 = a 10%% holdout); default: equal shares",
    )
    uplift.add_argument("--out", help="output file (.parquet or .csv); default: print a preview")
    add_seed(uplift)
    add_target_options(uplift)
    uplift.set_defaults(handler=cmd_uplift)

    actions = sub.add_parser(
        "actions",
        help="the retention action list: win back, replenish, cross-sell, onboard",
        description="Clean FILE, build profiles (with CLV), items due and recommendations as "
        "of --as-of, and write one action per customer (rs.retention_actions default rules). "
        "Churn risk and CLV are checked against the naive rules on the --horizon-days before "
        "--as-of, as recsys report does, and used only where they beat them (else customers "
        "are ranked by the rule); the two claims saying which are printed.",
    )
    add_input_options(actions)
    actions.add_argument("--as-of", help="decision date (default: the day after the last purchase)")
    actions.add_argument(
        "--horizon-days",
        type=days,
        default=90,
        help="churn horizon, and the days before --as-of on which churn risk and CLV are "
        "checked against the naive rules",
    )
    add_customer_horizons(actions)
    actions.add_argument(
        "--bootstrap",
        type=non_negative_int,
        default=500,
        help="bootstrap resamples of that check's intervals (0: none, nothing is licensed)",
    )
    actions.add_argument(
        "--model",
        default="repeat_explore",
        help="recommender for cross-sell / win-back / onboard items: a name, or a name "
        f"with settings such as 'als(factors=64)' (one of {', '.join(registry.names())}; "
        "none: no items)",
    )
    add_k(actions, default=5)
    add_model_options(actions, engine=False)
    actions.add_argument("--max-customers", type=positive_int, help="contact at most N customers")
    actions.add_argument(
        "--contact-cost", type=float, help="cost of one contact (default: no cost)"
    )
    actions.add_argument(
        "--min-expected-value", type=float, help="minimum projected value net of the cost"
    )
    actions.add_argument(
        "--plan",
        help="a treatment plan (plan.parquet of recsys uplift --target or recsys report "
        "--experiment): only the customers it treats get an action; its holdout and the "
        "customers it does not list get none (counted)",
    )
    actions.set_defaults(handler=cmd_actions)
    return parser
