"""The SLO spec and OpenSLO import: what a user sees for good and for broken input."""

from pathlib import Path

import pytest

from mixin import cli as generate_cli
from slo import spec
from slo.model import AvailabilitySLI, LatencySLI, RatioSLI, SpecError

FIXTURES = Path(__file__).parent / "fixtures"
INVALID = sorted((FIXTURES / "slo_invalid").glob("*.yml"))


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_spec_reports_every_error_exactly(path):
    expected = path.with_suffix(".err").read_text(encoding="utf-8").rstrip("\n")
    with pytest.raises(SpecError) as excinfo:
        spec.load(str(path))
    assert str(excinfo.value) == expected


def test_every_invalid_fixture_has_its_message():
    assert INVALID and all(p.with_suffix(".err").is_file() for p in INVALID)


def test_default_spec_ships_three_gateway_slos_and_the_model_slo_opt_in():
    loaded = spec.load()
    # The shipped exporter config runs no model probe: its SLO would fire input-missing.
    assert [s.name for s in loaded.slos] == ["websocket-availability", "readiness-availability", "websocket-handshake-latency"]
    # The storage SLO is opt-in too (it needs the storage sidecar: docs/storage.md).
    assert loaded.disabled == ("model-catalog-availability", "storage-availability", "message-latency")
    assert loaded.source == "slo/specs/openclaw-gateway.yml"
    # A user who runs the model probe flips `enabled` and gets all four.
    text = spec.resources.files("slo").joinpath("specs/openclaw-gateway.yml").read_text()
    loaded = spec.load_text(text.replace("enabled: false", "enabled: true"), "edited")
    assert loaded.disabled == ()
    by_name = {s.name: s for s in loaded.slos}
    assert by_name["websocket-availability"].objective == 0.999
    assert by_name["websocket-availability"].sli == AvailabilitySLI("websocket")
    assert by_name["readiness-availability"].sli == AvailabilitySLI("readiness")
    assert by_name["websocket-handshake-latency"].sli == LatencySLI("websocket", "handshake", 0.25)
    assert by_name["websocket-handshake-latency"].objective == 0.99
    assert by_name["model-catalog-availability"].objective == 0.99
    assert by_name["model-catalog-availability"].sli == AvailabilitySLI("model")
    assert by_name["storage-availability"].objective == 0.999
    assert by_name["storage-availability"].sli == AvailabilitySLI("storage")
    assert all(s.window == "30d" for s in loaded.slos)
    # Top-level alerting defaults reach every SLO.
    assert all(s.alerting.page_labels == {"team": "gateway"} for s in loaded.slos)
    assert all((s.alerting.page_severity, s.alerting.ticket_severity) == ("critical", "warning") for s in loaded.slos)


def test_minimal_spec_gets_defaults():
    loaded = spec.load_text(
        "apiVersion: openclaw-slo/v1\nslos:\n- name: ws\n  objective: 0.995\n  sli: {kind: availability, module: websocket, target: 'gw-.*'}\n",
        "inline",
    )
    (slo,) = loaded.slos
    assert (slo.window, slo.period_seconds, slo.labels, slo.description) == ("30d", 30 * 86400, {}, "")
    assert slo.sli == AvailabilitySLI("websocket", "gw-.*")
    assert slo.alerting.runbook_base_url.startswith("https://")


def test_openslo_good_total_becomes_an_error_ratio():
    (slo,) = spec.load(str(FIXTURES / "slo_valid" / "openslo_good_total.yml")).slos
    assert slo.name == "api-availability"
    assert slo.objective == 0.995
    assert slo.window == "28d"  # 4w
    assert slo.labels == {"service": "api", "team": "api"}
    assert slo.sli == RatioSLI(
        '(sum(rate(http_requests_total[{{.window}}]))) - (sum(rate(http_requests_total{code!~"5.."}[{{.window}}])))',
        "sum(rate(http_requests_total[{{.window}}]))",
    )


def test_openslo_bad_total_through_indicator_ref():
    (slo,) = spec.load(str(FIXTURES / "slo_valid" / "openslo_bad_total_ref.yml")).slos
    assert (slo.name, slo.objective, slo.window) == ("checkout-availability", 0.995, "7d")
    assert slo.description == "Checkout requests do not fail with 5xx."
    assert slo.sli.error_query.startswith('sum(rate(http_requests_total{job="checkout",code=~"5.."}')


def test_cli_lists_spec_errors_and_exits_2(capsys, tmp_path):
    path = FIXTURES / "slo_invalid" / "objective_percent.yml"
    assert generate_cli.main(["--spec", str(path), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: slos[1].objective: must be < 1 (a ratio like 0.999, not 99.9)" in err
    assert not list(tmp_path.iterdir())


def test_yaml_syntax_error_is_a_spec_error():
    with pytest.raises(SpecError, match="invalid YAML"):
        spec.load_text("slos: [", "broken.yml")


def test_openslo_target_percent_is_an_exact_ratio():
    text = (FIXTURES / "slo_valid" / "openslo_bad_total_ref.yml").read_text().replace("targetPercent: 99.5", "targetPercent: 99.9")
    (slo,) = spec.load_text(text, "inline").slos
    assert slo.objective == 0.999
