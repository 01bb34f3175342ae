"""Deterministic balanced assignment: stability, balance within strata, SRM, bad input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import recsys as rs
from recsys.exceptions import DataWarning, InputDataError
from recsys.uplift.assignment import unit_hash


def _customers(n: int = 2003) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {
            "user_id": np.arange(10_000, 10_000 + n),
            "lifecycle_stage": [
                [None, "new", "active", "dormant"][i] for i in rng.integers(0, 4, size=n)
            ],
        }
    )


def test_hash_is_stable_blake2b() -> None:
    import hashlib

    expected = int.from_bytes(hashlib.blake2b(b"exp:3:42", digest_size=8).digest(), "big")
    assert unit_hash(42, "exp", 3) == expected


def test_balanced_within_strata_and_order_independent() -> None:
    customers = _customers()
    arms = {"treatment": 0.7, "control": 0.2, "other": 0.1}
    a = rs.uplift.assign(customers, arms, strata="lifecycle_stage", seed=7, experiment="x")
    assert a.columns[-2:] == ["arm", "hash_unit"]
    assert a["user_id"].equals(customers["user_id"])  # input row order kept
    sizes = a.group_by("lifecycle_stage").len()
    counts = a.group_by("lifecycle_stage", "arm").len()
    for stage, n in sizes.iter_rows():
        for name, w in arms.items():
            got = counts.filter(
                pl.col("lifecycle_stage").eq_missing(stage) & (pl.col("arm") == name)
            )["len"]
            assert abs((got[0] if got.len() else 0) - n * w) <= 1
    shuffled = customers.sample(fraction=1.0, shuffle=True, seed=3)
    b = rs.uplift.assign(shuffled, arms, strata="lifecycle_stage", seed=7, experiment="x")
    joined = a.join(b, on="user_id", suffix="_b")
    assert (joined["arm"] == joined["arm_b"]).all()
    c = rs.uplift.assign(customers, arms, strata="lifecycle_stage", seed=8, experiment="x")
    assert not (c["arm"] == a["arm"]).all()


def test_hash_method_depends_on_the_unit_only() -> None:
    customers = _customers()
    a = rs.uplift.assign(customers, seed=1, experiment="e", method="hash")
    b = rs.uplift.assign(customers.head(500), seed=1, experiment="e", method="hash")
    assert a.head(500)["arm"].equals(b["arm"])
    share = (a["arm"] == "control").mean()
    assert 0.07 < share < 0.13
    ids = rs.uplift.assign(customers["user_id"].to_list(), seed=1, experiment="e", method="hash")
    assert ids["arm"].equals(a["arm"])


def test_srm_warning_on_a_broken_split(monkeypatch: pytest.MonkeyPatch) -> None:
    import recsys.uplift.assignment as mod

    monkeypatch.setattr(mod, "unit_hash", lambda u, e, s: 0)  # everyone hashes to 0
    with pytest.warns(DataWarning, match="sample-ratio mismatch"):
        out = mod.assign(
            pl.DataFrame({"user_id": range(1000)}), {"a": 0.5, "b": 0.5}, method="hash"
        )
    assert (out["arm"] == "a").all()


def test_bad_input() -> None:
    customers = _customers(50)
    with pytest.raises(InputDataError, match="sum to 1"):
        rs.uplift.assign(customers, {"t": 0.8, "c": 0.1})
    with pytest.raises(InputDataError, match="at least 2"):
        rs.uplift.assign(customers, {"t": 1.0})
    with pytest.raises(InputDataError, match="> 0"):
        rs.uplift.assign(customers, {"t": 1.2, "c": -0.2})
    with pytest.raises(InputDataError, match="more than once"):
        rs.uplift.assign(pl.concat([customers, customers.head(1)]))
    with pytest.raises(InputDataError, match="strata"):
        rs.uplift.assign(customers, strata="tier")


WEIGHTS = [
    {"treatment": 0.5, "control": 0.5},
    {"treatment": 0.9, "control": 0.1},
    {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3},
]


@pytest.mark.parametrize("arms", WEIGHTS, ids=["50-50", "90-10", "thirds"])
def test_balanced_is_proportional_in_expectation_for_every_stratum_size(arms) -> None:
    """Small strata too: each arm gets n * w customers on average over seeds.

    60 strata of each size 1, 2, 3 and 7 per run, 30 seeds. The tolerance is 5
    binomial standard deviations of the count (an upper bound: balanced counts
    vary less than independent draws). Before the remainder was randomised,
    one-customer strata at 50/50 all went to the same arm.
    """
    sizes = (1, 2, 3, 7)
    per_size, seeds = 60, 30
    labels = [f"{s}-{i}" for s in sizes for i in range(per_size) for _ in range(s)]
    units = pl.DataFrame({"user_id": np.arange(len(labels)), "stratum": labels})
    totals = {(s, a): 0 for s in sizes for a in arms}
    for seed in range(seeds):
        out = rs.uplift.assign(units, arms, strata="stratum", seed=seed, experiment="small")
        per_stratum = out.group_by("stratum", "arm").len()
        for stratum, arm, n in per_stratum.iter_rows():
            size = int(stratum.split("-")[0])
            totals[size, arm] += n
            assert abs(n - size * arms[arm]) < 1  # floor or ceiling of n * w, every time
    for (size, arm), got in totals.items():
        n = size * per_size * seeds
        w = arms[arm]
        assert abs(got - n * w) <= 5 * np.sqrt(n * w * (1 - w)), (size, arm, got, n * w)


def test_balanced_remainders_are_seeded_and_order_free() -> None:
    units = pl.DataFrame({"user_id": range(9), "stratum": [str(i // 3) for i in range(9)]})
    arms = {"t": 0.5, "c": 0.5}
    a = rs.uplift.assign(units, arms, strata="stratum", seed=4, experiment="e")
    b = rs.uplift.assign(units.reverse(), arms, strata="stratum", seed=4, experiment="e")
    assert a.sort("user_id")["arm"].equals(b.sort("user_id")["arm"])
    runs = {
        tuple(rs.uplift.assign(units, arms, strata="stratum", seed=s)["arm"]) for s in range(20)
    }
    assert len(runs) > 1


@pytest.mark.parametrize(
    "arms",
    [
        {"t": "0.5", "c": 0.5},
        {"t": "half", "c": 0.5},
        {"t": None, "c": 1.0},
        {"t": 0, "c": 1.0},
        {"t": -0.5, "c": 1.5},
        {"t": True, "c": 0.0},
        {"t": 0.5, "c": 0.6},
        {"t": float("nan"), "c": 0.5},
        {"t": [0.5], "c": 0.5},
    ],
)
def test_bad_weights_are_typed_errors(arms) -> None:
    with pytest.raises(InputDataError, match="arms"):
        rs.uplift.assign(_customers(10), arms)


def test_empty_and_list_typed_strata() -> None:
    empty = _customers(0)
    out = rs.uplift.assign(empty, strata="lifecycle_stage")
    assert out.height == 0
    assert out.columns[-2:] == ["arm", "hash_unit"]
    listed = pl.DataFrame({"user_id": [1, 2], "tags": [["a"], ["b", "c"]]})
    with pytest.raises(InputDataError, match="tags"):
        rs.uplift.assign(listed, strata="tags")
    with pytest.raises(InputDataError, match="tags"):
        rs.uplift.assign(listed, unit="tags")


@pytest.mark.parametrize(
    ("units", "kwargs", "named"),
    [
        ([1, "a"], {}, "one type"),
        (None, {}, "units"),
        (5, {}, "units"),
        ("abc", {}, "units"),
        ([1, 2], {"seed": "x"}, "seed"),
        ([1, 2], {"seed": None}, "seed"),
        ([1, 2], {"seed": 1.5}, "seed"),
        ([1, 2], {"experiment": 5}, "experiment"),
        ([1, 2], {"unit": None}, "unit"),
    ],
)
def test_bad_units_and_salts_are_typed_errors(units, kwargs, named: str) -> None:
    with pytest.raises(InputDataError, match=named):
        rs.uplift.assign(units, {"a": 0.5, "b": 0.5}, **kwargs)
