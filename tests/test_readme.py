"""README.md as a newcomer reads it: the first commands, tables that render, a Contents list that
matches the sections, and every metric and CLI flag documented (README.md or docs/)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from openclaw_schema import names
from exporter.cli import GENERATORS, build_parser, generator_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = README + "\n".join(p.read_text() for p in sorted((ROOT / "docs").rglob("*.md")))
SEPARATOR = re.compile(r"^\|(\s*:?-{3,}:?\s*\|)+\s*$")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    out, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, line))
    return out


def tables(text: str) -> list[list[tuple[int, str]]]:
    """Runs of consecutive table rows (lines starting with |) outside code blocks."""
    runs, current, last = [], [], None
    for number, line in prose_lines(text):
        if line.startswith("|") and last == number - 1 and current:
            current.append((number, line))
        elif line.startswith("|"):
            current = [(number, line)]
            runs.append(current)
        last = number if line.startswith("|") else None
    return runs


def cells(row: str) -> int:
    return len(re.split(r"(?<!\\)\|", row.strip().strip("|")))


def test_readme_starts_with_the_two_commands_that_work_on_a_fresh_machine():
    lines = README.splitlines()
    assert lines[0].startswith("# ")
    body = [line for line in lines[1:] if line.strip()]
    assert body[0] == "```sh", body[0]
    block = body[1:body.index("```", 1)]
    commands = [line.split("#", 1)[0].strip() for line in block]
    assert commands == ["make demo", "make test"], block


def test_every_table_renders_as_one_table():
    # A blank line inside a table ends it: the rows after it render as a stray paragraph.
    runs = tables(README)
    assert runs
    for run in runs:
        first = run[0][0]
        assert len(run) >= 2 and SEPARATOR.match(run[1][1]), \
            f"README.md:{first}: table rows without a header row and |---| separator (a blank line splits a table?)"
        width = cells(run[0][1])
        for number, row in run:
            assert cells(row) == width, f"README.md:{number}: {cells(row)} cells, the header has {width}"


def test_what_it_measures_table_lists_every_module_in_one_table():
    from exporter.probes import PROBERS
    section = README.split("## What it measures", 1)[1].split("\n## ", 1)[0]
    run = tables(section)[0]
    modules = [row.split("|")[1].strip().strip("`") for _, row in run[2:]]
    assert modules == list(PROBERS), modules


def github_anchor(heading: str) -> str:
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return "#" + slug.replace(" ", "-")


def test_contents_lists_every_section_in_order():
    headings = [line[3:] for _, line in prose_lines(README) if line.startswith("## ")]
    assert headings[0] == "Contents"
    contents = README.split("## Contents\n", 1)[1].split("\n\n", 1)[0].splitlines()
    entries = [re.fullmatch(r"- \[(.+)\]\((#.+)\)", line) for line in contents]
    assert all(entries), contents
    assert [m.group(1) for m in entries] == headings[1:]
    assert [m.group(2) for m in entries] == [github_anchor(h) for h in headings[1:]]


def test_probe_example_gives_the_token():
    # examples/exporter.yml reads the token from OPENCLAW_GATEWAY_TOKEN: a probe without it fails.
    probes = [line for line in README.splitlines() if re.search(r"openclaw-exporter probe|-m exporter probe", line)]
    assert probes
    for line in probes:
        if "examples/exporter.yml" in line:
            assert "OPENCLAW_GATEWAY_TOKEN=" in line, line


def test_readme_says_how_long_make_test_takes_and_what_it_downloads():
    text = re.sub(r"\s+", " ", README)
    assert re.search(r"`make test`[^.]*\b\d+\s*(?:-|–|to)\s*\d+ min", text), "how long make test takes"
    for what in ("npm", "pip", "Debian"):
        assert re.search(rf"{what}[^.]*\b\d+ MB", text), f"download size of the {what} part"


def documented(name: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(name)}(?:_total|_bucket|_sum|_count)?(?![\w])", DOCS) is not None


def test_every_exporter_metric_is_documented():
    metrics = {m for m in names.declared() if m.startswith(names.NAMESPACE + "_")}
    assert len(metrics) > 30
    missing = sorted(m for m in metrics if not documented(m))
    assert not missing, f"metrics in openclaw_schema/names.py not in README.md or docs/: {missing}"


def all_flags(parser: argparse.ArgumentParser, path: str = "openclaw-exporter") -> list[tuple[str, str]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += all_flags(sub, f"{path} {name}")
        else:
            out += [(path, opt) for opt in action.option_strings if opt.startswith("--") and opt not in ("--help", "--version")]
    return out


def test_every_cli_flag_is_documented():
    flags = all_flags(build_parser()) + [
        flag for name in GENERATORS for flag in all_flags(generator_parser(name), f"openclaw-exporter {name}")]
    assert ("openclaw-exporter generate", "--check") in flags
    assert ("openclaw-exporter run", "--web.listen-address") in flags
    missing = sorted({f"{cmd} {flag}" for cmd, flag in flags
                      if not re.search(rf"`{re.escape(flag)}(?:[ =`])", DOCS)})
    assert not missing, f"CLI flags not in README.md or docs/: {missing}"
