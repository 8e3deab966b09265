"""The JSON Schema shipped for editors (exporter/config.schema.json): generated from the config
models, committed, and accepting the configs the project ships while refusing typos."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from exporter import config
from exporter.probes import PROBERS
from exporter.settings import schema
from exporter.settings.base import _unwrap
from exporter.settings.file import ConfigFile, Defaults, TargetSection
from exporter.settings.modules import MODULES

ROOT = Path(__file__).resolve().parent.parent
VALIDATOR = jsonschema.Draft202012Validator(json.loads(schema.SCHEMA_FILE.read_text()))


def test_committed_schema_matches_the_models():
    assert schema.SCHEMA_FILE.read_text() == schema.render(), "run: python -m exporter.settings.schema"
    assert schema.main(["--check"]) == 0


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(json.loads(schema.SCHEMA_FILE.read_text()))


@pytest.mark.parametrize("path", ["examples/exporter.yml", "deploy/exporter.yml"])
def test_shipped_configs_validate_against_the_schema(path):
    doc = yaml.safe_load((ROOT / path).read_text())
    assert [e.message for e in VALIDATOR.iter_errors(doc)] == []
    config.parse_config(doc)  # and the parser agrees


@pytest.mark.parametrize("doc, where", [
    ({"targets": [{"name": "a", "url": "http://a", "readines": {}}]}, ["targets", 0]),
    ({"targets": [{"name": "a", "url": "http://a", "token": "hunter2"}]}, ["targets", 0]),
    ({"targets": [{"name": "a", "url": "http://a", "readiness": {"interval": "5 m"}}]}, ["targets", 0, "readiness", "interval"]),
    ({"targets": [{"name": "a", "url": "http://a", "websocket": {"client_mode": "robot"}}]}, ["targets", 0, "websocket", "client_mode"]),
    ({"targets": []}, ["targets"]),
    ({"max_concurrency": 8}, []),
    ({"targets": [{"name": "a", "url": "http://a"}], "kubernetes": {"selectors": [{"labels": "x"}]}},
     ["kubernetes", "selectors", 0]),
])
def test_schema_refuses_what_the_parser_refuses(doc, where):
    best = jsonschema.exceptions.best_match(VALIDATOR.iter_errors(doc))  # the deepest error
    assert best is not None and list(best.absolute_path) == where
    with pytest.raises(config.ConfigError):
        config.parse_config(doc)


def test_one_table_of_modules():
    """The prober table, the target's and defaults' module keys are the config's MODULES."""
    assert list(PROBERS) == list(MODULES)
    for section in (TargetSection, Defaults):
        assert {k: _unwrap(f.annotation) for k, f in section.model_fields.items() if k in MODULES} == MODULES


def test_every_section_of_the_file_is_parsed():
    sections = [k for k, f in ConfigFile.model_fields.items() if _unwrap(f.annotation) is not None]
    assert sorted(sections) == sorted(config.SECTIONS)


def test_config_types_are_a_leaf():
    """Probers are typed against exporter/settings/: it must not import probes, the app or loading."""
    import subprocess
    import sys

    code = ("import sys, exporter.settings.file, exporter.settings.resolved, exporter.settings.schema; "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('exporter', 'slo', 'dashboards', 'openclaw_schema', 'aiohttp', 'kubernetes'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    loaded = set(out.split())
    # exporter.sharding: the pure rendezvous-hash module (stdlib only) whose Shard the config holds.
    allowed = {"exporter", "exporter.secrets", "exporter.sharding", "openclaw_schema", "openclaw_schema.duration"}
    assert {m for m in loaded if not m.startswith("exporter.settings")} <= allowed, loaded
