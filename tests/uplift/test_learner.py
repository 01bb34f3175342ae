"""The uplift models' learners against scikit-learn's stock HistGradientBoosting: same trees."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.uplift._forest import Bins, learner_input
from recsys.uplift.models import DEFAULT_LEARNER

ensemble = pytest.importorskip("sklearn.ensemble")
_learner = pytest.importorskip("recsys.uplift._learner")
binning = pytest.importorskip("sklearn.ensemble._hist_gradient_boosting.binning")


@pytest.fixture(autouse=True)
def one_thread():
    """One OpenMP thread: the fits here are small, and faster alone on a busy machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _codes(n: int, seed: int, categorical: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    x[:, 2] = np.round(x[:, 2], 1)  # fewer distinct values than bins
    x[rng.random(n) < 0.05, 1] = np.nan
    if categorical:
        x[:, 3] = rng.integers(0, 5, n)
    signal = np.nan_to_num(x[:, 1]) + np.sin(2 * x[:, 0]) + (x[:, 3] > 1)
    y = (rng.random(n) < 1 / (1 + np.exp(-signal))).astype(int)
    mask = np.array([False, False, False, categorical])
    return learner_input(Bins.fit(x, mask, seed).transform(x)), y


def _same_trees(ours, theirs) -> None:
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_array_equal(ours.validation_score_, theirs.validation_score_)
    np.testing.assert_array_equal(ours._baseline_prediction, theirs._baseline_prediction)
    for (a,), (b,) in zip(ours._predictors, theirs._predictors, strict=True):
        np.testing.assert_array_equal(a.nodes, b.nodes)


@pytest.mark.parametrize("n", [6_000, 260_000])  # 260,000: the binning subsamples 200,000
def test_learners_grow_the_stock_learners_trees(n):
    x, y = _codes(n, seed=1)
    params = {**DEFAULT_LEARNER, "max_iter": 3 if n > 10_000 else 60, "random_state": 5}
    classifier = _learner.Classifier(**params).fit(x, y)
    stock = ensemble.HistGradientBoostingClassifier(**params).fit(x, y)
    _same_trees(classifier, stock)
    assert np.isnan(classifier.train_score_).all()  # the recorded training loss is skipped
    np.testing.assert_array_equal(
        classifier._bin_mapper.transform(x), stock._bin_mapper.transform(x)
    )
    if n > 10_000:
        return
    target = y + np.nan_to_num(x[:, 1])
    regressor = _learner.Regressor(**params).fit(x, target)
    _same_trees(regressor, ensemble.HistGradientBoostingRegressor(**params).fit(x, target))


def test_categorical_features_and_no_validation_split_take_the_stock_paths():
    x, y = _codes(5_000, seed=2, categorical=True)
    params = {**DEFAULT_LEARNER, "categorical_features": [False, False, False, True]}
    _same_trees(
        _learner.Classifier(**params, random_state=0).fit(x, y),
        ensemble.HistGradientBoostingClassifier(**params, random_state=0).fit(x, y),
    )
    # Without a validation split, early stopping reads the training loss: computed.
    plain = {**DEFAULT_LEARNER, "validation_fraction": None, "max_iter": 30}
    ours = _learner.Regressor(**plain, random_state=0).fit(x, y * 2.0)
    theirs = ensemble.HistGradientBoostingRegressor(**plain, random_state=0).fit(x, y * 2.0)
    np.testing.assert_array_equal(ours.train_score_, theirs.train_score_)
    _same_trees(ours, theirs)


def test_inputs_other_than_bin_codes_take_scikit_learns_binning():
    x, y = _codes(5_000, seed=4)
    for other in (x + 0.5, x * 2, np.where(np.isnan(x), np.inf, x)):
        assert _learner._as_codes(other) is None
    raw = np.random.default_rng(4).normal(size=(5_000, 3))
    params = {**DEFAULT_LEARNER, "max_iter": 20, "random_state": 1}
    _same_trees(
        _learner.Classifier(**params).fit(raw, y),
        ensemble.HistGradientBoostingClassifier(**params).fit(raw, y),
    )
    # Fewer bins than codes: scikit-learn takes quantiles of the codes.
    coarse = {**params, "max_bins": 15}
    _same_trees(
        _learner.Classifier(**coarse).fit(x, y),
        ensemble.HistGradientBoostingClassifier(**coarse).fit(x, y),
    )


def test_the_codes_binning_is_checked_against_scikit_learns():
    assert _learner._codes_binning_is_sklearns()  # else the fast path is off (still exact)
    x, _ = _codes(3_000, seed=3)
    ours = binning._BinMapper(n_bins=256, subsample=700, random_state=4)
    theirs = binning._BinMapper(n_bins=256, subsample=700, random_state=4)
    codes = _learner._as_codes(x)
    np.testing.assert_array_equal(_learner._fit_codes(ours, codes), theirs.fit_transform(x))
    for a, b in zip(ours.bin_thresholds_, theirs.bin_thresholds_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_missing_private_attribute_takes_scikit_learns_binning(monkeypatch):
    # another scikit-learn without `_is_categorical_remapped`: never our fast path
    x, _ = _codes(3_000, seed=5)

    def refuse(*args, **kwargs):
        raise AssertionError("the fast path must not run")

    monkeypatch.setattr(_learner, "_fit_codes", refuse)
    learner = _learner.Classifier(**DEFAULT_LEARNER)
    learner._bin_mapper = binning._BinMapper(n_bins=256, subsample=700, random_state=4)
    assert not hasattr(learner, "_is_categorical_remapped")
    expected = binning._BinMapper(n_bins=256, subsample=700, random_state=4).fit_transform(x)
    np.testing.assert_array_equal(learner._bin_data(x, None, True), expected)
