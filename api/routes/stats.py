"""What the appliance holds: rows, time span and size per table, and the current ingest rate.

COUNT(*) over tens of millions of rows takes seconds, so the log tables' row counts
add up the collector's counts from the oldest stored row on: raw rows in that row's
5-minute interval (DNS queries: its hour; addrwatch: its day), the finer counts up
to its day's end, then the daily totals. Each of these is written with the rows, so
the sum is exact. The oldest and newest row are looked for in the first and last day
`daily_totals` holds, one day partition each rather than every one (a MIN over all of
them reads each partition's first page: a second after a restart); if that day has
no rows any more, in the whole table.
"""

from datetime import datetime, timedelta

from fastapi import APIRouter

from api.db import DbDep, query
from api.models import Stats, TableStats
from common.store import DAY, FIVE_MINUTES, HOUR, floor_time

router = APIRouter(prefix="/stats", tags=["stats"])

# table -> (oldest column, newest column); constants, never user input
_SPANS = {
    "messages": ("timestamp", "timestamp"),
    "packetfilter": ("timestamp", "timestamp"),
    "addrwatch": ("timestamp", "timestamp"),
    "devices": ("first_seen", "last_seen"),
    "device_events": ("timestamp", "timestamp"),
    "dns_queries": ("timestamp", "timestamp"),
}
# log table -> the sums of its counts tables, finest first, with each one's interval; constants
_COUNTED: dict[str, tuple[tuple[str, timedelta], ...]] = {
    "messages": (
        ("SELECT COALESCE(SUM(messages), 0) AS n FROM messages_counts WHERE TRUE", FIVE_MINUTES),
        ("SELECT COALESCE(SUM(messages), 0) AS n FROM messages_hourly WHERE TRUE", HOUR),
    ),
    "packetfilter": (("SELECT COALESCE(SUM(packets), 0) AS n FROM packetfilter_counts WHERE TRUE", FIVE_MINUTES),),
    "dns_queries": (("SELECT COALESCE(SUM(queries), 0) AS n FROM dns_device_hourly WHERE TRUE", HOUR),),
    "addrwatch": (),
}
_DAYS = "SELECT MIN(timestamp) AS first, MAX(timestamp) AS last FROM daily_totals WHERE log_table = %s AND total > 0"
_DAILY = "SELECT COALESCE(SUM(total), 0) AS n FROM daily_totals WHERE log_table = %s"
_SIZE = "SELECT COALESCE(SUM(disk_bytes), 0) AS bytes FROM disk_usage"  # on disk, after compression
_RATE = "SELECT COUNT(*) AS n FROM messages WHERE timestamp >= UTC_TIMESTAMP() - INTERVAL 5 MINUTE"


@router.get("", response_model=Stats)
def stats(db: DbDep) -> Stats:
    """Rows, oldest and newest event per table, database size, and messages per minute over the last 5 minutes."""
    tables = {}
    for table, (oldest, newest) in _SPANS.items():
        if table in _COUNTED:
            row = _span(db, table)
            rows = _counted_rows(db, table, row["oldest"])
        else:
            row = query(db, f"SELECT COUNT(*) AS n, MIN({oldest}) AS oldest, MAX({newest}) AS newest FROM {table}")[0]
            rows = row["n"]
        tables[table] = TableStats(rows=rows, oldest=row["oldest"], newest=row["newest"])
    size = int(query(db, _SIZE)[0]["bytes"])
    rate = query(db, _RATE)[0]["n"] / 5
    return Stats(tables=tables, database_bytes=size, messages_per_minute=rate)


def _span(db: DbDep, table: str) -> dict:
    """The oldest and newest row of a log table, found in the first and last day it has totals for."""
    days = query(db, _DAYS, [table])[0]
    if days["first"] is not None:
        day = "timestamp >= %s AND timestamp < %s"
        oldest = query(db, f"SELECT MIN(timestamp) AS t FROM {table} WHERE {day}", [days["first"], days["first"] + DAY])
        newest = query(db, f"SELECT MAX(timestamp) AS t FROM {table} WHERE {day}", [days["last"], days["last"] + DAY])
        if oldest[0]["t"] is not None and newest[0]["t"] is not None:
            return {"oldest": oldest[0]["t"], "newest": newest[0]["t"]}
    return query(db, f"SELECT MIN(timestamp) AS oldest, MAX(timestamp) AS newest FROM {table}")[0]


def _counted_rows(db: DbDep, table: str, oldest: datetime | None) -> int:
    """Rows of a log table: raw rows in the oldest one's interval of the finest counts, then each counts table."""
    if oldest is None:
        return 0
    tiers = [*((sql, [], interval) for sql, interval in _COUNTED[table]), (_DAILY, [table], DAY)]
    start = floor_time(oldest, tiers[0][2]) + tiers[0][2]
    total = int(query(db, f"SELECT COUNT(*) AS n FROM {table} WHERE timestamp < %s", [start])[0]["n"])
    for position, (sql, params, _) in enumerate(tiers):
        if position + 1 == len(tiers):
            return total + int(query(db, f"{sql} AND timestamp >= %s", [*params, start])[0]["n"])
        coarser = tiers[position + 1][2]
        end = floor_time(start - timedelta(microseconds=1), coarser) + coarser  # the next whole interval
        total += int(query(db, f"{sql} AND timestamp >= %s AND timestamp < %s", [*params, start, end])[0]["n"])
        start = end
    return total
