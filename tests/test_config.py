"""Config: the shipped YAML validates, overrides parse, mistakes give one clear line."""

from __future__ import annotations

import pytest

from nextbuy.config import DEFAULT_CONFIG, Config, load_config, parse_overrides
from nextbuy.errors import ConfigError
from nextbuy.models import registry


def test_default_config_is_valid_and_documents_every_model() -> None:
    cfg = load_config(DEFAULT_CONFIG)
    assert cfg.model.name in registry.available()
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
