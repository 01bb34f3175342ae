"""The main job with an experiment: the uplift model, the plan, the targeting card and
plan.parquet, on a simulated experiment of known effect (licensed and not licensed)."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pyarrow.parquet as pq
import pytest

import recsys as rs
import recsys.report
from recsys.cli import main
from recsys.exceptions import InputDataError
from recsys.job.claims import TARGETING_FALLBACK
from recsys.job.targeting import Experiment
from tests.job import shops
from tests.uplift._simulate import simulate

pytestmark = pytest.mark.filterwarnings("ignore::recsys.exceptions.DataWarning")

FAST = {"max_iter": 20}
COLUMNS = {"arm": "arm", "control": "control", "outcome": "outcome"}


def _experiment(varies: bool) -> pl.DataFrame:
    """1,000 customers (the shop's 120 among them); spend rises by ``x3 + 0.5`` with the
    offer (customers with x3 < -0.5 are put off) or by 0.5 for everyone."""
    frame, tau = simulate(1000, binary=False, seed=3)
    frame = frame.drop("churn_risk")
    if varies:
        return frame
    treated = (frame["arm"] == "offer").to_numpy()
    return frame.with_columns(outcome=frame["outcome"].to_numpy() + (0.5 - tau) * treated)


@pytest.fixture(scope="module")
def shop() -> pl.DataFrame:
    return shops.grocery(customers=120)


def _run(shop: pl.DataFrame, experiment: Experiment, **config: object) -> rs.job.JobResult:
    defaults: dict[str, object] = {"models": ("popular",), "bootstrap": 20, "contact_cost": 0.1}
    return rs.job.run(shop, rs.job.JobConfig(**{**defaults, **config}, experiment=experiment))


def test_a_varying_response_licenses_targeting_by_the_model(shop, tmp_path) -> None:
    experiment = Experiment(
        _experiment(varies=True),
        **COLUMNS,
        start="2023-07-01",
        bootstrap=30,
        learner_params=FAST,
        holdout=0.2,
    )
    result = _run(shop, experiment)
    claim = result.claims["targeting"]
    assert claim.licensed
    assert claim.text.startswith("Send the offer by the uplift model")
    assert claim.evidence["qini_ci_low"] > 0
    assert "as of 2023-07-01 (the experiment's start)" in claim.text
    found = result.targeting
    assert found is not None
    assert found.by_model
    assert found.features_as_of == datetime(2023, 7, 1)
    plan = found.plan
    assert sorted(plan["user_id"]) == sorted(result.profiles["user_id"])  # every customer
    assert not plan.filter("in_holdout")["treat"].any()
    assert plan["uplift"].n_unique() > 1  # by the model: one uplift per customer
    # the action list follows the plan: only treated customers get an action
    offered = set(result.actions.filter(pl.col("action") != "none")["user_id"])
    assert offered <= set(plan.filter("treat")["user_id"])
    # out-of-fold, the plan beats sending to everyone (the offer puts some customers off)
    dr = found.value.table.filter(estimator="dr")
    gains = dict(zip(dr["policy"], dr["gain"], strict=True))
    assert gains["plan"] > gains["treat_all"]
    paths = recsys.report.write(result, tmp_path)
    meta = pq.read_metadata(paths["plan"]).metadata
    assert meta[b"as_of"].decode() == result.as_of.isoformat()
    assert meta[b"features_as_of"].decode() == "2023-07-01T00:00:00"
    assert meta[b"targeting"] == b"uplift model"
    assert pl.read_parquet(paths["plan"])["as_of"].unique().to_list() == [result.as_of]
    page = paths["report"].read_text()
    assert 'id="decision-targeting"' in page
    assert "Send the offer by the uplift model" in page
    if recsys.report.page.plots_available():
        assert "Qini curve of the uplift model" in page


def test_a_flat_response_falls_back_to_the_average_effect(shop) -> None:
    frame = _experiment(varies=False)
    experiment = Experiment(frame, **COLUMNS, bootstrap=30, learner_params=FAST, holdout=0.0)
    result = _run(shop, experiment)
    claim = result.claims["targeting"]
    assert not claim.licensed
    assert claim.fallback == TARGETING_FALLBACK
    assert "This experiment's response barely varies by customer" in claim.text
    assert f"Fall back to {TARGETING_FALLBACK}" in claim.text
    assert claim.evidence["qini_ci_low"] <= 0 <= claim.evidence["qini_ci_high"]
    # no start given: the job's as_of, stated
    assert "the job's as_of: the experiment's start was not given" in claim.text
    found = result.targeting
    assert found is not None
    assert not found.by_model
    y = frame["outcome"].to_numpy()
    treated = (frame["arm"] == "offer").to_numpy()
    average = y[treated].mean() - y[~treated].mean()
    assert found.average_uplift == pytest.approx(average)
    assert abs(average - 0.5) < 0.25  # the simulated effect
    # the average effect pays the 0.1 contact cost: everyone gets the offer
    assert found.plan["uplift"].to_list() == pytest.approx([average] * found.plan.height)
    assert found.plan["treat"].all()


def test_experiment_settings_are_checked() -> None:
    with pytest.raises(InputDataError, match=r"Experiment\(method=...\)"):
        Experiment("exp.csv", **COLUMNS, method="s")  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match=r"JobConfig\(experiment=...\)"):
        rs.job.JobConfig(experiment="exp.csv")


def test_an_experiment_after_as_of_or_without_its_columns_is_an_error(shop) -> None:
    frame = _experiment(varies=True)
    late = Experiment(frame, **COLUMNS, start="2030-01-01", learner_params=FAST)
    with pytest.raises(InputDataError, match="start 2030-01-01 is after as_of"):
        _run(shop, late)
    wrong = Experiment(frame, arm="group", control="control", outcome="outcome")
    with pytest.raises(InputDataError, match=r"no columns \['group'\]"):
        _run(shop, wrong)


def test_report_command_with_an_experiment(shop, tmp_path, monkeypatch, capsys) -> None:
    import recsys.uplift.models

    monkeypatch.setitem(recsys.uplift.models.DEFAULT_LEARNER, "max_iter", 20)
    shop.write_csv(tmp_path / "shop.csv")
    _experiment(varies=True).write_csv(tmp_path / "exp.csv")
    out = tmp_path / "out"
    argv = ["report", str(tmp_path / "shop.csv"), "--models", "popular", "--bootstrap", "20"]
    argv += ["--out", str(out), "--experiment", str(tmp_path / "exp.csv")]
    argv += ["--arm", "arm", "--control", "control", "--outcome", "outcome"]
    argv += ["--experiment-start", "2023-07-01", "--target-bootstrap", "20", "--count", "30"]
    assert main(argv) == 0
    plan = pl.read_parquet(out / "plan.parquet")
    assert plan["treat"].sum() <= 30
    assert "targeting: " in capsys.readouterr().out
    assert 'id="decision-targeting"' in (out / "report.html").read_text()
    no_outcome = [a for a in argv if a not in ("--outcome", "outcome")]
    assert main(no_outcome) == 2
    assert "--experiment needs --outcome" in capsys.readouterr().err
    assert main([*argv, "--holdout", "1.5"]) == 2
    assert "--holdout" in capsys.readouterr().err
