"""The uplift models' base learner: scikit-learn's HistGradientBoosting, minus two overheads.

With early stopping on a validation split (``DEFAULT_LEARNER``), scikit-learn computes at
every boosting iteration the loss on the validation customers, which decides when to
stop, and also the loss on all the training customers, which it only records
(``train_score_``): four times as many rows as the decision needs, about a sixth of a
fit at 1M customers (benchmarks/RESULTS.md). `Classifier` and `Regressor` are the stock
learners with that recording skipped (``train_score_`` is NaN): same parameters, same
validation split, same stopping iteration, the same trees to the bit (tested against the
stock classes). Without a validation split the training loss is the stopping criterion
and is computed as usual.

The learners are fitted on bin codes (`recsys.uplift._forest.Bins`: integers 0..254, NaN
missing), which scikit-learn bins again: thresholds at the midpoints of the distinct codes
of a seeded subsample (sorting 200,000 floats per feature), then a binary search per
value. On codes, the same thresholds come from counting the codes of the same subsample
and the binning is a lookup table, about 10x faster; the result is checked against
scikit-learn's own binning once per process (a small input with subsampling), and if it
differs (another scikit-learn's sampling) scikit-learn's binning is used. Categorical
features, sample weights, ``max_bins`` below 255 and inputs that are not bin codes also
take scikit-learn's binning.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.utils import check_random_state

__all__ = ["Classifier", "Regressor"]


def _as_codes(x: np.ndarray) -> np.ndarray | None:
    """``x`` as uint8 codes (NaN -> 255) if it holds bin codes 0..254 and NaN, else None."""
    with np.errstate(invalid="ignore"):  # values a uint8 cannot hold fail the check below
        codes = np.nan_to_num(x, nan=255.0, posinf=255.0, neginf=255.0).astype(np.uint8)
    back = np.where(codes == 255, np.nan, codes)
    return codes if np.array_equal(back, x, equal_nan=True) else None


def _fit_codes(mapper: Any, codes: np.ndarray) -> np.ndarray:
    """``mapper.fit_transform`` of a non-categorical `_BinMapper` for uint8 ``codes``
    (255: missing)."""
    rows = codes
    if mapper.subsample is not None and codes.shape[0] > mapper.subsample:
        rng = check_random_state(mapper.random_state)
        rows = codes.take(rng.choice(codes.shape[0], mapper.subsample, replace=True), axis=0)
    n_features = codes.shape[1]
    mapper.is_categorical_ = np.zeros(n_features, dtype=np.uint8)
    mapper.missing_values_bin_idx_ = mapper.n_bins - 1
    mapper.bin_thresholds_ = []
    for j in range(n_features):
        present = np.flatnonzero(np.bincount(rows[:, j], minlength=256)[:255]).astype(np.float64)
        thresholds = (present[:-1] + present[1:]) / 2 if present.size > 1 else np.asarray([])
        mapper.bin_thresholds_.append(thresholds)
    mapper.n_bins_non_missing_ = np.array(
        [t.shape[0] + 1 for t in mapper.bin_thresholds_], dtype=np.uint32
    )
    return _transform_codes(mapper, codes)


def _transform_codes(mapper: Any, codes: np.ndarray) -> np.ndarray:
    binned = np.empty(codes.shape, dtype=np.uint8, order="F")
    for j, thresholds in enumerate(mapper.bin_thresholds_):
        lookup = np.append(
            np.searchsorted(thresholds, np.arange(255), side="left"),
            mapper.missing_values_bin_idx_,
        ).astype(np.uint8)
        binned[:, j] = lookup[codes[:, j]]
    return binned


@cache
def _codes_binning_is_sklearns() -> bool:
    """Whether `_fit_codes` gives this scikit-learn's binning (checked on a small input)."""
    try:
        return _check_codes_binning()
    except Exception:  # another scikit-learn's private API: its own binning
        return False


def _check_codes_binning() -> bool:
    # private: imported here, so that a scikit-learn without it takes its own binning
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper

    rng = np.random.default_rng(0)
    x = np.minimum(rng.geometric(0.1, size=(3000, 3)) - 1, 254).astype(np.float64)
    x[rng.random(x.shape) < 0.05] = np.nan
    x[:, 2] = 7.0
    theirs = _BinMapper(n_bins=256, subsample=500, random_state=11)
    ours = _BinMapper(n_bins=256, subsample=500, random_state=11)
    binned = theirs.fit_transform(x)
    codes = _as_codes(x)
    return (
        codes is not None
        and np.array_equal(_fit_codes(ours, codes), binned)
        and all(map(np.array_equal, ours.bin_thresholds_, theirs.bin_thresholds_))
        and np.array_equal(ours.n_bins_non_missing_, theirs.n_bins_non_missing_)
    )


class _OnCodes:
    """The stock learner, fitted on bin codes without its own binning's overheads."""

    _use_validation_data: bool
    _loss: Any
    _bin_mapper: Any
    _is_categorical_remapped: np.ndarray | None
    train_score_: list
    validation_score_: list

    def _bin_data(self, x: np.ndarray, sample_weight: np.ndarray | None, is_training_data: bool):
        # private attributes of scikit-learn: where one is missing, its own binning
        categorical = getattr(self, "_is_categorical_remapped", False)
        n_bins = getattr(getattr(self, "_bin_mapper", None), "n_bins", None)
        if (
            sample_weight is not None
            or not (categorical is None or isinstance(categorical, np.ndarray))
            or (isinstance(categorical, np.ndarray) and np.any(categorical))
            or n_bins != 256  # max_bins < 255: quantiles of the codes
            or not _codes_binning_is_sklearns()
        ):
            return super()._bin_data(x, sample_weight, is_training_data)  # type: ignore[misc]
        codes = _as_codes(x)
        if codes is None:  # not bin codes: scikit-learn's binning
            return super()._bin_data(x, sample_weight, is_training_data)  # type: ignore[misc]
        if is_training_data:
            return _fit_codes(self._bin_mapper, codes)
        return np.ascontiguousarray(_transform_codes(self._bin_mapper, codes))

    def _check_early_stopping_loss(
        self,
        raw_predictions: np.ndarray,
        y_train: np.ndarray,
        sample_weight_train: np.ndarray | None,
        raw_predictions_val: np.ndarray,
        y_val: np.ndarray,
        sample_weight_val: np.ndarray | None,
        n_threads: int = 1,
    ) -> bool:
        if not self._use_validation_data:
            return super()._check_early_stopping_loss(  # type: ignore[misc]
                raw_predictions,
                y_train,
                sample_weight_train,
                raw_predictions_val,
                y_val,
                sample_weight_val,
                n_threads=n_threads,
            )
        self.train_score_.append(np.nan)
        self.validation_score_.append(
            -self._loss(
                y_true=y_val,
                raw_prediction=raw_predictions_val,
                sample_weight=sample_weight_val,
                n_threads=n_threads,
            )
        )
        return self._should_stop(self.validation_score_)  # type: ignore[attr-defined]


class Classifier(_OnCodes, HistGradientBoostingClassifier):
    """`HistGradientBoostingClassifier` without the recorded training loss (module doc)."""


class Regressor(_OnCodes, HistGradientBoostingRegressor):
    """`HistGradientBoostingRegressor` without the recorded training loss (module doc)."""
