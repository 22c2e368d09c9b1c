"""What an experiment is: two or more variants, a split, a schedule and who is eligible."""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nextbuy.errors import ConfigError


class Variant(BaseModel):
    """One arm: the model it serves (``@alias`` or a version name) and optional rule overrides."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="The variant's name, as answers and reports show it.",
        examples=["control"],
    )
    model: str = Field(
        default="@latest",
        min_length=1,
        max_length=200,
        description="`@alias` or version folder name of the served model folder.",
        examples=["@champion"],
    )
    weight: float = Field(
        default=1.0, gt=0, description="Share of the traffic (relative).", examples=[50]
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Request-option overrides this arm applies (exclude_seen, boosts, ...).",
        examples=[{"exclude_seen": False}],
    )


class Experiment(BaseModel):
    """An A/B test; ``variants[0]`` is the control the others are tested against."""

    model_config = ConfigDict(extra="forbid")

    experiment_id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="The experiment's ID.",
        examples=["pop-vs-ease"],
    )
    variants: list[Variant] = Field(
        min_length=2,
        description="Two or more arms; the first is the control.",
        examples=[[{"name": "control", "model": "@champion"},
                   {"name": "ease", "model": "@challenger"}]],
    )  # fmt: skip
    eligible: Literal["all", "known"] = Field(
        default="all", description="All users, or users the model or store knows.",
        examples=["all"],
    )  # fmt: skip
    starts_at: int = Field(
        default_factory=lambda: int(time.time() * 1000), ge=0,
        description="Start, epoch milliseconds (default: now).", examples=[1764806400000],
    )  # fmt: skip
    ends_at: int | None = Field(
        default=None, ge=0, description="End, epoch milliseconds (null: until stopped).",
        examples=[None],
    )  # fmt: skip
    salt: str = Field(
        default_factory=lambda: secrets.token_hex(8), max_length=64,
        description="Salt of the assignment hash (default: random).", examples=["9f3b1c2a"],
    )  # fmt: skip
    stopped_at: int | None = Field(
        default=None, description="When it was stopped (epoch ms).", examples=[None]
    )
    created_at: int | None = Field(
        default=None, description="When it was stored (epoch ms).", examples=[1764806400000]
    )

    @field_validator("variants")
    @classmethod
    def _unique(cls, variants: list[Variant]) -> list[Variant]:
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must differ: {names}")
        return variants

    @model_validator(mode="after")
    def _schedule(self) -> Experiment:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    @property
    def weights(self) -> list[float]:
        """The traffic split as fractions summing to 1."""
        total = sum(v.weight for v in self.variants)
        return [v.weight / total for v in self.variants]

    def running(self, now_ms: int | None = None) -> bool:
        """Started, not ended, not stopped."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        ended = self.ends_at is not None and now >= self.ends_at
        return self.stopped_at is None and self.starts_at <= now and not ended

    def status(self, now_ms: int | None = None) -> str:
        """scheduled, running, ended (past ends_at) or stopped."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        if self.stopped_at is not None:
            return "stopped"
        if now < self.starts_at:
            return "scheduled"
        return "running" if self.running(now) else "ended"


def parse_variants(specs: list[str]) -> list[Variant]:
    """``NAME=MODEL[:WEIGHT]`` strings (``control=@champion:50``) as variants."""
    out = []
    for spec in specs:
        name, eq, rest = spec.partition("=")
        model, _, weight = rest.partition(":")
        if not eq or not name or not model:
            raise ConfigError(f"--variant {spec!r}: expected NAME=MODEL[:WEIGHT], "
                              "for example control=@champion:50")  # fmt: skip
        try:
            out.append(Variant(name=name, model=model, weight=float(weight or 1)))
        except ValueError as exc:
            raise ConfigError(f"--variant {spec!r}: {exc}") from None
    return out
