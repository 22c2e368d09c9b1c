"""Config: the shipped YAML validates, overrides parse, mistakes give one clear line."""

from __future__ import annotations

import pytest

from nextbuy.config import (
    DEFAULT_CONFIG,
    MODELS_HEADER,
    Config,
    load_config,
    models_section,
    parse_overrides,
)
from nextbuy.errors import ConfigError
from nextbuy.models import registry


def test_default_config_is_valid_and_documents_every_model() -> None:
    cfg = load_config(DEFAULT_CONFIG)
    assert cfg.model.name in [*registry.available(), "auto"]  # auto: nextbuy.selection
    for name in registry.available():
        if not registry.get(name).__module__.startswith("nextbuy."):
            continue  # models registered by tests
        assert name in cfg.models, f"config/default.yaml has no section for model {name}"
        model_cls = registry.get(name)
        assert cfg.models[name] == model_cls.defaults, f"config/default.yaml drifted for {name}"
        model_cls(**cfg.models[name])  # every documented value is accepted


def test_overrides_parse_yaml_scalars() -> None:
    assert parse_overrides(["factors=32", "lr=1e-3", "batch_norm=true", "device=cpu"]) == {
        "factors": 32,
        "lr": 1e-3,
        "batch_norm": True,
        "device": "cpu",
    }
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["factors"])


def test_model_params_merge_order() -> None:
    cfg = Config.model_validate(
        {
            "model": {"name": "als", "params": {"factors": 8}},
            "models": {"als": {"factors": 4, "iterations": 3}},
        }
    )
    assert cfg.model_params() == {"factors": 8, "iterations": 3}


def test_bad_config_names_the_field(tmp_path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("split:\n  test_fraction: 2\n")
    with pytest.raises(ConfigError, match=r"split.test_fraction"):
        load_config(bad)
    bad.write_text("nonsense: [1\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_default_config_models_part_is_generated_from_the_model_configs() -> None:
    """Values and comments of ``models:`` come from each model's typed hyper-parameters."""
    text = DEFAULT_CONFIG.read_text()
    assert MODELS_HEADER in text
    assert text.split(MODELS_HEADER, 1)[1] == models_section().split(MODELS_HEADER, 1)[1], (
        "config/default.yaml's models part drifted from the model configs; regenerate it with "
        "python -c 'from nextbuy.config import write_default_config; write_default_config()'"
    )
    # the hand-written list of model names in the model section names every built-in model
    line = next(x for x in text.splitlines() if x.startswith("  name:"))
    listed = {n.strip() for n in line.split("#", 1)[1].split("|")}
    assert listed == {*registry.BUILTIN, "auto"}  # auto: search the families (selection)


@pytest.mark.parametrize("path", sorted(DEFAULT_CONFIG.parent.glob("*.yaml")), ids=str)
def test_every_shipped_config_holds_valid_model_parameters(path) -> None:
    cfg = load_config(path)
    for name, params in cfg.models.items():
        registry.create(name, **params)  # raises a ConfigError naming a bad value


def test_model_parameters_are_validated_at_construction() -> None:
    for name, params, words in [
        ("als", {"factors": 0}, "factors must be an integer >= 1 or 'auto', not 0"),
        ("als", {"iterations": 0}, "iterations must be an integer >= 1, not 0"),
        ("ials", {"regularization": -0.5}, "regularization must be a number >= 0, not -0.5"),
        ("mf", {"dropout": 1.0}, "dropout must be a number >= 0 and < 1, not 1.0"),
        ("ease", {"weighting": "sqrt"}, "weighting must be one of 'binary', 'linear', 'log'"),
        ("bpmf", {"sweeps": 5, "burn_in": 5}, "burn_in must be smaller than sweeps"),
    ]:
        with pytest.raises(ConfigError, match=words):
            registry.create(name, **params)
