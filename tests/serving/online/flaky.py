"""A TCP proxy in front of PostgreSQL that a test can take down, hang or bring back."""

from __future__ import annotations

import selectors
import socket
import threading
from typing import Literal

Mode = Literal["up", "hang", "down"]


class FlakyProxy:
    """``up`` forwards to ``target``; ``hang`` accepts and never answers; ``down`` refuses
    (the port is closed and every open connection cut), like a stopped database server."""

    def __init__(self, target: tuple[str, int], mode: Mode = "up") -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.mode: Mode = "down"
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.set(mode)

    def set(self, mode: Mode) -> None:
        """Switch mode; leaving ``up`` or ``hang`` cuts every open connection."""
        with self._lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
            if mode == "down" and self._listener is not None:
                self._listener.close()
                self._listener = None
            if mode != "down" and self._listener is None:
                listener = socket.socket()
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind(("127.0.0.1", self.port))
                listener.listen(128)
                self._listener = listener
                threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
            self.mode = mode

    def url(self, database: str = "test", query: str = "") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}{query}"

    def close(self) -> None:
        self.set("down")

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(client)
                mode = self.mode
            if mode == "up":
                threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        with self._lock:
            self._conns.append(server)
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, server)
        sel.register(server, selectors.EVENT_READ, client)
        try:
            while True:
                for key, _ in sel.select():
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            client.close()
            server.close()
