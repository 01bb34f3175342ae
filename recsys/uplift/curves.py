"""Targeting curves: how much uplift a score captures when the top-ranked customers are treated.

The score ranks customers for treatment (an uplift model, a churn risk, a recommendation
affinity). The data is a randomized experiment: ``treatment`` says whether each customer
was treated, ``outcome`` what they did. Definitions follow scikit-uplift (Qini curve,
uplift curve, their perfect and random curves, ``uplift_at_k``, ``uplift_by_percentile``),
and every figure comes with a bootstrap percentile interval, because a random score can
show a "positive" Qini by chance.

Notation at a cut-off ``m`` (the ``m`` highest scores; ties are cut only at the end of a
group of equal scores for the areas): ``N_t(m), N_c(m)`` treated / control customers
among them, ``Y_t(m), Y_c(m)`` the sum of their outcomes.

* Qini curve: ``Q(m) = Y_t(m) - Y_c(m) N_t(m) / N_c(m)`` (incremental responders).
* Uplift curve: ``U(m) = (Y_t(m) / N_t(m) - Y_c(m) / N_c(m)) (N_t(m) + N_c(m))``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl

from recsys._validation import check_positive_int, check_probability
from recsys.exceptions import DataWarning, InputDataError
from recsys.stats import Estimate, bootstrap_sums, percentile_ci, resample_seeds
from recsys.uplift._checks import to_float_array
from recsys.uplift._curve_kernels import auc_resamples, curve_area

__all__ = ["auuc", "qini_auc", "qini_curve", "uplift_at_k", "uplift_by_percentile", "uplift_curve"]


def _prepare(
    outcome: Any, treatment: Any, score: Any, bootstrap: int, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = to_float_array(outcome, "outcome")
    t = to_float_array(treatment, "treatment")
    s = to_float_array(score, "score")
    if not (y.size == t.size == s.size):
        raise InputDataError(
            f"outcome, treatment and score must have the same length, got {y.size}, {t.size}, "
            f"{s.size}"
        )
    if y.size == 0:
        raise InputDataError("outcome is empty")
    if not np.all((t == 0) | (t == 1)):
        raise InputDataError("treatment must hold only 0 (control) and 1 (treated)")
    if t.min() == t.max():
        arm = "treated" if t[0] == 1 else "control"
        raise InputDataError(f"treatment has only {arm} customers; both arms are needed")
    check_positive_int("bootstrap", bootstrap, allow_zero=True)
    check_probability("confidence", confidence)
    return y, t, s


def _descending(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order by descending score (scikit-uplift's reversed stable sort) and tie-group ends."""
    order = np.argsort(s, kind="mergesort")[::-1].copy()
    ends = np.empty(order.size, dtype=np.bool_)
    ends[:-1] = np.diff(s[order]) != 0
    ends[-1] = True
    return order, ends


def _descending_stable(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order by descending score, ties in their current order, and tie-group ends."""
    order = np.argsort(-s, kind="stable")
    ends = np.empty(order.size, dtype=np.bool_)
    ends[:-1] = np.diff(s[order]) != 0
    ends[-1] = True
    return order, ends


def _percentile_ci(
    draws: np.ndarray, confidence: float, stacklevel: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """`recsys.stats.percentile_ci`, warning where every resample was undefined.

    ``stacklevel`` 3: this function, the public one, the caller.
    """
    lo, hi = percentile_ci(draws, confidence)
    if draws.shape[0] and np.any(np.isnan(lo)):
        warnings.warn(
            "some bootstrap intervals are undefined (NaN): every resample lacked treated or "
            "control customers there",
            DataWarning,
            stacklevel=stacklevel,
        )
    return lo, hi


def _areas(
    y: np.ndarray,
    t: np.ndarray,
    s: np.ndarray,
    kind: int,
    normalize: bool,
    negative_effect: bool,
    bootstrap: int,
    seed: int,
) -> tuple[float, np.ndarray]:
    """Point estimate and bootstrap draws of the Qini (kind 0) or uplift (kind 1) area."""
    order, ends = _descending(s)
    if kind == 0 and normalize:
        if not negative_effect:
            raise InputDataError(
                "negative_effect=False is not supported; the perfect Qini curve ranks treated "
                "responders first and control responders last"
            )
        perfect = [y * t - y * (1 - t)]
    elif kind == 1 and normalize:
        if not np.all((y == 0) | (y == 1)):
            raise InputDataError(
                "auuc(normalize=True) needs a 0/1 outcome (the perfect uplift curve is defined "
                "for responders); use normalize=False for a continuous outcome"
            )
        same = 2.0 * (y == t)
        perfect = [same + y, same + t]
    else:
        perfect = []
    # Work in score order; the perfect orders are permutations of it, stable so that rows
    # tied on the perfect score keep score order (cache-friendly gathers).
    ys, ts = np.ascontiguousarray(y[order]), np.ascontiguousarray(t[order])
    perms, ends_perm = [], []
    for p in perfect:
        perm, e = _descending_stable(p[order])
        perms.append(perm)
        ends_perm.append(e)
    m = len(perms)
    perm_arr = np.stack(perms) if m else np.empty((0, y.size), np.int64)
    ends_arr = np.stack(ends_perm) if m else np.empty((0, y.size), np.bool_)
    y_perm = np.stack([ys[q] for q in perms]) if m else np.empty((0, y.size))
    t_perm = np.stack([ts[q] for q in perms]) if m else np.empty((0, y.size))
    ones = np.ones(y.size, dtype=np.uint8)
    n = float(y.size)

    def combine(areas: np.ndarray, total: np.ndarray, final: np.ndarray, balance: np.ndarray):
        baseline = total * final / 2
        actual = areas[:, 0] - baseline
        if not normalize:
            return actual / total**2
        if kind == 0:
            best = areas[:, 1] - baseline
        else:  # scikit-uplift: rank by y when control responders outnumber treated non-responders
            best = np.where(balance > 0, areas[:, 1], areas[:, 2]) - baseline
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(best != 0, actual / best, np.nan)

    no_perm = np.empty(0, dtype=np.int64)
    first = curve_area(ys, ts, no_perm, ends, ones, kind)
    point_areas = [first[0]] + [
        curve_area(y_perm[j], t_perm[j], perm_arr[j], ends_arr[j], ones, kind)[0] for j in range(m)
    ]
    cr = float(np.sum((y == 1) & (t == 0)))
    tn = float(np.sum((y == 0) & (t == 1)))
    point = combine(
        np.array([point_areas]), np.array([n]), np.array([first[2]]), np.array([cr - tn])
    )[0]
    if np.isnan(point):
        warnings.warn(
            "the perfect curve has the same area as the random line (no responders to rank), "
            "so the normalised area is undefined (NaN); use normalize=False",
            DataWarning,
            stacklevel=4,  # _areas, _area_estimate, the public function, the caller
        )
    if bootstrap == 0:
        return float(point), np.empty(0)
    areas, totals, finals, balance = auc_resamples(
        ys, ts, ends, perm_arr, y_perm, t_perm, ends_arr, kind, resample_seeds(bootstrap, seed)
    )
    return float(point), combine(areas, totals, finals, balance)


def _area_estimate(
    kind: int,
    outcome: Any,
    treatment: Any,
    score: Any,
    normalize: bool,
    negative_effect: bool,
    bootstrap: int,
    confidence: float,
    seed: int,
) -> Estimate:
    """The area of curve ``kind`` (0 Qini, 1 uplift) with its percentile interval."""
    y, t, s = _prepare(outcome, treatment, score, bootstrap, confidence)
    point, draws = _areas(y, t, s, kind, normalize, negative_effect, bootstrap, seed)
    lo, hi = _percentile_ci(draws, confidence, stacklevel=4)  # via _area_estimate
    return Estimate(point, float(lo), float(hi), confidence)


def qini_auc(
    outcome: Any,
    treatment: Any,
    score: Any,
    *,
    normalize: bool = True,
    negative_effect: bool = True,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Area under the Qini curve, with a bootstrap percentile interval.

    With ``A(·)`` the trapezoid area under a curve with x = customers targeted, and the
    random line from ``(0, 0)`` to ``(N, Q(N))`` of area ``N Q(N) / 2``:

    * ``normalize=True`` (scikit-uplift's ``qini_auc_score``):
      ``(A(Q) - N Q(N)/2) / (A(Q_perfect) - N Q(N)/2)``, where the perfect curve ranks
      treated responders first and control responders last (score ``y t - y (1 - t)``).
      1 = perfect, 0 = random, negative = worse than random.
    * ``normalize=False``: the raw area between the curve and the random line with both
      axes divided by ``N``: ``(A(Q) - N Q(N)/2) / N²`` (x = share targeted, y =
      incremental outcomes per customer of the population).

    Parameters
    ----------
    outcome, treatment, score
        Arrays of equal length: the outcome (0/1 or a number), 1 for treated and 0 for
        control customers, and the score (higher = treat first).
    normalize
        See above.
    negative_effect
        scikit-uplift's option; only ``True`` (the perfect curve may go down) is supported.
    bootstrap
        Number of bootstrap resamples of the customers (0: no interval, NaN bounds).
    confidence
        Coverage of the percentile interval.
    seed
        Seed of the bootstrap; the result does not depend on the thread count.

    Examples
    --------
    Treated responders ranked first, control responders last, is the perfect ranking:

    >>> import numpy as np
    >>> import recsys as rs
    >>> y = np.array([1, 0, 1, 0, 0, 1]); t = np.array([1, 1, 1, 0, 0, 0])
    >>> rs.uplift.qini_auc(y, t, y * t - y * (1 - t), bootstrap=0).value
    1.0
    >>> round(rs.uplift.qini_auc(y, t, np.arange(6.0), bootstrap=0).value, 4)
    -0.2308
    """
    return _area_estimate(
        0, outcome, treatment, score, normalize, negative_effect, bootstrap, confidence, seed
    )


def auuc(
    outcome: Any,
    treatment: Any,
    score: Any,
    *,
    normalize: bool = True,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Area under the uplift curve, with a bootstrap percentile interval.

    Same construction as `qini_auc` on the uplift curve
    ``U(m) = (Y_t/N_t - Y_c/N_c)(N_t + N_c)``. ``normalize=True`` is scikit-uplift's
    ``uplift_auc_score``: ``(A(U) - N U(N)/2) / (A(U_perfect) - N U(N)/2)``, where the
    perfect curve ranks by ``2·[y = t] + y`` if control responders outnumber treated
    non-responders, else by ``2·[y = t] + t`` (0/1 outcomes only). ``normalize=False``:
    ``(A(U) - N U(N)/2) / N²``.

    Examples
    --------
    >>> import numpy as np
    >>> import recsys as rs
    >>> y = np.array([1, 0, 1, 0, 0, 1]); t = np.array([1, 1, 1, 0, 0, 0])
    >>> round(rs.uplift.auuc(y, t, np.array([6, 1, 5, 2, 3, 0.0]), bootstrap=0).value, 4)
    1.0
    """
    return _area_estimate(
        1, outcome, treatment, score, normalize, True, bootstrap, confidence, seed
    )


def _curve(
    kind: int,
    outcome: Any,
    treatment: Any,
    score: Any,
    n_points: int,
    bootstrap: int,
    confidence: float,
    seed: int,
) -> pl.DataFrame:
    y, t, s = _prepare(outcome, treatment, score, bootstrap, confidence)
    n_points = check_positive_int("n_points", n_points)
    if n_points < 2:
        raise InputDataError(f"n_points must be >= 2, got {n_points}")
    order, _ = _descending(s)
    ys, ts = np.ascontiguousarray(y[order]), np.ascontiguousarray(t[order])
    fractions = np.linspace(0.0, 1.0, n_points)
    positions = np.round(fractions * y.size).astype(np.int64)
    nt = np.concatenate([[0.0], np.cumsum(ts)])[positions]
    yt = np.concatenate([[0.0], np.cumsum(ys * ts)])[positions]
    nc = positions - nt
    yc = np.concatenate([[0.0], np.cumsum(ys * (1 - ts))])[positions]
    value = _curve_value(kind, nt, yt, nc, yc)
    lo = hi = np.full(n_points, np.nan)
    if bootstrap:
        sums = _checkpoint_sums(ys, ts, positions, bootstrap, seed)
        draws = _curve_value(kind, sums[..., 0], sums[..., 1], sums[..., 2], sums[..., 3])
        lo, hi = _percentile_ci(draws, confidence, stacklevel=4)  # via _curve
    return pl.DataFrame(
        {
            "fraction": fractions,
            "n_targeted": positions,
            "value": value,
            "ci_low": lo,
            "ci_high": hi,
            "random": fractions * value[-1],
        }
    )


def _curve_value(
    kind: int, nt: np.ndarray, yt: np.ndarray, nc: np.ndarray, yc: np.ndarray
) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == 0:
            return yt - yc * np.where(nc > 0, nt / nc, 0.0)
        rate_t = np.where(nt > 0, yt / nt, 0.0)
        rate_c = np.where(nc > 0, yc / nc, 0.0)
        return (rate_t - rate_c) * (nt + nc)


def qini_curve(
    outcome: Any,
    treatment: Any,
    score: Any,
    *,
    n_points: int = 101,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pl.DataFrame:
    """The Qini curve ``Q(m) = Y_t(m) - Y_c(m) N_t(m) / N_c(m)`` at evenly spaced cut-offs.

    Returns a frame with ``fraction`` (share targeted, ``n_points`` values from 0 to 1),
    ``n_targeted`` (``round(fraction · N)`` top-ranked customers, ties in stable order),
    ``value`` (``Q``, incremental responders; 0 where no control is targeted yet counts the
    control term as 0, as scikit-uplift), pointwise bootstrap ``ci_low``/``ci_high``, and
    ``random`` (the straight line ``fraction · Q(N)``).

    Examples
    --------
    >>> import numpy as np
    >>> import recsys as rs
    >>> y = np.array([1, 0, 1, 0, 0, 1]); t = np.array([1, 1, 1, 0, 0, 0])
    >>> c = rs.uplift.qini_curve(y, t, np.arange(6.0)[::-1], n_points=3, bootstrap=0)
    >>> c["value"].to_list()
    [0.0, 2.0, 1.0]
    """
    return _curve(0, outcome, treatment, score, n_points, bootstrap, confidence, seed)


def uplift_curve(
    outcome: Any,
    treatment: Any,
    score: Any,
    *,
    n_points: int = 101,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pl.DataFrame:
    """The uplift curve ``U(m) = (Y_t(m)/N_t(m) - Y_c(m)/N_c(m)) (N_t(m) + N_c(m))``.

    Same frame as `qini_curve` (an empty arm's rate counts as 0, as scikit-uplift).

    Examples
    --------
    >>> import numpy as np
    >>> import recsys as rs
    >>> y = np.array([1, 0, 1, 0, 0, 1]); t = np.array([1, 1, 1, 0, 0, 0])
    >>> c = rs.uplift.uplift_curve(y, t, np.arange(6.0)[::-1], n_points=3, bootstrap=0)
    >>> [round(v, 4) for v in c["value"].to_list()]
    [0.0, 2.0, 2.0]
    """
    return _curve(1, outcome, treatment, score, n_points, bootstrap, confidence, seed)


def _top_count(top: float, n: int) -> int:
    if isinstance(top, bool) or not isinstance(top, (int, float, np.integer, np.floating)):
        raise InputDataError(f"top must be a share in (0, 1] or a count >= 1, got {top!r}")
    if isinstance(top, (float, np.floating)):
        if not 0 < top <= 1:
            raise InputDataError(f"top as a share must be in (0, 1], got {top}")
        return max(int(n * top), 1)
    if not 1 <= top <= n:
        raise InputDataError(f"top as a count must be in [1, {n}], got {top}")
    return int(top)


def uplift_at_k(
    outcome: Any,
    treatment: Any,
    score: Any,
    top: float = 0.3,
    *,
    strategy: str = "overall",
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Uplift among the ``top`` customers by score, with a bootstrap interval.

    ``strategy="overall"``: the top ``int(N top)`` customers (``top`` a share in (0, 1], or a
    count if an int), then
    ``mean(y | treated) - mean(y | control)`` among them. ``strategy="by_group"``: the top
    ``int(N_t top)`` treated and the top ``int(N_c top)`` control customers separately (the
    bootstrap then resamples each arm separately). As scikit-uplift's ``uplift_at_k``.
    The bootstrap keeps the cut at the same rank positions.

    Examples
    --------
    >>> import numpy as np
    >>> import recsys as rs
    >>> y = np.array([1, 0, 1, 0, 0, 1]); t = np.array([1, 1, 1, 0, 0, 0])
    >>> est = rs.uplift.uplift_at_k(y, t, np.array([6, 5, 4, 3, 2, 1.0]), top=4, bootstrap=0)
    >>> round(est.value, 4)   # top 4: treated 2/3, control 0/1
    0.6667
    """
    y, t, s = _prepare(outcome, treatment, score, bootstrap, confidence)
    if strategy not in ("overall", "by_group"):
        raise InputDataError(f"strategy must be 'overall' or 'by_group', got {strategy!r}")
    order, _ = _descending(s)
    ys, ts = y[order], t[order]
    if strategy == "overall":
        top = _top_count(top, y.size)
        head_t, head_y = ts[:top], ys[:top]
        if head_t.min() == head_t.max():
            raise InputDataError(
                f"the top {top} customers are all in one arm; uplift_at_k needs both (use a "
                "larger top or strategy='by_group')"
            )
        point = head_y[head_t == 1].mean() - head_y[head_t == 0].mean()
        draws = np.empty(0)
        if bootstrap:
            sums = _checkpoint_sums(ys, ts, np.array([top]), bootstrap, seed)
            draws = _rate_difference(sums[:, 0, :])
    else:
        yt, yc = ys[ts == 1], ys[ts == 0]
        top_t, top_c = _top_count(top, yt.size), _top_count(top, yc.size)
        if isinstance(top, (int, np.integer)) and not isinstance(top, bool):
            top_t, top_c = min(top_t, yt.size), min(top_c, yc.size)
        point = yt[:top_t].mean() - yc[:top_c].mean()
        draws = np.empty(0)
        if bootstrap:
            st = _checkpoint_sums(yt, np.ones_like(yt), np.array([top_t]), bootstrap, seed)
            sc = _checkpoint_sums(
                yc, np.zeros_like(yc), np.array([top_c]), bootstrap, seed, stream=(1,)
            )
            with np.errstate(invalid="ignore", divide="ignore"):
                draws = st[:, 0, 1] / st[:, 0, 0] - sc[:, 0, 3] / sc[:, 0, 2]
    lo, hi = _percentile_ci(draws.reshape(-1, 1), confidence) if bootstrap else (np.nan, np.nan)
    return Estimate(float(point), float(np.squeeze(lo)), float(np.squeeze(hi)), confidence)


def _checkpoint_sums(
    y_sorted: np.ndarray,
    t_sorted: np.ndarray,
    ends: np.ndarray,
    bootstrap: int,
    seed: int,
    stream: tuple[int, ...] = (),
) -> np.ndarray:
    """Per resample, cumulative ``(N_t, Y_t, N_c, Y_c)`` over the first ``ends[j]`` rows of
    the sorted order: ``[bootstrap, len(ends), 4]``."""
    columns = np.column_stack(
        [t_sorted, y_sorted * t_sorted, 1 - t_sorted, y_sorted * (1 - t_sorted)]
    )
    return bootstrap_sums(columns, bootstrap, seed, ends=ends, stream=stream)


def _rate_difference(sums: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums[..., 1] / sums[..., 0] - sums[..., 3] / sums[..., 2]


def uplift_by_percentile(
    outcome: Any,
    treatment: Any,
    score: Any,
    bins: int = 10,
    *,
    strategy: str = "overall",
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pl.DataFrame:
    """Response rates and uplift in each score decile (or ``bins`` groups), with intervals.

    Customers are ranked by descending score and cut into ``bins`` nearly equal groups
    (``numpy.array_split``; ``strategy="by_group"`` cuts treated and control customers
    separately). Per group: ``n_treatment, n_control, rate_treatment, rate_control,
    uplift = rate_treatment - rate_control`` and a bootstrap percentile interval of the
    uplift (``ci_low, ci_high``). A group with no treated or no control customer has a
    NaN rate and uplift, with a `DataWarning`.

    Examples
    --------
    >>> import numpy as np
    >>> import recsys as rs
    >>> y = np.array([1, 0, 1, 0, 0, 1, 1, 0]); t = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    >>> table = rs.uplift.uplift_by_percentile(y, t, -np.arange(8.0), bins=2, bootstrap=0)
    >>> table.select("percentile", "rate_treatment", "rate_control", "uplift").rows()
    [('0-50', 1.0, 0.0, 1.0), ('50-100', 0.5, 0.5, 0.0)]
    """
    y, t, s = _prepare(outcome, treatment, score, bootstrap, confidence)
    bins = check_positive_int("bins", bins)
    if strategy not in ("overall", "by_group"):
        raise InputDataError(f"strategy must be 'overall' or 'by_group', got {strategy!r}")
    order, _ = _descending(s)
    ys, ts = y[order], t[order]

    def bounds(size: int) -> np.ndarray:
        if bins > size:
            raise InputDataError(f"bins={bins} is more than the {size} customers to split")
        return np.cumsum([len(c) for c in np.array_split(np.arange(size), bins)]).astype(np.int64)

    def group_sums(y_sorted: np.ndarray, t_sorted: np.ndarray, ends: np.ndarray) -> np.ndarray:
        cum = np.column_stack(
            [
                np.cumsum(t_sorted),
                np.cumsum(y_sorted * t_sorted),
                np.cumsum(1 - t_sorted),
                np.cumsum(y_sorted * (1 - t_sorted)),
            ]
        )
        at = cum[ends - 1]
        return np.diff(np.vstack([np.zeros(4), at]), axis=0)

    if strategy == "overall":
        ends = bounds(y.size)
        sums = group_sums(ys, ts, ends)
        draws = np.empty((0, bins))
        if bootstrap:
            boot = _checkpoint_sums(ys, ts, ends, bootstrap, seed)
            boot = np.diff(np.concatenate([np.zeros((bootstrap, 1, 4)), boot], axis=1), axis=1)
            draws = _rate_difference(boot)
    else:
        yt, yc = ys[ts == 1], ys[ts == 0]
        ends_t, ends_c = bounds(yt.size), bounds(yc.size)
        sums = group_sums(yt, np.ones_like(yt), ends_t) + group_sums(yc, np.zeros_like(yc), ends_c)
        draws = np.empty((0, bins))
        if bootstrap:
            bt = _checkpoint_sums(yt, np.ones_like(yt), ends_t, bootstrap, seed)
            bc = _checkpoint_sums(yc, np.zeros_like(yc), ends_c, bootstrap, seed, stream=(1,))
            zeros = np.zeros((bootstrap, 1, 4))
            bt = np.diff(np.concatenate([zeros, bt], axis=1), axis=1)
            bc = np.diff(np.concatenate([zeros, bc], axis=1), axis=1)
            draws = _rate_difference(bt + bc)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate_t = sums[:, 1] / sums[:, 0]
        rate_c = sums[:, 3] / sums[:, 2]
    if np.any(sums[:, 0] == 0) or np.any(sums[:, 2] == 0):
        warnings.warn(
            "some score groups have no treated or no control customer: their uplift is NaN",
            DataWarning,
            stacklevel=2,
        )
    if bootstrap:
        lo, hi = _percentile_ci(draws, confidence)
    else:
        lo = hi = np.full(bins, np.nan)
    edges = np.linspace(0, 100, bins + 1)
    labels = [f"{edges[i]:g}-{edges[i + 1]:g}" for i in range(bins)]
    return pl.DataFrame(
        {
            "percentile": labels,
            "n_treatment": sums[:, 0].astype(np.int64),
            "n_control": sums[:, 2].astype(np.int64),
            "rate_treatment": rate_t,
            "rate_control": rate_c,
            "uplift": rate_t - rate_c,
            "ci_low": lo,
            "ci_high": hi,
        }
    )
