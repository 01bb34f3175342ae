"""The uplift models' learners, binned once and evaluated by one compiled kernel.

Two costs of a cross-fitted meta-learner over `HistGradientBoosting` are not the trees'
fitting: every fit bins its features again, and every prediction walks the fitted trees
one learner at a time on float64 rows (sklearn's predictor; measured at 1M customers,
a third to a half of the time, see benchmarks/RESULTS.md). Here:

* `Bins` bins the features once per `UpliftModel.fit`, the way HistGradientBoosting bins
  them (at most 255 bins, the midpoints of the distinct values or the averaged inverted
  CDF percentiles of a seeded 200,000-row subsample; missing -> its own code 255). Every
  learner is fitted on the bin codes (as floats), so its own binning finds the same bins
  and its splits fall between codes.
* `Forest` reads the fitted trees of any number of learners (scikit-learn's predictor
  nodes) and evaluates them all in one Numba pass over the uint8 codes, trees summed in
  sklearn's order, so the outputs are the learners' own ``predict`` / ``predict_proba``
  (tested, to the last bit) at any thread count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange
from scipy.special import expit

from recsys.scoring._checks import thread_limits

__all__ = ["MISSING", "Bins", "Constant", "Forest"]

MISSING = 255  # the code of a missing value (HistGradientBoosting's missing bin)
_MAX_BINS = 255  # codes 0..254 for values, as HistGradientBoosting's max_bins
_SUBSAMPLE = 200_000  # rows used to find the bin thresholds, as HistGradientBoosting
_BLOCK = 2048  # rows per task of the kernel: their codes stay in cache across the trees


class Constant:
    """The model of an outcome that is the same for every customer it is fitted on."""

    def __init__(self, value: float) -> None:
        self.value = value


@dataclass
class Bins:
    """Bin thresholds per feature (``None`` for a categorical feature: its codes are bins)."""

    thresholds: list[np.ndarray | None]

    @classmethod
    def fit(cls, x: np.ndarray, categorical: np.ndarray, seed: int) -> Bins:
        rows = x
        if x.shape[0] > _SUBSAMPLE:
            pick = np.random.default_rng(seed).choice(x.shape[0], _SUBSAMPLE, replace=False)
            rows = x[np.sort(pick)]
        thresholds: list[np.ndarray | None] = []
        for j in range(x.shape[1]):
            if categorical[j]:
                thresholds.append(None)
                continue
            col = np.sort(rows[:, j][~np.isnan(rows[:, j])])
            distinct = np.unique(col)
            if distinct.size <= 1:
                thresholds.append(np.empty(0))
            elif distinct.size <= _MAX_BINS:
                thresholds.append((distinct[:-1] + distinct[1:]) / 2)
            else:
                percentiles = np.linspace(0, 100, num=_MAX_BINS + 1)[1:-1]
                thresholds.append(np.percentile(col, percentiles, method="averaged_inverted_cdf"))
        return cls(thresholds)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """uint8 codes: the bin of each value (``x <= threshold``), `MISSING` for NaN."""
        codes = np.empty(x.shape, dtype=np.uint8)
        for j, thresholds in enumerate(self.thresholds):
            col = x[:, j]
            missing = np.isnan(col)
            if thresholds is None:  # category codes 0..254 (FeatureEncoder caps them)
                codes[:, j] = np.where(missing, 0, col).astype(np.uint8)
            else:
                codes[:, j] = np.searchsorted(thresholds, col, side="left")
            codes[missing, j] = MISSING
        return codes


def learner_input(codes: np.ndarray) -> np.ndarray:
    """The codes as the learner's float input (missing as NaN)."""
    x = codes.astype(np.float64)
    x[codes == MISSING] = np.nan
    return x


@dataclass
class Forest:
    """The trees of several learners, flattened for `predict`.

    Node arrays are indexed globally; ``roots[t]`` is tree ``t``'s root and
    ``owner[t]`` the learner it belongs to; learners' trees are in fit order.
    """

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    kind: np.ndarray  # 0 leaf, 1 numeric split, 2 categorical split
    missing_left: np.ndarray
    row: np.ndarray
    left_bitsets: np.ndarray
    known_bitsets: np.ndarray
    roots: np.ndarray
    owner: np.ndarray
    baselines: np.ndarray
    logistic: np.ndarray

    @classmethod
    def compile(cls, learners: Sequence[Any]) -> Forest:
        """Flatten fitted `HistGradientBoosting{Classifier,Regressor}` s and `Constant` s."""
        keys = ("feature", "threshold", "left", "right", "value", "kind", "missing_left", "row")
        parts: dict[str, list[np.ndarray]] = {k: [] for k in keys}
        left_bitsets: list[np.ndarray] = []
        known_bitsets: list[np.ndarray] = []
        roots, owner, baselines, logistic = [], [], [], []
        n_nodes = n_rows = 0
        for m, learner in enumerate(learners):
            if isinstance(learner, Constant):
                baselines.append(learner.value)
                logistic.append(False)
                continue
            baseline = np.asarray(learner._baseline_prediction, dtype=np.float64).ravel()
            if baseline.size != 1:
                raise TypeError("Forest compiles single-output learners only")
            baselines.append(float(baseline[0]))
            logistic.append(hasattr(learner, "predict_proba"))
            column, categories = _learner_columns(learner)
            known, f_idx_map = learner._bin_mapper.make_known_categories_bitsets()
            for (tree,) in learner._predictors:
                nodes = tree.nodes
                leaf = nodes["is_leaf"].astype(bool)
                categorical = nodes["is_categorical"].astype(bool) & ~leaf
                roots.append(n_nodes)
                owner.append(m)
                parts["feature"].append(np.where(leaf, 0, column[nodes["feature_idx"]]))
                # a numeric split sends code c left iff c <= num_threshold (a midpoint
                # between codes): iff c <= floor(num_threshold)
                threshold = np.floor(np.where(leaf | categorical, 0.0, nodes["num_threshold"]))
                parts["threshold"].append(np.clip(threshold, -1, MISSING).astype(np.int64))
                parts["left"].append(nodes["left"].astype(np.int64) + n_nodes)
                parts["right"].append(nodes["right"].astype(np.int64) + n_nodes)
                parts["value"].append(nodes["value"].astype(np.float64))
                parts["kind"].append(np.where(leaf, 0, np.where(categorical, 2, 1)).astype(np.int8))
                parts["missing_left"].append(nodes["missing_go_to_left"].astype(np.bool_))
                row = np.zeros(nodes.size, dtype=np.int64)
                # categorical split: the learner's categories (its own encoding of our
                # codes) sent left, and those it knows, as bitsets over our codes
                for k in np.flatnonzero(categorical):
                    j = int(nodes["feature_idx"][k])
                    encoded = categories[j]  # our code -> the learner's category, -1 unseen
                    go_left = _bits(tree.raw_left_cat_bitsets[nodes["bitset_idx"][k]], encoded)
                    seen = _bits(known[f_idx_map[j]], encoded)
                    left_bitsets.append(_pack(go_left))
                    known_bitsets.append(_pack(seen))
                    row[k] = n_rows
                    n_rows += 1
                parts["row"].append(row)
                n_nodes += nodes.size

        def cat(key: str, dtype: type) -> np.ndarray:
            return np.concatenate(parts[key]).astype(dtype) if parts[key] else np.empty(0, dtype)

        def stack(rows: list[np.ndarray]) -> np.ndarray:
            return np.stack(rows) if rows else np.zeros((0, 8), dtype=np.uint32)

        return cls(
            feature=cat("feature", np.int64),
            threshold=cat("threshold", np.int64),
            left=cat("left", np.int64),
            right=cat("right", np.int64),
            value=cat("value", np.float64),
            kind=cat("kind", np.int8),
            missing_left=cat("missing_left", np.bool_),
            row=cat("row", np.int64),
            left_bitsets=stack(left_bitsets),
            known_bitsets=stack(known_bitsets),
            roots=np.asarray(roots, dtype=np.int64),
            owner=np.asarray(owner, dtype=np.int64),
            baselines=np.asarray(baselines, dtype=np.float64),
            logistic=np.asarray(logistic, dtype=bool),
        )

    def predict(self, codes: np.ndarray, num_threads: int) -> np.ndarray:
        """``[n_rows, n_learners]``: each learner's prediction (the probability of 1 for a
        classifier, as its ``predict_proba(x)[:, 1]``), with ``num_threads`` Numba threads."""
        with thread_limits(num_threads):
            raw = _raw_predict(
                np.ascontiguousarray(codes, dtype=np.uint8),
                self.feature,
                self.threshold,
                self.left,
                self.right,
                self.value,
                self.kind,
                self.missing_left,
                self.row,
                self.left_bitsets,
                self.known_bitsets,
                self.roots,
                self.owner,
                self.baselines,
            )
        raw[:, self.logistic] = expit(raw[:, self.logistic])
        return raw


def _learner_columns(learner: Any) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Our column of each of the learner's features, and for its categorical features our
    code -> its category (-1: not seen at its fit).

    With categorical features, HistGradientBoosting puts them first and re-encodes them
    (an OrdinalEncoder over the categories of its own fit)."""
    mask = learner.is_categorical_
    if mask is None:
        return np.arange(learner.n_features_in_), {}
    column = np.concatenate([np.flatnonzero(mask), np.flatnonzero(~mask)])
    encoder = learner._preprocessor.named_transformers_["encoder"]
    categories = {}
    for j, values in enumerate(encoder.categories_):
        values = values[~np.isnan(values)].astype(np.int64)
        encoded = np.full(MISSING, -1, dtype=np.int64)
        encoded[values] = np.arange(values.size)
        categories[j] = encoded
    return column, categories


def _bits(bitset: np.ndarray, encoded: np.ndarray) -> np.ndarray:
    """Which of our codes 0..254 have their learner category in ``bitset``."""
    words = np.asarray(bitset, dtype=np.uint32)
    inside = np.zeros(encoded.size, dtype=bool)
    seen = encoded >= 0
    e = encoded[seen]
    inside[seen] = ((words[e >> 5] >> (e & 31).astype(np.uint32)) & 1) == 1
    return inside


def _pack(inside: np.ndarray) -> np.ndarray:
    """A bitset (8 uint32 words) of the codes where ``inside`` is true."""
    words = np.zeros(8, dtype=np.uint32)
    for code in np.flatnonzero(inside):
        words[code >> 5] |= np.uint32(1) << np.uint32(code & 31)
    return words


@njit(cache=True, inline="always")
def _in_bitset(bitsets: np.ndarray, row: int, code: int) -> bool:
    return ((bitsets[row, code >> 5] >> np.uint32(code & 31)) & np.uint32(1)) == 1


@njit(parallel=True, cache=True, nogil=True)
def _raw_predict(
    codes: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    value: np.ndarray,
    kind: np.ndarray,
    missing_left: np.ndarray,
    row: np.ndarray,
    left_bitsets: np.ndarray,
    known_bitsets: np.ndarray,
    roots: np.ndarray,
    owner: np.ndarray,
    baselines: np.ndarray,
) -> np.ndarray:
    """Raw score of every learner: its baseline plus its trees' leaf values, added in tree
    order (sklearn's order, so the sums are the same to the bit); rows are independent, so
    the result does not depend on the thread count."""
    n = codes.shape[0]
    out = np.empty((n, baselines.size))
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for b in prange(n_blocks):
        lo = b * _BLOCK
        hi = min(n, lo + _BLOCK)
        for i in range(lo, hi):
            for m in range(baselines.size):
                out[i, m] = baselines[m]
        for t in range(roots.size):
            m = owner[t]
            for i in range(lo, hi):
                node = roots[t]
                while kind[node] != 0:
                    code = np.int64(codes[i, feature[node]])
                    if code == MISSING:
                        go_left = missing_left[node]
                    elif kind[node] == 1:
                        go_left = code <= threshold[node]
                    elif _in_bitset(left_bitsets, row[node], code):
                        go_left = True
                    elif _in_bitset(known_bitsets, row[node], code):
                        go_left = False
                    else:  # a category the learner did not see: its missing branch
                        go_left = missing_left[node]
                    node = left[node] if go_left else right[node]
                out[i, m] += value[node]
    return out
