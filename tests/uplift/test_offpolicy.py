"""Off-policy estimators: hand examples, unbiasedness on simulated logs, Open Bandit, bad input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys.exceptions import InputDataError
from recsys.uplift import offpolicy as op
from tests.conftest import shared_dataset

LOGS = pl.DataFrame(
    {
        "item_id": [0, 1, 1, 2],
        "position": [1, 1, 2, 2],
        "click": [1, 0, 1, 1],
        "propensity_score": [0.5, 0.25, 0.5, 1.0],
    }
)
POLICY = np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.2, 0.8, 0.0], [0.0, 0.0, 1.0]])


def test_ips_and_snips_hand_worked():
    w = np.array([0.5 / 0.5, 1.0 / 0.25, 0.8 / 0.5, 1.0 / 1.0])
    r = np.array([1, 0, 1, 1])
    ips = op.ips(LOGS, POLICY)
    assert ips.value == pytest.approx(np.mean(w * r))
    half = 1.959963984540054 * np.std(w * r, ddof=1) / 2
    assert ips.ci_low == pytest.approx(ips.value - half)
    sn = op.snips(LOGS, POLICY)
    assert sn.value == pytest.approx(np.sum(w * r) / np.sum(w))


def test_policy_as_row_action_frame_equals_array():
    rows, cols = np.nonzero(POLICY)
    frame = pl.DataFrame({"row": rows, "item_id": cols, "probability": POLICY[rows, cols]})
    assert op.ips(LOGS, frame) == op.ips(LOGS, POLICY)
    assert op.doubly_robust(LOGS, frame) == op.doubly_robust(LOGS, POLICY)
    # string actions work with a frame policy
    logs = LOGS.with_columns(pl.col("item_id").cast(pl.String))
    frame_s = frame.with_columns(pl.col("item_id").cast(pl.String))
    assert op.ips(logs, frame_s).value == pytest.approx(op.ips(LOGS, POLICY).value)


def test_reward_model_hand_worked():
    positions, table = op.reward_model(
        np.array([0, 0, 1, 1]), np.array([1, 1, 1, 2]), np.array([1.0, 0.0, 1.0, 0.0]), 2, 2.0
    )
    assert positions.tolist() == [1, 2]
    # position 1: mean 2/3; cell (1, 0): (1 + 2·2/3) / (2 + 2); cell (1, 1): (1 + 4/3) / 3
    assert table[0].tolist() == pytest.approx([(1 + 4 / 3) / 4, (1 + 4 / 3) / 3])
    assert table[1].tolist() == pytest.approx([0.0, 0.0])


def _simulate(rng, n, n_actions=5, n_positions=3):
    """Logs from a non-uniform logging policy; click prob depends on (position, action)."""
    q = np.linspace(0.02, 0.2, n_actions)[None, :] * np.array([1.0, 0.7, 0.5])[:, None]
    logging = np.linspace(1, 3, n_actions)
    logging = logging / logging.sum()
    position = rng.integers(0, n_positions, n)
    action = rng.choice(n_actions, n, p=logging)
    click = (rng.random(n) < q[position, action]).astype(np.int64)
    logs = pl.DataFrame(
        {
            "item_id": action,
            "position": position,
            "click": click,
            "propensity_score": logging[action],
        }
    )
    target = np.linspace(3, 1, n_actions) ** 2
    target = target / target.sum()
    true_value = float(np.mean(q @ target))  # positions are uniform
    return logs, np.tile(target, (n, 1)), true_value


def test_estimators_unbiased_on_simulated_logs():
    rng = np.random.default_rng(0)
    reps, n = 300, 3000
    est = {"ips": [], "snips": [], "dr": []}
    covered = {"ips": 0, "dr": 0}
    truth = 0.0
    for _ in range(reps):
        logs, policy, truth = _simulate(rng, n)
        for name, fn in (("ips", op.ips), ("snips", op.snips), ("dr", op.doubly_robust)):
            e = fn(logs, policy)
            est[name].append(e.value)
            if name in covered:
                covered[name] += e.ci_low <= truth <= e.ci_high
    for name, values in est.items():
        values = np.asarray(values)
        se = values.std(ddof=1) / np.sqrt(reps)
        assert abs(values.mean() - truth) < 3.5 * se, (name, values.mean(), truth, se)
    assert np.std(est["dr"]) < np.std(est["ips"])  # the reward model removes variance
    for name, hits in covered.items():
        assert 0.91 <= hits / reps <= 0.98, (name, hits / reps)


def test_open_bandit_uniform_policy_from_bts_logs():
    """IPS on the Thompson-sampling logs recovers the click rate of the random logs."""
    bts = shared_dataset("open_bandit_bts_all")
    observed = shared_dataset("open_bandit_random_all")["click"].mean()
    uniform = op.uniform_policy(bts.height, 80)
    for fn in (op.ips, op.snips, op.doubly_robust):
        est = fn(bts, uniform)
        assert est.ci_low <= observed <= est.ci_high, (fn.__name__, est, observed)


def test_bad_input_is_named():
    with pytest.raises(InputDataError, match=r"propensity.*\(0, 1\]"):
        op.ips(LOGS.with_columns(propensity_score=pl.lit(0.0)), POLICY)
    with pytest.raises(InputDataError, match=r"\(0, 1\]"):
        op.ips(LOGS.with_columns(propensity_score=pl.lit(1.5)), POLICY)
    with pytest.raises(InputDataError, match="sum to 1"):
        op.ips(LOGS, POLICY * 0.9)
    bad = POLICY.copy()
    bad[0] = [1.5, -0.5, 0.0]
    with pytest.raises(InputDataError, match=">= 0"):
        op.ips(LOGS, bad)
    with pytest.raises(InputDataError, match="shape"):
        op.ips(LOGS, POLICY[:2])
    with pytest.raises(InputDataError, match="no column 'click'"):
        op.ips(LOGS.drop("click"), POLICY)
    with pytest.raises(InputDataError, match="NaN"):
        op.ips(LOGS.with_columns(click=pl.lit(float("nan"))), POLICY)
    with pytest.raises(InputDataError, match=r"in \[0, 2\)"):
        op.ips(LOGS, POLICY[:, :2] / POLICY[:, :2].sum(1, keepdims=True).clip(1e-9))
    with pytest.raises(InputDataError, match="probability 0 to every logged action"):
        op.snips(LOGS.with_columns(item_id=pl.lit(2)), np.tile([1.0, 0, 0], (4, 1)))


def test_policy_actions_of_another_type_match_exactly_or_are_refused():
    rows, cols = np.nonzero(POLICY)
    frame = pl.DataFrame({"row": rows, "item_id": cols, "probability": POLICY[rows, cols]})
    as_float = frame.with_columns(pl.col("item_id").cast(pl.Float64))
    assert op.ips(LOGS, as_float) == op.ips(LOGS, frame)  # 1.0 is action 1
    fractional = frame.with_columns((pl.col("item_id") + 0.5).alias("item_id"))
    with pytest.raises(InputDataError, match="policy"):  # 1.5 is not action 1
        op.ips(LOGS, fractional)
    with pytest.raises(InputDataError, match="policy"):
        op.ips(LOGS, frame.with_columns(pl.lit("x").alias("item_id")))
