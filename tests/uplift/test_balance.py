"""A feature measured after the assignment is never used silently (walk #1): the balance
check between the arms, `rs.uplift.covariate_balance`, in `UpliftModel` and the CLI."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from scipy import stats

import recsys as rs
from recsys.cli import main
from recsys.exceptions import DataWarning, InputDataError
from tests.uplift._simulate import simulate

FAST = {"max_iter": 10}


def with_post_treatment(frame: pl.DataFrame, seed: int = 1, lift: float = 0.06) -> pl.DataFrame:
    """``visited``: a 0/1 column the offer raises (10% -> 10% + ``lift``), measured after it, and
    ``spend_after``: a numeric one the offer shifts."""
    rng = np.random.default_rng(seed)
    treated = (frame["arm"] == "offer").to_numpy()
    return frame.with_columns(
        visited=(rng.random(frame.height) < 0.10 + lift * treated).astype(np.int64),
        spend_after=rng.exponential(20.0, frame.height) * (1 + 0.5 * treated),
    )


def test_post_treatment_columns_are_flagged_and_pre_assignment_ones_are_not():
    frame = with_post_treatment(simulate(4000, seed=0)[0])
    table = rs.uplift.covariate_balance(frame.drop("outcome"), treatment="arm", control="control")
    flagged = dict(zip(table["feature"], table["imbalanced"], strict=True))
    assert flagged == {
        "x1": False,
        "x2": False,
        "x3": False,
        "x4": False,
        "churn_risk": False,
        "visited": True,
        "spend_after": True,
    }
    assert dict(zip(table["feature"], table["test"], strict=True))["visited"] == "chi2"
    # the p-values of an independent computation, Bonferroni over the 7 columns
    treated = (frame["arm"] == "offer").to_numpy()
    x1 = frame["x1"].to_numpy()
    ks = stats.ks_2samp(x1[treated], x1[~treated], method="asymp").pvalue
    row = table.row(0, named=True)
    assert row["p_value"] == pytest.approx(ks)
    assert row["p_adjusted"] == pytest.approx(min(1.0, 7 * ks))
    visited = frame["visited"].to_numpy()
    counts = [[np.sum((visited == v) & (treated == a)) for v in (0, 1)] for a in (True, False)]
    chi2 = stats.chi2_contingency(np.array(counts)).pvalue
    assert table.filter(feature="visited")["p_value"][0] == pytest.approx(chi2)
    assert table.filter(feature="visited")["treated_mean"][0] == pytest.approx(
        visited[treated].mean()
    )


def test_a_balanced_experiment_is_rarely_flagged():
    """Randomized arms (50/50 and 90/10), pre-assignment columns of every kind
    (continuous, 0/1, text with rare values, nulls): at Bonferroni 0.001 a run flags any
    column with probability below 0.001, so 200 runs flag none (expected 0.2 false
    alarms at most; P(any) < 0.2)."""
    rng = np.random.default_rng(7)
    alarms = 0
    for run in range(200):
        n = 1000
        t = (rng.random(n) < (0.5 if run % 2 else 0.9)).astype(int)
        spend = rng.lognormal(3, 1, n)
        spend[rng.random(n) < 0.1] = np.nan
        frame = pl.DataFrame(
            {
                "user_id": np.arange(n),
                "arm": np.where(t, "offer", "control"),
                "spend": spend,
                "newbie": rng.integers(0, 2, n),
                "region": rng.choice(
                    ["a", "b", "c", "rare1", "rare2"], n, p=[0.5, 0.3, 0.19, 0.005, 0.005]
                ),
                "visits": rng.poisson(2, n),
            }
        ).with_columns(pl.col("spend").fill_nan(None))
        table = rs.uplift.covariate_balance(frame, treatment="arm", control="control")
        alarms += int(table["imbalanced"].any())
    assert alarms == 0


def test_the_model_refuses_post_treatment_columns_among_the_experiments_other_columns():
    frame = with_post_treatment(simulate(3000, seed=0)[0])
    model = rs.uplift.UpliftModel("t", n_folds=2, learner_params=FAST)
    with pytest.raises(InputDataError) as err:
        model.fit(frame, treatment="arm", outcome="outcome", control="control")
    message = str(err.value)
    treated = frame.filter(arm="offer")["visited"].mean()
    control = frame.filter(arm="control")["visited"].mean()
    assert f"'visited' (mean {treated:.3g} in 'offer' vs {control:.3g} in 'control'" in message
    assert "'spend_after'" in message
    assert "'x1'" not in message
    assert "features=" in message
    # only the pre-assignment columns: fitted, nothing flagged
    model.fit(
        frame.drop("visited", "spend_after"), treatment="arm", outcome="outcome", control="control"
    )
    assert model.balance_warning_ is None
    assert not model.balance_["imbalanced"].any()


def test_post_treatment_columns_named_in_features_are_warned_about():
    frame = with_post_treatment(simulate(3000, seed=0)[0])
    model = rs.uplift.UpliftModel("t", n_folds=2, learner_params=FAST)
    with pytest.warns(DataWarning, match="'visited'") as caught:
        model.fit(
            frame.select("user_id", "arm", "outcome"),
            frame.drop("arm", "outcome"),
            treatment="arm",
            outcome="outcome",
            control="control",
        )
    assert model.balance_warning_ in [str(w.message) for w in caught]
    assert model.balance_.filter("imbalanced")["feature"].to_list() == ["visited", "spend_after"]


def _cli(tmp_path, frame, *extra):
    frame.write_csv(tmp_path / "exp.csv")
    return main(
        [
            "uplift",
            str(tmp_path / "exp.csv"),
            *("--arm", "arm", "--control", "control", "--outcome", "outcome", "--seed", "0"),
            *("--target", str(tmp_path / "out"), "--target-bootstrap", "10"),
            *extra,
        ]
    )


def test_cli_refuses_post_treatment_columns_and_names_the_flag(tmp_path, capsys):
    frame = with_post_treatment(simulate(800, seed=0)[0], lift=0.3)
    assert _cli(tmp_path, frame) == 2
    err = capsys.readouterr().err
    assert "'visited'" in err
    assert "--features FILE" in err
    assert "features=" not in err
    assert not (tmp_path / "out").exists()


def test_cli_warns_under_the_claim_when_features_are_named(tmp_path, capsys):
    frame = with_post_treatment(simulate(800, seed=0)[0], lift=0.3)
    frame.drop("arm", "outcome").write_csv(tmp_path / "feat.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the CLI prints its own warnings
        code = _cli(
            tmp_path,
            frame.select("user_id", "arm", "outcome"),
            "--features",
            str(tmp_path / "feat.csv"),
        )
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("warning: features columns 'visited'")  # under the claim


def test_cli_rank_by_is_looked_for_in_the_features_file(tmp_path, capsys):
    frame = simulate(800, seed=0)[0]
    frame.drop("arm", "outcome").write_csv(tmp_path / "feat.csv")
    experiment = frame.select("user_id", "arm", "outcome")
    feat = ("--features", str(tmp_path / "feat.csv"))
    assert _cli(tmp_path, experiment, *feat, "--rank-by", "churn_risk") == 0
    value = pl.read_parquet(tmp_path / "out" / "value.parquet")
    assert "by_churn_risk" in set(value["policy"])
    capsys.readouterr()
    assert _cli(tmp_path, experiment, *feat, "--rank-by", "clv") == 2
    err = capsys.readouterr().err
    assert "--rank-by 'clv'" in err
    assert "feat.csv" in err
    assert "rank_by=" not in err


def test_the_report_leaves_out_a_post_treatment_column_and_says_so():
    """``recsys report --experiment``: the job chose the experiment's other columns as
    features for the user, so a post-treatment one is left out of the uplift model, with
    the warning under the targeting card."""
    from tests.job import shops

    frame = simulate(1000, binary=False, seed=3)[0].drop("churn_risk")
    treated = (frame["arm"] == "offer").to_numpy()
    rng = np.random.default_rng(1)
    frame = frame.with_columns(visited=(rng.random(1000) < 0.1 + 0.3 * treated).astype(int))
    experiment = rs.job.targeting.Experiment(
        frame,
        arm="arm",
        control="control",
        outcome="outcome",
        start="2023-07-01",
        bootstrap=10,
        learner_params=FAST,
    )
    config = rs.job.JobConfig(
        models=("popular",), bootstrap=10, contact_cost=0.1, experiment=experiment
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        result = rs.job.run(shops.grocery(customers=120), config)
    said = [w for w in result.claims["targeting"].warnings if "'visited'" in w]
    # the job's note only: the model, fitted without the column, has nothing to warn about
    assert len(said) == 1
    assert "fitted without them (1 of" in said[0]
    assert "in 'offer' vs" in said[0]  # the arm resolved, not a placeholder
