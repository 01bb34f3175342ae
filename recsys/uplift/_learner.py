"""The uplift models' base learner: scikit-learn's HistGradientBoosting, minus a diagnostic.

With early stopping on a validation split (``DEFAULT_LEARNER``), scikit-learn computes at
every boosting iteration the loss on the validation customers, which decides when to
stop, and also the loss on all the training customers, which it only records
(``train_score_``): four times as many rows as the decision needs, about a sixth of a
fit at 1M customers (benchmarks/RESULTS.md). `Classifier` and `Regressor` are the stock
learners with that recording skipped (``train_score_`` is NaN): same parameters, same
validation split, same stopping iteration, the same trees to the bit (tested against the
stock classes). Without a validation split the training loss is the stopping criterion
and is computed as usual.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

__all__ = ["Classifier", "Regressor"]


class _ValidationLossOnly:
    """Early stopping on the validation loss without the training loss beside it."""

    _use_validation_data: bool
    _loss: Any
    train_score_: list
    validation_score_: list

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


class Classifier(_ValidationLossOnly, HistGradientBoostingClassifier):
    """`HistGradientBoostingClassifier` without the recorded training loss (module doc)."""


class Regressor(_ValidationLossOnly, HistGradientBoostingRegressor):
    """`HistGradientBoostingRegressor` without the recorded training loss (module doc)."""
