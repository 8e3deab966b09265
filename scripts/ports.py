"""One free port, from below the kernel's range for outgoing connections: the tests', the
benchmarks' and the scripts' daemons all take theirs from here.

A port the OS picks for ``bind(0)`` comes from the ephemeral range, the same range every
outgoing connection takes its local port from: between the pick and the daemon's bind, a probe,
a test's client or Prometheus scraping a port nobody listens on yet can take it (seen in CI:
the exporter's bind failed with "address already in use"). Below that range only explicit binds
compete, and those go through here."""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOWEST = 20000  # above the gateway's 18789/18790, which tests name in configs
_given: set[int] = set()
_random = random.Random()  # not the module-level one a test may seed


def ephemeral_start() -> int:
    """The first port of ip_local_port_range (32768 when it cannot be read)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now, not handed out before by this process (the
    caller binds it soon after)."""
    top = ephemeral_start()
    for _ in range(200):
        port = _random.randrange(LOWEST, top) if top - LOWEST >= 1000 else 0
        if port in _given:
            continue
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            port = sock.getsockname()[1]
        _given.add(port)
        return port
    raise RuntimeError(f"no free port on {host} found in {LOWEST}-{top - 1}")
