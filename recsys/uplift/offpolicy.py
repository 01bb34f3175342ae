"""Off-policy estimates of a new recommendation policy from logged bandit feedback.

The logs hold, per impression ``i``: the action shown ``a_i`` (an item), its slot
``k_i`` (position), the reward ``r_i`` (click) and the logging policy's propensity
``p_i = π_0(a_i | x_i, k_i)``. The new policy ``π`` gives a probability to every action
at the logged slot. With importance weights ``w_i = π(a_i | x_i, k_i) / p_i``:

* IPS: ``V = (1/n) Σ w_i r_i``, unbiased when ``p_i > 0`` wherever ``π > 0``.
* Self-normalised IPS: ``V = Σ w_i r_i / Σ w_i`` — slightly biased, much less variance.
* Doubly robust: ``V = (1/n) Σ [Σ_a π(a | i) q̂(k_i, a) + w_i (r_i - q̂(k_i, a_i))]``
  with a reward model ``q̂``; unbiased if either the propensities or ``q̂`` are right.

Intervals are normal: ``V ± z s / sqrt(n)`` with ``s`` the standard deviation of the
per-row terms (for SNIPS, of ``w_i (r_i - V) / mean(w)``, the delta method).

Examples
--------
Estimate the uniform-random policy from the Thompson-sampling logs of Open Bandit:

>>> import numpy as np, polars as pl
>>> import recsys as rs
>>> logs = pl.DataFrame({"item_id": [0, 1, 1, 0], "position": [1, 1, 2, 2],
...                      "click": [1, 0, 0, 1], "propensity_score": [0.8, 0.2, 0.5, 0.5]})
>>> uniform = rs.uplift.offpolicy.uniform_policy(logs.height, n_actions=2)
>>> round(rs.uplift.offpolicy.ips(logs, uniform).value, 4)
0.4062
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from scipy import sparse

from recsys._validation import check_probability
from recsys.data.canonical import cast_ids
from recsys.exceptions import InputDataError
from recsys.stats import Estimate, z_value
from recsys.uplift._checks import as_frame, require_columns

__all__ = ["doubly_robust", "ips", "reward_model", "snips", "uniform_policy"]

_TOLERANCE = 1e-6


def uniform_policy(n_rows: int, n_actions: int) -> np.ndarray:
    """The policy that picks each of ``n_actions`` actions with probability ``1 / n_actions``.

    Returns a ``[n_rows, n_actions]`` float64 array.

    Examples
    --------
    >>> uniform_policy(2, 4)[0].tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    if n_rows < 1 or n_actions < 1:
        raise InputDataError(f"n_rows and n_actions must be >= 1, got {n_rows}, {n_actions}")
    return np.full((n_rows, n_actions), 1.0 / n_actions)


class _Logs:
    """Validated logged feedback and the new policy as a CSR matrix rows x actions."""

    def __init__(
        self,
        logs: Any,
        policy: Any,
        action: str,
        position: str | None,
        reward: str,
        propensity: str,
    ) -> None:
        frame = as_frame(logs, "logs")
        require_columns(
            frame,
            "logs",
            {"action": action, "position": position, "reward": reward, "propensity": propensity},
        )
        if frame.height == 0:
            raise InputDataError("logs has no rows")
        for column in (action, reward, propensity) + ((position,) if position else ()):
            if frame[column].null_count():
                raise InputDataError(
                    f"logs column {column!r} has {frame[column].null_count()} null values"
                )
        self.reward = frame[reward].cast(pl.Float64).to_numpy()
        if not np.all(np.isfinite(self.reward)):
            raise InputDataError(f"reward column {reward!r} has NaN or infinite values")
        self.propensity = frame[propensity].cast(pl.Float64).to_numpy()
        bad = ~((self.propensity > 0) & (self.propensity <= 1))
        if np.any(bad):
            raise InputDataError(
                f"propensity column {propensity!r} must be in (0, 1]; {int(bad.sum())} rows are "
                f"not, e.g. {self.propensity[bad][0]!r} at row {int(np.flatnonzero(bad)[0])}"
            )
        self.n = frame.height
        self.position = frame[position].to_numpy() if position else np.zeros(self.n, dtype=np.int64)
        actions = frame[action]
        self.policy, self.action_index = _policy_matrix(policy, actions, self.n, action)
        self.target_prob = np.asarray(self.policy[np.arange(self.n), self.action_index]).ravel()

    def weights(self) -> np.ndarray:
        return self.target_prob / self.propensity


def _policy_matrix(
    policy: Any, actions: pl.Series, n: int, action: str
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """The new policy as CSR ``[n_rows, n_actions]`` and each logged action's column."""
    if isinstance(policy, (pl.DataFrame, pl.LazyFrame)) or hasattr(policy, "columns"):
        frame = as_frame(policy, "policy")
        require_columns(
            frame, "policy", {"row": "row", "action": action, "probability": "probability"}
        )
        chosen = cast_ids(frame[action], actions.dtype, "policy")
        values = pl.concat([actions, chosen]).unique().sort()
        lookup = {v: i for i, v in enumerate(values.to_list())}
        rows = frame["row"].to_numpy()
        if rows.size and (rows.min() < 0 or rows.max() >= n):
            raise InputDataError(f"policy column 'row' must index the {n} log rows (0..{n - 1})")
        cols = np.array([lookup[v] for v in chosen.to_list()], dtype=np.int64)
        probs = frame["probability"].cast(pl.Float64).to_numpy()
        matrix = sparse.csr_matrix((probs, (rows, cols)), shape=(n, len(lookup)))
        matrix.sum_duplicates()
        index = np.array([lookup[v] for v in actions.to_list()], dtype=np.int64)
    else:
        dense = np.asarray(policy, dtype=np.float64)
        if dense.ndim != 2 or dense.shape[0] != n:
            raise InputDataError(
                f"policy must be a [n_rows={n}, n_actions] array of probabilities or a frame "
                f"with columns row, {action}, probability; got shape {dense.shape}"
            )
        if not actions.dtype.is_integer():
            raise InputDataError(
                f"with an array policy, logged action column {action!r} must hold integer "
                f"column indices, got {actions.dtype}"
            )
        index = actions.to_numpy().astype(np.int64)
        if index.min() < 0 or index.max() >= dense.shape[1]:
            raise InputDataError(
                f"logged action {action!r} values must be in [0, {dense.shape[1]}) to index "
                "the policy's columns"
            )
        matrix = sparse.csr_matrix(dense)
        probs = dense.ravel()
    if np.any(~np.isfinite(probs)) or np.any(probs < 0):
        raise InputDataError("policy probabilities must be finite and >= 0")
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    off = np.abs(sums - 1) > _TOLERANCE
    if np.any(off):
        first = int(np.flatnonzero(off)[0])
        raise InputDataError(
            f"policy probabilities must sum to 1 over the actions of each row; {int(off.sum())} "
            f"rows do not, e.g. row {first} sums to {sums[first]:.6g}"
        )
    return matrix.tocsr(), index


def _normal_estimate(terms: np.ndarray, value: float, confidence: float) -> Estimate:
    n = terms.size
    sd = float(np.std(terms, ddof=1)) if n > 1 else 0.0
    half = z_value(confidence) * sd / np.sqrt(n)
    return Estimate(float(value), float(value - half), float(value + half), confidence)


def ips(
    logs: Any,
    policy: Any,
    *,
    action: str = "item_id",
    position: str | None = "position",
    reward: str = "click",
    propensity: str = "propensity_score",
    confidence: float = 0.95,
) -> Estimate:
    """Inverse propensity scoring: ``V = (1/n) Σ π(a_i | i) / p_i · r_i``.

    Parameters
    ----------
    logs
        Frame with the logged ``action``, ``position``, ``reward`` and ``propensity``
        columns (names as in the Open Bandit data by default).
    policy
        The new policy's action probabilities at each logged row: a ``[n_rows,
        n_actions]`` array whose column ``j`` is action ``j`` (logged actions must then be
        integers in ``[0, n_actions)``), or a frame with columns ``row`` (log row index),
        the action column and ``probability`` (actions not listed have probability 0).
        Each row must sum to 1.
    action, position, reward, propensity
        Column names in ``logs``.
    confidence
        Coverage of the normal interval ``V ± z sd(w r) / sqrt(n)``.

    Raises
    ------
    InputDataError
        Missing columns, propensities outside (0, 1], NaN rewards, a policy row not
        summing to 1, negative probabilities, unknown actions.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> logs = pl.DataFrame({"item_id": [0, 1], "position": [1, 1], "click": [1, 0],
    ...                      "propensity_score": [0.5, 0.25]})
    >>> ips(logs, np.array([[1.0, 0.0], [0.5, 0.5]])).value   # (1/2)(2·1 + 2·0)
    1.0
    """
    check_probability("confidence", confidence)
    data = _Logs(logs, policy, action, position, reward, propensity)
    terms = data.weights() * data.reward
    return _normal_estimate(terms, float(terms.mean()), confidence)


def snips(
    logs: Any,
    policy: Any,
    *,
    action: str = "item_id",
    position: str | None = "position",
    reward: str = "click",
    propensity: str = "propensity_score",
    confidence: float = 0.95,
) -> Estimate:
    """Self-normalised IPS: ``V = Σ w_i r_i / Σ w_i`` with ``w_i = π(a_i | i) / p_i``.

    Interval by the delta method: ``V ± z sd(w (r - V)) / (mean(w) sqrt(n))``. Arguments
    as `ips`. If the new policy never takes a logged action (``Σ w = 0``) there is
    nothing to estimate from: InputDataError.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> logs = pl.DataFrame({"item_id": [0, 1], "position": [1, 1], "click": [1, 0],
    ...                      "propensity_score": [0.5, 0.25]})
    >>> snips(logs, np.array([[1.0, 0.0], [0.5, 0.5]])).value   # (2·1 + 2·0) / (2 + 2)
    0.5
    """
    check_probability("confidence", confidence)
    data = _Logs(logs, policy, action, position, reward, propensity)
    w = data.weights()
    if w.sum() == 0:
        raise InputDataError(
            "the new policy gives probability 0 to every logged action: no data to estimate from"
        )
    value = float(np.sum(w * data.reward) / np.sum(w))
    terms = w * (data.reward - value) / w.mean()
    return _normal_estimate(terms, value, confidence)


def reward_model(
    action_index: np.ndarray,
    position: np.ndarray,
    reward: np.ndarray,
    n_actions: int,
    prior_strength: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The simple reward model of `doubly_robust`: mean reward per (position, action).

    ``q̂(k, a) = (R_{k,a} + m r̄_k) / (n_{k,a} + m)`` — the cell mean shrunk toward the
    position's mean ``r̄_k`` with prior strength ``m`` (so unseen cells get ``r̄_k``).
    Returns ``(positions, table)`` with ``table[j, a]`` for ``positions[j]``.

    Examples
    --------
    >>> pos, table = reward_model(np.array([0, 0, 1]), np.array([1, 1, 1]),
    ...                           np.array([1.0, 0.0, 1.0]), 2, prior_strength=1.0)
    >>> table.round(4).tolist()   # r̄ = 2/3: (1 + 2/3) / 3, (1 + 2/3) / 2
    [[0.5556, 0.8333]]
    """
    positions, pos_index = np.unique(position, return_inverse=True)
    k = positions.size
    flat = pos_index * n_actions + action_index
    sums = np.bincount(flat, weights=reward, minlength=k * n_actions).reshape(k, n_actions)
    counts = np.bincount(flat, minlength=k * n_actions).reshape(k, n_actions)
    pos_mean = sums.sum(axis=1) / counts.sum(axis=1)
    table = (sums + prior_strength * pos_mean[:, None]) / (counts + prior_strength)
    return positions, table


def doubly_robust(
    logs: Any,
    policy: Any,
    *,
    action: str = "item_id",
    position: str | None = "position",
    reward: str = "click",
    propensity: str = "propensity_score",
    confidence: float = 0.95,
    prior_strength: float = 10.0,
    n_folds: int = 2,
) -> Estimate:
    """Doubly robust estimate with a per-(position, action) mean-reward model.

    ``V = (1/n) Σ_i [Σ_a π(a | i) q̂(k_i, a) + w_i (r_i - q̂(k_i, a_i))]``, where ``q̂`` is
    `reward_model` fitted by cross-fitting: the rows are split into ``n_folds``
    folds by row number (``i mod n_folds``) and each fold's ``q̂`` is fitted on the other
    folds, so a row's own reward never enters its own model. Interval: ``V ± z sd / sqrt(n)``
    over the per-row terms. Arguments as `ips`.

    Examples
    --------
    Item 0 is always clicked, item 1 never; the new policy always shows item 0:

    >>> import numpy as np, polars as pl
    >>> logs = pl.DataFrame({"item_id": [0, 0, 1, 1] * 2, "position": [1] * 8,
    ...                      "click": [1, 1, 0, 0] * 2, "propensity_score": [0.5] * 8})
    >>> round(doubly_robust(logs, np.tile([1.0, 0.0], (8, 1))).value, 4)
    1.0
    """
    check_probability("confidence", confidence)
    if n_folds < 2:
        raise InputDataError(f"n_folds must be >= 2, got {n_folds}")
    data = _Logs(logs, policy, action, position, reward, propensity)
    n_actions = data.policy.shape[1]
    _, pos_index = np.unique(data.position, return_inverse=True)
    fold = np.arange(data.n) % n_folds
    q_all = np.empty(data.n)  # Σ_a π(a|i) q̂(k_i, a)
    q_logged = np.empty(data.n)  # q̂(k_i, a_i)
    for f in range(n_folds):
        train = fold != f
        test = ~train
        positions, table = reward_model(
            data.action_index[train],
            pos_index[train],
            data.reward[train],
            n_actions,
            prior_strength,
        )
        full = np.full((pos_index.max() + 1, n_actions), data.reward[train].mean())
        full[positions] = table
        rows = full[pos_index[test]]
        q_logged[test] = rows[np.arange(rows.shape[0]), data.action_index[test]]
        q_all[test] = np.asarray(
            data.policy[np.flatnonzero(test)].multiply(rows).sum(axis=1)
        ).ravel()
    terms = q_all + data.weights() * (data.reward - q_logged)
    return _normal_estimate(terms, float(terms.mean()), confidence)
