"""The customer-model convention: parameters, standard errors, safe save and load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import recsys as rs
from recsys._io import checksum
from recsys.exceptions import InputDataError, ModelFormatError, NotFittedError

# Fader, Hardie & Lee (2005), CDNOW: BG/NBD in weeks, Gamma-Gamma (Fader & Hardie 2013)
BGNBD_CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG_CDNOW = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def simulate_bgnbd(n: int, params: dict[str, float], rng: np.random.Generator):
    """The BG/NBD story, vectorised: customers first bought at time 0, observed to T."""
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    drop = rng.beta(params["a"], params["b"], n)
    T = rng.uniform(27.0, 39.0, n)
    x, t_x, t = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        t[idx] += rng.exponential(1.0 / lam[idx])
        ended = t[idx] > T[idx]
        active[idx[ended]] = False
        bought = idx[~ended]
        x[bought] += 1
        t_x[bought] = t[bought]
        active[bought[rng.random(bought.size) < drop[bought]]] = False
    return x, t_x, T


def simulate_gammagamma(n: int, params: dict[str, float], rng: np.random.Generator):
    x = 1.0 + rng.poisson(2.0, n)
    nu = rng.gamma(params["q"], 1.0 / params["gamma"], n)
    z = rng.gamma(params["p"] * x, 1.0 / (nu * x))
    return x, z


def _spread_and_reported(fits: list[rs.profiles.CustomerModel]) -> tuple[np.ndarray, np.ndarray]:
    """The spread of the estimates over the replicates and the median reported standard
    error, both on the log scale (sd of log estimate vs se / estimate, delta method):
    the estimates of positive parameters are skewed."""
    tables = [m.summary() for m in fits]
    estimates = np.array([t["estimate"].to_numpy() for t in tables])
    reported = np.array([(t["std_error"] / t["estimate"]).to_numpy() for t in tables])
    return np.log(estimates).std(axis=0, ddof=1), np.median(reported, axis=0)


def test_bgnbd_standard_errors_match_the_spread_of_simulated_fits() -> None:
    rng = np.random.default_rng(2005)
    fits = [rs.profiles.BGNBD().fit(*simulate_bgnbd(2357, BGNBD_CDNOW, rng)) for _ in range(40)]
    spread, reported = _spread_and_reported(fits)
    # 40 replicates: the sample sd is within about +-25% of the truth
    np.testing.assert_allclose(reported, spread, rtol=0.3)
    # and the estimates centre on the truth
    mean = np.mean([[m.params_[k] for k in BGNBD_CDNOW] for m in fits], axis=0)
    np.testing.assert_allclose(mean, list(BGNBD_CDNOW.values()), rtol=0.15)


def test_gammagamma_standard_errors_match_the_spread_of_simulated_fits() -> None:
    rng = np.random.default_rng(2013)
    fits = [
        rs.profiles.GammaGamma().fit(*simulate_gammagamma(946, GG_CDNOW, rng)) for _ in range(40)
    ]
    spread, reported = _spread_and_reported(fits)
    np.testing.assert_allclose(reported, spread, rtol=0.3)


def test_summary_columns_and_interval() -> None:
    rng = np.random.default_rng(0)
    bg = rs.profiles.BGNBD().fit(*simulate_bgnbd(2000, BGNBD_CDNOW, rng))
    table = bg.summary(confidence=0.9)
    assert table["parameter"].to_list() == ["r", "alpha", "a", "b"]
    half = (table["ci_high"] - table["estimate"]).to_numpy()
    np.testing.assert_allclose(half, 1.6448536269514722 * table["std_error"].to_numpy())
    with pytest.raises(InputDataError, match="confidence"):
        bg.summary(confidence=1.5)


def test_scikit_learn_manners() -> None:
    bg = rs.profiles.BGNBD(penalizer=0.1)
    assert bg.get_params() == {"penalizer": 0.1, "max_iter": 500}
    assert bg.set_params(max_iter=50) is bg
    assert bg.max_iter == 50
    with pytest.raises(InputDataError, match="no parameter 'alpha'"):
        bg.set_params(alpha=1.0)
    assert not bg.is_fitted
    for call in (bg.summary, lambda: bg.save("never.npz")):
        with pytest.raises(NotFittedError):
            call()
    assert not Path("never.npz").exists()
    cal = rs.profiles.ChurnCalibrator()
    with pytest.raises(NotFittedError):
        cal.predict_proba(np.zeros((2, 3)))
    clone = type(bg)(**bg.get_params())
    assert clone.get_params() == bg.get_params()


def _fitted_models() -> dict[str, rs.profiles.CustomerModel]:
    rng = np.random.default_rng(1)
    x, t_x, T = simulate_bgnbd(800, BGNBD_CDNOW, rng)
    xs, z = simulate_gammagamma(300, GG_CDNOW, rng)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + rng.normal(size=400) > 0).astype(float)
    returned = rng.random(300) < 0.6
    return {
        "survival": rs.profiles.OneTimeBuyerSurvival().fit(rng.uniform(0, 90, 300), returned),
        "bgnbd": rs.profiles.BGNBD().fit(x, t_x, T),
        "gammagamma": rs.profiles.GammaGamma(penalizer=0.01).fit(xs, z),
        "churn": rs.profiles.ChurnCalibrator(l2=0.01).fit(X, y),
    }


@pytest.mark.parametrize("name", ["bgnbd", "gammagamma", "churn", "survival"])
def test_save_and_load_round_trip(tmp_path: Path, name: str) -> None:
    model = _fitted_models()[name]
    path = tmp_path / f"{name}.npz"
    model.save(path)
    loaded = rs.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert loaded.summary().equals(model.summary())
    if name == "churn":
        X = np.random.default_rng(5).normal(size=(50, 3))
        assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))  # type: ignore[attr-defined]
    elif name == "survival":
        days = np.arange(0.0, 120.0)
        assert np.array_equal(loaded.survival(days), model.survival(days))  # type: ignore[attr-defined]
    else:
        assert loaded.params_ == model.params_  # type: ignore[attr-defined]


def _resign(path: Path, out: Path, edit_meta=None, edit_arrays=None) -> Path:
    """A crafted file: edited content with a valid checksum."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    meta.pop("checksum")
    if edit_meta:
        edit_meta(meta)
    if edit_arrays:
        edit_arrays(arrays)
    meta["checksum"] = checksum(meta, arrays)
    np.savez(out, __meta__=np.asarray(json.dumps(meta)), **arrays)
    return out


def _set(meta: dict, *keys: str, value: object) -> None:
    node = meta
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value


CRAFTED = {
    "negative parameter": (lambda m: _set(m, "model", "state", "params", "r", value=-1.0), None),
    "nan parameter": (
        lambda m: _set(m, "model", "state", "params", "a", value=float("nan")),
        None,
    ),
    "text parameter": (lambda m: _set(m, "model", "state", "params", "b", value="2.4"), None),
    "missing key": (lambda m: m["model"]["state"]["params"].pop("alpha"), None),
    "bad hyperparameter": (lambda m: _set(m, "model", "params", "max_iter", value="50"), None),
    "null hyperparameter": (lambda m: _set(m, "model", "params", "penalizer", value=None), None),
    "unknown hyperparameter": (lambda m: _set(m, "model", "params", "evil", value=1), None),
    "unknown class": (lambda m: _set(m, "model", "class", value="os.system"), None),
    "bad status": (lambda m: _set(m, "model", "state", "status", value="fine"), None),
    "count as float": (lambda m: _set(m, "model", "state", "n_customers", value=2.5), None),
    "future version": (lambda m: _set(m, "format_version", value=99), None),
    "extra array": (None, lambda a: a.update({"model.extra": np.zeros(2)})),
    "covariance shape": (None, lambda a: a.update({"model.covariance": np.zeros((3, 3))})),
    "covariance as text": (None, lambda a: a.update({"model.covariance": np.array(["x"])})),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_files_are_refused(tmp_path: Path, case: str) -> None:
    path = tmp_path / "bg.npz"
    _fitted_models()["bgnbd"].save(path)
    edit_meta, edit_arrays = CRAFTED[case]
    crafted = _resign(path, tmp_path / "crafted.npz", edit_meta, edit_arrays)
    with pytest.raises(ModelFormatError):
        rs.load_model(crafted)


def test_damaged_and_foreign_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bg.npz"
    _fitted_models()["bgnbd"].save(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError):
        rs.load_model(damaged)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ModelFormatError):
        rs.load_model(truncated)
    with pytest.raises(ModelFormatError, match="no model file"):
        rs.load_model(tmp_path / "missing.npz")
    # unsigned edit: the checksum catches it
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["model.covariance"] = arrays["model.covariance"] * 2
    edited = tmp_path / "edited.npz"
    np.savez(edited, **arrays)
    with pytest.raises(ModelFormatError, match="checksum"):
        rs.load_model(edited)


def test_one_loader_for_customer_and_recommender_files(tmp_path: Path) -> None:
    import polars as pl

    rec = tmp_path / "popular.npz"
    rs.Popular().fit(
        rs.Interactions.from_frame(pl.DataFrame({"user_id": [1], "item_id": [2]}))
    ).save(rec)
    assert type(rs.load_model(rec)) is rs.Popular
    customer = tmp_path / "bg.npz"
    _fitted_models()["bgnbd"].save(customer)
    assert type(rs.load_model(customer)) is rs.profiles.BGNBD
    # a customer model's file dressed as a recommender's (and back) is refused
    as_recommender = _resign(
        customer, tmp_path / "c.npz", lambda m: _set(m, "model", "class", value="Popular")
    )
    with pytest.raises(ModelFormatError):
        rs.load_model(as_recommender)
    as_customer = _resign(
        rec, tmp_path / "r.npz", lambda m: _set(m, "model", "class", value="BGNBD")
    )
    with pytest.raises(ModelFormatError):
        rs.load_model(as_customer)


def test_a_failed_save_leaves_no_file(tmp_path: Path) -> None:
    model = _fitted_models()["bgnbd"]
    model.penalizer = object()  # type: ignore[assignment]
    with pytest.raises(ModelFormatError, match="penalizer"):
        model.save(tmp_path / "bg.npz")
    assert list(tmp_path.iterdir()) == []


def test_items_due_model_round_trip_and_summary(tmp_path: Path, online_retail) -> None:
    import polars as pl

    sample = online_retail.filter(
        pl.col("timestamp").is_between(pl.datetime(2011, 5, 1), pl.datetime(2011, 9, 9))
    )
    model = rs.profiles.DueItems(horizon_days=30, min_calibration_pairs=100).fit(
        sample, as_of="2011-09-09"
    )
    assert model.calibrated_
    assert model.items_.equals(
        rs.due_items(sample, as_of="2011-09-09", horizon_days=30, min_calibration_pairs=100)
    )
    assert model.predict(sample).equals(model.items_)
    table = model.summary()
    assert table["parameter"].to_list() == ["logit_p_raw", "log_n_purchases", "intercept"]
    assert table["std_error"].is_finite().all()
    path = tmp_path / "due.npz"
    model.save(path)
    loaded = rs.load_model(path)
    assert loaded.predict(sample).equals(model.items_)  # type: ignore[attr-defined]
    later = loaded.predict(sample, as_of="2011-10-01")  # type: ignore[attr-defined]
    assert later.height >= model.items_.height
    uncalibrated = rs.profiles.DueItems(calibrate=False).fit(sample, as_of="2011-09-09")
    assert uncalibrated.summary().height == 0
    uncalibrated.save(tmp_path / "raw.npz")
    assert rs.load_model(tmp_path / "raw.npz").predict(sample).equals(uncalibrated.items_)  # type: ignore[attr-defined]


def test_a_fresh_process_loads_a_customer_model(tmp_path: Path) -> None:
    """``recsys`` imports its subpackages lazily: the registry finds customer models."""
    import subprocess
    import sys

    path = tmp_path / "bg.npz"
    _fitted_models()["bgnbd"].save(path)
    code = f"import recsys; print(type(recsys.load_model({str(path)!r})).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "BGNBD"
