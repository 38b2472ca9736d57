"""Grafana's MySQL macros and template variables, expanded as Grafana does, so panel SQL can be run anywhere.

Follows Grafana's pkg/tsdb/mysql/macros.go and the SQL data sources' variable
formatting: multi-value variables become quoted lists, "All" with a custom all
value inserts that value raw, `${name:sqlstring}` is one quoted, escaped string.
"""

import re
from datetime import datetime

ALL = object()
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^'?(\d+)(ms|s|m|h|d|w)'?$")
_MACRO = re.compile(r"\$__(\w+)\(([^()]*)\)")


def interval_seconds(text: str) -> int:
    """`5m` → 300 (quotes allowed, as Grafana's macro arguments are often quoted)."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"not a Grafana interval: {text!r}")
    return max(1, int(int(match.group(1)) * _UNITS[match.group(2)]))


def duration(seconds: int) -> str:
    """The `$__interval` text Grafana would use for a bucket of this many seconds."""
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def quote(value: str) -> str:
    """A string literal as Grafana's SQL data sources write it: quotes doubled, nothing else escaped."""
    return "'" + value.replace("'", "''") + "'"


def _variables(sql: str, values: dict[str, object], definitions: dict[str, dict]) -> str:
    """Substitute ${name:sqlstring}, ${name} and $name."""

    def render(name: str, fmt: str | None) -> str:
        value = values.get(name, ALL)
        definition = definitions.get(name, {})
        if fmt == "sqlstring":
            return quote(value if isinstance(value, str) else "")
        if value is ALL:
            return definition.get("allValue") or "''"
        if isinstance(value, list):
            return ",".join(quote(item) for item in value) if value else "''"
        return str(value)

    sql = re.sub(r"\$\{(\w+)(?::(\w+))?\}", lambda m: render(m.group(1), m.group(2)), sql)
    return re.sub(r"\$(?!__)(\w+)", lambda m: render(m.group(1), None), sql)


def expand(
    sql: str,
    start: datetime,
    end: datetime,
    *,
    interval: int = 60,
    values: dict[str, object] | None = None,
    definitions: dict[str, dict] | None = None,
) -> str:
    """Return the SQL Grafana would send for this time range (aware datetimes), interval and variable values."""
    frm, to = int(start.timestamp()), int(end.timestamp())
    sql = sql.replace("$__interval_ms", str(interval * 1000)).replace("$__interval", duration(interval))
    sql = _variables(sql, values or {}, definitions or {})

    def macro(match: re.Match) -> str:
        name, args = match.group(1), [part.strip() for part in match.group(2).split(",")]
        column = args[0]
        simple = {
            "time": f"UNIX_TIMESTAMP({column}) as time_sec",
            "timeEpoch": f"UNIX_TIMESTAMP({column}) as time_sec",
            "timeFilter": f"{column} BETWEEN FROM_UNIXTIME({frm}) AND FROM_UNIXTIME({to})",
            "timeFrom": f"FROM_UNIXTIME({frm})",
            "timeTo": f"FROM_UNIXTIME({to})",
            "unixEpochFrom": str(frm),
            "unixEpochTo": str(to),
            "unixEpochFilter": f"{column} >= {frm} AND {column} <= {to}",
        }
        if name in simple:
            return simple[name]
        base = name.removesuffix("Alias")
        if base in {"timeGroup", "unixEpochGroup"}:
            step = interval_seconds(args[1])
            epoch = f"UNIX_TIMESTAMP({column})" if base == "timeGroup" else column
            return f"{epoch} DIV {step} * {step}" + (' AS "time"' if name.endswith("Alias") else "")
        raise ValueError(f"macro $__{name} is not one Grafana's MySQL data source knows")

    return _MACRO.sub(macro, sql)
