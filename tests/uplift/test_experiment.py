"""uplift_table: hand-worked tables, scipy agreement, segments, CUPED, SRM, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from scipy import stats

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError
from recsys.stats import newcombe_interval, z_value


def _binary_frame(counts: dict[str, tuple[int, int]], **extra) -> pl.DataFrame:
    arms, outcomes = [], []
    for arm, (x, n) in counts.items():
        arms += [arm] * n
        outcomes += [1] * x + [0] * (n - x)
    return pl.DataFrame({"arm": arms, "visit": outcomes, **extra})


def test_two_arm_table_hand_worked():
    frame = _binary_frame({"control": (20, 100), "email": (30, 100)})
    t = rs.uplift.uplift_table(frame, arm="arm", outcome="visit", control="control")
    assert t.columns == [
        "arm",
        "n",
        "rate",
        "control_n",
        "control_rate",
        "uplift",
        "ci_low",
        "ci_high",
        "relative_uplift",
        "relative_ci_low",
        "relative_ci_high",
        "p_value",
        "p_value_holm",
        "srm_p_value",
    ]
    row = t.row(0, named=True)
    assert row["arm"] == "email"
    assert row["n"] == 100
    assert row["control_n"] == 100
    assert row["rate"] == 0.3
    assert row["control_rate"] == 0.2
    assert row["uplift"] == pytest.approx(0.1)
    # Wilson 30/100: [0.21894, 0.39584]; 20/100: [0.13336, 0.28882] (hand-computed)
    assert row["ci_low"] == pytest.approx(0.1 - np.hypot(0.3 - 0.218935, 0.288816 - 0.2), abs=1e-5)
    assert row["ci_high"] == pytest.approx(0.1 + np.hypot(0.395843 - 0.3, 0.2 - 0.133357), abs=1e-5)
    assert row["relative_uplift"] == pytest.approx(0.5)
    ref_p = stats.chi2_contingency([[30, 70], [20, 80]], correction=False).pvalue
    assert row["p_value"] == pytest.approx(ref_p)
    assert row["p_value_holm"] == pytest.approx(ref_p)
    assert row["srm_p_value"] == 1.0


def test_pandas_input_and_boolean_outcome():
    pd = pytest.importorskip("pandas")
    frame = _binary_frame({"A": (5, 50), "B": (9, 50)}).with_columns(pl.col("visit").cast(bool))
    t1 = rs.uplift.uplift_table(frame, "arm", "visit", "A")
    t2 = rs.uplift.uplift_table(frame.to_pandas(), "arm", "visit", "A")
    assert isinstance(frame.to_pandas(), pd.DataFrame)
    assert t1.equals(t2)


def test_multiple_arms_holm():
    frame = _binary_frame({"c": (100, 1000), "t1": (130, 1000), "t2": (104, 1000)})
    t = rs.uplift.uplift_table(frame, "arm", "visit", "c")
    assert t["arm"].to_list() == ["t1", "t2"]
    p = t["p_value"].to_numpy()
    order = np.argsort(p)
    expected = np.empty(2)
    expected[order[0]] = min(2 * p[order[0]], 1)
    expected[order[1]] = min(max(2 * p[order[0]], p[order[1]]), 1)
    assert t["p_value_holm"].to_numpy() == pytest.approx(expected)


def test_continuous_outcome_is_welch_and_matches_scipy():
    rng = np.random.default_rng(0)
    spend_c = rng.gamma(2.0, 10.0, 300)
    spend_t = rng.gamma(2.0, 11.0, 280)
    frame = pl.DataFrame(
        {
            "arm": ["control"] * 300 + ["promo"] * 280,
            "spend": np.concatenate([spend_c, spend_t]),
        }
    )
    t = rs.uplift.uplift_table(frame, "arm", "spend", "control").row(0, named=True)
    ref = stats.ttest_ind(spend_t, spend_c, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert t["uplift"] == pytest.approx(spend_t.mean() - spend_c.mean())
    assert t["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert t["ci_low"] == pytest.approx(ci.low, rel=1e-8)
    assert t["ci_high"] == pytest.approx(ci.high, rel=1e-8)
    assert t["relative_uplift"] == pytest.approx(spend_t.mean() / spend_c.mean() - 1)
    assert t["relative_ci_low"] < t["relative_uplift"] < t["relative_ci_high"]


def test_newcombe_on_continuous_outcome_is_refused():
    frame = pl.DataFrame({"arm": ["a", "a", "b", "b"], "spend": [1.5, 2.0, 3.0, 0.0]})
    with pytest.raises(InputDataError, match="needs a 0/1 outcome"):
        rs.uplift.uplift_table(frame, "arm", "spend", "a", method="newcombe")
    with pytest.raises(InputDataError, match="only 0/1 values"):
        rs.uplift.uplift_table(frame, "arm", "spend", "a", outcome_type="binary")


def test_degenerate_rates_give_defined_intervals():
    for counts in (
        {"c": (0, 30), "t": (0, 30)},
        {"c": (30, 30), "t": (30, 30)},
        {"c": (0, 1), "t": (1, 1)},
        {"c": (0, 25), "t": (25, 25)},
    ):
        frame = _binary_frame(counts)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Newcombe needs no warning here
            if counts["c"][0] == 0:
                warnings.simplefilter("ignore", DataWarning)  # relative uplift undefined
            t = rs.uplift.uplift_table(frame, "arm", "visit", "c").row(0, named=True)
        assert np.isfinite(t["ci_low"])
        assert np.isfinite(t["ci_high"])
        assert t["ci_low"] <= t["uplift"] <= t["ci_high"]
        assert t["ci_low"] >= -1
        assert t["ci_high"] <= 1
        assert np.isfinite(t["p_value"])
    # one customer per arm: Newcombe from the two Wilson intervals of 1/1 and 0/1
    with pytest.warns(DataWarning, match="relative uplift is undefined"):
        t = rs.uplift.uplift_table(_binary_frame({"c": (0, 1), "t": (1, 1)}), "arm", "visit", "c")
    assert t["relative_uplift"][0] is None  # undefined: null, not a number
    z = z_value(0.95)
    lo, hi = newcombe_interval(np.array([1]), np.array([1]), np.array([0]), np.array([1]), z)
    assert t["ci_low"][0] == pytest.approx(lo[0])
    assert t["ci_high"][0] == pytest.approx(hi[0])


def test_wald_and_bootstrap_options():
    frame = _binary_frame({"c": (40, 400), "t": (60, 400)})
    wald = rs.uplift.uplift_table(frame, "arm", "visit", "c", method="wald").row(0, named=True)
    se = np.sqrt(0.15 * 0.85 / 400 + 0.1 * 0.9 / 400)
    assert wald["ci_low"] == pytest.approx(0.05 - z_value(0.95) * se)
    boot = rs.uplift.uplift_table(frame, "arm", "visit", "c", method="bootstrap", seed=1)
    again = rs.uplift.uplift_table(frame, "arm", "visit", "c", method="bootstrap", seed=1)
    assert boot.equals(again)
    b = boot.row(0, named=True)
    assert b["ci_low"] == pytest.approx(wald["ci_low"], abs=0.01)
    assert b["ci_high"] == pytest.approx(wald["ci_high"], abs=0.01)
    assert b["relative_ci_low"] < 0.5 < b["relative_ci_high"]


def test_bootstrap_continuous():
    rng = np.random.default_rng(2)
    frame = pl.DataFrame(
        {
            "arm": ["c"] * 200 + ["t"] * 200,
            "spend": np.concatenate([rng.normal(10, 3, 200), rng.normal(11, 3, 200)]),
        }
    )
    boot = rs.uplift.uplift_table(frame, "arm", "spend", "c", method="bootstrap").row(0, named=True)
    welch_row = rs.uplift.uplift_table(frame, "arm", "spend", "c").row(0, named=True)
    assert boot["ci_low"] == pytest.approx(welch_row["ci_low"], abs=0.1)
    assert boot["ci_high"] == pytest.approx(welch_row["ci_high"], abs=0.1)


def test_bootstrap_coverage_through_uplift_table():
    """1,000 simulated experiments; the bootstrap interval covers the true uplift 93%-97%."""
    rng = np.random.default_rng(21)
    n, p0, p1 = 800, 0.2, 0.24
    hits = 0
    sims = 1000
    for s in range(sims):
        frame = pl.DataFrame(
            {
                "arm": np.repeat(["c", "t"], n),
                "y": np.concatenate([rng.random(n) < p0, rng.random(n) < p1]).astype(np.int8),
            }
        )
        r = rs.uplift.uplift_table(
            frame, "arm", "y", "c", method="bootstrap", bootstrap=200, seed=s
        ).row(0, named=True)
        hits += r["ci_low"] <= p1 - p0 <= r["ci_high"]
    assert 0.93 <= hits / sims <= 0.97


def test_segments_and_heterogeneity():
    seg_a = _binary_frame({"c": (20, 200), "t": (60, 200)}, seg=["a"] * 400)
    seg_b = _binary_frame({"c": (20, 200), "t": (22, 200)}, seg=["b"] * 400)
    frame = pl.concat([seg_a, seg_b])
    t = rs.uplift.uplift_table(frame, "arm", "visit", "c", by="seg")
    assert t["seg"].to_list() == ["a", "b"]
    assert t["uplift"].to_list() == pytest.approx([0.2, 0.01])

    # Cochran's Q with se from shrunk rates (x + .5) / (n + 1)
    def se(x1, x0, n=200):
        a, b = (x1 + 0.5) / (n + 1), (x0 + 0.5) / (n + 1)
        return np.sqrt(a * (1 - a) / n + b * (1 - b) / n)

    d = np.array([0.2, 0.01])
    w = 1 / np.array([se(60, 20), se(22, 20)]) ** 2
    q = np.sum(w * (d - np.sum(w * d) / np.sum(w)) ** 2)
    assert t["heterogeneity_q"][0] == pytest.approx(q)
    assert t["heterogeneity_p"][0] == pytest.approx(stats.chi2.sf(q, 1))
    assert t["heterogeneity_p"][0] < 0.001
    # each segment's row equals the table of that segment alone
    alone = rs.uplift.uplift_table(seg_b, "arm", "visit", "c")
    assert t.row(1, named=True)["ci_low"] == pytest.approx(alone["ci_low"][0])


def test_cuped_reduces_variance_and_stays_unbiased():
    rng = np.random.default_rng(4)
    n = 4000
    pre = rng.gamma(2.0, 10.0, 2 * n)
    arm = np.repeat(["c", "t"], n)
    post = 0.8 * pre + rng.normal(0, 5.0, 2 * n) + np.where(arm == "t", 1.0, 0.0)
    frame = pl.DataFrame({"arm": arm, "spend": post, "pre": pre})
    plain = rs.uplift.uplift_table(frame, "arm", "spend", "c").row(0, named=True)
    cuped = rs.uplift.uplift_table(frame, "arm", "spend", "c", covariate="pre").row(0, named=True)
    # theta = cov(pre, post) / var(pre) pooled; adjusted means by hand
    theta = np.cov(pre, post)[0, 1] / np.var(pre, ddof=1)
    adj = post - theta * (pre - pre.mean())
    assert cuped["theta"] == pytest.approx(theta)
    assert cuped["uplift"] == pytest.approx(adj[n:].mean() - adj[:n].mean())
    se_adj2 = adj[n:].var(ddof=1) / n + adj[:n].var(ddof=1) / n
    se_raw2 = post[n:].var(ddof=1) / n + post[:n].var(ddof=1) / n
    assert cuped["variance_reduction"] == pytest.approx(1 - se_adj2 / se_raw2)
    rho2 = np.corrcoef(pre, post)[0, 1] ** 2
    assert cuped["variance_reduction"] == pytest.approx(rho2, abs=0.02)
    assert cuped["ci_high"] - cuped["ci_low"] < 0.5 * (plain["ci_high"] - plain["ci_low"])
    assert cuped["ci_low"] < 1.0 < cuped["ci_high"]
    boot = rs.uplift.uplift_table(
        frame, "arm", "spend", "c", covariate="pre", method="bootstrap", bootstrap=300
    ).row(0, named=True)
    assert boot["ci_low"] == pytest.approx(cuped["ci_low"], abs=0.1)


def test_sample_ratio_mismatch_warns():
    frame = _binary_frame({"c": (50, 1000), "t": (60, 1200)})
    with pytest.warns(DataWarning, match="sample ratio mismatch"):
        t = rs.uplift.uplift_table(frame, "arm", "visit", "c")
    assert t["srm_p_value"][0] == pytest.approx(stats.chisquare([1000, 1200]).pvalue)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = rs.uplift.uplift_table(frame, "arm", "visit", "c", expected_ratio={"c": 5, "t": 6})
    assert t["srm_p_value"][0] == pytest.approx(1.0)


def test_bad_input_is_named():
    frame = _binary_frame({"c": (5, 50), "t": (9, 50)})
    with pytest.raises(InputDataError, match="no column 'group'"):
        rs.uplift.uplift_table(frame, "group", "visit", "c")
    with pytest.raises(InputDataError, match="control='x' is not a value"):
        rs.uplift.uplift_table(frame, "arm", "visit", "x")
    with pytest.raises(InputDataError, match="no treatment arm"):
        rs.uplift.uplift_table(frame.filter(pl.col("arm") == "c"), "arm", "visit", "c")
    nan_frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("visit")).alias("visit")
    )
    with pytest.raises(InputDataError, match="1 null"):
        rs.uplift.uplift_table(nan_frame, "arm", "visit", "c")
    nan_float = frame.with_columns(pl.col("visit").cast(pl.Float64).replace(1.0, float("nan")))
    with pytest.raises(InputDataError, match="NaN"):
        rs.uplift.uplift_table(nan_float, "arm", "visit", "c")
    with pytest.raises(InputDataError, match="method must be"):
        rs.uplift.uplift_table(frame, "arm", "visit", "c", method="exact")
    seg = frame.with_columns(
        seg=pl.when(pl.col("arm") == "t")
        .then(pl.lit("x"))
        .otherwise(pl.int_range(pl.len()) % 2)
        .cast(pl.String)
    )
    with pytest.raises(InputDataError, match="zero-size arm"):
        rs.uplift.uplift_table(seg, "arm", "visit", "c", by="seg")
    enum = frame.with_columns(pl.col("arm").cast(pl.Enum(["c", "t", "u"])))
    with pytest.raises(InputDataError, match=r"declares arms \['u'\] with no rows"):
        rs.uplift.uplift_table(enum, "arm", "visit", "c")
    with pytest.raises(InputDataError, match="confidence"):
        rs.uplift.uplift_table(frame, "arm", "visit", "c", confidence=95)
    with pytest.raises(InputDataError, match="frame has no rows"):
        rs.uplift.uplift_table(frame.clear(), "arm", "visit", "c")


def test_single_segment_heterogeneity_warns():
    frame = _binary_frame({"c": (5, 50), "t": (9, 50)}, seg=["a"] * 100)
    with pytest.warns(DataWarning, match="heterogeneity test is undefined"):
        t = rs.uplift.uplift_table(frame, "arm", "visit", "c", by="seg")
    assert np.isnan(t["heterogeneity_p"][0])


def test_cuped_columns_follow_the_common_columns() -> None:
    rng = np.random.default_rng(0)
    n = 400
    frame = pl.DataFrame(
        {"arm": rng.choice(["c", "t"], n), "y": rng.normal(size=n), "x": rng.normal(size=n)}
    )
    columns = rs.uplift.uplift_table(frame, "arm", "y", "c", covariate="x").columns
    assert columns.index("p_value") < columns.index("variance_reduction")
    assert columns[columns.index("variance_reduction") + 1] == "theta"


def _spend_frame(n: int = 60_000, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.choice(["c", "t1", "t2"], n)
    pre = rng.gamma(2.0, 10.0, n)
    return pl.DataFrame(
        {
            "arm": arm,
            "seg": rng.choice(["a", "b", "c", "d"], n),
            "spend": 0.7 * pre + rng.gamma(1.5, 8.0, n) + (arm == "t1") * 0.9,
            "pre": pre,
        }
    )


def test_table_is_identical_across_calls_and_row_orders() -> None:
    """Float sums in a parallel group-by changed the last digits from call to call."""
    frame = _spend_frame()
    for kwargs in ({}, {"covariate": "pre"}, {"method": "bootstrap", "bootstrap": 200}):
        first = rs.uplift.uplift_table(frame, "arm", "spend", "c", by="seg", **kwargs)
        again = rs.uplift.uplift_table(frame, "arm", "spend", "c", by="seg", **kwargs)
        assert first.equals(again)
        assert first.write_csv() == again.write_csv()
        shuffled = frame.sample(fraction=1.0, shuffle=True, seed=3)
        moved = rs.uplift.uplift_table(shuffled, "arm", "spend", "c", by="seg", **kwargs)
        assert first.write_csv() == moved.write_csv()


UPLIFT = """
import numpy as np
import polars as pl
import recsys as rs

rng = np.random.default_rng(0)
n = 200_000
arm = rng.choice(["c", "t1", "t2"], n)
pre = rng.gamma(2.0, 10.0, n)
frame = pl.DataFrame({
    "arm": arm,
    "seg": rng.choice(["a", "b", "c", "d"], n),
    "spend": 0.7 * pre + rng.gamma(1.5, 8.0, n) + (arm == "t1") * 0.9,
    "visit": (rng.random(n) < 0.2 + 0.02 * (arm == "t2")).astype(np.int8),
    "pre": pre,
})
for outcome, kwargs in [("spend", {}), ("spend", {"covariate": "pre"}), ("visit", {}),
                        ("spend", {"method": "bootstrap", "bootstrap": 100})]:
    table = rs.uplift.uplift_table(frame, "arm", outcome, "c", by="seg", **kwargs)
    print(table.write_csv())
"""


@pytest.mark.slow
def test_table_is_identical_at_one_and_two_threads() -> None:
    from tests._subprocess import same_output_at_one_and_two_threads

    assert "relative_uplift" in same_output_at_one_and_two_threads(UPLIFT)


@pytest.mark.parametrize(
    "control_spend",
    [np.zeros(50), np.tile([-0.3, 0.1, 0.2], 20), np.tile([-2.5, 2.5], 25)],
    ids=["zeros", "cancelling-decimals", "symmetric"],
)
def test_zero_control_mean_gives_null_relative_uplift(control_spend: np.ndarray) -> None:
    """A control mean of 0 was rebuilt from centred sums as 3.55e-15 (relative 2.86e15)."""
    rng = np.random.default_rng(1)
    treated = rng.gamma(2.0, 5.0, 60)
    frame = pl.DataFrame(
        {
            "arm": ["c"] * control_spend.size + ["t"] * treated.size,
            "spend": np.concatenate([control_spend, treated]),
        }
    )
    for method in ("welch", "bootstrap"):
        with pytest.warns(DataWarning, match="control mean is 0"):
            row = rs.uplift.uplift_table(frame, "arm", "spend", "c", method=method).row(
                0, named=True
            )
        assert row["control_rate"] == 0.0
        assert row["uplift"] == pytest.approx(treated.mean())
        assert row["relative_uplift"] is None
        assert row["relative_ci_low"] is None
        assert row["relative_ci_high"] is None


def test_a_column_with_two_roles_is_refused() -> None:
    frame = _binary_frame({"c": (5, 50), "t": (9, 50)})
    with pytest.raises(InputDataError, match=r"by= both name column 'arm'"):
        rs.uplift.uplift_table(frame, "arm", "visit", "c", by="arm")
    with pytest.raises(InputDataError, match=r"outcome= and covariate= both name column 'visit'"):
        rs.uplift.uplift_table(frame, "arm", "visit", "c", covariate="visit")


def test_bootstrap_interval_equals_the_engine_reference() -> None:
    """Each arm of each segment: its sorted values resampled with stream (segment, arm)."""
    from tests.stats.reference import reference_counts, reference_means

    frame = _spend_frame(n=900, seed=5)
    table = rs.uplift.uplift_table(
        frame, "arm", "spend", "c", by="seg", method="bootstrap", bootstrap=150, seed=4
    )
    arms = ["c", "t1", "t2"]
    for s_index, segment in enumerate(["a", "b", "c", "d"]):
        means = {}
        for a_index, a in enumerate(arms):
            y = np.sort(frame.filter(seg=segment, arm=a)["spend"].to_numpy())
            counts = reference_counts(y.size, 150, 4, (s_index, a_index))
            means[a] = reference_means(y, counts)[:, 0]
        for a in ("t1", "t2"):
            row = table.filter(seg=segment, arm=a).row(0, named=True)
            diff = means[a] - means["c"]
            ratio = means[a] / means["c"] - 1
            assert row["ci_low"] == pytest.approx(np.quantile(diff, 0.025), rel=1e-12)
            assert row["ci_high"] == pytest.approx(np.quantile(diff, 0.975), rel=1e-12)
            assert row["relative_ci_low"] == pytest.approx(np.quantile(ratio, 0.025), rel=1e-12)
            assert row["relative_ci_high"] == pytest.approx(np.quantile(ratio, 0.975), rel=1e-12)


def test_warnings_name_the_callers_line() -> None:
    """Warnings raised below uplift_table point at the caller's line."""
    srm = _binary_frame({"c": (50, 1000), "t": (60, 1200)})
    with pytest.warns(DataWarning, match="sample ratio mismatch") as record:
        rs.uplift.uplift_table(srm, "arm", "visit", "c")
    assert record[0].filename == __file__
    one_segment = _binary_frame({"c": (5, 50), "t": (9, 50)}, seg=["a"] * 100)
    with pytest.warns(DataWarning, match="heterogeneity") as record:
        rs.uplift.uplift_table(one_segment, "arm", "visit", "c", by="seg")
    assert [r.filename for r in record] == [__file__]
    flat = pl.DataFrame({"arm": ["c", "c", "t", "t"], "y": [1.0, 2.0, 3.0, 5.0], "x": [1.0] * 4})
    with pytest.warns(DataWarning, match="covariate is constant") as record:
        rs.uplift.uplift_table(flat, "arm", "y", "c", covariate="x")
    assert record[0].filename == __file__
    no_control_visits = _binary_frame({"c": (0, 100), "t": (9, 100)})
    with pytest.warns(DataWarning, match="relative uplift is undefined") as record:
        rs.uplift.uplift_table(no_control_visits, "arm", "visit", "c")
    assert [r.filename for r in record] == [__file__]
