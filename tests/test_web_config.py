"""--web.config.file (exporter-toolkit format): TLS and basic auth on every endpoint of the real
`run` process, and clear errors (exit 2) for a bad file in `run` and `check`."""

from __future__ import annotations

import base64
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import bcrypt
import pytest
import yaml

from ports import free_port
from tlshelpers import self_signed

PASSWORD = "correct horse battery staple"
ENDPOINTS = ("/metrics", "/-/healthy", "/-/ready", "/", "/api/status", "/probe?target=gw&module=readiness")


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def exporter_config(tmp_path: Path) -> Path:
    config = tmp_path / "exporter.yml"
    config.write_text(yaml.safe_dump({"targets": [{"name": "gw", "url": f"http://127.0.0.1:{free_port()}",
                                                   "websocket": {"enabled": False}}]}))
    return config


class Run:
    """The real `openclaw-exporter run` with a web config; always stopped by its pid."""

    def __init__(self, config: Path, web_config: Path) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "exporter", "run", "--config.file", str(config),
                                      "--web.config.file", str(web_config), "--web.listen-address",
                                      f"127.0.0.1:{self.port}"], stderr=subprocess.PIPE, text=True)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.stderr.read()


def get(url: str, context: ssl.SSLContext | None = None, headers: dict | None = None) -> tuple[int, dict, str]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5, context=context) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def wait_up(url: str, context: ssl.SSLContext, headers: dict, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 15
    while True:
        assert proc.poll() is None, "exporter exited: " + proc.stderr.read()
        try:
            get(url, context, headers)
            return
        except (OSError, ssl.SSLError):
            assert time.monotonic() < deadline, "exporter did not come up"
            time.sleep(0.1)


def test_tls_and_basic_auth_guard_every_endpoint(tmp_path):
    pair = self_signed(tmp_path / "certs")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=12)).decode()
    web_config = tmp_path / "web.yml"
    web_config.write_text(yaml.safe_dump({
        "tls_server_config": {"cert_file": "certs/server.crt", "key_file": "certs/server.key", "min_version": "TLS13"},
        "http_server_config": {"headers": {"Strict-Transport-Security": "max-age=31536000"}},
        "basic_auth_users": {"prometheus": hashed}}))
    run = Run(exporter_config(tmp_path), web_config)
    try:
        trusting = ssl.create_default_context(cafile=str(pair.cert))
        base = f"https://127.0.0.1:{run.port}"
        good = basic("prometheus", PASSWORD)
        wait_up(base + "/-/healthy", trusting, good, run.proc)
        for path in ENDPOINTS:
            status, headers, _ = get(base + path, trusting, good)
            assert status == 200, path
            assert headers.get("Strict-Transport-Security") == "max-age=31536000"
            for creds in ({}, basic("prometheus", "wrong"), basic("someone", PASSWORD), {"Authorization": "Basic !!"}):
                status, headers, body = get(base + path, trusting, creds)
                assert status == 401, (path, creds)
                assert headers.get("WWW-Authenticate", "").startswith("Basic realm=")
                assert "metric" not in body.lower() and "openclaw_" not in body
        # The exporter only speaks TLS on its port, with the configured certificate.
        with pytest.raises(urllib.error.URLError) as untrusted:
            get(base + "/-/healthy", ssl.create_default_context(), good)
        assert isinstance(untrusted.value.reason, ssl.SSLCertVerificationError)
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            get(f"http://127.0.0.1:{run.port}/-/healthy", None, good)
        # A password checked once is remembered: 20 scrapes do not pay bcrypt (cost 12, ~0.25 s) 20 times.
        started = time.monotonic()
        for _ in range(20):
            assert get(base + "/metrics", trusting, good)[0] == 200
        assert time.monotonic() - started < 3.0
        # TLS 1.2 is below min_version.
        old = ssl.create_default_context(cafile=str(pair.cert))
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises((ssl.SSLError, urllib.error.URLError)):
            get(base + "/-/healthy", old, good)
    finally:
        stderr = run.stop()
    assert PASSWORD not in stderr and hashed not in stderr


def test_client_certificates_are_verified_when_required(tmp_path):
    server, client, stranger = (self_signed(tmp_path / n, name=n) for n in ("server", "client", "stranger"))
    web_config = tmp_path / "web.yml"
    web_config.write_text(yaml.safe_dump({"tls_server_config": {
        "cert_file": str(server.cert), "key_file": str(server.key), "client_ca_file": str(client.cert),
        "client_auth_type": "RequireAndVerifyClientCert"}}))
    run = Run(exporter_config(tmp_path), web_config)
    try:
        with_cert = ssl.create_default_context(cafile=str(server.cert))
        with_cert.load_cert_chain(client.cert, client.key)
        base = f"https://127.0.0.1:{run.port}"
        wait_up(base + "/-/healthy", with_cert, {}, run.proc)
        assert get(base + "/metrics", with_cert)[0] == 200
        for pair in (None, stranger):
            ctx = ssl.create_default_context(cafile=str(server.cert))
            if pair:
                ctx.load_cert_chain(pair.cert, pair.key)
            with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
                get(base + "/metrics", ctx)
    finally:
        run.stop()


BAD_WEB_CONFIGS = [
    ({"tls_server_config": {"cert_file": "missing.crt", "key_file": "missing.key"}},
     ["tls_server_config.cert_file: ", "missing.crt: no such file", "tls_server_config.key_file: "]),
    ({"tls_server_config": {"cert_file": "a"}}, ["tls_server_config.key_file: required when tls_server_config is set"]),
    ({"basic_auth_users": {"admin": "hunter2-plain-password"}}, ["basic_auth_users.admin: must be a bcrypt hash"]),
    ({"basic_auth_users": {"admin": "$2b$99$" + "a" * 53}}, ["basic_auth_users.admin: must be a bcrypt hash"]),
    ({"tls_server_config": {"cert_file": "a", "key_file": "b", "min_version": "TLS14"}},
     ["tls_server_config.min_version: 'TLS14' is not one of TLS10, TLS11, TLS12, TLS13"]),
    ({"tls_server_config": {"cert_file": "a", "key_file": "b", "client_auth_type": "RequireAndVerifyClientCert"}},
     ["tls_server_config.client_ca_file: required with client_auth_type RequireAndVerifyClientCert"]),
    ({"basic_auth_user": {}}, ["(top level).basic_auth_user: unknown key"]),
    ({"http_server_config": {"headers": {"X-Frame-Options": "allow", "Server": "x"}}},
     ["http_server_config.headers.X-Frame-Options: must be one of deny, sameorigin",
      "http_server_config.headers.Server: unknown key"]),
]


@pytest.mark.parametrize("doc, says", BAD_WEB_CONFIGS)
def test_bad_web_config_is_a_located_error_with_exit_2_in_check_and_run(tmp_path, doc, says):
    web_config = tmp_path / "web.yml"
    web_config.write_text(yaml.safe_dump(doc))
    config = exporter_config(tmp_path)
    for command in (["check"], ["run", "--web.listen-address", f"127.0.0.1:{free_port()}"]):
        done = subprocess.run([sys.executable, "-m", "exporter", *command, "--config.file", str(config),
                               "--web.config.file", str(web_config)], capture_output=True, text=True, timeout=20)
        assert done.returncode == 2, (command, done.stderr)
        assert str(web_config) in done.stderr
        for text in says:
            assert text in done.stderr, (command, done.stderr)
        assert "Traceback" not in done.stderr and "hunter2" not in done.stderr


def test_check_accepts_a_good_web_config(tmp_path):
    pair = self_signed(tmp_path)
    web_config = tmp_path / "web.yml"
    web_config.write_text(yaml.safe_dump({"tls_server_config": {"cert_file": pair.cert.name, "key_file": pair.key.name}}))
    done = subprocess.run([sys.executable, "-m", "exporter", "check", "--config.file", str(exporter_config(tmp_path)),
                           "--web.config.file", str(web_config)], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    assert f"{web_config}: OK" in done.stdout


def test_real_prometheus_scrapes_over_tls_with_basic_auth(tmp_path):
    from promhelpers import running_prometheus

    pair = self_signed(tmp_path / "certs")
    web_config = tmp_path / "web.yml"
    web_config.write_text(yaml.safe_dump({
        "tls_server_config": {"cert_file": str(pair.cert), "key_file": str(pair.key)},
        "basic_auth_users": {"prometheus": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()}}))
    (tmp_path / "password").write_text(PASSWORD)
    (tmp_path / "wrong").write_text("not it")
    run = Run(exporter_config(tmp_path), web_config)
    try:
        trusting = ssl.create_default_context(cafile=str(pair.cert))
        wait_up(f"https://127.0.0.1:{run.port}/-/healthy", trusting, basic("prometheus", PASSWORD), run.proc)

        def job(name: str, password_file: Path) -> dict:
            return {"job_name": name, "scheme": "https", "tls_config": {"ca_file": str(pair.cert)},
                    "basic_auth": {"username": "prometheus", "password_file": str(password_file)},
                    "static_configs": [{"targets": [f"127.0.0.1:{run.port}"]}]}
        prom_dir = tmp_path / "prom"
        prom_dir.mkdir()
        with running_prometheus(prom_dir, [job("right", tmp_path / "password"), job("wrong", tmp_path / "wrong")]) as prom:
            deadline = time.monotonic() + 30
            while True:
                result = {r["metric"]["job"]: r["value"][1] for r in prom.query("up")["data"]["result"]}
                scraped = prom.query('openclaw_exporter_targets{job="right"}')["data"]["result"]
                if result.get("right") == "1" and result.get("wrong") == "0" and scraped:
                    break
                assert time.monotonic() < deadline, result
                time.sleep(0.5)
            assert scraped[0]["value"][1] == "1"
    finally:
        run.stop()
