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
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic
from scipy.special import expit

from recsys._threads import thread_limits

__all__ = ["MAX_LEAVES", "MISSING", "Bins", "Constant", "Forest"]

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

    def transform(self, x: np.ndarray, num_threads: int = 1) -> np.ndarray:
        """uint8 codes: the bin of each value (``x <= threshold``), `MISSING` for NaN."""
        # Thresholds padded with +inf to 255 (features are finite): a fixed 8-step search.
        padded = np.full((x.shape[1], _MAX_BINS), np.inf)
        categorical = np.zeros(x.shape[1], dtype=np.bool_)
        for j, thresholds in enumerate(self.thresholds):
            if thresholds is None:  # category codes 0..254 (FeatureEncoder caps them)
                categorical[j] = True
            else:
                padded[j, : thresholds.size] = thresholds
        with thread_limits(num_threads):
            return _bin(np.asarray(x, dtype=np.float64), padded, categorical)


@njit(parallel=True, cache=True, nogil=True)
def _bin(x: np.ndarray, padded: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    """The number of each feature's thresholds below each value (``np.searchsorted``,
    side left), by a branch-free binary search; rows are independent."""
    n, n_features = x.shape
    codes = np.empty((n, n_features), dtype=np.uint8)
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        for i in range(b * _BLOCK, min(n, (b + 1) * _BLOCK)):
            for j in range(n_features):
                value = x[i, j]
                if np.isnan(value):
                    codes[i, j] = MISSING
                elif categorical[j]:
                    codes[i, j] = np.uint8(value)
                else:
                    row = padded[j]
                    position = 0
                    step = 128
                    while step > 0:
                        position += step * (row[position + step - 1] < value)
                        step //= 2
                    codes[i, j] = position
    return codes


def learner_input(codes: np.ndarray) -> np.ndarray:
    """The codes as the learner's float input (missing as NaN)."""
    x = codes.astype(np.float64)
    x[codes == MISSING] = np.nan
    return x


@dataclass
class Forest:
    """The trees of several learners, as per-feature leaf masks for `predict`.

    Each tree (at most 64 leaves, numbered left to right) becomes, for each feature it
    splits on, a table over the 256 codes of the leaves a row with that code can still
    reach: a split that sends the code right rules out the leaves of its left subtree. The
    leaf a row reaches is the first leaf left in the AND of its features' entries (the
    QuickScorer scheme of Lucchese et al. 2015), so a tree costs one lookup per feature
    it uses instead of a walk of unpredictable branches.
    """

    feature: np.ndarray  # column of each (tree, feature) table
    tables: np.ndarray  # [n_tables, 256] uint64 leaf masks
    table_start: np.ndarray  # tree t's tables: table_start[t]:table_start[t + 1]
    leaf_value: np.ndarray
    leaf_start: np.ndarray
    owner: np.ndarray  # the learner of each tree
    baselines: np.ndarray
    logistic: np.ndarray

    @classmethod
    def compile(cls, learners: Sequence[Any]) -> Forest:
        """Flatten fitted `HistGradientBoosting{Classifier,Regressor}` s and `Constant` s."""
        features: list[int] = []
        tables: list[np.ndarray] = []
        table_start, leaf_values, leaf_start, owner = [0], [], [0], []
        baselines, logistic = [], []
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
                leaves, splits, masks = _leaf_order(nodes)
                go_right = np.empty((splits.size, 256), dtype=bool)
                # code c goes left iff c <= num_threshold (a midpoint between codes)
                go_right[:, :MISSING] = np.arange(MISSING) > nodes["num_threshold"][splits, None]
                go_right[:, MISSING] = ~nodes["missing_go_to_left"][splits].astype(bool)
                for s in np.flatnonzero(nodes["is_categorical"][splits]):
                    node = nodes[splits[s]]
                    j = int(node["feature_idx"])
                    encoded = categories[j]  # our code -> its category, -1 unseen
                    in_left = _bits(tree.raw_left_cat_bitsets[node["bitset_idx"]], encoded)
                    seen = _bits(known[f_idx_map[j]], encoded)
                    go_right[s, :MISSING] = ~np.where(
                        seen, in_left, bool(node["missing_go_to_left"])
                    )
                ruled_out = np.where(go_right, masks[:, None], np.uint64(0))
                split_column = column[nodes["feature_idx"][splits].astype(np.int64)]
                for f in np.unique(split_column):
                    features.append(int(f))
                    tables.append(~np.bitwise_or.reduce(ruled_out[split_column == f], axis=0))
                table_start.append(len(tables))
                leaf_values.append(nodes["value"][leaves].astype(np.float64))
                leaf_start.append(leaf_start[-1] + len(leaves))
                owner.append(m)
        return cls(
            feature=np.asarray(features, dtype=np.int64),
            tables=np.stack(tables) if tables else np.zeros((0, 256), dtype=np.uint64),
            table_start=np.asarray(table_start, dtype=np.int64),
            leaf_value=np.concatenate(leaf_values) if leaf_values else np.empty(0),
            leaf_start=np.asarray(leaf_start, dtype=np.int64),
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
                self.tables,
                self.table_start,
                self.leaf_value,
                self.leaf_start,
                self.owner,
                self.baselines,
            )
        raw[:, self.logistic] = expit(raw[:, self.logistic])
        return raw


MAX_LEAVES = 64  # leaves of a tree in one uint64 mask


def _leaf_order(nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tree's leaves left to right, its split nodes, and each split's uint64 mask of
    the leaves of its left subtree (leaves numbered left to right).

    scikit-learn stores a tree's nodes in pre-order, left subtree first (checked): a
    split's left subtree is the nodes ``left .. right - 1`` and the leaves in node order
    are the leaves from left to right."""
    is_leaf = nodes["is_leaf"].astype(bool)
    leaves = np.flatnonzero(is_leaf)
    if leaves.size > MAX_LEAVES:
        raise ValueError(f"a tree has {leaves.size} leaves; at most {MAX_LEAVES} are supported")
    splits = np.flatnonzero(~is_leaf)
    left = nodes["left"][splits].astype(np.int64)
    right = nodes["right"][splits].astype(np.int64)
    if not (np.array_equal(left, splits + 1) and np.all(right > left)):
        raise ValueError("the tree's nodes are not in pre-order; this scikit-learn is unknown")
    before = np.concatenate([[0], np.cumsum(is_leaf)])  # leaves before each node
    first, middle = before[left], before[right]
    ones = (np.uint64(1) << (middle - first).astype(np.uint64)) - np.uint64(1)
    return leaves, splits, ones << first.astype(np.uint64)


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


@intrinsic
def _lowest_bit(typingctx: Any, bits: Any) -> Any:
    """The index of the lowest set bit of a nonzero uint64 (one ``tzcnt`` instruction)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.cttz(args[0], cgutils.true_bit)

    return types.uint64(types.uint64), codegen


@njit(parallel=True, cache=True, nogil=True)
def _raw_predict(
    codes: np.ndarray,
    feature: np.ndarray,
    tables: np.ndarray,
    table_start: np.ndarray,
    leaf_value: np.ndarray,
    leaf_start: np.ndarray,
    owner: np.ndarray,
    baselines: np.ndarray,
) -> np.ndarray:
    """Raw score of every learner: its baseline plus its trees' leaf values, added in tree
    order (sklearn's order, so the sums are the same to the bit); rows are independent, so
    the result does not depend on the thread count.

    Per block of rows, the codes are transposed (one feature's codes contiguous) and each
    tree is applied to the whole block one table at a time: independent iterations, no
    branches (measured 3x faster than walking each row through a tree's tables).
    """
    n, n_features = codes.shape
    out = np.empty((n, baselines.size))
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for b in prange(n_blocks):
        lo = b * _BLOCK
        size = min(n, lo + _BLOCK) - lo
        block = np.empty((n_features, _BLOCK), dtype=np.uint8)
        for i in range(size):
            for f in range(n_features):
                block[f, i] = codes[lo + i, f]
        total = np.empty((baselines.size, _BLOCK))
        for m in range(baselines.size):
            total[m, :size] = baselines[m]
        mask = np.empty(_BLOCK, dtype=np.uint64)
        for t in range(owner.size):
            m = owner[t]
            first = leaf_start[t]
            start, end = table_start[t], table_start[t + 1]
            if start == end:  # a tree of one leaf
                for i in range(size):
                    total[m, i] += leaf_value[first]
                continue
            column = block[feature[start]]
            table = tables[start]
            for i in range(size):
                mask[i] = table[column[i]]
            for k in range(start + 1, end):
                column = block[feature[k]]
                table = tables[k]
                for i in range(size):
                    mask[i] &= table[column[i]]
            for i in range(size):
                total[m, i] += leaf_value[first + _lowest_bit(mask[i])]  # type: ignore[call-arg]
        for i in range(size):
            for m in range(baselines.size):
                out[lo + i, m] = total[m, i]
    return out
