"""Uplift models: who responds to a treatment, from a randomized experiment.

A meta-learner turns a tabular learner (scikit-learn's histogram gradient boosting) into
an estimate of each customer's effect ``τ(x) = E[Y(1) - Y(0) | x]``: the incremental
probability of the outcome when it is 0/1 (a visit, a conversion), the incremental value
when it is a number (spend). With ``μ_a(x)`` the outcome model of arm ``a`` and ``e`` the
treated share of the experiment (known by design):

* ``"t"`` (two models): ``τ(x) = μ_1(x) - μ_0(x)``.
* ``"x"`` (Künzel et al. 2019): imputed effects ``D = Y - μ_0(x)`` on the treated and
  ``D = μ_1(x) - Y`` on the controls, one regressor per arm on them (``τ_1``, ``τ_0``), then
  ``τ(x) = e τ_0(x) + (1 - e) τ_1(x)``: the arm with more customers corrects the other.
* ``"dr"`` (Kennedy 2023): regress the doubly robust pseudo-outcome
  ``μ_1 - μ_0 + T (Y - μ_1) / e - (1 - T)(Y - μ_0) / (1 - e)`` on ``x``, with ``μ_a``
  cross-fitted on two halves of the training customers.

Cross-fitting: customers are split into ``n_folds`` folds (within each arm, by
``random_state``); each fold's customers are scored by the meta-learner fitted on the other
folds (`UpliftModel.fit_predict`), so no customer is scored by a model that saw their
outcome. New customers (`UpliftModel.predict`) get the mean of the fold models. The
number of folds, unless given: 2, as in double machine learning (Chernozhukov et al.
2018), once the smaller arm has `MANY_CUSTOMERS` customers: the learners then fit as many
customers in all as one fit on everyone. Below that, 5: each model sees 80% of the
customers instead of 50%, which lowers the error of small experiments (measured at 20,000
customers, 90/10, benchmarks/RESULTS.md) where fitting 4x as many rows costs seconds.

Speed: the features are binned once per fit, as the learner bins them, and every
learner is fitted on the bin codes; all predictions (out-of-fold, the X-learner's imputed
effects, the DR nuisances, `UpliftModel.predict`) evaluate the fitted trees as leaf-mask
tables over the codes in one Numba pass (`recsys.uplift._forest`), which gives the
learners' own predictions to the bit, about 10x faster than scikit-learn's predictor.
The learners (`recsys.uplift._learner`) are scikit-learn's, growing the same trees, without
two overheads of their fit: re-binning the codes by sorting, and recording the training
loss beside the validation loss that early stopping reads.

Learner: `HistGradientBoostingClassifier` (0/1 outcomes, the ``μ_a`` of T and DR) and
`HistGradientBoostingRegressor`, chosen over LightGBM by measurement (same PEHE; LightGBM
1.3-1.6x faster to fit but a further compiled dependency whose determinism is documented
only at a fixed thread count; see benchmarks/RESULTS.md). ``num_threads`` caps the
learner's OpenMP threads and the Numba threads of the predictions; the predictions are
identical at 1 and 2 threads (tested). Trees have at most 64 leaves (``max_leaf_nodes``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from recsys._validation import check_in, check_positive_int, resolve_num_threads
from recsys._warnings import warn_caller
from recsys.data.sources import FrameLike
from recsys.exceptions import DataWarning, InputDataError, NotFittedError
from recsys.uplift._checks import as_frame, check_finite_column, is_binary_column, require_columns
from recsys.uplift._features import FeatureEncoder, join_features
from recsys.uplift._forest import MAX_LEAVES, Bins, Constant, Forest, learner_input
from recsys.uplift.balance import BALANCE_ALPHA, balance_table, imbalance_message

__all__ = ["UpliftModel"]

# Defaults of the base learner: shallow trees, many customers per leaf, and early stopping
# on a seeded 20% validation split: uplift is a small difference of noisy outcomes (and the
# DR pseudo-outcome is noisier still), so the number of trees adapts to how much signal
# there is (measured: PEHE at 4,000 and 20,000 simulated customers, benchmarks/RESULTS.md).
DEFAULT_LEARNER = {
    "max_iter": 200,
    "learning_rate": 0.1,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 100,
    "l2_regularization": 1.0,
    "early_stopping": True,
    "validation_fraction": 0.2,
    "n_iter_no_change": 10,
}
_METHODS = ("t", "x", "dr")
MANY_CUSTOMERS = 100_000  # in the smaller arm: 2 cross-fitting folds, not 5


def _learners() -> Any:
    """The learner classes (`recsys.uplift._learner`, over scikit-learn). Imported before
    the thread limit is set: threadpoolctl limits only the OpenMP runtimes already loaded."""
    try:
        from recsys.uplift import _learner
    except ImportError as err:  # the `uplift` extra
        raise ImportError("UpliftModel needs scikit-learn: pip install 'recsys[uplift]'") from err
    return _learner


def _fit_learner(
    x: np.ndarray, y: np.ndarray, classify: bool, params: dict, mask: np.ndarray, seed: int
) -> Any:
    """A fitted learner (`Forest` evaluates it): a classifier for a 0/1 outcome."""
    if y.size == 0:
        raise InputDataError("a fold has no customers of one arm; use fewer n_folds")
    if np.all(y == y[0]):
        return Constant(float(y[0]))
    learners = _learners()
    kwargs = {**params, "random_state": seed}
    kwargs["categorical_features"] = mask if mask.any() else None
    if classify:
        return learners.Classifier(**kwargs).fit(x, y)
    return learners.Regressor(**kwargs).fit(x, y)


class _FoldModel:
    """One meta-learner, fitted on the customers outside one fold."""

    def __init__(self, method: str, models: dict[str, Any], share: float) -> None:
        self.method, self.models, self.share = method, models, share

    def combine(self, out: dict[str, np.ndarray]) -> np.ndarray:
        """The uplift from the predictions of ``models`` (by name)."""
        if self.method == "t":
            return out["mu1"] - out["mu0"]
        if self.method == "x":
            return self.share * out["tau0"] + (1 - self.share) * out["tau1"]
        return out["tau"]

    def predict(self, codes: np.ndarray, threads: int) -> np.ndarray:
        names = list(self.models)
        out = Forest.compile([self.models[k] for k in names]).predict(codes, threads)
        return self.combine({k: out[:, i] for i, k in enumerate(names)})


class UpliftModel:
    """A meta-learner of each customer's response to a treatment, with cross-fitting.

    Parameters
    ----------
    method
        ``"t"``, ``"x"`` or ``"dr"`` (module docstring). X and DR are the better choice
        when the arms are unbalanced (a 90/10 experiment).
    learner_params
        Hyperparameters of scikit-learn's ``HistGradientBoosting{Classifier,Regressor}``
        overriding ``DEFAULT_LEARNER`` (e.g. ``{"max_iter": 200}``); ``max_leaf_nodes``
        at most 64.
    n_folds
        Cross-fitting folds (>= 2): each customer of the experiment is scored by the model
        fitted on the other folds. ``None``: 2 when the smaller arm has at least
        `MANY_CUSTOMERS` customers, else 5 (module docstring); the number used is
        ``n_folds_``.
    random_state
        Seed of the folds and of the learners; the same seed gives the same predictions at
        any thread count.
    num_threads
        Threads of the learner (OpenMP) and of the predictions (Numba); 0: all cores.

    Attributes
    ----------
    arm_, control_
        The treated arm and the control arm compared.
    outcome_kind_
        ``"binary"`` (uplift = incremental probability) or ``"continuous"`` (incremental
        value in the outcome's unit).
    treated_share_
        Share of the compared customers in the treated arm.
    n_folds_
        Cross-fitting folds used.
    n_other_arms_
        Customers of other arms of the experiment, not used.
    oof_
        Frame ``user_id, uplift`` of the experiment's customers, out-of-fold.
    balance_
        `covariate_balance` of the features between the two arms compared.
    balance_warning_
        The `DataWarning` issued when ``features`` has columns that differ between the
        arms, else None.

    Examples
    --------
    A simulated experiment where only customers with ``x > 0`` respond:

    >>> import numpy as np, polars as pl
    >>> import recsys as rs
    >>> rng = np.random.default_rng(0); n = 4000
    >>> x = rng.normal(size=n); t = rng.integers(0, 2, n)
    >>> y = (rng.random(n) < 0.2 + 0.3 * t * (x > 0)).astype(int)
    >>> data = pl.DataFrame({"user_id": np.arange(n), "arm": np.where(t, "mail", "none"),
    ...                      "bought": y, "x": x})
    >>> model = rs.uplift.UpliftModel(method="t", n_folds=2, learner_params={"max_iter": 20})
    >>> oof = model.fit_predict(data, treatment="arm", outcome="bought", control="none")
    >>> responders = oof.join(data, on="user_id").group_by(pl.col("x") > 0).agg(
    ...     pl.col("uplift").mean()).sort("x")
    >>> [round(u, 1) for u in responders["uplift"]]
    [0.0, 0.3]
    >>> new = pl.DataFrame({"user_id": [1, 2], "x": [-1.5, 1.5]})
    >>> [abs(round(u, 1)) for u in model.predict(new)["uplift"]]
    [0.0, 0.3]
    """

    def __init__(
        self,
        method: Literal["t", "x", "dr"] = "x",
        *,
        learner_params: Mapping[str, Any] | None = None,
        n_folds: int | None = None,
        random_state: int = 0,
        num_threads: int = 0,
    ) -> None:
        self.method = method
        self.learner_params = learner_params
        self.n_folds = n_folds
        self.random_state = random_state
        self.num_threads = num_threads

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        experiment: FrameLike,
        features: FrameLike | None = None,
        *,
        treatment: str,
        outcome: str,
        control: Any,
        arm: Any = None,
        user_col: str = "user_id",
    ) -> UpliftModel:
        """Fit on a randomized experiment; out-of-fold predictions go to ``oof_``.

        Parameters
        ----------
        experiment
            One row per customer: ``user_col``, the ``treatment`` column (the arm) and
            the ``outcome`` column (0/1 or a number; no nulls). Without ``features``,
            every other column is a feature, and one that differs between the arms
            (`covariate_balance`: measured after the assignment, like an outcome) is an
            error.
        features
            Optional frame of features by ``user_col`` (for example
            ``rs.build_profiles(purchases, as_of=experiment_start)`` joined with customer
            columns). Customers without a row get missing features (counted, warned).
            A column that differs between the arms is warned about (``balance_warning_``).
        treatment, outcome
            Column names in ``experiment``.
        control
            The control arm's label in ``treatment``.
        arm
            The treated arm compared with ``control``; may be omitted when there is only
            one. Customers of other arms are not used (``n_other_arms_``).
        user_col
            The customer id column.

        Raises
        ------
        InputDataError
            Missing columns, a single arm, an unknown ``arm``/``control``, nulls in
            ``treatment``/``outcome``, an outcome constant in both arms, repeated
            customers, unusable feature columns, experiment columns (without
            ``features``) that differ between the arms.
        """
        check_in("method", self.method, _METHODS)
        if self.n_folds is not None:
            check_positive_int("n_folds", self.n_folds)
            if self.n_folds < 2:
                raise InputDataError(f"n_folds must be >= 2, got {self.n_folds}")
        params = {**DEFAULT_LEARNER, **dict(self.learner_params or {})}
        leaves = params.get("max_leaf_nodes")
        if leaves is None or not 2 <= leaves <= MAX_LEAVES:
            raise InputDataError(
                f"learner_params max_leaf_nodes must be 2..{MAX_LEAVES}, got {leaves!r} "
                "(the trees are evaluated as 64-bit leaf masks)"
            )
        threads = resolve_num_threads(self.num_threads)
        frame, t, y = self._experiment(experiment, treatment, outcome, control, arm, user_col)
        absent = 0
        if features is None:
            feats = frame.drop(treatment, outcome)
        else:
            feats, absent = join_features(frame[user_col], as_frame(features, "features"), user_col)
        self.encoder_ = FeatureEncoder.fit(feats, user_col)
        self._check_balance(feats.select(self.encoder_.columns), t, given=features is not None)
        x = self.encoder_.transform(feats, absent=absent)
        self.user_col_ = user_col
        self._mask = self.encoder_.categorical_mask
        self._params = params
        # Binned once here, as each learner would bin them (module docstring of _forest).
        self.bins_ = Bins.fit(x, self._mask, self._seed(0, 10))
        codes = self.bins_.transform(x, threads)
        x = learner_input(codes)
        n_folds = self.n_folds or default_folds(t)
        self.n_folds_ = n_folds
        folds = _folds(t, n_folds, self.random_state)
        oof = np.empty(t.size)
        self.fold_models_: list[_FoldModel] = []
        self._threads = threads
        _learners()
        with threadpool_limits(limits=threads, user_api="openmp"):
            for f in range(n_folds):
                train = folds != f
                model = self._fit_fold(x[train], codes[train], t[train], y[train], f)
                oof[~train] = model.predict(codes[~train], threads)
                self.fold_models_.append(model)
        self._forest: Forest | None = None
        self.oof_ = pl.DataFrame({user_col: frame[user_col], "uplift": oof})
        return self

    def fit_predict(
        self, experiment: FrameLike, features: FrameLike | None = None, **kwargs: Any
    ) -> pl.DataFrame:
        """`fit`, then the out-of-fold uplift of the experiment's customers (``oof_``)."""
        return self.fit(experiment, features, **kwargs).oof_

    def predict(self, features: FrameLike) -> pl.DataFrame:
        """Uplift of new customers: the mean of the fold models' predictions.

        Parameters
        ----------
        features
            Frame with ``user_col`` and the feature columns seen at fit.

        Returns
        -------
        polars.DataFrame
            ``user_col, uplift``, in the order of ``features``.
        """
        if not hasattr(self, "fold_models_"):
            raise NotFittedError("UpliftModel is not fitted; call fit first")
        frame = as_frame(features, "features")
        require_columns(frame, "features", {"user_col": self.user_col_})
        threads = resolve_num_threads(self.num_threads)
        codes = self.bins_.transform(self.encoder_.transform(frame), threads)
        # One pass over the customers for the trees of every fold model.
        names = [(f, k) for f, model in enumerate(self.fold_models_) for k in model.models]
        if self._forest is None:
            self._forest = Forest.compile([self.fold_models_[f].models[k] for f, k in names])
        out = self._forest.predict(codes, threads)
        total = np.zeros(frame.height)
        for f, model in enumerate(self.fold_models_):  # summed in fold order: deterministic
            total += model.combine({k: out[:, i] for i, (g, k) in enumerate(names) if g == f})
        return pl.DataFrame(
            {self.user_col_: frame[self.user_col_], "uplift": total / len(self.fold_models_)}
        )

    # ------------------------------------------------------------ internals
    def _experiment(
        self,
        experiment: FrameLike,
        treatment: str,
        outcome: str,
        control: Any,
        arm: Any,
        user_col: str,
    ) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
        frame = as_frame(experiment, "experiment")
        require_columns(
            frame,
            "experiment",
            {"user_col": user_col, "treatment": treatment, "outcome": outcome},
        )
        if frame[treatment].null_count():
            raise InputDataError(
                f"treatment column {treatment!r} has {frame[treatment].null_count()} nulls"
            )
        arms = frame[treatment].unique().sort().to_list()
        if len(arms) < 2:
            raise InputDataError(
                f"treatment column {treatment!r} has one arm ({arms}); an uplift model needs "
                "a treated and a control arm"
            )
        if control not in arms:
            raise InputDataError(f"control={control!r} is not an arm of {treatment!r}: {arms}")
        others = [a for a in arms if a != control]
        if arm is None:
            if len(others) > 1:
                raise InputDataError(
                    f"treatment column {treatment!r} has arms {others} besides the control; "
                    "name the one to compare with arm="
                )
            arm = others[0]
        elif arm not in others:
            raise InputDataError(f"arm={arm!r} is not a treated arm of {treatment!r}: {others}")
        if frame[user_col].is_duplicated().any():
            raise InputDataError(
                f"experiment has {int(frame[user_col].is_duplicated().sum())} rows with a "
                f"repeated {user_col!r}; one row per customer"
            )
        self.n_other_arms_ = int(frame.filter(~pl.col(treatment).is_in([arm, control])).height)
        frame = frame.filter(pl.col(treatment).is_in([arm, control]))
        check_finite_column(frame, outcome, "outcome")
        binary = is_binary_column(frame, outcome)
        t = (frame[treatment] == arm).to_numpy().astype(np.int8)
        y = frame[outcome].cast(pl.Float64).to_numpy()
        constant = [
            name for name, m in (("treated", t == 1), ("control", t == 0)) if np.ptp(y[m]) == 0
        ]
        if len(constant) == 2 and y[t == 1][0] == y[t == 0][0]:
            raise InputDataError(
                f"outcome column {outcome!r} is {y[0]:g} for every customer of both arms: "
                "there is no response to model"
            )
        if constant:
            warnings.warn(
                f"outcome column {outcome!r} is constant in the {' and '.join(constant)} arm; "
                "its outcome model is that constant",
                DataWarning,
                stacklevel=3,
            )
        self.arm_, self.control_ = arm, control
        self.outcome_kind_ = "binary" if binary else "continuous"
        self.treated_share_ = float(t.mean())
        self.n_customers_ = int(t.size)
        return frame, t, y

    def _check_balance(self, feats: pl.DataFrame, t: np.ndarray, *, given: bool) -> None:
        """``balance_``; a feature that differs between the arms (`covariate_balance`) is
        refused among the experiment's other columns, warned about in ``features``."""
        self.balance_ = balance_table(feats, t, BALANCE_ALPHA)
        self.balance_warning_: str | None = None
        if not self.balance_["imbalanced"].any():
            return
        if not given:
            raise InputDataError(
                imbalance_message(
                    self.balance_,
                    self.arm_,
                    self.control_,
                    "the experiment's",
                    "Pass features= with the columns measured before the assignment only, or "
                    "drop these columns from experiment",
                )
            )
        self.balance_warning_ = imbalance_message(
            self.balance_,
            self.arm_,
            self.control_,
            "features",
            "If so, the model's ranking is no evidence that targeting works: use the columns "
            "measured before the assignment only",
        )
        warn_caller(self.balance_warning_)

    def _seed(self, fold: int, role: int) -> int:
        return int(np.random.SeedSequence([self.random_state, fold, role]).generate_state(1)[0])

    def _fit_fold(
        self, x: np.ndarray, codes: np.ndarray, t: np.ndarray, y: np.ndarray, fold: int
    ) -> _FoldModel:
        classify = self.outcome_kind_ == "binary"
        treated, control = t == 1, t == 0
        share = float(treated.mean())

        def learn(rows: np.ndarray, target: np.ndarray, as_classifier: bool, role: int) -> Any:
            return _fit_learner(
                x[rows], target, as_classifier, self._params, self._mask, self._seed(fold, role)
            )

        def predict(model: Any, rows: np.ndarray) -> np.ndarray:
            return Forest.compile([model]).predict(codes[rows], self._threads)[:, 0]

        if self.method in ("t", "x"):
            mu1 = learn(treated, y[treated], classify, 0)
            mu0 = learn(control, y[control], classify, 1)
            if self.method == "t":
                return _FoldModel("t", {"mu1": mu1, "mu0": mu0}, share)
            d1 = y[treated] - predict(mu0, treated)
            d0 = predict(mu1, control) - y[control]
            tau1 = learn(treated, d1, False, 2)
            tau0 = learn(control, d0, False, 3)
            return _FoldModel("x", {"tau1": tau1, "tau0": tau0}, share)
        # DR: nuisances cross-fitted on two halves of these customers, then one regressor.
        half = _folds(t, 2, self._seed(fold, 9) % 2**31)
        mu = np.empty((2, t.size))
        for h in range(2):
            fit_rows, score_rows = half != h, half == h
            for a in (0, 1):
                rows = fit_rows & (t == a)
                mu[a, score_rows] = predict(
                    learn(rows, y[rows], classify, 4 + 2 * h + a), score_rows
                )
        pseudo = mu[1] - mu[0] + t * (y - mu[1]) / share - (1 - t) * (y - mu[0]) / (1 - share)
        tau = learn(np.ones(t.size, dtype=bool), pseudo, False, 8)
        return _FoldModel("dr", {"tau": tau}, share)


def default_folds(t: np.ndarray) -> int:
    """Cross-fitting folds when ``n_folds`` is not given: 2 once the smaller arm of the 0/1
    treatment ``t`` has `MANY_CUSTOMERS` customers, else 5."""
    smaller = min(int(t.sum()), int(t.size - t.sum()))
    return 2 if smaller >= MANY_CUSTOMERS else 5


def _folds(t: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold of each customer: a seeded permutation within each arm, dealt round-robin."""
    rng = np.random.default_rng(seed)
    fold = np.empty(t.size, dtype=np.int64)
    for a in (0, 1):
        rows = np.flatnonzero(t == a)
        if rows.size < n_folds:
            raise InputDataError(
                f"the {'treated' if a else 'control'} arm has {rows.size} customers, fewer than "
                f"n_folds={n_folds}"
            )
        fold[rng.permutation(rows)] = np.arange(rows.size) % n_folds
    return fold
