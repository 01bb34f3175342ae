"""Uplift models: known-truth accuracy, the peer (causalml), speed, and the Hillstrom experiment.

Usage::

    python benchmarks/bench_uplift_models.py --threads 2               # full figures
    python benchmarks/bench_uplift_models.py --threads 2 --quick       # small, to check it runs
    python benchmarks/bench_uplift_models.py --threads 2 --n-speed 1000000

Figures:

1. Known truth (the simulation of ``tests/uplift/_simulate.py``: baseline non-linear in
   x1, x2; effect linear in x3, negative for a sixth of the customers; a churn risk that
   follows the baseline, not the effect), 0/1 and continuous outcomes, 50/50 and 90/10
   arms. Per learner (default folds: 5 below 100,000 customers in the smaller arm): PEHE
   (root mean squared error of the effect) out-of-fold on the training customers and on
   fresh customers, and the regret of the plan that treats the
   third of the fresh customers with the highest predicted effect, against the oracle plan
   (the true effects), with targeting by churn risk and at random for reference.
   Peer: causalml's BaseT/BaseX/BaseDR learners with the same base learner (scikit-learn
   HistGradientBoosting, the same hyperparameters) and the known propensity, fitted on the
   same customers and scored on the same fresh customers (causalml does not cross-fit).
2. The base learner: a T-learner with HistGradientBoosting against LightGBM (100 trees
   of 15 leaves, 100 customers per leaf, learning rate 0.1, L2 1, no early stopping),
   PEHE and fit + predict time (LightGBM only if importable).
3. Speed: fit + predict of each learner at ``--n-speed`` customers, ours (cross-fitted
   with the default folds, 2 from 100,000 customers in the smaller arm: fit, out-of-fold
   scores, then ``predict`` on the same customers as if new) and causalml's (no
   cross-fitting: fit, predict), same thread count. Ours fits
   `recsys.uplift._learner`'s HistGradientBoosting classes (the stock trees, bit for bit,
   without re-binning the codes by sorting and without the recorded training loss);
   causalml the stock classes, or with ``--peer-learner recsys`` ours (on its float
   features only the training-loss saving applies). X and DR get the known propensity
   (the treated share) on both sides; T needs none.
4. Hillstrom (``/work/shared/data/hillstrom/``, read in place): for each e-mail against
   No E-Mail, an X-learner of ``visit`` fitted on one half, its Qini on the other half
   with a bootstrap interval; then the plan on ``spend`` (margin 30%, $0.10 per e-mail)
   against e-mail all / none / random / by history (CLV proxy) / by recency (churn-risk
   proxy), IPS and DR with intervals.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import recsys as rs
from benchmarks._common import print_environment
from recsys.uplift.models import DEFAULT_LEARNER
from tests.uplift._simulate import simulate

HILLSTROM = Path("/work/shared/data/hillstrom/hillstrom.csv.gz")
FEATURES = ["x1", "x2", "x3", "x4"]
METHODS = ("t", "x", "dr")


PEER_LEARNER = {"name": "stock"}  # --peer-learner


def _hgb(classify: bool):
    if PEER_LEARNER["name"] == "recsys":
        from recsys.uplift._learner import Classifier, Regressor

        return (Classifier if classify else Regressor)(**DEFAULT_LEARNER, random_state=0)
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
    return cls(**DEFAULT_LEARNER, random_state=0)


def _causalml(method: str, binary: bool):
    from causalml.inference.meta import (
        BaseDRRegressor,
        BaseTClassifier,
        BaseTRegressor,
        BaseXClassifier,
        BaseXRegressor,
    )

    if method == "t":
        return BaseTClassifier(learner=_hgb(True)) if binary else BaseTRegressor(_hgb(False))
    if method == "x":
        if binary:
            return BaseXClassifier(outcome_learner=_hgb(True), effect_learner=_hgb(False))
        return BaseXRegressor(_hgb(False))
    return BaseDRRegressor(learner=_hgb(False))


def _causalml_fit_predict(method, binary, x, t, y, x_new, share):
    model = _causalml(method, binary)
    p = np.full(t.size, share)
    kwargs = {} if method == "t" else {"p": p}
    # causalml's DR-learner draws its own folds; seeded, so the peer reproduces too
    seed = {"seed": 0} if method == "dr" else {}
    model.fit(X=x, treatment=t, y=y, **kwargs, **seed)  # control_name=0
    kwargs = {} if method == "t" else {"p": np.full(x_new.shape[0], share)}
    return np.asarray(model.predict(X=x_new, **kwargs)).ravel()


def _regret(score: np.ndarray, tau: np.ndarray) -> float:
    m = tau.size // 3
    oracle = np.sort(tau)[::-1][:m].sum()
    return float((oracle - tau[np.argsort(-score, kind="stable")[:m]].sum()) / oracle)


def _pehe(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def known_truth(n: int, n_new: int, threads: int, peer: bool, folds: int | None) -> None:
    print(f"\n== 1. known truth: {n:,} training customers, {n_new:,} fresh ones ==")
    print(
        "outcome | arms | learner | PEHE oof | PEHE fresh | regret fresh | peer PEHE | peer regret"
    )
    for binary in (True, False):
        for share in (0.5, 0.9):
            frame, tau = simulate(n, share, binary=binary, seed=1)
            fresh, tau_new = simulate(n_new, share, binary=binary, seed=2)
            label = f"{'0/1' if binary else 'continuous'} | {share:.0%}/{1 - share:.0%}"
            print(
                f"{label} | sd(tau) {tau_new.std():.4f} | churn-risk regret "
                f"{_regret(fresh['churn_risk'].to_numpy(), tau_new):.3f} | random regret "
                f"{_regret(np.random.default_rng(0).random(n_new), tau_new):.3f}"
            )
            t = (frame["arm"] == "offer").to_numpy().astype(np.int64)
            for method in METHODS:
                model = rs.uplift.UpliftModel(
                    method, n_folds=folds, num_threads=threads, random_state=0
                )
                oof = model.fit_predict(
                    frame.select("user_id", "arm", "outcome"),
                    frame.select("user_id", *FEATURES),
                    treatment="arm",
                    outcome="outcome",
                    control="control",
                )["uplift"].to_numpy()
                new = model.predict(fresh.select("user_id", *FEATURES))["uplift"].to_numpy()
                row = (
                    f"{label} | {method} ({model.n_folds_} folds) | {_pehe(oof, tau):.4f} | "
                    f"{_pehe(new, tau_new):.4f} | {_regret(new, tau_new):.3f}"
                )
                if peer:
                    with threadpool_limits(threads, user_api="openmp"):
                        theirs = _causalml_fit_predict(
                            method,
                            binary,
                            frame.select(FEATURES).to_numpy(),
                            t,
                            frame["outcome"].to_numpy(),
                            fresh.select(FEATURES).to_numpy(),
                            float(t.mean()),
                        )
                    row += f" | {_pehe(theirs, tau_new):.4f} | {_regret(theirs, tau_new):.3f}"
                print(row, flush=True)


def base_learners(n: int, threads: int) -> None:
    print(f"\n== 2. base learner of a T-learner, 0/1 outcome, {n:,} customers ==")
    frame, _ = simulate(n, 0.5, binary=True, seed=1)
    fresh, tau_new = simulate(50_000, 0.5, binary=True, seed=2)
    x, x_new = frame.select(FEATURES).to_numpy(), fresh.select(FEATURES).to_numpy()
    t, y = (frame["arm"] == "offer").to_numpy(), frame["outcome"].to_numpy()
    from sklearn.ensemble import HistGradientBoostingClassifier

    # Both with 100 trees of 15 leaves, no early stopping: the engines, not a stopping rule.
    fixed = {**DEFAULT_LEARNER, "max_iter": 100, "early_stopping": False}
    fixed.pop("validation_fraction")
    fixed.pop("n_iter_no_change")
    makers = {
        "HistGradientBoosting": lambda: HistGradientBoostingClassifier(**fixed, random_state=0)
    }
    try:
        import lightgbm

        makers["LightGBM " + lightgbm.__version__] = lambda: lightgbm.LGBMClassifier(
            n_estimators=100,
            learning_rate=0.1,
            num_leaves=15,
            min_child_samples=100,
            reg_lambda=1.0,
            num_threads=threads,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
            random_state=0,
        )
    except ImportError:
        print("LightGBM not importable: not compared")
    for name, make in makers.items():
        start = time.perf_counter()
        with threadpool_limits(threads, user_api="openmp"):
            m1, m0 = make().fit(x[t], y[t]), make().fit(x[~t], y[~t])
            est = m1.predict_proba(x_new)[:, 1] - m0.predict_proba(x_new)[:, 1]
        elapsed = time.perf_counter() - start
        print(f"{name}: PEHE {_pehe(est, tau_new):.4f}, fit+predict {elapsed:.2f} s")


def speed(n: int, threads: int, peer: bool, folds: int | None) -> None:
    print(
        f"\n== 3. fit + predict at {n:,} customers (0/1 outcome, 50/50), {threads} threads, "
        f"causalml's learner classes: {PEER_LEARNER['name']} =="
    )
    frame, _ = simulate(n, 0.5, binary=True, seed=3)
    data, feats = frame.select("user_id", "arm", "outcome"), frame.select("user_id", *FEATURES)
    x = feats.select(FEATURES).to_numpy()
    t = (frame["arm"] == "offer").to_numpy().astype(np.int64)
    # Imports and compiled kernels loaded before the clocks start, for both sides.
    warm = frame.head(2000)
    rs.uplift.UpliftModel("t", num_threads=threads, learner_params={"max_iter": 2}).fit(
        warm.select("user_id", "arm", "outcome", *FEATURES),
        treatment="arm",
        outcome="outcome",
        control="control",
    ).predict(warm.select("user_id", *FEATURES))
    if peer:
        _causalml("t", True)
    # Wall time and this process's CPU time: on a shared machine the CPU time is the work.
    # Each side: fit (ours: with the out-of-fold scores), then predict on all customers.
    for method in METHODS:
        clock = _Clock()
        model = rs.uplift.UpliftModel(method, n_folds=folds, num_threads=threads, random_state=0)
        model.fit(data, feats, treatment="arm", outcome="outcome", control="control")
        fit = clock.lap()
        model.predict(feats)
        pred = clock.lap()
        ours = (fit[0] + pred[0], fit[1] + pred[1])
        row = (
            f"{method}: recsys ({model.n_folds_}-fold cross-fit) fit + oof {fit[0]:.1f} s, "
            f"predict {pred[0]:.1f} s, total {ours[0]:.1f} s (CPU {ours[1]:.1f} s)"
        )
        if peer:
            clock = _Clock()
            with threadpool_limits(threads, user_api="openmp"):
                model = _causalml(method, True)
                kwargs = {} if method == "t" else {"p": np.full(n, 0.5)}
                seed = {"seed": 0} if method == "dr" else {}
                model.fit(X=x, treatment=t, y=frame["outcome"].to_numpy(), **kwargs, **seed)
                fit = clock.lap()
                model.predict(X=x, **kwargs)
                pred = clock.lap()
            theirs = (fit[0] + pred[0], fit[1] + pred[1])
            row += (
                f" | causalml (no cross-fit) fit {fit[0]:.1f} s, predict {pred[0]:.1f} s, "
                f"total {theirs[0]:.1f} s (CPU {theirs[1]:.1f} s) | causalml / recsys: "
                f"wall {theirs[0] / ours[0]:.2f}x, CPU {theirs[1] / ours[1]:.2f}x"
            )
        print(row, flush=True)


class _Clock:
    """Wall and process CPU seconds since the last lap."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return out


def hillstrom(threads: int, bootstrap: int) -> None:
    print(f"\n== 4. Hillstrom e-mail experiment ({HILLSTROM}) ==")
    raw = pl.read_csv(HILLSTROM, infer_schema_length=None).with_row_index("user_id")
    features = raw.select(
        "user_id", "recency", "history", "mens", "womens", "zip_code", "newbie", "channel"
    )
    half = np.random.default_rng(0).random(raw.height) < 0.5
    train, test = raw.filter(pl.Series(half)), raw.filter(pl.Series(~half))
    for arm in ("Womens E-Mail", "Mens E-Mail"):
        kwargs = {"treatment": "segment", "control": "No E-Mail", "arm": arm}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the text columns' category encoding, reported once
            visit = rs.uplift.UpliftModel("x", num_threads=threads).fit(
                train, features, outcome="visit", **kwargs
            )
            spend = rs.uplift.UpliftModel("x", num_threads=threads).fit(
                train, features, outcome="spend", **kwargs
            )
            held = test.filter(pl.col("segment").is_in([arm, "No E-Mail"]))
            visit_scores = visit.predict(features.join(held.select("user_id"), on="user_id"))
            spend_scores = spend.predict(features.join(held.select("user_id"), on="user_id"))
        y = held["visit"].to_numpy()
        tt = (held["segment"] == arm).to_numpy().astype(int)
        score = held.select("user_id").join(visit_scores, on="user_id")["uplift"].to_numpy()
        q = rs.uplift.qini_auc(y, tt, score, bootstrap=1000, seed=0)
        q_raw = rs.uplift.qini_auc(y, tt, score, normalize=False, bootstrap=1000, seed=0)
        print(
            f"{arm} vs No E-Mail, visit, held-out half ({held.height:,} customers): "
            f"Qini AUC {q.value:.4f} (95% CI {q.ci_low:.4f} to {q.ci_high:.4f}); "
            f"raw area {q_raw.value:.5f} ({q_raw.ci_low:.5f} to {q_raw.ci_high:.5f})"
        )
        plan = rs.uplift.allocate(spend_scores, value=1.0, cost=0.10, margin=0.3, holdout=0.0)
        result = rs.uplift.plan_value(
            held,
            plan,
            outcome="spend",
            value=1.0,
            cost=0.10,
            margin=0.3,
            rank_by=["history", "recency"],
            bootstrap=bootstrap,
            **kwargs,
        )
        print(f"  plan on spend (margin 30%, $0.10 per e-mail): {result.claim}")
        print(
            "  policy | estimator | n treated | $ margin per customer (95% CI) | vs none (95% CI)"
        )
        for r in result.table.sort("estimator", "policy").iter_rows(named=True):
            print(
                f"  {r['policy']} | {r['estimator']} | {r['n_treated']:,} | {r['value']:.4f} "
                f"({r['ci_low']:.4f} to {r['ci_high']:.4f}) | {r['gain']:+.4f} "
                f"({r['gain_ci_low']:+.4f} to {r['gain_ci_high']:+.4f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n", type=int, default=50_000, help="training customers (part 1)")
    parser.add_argument("--n-speed", type=int, default=1_000_000)
    parser.add_argument("--bootstrap", type=int, default=200, help="plan_value resamples")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: 1,2,3,4")
    parser.add_argument(
        "--folds", type=int, default=None, help="n_folds of parts 1 and 3 (default: the model's)"
    )
    parser.add_argument(
        "--peer-learner",
        choices=("stock", "recsys"),
        default="stock",
        help="causalml's base learner: scikit-learn's classes (default) or recsys's "
        "(recsys.uplift._learner: the same trees without the recorded training loss; "
        "causalml's float features take scikit-learn's own binning)",
    )
    args = parser.parse_args()
    PEER_LEARNER["name"] = args.peer_learner
    if args.quick:
        args.n, args.n_speed, args.bootstrap = 5_000, 20_000, 20
    skip = set(args.skip.split(","))
    print_environment(args.threads)
    import sklearn.ensemble  # noqa: F401  (loaded before any thread limit: threadpoolctl limits loaded runtimes)

    versions = {}
    for name in ("scikit-learn", "causalml", "lightgbm"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    print("also: " + "; ".join(f"{k}={v}" for k, v in versions.items()))
    peer = versions["causalml"] != "-"
    if not peer:
        print("causalml is not importable: no peer figures")
    if "1" not in skip:
        known_truth(args.n, 50_000 if not args.quick else 5_000, args.threads, peer, args.folds)
    if "2" not in skip:
        base_learners(args.n * 2, args.threads)
    if "3" not in skip:
        speed(args.n_speed, args.threads, peer, args.folds)
    if "4" not in skip:
        hillstrom(args.threads, args.bootstrap)


if __name__ == "__main__":
    main()
