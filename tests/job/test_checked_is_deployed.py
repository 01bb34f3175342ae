"""What the job checks against the naive rules is what it deploys and what it says:
the churn risk and CLV scored at the evaluation cutoff have the deployed definitions,
the CLV and churn comparisons each keep their own customers, and the churn order the
claim describes is the one the decisions use."""

from __future__ import annotations

import warnings
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.job import JobConfig, JobResult
from tests.job import shops


@pytest.fixture(scope="module")
def mixed() -> tuple[JobResult, pl.DataFrame]:
    purchases = shops.mixed()
    result = rs.job.run(purchases, JobConfig(models=("popular",), bootstrap=50))
    return result, purchases


def test_the_churn_risk_and_clv_checked_at_the_cutoff_are_the_deployed_ones(
    mixed: tuple[JobResult, pl.DataFrame],
) -> None:
    result, purchases = mixed
    config = result.config
    assert result.backtest is not None
    assert result.cutoff is not None
    # the deployed definition, as documented: churn over horizon_days, the CLV over
    # clv_horizon_days with the profiles' default monthly discount
    deployed = rs.profiles.ProfileConfig(
        horizon_days=config.horizon_days, clv_horizon_days=config.clv_horizon_days
    )
    assert deployed.clv_discount_monthly > 0
    before = purchases.filter(pl.col("timestamp") < result.cutoff)
    expected = rs.build_profiles(before, as_of=result.cutoff, config=deployed)
    for prediction, column in (("clv", "clv"), ("churn", "churn_risk")):
        scored = result.backtest.units[prediction].select("user_id", column)
        both = scored.join(
            expected.select("user_id", pl.col(column).alias("expected")), on="user_id"
        )
        assert both.height == scored.height > 100
        assert both[column].to_list() == pytest.approx(both["expected"].to_list(), rel=1e-9)
    # and the decisions use the same definitions as of as_of
    bought = purchases.filter(pl.col("timestamp") < result.as_of)
    at_as_of = rs.build_profiles(bought, as_of=result.as_of, config=deployed)
    assert result.profiles["clv"].to_list() == pytest.approx(at_as_of["clv"].to_list())
    end = result.cutoff + timedelta(days=config.horizon_days)
    assert end <= result.as_of


def test_the_learned_models_checked_at_the_cutoff_are_the_deployed_ones(
    mixed: tuple[JobResult, pl.DataFrame],
) -> None:
    result, purchases = mixed
    config = result.config
    assert result.backtest is not None
    assert result.cutoff is not None
    # on this shop both learned models are the candidates and both are deployed
    churn, value = result.claims["churn"], result.claims["value"]
    assert churn.evidence["model"] == "LearnedChurn"
    assert churn.evidence["ranked_by"] == "learned_churn_risk"
    assert value.evidence["model"] == "LearnedCLV"
    assert value.licensed
    assert result.value_column == "learned_value"
    # checked: the models fitted as of the cutoff on the purchases before it, with the
    # deployed horizons (churn over horizon_days, the value over clv_horizon_days)
    before = purchases.filter(pl.col("timestamp") < result.cutoff)
    fitted = {
        "churn_risk": rs.profiles.LearnedChurn().fit(
            before, as_of=result.cutoff, horizon_days=config.horizon_days
        ),
        "clv": rs.profiles.LearnedCLV().fit(
            before, as_of=result.cutoff, horizon_days=config.clv_horizon_days
        ),
    }
    for prediction, column in (("churn", "churn_risk"), ("clv", "clv")):
        model = type(fitted[column]).__name__
        scored = result.backtest.units[prediction].select("user_id", f"{column}__{model}")
        expected = fitted[column].predict(before).rename({column: "expected"})
        both = scored.join(expected, on="user_id")
        assert both.height == scored.height > 100
        assert both[f"{column}__{model}"].to_list() == pytest.approx(both["expected"].to_list())
        assert (
            result.backtest.table.filter(prediction=prediction, model=model, origin="all").height
            > 0
        )
    # deployed: the same classes refitted as of as_of on every purchase before it
    bought = purchases.filter(pl.col("timestamp") < result.as_of)
    risk = rs.profiles.LearnedChurn().fit(bought, as_of=result.as_of, horizon_days=90)
    clv = rs.profiles.LearnedCLV().fit(bought, as_of=result.as_of, horizon_days=365)
    deployed = (
        result.profiles.select("user_id", "monetary", "learned_churn_risk", "learned_value")
        .join(risk.predict(bought), on="user_id", how="left")
        .join(clv.predict(bought), on="user_id", how="left")
    )
    assert deployed["learned_churn_risk"].to_list() == pytest.approx(
        deployed["churn_risk"].to_list()
    )
    # the value in money over the value horizon: the learned CLV sharing out past_value's
    # total (past spend x the shop's recent-spend ratio)
    ratio = value.evidence["ratio"]
    total = float(deployed["monetary"].sum()) * ratio
    assert float(deployed["learned_value"].sum()) == pytest.approx(total)
    share = deployed["clv"].fill_null(0.0) / deployed["clv"].fill_null(0.0).sum()
    assert deployed["learned_value"].to_list() == pytest.approx((share * total).to_list())
    # BG/NBD's columns are kept next to them
    assert {"churn_risk", "clv"} <= set(result.profiles.columns)
    # the claims say which model was checked and deployed
    assert value.text.startswith(
        "Customer value is the learned CLV model's value over the next 365 days"
    )
    assert "the next 90 days' spend" in value.text
    assert churn.text.startswith("The learned churn model's churn risk ranks who leaves better")


def test_the_learned_check_reads_nothing_at_or_after_the_cutoff(
    mixed: tuple[JobResult, pl.DataFrame],
) -> None:
    result, purchases = mixed
    assert result.cutoff is not None
    # a purchase 10 days after the cutoff by a customer who bought before it: only the
    # labels of the window may change, never a prediction made at the cutoff
    customer = purchases.filter(pl.col("timestamp") < result.cutoff)["user_id"][0]
    extra = (
        purchases.filter(pl.col("user_id") == customer)
        .head(1)
        .with_columns(
            timestamp=pl.lit(result.cutoff + timedelta(days=10)).cast(purchases["timestamp"].dtype)
        )
    )
    changed = rs.job.run(
        pl.concat([purchases, extra]).sort("timestamp"),
        JobConfig(models=("popular",), bootstrap=50),
    )
    assert changed.backtest is not None
    assert result.backtest is not None
    for prediction, column in (("churn", "churn_risk__LearnedChurn"), ("clv", "clv__LearnedCLV")):
        old = result.backtest.units[prediction].select("user_id", column).sort("user_id")
        new = changed.backtest.units[prediction].select("user_id", column).sort("user_id")
        assert old.equals(new)
    labels = changed.backtest.units["churn"].filter(pl.col("user_id") == customer)
    assert labels["n_orders_after"].item() >= 1


@pytest.mark.parametrize("name", ["mixed", "durables"])
def test_the_action_list_decides_churn_and_value_as_the_job_does(name: str) -> None:
    purchases = shops.SHOPS[name]()
    result = rs.job.run(purchases, JobConfig(models=("popular",), bootstrap=50, k=5))
    said: list[str] = []
    table = rs.job.action_list(
        purchases, recommender=rs.Popular(), k=5, bootstrap=50, echo=said.append
    )
    claims = result.claims
    assert said == [
        f"churn: {claims['churn'].text}",
        f"value: {claims['value'].text}",
        f"due: {claims['due'].text}",  # the items due checked and decided as the job does
    ]
    columns = ["user_id", "action", "projected_value", "priority"]
    assert (
        table.select(columns).sort("user_id").equals(result.actions.select(columns).sort("user_id"))
    )
    # on this shop the CLV is licensed (mixed) or not (durables): the action list follows
    licensed = result.claims["value"].licensed
    assert licensed == (name == "mixed")
    profiles = result.profiles
    stake = table.join(profiles.select("user_id", "clv", "monetary"), on="user_id")
    win = stake.filter(pl.col("action") == "win_back")
    assert win.height > 0
    if not licensed:  # past spend, not the CLV, is what is at stake
        ratio = result.claims["value"].evidence["ratio"]
        stake = win["monetary"] * ratio
        if result.claims["churn"].licensed:  # x the churn risk deployed: the learned one
            assert result.claims["churn"].evidence["ranked_by"] == "learned_churn_risk"
            risk = profiles.select("user_id", "learned_churn_risk")
            stake = (
                stake * win.join(risk, on="user_id", maintain_order="left")["learned_churn_risk"]
            )
        assert win["projected_value"].to_list() == pytest.approx(stake.to_list())


def test_a_customer_without_a_finite_clv_still_counts_for_churn() -> None:
    from datetime import datetime as dt

    from recsys.job.evidence import rule_comparisons, rule_evidence

    p = pl.DataFrame(
        {
            "user_id": [1, 2, 3, 4, 1, 3],
            "item_id": ["a"] * 6,
            "timestamp": [dt(2020, 1, d) for d in (1, 2, 3, 4)] + [dt(2020, 2, 1), dt(2020, 2, 2)],
            "quantity": [1.0] * 6,
            "price": [10.0, 20.0, 30.0, 40.0, 5.0, 50.0],
        }
    )
    profiles = pl.DataFrame(
        {
            "user_id": [1, 2, 3, 4],
            "recency_days": [14.0, 13.0, 12.0, 11.0],
            "frequency": [1, 1, 1, 1],
            "churn_risk": [0.2, 0.9, 0.1, 0.8],
            "monetary": [10.0, 20.0, 30.0, 40.0],
            "clv": [5.0, float("nan"), 9.0, 1.0],
        }
    )
    with pytest.warns(
        rs.exceptions.DataWarning, match="1 of 4 customers have no finite monetary or clv"
    ):
        result = rule_evidence(
            profiles, p, dt(2020, 1, 15), 30, churn=True, clv=True, bootstrap=0, seed=0,
            observed_until=dt(2020, 2, 14),
        )  # fmt: skip
    assert result is not None
    churn = rule_comparisons(result, "churn", 30)
    clv = rule_comparisons(result, "clv", 30)
    assert {c.customers for c in churn} == {4}  # customer 2 (no CLV) is still a churner
    assert {c.customers for c in clv} == {3}
    # by hand: churned 2 and 4 (risk 0.9, 0.8) above returners 1 and 3 (0.2, 0.1)
    assert next(c for c in churn if c.metric == "auc").value == 1.0
    # by hand on 1, 3, 4: spend after 5, 50, 0; CLV 5, 9, 1 ranks them exactly
    assert next(c for c in clv if c.metric == "spearman").value == pytest.approx(1.0)
    # a prediction no customer has a finite value for is left out, said so
    none = profiles.with_columns(clv=pl.lit(float("nan")))
    with pytest.warns(rs.exceptions.DataWarning, match="the clv prediction is not compared"):
        churn_only = rule_evidence(
            none, p, dt(2020, 1, 15), 30, churn=True, clv=True, bootstrap=0, seed=0,
            observed_until=dt(2020, 2, 14),
        )  # fmt: skip
    assert churn_only is not None
    assert set(churn_only.table["prediction"]) == {"churn"}


def test_the_churn_labels_at_the_cutoff_are_computed_once(
    mixed: tuple[JobResult, pl.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    import recsys.evaluation._backtest_units as units_module
    import recsys.evaluation.calibration as calibration_module
    import recsys.job.evidence as evidence_module
    from recsys.job.customers import check_at_cutoff, profile_config
    from recsys.uplift.retention import retention_labels

    result, purchases = mixed
    assert result.cutoff is not None
    calls: list[object] = []

    def counted(*args: object, **kwargs: object) -> pl.DataFrame:
        calls.append(args)
        return retention_labels(*args, **kwargs)  # type: ignore[arg-type]

    for module in (units_module, calibration_module, evidence_module):
        monkeypatch.setattr(module, "retention_labels", counted, raising=False)
    bought = purchases.filter(pl.col("timestamp") < result.as_of)
    before = bought.filter(pl.col("timestamp") < result.cutoff)
    config = result.config
    checks = check_at_cutoff(
        before,
        bought,
        result.cutoff,
        config,
        profile_config(config, has_prices=True),
        observed_until=result.as_of,
    )
    assert len(calls) == 1
    # the churn evidence and the comparison with the rules share customers and labels
    assert checks.churn is not None
    assert checks.backtest is not None
    units = checks.backtest.units["churn"]
    assert checks.churn.customers == units.height
    assert checks.churn.churned == int(units["churned"].sum())
    assert checks.churn.calibration.equals(result.churn.calibration)  # type: ignore[union-attr]


def test_no_churn_evidence_from_a_window_past_as_of() -> None:
    purchases = shops.mixed()
    as_of = purchases["timestamp"].max() + timedelta(days=1)  # type: ignore[operator]
    cutoff = as_of - timedelta(days=30)  # the 90 days after it run past as_of
    with pytest.warns(rs.exceptions.DataWarning, match="run past"):
        result = rs.job.run(purchases, JobConfig(models=("popular",), bootstrap=20, cutoff=cutoff))
    assert result.backtest is None
    assert result.churn is None  # not customers "churned" because the data end
    assert not result.claims["churn"].licensed
    assert "run past as_of" in result.claims["churn"].text


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Mann-Whitney AUC by counting every (positive, negative) pair; ties count 1/2."""
    pos, neg = score[positive], score[~positive]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (pos.size * neg.size))


def test_the_frequency_rule_is_scored_in_the_order_it_is_deployed(
    mixed: tuple[JobResult, pl.DataFrame],
) -> None:
    from recsys.job.decisions import CHURN_RULES, churn_rank

    result, _ = mixed
    assert result.backtest is not None
    units = result.backtest.units["churn"]
    assert units["frequency"].n_unique() < units.height / 5  # many ties to break
    churned = units["churned"].to_numpy() == 1.0
    deployed = units.select(churn_rank(units, "frequency"))["churn_rank"].to_numpy()
    scored = next(
        r for r in rs.job.evidence.rule_comparisons(result.backtest, "churn", 90)
        if r.rule == "frequency"
    )  # fmt: skip
    assert scored.rule_value == pytest.approx(_auc(-deployed.astype(float), churned))
    tied = _auc(-units["frequency"].to_numpy().astype(float), churned)
    assert abs(scored.rule_value - tied) > 0.01  # the tie-break matters here
    # and the claim names the order deployed
    assert "then longest since the last order" in CHURN_RULES["frequency"][1]
    if result.claims["churn"].evidence.get("rule") == "frequency":
        assert CHURN_RULES["frequency"][1] in result.claims["churn"].text
    # rs.evaluation.backtest's rule (the benchmarks') keeps its ties
    tied_run = rs.evaluation.backtest_profiles(
        units.drop("churned", "retained", "n_orders_after", "spend_after", "origin"),
        mixed[1],
        result.cutoff,  # type: ignore[arg-type]
        "churn",
        90,
        bootstrap=0,
        observed_until=result.as_of,
    )
    row = tied_run.table.filter(origin="all", naive="frequency").row(0, named=True)
    assert row["naive_value"] == pytest.approx(tied)


def test_the_demo_cards_name_the_learned_models_and_their_figures() -> None:
    """The bundled data as `recsys demo` runs it (cutoff 2011-09-09): both learned models
    beat the rules at the cutoff and are deployed; the cards quote the figures the
    customers scored there give, recomputed here."""
    from datetime import datetime

    from scipy.stats import spearmanr

    from recsys.job import load_online_retail
    from recsys.job.customers import check_at_cutoff, customer_decisions, profile_config
    from recsys.job.decisions import churn_rank

    purchases, _, _ = load_online_retail()
    config = JobConfig(cutoff=datetime(2011, 9, 9))
    as_of = datetime(2011, 12, 10)  # the day after the last purchase, the demo's
    bought = purchases.filter(pl.col("timestamp") < as_of)
    definition = profile_config(config, has_prices=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profiles = rs.build_profiles(bought, as_of=as_of, config=definition)
        before = bought.filter(pl.col("timestamp") < config.cutoff)
        checks = check_at_cutoff(
            before, bought, config.cutoff, config, definition, observed_until=as_of
        )
        decided = customer_decisions(
            profiles, bought, as_of, checks, rs.job.evidence.FitEvidence((), (), 0), config,
            has_prices=True,
        )  # fmt: skip
    assert checks.backtest is not None
    churn, value = decided.churn, decided.value
    units = checks.backtest.units["churn"]
    churned = units["churned"].to_numpy() == 1.0
    learned = _auc(units["churn_risk__LearnedChurn"].to_numpy(), churned)
    rule = _auc(-units.select(churn_rank(units, "frequency"))["churn_rank"].to_numpy(), churned)
    assert (round(learned, 3), round(rule, 3)) == (0.745, 0.736)
    assert churn.text.startswith(
        "The learned churn model's churn risk ranks who leaves better than the better naive "
        "rule, the number of orders (fewest first, then longest since the last order): AUC "
        f"{learned:.3f} vs {rule:.3f} (difference +0.009, 95% CI +0.003 to +0.015) on 3,360 "
        "customers at the evaluation cutoff."
    )
    assert churn.evidence["ranked_by"] == "learned_churn_risk"
    assert not churn.licensed  # ranked by it, not read as a probability (not calibrated)
    # its Brier score and the base rate's, recomputed with numpy on the checked customers
    risk = units["churn_risk__LearnedChurn"].to_numpy()
    rate = churned.mean()
    assert churn.evidence["brier"] == pytest.approx(np.mean((risk - churned) ** 2))
    assert churn.evidence["base_rate_brier"] == pytest.approx(rate * (1 - rate))
    assert f"Brier score {churn.evidence['brier']:.4f} vs {rate * (1 - rate):.4f}" in churn.text
    clv = checks.backtest.units["clv"]
    spend = clv["spend_after"].fill_null(0.0).to_numpy()
    model = float(spearmanr(clv["clv__LearnedCLV"].to_numpy(), spend).statistic)
    past = float(spearmanr(clv["monetary"].to_numpy(), spend).statistic)
    assert (round(model, 3), round(past, 3)) == (0.531, 0.527)
    assert (
        "Customer value is the learned CLV model's value over the next 365 days (past spend x "
        "its chance of an order in them, scaled so that all customers together are worth the "
        "shop's recent spend over the value horizon): it ranks the next 90 days' spend better "
        "than past spend on Spearman, with top-decile capture level with past spend's: "
        f"Spearman correlation {model:.3f} vs {past:.3f} (difference +0.004, 95% CI +0.001 to "
        "+0.007); top-decile capture"
    ) in value.text
    # the capture, recomputed: the tenth ranked highest's share of the window's spend
    tenth = clv.height // 10
    shares = [
        spend[np.argsort(-clv[c].to_numpy(), kind="stable")[:tenth]].sum() / spend.sum()
        for c in ("clv__LearnedCLV", "monetary")
    ]
    assert value.evidence["capture"] == pytest.approx(shares[0])
    assert value.evidence["rule_capture"] == pytest.approx(shares[1])
    assert value.evidence["capture_ci_low"] < 0 < value.evidence["capture_ci_high"]
    assert value.licensed
    assert decided.value_column == "learned_value"
    # the deployed columns sit next to BG/NBD's, and the value is money like past_value
    columns = set(decided.profiles.columns)
    assert {"churn_risk", "clv", "learned_churn_risk", "learned_value"} <= columns
    assert decided.profiles["learned_value"].sum() == pytest.approx(
        decided.profiles["monetary"].sum() * decided.ratio
    )


def test_above_learned_customers_the_learned_models_fit_on_a_stated_sample() -> None:
    from recsys.job.customers import check_at_cutoff, profile_config
    from recsys.job.sampling import sample_customers

    purchases = shops.mixed()  # 600 customers
    config = JobConfig(models=("popular",), bootstrap=20, learned_customers=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rs.job.run(purchases, config)
    assert result.cutoff is not None
    assert result.backtest is not None
    before = purchases.filter(pl.col("timestamp") < result.cutoff)
    drawn = sample_customers(before, 200, config.seed)
    model = rs.profiles.LearnedChurn().fit(drawn, as_of=result.cutoff, horizon_days=90)
    expected = model.predict(before)  # fitted on the sample, scoring every customer
    scored = result.backtest.units["churn"].select("user_id", "churn_risk__LearnedChurn")
    both = scored.join(expected, on="user_id")
    assert both.height == scored.height > 200
    assert both["churn_risk__LearnedChurn"].to_list() == pytest.approx(both["churn_risk"].to_list())
    checks = check_at_cutoff(
        before, purchases, result.cutoff, config, profile_config(config, True),
        observed_until=result.as_of,
    )  # fmt: skip
    assert checks.learned.sampled == (200, before["user_id"].n_unique())
    if result.claims["churn"].evidence["model"] == "LearnedChurn":
        assert "fitted on the purchases of 200 customers drawn at random" in (
            result.claims["churn"].text
        )
