"""Packet-filter summaries: counts by action/chain/protocol, over time, and top talkers."""

from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from api.db import DbDep, query
from api.deps import TimeRange, TimeRangeDep
from api.models import DropsSummary, Timeseries, TimeseriesPoint, Top, TopEntry
from collector.netfmt import normalise_ip

router = APIRouter(prefix="/drops", tags=["drops"])

_INTERVALS = {"1m": 60, "5m": 300, "1h": 3600, "1d": 86400}
_MAX_POINTS = 5000


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
        for column, value in (("host", host), ("action", action), ("chain", chain)):
            if value is not None:
                conditions.append(f"{column} = %s")
                self.params.append(value.upper() if column == "action" else value)
        for column, value in (("src_ip", src_ip), ("dst_ip", dst_ip)):
            if value is not None:
                ip = normalise_ip(value)
                if ip is None:
                    raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{column}={value!r} is not an IP address")
                conditions.append(f"{column} = %s")
                self.params.append(ip)
        self.where = " AND ".join(conditions)


FilterDep = Annotated[DropFilter, Depends()]


def _counts(db: DbDep, column: str, filters: DropFilter) -> dict[str, int]:
    """Rows per value of one constant column name."""
    sql = f"SELECT {column} AS value, COUNT(*) AS n FROM packetfilter WHERE {filters.where} GROUP BY {column}"
    return {str(row["value"]): row["n"] for row in query(db, sql, filters.params) if row["value"] is not None}


@router.get("/summary", response_model=DropsSummary)
def summary(db: DbDep, filters: FilterDep) -> DropsSummary:
    """Counts of packet-filter rows by action, chain and protocol in the time range."""
    by_action = _counts(db, "action", filters)
    return DropsSummary(
        since=filters.span.since,
        until=filters.span.until,
        total=sum(by_action.values()),
        by_action=by_action,
        by_chain=_counts(db, "chain", filters),
        by_protocol=_counts(db, "protocol", filters),
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
    action = ", action" if split else ""
    sql = (
        f"SELECT FROM_UNIXTIME(UNIX_TIMESTAMP(timestamp) DIV %s * %s) AS time{action}, COUNT(*) AS count"
        f" FROM packetfilter WHERE {filters.where} GROUP BY 1{action} ORDER BY 1{action}"
    )
    rows = query(db, sql, [seconds, seconds, *filters.params])
    points = [TimeseriesPoint(time=row["time"], count=row["count"], action=row.get("action")) for row in rows]
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
    sql = (
        f"SELECT {column} AS value, COUNT(*) AS count FROM packetfilter"
        f" WHERE {filters.where} AND {column} IS NOT NULL GROUP BY {column} ORDER BY count DESC, value LIMIT %s"
    )
    rows = query(db, sql, [*filters.params, limit])
    return Top(
        since=filters.span.since,
        until=filters.span.until,
        by=column,
        entries=[TopEntry(value=row["value"], count=row["count"]) for row in rows],
    )
