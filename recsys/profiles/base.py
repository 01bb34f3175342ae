"""One convention for the customer models: `CustomerModel`.

`BGNBD`, `GammaGamma`, the churn model (`ChurnCalibrator`), the one-time-buyer
survival curve and items due follow scikit-learn's manners, as the recommenders do:
``__init__`` stores hyperparameters only; ``fit`` validates them and the data, starts
over and returns ``self``; fitted state ends in ``_``; a method that needs a fit
raises `NotFittedError` before it. Every model has ``get_params`` / ``set_params``,
``summary()`` (its parameters with standard errors, where it has any) and
``save(path)``.

A model declares its fitted state in ``schema`` with the recommenders' specs
(`recsys.models.schema`: `Array`, `Value`); saving and loading are the recommenders'
(`recsys.models.persistence`, one ``.npz`` archive: numpy arrays and JSON metadata
with a format version and a checksum, never pickle), and `recsys.load_model` loads
either kind of file: a damaged, foreign or crafted file raises `ModelFormatError`.

Examples
--------
>>> import tempfile, pathlib, numpy as np, recsys as rs
>>> x = np.array([0, 1, 3, 0, 2, 5, 1, 0, 4, 2])
>>> t_x = np.array([0, 10, 30, 0, 25, 38, 5, 0, 35, 12.0])
>>> bg = rs.profiles.BGNBD().fit(x, t_x, np.full(10, 40.0))
>>> path = pathlib.Path(tempfile.mkdtemp()) / "bgnbd.npz"
>>> bg.save(path)
>>> rs.load_model(path).params_ == bg.params_
True
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, TypeVar

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import stats

from recsys._validation import Interval, validate_params
from recsys.exceptions import InputDataError, NotFittedError
from recsys.models import persistence, registry
from recsys.models.schema import Spec

__all__ = ["CustomerModel", "as_float_array"]

_M = TypeVar("_M", bound="CustomerModel")


def as_float_array(name: str, values: Any) -> NDArray[np.float64]:
    """``values`` as a flat float64 array, or `InputDataError` naming ``name``.

    Text (even numeric text), booleans and objects that are not numbers are refused;
    ``None`` becomes NaN (refused by the callers' finiteness checks).

    Examples
    --------
    >>> as_float_array("x", [1, 2]).tolist()
    [1.0, 2.0]
    >>> as_float_array("x", ["1", "2"])
    Traceback (most recent call last):
    ...
    recsys.exceptions.InputDataError: x must be numbers, got text (e.g. '1')
    """
    if isinstance(values, pl.Series):
        if not values.dtype.is_numeric():
            raise InputDataError(f"{name} must be a numeric column, got dtype {values.dtype}")
        values = values.cast(pl.Float64).to_numpy()
    if isinstance(values, (str, bytes)):
        raise InputDataError(f"{name} must be numbers, got text {values!r}")
    raw = np.asarray(values)
    if raw.dtype.kind in "USb":
        first = raw.ravel()[0] if raw.size else ""
        raise InputDataError(f"{name} must be numbers, got text (e.g. {str(first)!r})")
    if raw.dtype.kind == "O":
        bad = [v for v in raw.ravel() if v is not None and not _is_number(v)]
        if bad:
            raise InputDataError(
                f"{name} must be numbers, got {type(bad[0]).__name__} values (e.g. {bad[0]!r})"
            )
    try:
        return np.asarray(raw, dtype=np.float64).ravel()
    except (TypeError, ValueError) as err:
        raise InputDataError(f"{name} must be numbers: {err}") from err


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


class CustomerModel:
    """Base of the customer models: parameters, fitted state, summary, save and load.

    Subclasses declare ``_parameter_constraints`` (checked by ``fit`` and on load) and
    ``schema`` (the fitted state, `recsys.models.schema` specs: attribute
    ``<name>_`` per spec), and may override `_parameter_table` (for `summary`),
    ``_dims`` (sizes of their shape symbols) and ``_check_state`` (consistency of
    a loaded state). A class whose name does not start with ``_`` registers itself
    in `recsys.models.registry` as a ``"customer"`` model.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}
    #: The fitted state (`recsys.models.schema`), saved and checked on load.
    schema: ClassVar[tuple[Spec, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            registry.register(cls, cls.__name__, kind="customer")

    # ------------------------------------------------------------- parameters
    @classmethod
    def _param_names(cls) -> list[str]:
        if cls.__init__ is object.__init__:
            return []
        signature = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return [
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in kinds
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__`` (``deep`` for scikit-learn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self: _M, **params: Any) -> _M:
        """Set hyperparameters; the model must be fitted again to use them."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise InputDataError(
                    f"{type(self).__name__} has no parameter {name!r}; valid: {valid}"
                )
            setattr(self, name, value)
        return self

    def _validate_params(self) -> None:
        validate_params(type(self).__name__, self.get_params(), self._parameter_constraints)

    def _start_fit(self) -> None:
        """Validate the parameters and forget any earlier fit (a second fit starts over)."""
        self._validate_params()
        for spec in self.schema:
            self.__dict__.pop(f"{spec.name}_", None)

    @property
    def is_fitted(self) -> bool:
        """Whether every fitted attribute of the schema is set."""
        return all(f"{spec.name}_" in self.__dict__ for spec in self.schema)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"

    # ---------------------------------------------------------------- summary
    def _parameter_table(self) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]]:
        """Names, estimates and covariance matrix of the model's parameters."""
        raise NotImplementedError(f"{type(self).__name__} has no parameter table")

    def summary(self, confidence: float = 0.95) -> pl.DataFrame:
        """The fitted parameters with standard errors and Wald intervals.

        Standard errors come from the inverse Hessian of the negative log-likelihood at
        the optimum (NaN where the data do not identify the parameters).

        Returns
        -------
        pl.DataFrame
            ``parameter, estimate, std_error, ci_low, ci_high`` (estimate +- z *
            std_error at ``confidence``).
        """
        validate_params(
            "summary",
            {"confidence": confidence},
            {"confidence": [Interval(float, 0, 1, closed="neither")]},
        )
        self._check_fitted()
        names, estimates, cov = self._parameter_table()
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        se = np.where(np.isfinite(np.diag(cov)), se, np.nan)
        z = float(stats.norm.ppf(0.5 + confidence / 2.0))
        return pl.DataFrame(
            {
                "parameter": names,
                "estimate": np.asarray(estimates, dtype=np.float64),
                "std_error": se,
                "ci_low": estimates - z * se,
                "ci_high": estimates + z * se,
            }
        )

    # ----------------------------------------------------------- persistence
    def _dims(self) -> dict[str, int]:
        """Sizes of the model's own shape symbols in ``schema``."""
        return {}

    def _check_state(self) -> None:
        """Consistency of a loaded state beyond the schema (raise `ModelFormatError`)."""

    def save(self, path: Any) -> None:
        """Write the fitted model to ``path`` (one ``.npz`` file, written atomically);
        load it with `recsys.load_model`."""
        self._check_fitted()
        persistence.save_model(self, path)
