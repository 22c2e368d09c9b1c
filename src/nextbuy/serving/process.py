"""Run the server as a separate process on a free port (tests, benchmarks, load drivers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A running ``python -m nextbuy.serving`` and where its output goes."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/ready", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def running_server(
    model_dir: Path,
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    args: Sequence[str] = (),
    timeout: float = 120.0,
) -> Iterator[ServerProcess]:
    """Start the server on a free port with ``env`` added, yield once /ready answers 200.

    The process is terminated (killed after 15 s) when the block ends; a server that exits or
    is not ready within ``timeout`` raises RuntimeError with its log.
    """
    port = free_port()
    cmd = [sys.executable, "-m", "nextbuy.serving", "--model-dir", str(model_dir),
           "--port", str(port), "--workers", str(workers), *args]  # fmt: skip
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _ready(url):
            if proc.poll() is not None:
                raise RuntimeError(f"server exited {proc.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready in {timeout:.0f} s:\n{log.read_text()}")
            time.sleep(0.1)
        yield ServerProcess(url, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
