"""The uplift learners' bins and compiled trees against scikit-learn's own binning and predict."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.uplift._forest import MISSING, Bins, Constant, Forest, learner_input

ensemble = pytest.importorskip("sklearn.ensemble")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 6000
    x = rng.normal(size=(n, 4))
    x[:, 1] = np.round(x[:, 1], 1)  # fewer distinct values than bins
    x[:, 3] = rng.integers(0, 6, n)  # a categorical column (codes of FeatureEncoder)
    x[rng.random(n) < 0.05, 0] = np.nan
    x[rng.random(n) < 0.05, 3] = np.nan
    signal = np.nan_to_num(x[:, 0]) + x[:, 1] + (x[:, 3] == 2) - (x[:, 3] == 4)
    y = (rng.random(n) < 1 / (1 + np.exp(-signal))).astype(int)
    categorical = np.array([False, False, False, True])
    return x, y, categorical


def test_bins_are_histogram_gradient_boostings_bins(data):
    x, _, categorical = data
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper

    bins = Bins.fit(x, categorical, seed=0)
    codes = bins.transform(x)
    theirs = _BinMapper(n_bins=256, random_state=0).fit(x[:, :3])
    for j in range(3):
        np.testing.assert_allclose(bins.thresholds[j], theirs.bin_thresholds_[j])
    np.testing.assert_array_equal(codes[:, :3], theirs.transform(x[:, :3]))
    assert codes.dtype == np.uint8
    np.testing.assert_array_equal(codes[:, 3] == MISSING, np.isnan(x[:, 3]))
    np.testing.assert_array_equal(codes[~np.isnan(x[:, 3]), 3], x[~np.isnan(x[:, 3]), 3])
    # The learner's input: the codes, missing as NaN.
    back = learner_input(codes)
    np.testing.assert_array_equal(np.isnan(back), codes == MISSING)
    # More distinct values than bins: 255 bins of about equal counts.
    wide = Bins.fit(np.random.default_rng(1).normal(size=(20_000, 1)), np.array([False]), 0)
    assert wide.thresholds[0].size == 254


def test_bins_transform_is_searchsorted_at_any_thread_count(data):
    x, _, categorical = data
    bins = Bins.fit(x, categorical, seed=0)
    # New values: exactly on thresholds, beyond both ends, missing.
    probe = np.tile(x[:50], (4, 1))
    probe[:50, 0] = bins.thresholds[0][:50]
    probe[50:100, 0] = np.linspace(-1e9, 1e9, 50)
    probe[100:150, 2] = bins.thresholds[2][-1] + np.arange(50)
    probe[150:, 1] = np.nan
    reference = np.empty(probe.shape, dtype=np.uint8)
    for j, thresholds in enumerate(bins.thresholds):
        column = probe[:, j]
        if thresholds is None:
            reference[:, j] = np.nan_to_num(column, nan=0)
        else:
            reference[:, j] = np.searchsorted(thresholds, column, side="left")
        reference[np.isnan(column), j] = MISSING
    for threads in (1, 2):
        np.testing.assert_array_equal(bins.transform(probe, threads), reference)


def test_forest_gives_the_learners_own_predictions(data):
    x, y, categorical = data
    codes = Bins.fit(x, categorical, seed=0).transform(x)
    xl = learner_input(codes)
    seen = ~(x[:, 3] >= 4)  # categories 4 and 5 unseen by the classifier: its missing branch
    classifier = ensemble.HistGradientBoostingClassifier(
        max_iter=40, categorical_features=categorical, random_state=0
    ).fit(xl[seen], y[seen])
    regressor = ensemble.HistGradientBoostingRegressor(
        max_iter=30, categorical_features=categorical, random_state=0
    ).fit(xl, y + x[:, 2])
    numeric = ensemble.HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(
        xl[:, :3], y - x[:, 2]
    )
    assert any(p[0].nodes["is_categorical"].any() for p in classifier._predictors)
    forest = Forest.compile([classifier, Constant(0.25), regressor])
    for threads in (1, 2):
        out = forest.predict(codes, threads)
        np.testing.assert_array_equal(out[:, 0], classifier.predict_proba(xl)[:, 1])
        np.testing.assert_array_equal(out[:, 1], 0.25)
        np.testing.assert_array_equal(out[:, 2], regressor.predict(xl))
    only = Forest.compile([numeric]).predict(codes[:, :3], 1)[:, 0]
    np.testing.assert_array_equal(only, numeric.predict(xl[:, :3]))
