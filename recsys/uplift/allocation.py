"""Whom to treat: the plan that maximises the expected incremental margin under a budget.

Each customer's expected gain from the treatment is

``gain = uplift × value × margin - cost``

(``uplift``: incremental probability of the outcome, or incremental value with
``value=1`` when the outcome is spend; ``value``: what one outcome is worth; ``margin``:
the share of it that is profit; ``cost``: the cost of one contact). The plan treats the
customers with a positive gain, best first — best gain per unit of cost when a ``budget``
caps the total cost — until the ``budget`` or the ``count`` is used up.

A random holdout (``holdout`` share of the customers, by a salted hash of the customer id
and ``seed``: stable across runs and machines) is kept untreated whatever the model says,
so that the next readout compares the plan with no contact on customers chosen at
random. ``planned`` says what the plan would have done for every customer, holdout
included: the readout compares treated ``planned`` customers with holdout ``planned`` ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from recsys._text import counted
from recsys._validation import check_positive_int
from recsys.data.sources import FrameLike
from recsys.exceptions import InputDataError
from recsys.uplift._checks import as_frame, require_columns, to_float_array
from recsys.uplift.assignment import unit_hash

__all__ = ["allocate"]


def _per_customer(frame: pl.DataFrame, given: Any, name: str) -> np.ndarray:
    """A number or a column of ``frame`` as one float per customer."""
    if isinstance(given, str):
        require_columns(frame, "uplift", {name: given})
        return to_float_array(frame[given], f"{name} column {given!r}")
    try:
        number = float(given)
    except (TypeError, ValueError) as err:
        raise InputDataError(f"{name} must be a number or a column name, got {given!r}") from err
    if not np.isfinite(number):
        raise InputDataError(f"{name} must be finite, got {given!r}")
    return np.full(frame.height, number)


def allocate(
    uplift: FrameLike,
    *,
    value: float | str = 1.0,
    cost: float | str = 0.0,
    budget: float | None = None,
    count: int | None = None,
    margin: float = 1.0,
    holdout: float = 0.1,
    seed: int = 0,
    user_col: str = "user_id",
    score: str = "uplift",
) -> pl.DataFrame:
    """The treatment plan: whom to treat, the expected gain and the reason, with a holdout.

    Parameters
    ----------
    uplift
        Frame with ``user_col`` and the ``score`` column (uplift per customer, e.g.
        `UpliftModel.predict`), plus any columns named by ``value`` / ``cost``.
    value
        What one outcome is worth (a number or a column, e.g. the customer's expected
        order value); 1 when the uplift is already a value (spend).
    cost
        Cost of one contact (a number or a column), >= 0.
    budget
        Cap on the total cost of the treated customers (None: no cap).
    count
        Cap on the number of treated customers (None: no cap).
    margin
        Share of ``value`` that is profit.
    holdout
        Share of customers, in [0, 1), kept untreated at random for the next readout.
    seed
        Salt of the holdout's hash.
    user_col, score
        Column names.

    Returns
    -------
    polars.DataFrame
        One row per customer, best gain first: ``user_col``, ``uplift``,
        ``expected_gain``, ``planned`` (the plan treats them, holdout aside), ``treat``
        (``planned`` and not in the holdout), ``in_holdout``, ``reason``.

    Raises
    ------
    InputDataError
        Missing columns, non-finite values, repeated customers, a negative cost, budget or
        count, a cost of 0 with a budget where gains are compared per unit of cost.

    Examples
    --------
    A 10-unit offer; customer 3 would buy anyway, customer 4 is put off by it:

    >>> import polars as pl
    >>> import recsys as rs
    >>> scores = pl.DataFrame({"user_id": [1, 2, 3, 4], "uplift": [0.3, 0.1, 0.0, -0.2]})
    >>> plan = rs.uplift.allocate(scores, value=50.0, cost=10.0, count=1, holdout=0.0)
    >>> plan.select("user_id", "expected_gain", "treat").rows()
    [(1, 5.0, True), (2, -5.0, False), (3, -10.0, False), (4, -20.0, False)]
    >>> plan["reason"][1]
    'not treated: the expected gain (-5) does not pay the cost (10)'
    """
    frame = as_frame(uplift, "uplift")
    require_columns(frame, "uplift", {"user_col": user_col, "score": score})
    if frame[user_col].is_duplicated().any():
        raise InputDataError(f"uplift has rows with a repeated {user_col!r}; one row each")
    tau = to_float_array(frame[score], f"uplift column {score!r}")
    worth = _per_customer(frame, value, "value")
    price = _per_customer(frame, cost, "cost")
    if np.any(price < 0):
        raise InputDataError("cost must be >= 0")
    margin = float(margin)
    if not np.isfinite(margin):
        raise InputDataError(f"margin must be finite, got {margin}")
    if not 0 <= float(holdout) < 1:
        raise InputDataError(f"holdout must be in [0, 1), got {holdout}")
    if budget is not None and not (np.isfinite(budget) and budget >= 0):
        raise InputDataError(f"budget must be a finite number >= 0, got {budget}")
    if count is not None:
        count = check_positive_int("count", count, allow_zero=True)
    if budget is not None and np.any(price == 0):
        raise InputDataError(
            "with a budget, every cost must be > 0 (customers are ranked by gain per unit of "
            "cost); drop the budget or give the contact cost"
        )
    gain = tau * worth * margin - price
    ids = frame[user_col]
    u01 = np.array([unit_hash(u, "holdout", seed) for u in ids.to_list()], dtype=np.float64)
    in_holdout = u01 / 2.0**64 < holdout
    # Best first: gain per unit of cost under a budget (the greedy knapsack), else gain;
    # ties by the order of the input rows.
    key = gain / price if budget is not None else gain
    order = np.lexsort((np.arange(gain.size), -key))
    planned = np.zeros(gain.size, dtype=bool)
    reason = np.empty(gain.size, dtype=object)
    spent, n_treated, bound = 0.0, 0, False
    last_key = np.inf  # the plan's cut: holdout customers above it are `planned` too
    for i in order:
        if gain[i] <= 0:
            reason[i] = _no_gain(tau[i], gain[i], price[i])
            continue
        if in_holdout[i]:
            continue  # decided after the cut is known
        if count is not None and n_treated >= count:
            reason[i] = f"not treated: the count of {counted(count, 'customer')} is used up"
            bound = True
            continue
        if budget is not None and spent + price[i] > budget + 1e-9 * max(budget, 1.0):
            reason[i] = f"not treated: the budget of {budget:g} is used up"
            bound = True
            continue
        planned[i] = True
        spent += price[i]
        n_treated += 1
        last_key = key[i]
        reason[i] = f"treat: expected gain {gain[i]:.4g} after a cost of {price[i]:.4g}"
    for i in np.flatnonzero(in_holdout & (gain > 0)):
        planned[i] = key[i] >= last_key or not bound
        reason[i] = (
            "holdout: the plan would treat; kept untreated to measure the plan"
            if planned[i]
            else "holdout: the plan would not treat (budget or count)"
        )
    for i in np.flatnonzero(in_holdout & (gain <= 0)):
        reason[i] = "holdout: " + reason[i]
    return pl.DataFrame(
        {
            user_col: ids,
            "uplift": tau,
            "expected_gain": gain,
            "planned": planned,
            "treat": planned & ~in_holdout,
            "in_holdout": in_holdout,
            "reason": pl.Series(reason.tolist(), dtype=pl.String),
        }
    )[order]


def _no_gain(tau: float, gain: float, price: float) -> str:
    if tau < 0:
        return f"not treated: the treatment lowers this customer's outcome (uplift {tau:.3g})"
    if tau == 0:
        return "not treated: no expected response to the treatment"
    return f"not treated: the expected gain ({gain:.4g}) does not pay the cost ({price:.4g})"
