"""Packet-filter summaries: counts by action/chain/protocol, over time, and top talkers.

Counts by action, chain, direction and protocol come from the collector's 5-minute
`packetfilter_counts`, rankings of ports and MACs from its daily and hourly
`packetfilter_ports` and `packetfilter_macs`, for every whole bucket in the range,
and from raw rows for the minutes at either edge: exact, and fast over months. Addresses, source ports and
interfaces rank from each finished day's and hour's top 50 (`packetfilter_top_daily`,
`packetfilter_top`): exact for a value in the top 50 of every day or hour it appeared
in, a lower bound otherwise. Filters on addresses read the raw rows.

The daily tables and the rankings are filled by the collector's ranker after the
rows arrive; the hours and days it has not covered yet (`packetfilter_pending`:
the current hour, and any that late rows changed) are counted from finer tables or
raw rows, so each answer equals the raw rows' at once.
"""

from collections import Counter
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, NamedTuple

from fastapi import APIRouter, Depends, HTTPException, Query, status

from api.db import DbDep, query
from api.deps import TimeRange, TimeRangeDep
from api.models import DropsSummary, Timeseries, TimeseriesPoint, Top, TopEntry
from common.addresses import normalise_ip
from common.store import DAY, FIVE_MINUTES, HOUR, NO_VALUE, REST, floor_time

router = APIRouter(prefix="/drops", tags=["drops"])

_INTERVALS = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86400}
_MAX_POINTS = 5000


class Rollup(NamedTuple):
    """A table the collector keeps of packet-filter rows added up per time bucket."""

    table: str
    bucket: timedelta
    ranked: bool = False  # filled by the ranker: its pending buckets are not covered; False: with every batch
    field: str | None = None  # a rankings table: the rows ranking this column


class Pending(NamedTuple):
    """The hours and days the ranker has not covered since rows arrived for them."""

    hours: frozenset[datetime]
    days: frozenset[datetime]  # marked days, and the days of marked hours

    def marked(self, rollup: Rollup) -> frozenset[datetime]:
        """The rollup's buckets that cannot answer yet."""
        if not rollup.ranked:
            return frozenset()
        return self.hours if rollup.bucket == HOUR else self.days


def load_pending(db: DbDep) -> Pending:
    """Read the ranker's to-do list (a handful of rows)."""
    rows = query(db, "SELECT kind, timestamp FROM packetfilter_pending")
    hours = frozenset(row["timestamp"] for row in rows if row["kind"] == "hour")
    days = frozenset(row["timestamp"] for row in rows if row["kind"] == "day") | {floor_time(h, DAY) for h in hours}
    return Pending(hours, frozenset(days))


COUNTS = Rollup("packetfilter_counts", FIVE_MINUTES)  # by host, action, chain, direction, protocol
# by host, action, chain, protocol, dst_port; per day once the day's hours are ranked, per hour with every batch
PORTS = (Rollup("packetfilter_ports_daily", DAY, ranked=True), Rollup("packetfilter_ports", HOUR))
MACS = (Rollup("packetfilter_macs_daily", DAY, ranked=True), Rollup("packetfilter_macs", HOUR))  # by ..., mac


def ranked(field: str) -> tuple[Rollup, Rollup]:
    """Each day's and each hour's top 50 of a column, coarsest first."""
    return Rollup("packetfilter_top_daily", DAY, True, field), Rollup("packetfilter_top", HOUR, True, field)


class TopField(StrEnum):
    """Fields `drops/top` may group by; each maps to a column of the same name."""

    src_ip = "src_ip"
    dst_ip = "dst_ip"
    dst_port = "dst_port"
    src_port = "src_port"
    protocol = "protocol"
    in_interface = "in_interface"
    mac = "mac"


class Interval(StrEnum):
    """Bucket sizes for the time series."""

    minute = "1m"
    five_minutes = "5m"
    hour = "1h"
    day = "1d"


class DropFilter:
    """The filters every drops endpoint shares, as one parameterised WHERE clause."""

    def __init__(
        self,
        span: TimeRangeDep,
        host: Annotated[str | None, Query(max_length=255, description="router or NAS hostname")] = None,
        action: Annotated[str | None, Query(max_length=16, description="DROP, REJECT, ACCEPT or LOG")] = None,
        chain: Annotated[str | None, Query(max_length=32)] = None,
        src_ip: Annotated[str | None, Query(max_length=64)] = None,
        dst_ip: Annotated[str | None, Query(max_length=64)] = None,
    ) -> None:
        self.span = span
        conditions = ["timestamp >= %s", "timestamp < %s"]
        self.params: list[object] = [span.since, span.until]
        counted: list[str] = []
        for column, value in (("host", host), ("action", action), ("chain", chain)):
            if value is not None:
                counted.append(f"{column} = %s")
                self.params.append(value.upper() if column == "action" else value)
        conditions += counted
        self.counted_where = " AND ".join(counted) or "TRUE"
        self.counted_params = self.params[2:]
        for column, value in (("src_ip", src_ip), ("dst_ip", dst_ip)):
            if value is not None:
                ip = normalise_ip(value)
                if ip is None:
                    raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{column}={value!r} is not an IP address")
                conditions.append(f"{column} = %s")
                self.params.append(ip)
        self.where = " AND ".join(conditions)
        self.countable = src_ip is None and dst_ip is None

    def covered(
        self, rollup: Rollup, since: datetime, until: datetime, pending: Pending
    ) -> list[tuple[datetime, datetime]]:
        """Runs of the buckets lying wholly inside since..until that the rollup can answer for (none pending)."""
        if not self.countable:
            return []
        first = floor_time(since, rollup.bucket)
        if first < since:
            first += rollup.bucket
        last = floor_time(until, rollup.bucket)
        runs, start = [], first
        for bucket in sorted(moment for moment in pending.marked(rollup) if first <= moment < last):
            if start < bucket:
                runs.append((start, bucket))
            start = bucket + rollup.bucket
        if start < last:
            runs.append((start, last))
        return runs


FilterDep = Annotated[DropFilter, Depends()]


def _parts(
    filters: DropFilter,
    groups: str,
    counted_groups: str,
    rollups: tuple[Rollup, ...],
    pending: Pending,
    raw: bool = True,
    raw_rows: bool = False,
) -> list[tuple[str, list[object]]]:
    """SELECTs that together count the range once: whole buckets from the rollups, coarsest first, then raw rows.

    A bucket the ranker has not covered yet falls through to the next table, and
    in the end to the raw rows (left out with `raw=False`, for questions only the
    rollups can answer). With `raw_rows` the raw rows go ungrouped, each with n = 1,
    for a caller that groups everything once (thousands of addresses at the edges of a
    range: a third faster than grouping them twice).

    `groups` are named expressions over packetfilter, `counted_groups` the same
    over the rollups (which store a missing value as ''); both constant. Every
    SELECT gives the groups and their count, `n`.
    """
    parts: list[tuple[str, list[object]]] = []
    positions = ", ".join(str(i + 1) for i in range(groups.count(" AS ")))  # every group expression is named
    spans = [(filters.span.since, filters.span.until)]
    for rollup in rollups:
        uncovered, runs = [], []
        for since, until in spans:
            covered = filters.covered(rollup, since, until, pending)
            runs += covered
            edges = [since, *(moment for run in covered for moment in run), until]
            uncovered += [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True) if a < b]
        if runs:
            field, field_params = ("field = %s", [rollup.field]) if rollup.field else ("TRUE", [])
            time = " OR ".join(["(timestamp >= %s AND timestamp < %s)"] * len(runs))
            sql = (
                f"SELECT {counted_groups}, SUM(packets) AS n FROM {rollup.table}"
                f" WHERE ({time}) AND {field} AND {filters.counted_where}"
                f" GROUP BY {positions}"
            )
            parts.append((sql, [*(moment for run in runs for moment in run), *field_params, *filters.counted_params]))
        spans = uncovered
    if spans and raw:
        raw_time = " OR ".join(["(timestamp >= %s AND timestamp < %s)"] * len(spans))
        where = filters.where.replace("timestamp >= %s AND timestamp < %s", f"({raw_time})", 1)
        if raw_rows:
            sql = f"SELECT {groups}, 1 AS n FROM packetfilter WHERE {where}"
        else:
            sql = f"SELECT {groups}, COUNT(*) AS n FROM packetfilter WHERE {where} GROUP BY {positions}"
        parts.append((sql, [*(moment for span in spans for moment in span), *filters.params[2:]]))
    return parts


def _tally(
    db: DbDep, filters: DropFilter, groups: str, counted_groups: str, rollups: tuple[Rollup, ...] = (COUNTS,)
) -> Counter:
    """Rows per group in the range, added up here from each part (few groups: totals, time buckets)."""
    tally: Counter = Counter()
    for sql, params in _parts(filters, groups, counted_groups, rollups, load_pending(db)):
        for row in query(db, sql, params):
            tally[tuple(row.values())[:-1]] += int(row["n"])
    return tally


@router.get("/summary", response_model=DropsSummary)
def summary(db: DbDep, filters: FilterDep) -> DropsSummary:
    """Counts of packet-filter rows by action, chain and protocol in the time range."""
    tally = _tally(
        db, filters,
        "action AS action, chain AS chain, protocol AS protocol",
        "action AS action, chain AS chain, NULLIF(protocol, '') AS protocol",
    )  # fmt: skip
    by: list[Counter] = [Counter(), Counter(), Counter()]
    for key, n in tally.items():
        for counter, value in zip(by, key, strict=True):
            if value is not None:
                counter[str(value)] += n
    by_action, by_chain, by_protocol = (dict(sorted(counter.items())) for counter in by)
    return DropsSummary(
        since=filters.span.since,
        until=filters.span.until,
        total=sum(tally.values()),
        by_action=by_action,
        by_chain=by_chain,
        by_protocol=by_protocol,
    )


def auto_interval(span: TimeRange) -> str:
    """An interval giving a readable number of points: 1m up to 6 h, 5m up to 2 d, 1h up to 30 d, else 1d."""
    length = span.until - span.since
    if length <= timedelta(hours=6):
        return "1m"
    if length <= timedelta(days=2):
        return "5m"
    return "1h" if length <= timedelta(days=30) else "1d"


@router.get("/timeseries", response_model=Timeseries)
def timeseries(
    db: DbDep,
    filters: FilterDep,
    interval: Annotated[Interval | None, Query(description="bucket size; chosen from the range when absent")] = None,
    split: Annotated[bool, Query(description="one series per action")] = False,
) -> Timeseries:
    """Packet-filter rows per interval, optionally one series per action."""
    name = interval.value if interval is not None else auto_interval(filters.span)
    seconds = _INTERVALS[name]
    if (filters.span.until - filters.span.since).total_seconds() / seconds > _MAX_POINTS:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"interval {name} gives more than {_MAX_POINTS} points")
    bucket = f"FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV {seconds} * {seconds}) AS time"
    groups = f"{bucket}, action AS action" if split else bucket
    if seconds % int(COUNTS.bucket.total_seconds()):
        filters.countable = False  # minute points need the raw rows
    tally = _tally(db, filters, groups, groups)
    points = [
        TimeseriesPoint(time=key[0], count=n, action=key[1] if split else None)
        for key, n in sorted(tally.items(), key=lambda item: (item[0][0], item[0][1:]))
    ]
    return Timeseries(since=filters.span.since, until=filters.span.until, interval=name, points=points)


@router.get("/top", response_model=Top)
def top(
    db: DbDep,
    filters: FilterDep,
    by: Annotated[TopField, Query(description="field to rank")] = TopField.src_ip,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
) -> Top:
    """The most frequent values of one field among packet-filter rows in the range."""
    column = by.value
    in_full = by in {TopField.protocol, TopField.dst_port, TopField.mac}
    if in_full:
        rollups: tuple[Rollup, ...] = {TopField.protocol: (COUNTS,), TopField.dst_port: PORTS, TopField.mac: MACS}[by]
        counted = f"NULLIF({column}, '')" if by == TopField.protocol else column
    else:
        rollups = ranked(column)
        named = f"NULLIF(NULLIF(value, '{REST}'), '{NO_VALUE}')"
        counted = f"CAST({named} AS UNSIGNED)" if by == TopField.src_port else named
    pending = load_pending(db)
    # Addresses and ports have thousands of values: MariaDB adds the parts up and returns only the top.
    # The raw rows at the edges of a range are grouped there with the rest; a filter on an address
    # reads the whole range raw, which is grouped first (fewer rows to hold).
    parts = _parts(filters, f"{column} AS value", f"{counted} AS value", rollups, pending, raw_rows=filters.countable)
    sql = (
        "SELECT value, SUM(n) AS count FROM (" + " UNION ALL ".join(part for part, _ in parts) + ") AS parts"
        " WHERE value IS NOT NULL GROUP BY value ORDER BY count DESC, value LIMIT %s"
    )
    rows = query(db, sql, [*(param for _, params in parts for param in params), limit])
    outside = 0 if in_full else _outside_top(db, filters, rollups, pending)
    return Top(
        since=filters.span.since,
        until=filters.span.until,
        by=column,
        entries=[TopEntry(value=row["value"], count=int(row["count"])) for row in rows],
        exact=outside == 0,
        outside_top=outside,
    )


def _outside_top(db: DbDep, filters: DropFilter, rollups: tuple[Rollup, ...], pending: Pending) -> int:
    """Packets the rankings used hold only as the rest beyond a day's or hour's top 50 (0: every count exact)."""
    parts = _parts(filters, "0 AS rest", f"value = '{REST}' AS rest", rollups, pending, raw=False)
    if not parts:
        return 0
    sql = "SELECT SUM(n) AS n FROM (" + " UNION ALL ".join(part for part, _ in parts) + ") AS parts WHERE rest"
    rows = query(db, sql, [param for _, params in parts for param in params])
    return int(rows[0]["n"] or 0) if rows else 0
