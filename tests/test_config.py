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
