"""Config validation: the example is accepted; every invalid fixture gives its exact errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.cli import main
from exporter.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent
INVALID = sorted((ROOT / "tests" / "fixtures" / "invalid_configs").glob("*.yml"))


def test_example_config_is_accepted(capsys):
    assert main(["check", "--config.file", str(ROOT / "examples" / "exporter.yml")]) == 0
    assert "OK (1 target(s), 2 enabled probe(s))" in capsys.readouterr().out


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_config_reports_exact_errors(path, capsys):
    assert main(["check", "--config.file", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{path}: ")
    expected = path.with_suffix(".err").read_text().splitlines()
    assert [line.strip() for line in err[1:]] == expected


def test_literal_secret_is_never_echoed(capsys):
    path = ROOT / "tests" / "fixtures" / "invalid_configs" / "literal_token.yml"
    main(["check", "--config.file", str(path)])
    out = capsys.readouterr()
    assert "hunter2-literal-token" not in out.err + out.out


def test_defaults_fit_the_real_gateway():
    config = parse_config({"targets": [{"name": "gw", "url": "http://10.0.0.5"}]})
    target = config.targets[0]
    assert target.http_url == "http://10.0.0.5:18789"
    assert target.ws_url == "ws://10.0.0.5:18789/"
    readiness = target.modules["readiness"]
    assert (readiness.enabled, readiness.interval, readiness.timeout, readiness.settings.path) == (True, 15.0, 5.0, "/readyz")


def test_tls_url_derives_wss_and_port_443():
    target = parse_config({"targets": [{"name": "gw", "url": "https://gw.example.org"}]}).targets[0]
    assert (target.http_url, target.ws_url) == ("https://gw.example.org:443", "wss://gw.example.org:443/")


def test_defaults_section_applies_to_every_target():
    config = parse_config({
        "defaults": {"readiness": {"interval": "30s", "timeout": "2s"}},
        "targets": [{"name": "a", "url": "http://a"}, {"name": "b", "url": "http://b", "readiness": {"timeout": "1s"}}],
    })
    a, b = (t.modules["readiness"] for t in config.targets)
    assert (a.interval, a.timeout, b.interval, b.timeout) == (30.0, 2.0, 30.0, 1.0)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(str(tmp_path / "nope.yml"))
    assert err.value.problems == ["cannot read file: No such file or directory"]


def test_durations_take_the_one_grammar():
    config = parse_config({"targets": [{"name": "a", "url": "http://a",
                                        "readiness": {"interval": "1h30m", "timeout": "1.5s"},
                                        "websocket": {"interval": 20, "challenge_timeout": "250ms"}}]})
    readiness, websocket = (config.targets[0].modules[m] for m in ("readiness", "websocket"))
    assert (readiness.interval, readiness.timeout, websocket.interval) == (5400.0, 1.5, 20.0)
    assert websocket.settings.challenge_timeout == 0.25
    with pytest.raises(ConfigError) as err:
        parse_config({"targets": [{"name": "a", "url": "http://a", "readiness": {"interval": "30s5m"}}]})
    assert err.value.problems == ["targets[0].readiness.interval: must be a duration such as 15s, 500ms or 5m"]


def test_probers_get_frozen_settings_of_their_module_type():
    from dataclasses import FrozenInstanceError

    from exporter.settings.modules import MODULES

    target = parse_config({"targets": [{"name": "a", "url": "http://a"}]}).targets[0]
    for name, module in target.modules.items():
        assert type(module.settings) is MODULES[name]
    with pytest.raises(FrozenInstanceError, match="path"):
        target.modules["readiness"].settings.path = "/other"


def test_every_problem_of_every_section_is_listed_once():
    with pytest.raises(ConfigError) as err:
        parse_config({
            "max_concurrency": "many",
            "defaults": {"readiness": 5, "probe": {}},
            "targets": [{"name": "a", "url": "http://a", "readiness": {"path": "x", "send_token": "yes"},
                         "model": {"api_key": "sk-literal"}}],
            "slo": {"flush_interval": 0},
            "kubernetes": {"password": "x", "resync_seconds": -1},
            "device": {"token_file": "/tmp/t"},
        })
    assert err.value.problems == [
        "max_concurrency: must be an integer",
        "defaults.probe: unknown module (valid modules: readiness, websocket, model, message, storage)",
        "defaults.readiness: must be a mapping",
        "targets[0].readiness.path: must start with /",
        "targets[0].readiness.send_token: must be true or false",
        "targets[0].model.api_key: literal secrets are not accepted in the config file; "
        "use api_key_file: /path/to/file or api_key_env: ENV_VAR_NAME",
        "targets[0].model: nothing to check: set provider, base_url and models (catalog), gateway_model "
        "(gateway catalog) or completion: true, or set enabled: false",
        "slo.flush_interval: must be > 0",
        "kubernetes.password: literal secrets are not accepted in the config file; "
        "use password_file: /path/to/file or password_env: ENV_VAR_NAME",
        "kubernetes.resync_seconds: must be 0 (never) or greater",
        "device.identity_file: is required",
    ]


def test_null_means_unset():
    target = parse_config({"targets": [{"name": "a", "url": "http://a", "ws_url": None,
                                        "readiness": {"path": None, "timeout": None}}]}).targets[0]
    assert (target.ws_url, target.modules["readiness"].settings.path, target.modules["readiness"].timeout) == (
        "ws://a:18789/", "/readyz", 5.0)


def test_targets_share_equal_module_settings_but_keep_their_own():
    # 1,000 targets that take their modules from defaults: hold one settings object per module
    # (a fleet's RSS), while a target's own section, even one equal but for a value's type, stays its own.
    config = parse_config({
        "defaults": {"readiness": {"interval": "15s"}, "websocket": {"rpc_params": {"probe": 1}}},
        "targets": [{"name": f"gw{i}", "url": f"http://10.0.0.{i}:18789"} for i in range(3)]
        + [{"name": "own", "url": "http://10.0.0.9:18789", "readiness": {"path": "/healthz"},
            "websocket": {"rpc_params": {"probe": True}}}],
    })
    first, second, third, own = config.targets
    for name in ("readiness", "websocket", "model", "message", "storage"):
        assert second.modules[name] is first.modules[name] and third.modules[name] is first.modules[name]
    assert first.modules["readiness"].settings.path == "/readyz" and first.modules["readiness"].interval == 15.0
    assert own.modules["readiness"].settings.path == "/healthz" and own.modules["readiness"].interval == 15.0
    assert own.modules["model"] is first.modules["model"]
    assert second.modules is first.modules and own.modules is not first.modules
    assert first.modules["websocket"].settings.rpc_params == {"probe": 1}
    assert own.modules["websocket"].settings.rpc_params["probe"] is True
