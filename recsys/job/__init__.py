"""The main job: ``run(purchases, config) -> JobResult``, everything as of one ``as_of``.

`run` computes the shop's regime (`recsys.job.regime`), profiles, items due,
the evaluation of the recommenders, the model to use, the action list and the
claims behind every headline (`recsys.job.claims`); `recsys.report.write` renders
a `JobResult`. ``recsys report`` and ``recsys demo`` are read -> `run` -> write.

>>> import recsys as rs
>>> rs.job.JobConfig().on_unknown
'fallback'
"""

from recsys.job.actions import action_list
from recsys.job.choice import BUY_AGAIN_MODELS, SIMPLICITY_ORDER, ModelChoice, choose_model
from recsys.job.claims import Claim
from recsys.job.config import DEFAULT_CONTACT_COST, DEFAULT_MODELS, JobConfig
from recsys.job.inputs import item_names, load_online_retail, load_purchases
from recsys.job.regime import Regime, detect_regime
from recsys.job.run import JobResult, default_as_of, run

__all__ = [
    "BUY_AGAIN_MODELS",
    "DEFAULT_CONTACT_COST",
    "DEFAULT_MODELS",
    "SIMPLICITY_ORDER",
    "Claim",
    "JobConfig",
    "JobResult",
    "ModelChoice",
    "Regime",
    "action_list",
    "choose_model",
    "default_as_of",
    "detect_regime",
    "item_names",
    "load_online_retail",
    "load_purchases",
    "run",
]
