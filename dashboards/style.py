"""House style: the panels, variables and PromQL helpers every dashboard is built from.

Every panel helper takes ``shows`` (what the panel shows) and ``red`` (what to do when it is
red) and joins them into the panel description, so no panel ships without both. Sizes are
given as ``w``/``h``; ``layout()`` places panels left to right and gives each an id derived
from its title, so positions and ids are the same in every generation.
"""

from __future__ import annotations

import zlib
from typing import Iterable, Sequence

import attr
from grafanalib import core as g

from dashboards import catalog
from openclaw_schema import names as c

TAG = "openclaw"
SCHEMA_VERSION = 37  # Grafana 9.x; newer Grafana migrates it on load
DS_INPUT = "DS_PROMETHEUS"
DATASOURCE_VAR = "datasource"
DATASOURCE = {"type": "prometheus", "uid": "${%s}" % DATASOURCE_VAR}
GRID_WIDTH = 24

# What "All" of a multi-value variable sends: every value, and series without the label too.
ALL = ".*"

GREEN, YELLOW, ORANGE, RED, BLUE = "green", "yellow", "orange", "red", "blue"

UNIT_SECONDS = "s"
UNIT_RATIO = "percentunit"
UNIT_BYTES = "bytes"
UNIT_OPS = "ops"
UNIT_COUNT = "short"
UNIT_TIMES = "suffix:×"  # burn rates: multiples of the sustainable rate


def generated_note(module: str) -> str:
    return (f"Generated from dashboards/{module}.py by `openclaw-exporter generate`; "
            "DO NOT EDIT the JSON: edit the Python and regenerate.")


# --- small typed pieces grafanalib lacks ---------------------------------------------------


@attr.s(frozen=True)
class Step:
    """A threshold step; the first step of a list has no value (it starts at -Infinity)."""

    color: str = attr.ib()
    value: float | None = attr.ib(default=None)

    def to_json_data(self) -> dict:
        return {"color": self.color, "value": self.value}


def steps(base: str, *rest: tuple[float, str]) -> list[Step]:
    """``steps("green", (0.8, "orange"), (0.9, "red"))``: colours by rising value."""
    values = [v for v, _ in rest]
    if values != sorted(values):
        raise ValueError(f"threshold values must rise: {values}")
    return [Step(base)] + [Step(color, float(v)) for v, color in rest]


def describe(shows: str, red: str) -> str:
    if not shows.strip() or not red.strip():
        raise ValueError("every panel needs what it shows and what to do when it is red")
    return f"{shows.strip()}\n\nWhen red: {red.strip()}"


def value_map(*pairs: tuple[str, str, str]) -> list[dict]:
    """Value -> (text, colour) mappings, e.g. ``("1", "UP", GREEN)``."""
    return [{"type": "value", "options": {value: {"text": text, "color": color, "index": i}
                                           for i, (value, text, color) in enumerate(pairs)}}]


UP_DOWN = value_map(("0", "DOWN", RED), ("1", "UP", GREEN))


# --- PromQL helpers -------------------------------------------------------------------------


def eq(label: str, value: str) -> str:
    return f'{label}="{value}"'


def ne(label: str, value: str) -> str:
    return f'{label}!="{value}"'


def match(label: str, regex: str) -> str:
    return f'{label}=~"{regex}"'


def var(label: str, name: str | None = None) -> str:
    """``label=~"$label"``: filter by the dashboard variable of the same name."""
    return match(label, "$" + (name or label))


def sel(metric: str, *matchers: str) -> str:
    return f"{metric}{{{','.join(matchers)}}}" if matchers else metric


def by(*labels: str) -> str:
    return f"by ({', '.join(labels)})"


def rate(selector: str, window: str = "$__rate_interval") -> str:
    return f"rate({selector}[{window}])"


def quantile_over(q: float, histogram: str, matchers: Sequence[str], labels: Sequence[str] = (),
                  window: str = "$__rate_interval", fn: str = "rate") -> str:
    """histogram_quantile over ``histogram``'s buckets, summed by ``labels`` (``le`` added)."""
    buckets = sel(histogram + "_bucket", *matchers)
    return f"histogram_quantile({q}, sum {by(*labels, c.LABEL_LE)} ({fn}({buckets}[{window}])))"


def either(primary: str, fallback: str, labels: Sequence[str]) -> str:
    """``primary``'s series, or ``fallback``'s where ``primary`` has none (labels reduced to ``labels``).

    Lets a panel work with whichever source a Prometheus has: SLO recording rules or the
    exporter's live SLO gauges; the exporter's Kubernetes watcher or kube-state-metrics.
    """
    return f"max {by(*labels)} ({primary}) or max {by(*labels)} ({fallback})"


def legend(fmt: str, *labels: str) -> str:
    """A Grafana legend: ``legend("{} / {}", LABEL_TARGET, LABEL_MODULE)`` -> ``{{target}} / {{module}}``."""
    return fmt.format(*("{{%s}}" % label for label in labels))


def percentile_name(q: float) -> str:
    return f"P{q * 100:g}"


# --- queries ------------------------------------------------------------------------------


@attr.s(frozen=True)
class Query:
    """One PromQL expression of a panel; turned into a grafanalib Target by the panel."""

    expr: str = attr.ib()
    legend: str = attr.ib(default="")
    instant: bool = attr.ib(default=False)
    table: bool = attr.ib(default=False)


def _targets(queries: Sequence[Query | str]) -> list[g.Target]:
    out = []
    for i, q in enumerate(queries):
        q = Query(q) if isinstance(q, str) else q
        out.append(g.Target(
            expr=q.expr, legendFormat=q.legend, refId=chr(ord("A") + i), instant=q.instant,
            format=g.TABLE_TARGET_FORMAT if q.table else g.TIME_SERIES_TARGET_FORMAT,
            intervalFactor=1, datasource=DATASOURCE,
        ))
    return out


def _common(title: str, shows: str, red: str, queries: Sequence[Query | str], w: int, h: int,
            thresholds: list[Step]) -> dict:
    if not 0 < w <= GRID_WIDTH:
        raise ValueError(f"{title}: width {w} out of 1..{GRID_WIDTH}")
    return dict(title=title, description=describe(shows, red), targets=_targets(queries),
                dataSource=DATASOURCE, gridPos=g.GridPos(h=h, w=w, x=0, y=0),
                thresholds=thresholds, maxDataPoints=None)


# --- house panels -----------------------------------------------------------------------------


def stat(title: str, *, shows: str, red: str, queries: Sequence[Query | str], unit: str,
         thresholds: list[Step], w: int = 4, h: int = 4, mappings: list | None = None,
         text_mode: str = "auto", graph: bool = False, decimals: int | None = None,
         no_value: str = "no data", color_mode: str = "background") -> g.Stat:
    return g.Stat(
        **_common(title, shows, red, queries, w, h, thresholds),
        format=unit, mappings=mappings or [], textMode=text_mode, graphMode="area" if graph else "none",
        reduceCalc="lastNotNull", decimals=decimals, noValue=no_value, colorMode=color_mode,
        color={"mode": "thresholds"},
    )


def gauge(title: str, *, shows: str, red: str, queries: Sequence[Query | str], unit: str,
          thresholds: list[Step], w: int = 4, h: int = 4, low: float = 0, high: float = 1,
          decimals: int | None = None) -> g.GaugePanel:
    panel = g.GaugePanel(
        **_common(title, shows, red, queries, w, h, thresholds),
        format=unit, min=low, max=high, decimals=decimals, calc="lastNotNull",
    )
    # grafanalib 0.7.1 writes the gauge options under fieldConfig; Grafana reads them here.
    return attr.evolve(panel, extraJson={"options": {
        "orientation": "auto", "showThresholdLabels": False, "showThresholdMarkers": True,
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
    }})


def timeseries(title: str, *, shows: str, red: str, queries: Sequence[Query | str], unit: str,
               thresholds: list[Step], w: int = 12, h: int = 8, threshold_lines: bool = True,
               stack: bool = False, bars: bool = False, low: int | None = None, high: int | None = None,
               steps_after: bool = False, time_from: str | None = None) -> g.TimeSeries:
    return g.TimeSeries(
        **_common(title, shows, red, queries, w, h, thresholds),
        unit=unit, thresholdsStyleMode="line" if threshold_lines else "off",
        stacking={"mode": "normal", "group": "A"} if stack else {"mode": "none", "group": "A"},
        drawStyle="bars" if bars else "line", fillOpacity=60 if bars else 10,
        lineInterpolation="stepAfter" if steps_after else "linear",
        valueMin=low, valueMax=high, legendDisplayMode="table", legendPlacement="bottom",
        legendCalcs=["mean", "max", "lastNotNull"], tooltipMode="multi", tooltipSort="desc",
        timeFrom=time_from, colorMode="palette-classic",
    )


def latency_panel(title: str, *, shows: str, red: str, queries: Sequence[Query | str],
                  thresholds: list[Step], w: int = 12, h: int = 8) -> g.TimeSeries:
    """Seconds on a zero-based axis, with the threshold drawn as a line."""
    return timeseries(title, shows=shows, red=red, queries=queries, unit=UNIT_SECONDS,
                      thresholds=thresholds, w=w, h=h, low=0)


def ratio_panel(title: str, *, shows: str, red: str, queries: Sequence[Query | str],
                thresholds: list[Step], w: int = 12, h: int = 8, time_from: str | None = None,
                low: int | None = 0, high: int | None = 1) -> g.TimeSeries:
    """A percent axis (values are ratios, 0..1 unless told), with the threshold drawn as a line."""
    return timeseries(title, shows=shows, red=red, queries=queries, unit=UNIT_RATIO,
                      thresholds=thresholds, w=w, h=h, low=low, high=high, time_from=time_from)


def events_panel(title: str, *, shows: str, red: str, queries: Sequence[Query | str],
                 thresholds: list[Step], unit: str = UNIT_OPS, w: int = 12, h: int = 8) -> g.TimeSeries:
    """Stacked bars: counts or rates of discrete things (failures, events, reasons)."""
    return timeseries(title, shows=shows, red=red, queries=queries, unit=unit,
                      thresholds=thresholds, w=w, h=h, stack=True, bars=True, low=0)


def table(title: str, *, shows: str, red: str, queries: Sequence[Query | str], unit: str,
          thresholds: list[Step], w: int = 12, h: int = 6, hide: Iterable[str] = (),
          cell_links: dict[str, tuple[str, str]] | None = None,
          sort_by: tuple[str, bool] | None = None) -> g.Table:
    """Instant rows (one per series); ``hide`` drops columns such as Time; ``sort_by`` is
    (column, descending): the order the table opens in (a click on a header changes it).

    ``cell_links`` maps a column to (title, url) for a link on each of its cells; the url may
    use ``${__value.raw}``, the cell's value.
    """
    excluded = {name: True for name in ("Time", *hide)}
    overrides = [{"matcher": {"id": "byName", "options": column},
                  "properties": [{"id": "links", "value": [{"title": text, "url": url, "targetBlank": True}]}]}
                 for column, (text, url) in sorted((cell_links or {}).items())]
    return g.Table(
        **_common(title, shows, red, queries, w, h, thresholds),
        unit=unit, displayMode="color-text", filterable=True, overrides=overrides,
        transformations=[{"id": "organize", "options": {"excludeByName": excluded}}],
        sortBy=[g.TableSortByField(displayName=sort_by[0], desc=sort_by[1])] if sort_by else [],
    )


def row(title: str, repeat: str | None = None) -> g.RowPanel:
    return g.RowPanel(title=title, gridPos=g.GridPos(h=1, w=GRID_WIDTH, x=0, y=0),
                      repeat=g.Repeat(direction="h", variable=repeat) if repeat else g.Repeat())


# --- variables --------------------------------------------------------------------------------


def datasource_variable() -> g.Template:
    # `${DS_PROMETHEUS}` is replaced by grafana.com-style import; a sidecar-loaded copy keeps
    # the placeholder, which Grafana does not know, so it falls back to a Prometheus source.
    return g.Template(name=DATASOURCE_VAR, label="Data source", query="prometheus", type="datasource",
                      default="${%s}" % DS_INPUT, refresh=g.REFRESH_ON_DASHBOARD_LOAD, regex="")


def query_variable(name: str, label: str, query: str, *, multi: bool = True,
                   default: str | None = None) -> g.Template:
    """A label-values variable; multi-valued ones offer All (matching every value), selected by default."""
    t = g.Template(name=name, label=label, query=query, dataSource=DATASOURCE, multi=multi,
                   includeAll=multi, allValue=ALL if multi else None,
                   refresh=g.REFRESH_ON_TIME_RANGE_CHANGE, sort=g.SORT_ALPHA_ASC, regex="",
                   default=default)
    if default is None and multi:  # grafanalib has no parameter for "All selected"
        t._current = {"selected": True, "text": ["All"], "value": ["$__all"]}
    return t


def label_values(selector: str, label: str) -> str:
    return f"label_values({selector}, {label})"


# --- layout and the dashboard -----------------------------------------------------------------


def panel_id(title: str, taken: set[int]) -> int:
    """An id from the title, so links such as ``?viewPanel=<id>`` survive adding or moving panels."""
    number = zlib.crc32(title.encode()) % 100_000 + 1
    while number in taken:  # a collision: the next free number, still deterministic
        number += 1
    taken.add(number)
    return number


def layout(items: Sequence[g.Panel]) -> list[g.Panel]:
    """Place panels left to right, wrapping at 24 columns; a row starts a new line."""
    placed: list[g.Panel] = []
    taken: set[int] = set()
    x = y = line_h = 0
    for item in items:
        pos = item.gridPos
        if isinstance(item, g.RowPanel) or x + pos.w > GRID_WIDTH:
            x, y, line_h = 0, y + line_h, 0
        where = g.GridPos(h=pos.h, w=pos.w, x=x, y=y)
        placed.append(attr.evolve(item, id=panel_id(item.title, taken), gridPos=where))
        x, line_h = x + pos.w, max(line_h, pos.h)
        if isinstance(item, g.RowPanel):
            x, y, line_h = 0, y + pos.h, 0
    return placed


def links(uid: str) -> list[g.DashboardLink]:
    """Links to every other OpenClaw dashboard, carrying the time range and variables."""
    return [g.DashboardLink(type="link", title=title, uri=f"/d/{other}", icon="dashboard",
                            includeVars=True, keepTime=True, tooltip=f"Open {title}")
            for other, title in catalog.TITLES.items() if other != uid]


MIN_GRAFANA = "9.0.0"
PANEL_NAMES = {"gauge": "Gauge", "stat": "Stat", "table": "Table", "timeseries": "Time series"}


@attr.s
class HouseDashboard(g.Dashboard):
    """A grafanalib Dashboard that also lists what it needs (``__requires``), as Grafana's own
    "export for sharing externally" does, so grafana.com-style import can check it."""

    def to_json_data(self) -> dict:
        data = super().to_json_data()
        types = sorted({p.to_json_data()["type"] for p in self._iter_panels()} - {g.ROW_TYPE})
        data["__requires"] = [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": MIN_GRAFANA},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            *({"type": "panel", "id": t, "name": PANEL_NAMES[t], "version": ""} for t in types),
        ]
        return data


def dashboard(uid: str, module: str, summary: str, panels: Sequence[g.Panel],
              variables: Sequence[g.Template], time_from: str = "now-6h") -> g.Dashboard:
    return HouseDashboard(
        uid=uid, title=catalog.TITLES[uid], description=f"{summary.strip()} {generated_note(module)}",
        tags=[TAG], panels=layout(panels), links=links(uid),
        templating=g.Templating(list=[datasource_variable(), *variables]),
        inputs=[g.DataSourceInput(name=DS_INPUT, label="Prometheus", pluginId="prometheus",
                                  pluginName="Prometheus", description="Prometheus that scrapes the exporter")],
        time=g.Time(time_from, "now"), refresh="1m", timezone="utc", editable=True,
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR, schemaVersion=SCHEMA_VERSION, version=1,
    )
