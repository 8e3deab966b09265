"""`openclaw-exporter run` does not import what it does not use: the kubernetes client only
when the pod watcher is configured, grafanalib only for `generate` (together
~26 MB of RSS and a slower start at every pod restart), pydantic only in the child process
that validates the config (~10 MB)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.imports import modules_of_a_running_exporter

ROOT = Path(__file__).resolve().parent.parent


def test_run_imports_neither_kubernetes_nor_grafanalib(tmp_path):
    config = tmp_path / "exporter.yml"
    config.write_text(yaml.safe_dump({"targets": [{"name": "gw", "url": "http://127.0.0.1:9"}]}))
    modules = modules_of_a_running_exporter(config)
    assert "exporter" in modules and "aiohttp" in modules
    assert "kubernetes" not in modules
    assert "grafanalib" not in modules
    assert "promql_parser" not in modules  # generation only (slo/promql.py imports it when checking)
    assert "httpx" not in modules  # the model probe's and `slo report`'s client (~2 MB of RSS)
    assert "bcrypt" not in modules  # only a web config with basic_auth_users checks passwords (~0.3 MB)
    assert "sqlite3" not in modules  # the live SLO budget without slo.state_file stays in memory (~1 MB)
    assert "yaml" not in modules  # the config is read by the child; a web config file imports it (~0.9 MB)
    # The config is validated in a child process (exporter/config_child.py): ~10 MB of RSS.
    assert not modules & {"pydantic", "pydantic_core"}


def test_probers_and_app_leave_httpx_to_a_model_probe_that_runs():
    # The model probe's client: imported when a model probe runs, not by loading the probers.
    code = "import sys, exporter.probes, exporter.app, exporter.web; print('httpx' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "False"


def test_kube_package_names_still_resolve():
    from exporter import kube

    assert kube.PodWatcher.__name__ == "PodWatcher"
    assert kube.parse_kubernetes_config.__module__ == "exporter.kube.config"


HELP_SCRIPT = """
import json, sys
from exporter import cli
try:
    cli.main(["--help"])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def test_help_imports_no_http_stack_kubernetes_grafanalib_or_generator():
    """`openclaw-exporter --help` (and every command's parser) loads argparse and the names:
    not aiohttp, not the kubernetes client, not grafanalib, no SLO spec or generator."""
    proc = subprocess.run([sys.executable, "-c", HELP_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert "exporter.cli" in modules and "openclaw_schema.names" in modules
    loaded = {m for m in modules if m.split(".")[0] in ("aiohttp", "kubernetes", "grafanalib", "yaml", "httpx", "slo",
                                                          "dashboards", "prometheus_client")}
    assert not loaded, sorted(loaded)


def test_run_with_the_example_config_imports_neither_kubernetes_nor_grafanalib():
    modules = modules_of_a_running_exporter(ROOT / "examples" / "exporter.yml")
    assert "exporter" in modules and "aiohttp" in modules
    assert not modules & {"kubernetes", "grafanalib", "dashboards", "pydantic", "pydantic_core"}


def _without_kubernetes(monkeypatch) -> None:
    """As if the `kubernetes` extra were not installed: the import and the lookup both fail."""
    monkeypatch.setitem(sys.modules, "kubernetes", None)
    monkeypatch.delitem(sys.modules, "exporter.kube.watcher", raising=False)


async def test_run_with_the_watcher_on_but_no_kubernetes_client_names_the_extra(tmp_path, monkeypatch):
    from exporter.app import Exporter
    from exporter.config import ConfigError

    _without_kubernetes(monkeypatch)
    config = tmp_path / "exporter.yml"
    config.write_text(yaml.safe_dump({"targets": [{"name": "gw", "url": "http://127.0.0.1:9"}],
                                      "kubernetes": {"enabled": True}}))
    exporter = Exporter(str(config), jitter=False)
    with pytest.raises(ConfigError) as err:
        await exporter.start()
    await exporter.close()
    assert err.value.problems == [
        "kubernetes.enabled: the pod watcher needs the kubernetes client, which is not installed: "
        "pip install 'openclaw-slo-exporter[kubernetes]'"]


def test_check_with_the_watcher_on_but_no_kubernetes_client_names_the_extra(tmp_path, monkeypatch, capsys):
    from exporter.cli import main

    _without_kubernetes(monkeypatch)
    config = tmp_path / "exporter.yml"
    config.write_text(yaml.safe_dump({"targets": [{"name": "gw", "url": "http://127.0.0.1:9"}],
                                      "kubernetes": {"enabled": True}}))
    assert main(["check", "--config.file", str(config)]) == 2
    assert "pip install 'openclaw-slo-exporter[kubernetes]'" in capsys.readouterr().err


def test_run_loads_sqlite_for_a_state_file_and_bcrypt_for_basic_auth_users(tmp_path):
    """What `run` leaves out by default, it still loads when the config asks for it."""
    config = tmp_path / "exporter.yml"
    config.write_text(yaml.safe_dump({"targets": [{"name": "gw", "url": "http://127.0.0.1:9"}],
                                      "slo": {"state_file": str(tmp_path / "slo.db")}}))
    hashed = "$2b$04$" + "C" * 53  # cost 4: a valid hash, quick to check against
    modules = modules_of_a_running_exporter(config, then="from exporter.web_config import parse_web_config\n"
                                            f"parse_web_config({{'basic_auth_users': {{'u': {hashed!r}}}}}, 'web.yml', '.')")
    assert {"sqlite3", "bcrypt"} <= modules
    assert (tmp_path / "slo.db").is_file()
