"""The retention action list: which customers to contact, with what, and why.

`retention_actions` turns customer profiles (`recsys.build_profiles`),
items due again (`recsys.due_items`) and recommendations into one row per
customer — ``win_back``, ``replenish``, ``cross_sell``, ``onboard`` or ``none`` —
from a small rules table (`DEFAULT_RULES`), with an optional contact budget.

>>> import recsys as rs
>>> sorted(rs.actions.ACTIONS)
['cross_sell', 'none', 'onboard', 'replenish', 'win_back']
"""

from recsys.actions.plan import PLAN_HOLDOUT, PLAN_MISSING, PLAN_NOT_TREATED, plan_counts
from recsys.actions.rules import ACTIONS, DEFAULT_RULES, RULE_KEYS, check_budget, retention_actions

__all__ = [
    "ACTIONS",
    "DEFAULT_RULES",
    "PLAN_HOLDOUT",
    "PLAN_MISSING",
    "PLAN_NOT_TREATED",
    "RULE_KEYS",
    "check_budget",
    "plan_counts",
    "retention_actions",
]
