"""Server-rendered HTML for the status page: no build step, no scripts, no external assets.

The pages are Jinja2 templates (exporter/templates/*.html) with autoescape on: every value is
text unless this module marks it otherwise, and it marks only its own stylesheet
(templates/status.css). The CSS is inline and allowed by its hash in the Content-Security-Policy,
which also forbids every script: the page works offline and from a phone.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import time
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    import jinja2

CSS = files("exporter").joinpath("templates/status.css").read_text(encoding="utf-8")
_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
# No script may run at all; the only style is the inline sheet (by hash), images are inline.
HEADERS = {
    "Content-Security-Policy": f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_STATUS_CLASS = {"OK": "s-ok", "READY": "s-ok", "FAIL": "s-bad", "EXHAUSTED": "s-bad", "NOT READY": "s-bad",
                 "LOW": "s-warn", "PENDING": "s-none", "NO DATA": "s-none"}
_STATUS_ICON = {"OK": "\u2713", "READY": "\u2713", "FAIL": "\u2717", "EXHAUSTED": "\u2717", "NOT READY": "\u2717",
                "LOW": "!", "PENDING": "\u2026", "NO DATA": "?"}
# A young series still gets readable ticks; with the full history (100 probes) they narrow.
SPARK_MIN_SLOTS = 30
_FILL = {"s-ok": "#1e7b3a", "s-bad": "#c0392b", "s-warn": "#b07800", "s-none": "#8a8a8a"}


# -- formatting ----------------------------------------------------------------------------------
def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "\u2014"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def fmt_ratio(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "\u2014"
    text = f"{value * 100:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text} %"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "\u2014"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def fmt_time(t: float | None) -> str:
    if not t:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def target_href(name: str) -> str:
    return "/targets/" + quote(name, safe="")


# -- drawing --------------------------------------------------------------------------------------
def spark_shapes(spark: dict[str, Any], width: int = 150, height: int = 32) -> dict[str, Any]:
    """One slot per probe, newest at the right: a short green tick per OK probe with the latency
    line above, a full-height red bar per failure (the shape differs, not only the colour)."""
    points = spark["points"]
    peak = spark["max_seconds"] or 0.0
    label = (f"Last hour: {spark['ok']} OK, {spark['failed']} failed"
             + (f", slowest {fmt_seconds(peak)}" if peak else ""))
    slot = width / max(len(points), SPARK_MIN_SLOTS)
    bar = round(max(slot - 0.5, 1), 1)
    bars, line = [], []
    for i, p in enumerate(points):
        x = round(width - (len(points) - i) * slot, 1)
        if p["ok"]:
            bars.append((x, height - 5, bar, 5, _FILL["s-ok"]))
            if p["seconds"] is not None and peak > 0:
                line.append(f"{round(x + slot / 2, 1)},{round(height - 8 - p['seconds'] / peak * (height - 11), 1)}")
        else:
            bars.append((x, 0, bar, height, _FILL["s-bad"]))
    return {"label": label, "width": width, "height": height, "bars": bars,
            "line": " ".join(line) if len(line) >= 2 else None}


def budget_fill(remaining: float | None, width: int) -> float:
    return round(0.0 if remaining is None else max(0.0, min(1.0, remaining)) * width, 1)


# -- pages ----------------------------------------------------------------------------------------
@functools.cache
def listing_href(sort: str, page: int) -> str:
    """A link to one page of the targets table in one order (plain links: no script needed)."""
    return "?" + urlencode({"sort": sort, "page": page})


def _environment() -> "jinja2.Environment":
    """Built and its templates compiled once, on first render (the exporter's --help and
    probe commands never pay for Jinja2)."""
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(loader=jinja2.PackageLoader("exporter", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt_seconds=fmt_seconds, fmt_ratio=fmt_ratio, fmt_duration=fmt_duration,
                       fmt_time=fmt_time, target_href=target_href, urlquote=lambda v: quote(str(v), safe=""))
    env.globals.update(status_class=lambda s: _STATUS_CLASS.get(s, "s-none"), status_icon=lambda s: _STATUS_ICON.get(s, ""),
                       status_fill=lambda s: _FILL[_STATUS_CLASS.get(s, "s-none")],
                       spark_shapes=spark_shapes, budget_fill=budget_fill, listing_href=listing_href,
                       css=Markup(CSS))  # the package's own stylesheet: the one value not escaped
    for name in ("index.html", "target.html"):
        env.get_template(name)
    return env


def render_index(view: dict[str, Any]) -> str:
    return _environment().get_template("index.html").render(view=view)


def render_target(view: dict[str, Any]) -> str:
    return _environment().get_template("target.html").render(view=view)
