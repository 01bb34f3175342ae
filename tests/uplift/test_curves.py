"""Targeting curves against a plain reference (scikit-uplift's definitions, re-typed here)."""

from __future__ import annotations

import numba
import numpy as np
import pytest

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError
from recsys.stats import draw_counts, resample_seeds
from recsys.uplift._curve_kernels import auc_resamples


# ---- plain reference: scikit-uplift 0.5 metrics, written out with numpy ----------------------
def ref_curve(y, score, t, kind):
    order = np.argsort(score, kind="mergesort")[::-1]
    y, score, t = y[order], score[order], t[order]
    y_t = np.where(t == 1, y, 0.0)
    y_c = np.where(t == 0, y, 0.0)
    idx = np.r_[np.where(np.diff(score))[0], score.size - 1]
    n_t = np.cumsum(t)[idx]
    n_all = idx + 1.0
    n_c = n_all - n_t
    cy_t = np.cumsum(y_t)[idx]
    cy_c = np.cumsum(y_c)[idx]
    if kind == "qini":
        v = cy_t - cy_c * np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c != 0)
    else:
        v = (
            np.divide(cy_t, n_t, out=np.zeros_like(cy_t), where=n_t != 0)
            - np.divide(cy_c, n_c, out=np.zeros_like(cy_c), where=n_c != 0)
        ) * n_all
    return np.r_[0, n_all], np.r_[0, v]


def ref_auc_score(y, score, t, kind):
    x, v = ref_curve(y, score, t, kind)
    if kind == "qini":
        px, pv = ref_curve(y, y * t - y * (1 - t), t, kind)
    else:
        cr = np.sum((y == 1) & (t == 0))
        tn = np.sum((y == 0) & (t == 1))
        summand = y if cr > tn else t
        px, pv = ref_curve(y, 2 * (y == t) + summand, t, kind)
    base = px[-1] * pv[-1] / 2
    return (np.trapezoid(v, x) - base) / (np.trapezoid(pv, px) - base), (
        np.trapezoid(v, x) - base
    ) / y.size**2


def ref_uplift_at_k(y, score, t, top, strategy):
    order = np.argsort(score, kind="mergesort")[::-1]
    if strategy == "overall":
        m = int(len(y) * top)
        yy, tt = y[order][:m], t[order][:m]
        return yy[tt == 1].mean() - yy[tt == 0].mean()
    n_c, n_t = int((t == 0).sum() * top), int((t == 1).sum() * top)
    return y[order][t[order] == 1][:n_t].mean() - y[order][t[order] == 0][:n_c].mean()


def _data(seed, n=600, ties=True):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n).astype(float)
    score = rng.integers(0, 40, n).astype(float) if ties else rng.random(n)
    y = (rng.random(n) < 0.2 + 0.2 * t * (score > np.median(score))).astype(float)
    return y, t, score


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ties", [True, False])
def test_qini_and_auuc_match_reference(seed, ties):
    y, t, s = _data(seed, ties=ties)
    for kind, fn in (("qini", rs.uplift.qini_auc), ("uplift", rs.uplift.auuc)):
        norm, raw = ref_auc_score(y, s, t, kind)
        assert fn(y, t, s, bootstrap=0).value == pytest.approx(norm, rel=1e-10)
        assert fn(y, t, s, normalize=False, bootstrap=0).value == pytest.approx(raw, rel=1e-10)


def test_qini_auc_continuous_outcome_matches_reference():
    y, t, s = _data(5)
    spend = y * np.random.default_rng(0).gamma(2.0, 5.0, y.size)
    norm, _ = ref_auc_score(spend, s, t, "qini")
    assert rs.uplift.qini_auc(spend, t, s, bootstrap=0).value == pytest.approx(norm)
    with pytest.raises(InputDataError, match="0/1 outcome"):
        rs.uplift.auuc(spend, t, s, bootstrap=0)


def test_perfect_and_reversed_scores():
    y, t, _ = _data(3)
    perfect = y * t - y * (1 - t)
    assert rs.uplift.qini_auc(y, t, perfect, bootstrap=0).value == pytest.approx(1.0)
    assert rs.uplift.qini_auc(y, t, -perfect, bootstrap=0).value < 0


def test_curves_match_reference_at_grid():
    y, t, s = _data(7, n=500, ties=False)
    for kind, fn in (("qini", rs.uplift.qini_curve), ("uplift", rs.uplift.uplift_curve)):
        curve = fn(y, t, s, n_points=11, bootstrap=50)
        _x, v = ref_curve(y, s, t, kind)  # no ties: one point per customer
        assert curve["n_targeted"].to_list() == list(range(0, 501, 50))
        assert curve["value"].to_numpy() == pytest.approx(v[curve["n_targeted"].to_numpy()])
        assert curve["random"][-1] == pytest.approx(v[-1])
        inside = (curve["ci_low"] <= curve["value"]) & (curve["value"] <= curve["ci_high"])
        assert inside[1:].all()


def test_uplift_at_k_and_percentiles_match_reference():
    y, t, s = _data(9, ties=False)
    for strategy in ("overall", "by_group"):
        est = rs.uplift.uplift_at_k(y, t, s, top=0.3, strategy=strategy, bootstrap=200)
        assert est.value == pytest.approx(ref_uplift_at_k(y, s, t, 0.3, strategy))
        assert est.ci_low < est.value < est.ci_high
    table = rs.uplift.uplift_by_percentile(y, t, s, bins=5, bootstrap=200)
    order = np.argsort(s, kind="mergesort")[::-1]
    for row, chunk in zip(table.iter_rows(named=True), np.array_split(order, 5), strict=True):
        yy, tt = y[chunk], t[chunk]
        assert row["n_treatment"] == int(tt.sum())
        assert row["uplift"] == pytest.approx(yy[tt == 1].mean() - yy[tt == 0].mean())
        assert row["ci_low"] <= row["uplift"] <= row["ci_high"]
    by_group = rs.uplift.uplift_by_percentile(y, t, s, bins=5, strategy="by_group", bootstrap=0)
    yt_sorted = y[order][t[order] == 1]
    assert by_group["rate_treatment"][0] == pytest.approx(np.array_split(yt_sorted, 5)[0].mean())


def test_bootstrap_resample_equals_reference_on_repeated_rows():
    """A resample's area equals the reference area of the data with rows repeated c_i times."""
    y, t, s = _data(4, n=300)
    order = np.argsort(s, kind="mergesort")[::-1].copy()
    ys, ts, ss = y[order], t[order], s[order]
    ends = np.r_[np.diff(ss) != 0, True]
    empty = np.empty((0, y.size))
    areas, totals, finals, _ = auc_resamples(
        ys,
        ts,
        ends,
        np.empty((0, y.size), np.int64),
        empty,
        empty,
        np.empty((0, y.size), np.bool_),
        0,
        resample_seeds(3, 42),
    )
    for b in range(3):
        counts = np.empty(y.size, np.uint8)
        draw_counts(resample_seeds(3, 42)[b], counts)
        assert counts.sum() == y.size
        yr, tr, sr = np.repeat(ys, counts), np.repeat(ts, counts), np.repeat(ss, counts)
        x, v = ref_curve(yr, sr, tr, "qini")
        assert areas[b, 0] == pytest.approx(np.trapezoid(v, x))
        assert totals[b] == y.size
        assert finals[b] == pytest.approx(v[-1])


def test_bootstrap_is_deterministic_across_threads():
    y, t, s = _data(6, n=2000, ties=False)
    a = rs.uplift.qini_auc(y, t, s, bootstrap=64, seed=3)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        b = rs.uplift.qini_auc(y, t, s, bootstrap=64, seed=3)
    finally:
        numba.set_num_threads(previous)
    assert a == b
    assert rs.uplift.qini_auc(y, t, s, bootstrap=64, seed=4) != a


def test_random_score_interval_usually_covers_zero():
    """With a score unrelated to the outcome, the 95% Qini interval should cover 0."""
    rng = np.random.default_rng(12)
    covered = 0
    for _ in range(40):
        n = 1000
        t = rng.integers(0, 2, n)
        y = (rng.random(n) < 0.3 + 0.05 * t).astype(float)
        est = rs.uplift.qini_auc(y, t, rng.random(n), normalize=False, bootstrap=200)
        covered += est.ci_low <= 0 <= est.ci_high
    assert covered >= 34


def test_bad_input():
    y, t, s = _data(0, n=20)
    with pytest.raises(InputDataError, match="same length"):
        rs.uplift.qini_auc(y, t[:-1], s)
    with pytest.raises(InputDataError, match="only 0"):
        rs.uplift.qini_auc(y, t * 2, s)
    with pytest.raises(InputDataError, match="only treated"):
        rs.uplift.qini_auc(y, np.ones_like(t), s)
    with pytest.raises(InputDataError, match="NaN"):
        rs.uplift.qini_auc(np.r_[y[:-1], np.nan], t, s)
    with pytest.raises(InputDataError, match="top as a share"):
        rs.uplift.uplift_at_k(y, t, s, top=1.5)
    with pytest.raises(InputDataError, match="strategy"):
        rs.uplift.uplift_by_percentile(y, t, s, strategy="best")


def test_no_responders_normalised_area_warns():
    y = np.zeros(10)
    t = np.array([0, 1] * 5)
    with pytest.warns(DataWarning, match="normalised area is undefined"):
        est = rs.uplift.qini_auc(y, t, np.arange(10.0), bootstrap=0)
    assert np.isnan(est.value)
    assert rs.uplift.qini_auc(y, t, np.arange(10.0), normalize=False, bootstrap=0).value == 0


def test_checkpoint_intervals_equal_the_engine_reference():
    """uplift_at_k's bootstrap: the rows in score order, resampled by recsys.stats."""
    from tests.stats.reference import reference_counts, reference_sums

    y, t, s = _data(7, n=500, ties=False)
    est = rs.uplift.uplift_at_k(y, t, s, top=0.4, bootstrap=64, seed=2)
    order = np.argsort(s, kind="mergesort")[::-1]
    ys, ts = y[order], t[order]
    columns = np.column_stack([ts, ys * ts, 1 - ts, ys * (1 - ts)])
    sums = reference_sums(columns, reference_counts(y.size, 64, 2), np.array([200]))[:, 0]
    draws = sums[:, 1] / sums[:, 0] - sums[:, 3] / sums[:, 2]
    assert est.ci_low == pytest.approx(np.quantile(draws, 0.025), rel=1e-12)
    assert est.ci_high == pytest.approx(np.quantile(draws, 0.975), rel=1e-12)


def test_warnings_name_the_callers_line():
    y = np.zeros(10)
    t = np.array([0, 1] * 5)
    with pytest.warns(DataWarning, match="normalised area is undefined") as record:
        rs.uplift.qini_auc(y, t, np.arange(10.0), bootstrap=0)
    assert record[0].filename == __file__
    with pytest.warns(DataWarning) as record:
        rs.uplift.auuc(y, t, np.arange(10.0), bootstrap=20)
    assert any("bootstrap intervals are undefined" in str(r.message) for r in record)
    assert {r.filename for r in record} == {__file__}
    t_sorted = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0])
    with pytest.warns(DataWarning) as record:
        rs.uplift.uplift_by_percentile(np.ones(10), t_sorted, -np.arange(10.0), bins=5)
    assert {r.filename for r in record} == {__file__}
