"""evaluate(), compare() and tune(), with a protocol-following test double."""

from __future__ import annotations

import dataclasses
import inspect
import warnings

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError
from tests.evaluation._double import CountRecommender, FixedRecommender

ev = rs.evaluation


@pytest.fixture(scope="module")
def split(online_retail: pl.DataFrame) -> ev.Split:
    small = online_retail.filter(pl.col("user_id") < 13200)
    return ev.temporal_split(small, "2011-09-09", horizon_days=90)


@pytest.fixture(scope="module")
def models(split: ev.Split) -> dict[str, CountRecommender]:
    inter = rs.Interactions.from_purchases(split.train)
    return {
        "repeat": CountRecommender(personal=1.0).fit(inter),
        "popular": CountRecommender(personal=0.0).fit(inter),
    }


def _value(
    table: pl.DataFrame, model: str, mode: str, metric: str, k: int, segment: str = "all"
) -> float:
    row = table.filter(model=model, mode=mode, metric=metric, k=k, segment=segment)
    assert row.height == 1
    return row["value"].item()


def test_table_matches_the_metric_functions(split: ev.Split, models: dict) -> None:
    table = rs.evaluate(
        models, split, k=[5, 10], exclude_seen=False, bootstrap=200, show_progress=False
    ).table
    assert table.columns == [
        "model",
        "mode",
        "metric",
        "k",
        "segment",
        "value",
        "ci_low",
        "ci_high",
        "n_users",
    ]
    assert table.height == 2 * (2 * 8 + 1) * 2  # repeat_share in mode "all" only
    users = split.test["user_id"].unique()
    for name, model in models.items():
        recs = model.recommend(users, k=10, exclude_seen=False)
        for metric in ev.ACCURACY_METRICS:
            fn = getattr(ev, metric)
            for k in (5, 10):
                assert _value(table, name, "all", metric, k) == pytest.approx(
                    fn(recs, split.test, k=k)
                )
                assert _value(table, name, "new", metric, k) == pytest.approx(
                    fn(recs, split.test, k=k, mode="new", train=split.train)
                )
        assert _value(table, name, "all", "novelty", 10) == pytest.approx(
            ev.novelty(recs, split.train, k=10)
        )
        catalogue = split.train["item_id"].unique()
        assert _value(table, name, "all", "coverage", 5) == pytest.approx(
            ev.coverage(recs, catalogue, k=5)
        )
    accuracy = table.filter(pl.col("metric") != "coverage")
    assert (accuracy["ci_low"] <= accuracy["value"] + 1e-12).all()
    assert (accuracy["value"] <= accuracy["ci_high"] + 1e-12).all()
    assert table.filter(metric="coverage")["ci_low"].null_count() == 8
    n_new = split.test.join(
        split.train.select("user_id", "item_id").unique(), on=["user_id", "item_id"], how="anti"
    )
    assert table.filter(mode="new", metric="hit_rate")["n_users"].unique().to_list() == [
        n_new["user_id"].n_unique()
    ]
    again = rs.evaluate(
        models, split, k=[5, 10], exclude_seen=False, bootstrap=200, show_progress=False
    ).table
    assert table.equals(again)


def test_segments(split: ev.Split, models: dict) -> None:
    users = split.test["user_id"].unique().sort()
    segments = pl.DataFrame(
        {
            "user_id": users.head(len(users) - 3),
            "tier": np.where(np.arange(len(users) - 3) % 2, "gold", "silver"),
        }
    )
    segments = pl.concat(
        [segments, pl.DataFrame({"user_id": [1], "tier": ["bronze"]})]
    )  # no test user
    options = {"k": [10], "metrics": ["hit_rate", "coverage"], "bootstrap": 100}
    with pytest.warns(DataWarning, match="3 customers have no segment"):
        table = rs.evaluate(models, split, segments=segments, show_progress=False, **options).table
    seg = table.filter(model="repeat", mode="all", metric="hit_rate")
    assert seg["segment"].to_list() == ["all", "(missing)", "bronze", "gold", "silver"]
    assert seg["n_users"].to_list()[0] == len(users)
    assert sum(seg["n_users"].to_list()[1:]) == len(users)
    bronze = seg.filter(segment="bronze")
    assert bronze["n_users"].item() == 0
    assert bronze["value"].item() is None
    parts = seg.filter(pl.col("segment") != "all")
    weighted = (parts["value"].fill_null(0) * parts["n_users"]).sum() / parts["n_users"].sum()
    assert weighted == pytest.approx(seg["value"][0])
    profiles = segments.with_columns(pl.lit(1.0).alias("monetary"))
    with pytest.warns(DataWarning):
        by_name = rs.evaluate(
            models,
            split,
            k=[10],
            metrics=["hit_rate", "coverage"],
            by="tier",
            segments=profiles,
            bootstrap=100,
            show_progress=False,
        ).table
    assert by_name.equals(table)
    with pytest.raises(InputDataError, match="profiles"):
        rs.evaluate(models, split, by="tier", show_progress=False)
    with pytest.raises(InputDataError, match="exactly one segment column"):
        rs.evaluate(models, split, segments=profiles, show_progress=False)
    with pytest.raises(InputDataError, match="by must be the name of a segment column"):
        rs.evaluate(models, split, by=profiles, show_progress=False)


def test_compare_paired_and_unpaired(split: ev.Split, models: dict) -> None:
    results = rs.evaluate(
        models,
        split,
        k=[10],
        metrics=["hit_rate", "ndcg"],
        exclude_seen=False,
        bootstrap=300,
        show_progress=False,
    )
    assert isinstance(results, ev.EvaluationResults)
    paired = ev.compare(results, "repeat", "popular")
    unpaired = ev.compare(results.table, "repeat", "popular")
    for frame in (paired, unpaired):
        row = frame.filter(mode="all", metric="hit_rate", segment="all")
        expected = _value(results.table, "repeat", "all", "hit_rate", 10) - _value(
            results.table, "popular", "all", "hit_rate", 10
        )
        assert row["difference"].item() == pytest.approx(expected)
        assert row["ci_low"].item() < expected < row["ci_high"].item()
    width = lambda f: (f["ci_high"] - f["ci_low"]).to_numpy()  # noqa: E731
    key = ["mode", "metric", "k", "segment"]
    assert np.all(width(paired.sort(key)) <= width(unpaired.sort(key)) + 1e-9)
    # the paired CI is the percentile interval of the per-resample difference
    v = results.values
    cols = results.columns.with_row_index()
    ia = cols.filter(model="repeat", mode="all", metric="hit_rate")["index"].item()
    ib = cols.filter(model="popular", mode="all", metric="hit_rate")["index"].item()
    means = rs.stats.bootstrap_means(v[:, [ia, ib]], 300, seed=0)
    diff = means[:, 0] - means[:, 1]
    row = paired.filter(mode="all", metric="hit_rate")
    assert row["ci_low"].item() == pytest.approx(np.quantile(diff, 0.025))
    long = results.per_user()
    assert set(long.columns) == {"user_id", "value", "model", "mode", "metric", "k"}
    with pytest.raises(InputDataError, match="nope"):
        ev.compare(results, "repeat", "nope")


def test_bad_inputs(split: ev.Split, models: dict) -> None:
    with pytest.raises(InputDataError, match="Split"):
        rs.evaluate(models, split.test)
    with pytest.raises(InputDataError, match="recommend"):
        rs.evaluate({"x": object()}, split)
    with pytest.raises(InputDataError, match="metrics"):
        rs.evaluate(models, split, metrics=["auc"], show_progress=False)
    with pytest.raises(InputDataError, match="modes"):
        rs.evaluate(models, split, modes=["old"], show_progress=False)
    recs = models["repeat"].recommend(split.test["user_id"].unique(), k=5)
    first_item = recs["item_id"][0]
    dup = FixedRecommender(
        recs.with_row_index()
        .with_columns(
            pl.when(pl.col("index") == 1)
            .then(pl.lit(first_item))
            .otherwise(pl.col("item_id"))
            .alias("item_id")
        )
        .drop("index")
    )
    with pytest.raises(InputDataError, match=r"model 'dup'.*repeated"):
        rs.evaluate({"dup": dup}, split, k=[5], show_progress=False)
    fixed = FixedRecommender(recs)
    with pytest.warns(DataWarning, match="model .*larger than the longest recommendation list"):
        rs.evaluate(
            {"fixed": fixed}, split, k=[10], metrics=["hit_rate"], bootstrap=0, show_progress=False
        )
    half = FixedRecommender(recs.filter(pl.col("user_id") % 2 == 0))
    with pytest.warns(DataWarning, match="no recommendations for"):
        table = rs.evaluate(
            {"half": half}, split, k=[5], metrics=["hit_rate"], bootstrap=0, show_progress=False
        ).table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        per_user = ev.accuracy_per_user("hit_rate", recs, split.test, k=5)
    expected = per_user.with_columns(
        pl.when(pl.col("user_id") % 2 == 0).then(pl.col("value")).otherwise(0.0)
    )["value"].mean()
    assert _value(table, "half", "all", "hit_rate", 5) == pytest.approx(expected)


def test_evaluate_scores_fitted_models_named_by_class(split: ev.Split) -> None:
    # evaluate() does not fit: the caller fits (one path for fitting)
    assert not {"fit", "weight"} & set(inspect.signature(rs.evaluate).parameters)
    fresh = CountRecommender(personal=1.0)
    fresh.fit(rs.Interactions.from_purchases(split.train))
    table = rs.evaluate(
        fresh, split, k=[10], metrics=["hit_rate"], bootstrap=0, show_progress=False
    ).table
    assert table["model"].unique().to_list() == ["CountRecommender"]
    assert hasattr(fresh, "users_")


def test_evaluate_is_per_user_metrics_then_summarize(split: ev.Split, models: dict) -> None:
    segments = pl.DataFrame({"user_id": split.test["user_id"].unique()}).with_columns(
        (pl.col("user_id") % 3).cast(pl.String).alias("bucket")
    )
    kwargs = dict(k=[5, 10], metrics=["hit_rate", "novelty", "coverage"], exclude_seen=False)
    results = rs.evaluate(
        models, split, **kwargs, segments=segments, bootstrap=100, seed=3, show_progress=False
    )
    per_user = ev.per_user_metrics(models, split, **kwargs, show_progress=False)
    assert isinstance(per_user, ev.PerUserMetrics)
    assert per_user.values.shape == (split.test["user_id"].n_unique(), per_user.columns.height)
    summary = ev.summarize(per_user, segments=segments, bootstrap=100, seed=3)
    assert summary.table.equals(results.table)
    np.testing.assert_array_equal(summary.values, results.values)
    # the summary depends only on the per-user values: shards of users, concatenated
    # in any order (as distributed workers would return them), give the identical table
    order = np.random.default_rng(0).permutation(len(per_user.users))
    assert per_user.lists is not None
    shuffled = ev.PerUserMetrics(
        users=per_user.users.gather(order),
        values=per_user.values[order],
        columns=per_user.columns,
        models=per_user.models,
        lists=per_user.lists.reverse(),
        coverage_k=per_user.coverage_k,
        catalogue_size=per_user.catalogue_size,
    )
    assert ev.summarize(shuffled, segments=segments, bootstrap=100, seed=3).table.equals(
        results.table
    )
    users = split.test["user_id"].unique()
    shards = [
        ev.per_user_metrics(
            models,
            dataclasses.replace(split, test=split.test.filter(pl.col("user_id").is_in(part))),
            **kwargs,
            show_progress=False,
        )
        for part in (users.filter(users % 2 == 1).implode(), users.filter(users % 2 == 0).implode())
    ]
    merged = ev.PerUserMetrics.concat(shards)
    assert ev.summarize(merged, segments=segments, bootstrap=100, seed=3).table.equals(
        results.table
    )
    with pytest.raises(InputDataError, match="more than one part"):
        ev.PerUserMetrics.concat([shards[0], shards[0]])


def test_tune_uses_only_the_validation_split(split: ev.Split) -> None:
    result = ev.tune(
        CountRecommender(),
        {"personal": [0.0, 1.0]},
        split,
        metric="hit_rate",
        k=10,
        bootstrap=0,
        show_progress=False,
        exclude_seen=False,
    )
    assert result.best_params == {"personal": 1.0}
    assert result.table.columns == [
        "trial",
        "personal",
        "value",
        "ci_low",
        "ci_high",
        "fit_seconds",
    ]
    assert result.validation.test["timestamp"].max() < split.cutoff
    # the reported value is the validation figure, computed independently here
    val = split.validation()
    model = CountRecommender(personal=1.0).fit(rs.Interactions.from_purchases(val.train))
    recs = model.recommend(val.test["user_id"].unique(), k=10, exclude_seen=False)
    assert result.best_value == pytest.approx(ev.hit_rate(recs, val.test, k=10))
    sampled = ev.tune(
        CountRecommender(),
        {"personal": [0.0, 0.5, 1.0, 2.0]},
        split,
        n_trials=2,
        seed=1,
        bootstrap=0,
        show_progress=False,
    )
    assert sampled.table.height == 2
    again = ev.tune(
        CountRecommender(),
        {"personal": [0.0, 0.5, 1.0, 2.0]},
        split,
        n_trials=2,
        seed=1,
        bootstrap=0,
        show_progress=False,
    )
    assert sorted(sampled.table["personal"].to_list()) == sorted(again.table["personal"].to_list())
    from scipy import stats

    random = ev.tune(
        CountRecommender(),
        {"personal": stats.uniform(0, 2)},
        split,
        n_trials=2,
        bootstrap=0,
        show_progress=False,
    )
    assert random.table["personal"].is_between(0, 2).all()
    with pytest.raises(InputDataError, match="n_trials"):
        ev.tune(CountRecommender(), {"personal": stats.uniform(0, 2)}, split)
    with pytest.raises(InputDataError, match="space"):
        ev.tune(CountRecommender(), {"personal": []}, split)
    with pytest.raises(InputDataError, match="metric"):
        ev.tune(CountRecommender(), {"personal": [1.0]}, split, metric="coverage")


def test_tune_lets_each_model_choose_exclude_seen(split: ev.Split) -> None:
    # Repurchase recommends bought items (default_exclude_seen=False). With the
    # old exclude_seen=True default every trial was scored on the popularity
    # backfill: all trials tied and the first one was declared best.
    result = ev.tune(
        rs.Repurchase(),
        {"half_life_days": [None, 3.0], "count_power": [0.0, 1.0]},
        split,
        metric="ndcg",
        k=10,
        bootstrap=0,
        show_progress=False,
    )
    assert result.table["value"].n_unique() > 1
    # the best trial's figure is what evaluate() gives the same model on the validation split
    val = result.validation
    best = rs.Repurchase(**result.best_params).fit(rs.Interactions.from_purchases(val.train))
    table = rs.evaluate(
        {"best": best},
        val,
        k=[10],
        metrics=["ndcg"],
        modes=["all"],
        bootstrap=0,
        show_progress=False,
    ).table
    assert result.best_value == pytest.approx(_value(table, "best", "all", "ndcg", 10))


def test_with_recsys_models(split: ev.Split) -> None:
    inter = rs.Interactions.from_purchases(split.train)
    models = {"popular": rs.Popular().fit(inter), "repurchase": rs.Repurchase().fit(inter)}
    table = rs.evaluate(
        models,
        split,
        k=[10],
        metrics=["hit_rate", "ndcg"],
        exclude_seen=None,
        bootstrap=100,
        show_progress=False,
    ).table
    users = split.test["user_id"].unique()
    for name, model in models.items():
        recs = model.recommend(users, k=10)
        assert _value(table, name, "all", "ndcg", 10) == pytest.approx(
            ev.ndcg(recs, split.test, k=10)
        )
    # buy-again beats popularity over all items, popularity wins on new items (Repurchase has none)
    assert _value(table, "repurchase", "all", "hit_rate", 10) > _value(
        table, "popular", "all", "hit_rate", 10
    )
    assert _value(table, "repurchase", "new", "hit_rate", 10) == 0.0
    last_out = ev.leave_last_out(split.train)
    popular = rs.Popular().fit(rs.Interactions.from_purchases(last_out.train))
    sampled = rs.evaluate(
        {"popular": popular},
        last_out,
        k=[10],
        bootstrap=0,
        show_progress=False,
        protocol=ev.SampledNegatives(n=20, seed=0),
    ).table
    assert 0 < sampled.filter(metric="hit_rate", mode="all")["value"].item() < 1
