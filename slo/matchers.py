"""Parse a PromQL label-matcher list (`job="kubelet", metrics_path="/metrics/cadvisor"`).

The alerts config takes selectors as PromQL matcher strings; they are parsed here at
generation time so a typo is a clear error naming the key, not a rule file Prometheus
rejects later. The grammar is PromQL's (label name, one of = != =~ !~, a quoted string in
"", '' or ``, comma-separated, an optional trailing comma); tests/test_alert_rules.py
checks that this parser and a real promtool agree on valid and invalid inputs.
Parsed matchers are rendered back with JSON quoting (valid PromQL string escaping).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_OPS = ("=~", "!~", "!=", "=")  # longest first
# Go's strconv.Unquote escapes, which PromQL strings use.
_ESCAPE = re.compile(r"\\(?:[abfnrtv\\'\"]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3})")
_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"'}


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def render(self) -> str:
        return f"{self.name}{self.op}{json.dumps(self.value)}"


def _unescape(match: re.Match) -> str:
    body = match.group(0)[1:]
    if body[0] in _SIMPLE:
        return _SIMPLE[body[0]]
    if body[0] in "xuU":
        return chr(int(body[1:], 16))
    return chr(int(body, 8))


def _string(text: str, pos: int) -> tuple[str, int]:
    quote = text[pos]
    if quote == "`":
        end = text.find("`", pos + 1)
        if end < 0:
            raise ValueError("unterminated raw string")
        return text[pos + 1:end], end + 1
    out, i = [], pos + 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\n":
            break
        if ch == "\\":
            esc = _ESCAPE.match(text, i)
            if esc is None or (esc.group(0)[1] in "'\"" and esc.group(0)[1] != quote):
                raise ValueError(f"invalid escape sequence at {text[i:i + 2]!r}")
            out.append(_unescape(esc))
            i = esc.end()
            continue
        out.append(ch)
        i += 1
    raise ValueError("unterminated quoted string")


def parse(text: str) -> tuple[Matcher, ...]:
    """Matchers of `text`; ValueError says what is wrong and where."""
    matchers: list[Matcher] = []
    i, n = 0, len(text)

    def skip(k: int) -> int:
        while k < n and text[k] in " \t\r\n":
            k += 1
        return k

    i = skip(i)
    while i < n:
        name = _NAME.match(text, i)
        if name is None:
            raise ValueError(f"expected a label name at {text[i:i + 10]!r}")
        i = skip(name.end())
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op is None:
            raise ValueError(f"expected one of = != =~ !~ after {name.group(0)!r}")
        i = skip(i + len(op))
        if i >= n or text[i] not in "\"'`":
            raise ValueError(f"expected a quoted string after {name.group(0)}{op}")
        value, i = _string(text, i)
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {value!r} ({exc})") from exc
        matchers.append(Matcher(name.group(0), op, value))
        i = skip(i)
        if i < n:
            if text[i] != ",":
                raise ValueError(f"expected ',' between matchers at {text[i:i + 10]!r}")
            i = skip(i + 1)
    if not matchers:
        raise ValueError("must name at least one matcher, e.g. job=\"kube-state-metrics\"")
    return tuple(matchers)


def render(matchers: tuple[Matcher, ...]) -> str:
    return ",".join(m.render() for m in matchers)
