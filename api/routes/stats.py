"""What the appliance holds: rows, time span and size per table, and the current ingest rate.

COUNT(*) over tens of millions of rows takes seconds, so the big tables' row
counts add up the collector's counts from the oldest stored row on, counting raw
rows only in that first interval, and for messages the hourly counts from the
first whole hour (DNS queries: the hourly counts per device).
"""

from datetime import datetime, timedelta

from fastapi import APIRouter

from api.db import DbDep, query
from api.models import Stats, TableStats
from common.store import FIVE_MINUTES, HOUR, floor_time

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
# big table -> its count column and counts tables, finest first: (table, interval); constants
_COUNTED: dict[str, tuple[str, tuple[tuple[str, timedelta], ...]]] = {
    "messages": ("messages", (("messages_counts", FIVE_MINUTES), ("messages_hourly", HOUR))),
    "packetfilter": ("packets", (("packetfilter_counts", FIVE_MINUTES),)),
    "dns_queries": ("queries", (("dns_device_hourly", HOUR),)),
}
_SIZE = "SELECT COALESCE(SUM(disk_bytes), 0) AS bytes FROM disk_usage"  # on disk, after compression
_RATE = "SELECT COUNT(*) AS n FROM messages WHERE timestamp >= UTC_TIMESTAMP() - INTERVAL 5 MINUTE"


@router.get("", response_model=Stats)
def stats(db: DbDep) -> Stats:
    """Rows, oldest and newest event per table, database size, and messages per minute over the last 5 minutes."""
    tables = {}
    for table, (oldest, newest) in _SPANS.items():
        if table in _COUNTED:
            row = query(db, f"SELECT MIN({oldest}) AS oldest, MAX({newest}) AS newest FROM {table}")[0]
            rows = _counted_rows(db, table, row["oldest"])
        else:
            row = query(db, f"SELECT COUNT(*) AS n, MIN({oldest}) AS oldest, MAX({newest}) AS newest FROM {table}")[0]
            rows = row["n"]
        tables[table] = TableStats(rows=rows, oldest=row["oldest"], newest=row["newest"])
    size = int(query(db, _SIZE)[0]["bytes"])
    rate = query(db, _RATE)[0]["n"] / 5
    return Stats(tables=tables, database_bytes=size, messages_per_minute=rate)


def _counted_rows(db: DbDep, table: str, oldest: datetime | None) -> int:
    """Rows of a big table: raw rows in the oldest one's interval of the finest counts, then each counts table."""
    if oldest is None:
        return 0
    column, tiers = _COUNTED[table]
    start = floor_time(oldest, tiers[0][1]) + tiers[0][1]
    total = int(query(db, f"SELECT COUNT(*) AS n FROM {table} WHERE timestamp < %s", [start])[0]["n"])
    for position, (counts, _) in enumerate(tiers):
        coarser = tiers[position + 1][1] if position + 1 < len(tiers) else None
        sql = f"SELECT COALESCE(SUM({column}), 0) AS n FROM {counts} WHERE timestamp >= %s"
        if coarser is None:
            total += int(query(db, sql, [start])[0]["n"])
            break
        end = floor_time(start - timedelta(microseconds=1), coarser) + coarser  # the next whole interval
        total += int(query(db, f"{sql} AND timestamp < %s", [start, end])[0]["n"])
        start = end
    return total
