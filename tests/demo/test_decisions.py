"""The decisions at the top of the report: model choice with the tie rule, calibration."""

from __future__ import annotations

import polars as pl

from recsys.demo.decisions import SIMPLICITY_ORDER, calibration_verdict, choose_model


def _table(values: dict[str, tuple[float, float, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "model": list(values),
            "mode": ["all"] * len(values),
            "metric": ["hit_rate"] * len(values),
            "k": [10] * len(values),
            "segment": ["all"] * len(values),
            "value": [v[0] for v in values.values()],
            "ci_low": [v[1] for v in values.values()],
            "ci_high": [v[2] for v in values.values()],
            "n_users": [5000] * len(values),
        }
    )


def test_tied_models_give_the_simplest() -> None:
    choice = choose_model(_table({"blend": (0.52, 0.50, 0.54), "als": (0.515, 0.495, 0.535)}), 10)
    assert choice.best == "blend"
    assert not choice.separated
    assert choice.chosen == "als"  # simpler than blend in SIMPLICITY_ORDER
    assert SIMPLICITY_ORDER.index("als") < SIMPLICITY_ORDER.index("blend")


def test_a_separated_best_model_is_chosen() -> None:
    choice = choose_model(_table({"blend": (0.60, 0.59, 0.61), "popular": (0.30, 0.29, 0.31)}), 10)
    assert choice.separated
    assert choice.chosen == "blend"
    assert choice.comparisons["ci_low"][0] > 0


def test_calibration_verdict_says_what_a_gap_means() -> None:
    cal = pl.DataFrame(
        {
            "decile": [1, 2, 3],
            "customers": [10, 10, 10],
            "predicted_churn": [0.1, 0.5, 0.837],
            "observed_churn": [0.1, 0.5, 0.670],
        }
    )
    verdict = calibration_verdict(cal)
    assert not verdict["calibrated"]
    assert "84%" in verdict["text"]
    assert "67%" in verdict["text"]
    assert "rank" in verdict["text"]
    assert calibration_verdict(cal.with_columns(observed_churn=pl.col("predicted_churn")))[
        "calibrated"
    ]
