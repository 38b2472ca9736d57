"""Panel and variable factories, so every dashboard shares one look and one way of querying."""

from typing import Any

DATASOURCE = {"type": "mysql", "uid": "siem-mariadb"}
SCHEMA_VERSION = 41  # Grafana 12, the version docker-compose.yml pins
ALL = "'__all'"  # what an "All" selection inserts; see var_in()

Panel = dict[str, Any]


def _target(sql: str, fmt: str) -> dict[str, Any]:
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "format": fmt,
        "rawQuery": True,
        "rawSql": sql,
        "refId": "A",
    }


def _panel(kind: str, title: str, sql: str, fmt: str, *, width: int, height: int, description: str) -> Panel:
    return {
        "datasource": DATASOURCE,
        "description": description,
        "gridPos": {"h": height, "w": width, "x": 0, "y": 0},
        "targets": [_target(sql, fmt)],
        "title": title,
        "type": kind,
    }


def timeseries(
    title: str,
    sql: str,
    description: str = "",
    *,
    width: int = 12,
    height: int = 8,
    stack: bool = True,
    min_interval: str = "",
) -> Panel:
    """Counts over time; the query returns time, metric, value (one series per metric).

    `min_interval` keeps $__interval at or above the resolution of a rollup table.
    """
    panel = _panel("timeseries", title, sql, "time_series", width=width, height=height, description=description)
    if min_interval:
        panel["interval"] = min_interval
    panel["fieldConfig"] = {
        "defaults": {
            "custom": {
                "drawStyle": "bars" if stack else "line",
                "fillOpacity": 60,
                "stacking": {"mode": "normal" if stack else "none"},
            },
            "unit": "short",
        },
        "overrides": [],
    }
    panel["options"] = {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}}
    return panel


def stat(title: str, sql: str, description: str = "", *, width: int = 6, height: int = 4, link: str = "") -> Panel:
    """One headline number."""
    panel = _panel("stat", title, sql, "table", width=width, height=height, description=description)
    panel["options"] = {
        "colorMode": "value",
        "graphMode": "none",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": ""},
    }
    panel["fieldConfig"] = {
        "defaults": {"unit": "short", "links": [{"title": "Open", "url": link}] if link else []},
        "overrides": [],
    }
    return panel


def table(title: str, sql: str, description: str = "", *, width: int = 12, height: int = 10) -> Panel:
    """Rows as they come from the query."""
    panel = _panel("table", title, sql, "table", width=width, height=height, description=description)
    panel["options"] = {"cellHeight": "sm", "showHeader": True}
    panel["fieldConfig"] = {"defaults": {}, "overrides": []}
    return panel


def barchart(title: str, sql: str, description: str = "", *, width: int = 8, height: int = 8) -> Panel:
    """Top-N: a label column, then a count."""
    panel = _panel("barchart", title, sql, "table", width=width, height=height, description=description)
    panel["options"] = {"orientation": "horizontal", "showValue": "auto", "legend": {"showLegend": False}}
    panel["fieldConfig"] = {"defaults": {"unit": "short"}, "overrides": []}
    return panel


def layout(panels: list[Panel]) -> list[Panel]:
    """Place panels left to right in rows 24 units wide, numbering them."""
    x = y = row_height = 0
    for number, panel in enumerate(panels, start=1):
        grid = panel["gridPos"]
        if x + grid["w"] > 24:
            x, y, row_height = 0, y + row_height, 0
        grid["x"], grid["y"] = x, y
        x += grid["w"]
        row_height = max(row_height, grid["h"])
        panel["id"] = number
    return panels


def query_variable(name: str, label: str, sql: str) -> dict[str, Any]:
    """A multi-value variable with "All", filled from SQL whenever the time range changes."""
    return {
        "allValue": ALL,
        "current": {"text": "All", "value": "$__all"},
        "datasource": DATASOURCE,
        "definition": sql,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
        "query": sql,
        "refresh": 2,
        "sort": 1,
        "type": "query",
    }


def text_variable(name: str, label: str, description: str = "") -> dict[str, Any]:
    """A free-text box; queries use it as ${name:sqlstring}, which Grafana quotes and escapes."""
    return {
        "current": {"text": "", "value": ""},
        "description": description,
        "label": label,
        "name": name,
        "query": "",
        "type": "textbox",
    }


def var_in(column: str, variable: str) -> str:
    """`column IN ($variable)` that also passes everything when "All" is selected."""
    return f"({ALL} IN (${variable}) OR {column} IN (${variable}))"


def dashboard(uid: str, title: str, panels: list[Panel], variables: list | None = None, **extra: Any) -> dict[str, Any]:
    """A provisioned dashboard: stable uid, no numeric id, UTC, last 24 h, refreshing every minute."""
    return {
        "annotations": {"list": extra.pop("annotations", [])},
        "editable": False,
        "graphTooltip": 1,
        "links": [
            {
                "asDropdown": False,
                "icon": "external link",
                "includeVars": False,
                "keepTime": True,
                "tags": ["siem-at-home"],
                "targetBlank": False,
                "title": "SIEM@Home",
                "type": "dashboards",
            },
        ],
        "panels": layout(panels),
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["siem-at-home"],
        "templating": {"list": variables or []},
        "time": {"from": "now-24h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        **extra,
    }
