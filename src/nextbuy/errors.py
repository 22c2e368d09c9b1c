"""Errors a user can cause and fix; the CLI turns them into one line and exit code 2."""

from __future__ import annotations


class NextBuyError(Exception):
    """A user mistake (bad file, bad option, bad artifact): the message says what to fix."""


class DataError(NextBuyError):
    """Input data is missing, malformed or inconsistent; the message names file, column and row."""


class ArtifactError(NextBuyError):
    """A model artifact is missing, corrupted, or not a NextBuy artifact."""


class ConfigError(NextBuyError):
    """A configuration file or a --set override is invalid."""


class UnsupportedOperation(NextBuyError):
    """The model cannot do this (e.g. similar items without any item representation)."""
