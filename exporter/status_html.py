"""Server-rendered HTML for the status page: no build step, no scripts, no external assets.

Pages are built with ``el()``, which escapes every text child and attribute value unless it
is ``Safe`` (markup this module made itself), so outside text cannot become markup by
forgetting a call. The CSS is inline and allowed by its hash in the Content-Security-Policy,
which also forbids every script: the page works offline and from a phone.
"""

from __future__ import annotations

import base64
import hashlib
import html
import time
from typing import Any, Iterable
from urllib.parse import quote, urlencode

VOID = frozenset({"meta", "link", "br"})
# Inside <svg> the HTML parser has no void elements: an unclosed <rect> would swallow its siblings.
SVG_EMPTY = frozenset({"rect", "polyline", "line"})

CSS = """
:root{color-scheme:light;--fg:#1a1a1a;--muted:#4a4a4a;--line:#c8c8c8;--bg:#fff;
--ok-fg:#0b5323;--ok-bg:#d7f0dd;--bad-fg:#8a1111;--bad-bg:#fbdcdc;--warn-fg:#6b4500;--warn-bg:#fff0c2;
--none-fg:#333;--none-bg:#e6e6e6;--link:#0645ad}
*{box-sizing:border-box}
body{margin:0;padding:1rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:72rem;margin:0 auto}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:1.75rem 0 .5rem}
a{color:var(--link)}a:focus-visible{outline:3px solid #1f5fbf;outline-offset:2px}
.meta,.small{color:var(--muted);font-size:.85rem}
.meta{margin:0 0 .5rem}
table{border-collapse:collapse;width:100%}
caption{text-align:left;font-weight:600;padding:.25rem 0;color:var(--muted)}
th,td{border-bottom:1px solid var(--line);padding:.4rem .5rem;text-align:left;vertical-align:top}
thead th{font-size:.85rem;background:#f3f3f3}
code{overflow-wrap:anywhere}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;min-width:4.5em;padding:.05rem .4rem;border-radius:.25rem;font-weight:700;font-size:.8rem;text-align:center;border:1px solid currentColor}
.s-ok{color:var(--ok-fg);background:var(--ok-bg)}
.s-bad{color:var(--bad-fg);background:var(--bad-bg)}
.s-warn{color:var(--warn-fg);background:var(--warn-bg)}
.s-none{color:var(--none-fg);background:var(--none-bg)}
.msg{overflow-wrap:anywhere}
.empty{padding:.5rem .75rem;background:#f3f3f3;border-left:4px solid var(--line)}
.error{padding:.5rem .75rem;background:var(--bad-bg);color:var(--bad-fg);border-left:4px solid var(--bad-fg)}
svg{vertical-align:middle}
pre{margin:.25rem 0;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.8rem}
details summary{cursor:pointer;color:var(--link)}
footer{margin-top:2rem;color:var(--muted);font-size:.85rem}
@media (max-width:700px){
body{padding:.5rem}
table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.stack,table.stack tbody,table.stack tr,table.stack td,table.stack th[scope=row]{display:block;width:100%}
table.stack caption{display:block}
table.stack tr{border:1px solid var(--line);border-radius:.35rem;margin:0 0 .6rem;padding:.25rem .5rem}
table.stack td,table.stack th[scope=row]{border:0;padding:.2rem 0;background:none}
table.stack td[data-label]::before{content:attr(data-label);display:block;font-size:.75rem;color:var(--muted);font-weight:600}
}
"""

_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
# No script may run at all; the only style is the inline sheet above (by hash), images are inline.
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


class Safe(str):
    """Markup made by this module; everything else is text and gets escaped."""


def esc(value: Any) -> Safe:
    return value if isinstance(value, Safe) else Safe(html.escape(str(value), quote=True))


def el(tag: str, *children: Any, **attrs: Any) -> Safe:
    """``<tag attrs>children</tag>``; ``class_`` -> class, ``aria_label`` -> aria-label; None/False attrs dropped."""
    parts = [tag]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        parts.append(name if value is True else f'{name}="{esc(value)}"')
    open_tag = "<" + " ".join(parts) + ">"
    if tag in VOID:
        return Safe(open_tag)
    if tag in SVG_EMPTY and not children:
        return Safe(open_tag[:-1] + "/>")
    return Safe(open_tag + "".join(esc(c) for c in _flatten(children)) + f"</{tag}>")


def _flatten(children: Iterable[Any]) -> Iterable[Any]:
    for child in children:
        if child is None:
            continue
        if isinstance(child, (list, tuple)):
            yield from _flatten(child)
        else:
            yield child


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


def badge(status: str) -> Safe:
    cls = _STATUS_CLASS.get(status, "s-none")
    return el("span", el("span", _STATUS_ICON.get(status, ""), aria_hidden="true"), " ", status, class_=f"badge {cls}")


def target_href(name: str) -> str:
    return "/targets/" + quote(name, safe="")


# -- pieces ---------------------------------------------------------------------------------------
def sparkline(spark: dict[str, Any], width: int = 150, height: int = 32) -> Safe:
    """One slot per probe, newest at the right: a short green tick per OK probe with the latency
    line above, a full-height red bar per failure (the shape differs, not only the colour)."""
    points = spark["points"]
    peak = spark["max_seconds"] or 0.0
    label = (f"Last hour: {spark['ok']} OK, {spark['failed']} failed"
             + (f", slowest {fmt_seconds(peak)}" if peak else ""))
    slot = width / max(len(points), SPARK_MIN_SLOTS)
    shapes = [el("rect", x=0, y=0, width=width, height=height, fill="#f3f3f3")]
    line = []
    for i, p in enumerate(points):
        x = round(width - (len(points) - i) * slot, 1)
        if p["ok"]:
            shapes.append(el("rect", x=x, y=height - 5, width=round(max(slot - 0.5, 1), 1), height=5, fill=_FILL["s-ok"]))
            if p["seconds"] is not None and peak > 0:
                line.append(f"{round(x + slot / 2, 1)},{round(height - 8 - p['seconds'] / peak * (height - 11), 1)}")
        else:
            shapes.append(el("rect", x=x, y=0, width=round(max(slot - 0.5, 1), 1), height=height, fill=_FILL["s-bad"]))
    if len(line) >= 2:
        shapes.append(el("polyline", points=" ".join(line), fill="none", stroke="#1f4e8c", stroke_width="1.5"))
    return el("svg", el("title", label), shapes, xmlns="http://www.w3.org/2000/svg", width=width, height=height,
              viewBox=f"0 0 {width} {height}", role="img", aria_label=label)


def budget_bar(remaining: float | None, status: str, width: int = 100) -> Safe:
    filled = 0.0 if remaining is None else max(0.0, min(1.0, remaining)) * width
    return el("svg", el("rect", x=0, y=0, width=width, height=10, fill="#e6e6e6"),
              el("rect", x=0, y=0, width=round(filled, 1), height=10, fill=_FILL[_STATUS_CLASS.get(status, "s-none")]),
              xmlns="http://www.w3.org/2000/svg", width=width, height=10, viewBox=f"0 0 {width} 10", aria_hidden="true")


def td(label: str, *children: Any, **attrs: Any) -> Safe:
    return el("td", *children, data_label=label, **attrs)


def table(caption: str, columns: Iterable[str], rows: list[Safe]) -> Safe:
    """A table that stacks into one card per row on a phone (see the CSS)."""
    return el("table", el("caption", caption), el("thead", el("tr", [el("th", n, scope="col") for n in columns])),
              el("tbody", rows), class_="stack")


def table_section(anchor: str, title: str, caption: str, columns: Iterable[str], rows: list[Safe],
                  *intro: Any) -> Safe:
    return el("section", el("h2", title, id=anchor), intro, table(caption, columns, rows), aria_labelledby=anchor)


def notice(anchor: str, title: str, kind: str, *text: Any) -> Safe:
    """A section with a sentence instead of a table: nothing configured, or its provider failed."""
    return el("section", el("h2", title, id=anchor), el("p", *text, class_=kind), aria_labelledby=anchor)


def page(title: str, refresh: int, *body: Any) -> str:
    return "<!DOCTYPE html>\n" + el(
        "html",
        el("head",
           el("meta", charset="utf-8"),
           el("meta", name="viewport", content="width=device-width, initial-scale=1"),
           el("meta", http_equiv="refresh", content=str(refresh)),
           el("link", rel="icon", href="data:,"),
           el("title", title),
           el("style", Safe(CSS))),
        el("body", el("main", *body)),
        lang="en")


# -- front page -----------------------------------------------------------------------------------
def render_index(view: dict[str, Any]) -> str:
    summary = view["summary"]
    probed = summary["probes"] - summary["pending"]
    if summary["failing"]:
        headline = f"{summary['failing']} of {summary['probes']} probes failing"
    else:
        headline = f"All {probed} probed checks OK" if probed else "No probe results yet"
    return page(
        ("FAIL \u2013 " if summary["failing"] else "") + "OpenClaw status",
        view["refresh_seconds"],
        el("header",
           el("h1", "OpenClaw status"),
           el("p", badge("FAIL" if summary["failing"] else ("OK" if probed else "PENDING")), " ", headline,
              f", {summary['pending']} not yet probed" if summary["pending"] else "", class_="meta"),
           el("p", f"Updated {fmt_time(view['generated_at'])}; refreshes every {view['refresh_seconds']} s.",
              class_="meta")),
        _slo_section(view["slos"]),
        _probe_section(view["probes"], view["paging"]),
        _pod_section(view["pods"]),
        _footer(view),
    )


def _slo_section(section: dict[str, Any]) -> Safe:
    title = "Service level objectives"
    if section["error"]:
        return notice("slos", title, "error", "The SLO engine failed to report: ", section["error"])
    if not section["rows"]:
        return notice("slos", title, "empty", "No SLOs configured.")
    rows = []
    for r in section["rows"]:
        if r["budget_remaining"] is None:
            exhaustion = "no data"
        elif r["budget_remaining"] <= 0:
            exhaustion = "exhausted"
        elif r["time_to_exhaustion_seconds"] is None:
            exhaustion = "not burning"
        else:
            exhaustion = fmt_duration(r["time_to_exhaustion_seconds"])
        rows.append(el(
            "tr",
            el("th", r["name"] or "(unnamed)",
               el("div", r["description"], class_="small") if r["description"] else None, scope="row"),
            td("Objective", fmt_ratio(r["objective"]), f" over {r['window']}" if r["window"] else "", class_="num"),
            td("SLI", fmt_ratio(r["sli"]), class_="num"),
            td("Budget left", badge(r["status"]), " ", budget_bar(r["budget_remaining"], r["status"]), " ",
               fmt_ratio(r["budget_remaining"], 1), class_="num"),
            td("Burn rate", "\u2014" if r["burn_rate"] is None else f"{r['burn_rate']:.2f}\u00d7", class_="num"),
            td("Time to exhaustion", exhaustion, class_="num"),
        ))
    return table_section("slos", title, "SLOs, least error budget left first",
                         ("SLO", "Objective", "SLI", "Budget left", "Burn rate", "Time to exhaustion"), rows)


def listing_href(sort: str, page: int) -> str:
    return "?" + urlencode({"sort": sort, "page": page})


def _listing_nav(paging: dict[str, Any]) -> Safe:
    """Sort links and the pager: plain links, so the page stays script-free and bookmarkable."""
    names = {"status": "failing first", "burn": "fastest budget burn first"}
    sorts = [el("strong", names.get(s, s)) if s == paging["sort"] else el("a", names.get(s, s), href=listing_href(s, 1))
             for s in paging["sorts"]]
    sort, page, pages = paging["sort"], paging["page"], paging["pages"]
    pager: list[Any] = []
    if pages > 1:
        pager = [" · ", el("a", "← previous", href=listing_href(sort, page - 1), rel="prev") if page > 1 else None,
                 f" page {page} of {pages} ({paging['targets']} targets) ",
                 el("a", "next →", href=listing_href(sort, page + 1), rel="next") if page < pages else None]
    return el("nav", "Sort: ", [[x, " | "] for x in sorts[:-1]], sorts[-1:], pager, aria_label="Targets table", class_="meta")


def _probe_section(probes: list[dict[str, Any]], paging: dict[str, Any]) -> Safe:
    if not probes:
        return notice("targets", "Targets", "empty", "No targets configured.")
    rows = []
    for p in probes:
        lat = p["latency_seconds"]
        if all(v is None for v in lat.values()):
            latency: Any = el("span", f"no successful probe in {p['latency_window']}", class_="small")
        else:
            latency = [f"P50 {fmt_seconds(lat['p50'])}", el("br"), f"P95 {fmt_seconds(lat['p95'])}", el("br"),
                       f"P99 {fmt_seconds(lat['p99'])}"]
        if p["status"] == "PENDING":
            last: Any = [badge("PENDING"), " not probed yet"]
        else:
            last = [badge(p["status"]), " ", el("strong", p["result"]),
                    el("div", p["message"], class_="msg"),
                    el("div", f"{fmt_duration(p['age_seconds'])} ago", class_="small")]
        spark = p["sparkline"]
        rows.append(el(
            "tr",
            el("th", el("a", p["target"], href=target_href(p["target"]) + "#m-" + quote(p["module"], safe="")),
               el("div", p["url"], class_="small msg") if p["url"] else None,
               el("div", "gateway ", p["gateway_version"], class_="small") if p["gateway_version"] else None,
               scope="row"),
            td("Module", p["module"],
               el("div", f"every {p['interval_seconds']:g} s", class_="small") if p["interval_seconds"] else None,
               el("div", p["cost"], class_="small") if p.get("cost") else None),
            td("Last result", last, data_status=p["status"]),
            td(f"Total latency, {p['latency_window']}", latency, class_="num"),
            td("Last hour", sparkline(spark), el("div", f"{spark['ok']} OK, {spark['failed']} failed", class_="small")),
            td("Budget burn, 1 h", "\u2014" if p["burn_rate"] is None else f"{p['burn_rate']:.2f}\u00d7", class_="num"),
        ))
    order = "fastest error-budget burn first" if paging["sort"] == "burn" else "failing first"
    return table_section("targets", "Targets", f"Probes by target and module, {order}",
                         ("Target", "Module", "Last result", "Total latency (5m)", "Last hour", "Budget burn (1 h)"), rows,
                         _listing_nav(paging))


def _pod_section(section: dict[str, Any]) -> Safe:
    title = "Kubernetes pods"
    if not section["enabled"]:
        return notice("pods", title, "empty", "Kubernetes watcher not enabled.")
    if section["error"]:
        return notice("pods", title, "error", "The Kubernetes watcher failed to report: ", section["error"])
    if not section["rows"]:
        return notice("pods", title, "empty", "No pods found.")
    rows = [el("tr",
               el("th", r["pod"] or "(unnamed)",
                  el("div", r["namespace"], class_="small") if r["namespace"] else None, scope="row"),
               td("Ready", badge(r["status"])),
               td("Restarts (1 h)", "\u2014" if r["restarts_last_hour"] is None else r["restarts_last_hour"],
                  class_="num"),
               td("Waiting reason", r["waiting_reason"] or "\u2014"),
               td("Latest warning event", r["last_warning"] or "\u2014", class_="msg"))
            for r in section["rows"]]
    return table_section("pods", title, "Gateway pods",
                         ("Pod", "Ready", "Restarts (1 h)", "Waiting reason", "Latest warning event"), rows)


def _footer(view: dict[str, Any]) -> Safe:
    cfg = view["config"]
    if cfg["reload_ok"]:
        reload = [badge("OK"), f" config loaded {fmt_time(cfg['reload_time'])} from ", el("code", cfg["source"])]
    else:
        reload = [badge("FAIL"), " last reload failed, previous config kept: ", el("span", cfg["reload_error"], class_="msg")]
    return el("footer",
              el("h2", "Exporter", id="exporter"),
              el("p", *reload),
              el("p", f"openclaw-slo-exporter {view['version']} \u00b7 ",
                 el("a", "metrics", href="/metrics"), " \u00b7 ", el("a", "status JSON", href="/api/status")))


# -- one target -----------------------------------------------------------------------------------
def render_target(view: dict[str, Any]) -> str:
    name = view["target"]
    intro = [el("p", el("a", "\u2190 All targets", href="/"), class_="meta")]
    if view["url"]:
        intro.append(el("p", "URL ", el("code", view["url"]), class_="meta"))
    if view["gateway_version"]:
        intro.append(el("p", "Gateway version ", view["gateway_version"], class_="meta"))
    if not view["configured"]:
        intro.append(el("p", "This target is no longer in the config; its history is kept until the next reload.",
                        class_="empty"))
    sections = [_module_history(name, m) for m in view["modules"]]
    if not sections:
        sections.append(el("p", "Not probed yet.", class_="empty"))
    return page(f"{name} \u2013 OpenClaw status", view["refresh_seconds"],
                el("h1", "Target ", name), intro,
                el("p", f"Updated {fmt_time(view['generated_at'])}; refreshes every {view['refresh_seconds']} s.",
                   class_="meta"),
                sections)


def _module_history(target: str, module: dict[str, Any]) -> Safe:
    anchor = "m-" + module["module"]
    counts = ", ".join(f"{k} {v}" for k, v in module["attempts"].items()) or "none"
    rows = []
    for h in module["history"]:
        phases = [[f"{k} {fmt_seconds(v)}", el("br")] for k, v in h["phases_seconds"].items()]
        logs = (el("details", el("summary", f"{len(h['logs'])} log lines"), el("pre", "\n".join(h["logs"])))
                if h["logs"] else "\u2014")
        rows.append(el(
            "tr",
            el("th", fmt_time(h["started"]), el("div", f"{fmt_duration(h['age_seconds'])} ago", class_="small"),
               scope="row"),
            td("Result", badge(h["status"]), " ", el("strong", h["result"]),
               el("div", h["message"], class_="msg")),
            td("Phases", phases, class_="num"),
            td("Log", logs),
        ))
    return table_section(anchor, f"Module {module['module']}",
                         f"Last {len(module['history'])} probes of {target}, module {module['module']}, newest first",
                         ("Started", "Result", "Phases", "Log"), rows,
                         el("p", f"Attempts since start: {counts}", class_="meta"))
