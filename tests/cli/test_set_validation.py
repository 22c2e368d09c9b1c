"""No tracebacks from ``--set`` (issue 11, item 3): every hyper-parameter is checked for type and
range, and a mistake is one line and exit code 2 on every path (train, tune, a tune config)."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from nextbuy.config import parse_overrides
from nextbuy.errors import ConfigError
from nextbuy.models import registry
from tests.conftest import run_cli

#: The issue's examples: bad types, negative and zero sizes, with the word the message needs.
BAD_SETS = [
    ("factors=abc", "factors must be an integer >= 1 or 'auto', not 'abc'"),
    ("factors=-3", "factors must be an integer >= 1 or 'auto', not -3"),
    ("regularization=abc", "regularization must be a number >= 0 or 'auto', not 'abc'"),
    ("factors=0", "factors must be an integer >= 1 or 'auto', not 0"),
    ("iterations=0", "iterations must be an integer >= 1, not 0"),
]


def one_line_exit_2(proc) -> str:  # noqa: ANN001 - a CompletedProcess
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize(("pair", "words"), BAD_SETS)
def test_train_set_mistakes(shop_dir: Path, tmp_path: Path, pair: str, words: str) -> None:
    proc = run_cli(
        "train", "--data", str(shop_dir / "interactions.csv"), "--model", "als", "--set", pair,
        "--out", str(tmp_path / "m"), check=False,
    )  # fmt: skip
    assert words in one_line_exit_2(proc)
    assert not (tmp_path / "m").exists()  # nothing trained, nothing saved


@pytest.mark.slow
@pytest.mark.parametrize(("pair", "words"), BAD_SETS[:3])
def test_tune_set_mistakes(shop_dir: Path, tmp_path: Path, pair: str, words: str) -> None:
    proc = run_cli(
        "tune", "--data", str(shop_dir / "interactions.csv"), "--model", "als", "--set", pair,
        "--trials", "2", "--out", str(tmp_path / "t.yaml"), check=False,
    )  # fmt: skip
    assert words in one_line_exit_2(proc)


@pytest.mark.slow
def test_tune_with_a_bad_config_value_stops_before_any_trial(
    shop_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("models:\n  als:\n    factors: abc\n")
    proc = run_cli(
        "tune", "--data", str(shop_dir / "interactions.csv"), "--model", "als",
        "--config", str(config), "--trials", "2", "--out", str(tmp_path / "t.yaml"), check=False,
    )  # fmt: skip
    assert "factors must be an integer >= 1 or 'auto', not 'abc'" in one_line_exit_2(proc)
    assert "Trial 0 failed" not in proc.stderr and not (tmp_path / "t.yaml").exists()


def _numeric_fields() -> list[tuple[str, str, typing.Any]]:
    """(model, parameter, its annotation) of every built-in model's int and float parameters."""
    out = []
    for name in registry.BUILTIN:
        for key, field in registry.get(name).config_class.model_fields.items():
            args = set(typing.get_args(field.annotation)) or {field.annotation}
            # ``AtLeastOne | Auto``: the bounded number inside the density-rule union
            args |= {
                typing.get_args(a)[0] for a in args if typing.get_origin(a) is typing.Annotated
            }
            if args & {int, float} and bool not in args:
                out.append((name, key, field.annotation))
    return out


@pytest.mark.parametrize(("model", "key", "annotation"), _numeric_fields())
def test_every_numeric_hyper_parameter_refuses_text(model: str, key: str, annotation) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError) as err:
        registry.create(model, **parse_overrides([f"{key}=abc"]))
    message = str(err.value)
    assert "\n" not in message and f"{key} must be" in message and "'abc'" in message


#: Parameters counting something (sizes, sweeps, neighbours): 0 would train a useless model.
COUNTS = ("factors", "iterations", "epochs", "sweeps", "neighbors", "cg_steps", "max_samples")


@pytest.mark.parametrize(
    ("model", "key"),
    [(m, k) for m, k, _ in _numeric_fields() if k in COUNTS],
)
def test_counts_refuse_zero_and_negatives(model: str, key: str) -> None:
    for value in ("0", "-3"):
        with pytest.raises(ConfigError, match=f"{key} must be an integer >= 1"):
            registry.create(model, **parse_overrides([f"{key}={value}"]))
