"""`exporter run` validates its config in a child interpreter (exporter/config_child.py), so the
running exporter never loads pydantic: what comes back must be the config the in-process loader
builds, its problems the same problems, and the pipe between them must carry no secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exporter import config, config_child
from exporter.cli import main
from exporter.device import load_identity
from exporter.settings.resolved import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, doc: object, name: str = "exporter.yml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def rich_config(tmp_path: Path) -> str:
    """Every part the runtime holds: defaults, each module's section, a device identity, the
    kubernetes watcher's section, sharding and the SLO spec (the shipped one)."""
    identity = tmp_path / "device.json"
    assert main(["device", "init", "--out", str(identity)]) == 0
    return write(tmp_path, {
        "max_concurrency": 8,
        "defaults": {"readiness": {"interval": "30s"}, "websocket": {"scopes": ["operator.read"]}},
        "targets": [
            {"name": "a", "url": "http://10.0.0.1:18789", "token_file": str(tmp_path / "token"),
             "readiness": {"path": "/healthz", "detail": True},
             "websocket": {"rpc_method": "status", "rpc_params": {"probe": True}},
             "model": {"provider": "bailian", "base_url": "https://example.com/v1", "models": ["qwen3.5-plus"],
                       "api_key_env": "PROVIDER_KEY", "completion": True, "completion_extra_body": {"top_p": 0.5}},
             "message": {"daily_cap": 10},
             "storage": {"path": "/data//openclaw/", "enabled": False}},
            {"name": "b", "url": "https://gw.example.com", "tls_insecure_skip_verify": True},
            {"name": "c", "url": "http://10.0.0.3"},
        ],
        "device": {"identity_file": str(identity), "token_file": str(tmp_path / "device-tokens.json")},
        "kubernetes": {"enabled": False, "selectors": [{"namespace": "openclaw"}]},
        "sharding": {"replicas": 2, "ordinal": 1},
    })


def test_the_child_returns_the_config_the_in_process_loader_builds(tmp_path):
    path = rich_config(tmp_path)
    here, child = config.load_config(path), config_child.load_config(path)
    def fields(cfg):
        return [(t.name, t.http_url, t.ws_url, t.token, t.tls_ca_file, t.tls_insecure_skip_verify, t.pod, t.modules)
                for t in cfg.targets]
    assert fields(child) == fields(here)  # the module settings compared value by value (dataclasses)
    assert [t.device.identity.device_id for t in child.targets] == [t.device.identity.device_id for t in here.targets]
    storage = child.targets[0].modules["storage"].settings
    assert storage.path == "/data/openclaw" and child.targets[0].modules["storage"].enabled is False
    model = child.targets[0].modules["model"].settings
    assert (model.gateway_model, model.completion_model) == ("bailian/qwen3.5-plus", "qwen3.5-plus")
    assert child.targets[0].modules["readiness"].interval == 30.0 and child.targets[0].modules["readiness"].detail
    assert (child.max_concurrency, child.sharding, child.kubernetes) == (here.max_concurrency, here.sharding, here.kubernetes)
    assert [s.name for s in child.slo_spec.slos] == [s.name for s in here.slo_spec.slos]
    # The device comes back read again from its file, with the same token store.
    assert child.device.identity.device_id == load_identity(str(tmp_path / "device.json")).device_id
    assert child.device.token_file == str(tmp_path / "device-tokens.json")
    # Targets with the same modules share one mapping of them (1,000 targets hold a handful of
    # settings objects, exporter/config.py Shared): the pickle keeps that sharing.
    assert child.targets[1].modules is child.targets[2].modules
    assert child.targets[0].device is child.targets[1].device is child.device


@pytest.mark.parametrize("doc", [
    {"targets": [{"name": "a", "url": "ftp://x", "readiness": {"interval": "5 m", "bogus": 1}}], "slo": 3},
    {"targets": "nope", "defaults": {"readines": {}}},
    ["not", "a", "mapping"],
])
def test_problems_come_back_as_the_same_config_error(tmp_path, doc):
    path = write(tmp_path, doc)
    with pytest.raises(ConfigError) as here:
        config.load_config(path)
    with pytest.raises(ConfigError) as child:
        config_child.load_config(path)
    assert (child.value.source, child.value.problems) == (here.value.source, here.value.problems)
    assert len(child.value.problems) >= 1


def test_an_unreadable_file_is_the_same_config_error(tmp_path):
    missing = str(tmp_path / "absent.yml")
    with pytest.raises(ConfigError) as child:
        config_child.load_config(missing)
    assert child.value.problems == ["cannot read file: No such file or directory"]


async def test_a_reload_gets_the_same_answer_without_blocking_the_loop(tmp_path):
    path = rich_config(tmp_path)
    loaded = await config_child.aload_config(path)
    assert loaded.targets[0].modules == config.load_config(path).targets[0].modules
    with pytest.raises(ConfigError, match="cannot read file"):
        await config_child.aload_config(str(tmp_path / "absent.yml"))


def test_the_pipe_carries_references_to_secrets_never_their_values(tmp_path, monkeypatch):
    path = rich_config(tmp_path)
    (tmp_path / "token").write_text("gateway-token-in-a-file\n")
    monkeypatch.setenv("PROVIDER_KEY", "provider-key-in-the-environment")
    proc = subprocess.run([sys.executable, "-m", "exporter.config_child", path], cwd=ROOT, capture_output=True,
                          check=True)
    assert proc.stdout and not proc.stderr
    assert b"gateway-token-in-a-file" not in proc.stdout and b"provider-key-in-the-environment" not in proc.stdout
    identity = load_identity(str(tmp_path / "device.json"))
    for secret in identity.secrets():
        assert secret.encode() not in proc.stdout
    assert str(tmp_path / "device.json").encode() in proc.stdout  # where the key is, instead


def test_a_loader_that_fails_is_a_config_error_with_its_last_words():
    with pytest.raises(ConfigError) as err:
        config_child._result("x.yml", 1, b"", b"Traceback (most recent call last):\n  ...\nMemoryError\n")
    assert err.value.problems == ["the config loader failed: MemoryError"]
    with pytest.raises(ConfigError) as err:
        config_child._result("x.yml", -9, b"", b"")
    assert err.value.problems == ["the config loader failed: exit status -9"]
    with pytest.raises(ConfigError, match="could not be read: UnpicklingError"):
        config_child._result("x.yml", 0, b"not a pickle", b"")
