"""A value built once on first use and shared by whoever holds the cell (snapshots of one
model version share their norm prefix this way, and free it with the last of them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class OnceCell(Generic[T]):
    """Holds the result of the first :meth:`get`'s ``build`` (None included)."""

    def __init__(self) -> None:
        self._built = False
        self._value: T | None = None

    def get(self, build: Callable[[], T]) -> T:
        """The value, built by ``build`` on the first call only."""
        if not self._built:
            self._value = build()
            self._built = True
        return self._value  # type: ignore[return-value]
