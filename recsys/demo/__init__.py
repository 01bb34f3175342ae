"""The main job as functions: ``recsys demo`` and the pieces a notebook can run one by one.

`run_demo` runs everything on the bundled Online Retail data
(`recsys.demo.online_retail`); `run_pipeline` and the step functions
(`recsys.demo.pipeline`) work on any canonical purchases;
`write_demo_report` writes the HTML page (`recsys.demo.report`).
"""

from recsys.demo.online_retail import load_and_clean, run_demo
from recsys.demo.pipeline import (
    DemoConfig,
    DemoResult,
    best_model_name,
    demo_models,
    evaluate_models,
    fit_models,
    profile_customers,
    recommend_everyone,
    run_pipeline,
    summarize_interactions,
    summary_text,
    write_outputs,
)
from recsys.demo.report import write_demo_report

__all__ = [
    "DemoConfig",
    "DemoResult",
    "best_model_name",
    "demo_models",
    "evaluate_models",
    "fit_models",
    "load_and_clean",
    "profile_customers",
    "recommend_everyone",
    "run_demo",
    "run_pipeline",
    "summarize_interactions",
    "summary_text",
    "write_demo_report",
    "write_outputs",
]
