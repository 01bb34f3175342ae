"""``recsys uplift FILE --target DIR``: the plan, its value and the Qini curve as files."""

from __future__ import annotations

import polars as pl

from recsys.cli import main
from tests.uplift._simulate import simulate

ARGS = ["--arm", "arm", "--control", "control", "--outcome", "outcome", "--seed", "0"]


def test_target_writes_the_plan_its_value_and_the_qini_curve(tmp_path, capsys):
    frame, _ = simulate(2000, seed=0)
    frame.write_csv(tmp_path / "exp.csv")
    out = tmp_path / "out"
    code = main(
        [
            "uplift",
            str(tmp_path / "exp.csv"),
            *ARGS,
            "--target",
            str(out),
            "--value",
            "20",
            "--contact-cost",
            "1",
            "--rank-by",
            "churn_risk",
            "--target-bootstrap",
            "20",
            "--holdout",
            "0.2",
        ]
    )
    assert code == 0
    plan = pl.read_parquet(out / "plan.parquet")
    assert sorted(plan["user_id"]) == list(range(2000))
    assert not plan.filter("in_holdout")["treat"].any()
    assert (plan.filter("treat")["expected_gain"] > 0).all()
    value = pl.read_parquet(out / "value.parquet")
    assert set(value["policy"]) == {"plan", "treat_all", "treat_none", "random", "by_churn_risk"}
    assert value.filter(policy="plan")["n_treated"][0] == plan["planned"].sum()
    assert pl.read_parquet(out / "qini.parquet")["fraction"][-1] == 1.0
    assert (out / "qini.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "random" in capsys.readouterr().out  # the claim, printed


def test_target_with_one_arm_fails_and_writes_nothing(tmp_path, capsys):
    frame, _ = simulate(500, seed=0)
    frame.with_columns(arm=pl.lit("offer")).write_csv(tmp_path / "exp.csv")
    out = tmp_path / "out"
    code = main(["uplift", str(tmp_path / "exp.csv"), *ARGS, "--target", str(out)])
    assert code == 2
    assert "one arm" in capsys.readouterr().err
    assert not out.exists()
