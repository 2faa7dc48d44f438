"""TCP ports for the servers that tests, benchmarks and the deploy topology start.

One place for both: picking a free port, and waiting until a server listens on one.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (for a server about to be started)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int,
    *,
    host: str = "127.0.0.1",
    timeout: float = 20,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Wait until something accepts TCP connections on ``host:port``; ``TimeoutError``
    after ``timeout`` seconds, or as soon as ``alive()`` says the server has died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            if not alive() or time.monotonic() > deadline:
                raise TimeoutError(f"{host}:{port} did not answer within {timeout:.0f} s") from None
            time.sleep(0.05)
