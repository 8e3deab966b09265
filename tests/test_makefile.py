"""The Makefile installs into the project virtualenv .venv only, and only when pyproject.toml changed.

`make test` / `make demo` used to `pip install -e` into whatever python3 came first on PATH (Debian's
own python3 refuses that under PEP 668; elsewhere it upgrades unrelated packages) and reinstalled on
every run. These tests read what make would run (`make -n`) in a copy of the build files, and run a
real `make deps-python` on a tiny stand-in package to see the second run do nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support.tools import require

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ".venv/bin/python"
# An interpreter invocation in a recipe: `<something>python<version?> -m module` or `... script.py`.
INVOCATION = re.compile(r"(\S*python[\d.]*)\s+(-m\s+\S+|\S+\.py)")


@pytest.fixture(autouse=True)
def make_installed() -> None:
    require("make")


def copy_build_files(dest: Path) -> None:
    """The files make reads, without a .venv: what a fresh clone looks like to make."""
    shutil.copy(ROOT / "Makefile", dest / "Makefile")
    (dest / "bench").mkdir()
    shutil.copy(ROOT / "bench" / "bench.mk", dest / "bench" / "bench.mk")
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")


def make(cwd: Path, *args: str, bootstrap: str = "python3") -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", f"BOOTSTRAP_PYTHON={bootstrap}", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("target", ["test", "e2e", "demo", "check", "generate", "bench", "bench-quick"])
def test_every_recipe_runs_the_project_venv_python_and_installs_only_into_it(tmp_path, target):
    copy_build_files(tmp_path)
    proc = make(tmp_path, "-n", target)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    installs = [line for line in lines if "pip install" in line]
    # A fresh clone has no .venv: the plan must create it and install into it ...
    assert any(re.search(r"\S*python3?\s+-m venv \.venv\b", line) for line in lines), proc.stdout
    assert installs, proc.stdout
    # ... and nowhere else: every pip install is the venv's own pip.
    for line in installs:
        assert re.search(rf"(^|\s){re.escape(VENV_PYTHON)} -m pip install\b", line), line
        assert "--user" not in line and "--break-system-packages" not in line, line
    # Every tool, test run, generator and script runs under the venv's python; the bootstrap python3
    # only creates the venv (`-m venv`).
    runs = [(m.group(1), m.group(2)) for line in lines for m in INVOCATION.finditer(line)]
    assert runs, proc.stdout
    for interpreter, what in runs:
        if what == "-m venv":
            continue
        assert interpreter == VENV_PYTHON, f"{interpreter} {what}"
    if target in ("test", "e2e"):
        assert any(line.startswith(f"{VENV_PYTHON} -m pytest") for line in lines), proc.stdout


def test_demo_script_is_given_the_venv_python(tmp_path):
    copy_build_files(tmp_path)
    proc = make(tmp_path, "-n", "demo")
    assert any(f"PYTHON={VENV_PYTHON} bash scripts/demo.sh" in line for line in proc.stdout.splitlines()), proc.stdout


TINY_PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "makefile-probe-pkg"
version = "0.0.1"
requires-python = ">=3.11"

[project.optional-dependencies]
test = []

[tool.setuptools]
py-modules = ["makefile_probe_pkg"]
"""


def test_second_deps_python_installs_nothing_until_pyproject_changes(tmp_path):
    # The real Makefile on a tiny stand-in package (no dependencies), so the install takes seconds.
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "bench").mkdir()
    shutil.copy(ROOT / "bench" / "bench.mk", tmp_path / "bench" / "bench.mk")
    (tmp_path / "pyproject.toml").write_text(TINY_PYPROJECT)
    (tmp_path / "makefile_probe_pkg.py").write_text("VALUE = 1\n")

    first = make(tmp_path, "deps-python", bootstrap=sys.executable)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "pip install" in first.stdout
    venv_python = tmp_path / ".venv" / "bin" / "python"
    check = subprocess.run([str(venv_python), "-c", "import makefile_probe_pkg, sys; print(makefile_probe_pkg.__file__, sys.prefix)"],
                           capture_output=True, text=True, timeout=60, cwd="/")
    assert check.returncode == 0, check.stderr
    module_file, prefix = check.stdout.split()
    assert Path(module_file) == tmp_path / "makefile_probe_pkg.py"  # editable install
    assert Path(prefix) == tmp_path / ".venv"

    # Unchanged pyproject.toml: nothing to do (make -q exits 0, make -n lists no command).
    assert make(tmp_path, "-q", "deps-python", bootstrap=sys.executable).returncode == 0
    dry = make(tmp_path, "-n", "deps-python", bootstrap=sys.executable)
    assert "pip" not in dry.stdout and "venv" not in dry.stdout, dry.stdout
    second = make(tmp_path, "deps-python", bootstrap=sys.executable)
    assert second.returncode == 0 and "pip install" not in second.stdout, second.stdout

    # A changed pyproject.toml: reinstall into the same venv, without recreating it.
    (tmp_path / "pyproject.toml").write_text(TINY_PYPROJECT.replace('version = "0.0.1"', 'version = "0.0.2"'))
    dry = make(tmp_path, "-n", "deps-python", bootstrap=sys.executable)
    assert make(tmp_path, "-q", "deps-python", bootstrap=sys.executable).returncode == 1
    assert f"{VENV_PYTHON} -m pip install" in dry.stdout and "-m venv" not in dry.stdout, dry.stdout


def test_a_failed_install_is_retried_on_the_next_run(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "bench").mkdir()
    shutil.copy(ROOT / "bench" / "bench.mk", tmp_path / "bench" / "bench.mk")
    (tmp_path / "pyproject.toml").write_text("this is not toml [\n")
    failed = make(tmp_path, "deps-python", bootstrap=sys.executable)
    assert failed.returncode != 0
    # No stamp was written, so make still has the install to do.
    assert make(tmp_path, "-q", "deps-python", bootstrap=sys.executable).returncode == 1


def test_debian_without_python3_venv_gets_a_clear_message(tmp_path):
    # A stand-in python3 whose ensurepip is missing, as on Debian without the python3-venv package.
    fake = tmp_path / "python3"
    fake.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        case "$*" in *ensurepip*) echo "No module named ensurepip" >&2; exit 1;; esac
        exec {sys.executable} "$@"
        """))
    fake.chmod(0o755)
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "bench").mkdir()
    shutil.copy(ROOT / "bench" / "bench.mk", tmp_path / "bench" / "bench.mk")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    proc = make(tmp_path, "deps-python", bootstrap=str(fake))
    assert proc.returncode != 0
    assert "apt-get install python3-venv" in proc.stderr, proc.stderr
    assert not (tmp_path / ".venv").exists()
    # deps-debian installs it: a stand-in apt-get records what it is asked for (nothing is installed).
    calls = tmp_path / "apt-get.calls"
    apt = tmp_path / "bin" / "apt-get"
    apt.parent.mkdir()
    apt.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    apt.chmod(0o755)
    env = dict(os.environ, PATH=f"{apt.parent}:{os.environ['PATH']}")
    proc = subprocess.run(["make", "--no-print-directory", f"BOOTSTRAP_PYTHON={fake}", "deps-debian"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    asked = [line.split() for line in calls.read_text().splitlines()]
    assert any("install" in args and "python3-venv" in args for args in asked), calls.read_text()


def test_ci_entry_point_runs_make_test_and_never_pip_installs_itself(tmp_path):
    # A stand-in `make` records how CI calls it; on this machine every prerequisite is present,
    # so .ci/run installs nothing and hands over to `make test`, which owns .venv.
    calls = tmp_path / "make.calls"
    fake = tmp_path / "make"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}", CI="true")
    proc = subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert calls.read_text().split() == ["test"]
    assert not re.search(r"\bpip3? install\b|-m pip\b", (ROOT / ".ci" / "run").read_text())


def test_deps_debian_as_non_root_names_the_missing_packages_instead_of_failing_in_apt(tmp_path):
    # Stand-ins: `id -u` says 1000, `promtool` is absent, and an apt-get that must not be called.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text("#!/bin/sh\necho 1000\n")
    (bin_dir / "apt-get").write_text(f"#!/bin/sh\ntouch {tmp_path}/apt-get-called\n")
    (bin_dir / "python3").write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
    for tool in ("id", "apt-get", "python3"):
        (bin_dir / tool).chmod(0o755)
    for tool in ("prometheus-alertmanager", "prometheus-blackbox-exporter", "chromium", "sh", "make"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    copy_build_files(tmp_path)
    proc = subprocess.run(["make", "--no-print-directory", "deps-debian"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PATH=str(bin_dir)))
    assert proc.returncode != 0
    assert "as root run: apt-get install --no-install-recommends prometheus " in proc.stderr, proc.stderr
    assert not (tmp_path / "apt-get-called").exists()
