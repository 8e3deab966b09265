"""The port picker (scripts/ports.py) stays out of the range outgoing connections take their local ports
from, so a daemon's port cannot be taken between the pick and its bind."""

from __future__ import annotations

import socket

from ports import LOWEST, ephemeral_start, free_port


def test_picked_ports_are_below_the_ephemeral_range_and_bindable():
    top = ephemeral_start()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)  # never the same port twice in one run
    for port in ports:
        assert LOWEST <= port < top
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))  # free indeed


def test_an_outgoing_connections_local_port_never_equals_a_picked_one():
    with socket.create_server(("127.0.0.1", 0)) as server:
        clients = [socket.create_connection(server.getsockname()) for _ in range(20)]
        try:
            local = {c.getsockname()[1] for c in clients}
            assert all(port >= ephemeral_start() for port in local)
            assert not local & {free_port() for _ in range(20)}
        finally:
            for c in clients:
                c.close()
