"""The main job as functions: ``recsys report``, ``recsys demo`` and the pieces a notebook
can run one by one.

`run_report` runs everything on your own file (`recsys.demo.own_data`); `run_demo`
runs it on the bundled Online Retail data
(`recsys.demo.online_retail`); `run_pipeline` and the step functions
(`recsys.demo.pipeline`) work on any canonical purchases;
`write_demo_report` writes the HTML page (`recsys.demo.report`).
"""

from recsys.demo.decisions import SIMPLICITY_ORDER, ModelChoice, choose_model
from recsys.demo.online_retail import load_and_clean, run_demo
from recsys.demo.own_data import item_names, load_purchases, run_report
from recsys.demo.pipeline import (
    DemoConfig,
    DemoResult,
    best_model_name,
    default_as_of,
    demo_models,
    evaluate_models,
    fit_models,
    model_statement,
    profile_customers,
    recommend_everyone,
    run_pipeline,
    summarize_interactions,
    summary_text,
    write_outputs,
)
from recsys.demo.report import write_demo_report

__all__ = [
    "SIMPLICITY_ORDER",
    "DemoConfig",
    "DemoResult",
    "ModelChoice",
    "best_model_name",
    "choose_model",
    "default_as_of",
    "demo_models",
    "evaluate_models",
    "fit_models",
    "item_names",
    "load_and_clean",
    "load_purchases",
    "model_statement",
    "profile_customers",
    "recommend_everyone",
    "run_demo",
    "run_pipeline",
    "run_report",
    "summarize_interactions",
    "summary_text",
    "write_demo_report",
    "write_outputs",
]
