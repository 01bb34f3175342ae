"""The learned churn and value models in the main job: fitted at the evaluation cutoff
on the purchases before it and scored in the same check as the profiles' BG/NBD churn
risk and CLV (`recsys.job.customers.check_at_cutoff`), refitted as of ``as_of`` where
that check licenses them.

The models are `recsys.profiles.LearnedChurn` (P(no order over ``horizon_days``)) and
`recsys.profiles.LearnedCLV` (past spend x its P(an order over ``clv_horizon_days``));
at the cutoff their predictions are the extra model columns ``churn_risk__LearnedChurn``
and ``clv__LearnedCLV`` of `recsys.evaluation.backtest_profiles`. Deployed, they are the
profile columns `LEARNED_CHURN_RISK` and `LEARNED_VALUE` (`deployed_columns`), next to
BG/NBD's ``churn_risk`` and ``clv``, which the profiles keep.

Which model is the candidate is decided by one rule declared before any check is
looked at (`churn_candidate`, `value_candidate`): the learned model wherever it could be
fitted at the cutoff, else BG/NBD. The check then licenses the candidate or the naive
rule; the better of the two models on the check window is never picked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import numpy as np
import polars as pl

from recsys.data import columns as C
from recsys.exceptions import InputDataError
from recsys.job.config import JobConfig
from recsys.job.decisions import past_value
from recsys.job.sampling import customer_sample
from recsys.profiles import LearnedChurn, LearnedCLV

__all__ = [
    "CHECKED_COLUMNS",
    "LEARNED_CHURN_RISK",
    "LEARNED_VALUE",
    "MODEL_NAMES",
    "Learned",
    "LearnedFits",
    "churn_candidate",
    "deployed_columns",
    "fit_learned",
    "fit_purchases",
    "learned_scores",
    "refit",
    "sample_note",
    "value_candidate",
]

#: The deployed columns of the profiles: the learned churn risk (P(no order over
#: ``horizon_days``)) and the learned value (money over ``clv_horizon_days``).
LEARNED_CHURN_RISK = "learned_churn_risk"
LEARNED_VALUE = "learned_value"
#: The columns each learned model's predictions are scored under at the cutoff
#: (`recsys.evaluation.backtest_profiles`' extra model columns), by model.
CHECKED_COLUMNS = {"LearnedChurn": "churn_risk__LearnedChurn", "LearnedCLV": "clv__LearnedCLV"}
#: How the claims and the files name each model (the backtest's ``model`` names).
MODEL_NAMES = {
    "churn_risk": "BG/NBD",
    "LearnedChurn": "the learned churn model",
    "clv": "the BG/NBD x Gamma-Gamma CLV model",
    "LearnedCLV": "the learned CLV model",
    "expected_orders": "BG/NBD",
}

Learned = TypeVar("Learned", LearnedChurn, LearnedCLV)


@dataclass(frozen=True)
class LearnedFits:
    """The learned models fitted at the evaluation cutoff (None: not fitted, and
    ``churn_unfitted`` / ``value_unfitted`` say why, empty when not wanted), and the
    customer sample they were fitted on (``sampled``: (customers drawn, customers), None
    when fitted on every customer; `fit_purchases`)."""

    churn: LearnedChurn | None = None
    value: LearnedCLV | None = None
    churn_unfitted: str = ""
    value_unfitted: str = ""
    sampled: tuple[int, int] | None = None


def fit_purchases(
    purchases: pl.DataFrame, config: JobConfig
) -> tuple[pl.DataFrame, tuple[int, int] | None]:
    """The purchases the learned models are fitted on: those of ``config.learned_customers``
    customers drawn at random (``config.seed``) where there are more, with (drawn,
    customers); else all of them and None: `recsys.job.sampling.customer_sample`, the
    evaluation's sample (`recsys.job.run.evaluation_purchases`).

    Examples
    --------
    >>> p = pl.DataFrame({"user_id": [1, 2, 3, 3]})
    >>> fit_purchases(p, JobConfig(learned_customers=2))[1]
    (2, 3)
    """
    return customer_sample(purchases, config.learned_customers, config.seed)


def fit_learned(
    before: pl.DataFrame, cutoff: datetime, config: JobConfig, *, with_clv: bool
) -> LearnedFits:
    """`LearnedChurn` (with ``config.churn``, over ``config.horizon_days``) and, with
    ``with_clv``, `LearnedCLV` (over ``config.clv_horizon_days``), fitted as of
    ``cutoff`` on ``before`` (the purchases strictly before it; of a customer sample
    above ``config.learned_customers``: `fit_purchases`). A model the history does not
    allow (`InputDataError`: too little of it for one training origin, one outcome at
    its calibration origin; or a singular system in its fit) is left out, its message
    kept.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import datetime, timedelta
    >>> p = pl.DataFrame({"user_id": [1, 2], "item_id": ["a", "b"],
    ...     "timestamp": [datetime(2024, 1, 1), datetime(2024, 1, 20)], "quantity": [1.0, 1.0]})
    >>> fits = fit_learned(p, datetime(2024, 2, 1), JobConfig(), with_clv=False)
    >>> fits.churn is None, fits.churn_unfitted.startswith("LearnedChurn: as_of=2024-02-01")
    (True, True)
    """
    churn = value = None
    churn_why = value_why = ""
    fit_on, sampled = fit_purchases(before, config)
    if config.churn:
        try:
            churn = LearnedChurn().fit(fit_on, as_of=cutoff, horizon_days=config.horizon_days)
        except (InputDataError, np.linalg.LinAlgError) as err:
            churn_why = str(err)
    if with_clv:
        try:
            value = LearnedCLV().fit(fit_on, as_of=cutoff, horizon_days=config.clv_horizon_days)
        except (InputDataError, np.linalg.LinAlgError) as err:
            value_why = str(err)
    return LearnedFits(churn, value, churn_why, value_why, sampled)


def learned_scores(
    profiles: pl.DataFrame,
    purchases: pl.DataFrame,
    churn: LearnedChurn | None,
    value: LearnedCLV | None,
) -> pl.DataFrame:
    """``profiles`` with each fitted model's predictions as of its fit's ``as_of`` (from
    ``purchases`` before it) under `CHECKED_COLUMNS` (null for a customer the model does
    not score: one without an order before it)."""
    for model, column in ((churn, "churn_risk"), (value, "clv")):
        if model is None:
            continue
        scores = model.predict(purchases).select(
            pl.col(C.USER).cast(profiles[C.USER].dtype),
            pl.col(column).alias(CHECKED_COLUMNS[type(model).__name__]),
        )
        profiles = profiles.join(scores, on=C.USER, how="left", maintain_order="left")
    return profiles


def refit(
    model: Learned, bought: pl.DataFrame, as_of: datetime, config: JobConfig
) -> tuple[Learned, tuple[int, int] | None]:
    """The same model class and parameters as ``model`` (fitted at the cutoff), fitted as
    of ``as_of`` on ``bought`` (a customer sample above ``config.learned_customers``, as
    at the cutoff: `fit_purchases`) over the same ``horizon_days``: the deployed model,
    and its sample ((customers drawn, customers), None on every customer). There are
    more customers as of ``as_of`` than at the cutoff: the deployed model can be fitted
    on a sample where the checked one was not."""
    fit_on, sampled = fit_purchases(bought, config)
    fitted = type(model)(**model.get_params()).fit(
        fit_on, as_of=as_of, horizon_days=model.horizon_days_
    )
    return fitted, sampled


def sample_note(at_cutoff: tuple[int, int] | None, at_as_of: tuple[int, int] | None) -> str:
    """The sentence a card adds where a learned model was fitted on a customer sample
    (`fit_purchases`): at the cutoff (``at_cutoff``, the checked model) and/or as of
    ``as_of`` (``at_as_of``, the deployed one); empty where neither was.

    Examples
    --------
    >>> print(sample_note(None, (200, 450)).strip())  # doctest: +NORMALIZE_WHITESPACE
    The learned model is fitted on the purchases of 200 customers drawn at random (as of
    as_of, of 450; JobConfig.learned_customers), and scores every customer.
    >>> sample_note(None, None)
    ''
    """
    where = [
        f"{when}, of {sampled[1]:,}"
        for when, sampled in (("at the cutoff", at_cutoff), ("as of as_of", at_as_of))
        if sampled is not None
    ]
    if not where:
        return ""
    drawn = (at_cutoff or at_as_of)[0]  # type: ignore[index]
    return (
        f" The learned model is fitted on the purchases of {drawn:,} customers drawn at "
        f"random ({'; '.join(where)}; JobConfig.learned_customers), and scores every customer."
    )


def churn_candidate(fits: LearnedFits) -> str:
    """The churn model the check may license, declared before it is run: ``LearnedChurn``
    where it could be fitted at the cutoff (it uses BG/NBD's P(alive) and expected orders
    among its features, and falls back to the order-count rule by itself where it does
    not beat it on its own calibration origin), else ``churn_risk`` (BG/NBD). Not the
    better of the two on the check window: that would pick on the data that judge it.

    Examples
    --------
    >>> churn_candidate(LearnedFits()), churn_candidate(LearnedFits(churn=LearnedChurn()))
    ('churn_risk', 'LearnedChurn')
    """
    return "LearnedChurn" if fits.churn is not None else "churn_risk"


def value_candidate(fits: LearnedFits) -> str:
    """The value model the check may license, by the same rule as `churn_candidate`:
    ``LearnedCLV`` where it could be fitted at the cutoff, else ``clv`` (BG/NBD x
    Gamma-Gamma).

    Examples
    --------
    >>> value_candidate(LearnedFits()), value_candidate(LearnedFits(value=LearnedCLV()))
    ('clv', 'LearnedCLV')
    """
    return "LearnedCLV" if fits.value is not None else "clv"


def deployed_columns(profiles: pl.DataFrame, ratio: float) -> pl.DataFrame:
    """The learned models' predictions as the decisions use them: `LEARNED_CHURN_RISK`
    (the churn model's probability, as predicted) and `LEARNED_VALUE`, money over the
    value horizon like `recsys.job.decisions.past_value`: the learned CLV (past spend x
    P(an order over the value horizon)) rescaled so that all customers together are
    worth what ``past_value`` shares out (``monetary`` x ``ratio``, the shop's recent
    spend over the value horizon). The rescaling is one positive factor: the ranking is
    the learned CLV's, the one checked; a customer the model does not score (no order,
    only returns) is worth 0. The checked columns (`CHECKED_COLUMNS`) are replaced.

    Examples
    --------
    >>> p = pl.DataFrame({"monetary": [100.0, 300.0], "clv__LearnedCLV": [50.0, 30.0],
    ...     "churn_risk__LearnedChurn": [0.5, 0.9]})
    >>> out = deployed_columns(p, 0.5)  # 200 to share out: 50/80 and 30/80 of it
    >>> out.columns, out["learned_value"].to_list()
    (['monetary', 'learned_churn_risk', 'learned_value'], [125.0, 75.0])
    """
    churn, clv = CHECKED_COLUMNS["LearnedChurn"], CHECKED_COLUMNS["LearnedCLV"]
    if churn in profiles.columns:
        profiles = profiles.rename({churn: LEARNED_CHURN_RISK})
    if clv in profiles.columns:
        scored = pl.col(clv).cast(pl.Float64).fill_nan(None).fill_null(0.0)
        total = profiles.select(
            shared=past_value(profiles, ratio).sum(),
            scored=scored.sum(),
        ).row(0)
        factor = total[0] / total[1] if total[1] > 0 else 0.0
        profiles = profiles.with_columns((scored * factor).alias(LEARNED_VALUE)).drop(clv)
    return profiles
