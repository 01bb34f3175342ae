"""The main job on synthetic shops in five regimes (and a mix the naive rules misread):
the regime statements, every claim rule both ways, the as_of of every file, and no
crash.

Each shop runs once (module fixture) with two cheap models and few resamples.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.job import JobConfig, JobResult
from tests.job import shops

MODELS = ("popular", "repurchase", "itemknn")


def _config(**fields: object) -> JobConfig:
    base: dict[str, object] = {"models": MODELS, "bootstrap": 100, "currency": "$"}
    return JobConfig(**{**base, **fields})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[JobResult, Path]]:
    out = {}
    for name, make in shops.SHOPS.items():
        purchases = make()
        with pytest.warns() if name == "per_order_ids" else _nothing():
            result = rs.job.run(purchases, _config())
        folder = tmp_path_factory.mktemp(name)
        rs.report.write(result, folder)
        out[name] = (result, folder)
    return out


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


# --- the regime ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(shops.SHOPS))
def test_regime_counts_equal_independent_counts(
    name: str, runs: dict[str, tuple[JobResult, Path]]
) -> None:
    result, _ = runs[name]
    p = shops.SHOPS[name]().filter(pl.col("timestamp") < result.as_of)
    day = pl.col("timestamp").dt.date()
    key = ["user_id", "order_id"] if "order_id" in p.columns else ["user_id", day.alias("d")]
    orders = p.select(key).unique()
    per_customer = orders.group_by("user_id").len()
    pairs = p.select("user_id", "item_id", *key[1:]).unique().group_by("user_id", "item_id").len()
    regime = result.regime
    assert regime.customers == p["user_id"].n_unique()
    assert regime.orders == orders.height
    assert regime.one_order_share == pytest.approx((per_customer["len"] == 1).mean())
    assert regime.repeat_pair_share == pytest.approx((pairs["len"] > 1).mean())
    assert result.cutoff is not None
    before = set(p.filter(pl.col("timestamp") < result.cutoff)["user_id"])
    window = set(
        p.filter(
            pl.col("timestamp") >= result.cutoff,
            pl.col("timestamp") < result.cutoff + timedelta(days=90),
        )["user_id"]
    )
    assert f"{regime.customers:,} customers" in regime.statement
    if result.evaluation is None:  # no model evaluated on the window: it is not counted
        assert (regime.test_customers, regime.test_first_time) == (0, 0)
        assert "bought in the" not in regime.statement
    else:
        assert regime.test_customers == len(window)
        assert regime.test_first_time == len(window - before)


def test_regime_kinds(runs: dict[str, tuple[JobResult, Path]]) -> None:
    kinds = {name: runs[name][0].regime.kind for name in shops.SHOPS}
    assert kinds == {
        "grocery": "repeat",
        "wholesale": "repeat",
        "durables": "rare_repeat",
        "few_heavy": "repeat",
        "per_order_ids": "order_ids",
        "mixed": "repeat",
    }
    grocery = runs["grocery"][0].regime
    assert not grocery.has_order_ids
    assert not grocery.has_prices
    assert "customer-days" in grocery.statement


def test_order_ids_named_with_advice_and_the_job_still_writes(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, folder = runs["per_order_ids"]
    message = result.regime.order_id_message
    assert message is not None
    assert "'user_id'" in message
    assert "stable customer key" in message
    assert result.evaluation is None
    claim = result.claims["evaluation"]
    assert not claim.licensed
    assert "looks like an order id" in claim.text
    assert not result.claims["model"].licensed
    for name in ("profiles", "actions", "recommendations"):
        assert pl.read_parquet(folder / f"{name}.parquet").height > 0
    html = (folder / "report.html").read_text()
    assert 'id="regime-alert"' in html
    assert "stable customer key" in html


def test_no_crash_on_an_empty_test_window() -> None:
    purchases = shops.wholesale()
    # nobody buys in the 30 days before as_of: the test window is empty
    last = purchases["timestamp"].max()
    assert isinstance(last, datetime)
    quiet = purchases.filter(pl.col("timestamp") < last - timedelta(days=40))
    result = rs.job.run(quiet, _config(as_of=last, horizon_days=30, models=("popular",)))
    assert result.evaluation is None
    assert "No evaluation" in result.claims["evaluation"].text
    assert "the test window is empty" in result.claims["evaluation"].text
    assert result.recommendations.height > 0
    assert result.actions.height > 0


# --- every file carries its as_of -----------------------------------------------------------


@pytest.mark.parametrize("name", list(shops.SHOPS))
def test_every_file_carries_its_as_of(name: str, runs: dict[str, tuple[JobResult, Path]]) -> None:
    result, folder = runs[name]
    stamp = result.as_of.isoformat()
    for file in ("purchases", "profiles", "due", "actions", "recommendations"):
        path = folder / f"{file}.parquet"
        assert pl.read_parquet_metadata(path)["as_of"] == stamp, file
        frame = pl.read_parquet(path)
        assert frame["timestamp" if file == "purchases" else "user_id"].len() == frame.height
        if file != "purchases":
            assert frame["as_of"].unique().to_list() == [result.as_of]
    purchases = pl.read_parquet(folder / "purchases.parquet")
    assert purchases["timestamp"].max() < result.as_of  # type: ignore[operator]
    profiles = pl.read_parquet(folder / "profiles.parquet")
    assert profiles["last_purchase"].max() < result.as_of  # type: ignore[operator]
    # one as_of: every customer of the action list is in the profiles, and vice versa
    actions = pl.read_parquet(folder / "actions.parquet")
    assert set(actions["user_id"]) == set(profiles["user_id"])
    metrics = pl.read_csv(folder / "metrics.csv")
    if metrics.height:
        assert set(metrics["as_of"]) == {stamp}


def test_item_names_next_to_ids(tmp_path: Path) -> None:
    purchases = shops.wholesale()
    names = (
        purchases.select("item_id")
        .unique()
        .with_columns(name=pl.lit("Box of ") + pl.col("item_id"))
    )
    result = rs.job.run(purchases, _config(bootstrap=20, models=("popular",)), item_names=names)
    rs.report.write(result, tmp_path)
    recs = pl.read_parquet(tmp_path / "recommendations.parquet")
    assert recs.columns[:3] == ["user_id", "item_id", "item_name"]
    assert (recs["item_name"] == "Box of " + recs["item_id"]).all()
    actions = pl.read_parquet(tmp_path / "actions.parquet")
    row = actions.filter(pl.col("items").list.len() > 0).row(0, named=True)
    assert row["item_names"] == [f"Box of {i}" for i in row["items"]]


# --- claims, each rule both ways ------------------------------------------------------------


def test_evaluation_names_returning_and_first_time(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, _ = runs["durables"]
    claim = result.claims["evaluation"]
    regime = result.regime
    assert claim.evidence["returning"] == regime.test_returning
    assert claim.evidence["first_time"] == regime.test_first_time > 0
    assert claim.evidence["evaluated"] == regime.test_customers
    assert f"{regime.test_first_time:,} first seen in the file" in claim.text
    assert not claim.licensed  # a handful of returning customers
    wholesale = runs["wholesale"][0].claims["evaluation"]
    assert wholesale.licensed
    assert wholesale.evidence["returning"] >= 30
    assert result.evaluation is not None
    overall = result.metrics.filter(segment="all", metric="hit_rate", mode="all")
    assert set(overall["n_users"]) == {regime.test_customers}


def test_best_model_named_only_when_separated(runs: dict[str, tuple[JobResult, Path]]) -> None:
    wholesale = runs["wholesale"][0]
    claim = wholesale.claims["model"]
    assert claim.licensed, claim.text
    assert claim.evidence["ci_low"] > 0
    assert "is the best model" in claim.text
    durables = runs["durables"][0].claims["model"]
    assert not durables.licensed
    assert "Not enough evidence" in durables.text
    assert durables.fallback == runs["durables"][0].model
    assert "highest" not in durables.text


def test_every_model_scoring_zero_is_not_a_best_model() -> None:
    from recsys.job.choice import choose_model
    from recsys.job.claims import model_claim

    table = pl.DataFrame(
        {
            "model": ["als", "popular"],
            "mode": ["all"] * 2,
            "metric": ["hit_rate"] * 2,
            "k": [10, 10],
            "segment": ["all"] * 2,
            "value": [0.0, 0.0],
            "ci_low": [0.0, 0.0],
            "ci_high": [0.0, 0.0],
            "n_users": [400, 400],
        }
    )
    claim = model_claim(
        choose_model(table, 10), used="popular", used_because="x", evaluated=400, best_value=0.0
    )
    assert not claim.licensed
    assert "every model scored 0" in claim.text


def test_durables_do_not_get_bought_products_first(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, _ = runs["durables"]
    assert result.model not in rs.job.BUY_AGAIN_MODELS  # repeats do not win here
    assert result.repeat_at_rank1 <= 0.05
    first = result.recommendations.filter(pl.col("rank") == 1).join(
        result.purchases.select("user_id", "item_id").unique(), on=["user_id", "item_id"]
    )
    assert first.height <= 0.05 * result.recommendations["user_id"].n_unique()
    assert result.model not in rs.job.BUY_AGAIN_MODELS
    # where customers rebuy, buy-again models stay candidates and win
    assert runs["wholesale"][0].model in rs.job.BUY_AGAIN_MODELS


def test_campaign_proposed_only_above_the_contact_cost(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, _ = runs["wholesale"]
    claim = result.claims["campaign"]
    per, low = claim.evidence["per_contact"], claim.evidence["per_contact_low"]
    assert claim.evidence["customers"] > 0
    assert claim.licensed == (low > 1.0)  # valued by the evidence, at its interval's low end
    assert claim.licensed, claim.text
    win = result.actions.filter(action="win_back")
    # over the window checked (90 of the 365 days), at the window's own rate
    share = min(claim.evidence["ratio_at_window_rate"], 1.0)
    stake = win["projected_value"].sum() * 90 / 365 * share
    assert per == pytest.approx(stake / win.height)
    rate = max(claim.evidence["window_rate"], 1.0)
    assert claim.evidence["ratio_at_window_rate"] == pytest.approx(claim.evidence["ratio"] / rate)
    dear = rs.job.run(
        shops.wholesale(), _config(contact_cost=per * 2, bootstrap=20, models=("popular",))
    )
    expensive = dear.claims["campaign"]
    assert not expensive.licensed
    assert "not proposed" in expensive.text
    assert "not worth" not in expensive.text
    assert "$" in expensive.text  # with the figures
    # no prices: value counted in orders, a campaign's worth cannot be checked
    grocery = runs["grocery"][0].claims["campaign"]
    assert not grocery.licensed
    assert "no prices" in grocery.text


def test_churn_probability_claim_follows_its_evidence(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    for name, (result, _) in runs.items():
        claim = result.claims["churn"]
        churn, fits = result.churn, result.fits
        # BG/NBD's fit flags concern BG/NBD's churn risk, not the learned model's
        bgnbd = claim.evidence["model"] == "churn_risk"
        # never worse than the base rate in Brier score, recomputed on the checked units
        brier_ok = True
        if result.backtest is not None and "churn" in result.backtest.units:
            units = result.backtest.units["churn"]
            column = "churn_risk" if bgnbd else f"churn_risk__{claim.evidence['model']}"
            y = units["churned"].to_numpy()
            score = float(np.mean((units[column].to_numpy() - y) ** 2))
            assert claim.evidence["brier"] == pytest.approx(score), name
            brier_ok = score <= y.mean() * (1 - y.mean())
        probability = (
            churn is not None
            and fits is not None
            and churn.customers >= 30
            and churn.calibrated
            and churn.discriminates
            and (fits.churn_credible or not bgnbd)
            and brier_ok
        )
        ranked_by = claim.evidence["ranked_by"]
        models = ("churn_risk", "learned_churn_risk")
        assert claim.licensed == (probability and ranked_by in models), name
        if not claim.licensed:
            assert claim.fallback == rs.job.claims_churn.winback_order(ranked_by)
            if not probability:
                ranks = not brier_ok and ranked_by in models  # ranked by it, worse in Brier
                assert (
                    "Its scores rank customers but are not probabilities"
                    if ranks
                    else "not used as a probability"
                ) in claim.text, name


def test_churn_rule_both_ways() -> None:
    from recsys.job.claims_churn import churn_claim
    from recsys.job.evidence import ChurnEvidence, FitEvidence, RuleComparison

    cal = pl.DataFrame(
        {"decile": [1, 2], "predicted_churn": [0.2, 0.8], "observed_churn": [0.22, 0.78]}
    )
    fits = FitEvidence((), (), 0)
    # ahead of both naive rules: only the probability checks decide
    ahead = tuple(
        RuleComparison("churn", "auc", rule, 0.8, 0.7, 0.1, 0.05, 0.15, 500, 90)
        for rule in ("recency", "frequency")
    )
    good = ChurnEvidence(500, 250, 0.8, 0.76, 0.84, 0.02, cal, 90)
    assert churn_claim(good, fits, rules=ahead).licensed
    assert "can be read as a probability" in churn_claim(good, fits, rules=ahead).text
    assert not churn_claim(good, fits).licensed  # not compared with the rules: not used
    chance = ChurnEvidence(500, 250, 0.52, 0.47, 0.57, 0.02, cal, 90)
    assert not churn_claim(chance, fits, rules=ahead).licensed
    assert "better than chance" in churn_claim(chance, fits, rules=ahead).text
    few = ChurnEvidence(15, 14, 0.9, 0.6, 1.0, 0.02, cal, 90)
    assert "only 15 customers" in churn_claim(few, fits, rules=ahead).text
    flagged = FitEvidence(("BG/NBD parameters ['a'] are extreme",), (), 0)
    assert not churn_claim(good, flagged, rules=ahead).licensed
    off = churn_claim(good, fits, rules=ahead, enabled=False)
    assert not off.licensed
    assert off.evidence["ranked_by"] == "recency"


def test_unlicensed_churn_orders_win_back_by_the_stated_rule(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    for name, (result, _) in runs.items():
        if result.claims["churn"].licensed:
            continue
        past = "monetary" if "monetary" in result.profiles.columns else "frequency"
        win = result.actions.filter(action="win_back").join(
            result.profiles.select(
                "user_id", "recency_days", "frequency", "lifecycle_stage", "churn_rank",
                pl.col(past).cast(pl.Float64).alias("past"),
                *(["clv"] if "clv" in result.profiles.columns else []),
                *(["learned_value"] if "learned_value" in result.profiles.columns else []),
            ),
            on="user_id",
            maintain_order="left",
        )  # fmt: skip
        assert set(win["lifecycle_stage"]) <= {"dormant", "churned"}, name
        lapsed = result.profiles.filter(pl.col("lifecycle_stage").is_in(["dormant", "churned"]))
        assert win.height == lapsed.height, name  # no risk threshold cuts anyone
        value = result.claims["value"]
        if value.licensed:  # the deployed value: the CLV or the learned value
            deployed = win[result.value_column]
            assert win["projected_value"].to_list() == pytest.approx(deployed.to_list())
        else:  # the past-spend value: past spend x the stated ratio, not weighted by risk
            expected = (win["past"] * value.evidence["ratio"]).to_list()
            assert win["projected_value"].to_list() == pytest.approx(expected), name
        # value (past spend itself without the CLV model), then the stated churn ordering
        first = win[result.value_column] if value.licensed else win["past"]
        order = list(zip(first, -win["churn_rank"], strict=True))
        assert order == sorted(order, reverse=True), name
        # churn_rank follows its stated source
        ranked_by = result.claims["churn"].evidence["ranked_by"]
        ranked = result.profiles.sort("churn_rank")
        if ranked_by == "recency":
            assert ranked["recency_days"].is_sorted(descending=True), name
        elif ranked_by == "frequency":
            assert ranked["frequency"].is_sorted(), name
        else:  # BG/NBD's or the learned churn risk, as stated
            assert ranked[ranked_by].is_sorted(descending=True), name
        # the most valuable lapsed customers are never in the bottom half
        if win.height >= 10 and not value.licensed:
            top = win.sort("past", descending=True).head(max(1, win.height // 10))
            ranks = win.with_row_index("position").join(top.select("user_id"), on="user_id")
            assert ranks["position"].max() < win.height / 2, name


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Mann-Whitney AUC by counting every (positive, negative) pair; ties count 1/2."""
    pos, neg = score[positive], score[~positive]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (pos.size * neg.size))


def _outcomes(result: JobResult, name: str) -> pl.DataFrame:
    """The customers scored at the cutoff, their profile columns there, and what they did
    in the window after it, from the purchases (not from the job's labels)."""
    assert result.backtest is not None
    assert result.cutoff is not None
    units = result.backtest.units["churn"].drop("churned", "spend_after", "n_orders_after")
    p = shops.SHOPS[name]().filter(pl.col("timestamp") < result.as_of)
    end = result.cutoff + timedelta(days=result.config.horizon_days)
    window = p.filter(pl.col("timestamp") >= result.cutoff, pl.col("timestamp") < end)
    after = window.group_by("user_id").agg(
        spend=(pl.col("quantity") * pl.col("price")).sum() if "price" in p.columns else pl.len()
    )
    return units.join(after, on="user_id", how="left").with_columns(
        pl.col("spend").fill_null(0.0), churned=pl.col("spend").is_null()
    )


@pytest.mark.parametrize("name", ["wholesale", "durables", "grocery", "mixed"])
def test_churn_ranked_by_the_model_only_where_it_beats_the_better_rule(
    name: str, runs: dict[str, tuple[JobResult, Path]]
) -> None:
    result, folder = runs[name]
    claim = result.claims["churn"]
    ev = claim.evidence
    units = _outcomes(result, name)
    churned = units["churned"].to_numpy()
    recency = units["recency_days"].to_numpy()
    # the deployed frequency order: fewest orders, the same number by recency (longest first)
    deployed = -units["frequency"].to_numpy().astype(float) * (recency.max() + 1) + recency
    # the candidate: the learned model where it could be fitted at the cutoff, else BG/NBD
    model = ev["model"]
    scored = "churn_risk" if model == "churn_risk" else f"churn_risk__{model}"
    aucs = {
        "model": _auc(units[scored].to_numpy(), churned),
        "recency": _auc(recency, churned),
        "frequency": _auc(deployed, churned),
    }
    rule = max(("recency", "frequency"), key=lambda r: aucs[r])
    assert ev["rule"] == rule
    assert ev["rule_auc"] == pytest.approx(aucs[rule])
    assert ev["auc_vs_rule"] == pytest.approx(aucs["model"] - aucs[rule])
    rows = rs.job.evidence.rule_comparisons(result.backtest, "churn", 90, model=model)
    beats = all(r.beats for r in rows if r.metric == "auc")
    column = {"churn_risk": "churn_risk", "LearnedChurn": "learned_churn_risk"}[model]
    assert ev["ranked_by"] == (column if beats else rule)
    label = rs.job.decisions.CHURN_RULES[rule][1]
    figures = f"AUC {aucs['model']:.3f} vs {aucs[rule]:.3f}"
    subject = rs.job.claims_churn.CHURN_SUBJECTS[model]
    subject = subject[0].upper() + subject[1:]
    if beats:
        assert f"{subject} ranks who leaves better than the better naive rule, {label}: " in (
            claim.text
        )
        assert figures in claim.text
    else:
        assert f"{subject} is no better than the naive rule" in claim.text
        assert f"churn is ranked by {label}" in claim.text
    source = pl.read_parquet_metadata(folder / "profiles.parquet")["churn_rank_source"]
    named = rs.job.learned.MODEL_NAMES[model]
    rule_column = rs.job.decisions.CHURN_RULES[rule][0]
    assert source == (f"model: {column} ({named})" if beats else f"rule: {rule_column} ({label})")
    assert "churn_rank" in pl.read_parquet(folder / "profiles.parquet").columns


def test_churn_beats_the_rule_on_the_mix_and_not_on_wholesale(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    html = (runs["mixed"][1] / "report.html").read_text()
    assert "Churn risk and customer value against the naive rules" in html
    assert "past spend" in html
    mixed = runs["mixed"][0].claims["churn"]
    assert mixed.evidence["ranked_by"] == "learned_churn_risk"
    assert "days since the last order" in mixed.text  # the rule it beats, named
    assert mixed.fallback == "customer value (see the value card), then the learned churn risk"
    wholesale = runs["wholesale"][0].claims["churn"]
    assert wholesale.evidence["ranked_by"] == "recency"
    assert not wholesale.licensed


@pytest.mark.parametrize("name", ["mixed", "durables"])
def test_value_from_the_clv_model_only_where_it_beats_past_spend(
    name: str, runs: dict[str, tuple[JobResult, Path]]
) -> None:
    from scipy.stats import spearmanr

    result, folder = runs[name]
    claim = result.claims["value"]
    units = _outcomes(result, name)
    spend = units["spend"].to_numpy()
    # the candidate: the learned CLV where it could be fitted at the cutoff, else BG/NBD's
    learned = claim.evidence["model"] == "LearnedCLV"
    scored = units["clv__LearnedCLV" if learned else "clv"].to_numpy()
    model = float(spearmanr(scored, spend).statistic)
    past = float(spearmanr(units["monetary"].to_numpy(), spend).statistic)
    assert claim.evidence["spearman"] == pytest.approx(model)
    assert claim.evidence["rule_spearman"] == pytest.approx(past)
    figures = f"Spearman correlation {model:.3f} vs {past:.3f}"
    assert figures in claim.text
    beats = claim.evidence["ci_low"] > 0
    # the top tenth by each ranking: its share of the window's spend
    top = spend.size // 10
    for column, key in ((scored, "capture"), (units["monetary"].to_numpy(), "rule_capture")):
        share = spend[np.argsort(-column, kind="stable")[:top]].sum() / spend.sum()
        assert claim.evidence[key] == pytest.approx(share)
    worse_top = claim.evidence["capture_ci_high"] < 0
    credible = learned or (result.fits is not None and result.fits.value_credible)
    assert claim.licensed == (beats and credible and not worse_top)
    source = pl.read_parquet_metadata(folder / "profiles.parquet")["value_source"]
    if name == "mixed":
        assert claim.licensed
        assert learned
        assert claim.evidence["capture_ci_low"] < 0 < claim.evidence["capture_ci_high"]
        assert (
            "ranks the next 90 days' spend better than past spend on Spearman, with top-decile "
            f"capture level with past spend's: {figures}"
        ) in claim.text
        assert result.value_column == "learned_value"
        assert source == "model: learned_value (the learned CLV model)"
    else:
        assert not beats
        assert claim.text.startswith(
            "Customer value is no better than past spend: ranked by past spend."
        )
        assert result.value_column == "past_value"
        assert source.startswith(f"rule: monetary x {claim.evidence['ratio']:.3g} (past spend")


def test_past_value_ratio_by_hand(runs: dict[str, tuple[JobResult, Path]]) -> None:
    result, _ = runs["wholesale"]
    p = shops.wholesale().filter(pl.col("timestamp") < result.as_of)
    first = p["timestamp"].min()
    assert isinstance(first, datetime)
    days, span = 365.0, (result.as_of - first).total_seconds() / 86_400
    while days > span / 2 and days / 2 >= 90:  # never below 90 days, nor over the history
        days /= 2
    days = min(days, span)
    spend = p.with_columns(spend=pl.col("quantity") * pl.col("price"))
    recent = spend.filter(pl.col("timestamp") >= result.as_of - timedelta(days=days))
    ratio = recent["spend"].sum() * 365 / days / spend["spend"].sum()
    ev = result.claims["value"].evidence
    assert (ev["ratio"], ev["ratio_days"]) == (pytest.approx(ratio), days)
    assert f"(x {ratio:.3g}: the shop's spend in the last {days:.4g} days x 365/{days:.4g}" in (
        result.claims["value"].text
    )
    # every customer together: the recent spend at its rate over the value horizon
    values = result.profiles["monetary"].sum() * ev["ratio"]
    assert values == pytest.approx(recent["spend"].sum() * 365 / days, rel=1e-6)
    # without prices, orders: here customer-days (no order id)
    result, _ = runs["grocery"]
    p = shops.grocery().filter(pl.col("timestamp") < result.as_of)
    day = pl.col("timestamp").dt.date().alias("day")
    orders = p.select("user_id", day).unique().height
    recent = p.filter(pl.col("timestamp") >= result.as_of - timedelta(days=days))
    ratio = recent.select("user_id", day).unique().height * 365 / days / orders
    assert result.claims["value"].evidence["ratio"] == pytest.approx(ratio)


def test_past_value_ratio_reads_only_purchases_before_as_of() -> None:
    from recsys.exceptions import InputDataError
    from recsys.job.decisions import past_value_ratio

    p = shops.wholesale()
    last = p["timestamp"].max()
    assert isinstance(last, datetime)
    as_of = last - timedelta(days=120)
    before = p.filter(pl.col("timestamp") < as_of)
    later = before.tail(50).with_columns(
        pl.lit(as_of + timedelta(days=3)).alias("timestamp"), pl.col("price") * 100
    )
    assert past_value_ratio(pl.concat([before, later]), as_of, 365) == past_value_ratio(
        before, as_of, 365
    )
    assert past_value_ratio(p, as_of, 365) == past_value_ratio(before, as_of, 365)
    with pytest.raises(InputDataError, match="no purchases before as_of"):
        past_value_ratio(p, p["timestamp"].min(), 365)


def test_rule_claims_both_ways_with_their_wording() -> None:
    from recsys.job.claims_churn import churn_claim
    from recsys.job.claims_value import value_claim
    from recsys.job.evidence import ChurnEvidence, FitEvidence, RuleComparison

    def row(prediction: str, metric: str, rule: str, value: float, rule_value: float,
            low: float, high: float) -> RuleComparison:  # fmt: skip
        diff = value - rule_value
        return RuleComparison(prediction, metric, rule, value, rule_value, diff, low, high, 500, 90)

    cal = pl.DataFrame({"decile": [1], "predicted_churn": [0.5], "observed_churn": [0.51]})
    good = ChurnEvidence(500, 250, 0.8, 0.76, 0.84, 0.01, cal, 90)
    fits = FitEvidence((), (), 0)
    ahead = (
        row("churn", "auc", "recency", 0.80, 0.70, 0.05, 0.15),
        row("churn", "auc", "frequency", 0.80, 0.74, 0.02, 0.10),
    )
    claim = churn_claim(good, fits, rules=ahead)
    assert claim.licensed
    assert claim.evidence["ranked_by"] == "churn_risk"
    assert (
        "ranks who leaves better than the better naive rule, the number of orders (fewest "
        "first, then longest since the last order): AUC 0.800 vs 0.740 (difference +0.060, "
        "95% CI +0.020 to +0.100)"
    ) in claim.text
    # the better rule (the higher AUC) is the one to beat: here recency, not beaten
    behind = (
        row("churn", "auc", "recency", 0.80, 0.79, -0.02, 0.04),
        row("churn", "auc", "frequency", 0.80, 0.60, 0.15, 0.25),
    )
    claim = churn_claim(good, fits, rules=behind)
    assert not claim.licensed
    assert claim.evidence["ranked_by"] == "recency"
    assert claim.text.startswith(
        "BG/NBD's churn risk is no better than the naive rule days since the last order (longest "
        "first) at ranking who leaves: AUC 0.800 vs 0.790 (difference +0.010, 95% CI -0.020 "
        "to +0.040)"
    )
    assert "passes the checks of a probability" in claim.text  # calibrated, still not used
    assert claim.fallback == (
        "customer value (see the value card), then days since the last order (longest first)"
    )
    # value: the Spearman interval above 0 licenses the CLV model, else past spend
    wins = (row("clv", "spearman", "past_spend", 0.62, 0.57, 0.02, 0.08),)
    claim = value_claim(fits, has_prices=True, rules=wins, ratio=0.5, ratio_days=365)
    assert claim.licensed
    assert (
        "Customer value is the CLV model's expected value over the next 365 days (discounted "
        "1% a month): it ranks the next 90 days' spend better than past spend: Spearman "
        "correlation 0.620 vs 0.570 (difference +0.050, 95% CI +0.020 to +0.080) on 500 "
        "customers at the evaluation cutoff"
    ) in claim.text
    loses = (row("clv", "spearman", "past_spend", 0.52, 0.59, -0.10, -0.04),)
    claim = value_claim(fits, has_prices=True, rules=loses, ratio=0.5, ratio_days=365)
    assert not claim.licensed
    assert claim.text.startswith(
        "Customer value is no better than past spend: ranked by past spend. The CLV model's "
        "expected value over the next 365 days (discounted 1% a month) ranks the next 90 "
        "days' spend no better than past spend: Spearman correlation 0.520 vs 0.590 "
        "(difference -0.070, 95% CI -0.100 to -0.040)"
    )
    assert claim.fallback == rs.job.claims_value.VALUE_FALLBACK
    # without a comparison the model is not used either
    assert not value_claim(fits, has_prices=True).licensed
    assert "could not be compared with past spend" in value_claim(fits, has_prices=True).text


def test_a_win_over_the_rules_on_too_few_customers_or_a_flagged_fit_ranks_by_the_rule() -> None:
    from recsys.job.claims_churn import churn_claim
    from recsys.job.claims_value import value_claim
    from recsys.job.evidence import ChurnEvidence, FitEvidence, RuleComparison

    cal = pl.DataFrame({"decile": [1], "predicted_churn": [0.5], "observed_churn": [0.51]})
    fits = FitEvidence((), (), 0)

    def ahead(customers: int) -> tuple[RuleComparison, ...]:
        return tuple(
            RuleComparison("churn", "auc", rule, 0.9, 0.6, 0.3, 0.1, 0.8, customers, 90)
            for rule in ("recency", "frequency")
        )

    few = churn_claim(ChurnEvidence(8, 4, 0.9, 0.6, 1.0, 0.01, cal, 90), fits, rules=ahead(8))
    assert not few.licensed
    assert few.evidence["ranked_by"] == "recency"
    assert "but on only 8 customers (at least 30 needed), so churn is ranked by days since" in (
        few.text
    )
    assert "no better than" not in few.text
    good = ChurnEvidence(500, 250, 0.9, 0.85, 0.95, 0.01, cal, 90)
    assert churn_claim(good, fits, rules=ahead(500)).evidence["ranked_by"] == "churn_risk"
    flagged = churn_claim(
        good, FitEvidence(("BG/NBD parameters ['a'] are extreme",), (), 0), rules=ahead(500)
    )
    assert flagged.evidence["ranked_by"] == "recency"
    assert "but on a flagged fit" in flagged.text
    wins = (RuleComparison("clv", "spearman", "past_spend", 0.7, 0.5, 0.2, 0.1, 0.3, 12, 90),)
    value = value_claim(fits, has_prices=True, rules=wins, ratio=0.5, ratio_days=365)
    assert not value.licensed
    assert (
        "ranked the next 90 days' spend better than past spend, but on only 12 customers (at "
        "least 30 needed)"
    ) in value.text


def test_value_claim_follows_fit_flags_and_prices(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    from recsys.job.claims_value import VALUE_FALLBACK, value_claim
    from recsys.job.evidence import FitEvidence

    for name, (result, _) in runs.items():
        claim = result.claims["value"]
        assert result.fits is not None
        beats = claim.evidence.get("ci_low", float("nan")) > 0
        learned = claim.evidence["model"] == "LearnedCLV"  # BG/NBD's flags are not its
        holds = result.regime.has_prices and (learned or result.fits.value_credible) and beats
        assert claim.licensed == holds, name
        deployed = "learned_value" if learned else "clv"
        assert result.value_column == (deployed if holds else "past_value"), name
    flagged = value_claim(FitEvidence((), ("Gamma-Gamma q = 0.9 <= 1",), 0), has_prices=True)
    assert not flagged.licensed
    assert flagged.fallback == VALUE_FALLBACK
    assert "q = 0.9" in flagged.text
    assert not value_claim(FitEvidence((), (), 3), has_prices=True).licensed


def test_warnings_are_shown_on_the_card_they_concern(
    runs: dict[str, tuple[JobResult, Path]],
) -> None:
    result, folder = runs["per_order_ids"]
    html = (folder / "report.html").read_text()
    for claim in result.claims.values():
        assert len(claim.warnings) == len(set(claim.warnings))  # deduplicated
        for message in claim.warnings:
            assert message.replace("'", "&#39;").split(":")[0] in html


def test_on_unknown_skip_leaves_first_time_buyers_out() -> None:
    result = rs.job.run(
        shops.grocery(), _config(bootstrap=20, on_unknown="skip", models=("popular",))
    )
    claim = result.claims["evaluation"]
    regime = result.regime
    assert regime.test_first_time > 0
    assert claim.evidence["evaluated"] == regime.test_returning
    left_out = f"the {regime.test_first_time:,} customers first seen in the file were left out"
    assert left_out in claim.text
    overall = result.metrics.filter(segment="all", metric="hit_rate", mode="all")
    assert set(overall["n_users"]) == {regime.test_returning}


@pytest.mark.parametrize(
    ("message", "concerns", "churn_flagged"),
    [
        (
            "BG/NBD is not identified by these data: a: extreme; a refit did not help. This is "
            "a limit of the model on these data, not bad input: churn_risk of repeat buyers come "
            "from the stated fallback rule instead (rs.profiles.OwnRhythmRule)",
            ("churn_risk", "clv"),
            True,
        ),
        (
            "BG/NBD parameters ['a'] are extreme; refitted with a light penalty on the "
            "log-parameters (penalizer=0.01), predictions use those values",
            ("churn_risk", "clv"),
            True,
        ),
        (
            "BG/NBD optimiser did not converge: ABNORMAL; parameters may be poor",
            ("churn_risk", "clv"),
            True,
        ),
        ("40 purchase rows before as_of have price 0 (free items)", ("monetary", "clv"), False),
        (
            "churn_risk is not calibrated: only 30 customers bought before the internal cutoff; "
            "it is the model probability of no purchase (BG/NBD or its fallback rule, "
            "one-time-buyer survival curve)",
            ("churn_risk",),
            False,
        ),
    ],
)
def test_fit_flags_read_from_the_profile_warnings(
    message: str, concerns: tuple[str, ...], churn_flagged: bool
) -> None:
    from recsys.job.evidence import StepWarnings, fit_evidence

    step = StepWarnings()
    step.add(message, concerns)
    fits = fit_evidence(step, pl.DataFrame({"user_id": [1], "clv": [1.0]}))
    assert fits.churn_credible is not churn_flagged
    assert fits.value_credible is not churn_flagged  # the CLV is built on the churn fit
    gamma = StepWarnings()
    gamma.add("Gamma-Gamma q = 0.8 <= 1: the population mean spend is infinite", ("clv",))
    assert not fit_evidence(gamma, pl.DataFrame({"clv": [1.0]})).value_credible
    assert not fit_evidence(StepWarnings(), pl.DataFrame({"clv": [float("nan")]})).value_credible


def test_new_items_denominator_is_stated(runs: dict[str, tuple[JobResult, Path]]) -> None:
    result, folder = runs["wholesale"]
    html = (folder / "report.html").read_text()
    new = result.metrics.filter(segment="all", metric="hit_rate", mode="new")["n_users"].max()
    assert f"over the {new:,} customers who bought one" in html


def test_report_names_the_users_customer_column(tmp_path: Path) -> None:
    from recsys.cli import main

    path = tmp_path / "orders.csv"
    shop = shops.per_order_ids(orders=300).rename({"user_id": "OrderRef", "item_id": "sku"})
    shop.write_csv(path)
    columns = "user_id=OrderRef,item_id=sku,order_id=order_id,quantity=quantity,price=price"
    argv = ["report", str(path), "--columns", columns + ",timestamp=timestamp"]
    argv += ["--out", str(tmp_path / "r"), "--bootstrap", "20", "--models", "popular"]
    assert main(argv) == 0
    html = (tmp_path / "r" / "report.html").read_text()
    assert "the customer column &#39;OrderRef&#39; looks like an order id" in html
    assert (tmp_path / "r" / "actions.parquet").exists()


def test_churn_and_value_models_can_be_turned_off(tmp_path: Path) -> None:
    result = rs.job.run(shops.wholesale(), _config(churn=False, bootstrap=20, models=("popular",)))
    assert "churn_risk" not in result.profiles.columns
    assert "clv" not in result.profiles.columns
    churn = result.claims["churn"]
    assert churn.text.startswith(
        "Whether BG/NBD's churn risk ranks who leaves better than the naive rules could not be "
        "checked "
        "(the churn model is turned off): churn is ranked by days since the last order"
    )
    assert "It is not used as a probability: the churn model is turned off." in churn.text
    assert "the churn model it is built on (BG/NBD) is turned off" in result.claims["value"].text
    assert result.value_column == "past_value"
    from recsys.cli import main

    path = tmp_path / "orders.parquet"
    shops.grocery(customers=80).write_parquet(path)
    argv = ["report", str(path), "--no-churn", "--no-value", "--models", "popular"]
    assert main([*argv, "--bootstrap", "20", "--out", str(tmp_path / "r")]) == 0
    profiles = pl.read_parquet(tmp_path / "r" / "profiles.parquet")
    assert "churn_risk" not in profiles.columns


def test_evaluation_on_a_stated_customer_sample(tmp_path: Path) -> None:
    purchases = shops.grocery()
    customers = purchases["user_id"].n_unique()
    result = rs.job.run(purchases, _config(bootstrap=20, evaluation_customers=100))
    claim = result.claims["evaluation"]
    assert f"of a random sample of 100 of the {customers:,} customers" in claim.text
    # the sample drawn independently by its stated rule: sorted customers, seeded sample
    chosen = set(purchases["user_id"].unique().sort().sample(100, seed=0))
    assert result.cutoff is not None
    p = purchases.filter(pl.col("timestamp") < result.as_of)
    before = set(p.filter(pl.col("timestamp") < result.cutoff)["user_id"]) & chosen
    window = set(p.filter(pl.col("timestamp") >= result.cutoff)["user_id"]) & chosen
    assert 0 < len(window) < result.regime.test_customers
    assert claim.evidence["evaluated"] == len(window)
    assert claim.evidence["returning"] == len(window & before)
    assert claim.evidence["first_time"] == len(window - before)
    assert f"all {len(window):,} customers who bought" in claim.text
    overall = result.metrics.filter(segment="all", metric="hit_rate", mode="all")
    assert set(overall["n_users"]) == {len(window)}
    assert result.churn is not None
    assert result.churn.customers <= len(before)
    # the decisions still cover every customer
    assert result.actions["user_id"].n_unique() == customers
    assert result.recommendations["user_id"].n_unique() == customers
    whole = rs.job.run(purchases, _config(bootstrap=20, evaluation_customers=None))
    assert "random sample" not in whole.claims["evaluation"].text
    assert whole.claims["evaluation"].evidence["evaluated"] == whole.regime.test_customers


def test_non_finite_scores_at_the_cutoff_are_counted_not_dropped_silently() -> None:
    from datetime import datetime as dt

    from recsys.job.evidence import rule_evidence

    p = pl.DataFrame(
        {
            "user_id": [1, 2, 3, 1, 2],
            "item_id": ["a"] * 5,
            "timestamp": [dt(2020, 1, 1), dt(2020, 1, 2), dt(2020, 1, 3), dt(2020, 2, 1),
                          dt(2020, 1, 4)],
            "quantity": [1.0] * 5,
        }
    )  # fmt: skip
    profiles = pl.DataFrame(
        {
            "user_id": [1, 2, 3],
            "recency_days": [14.0, 11.0, 12.0],
            "frequency": [1, 2, 1],
            "churn_risk": [0.1, float("nan"), 0.8],
        }
    )
    with pytest.warns(
        rs.exceptions.DataWarning,
        match="1 of 3 customers .* no finite recency_days, frequency or churn_risk",
    ):
        result = rule_evidence(
            profiles, p, dt(2020, 1, 15), 30, churn=True, clv=False, bootstrap=0, seed=0,
            observed_until=dt(2020, 2, 14),
        )  # fmt: skip
    assert result is not None
    assert result.table["n"].unique().to_list() == [2]
    # a window after the cutoff that runs past what is known: no comparison, said so
    with pytest.warns(rs.exceptions.DataWarning, match="30 days after the cutoff run past"):
        late = rule_evidence(
            profiles, p, dt(2020, 1, 15), 30, churn=True, clv=False, bootstrap=0, seed=0,
            observed_until=dt(2020, 2, 1),
        )  # fmt: skip
    assert late is None


def test_action_frame_uses_the_models_only_where_licensed() -> None:
    from recsys.job.decisions import action_frame, churn_rank

    profiles = pl.DataFrame(
        {
            "user_id": [1, 2, 3],
            "recency_days": [100.0, 200.0, 150.0],
            "frequency": [3, 1, 2],
            "monetary": [50.0, 500.0, 50.0],
            "churn_risk": [0.9, 0.2, 0.6],
            "clv": [10.0, 1.0, 30.0],
        }
    )
    profiles = profiles.with_columns(churn_rank(profiles, "recency"))
    frame, value, rules, rank_by = action_frame(profiles, "churn_risk", "clv", 0.5)
    assert (value, rules, rank_by) == ("clv", None, None)  # threshold, value x risk
    assert "churn_risk" in frame.columns
    frame, value, rules, rank_by = action_frame(profiles, None, None, 0.5)
    assert value == "past_value"
    assert frame["past_value"].to_list() == [25.0, 250.0, 25.0]
    assert rules is not None
    assert all("min_churn_risk" not in r for r in rules)
    assert "churn_risk" not in frame.columns
    assert rank_by is not None
    # past spend first; the two at 50 by churn_rank (recency: 3 before 1)
    order = frame.sort(rank_by, descending=True)["user_id"].to_list()
    assert order == [2, 3, 1]
