"""`registry.build` / `registry.spec_of`: one way to name a model with its settings."""

from __future__ import annotations

from typing import Any

import pytest

import recsys as rs
from recsys.exceptions import InputDataError
from recsys.models import registry

#: One changed setting per registered recommender (a new model must add its own).
CHANGED: dict[str, tuple[str, Any]] = {
    "popular": ("window_days", 30.0),
    "repurchase": ("due_weight", 0.5),
    "blend": ("depth", 20),
    "buyagain": ("diversity", 0.3),
    "ease": ("l2", 100.0),
    "itemknn": ("similarity", "cosine"),
    "als": ("factors", 8),
    "bpr": ("factors", 8),
    "repeat_explore": ("merge", "weights"),
}


def test_every_recommender_has_a_changed_setting_here() -> None:
    assert set(CHANGED) == set(registry.names())


@pytest.mark.parametrize("name", sorted(CHANGED))
def test_round_trip_with_defaults_and_one_changed_setting(name: str) -> None:
    cls = registry.get(name)
    default = cls()
    assert registry.spec_of(default) == name
    assert registry.build(name).get_params(deep=False) == default.get_params(deep=False)
    key, value = CHANGED[name]
    model = cls(**{key: value})
    spec = registry.spec_of(model)
    assert spec == f"{name}({key}={value!r})"
    rebuilt = registry.build(spec)
    assert type(rebuilt) is cls
    assert rebuilt.get_params(deep=False) == model.get_params(deep=False)
    assert registry.canonical(spec) == spec
    assert registry.base_name(spec) == name


def test_one_model_one_spec() -> None:
    """The spelling, the order of the settings, a setting at its default, a whole number
    for a float: all give the same spec; a class name works as a registry name."""
    specs = [
        "buyagain(trend_window_days=30, diversity=0.3)",
        "BuyAgain(diversity=0.3, trend_window_days=30.0, label_days=60)",
        " buyagain( diversity = 0.3 ,trend_window_days=30 ) ",
    ]
    canonical = {registry.canonical(spec) for spec in specs}
    assert canonical == {"buyagain(diversity=0.3, trend_window_days=30.0)"}
    assert registry.spec_of(rs.BuyAgain(trend_window_days=30, diversity=0.3)) in canonical
    assert registry.spec_of(rs.BuyAgain(diversity=0)) == "buyagain"


def test_literal_values_of_every_kind() -> None:
    name, params = registry.parse("blend(weights=(0.5, 0.5), masks=None, normalize='rank')")
    assert name == "blend"
    assert params == {"weights": (0.5, 0.5), "masks": None, "normalize": "rank"}
    assert registry.build("als(use_cg=False, factors=+64)").use_cg is False


@pytest.mark.parametrize(
    ("spec", "fragments"),
    [
        ("nosuch", ["nosuch", "unknown model", "als", "buyagain"]),
        ("nosuch(factors=3)", ["nosuch", "unknown model", "als"]),
        ("als(factor=3)", ["als(factor=3)", "'factor'", "its parameters", "factors"]),
        ("als(64)", ["als(64)", "by keyword"]),
        ("als(**{'factors': 64})", ["by keyword"]),
        ("als(factors=n)", ["als(factors=n)", "factors", "not a literal"]),
        ("als(factors=__import__('os').getpid())", ["factors", "not a literal"]),
        ("os.system('x')", ["os.system('x')", "expected a model name"]),
        ("als()()", ["expected a model name"]),
        ("als(factors=64", ["als(factors=64", "not a model name or a call"]),
        ("als; popular", ["not a model name or a call"]),
        ("", ["not a model name or a call"]),
    ],
)
def test_a_bad_spec_names_what_is_wrong(spec: str, fragments: list[str]) -> None:
    with pytest.raises(InputDataError) as err:
        registry.build(spec)
    for fragment in fragments:
        assert fragment in str(err.value), (fragment, str(err.value))


def test_a_bad_value_is_refused_by_the_model() -> None:
    with pytest.raises(InputDataError, match="factors"):
        registry.build("als(factors='many')")
    with pytest.raises(InputDataError, match="expected a string"):
        registry.build(3)  # type: ignore[arg-type]


def test_a_model_with_a_model_inside_has_no_spec() -> None:
    model = rs.RepeatExplore(explore=rs.ALS(factors=2))
    with pytest.raises(InputDataError, match="explore"):
        registry.spec_of(model)
