"""What the appliance holds: rows, time span and size per table, and the current ingest rate.

COUNT(*) over tens of millions of rows takes seconds, so the two big tables' row
counts add up their 5-minute counts from the oldest stored row on, counting raw
rows only in that first interval.
"""

from datetime import datetime

from fastapi import APIRouter

from api.db import DbDep, query
from api.models import Stats, TableStats
from collector.rollups import FIVE_MINUTES, floor_time

router = APIRouter(prefix="/stats", tags=["stats"])

# table -> (oldest column, newest column); constants, never user input
_SPANS = {
    "messages": ("timestamp", "timestamp"),
    "packetfilter": ("timestamp", "timestamp"),
    "addrwatch": ("timestamp", "timestamp"),
    "devices": ("first_seen", "last_seen"),
    "device_events": ("timestamp", "timestamp"),
}
# big table -> its 5-minute counts table and count column
_COUNTED = {"messages": ("messages_counts", "messages"), "packetfilter": ("packetfilter_counts", "packets")}
_SIZE = (
    "SELECT COALESCE(SUM(data_length + index_length), 0) AS bytes"
    " FROM information_schema.tables WHERE table_schema = DATABASE()"
)
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
    """Rows of a big table: raw rows in the oldest one's 5-minute interval, the counts for every later one."""
    if oldest is None:
        return 0
    counts, column = _COUNTED[table]
    edge = floor_time(oldest, FIVE_MINUTES) + FIVE_MINUTES
    first = query(db, f"SELECT COUNT(*) AS n FROM {table} WHERE timestamp < %s", [edge])[0]["n"]
    rest = query(db, f"SELECT COALESCE(SUM({column}), 0) AS n FROM {counts} WHERE timestamp >= %s", [edge])[0]["n"]
    return int(first) + int(rest)
