"""The dashboards as a Grafana user and a reviewer see them: committed, complete, consistent."""

from __future__ import annotations

import json
import re

import yaml

from dashboards import build, catalog, style
from slo import monitoring
from dashboardhelpers import (ROOT, content_panels, dashboards, known_metric_names, metric_names, panel_queries,
                              panels, variable_queries)


# Drift of the committed JSON and ConfigMap and `generate --check`: tests/test_generate.py.


def test_output_is_deterministic_json_with_sorted_keys():
    first = {d.uid: build.render_dashboard(d) for d in build.build_all(monitoring.load())}
    second = {d.uid: build.render_dashboard(d) for d in build.build_all(monitoring.load())}
    assert first == second
    for text in first.values():
        assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_every_catalog_dashboard_with_its_stable_uid_and_a_do_not_edit_note():
    got = dashboards()
    assert sorted(got) == sorted(catalog.TITLES)
    for uid, d in got.items():
        assert d["uid"] == uid and d["title"] == catalog.TITLES[uid]
        assert "DO NOT EDIT" in d["description"]
        assert d["__inputs"][0]["name"] == "DS_PROMETHEUS" and d["__inputs"][0]["pluginId"] == "prometheus"
        assert d["id"] is None  # Grafana assigns its own on import
        assert {"datasource", "grafana"} <= {r["type"] for r in d["__requires"]}


def test_only_core_panels_and_no_hard_coded_data_source():
    for uid, d in dashboards().items():
        panel_types = {r["id"] for r in d["__requires"] if r["type"] == "panel"}
        assert panel_types <= {"stat", "gauge", "timeseries", "table"}, uid  # no plugin to install
        text = json.dumps(d)
        # ${DS_PROMETHEUS} only in the datasource variable's default (text and value), which import replaces
        assert text.count("${DS_PROMETHEUS}") == 2, uid
        sources = {json.dumps(p["datasource"], sort_keys=True) for p in content_panels(d)}
        assert sources == {json.dumps({"type": "prometheus", "uid": "${datasource}"}, sort_keys=True)}


def test_alert_names_link_to_their_runbooks():
    table = next(p for p in content_panels(dashboards()[catalog.SLO]) if p["type"] == "table")
    (override,) = table["fieldConfig"]["overrides"]
    assert override["matcher"]["options"] == "alertname"
    (link,) = override["properties"][0]["value"]
    assert link["url"].endswith("/docs/runbooks/${__value.raw}.md")
    assert (ROOT / "docs" / "runbooks" / "OpenClawSLOInputMissing.md").is_file()


def test_every_dashboard_links_to_every_other():
    for uid, d in dashboards().items():
        urls = sorted(link["url"] for link in d["links"])
        assert urls == sorted(f"/d/{other}" for other in catalog.TITLES if other != uid)
        assert all(link["keepTime"] and link["includeVars"] for link in d["links"])


def test_variables_datasource_first_and_target_or_namespace():
    for uid, d in dashboards().items():
        variables = d["templating"]["list"]
        assert variables[0]["name"] == "datasource" and variables[0]["type"] == "datasource"
        names = {v["name"] for v in variables}
        if uid != catalog.SLO:
            assert names & {"target", "namespace"}, uid
        for v in variables[1:]:
            assert v["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_every_panel_says_what_it_shows_and_what_to_do_when_red():
    for uid, d in dashboards().items():
        for p in content_panels(d):
            shows, _, red = p["description"].partition("\n\nWhen red: ")
            assert shows and red, f"{uid} / {p['title']}"


def test_every_panel_has_a_unit_thresholds_and_the_datasource_variable():
    for uid, d in dashboards().items():
        for p in content_panels(d):
            where = f"{uid} / {p['title']}"
            defaults = p["fieldConfig"]["defaults"]
            assert defaults["unit"], where
            steps = defaults["thresholds"]["steps"]
            assert steps and steps[0]["value"] is None, where
            assert all(a["value"] < b["value"] for a, b in zip(steps[1:], steps[2:])), where
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
            assert p["targets"], where
            assert all(t["datasource"] == p["datasource"] for t in p["targets"]), where


def test_panel_ids_and_titles_are_unique_and_panels_fit_the_grid_without_overlap():
    for uid, d in dashboards().items():
        all_panels = list(panels(d))
        ids = [p["id"] for p in all_panels]
        assert len(set(ids)) == len(ids) and all(isinstance(i, int) and i > 0 for i in ids), uid
        titles = [p["title"] for p in all_panels]
        assert len(set(titles)) == len(titles), f"{uid}: titles must be unique (ids come from them)"
        taken = set()
        for p in all_panels:
            pos = p["gridPos"]
            assert pos["x"] + pos["w"] <= 24, f"{uid} / {p['title']}"
            cells = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
            assert not cells & taken, f"{uid} / {p['title']} overlaps"
            taken |= cells


def test_panel_ids_survive_adding_a_panel_in_front():
    def panel(title):
        return style.stat(title, shows="s", red="r", queries=["up"], unit="short", thresholds=style.steps("green"))
    before = {p.title: p.id for p in style.layout([panel("a"), panel("b")])}
    after = {p.title: p.id for p in style.layout([panel("new"), panel("a"), panel("b")])}
    assert {t: after[t] for t in before} == before


def test_every_metric_name_comes_from_conventions():
    known = known_metric_names()
    for uid, d in dashboards().items():
        exprs = [e for _, _, e in panel_queries(d)] + [e for _, e in variable_queries(d)]
        for expr in exprs:
            unknown = metric_names(expr) - known
            assert not unknown, f"{uid}: {unknown} in {expr}"


def test_legends_name_only_labels_from_conventions():
    from openclaw_schema import names as c
    labels = {v for k, v in vars(c).items() if k.startswith("LABEL_")}
    for uid, d in dashboards().items():
        for title, target, _ in panel_queries(d):
            used = set(re.findall(r"\{\{(\w+)\}\}", target["legendFormat"]))
            assert used <= labels, f"{uid} / {title}: {used - labels}"


def test_slo_dashboard_repeats_a_row_per_slo_with_burn_rates_against_thresholds():
    d = dashboards()[catalog.SLO]
    rows = [p for p in d["panels"] if p["type"] == "row"]
    assert any(r["repeat"] == "slo" for r in rows)
    burn = {p["title"]: p for p in content_panels(d) if p["title"].startswith("Burn rate ") and p["type"] == "stat"}
    expected = {"Burn rate 1h / 5m": 14.4, "Burn rate 6h / 30m": 6.0, "Burn rate 1d / 2h": 3.0, "Burn rate 3d / 6h": 1.0}
    assert {t: p["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] for t, p in burn.items()} == expected
    alerts = [e for _, _, e in panel_queries(d) if "ALERTS" in e]
    assert alerts and all('alertname=~"OpenClaw.*"' in e for e in alerts)


def test_user_thresholds_are_on_their_panels():
    def steps(uid, title):
        p = next(p for p in content_panels(dashboards()[uid]) if p["title"] == title)
        return [s["value"] for s in p["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert 5.0 in steps(catalog.INTERNALS, "Message processing P95")
    assert 0.05 in steps(catalog.INTERNALS, "Model call failure rate by provider/model")
    assert 3 in steps(catalog.KUBERNETES, "Restarts in the last hour")
    assert 0.8 in steps(catalog.KUBERNETES, "CPU usage of limit")
    assert 0.9 in steps(catalog.KUBERNETES, "Memory usage of limit")


def test_configmaps_carry_the_sidecar_label_and_the_committed_json():
    text = (ROOT / build.CONFIGMAP_PATH).read_text()
    assert text.startswith("# Generated") and "DO NOT EDIT" in text.splitlines()[0]
    docs = list(yaml.safe_load_all(text))
    assert len(docs) == len(catalog.TITLES)
    for doc in docs:
        assert doc["kind"] == "ConfigMap"
        assert doc["metadata"]["labels"]["grafana_dashboard"] == "1"
        (name, body), = doc["data"].items()
        assert body == (ROOT / build.GENERATED_DIR / name).read_text()
        assert len(text.encode()) < 1 << 20 and len(body.encode()) < 256 * 1024  # apply's annotation limit


def test_docs_describe_every_dashboard_and_panel():
    docs = (ROOT / "docs" / "dashboards.md").read_text()
    for uid, d in dashboards().items():
        assert f"`{uid}`" in docs and d["title"] in docs
        missing = [p["title"] for p in content_panels(d) if f"| {p['title']} |" not in docs]
        assert not missing, f"{uid}: panels not in docs/dashboards.md: {missing}"
