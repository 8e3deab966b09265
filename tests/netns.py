"""A network namespace joined to this one by a veth pair: the project's own test host.

The real gateway runs inside it bound to its LAN address, the exporter probes from outside, so
the gateway sees a remote client (as a gateway in another pod does) without leaving the machine.
The only addresses are the pair's own /30 in 10.231.0.0/16; everything is removed on exit, and
the namespace's processes are stopped by their pids by whoever started them.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import subprocess

from support.tools import missing, require


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=check,
                          stdin=subprocess.DEVNULL)


def require_netns() -> None:
    """What creating a network namespace needs: the `ip` command and root (see support.tools.missing)."""
    require("ip")
    if os.geteuid() != 0:
        missing("root (CAP_NET_ADMIN, to create a network namespace)", "run the tests as root, as .ci/run does")


def _used_networks() -> list[ipaddress.IPv4Network]:
    out = _ip("-4", "-o", "addr", "show", check=False).stdout
    nets = []
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            nets.append(ipaddress.ip_interface(parts[parts.index("inet") + 1]).network)
    return nets


class NetNamespace:
    """`with NetNamespace() as ns:` ns.name, ns.host_ip (this side), ns.ns_ip (inside)."""

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.name = f"ocx-test-{tag}"
        self.host_if, self.ns_if = f"ocxh{tag}", f"ocxn{tag}"  # interface names: 15 chars at most
        used = _used_networks()
        for _ in range(64):
            net = ipaddress.ip_network(f"10.231.{secrets.randbelow(256)}.{4 * secrets.randbelow(64)}/30")
            if not any(net.overlaps(u) for u in used):
                break
        else:
            raise RuntimeError("no free /30 in 10.231.0.0/16 for the test namespace")
        self.host_ip, self.ns_ip = (str(h) for h in net.hosts())
        self.prefix = net.prefixlen

    def create(self) -> "NetNamespace":
        try:
            _ip("netns", "add", self.name)
            _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if, "netns", self.name)
            _ip("addr", "add", f"{self.host_ip}/{self.prefix}", "dev", self.host_if)
            _ip("link", "set", self.host_if, "up")
            _ip("-n", self.name, "addr", "add", f"{self.ns_ip}/{self.prefix}", "dev", self.ns_if)
            _ip("-n", self.name, "link", "set", self.ns_if, "up")
            _ip("-n", self.name, "link", "set", "lo", "up")
        except subprocess.CalledProcessError as exc:
            self.remove()
            raise RuntimeError(f"cannot create network namespace {self.name}: {' '.join(exc.cmd)}: {exc.stderr.strip()}") from None
        return self

    def remove(self) -> None:
        """Deleting the namespace deletes the veth pair; the host end is removed too if left over."""
        _ip("netns", "del", self.name, check=False)
        if _ip("link", "show", self.host_if, check=False).returncode == 0:
            _ip("link", "del", self.host_if, check=False)

    def exists(self) -> bool:
        return self.name in _ip("netns", "list", check=False).stdout.split()

    def __enter__(self) -> "NetNamespace":
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.remove()
