"""One version string: exporter.__version__. The package metadata reads it (pyproject's dynamic
version), the code imports it; the places that cannot import it (the image label, the deploy
image tags) must spell the same."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from exporter import __version__

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "ghcr.io/openclaw-slo-exporter/openclaw-slo-exporter"


def tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z", *patterns], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / name for name in out.split("\0") if name]


def test_pyproject_takes_the_version_from_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "exporter.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_the_version_is_assigned_once_in_the_code():
    assignments = [f"{p.relative_to(ROOT)}:{n}" for p in tracked("*.py")
                   for n, line in enumerate(p.read_text().splitlines(), 1) if re.match(r"\s*__version__\s*=", line)]
    assert assignments == ["exporter/__init__.py:3"]


def test_the_image_label_and_the_deploy_image_tags_spell_the_same_version():
    label = re.search(r'org\.opencontainers\.image\.version="([^"]+)"', (ROOT / "Dockerfile").read_text())
    assert label is not None and label.group(1) == __version__
    tags = {(p.relative_to(ROOT).as_posix(), tag) for p in tracked("deploy/*.yaml", "deploy/**/*.yaml")
            for tag in re.findall(rf"{re.escape(IMAGE)}:(\S+)", p.read_text())}
    assert tags and {tag for _, tag in tags} == {__version__}, tags


def test_no_built_wheel_is_committed():
    assert tracked("*.whl") == []
