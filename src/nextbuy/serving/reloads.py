"""Reloads across worker processes: announce the version served, follow the announcements.

With ``--workers N`` a ``POST /admin/reload`` reaches one worker process; the service writes
the version folder it now serves to a signal file (:func:`announce`) and every other worker,
watching it (:func:`follow`), switches within half a second.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from nextbuy.fsio import atomic_write_text


def announce(signal: Path | None, version_dir: Path) -> None:
    """Tell sibling workers which version folder to serve (atomic replace of ``signal``)."""
    if signal is not None:
        atomic_write_text(signal, str(version_dir), durable=False)


def follow(
    signal: Path, stop: threading.Event, switch: Callable[[Path], object], every_s: float = 0.5
) -> None:
    """Call ``switch(version_dir)`` each time ``signal`` names a folder anew, until ``stop``."""
    seen: float | None = None
    while not stop.wait(every_s):
        try:
            mtime = signal.stat().st_mtime
            if mtime == seen:
                continue
            seen = mtime
            target = Path(signal.read_text().strip())
        except OSError:
            continue
        if target.is_dir():
            switch(target)
