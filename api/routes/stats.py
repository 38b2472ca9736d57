"""What the appliance holds: rows, time span and size per table, and the current ingest rate."""

from fastapi import APIRouter

from api.db import DbDep, query
from api.models import Stats, TableStats

router = APIRouter(prefix="/stats", tags=["stats"])

# table -> (oldest column, newest column); constants, never user input
_SPANS = {
    "messages": ("timestamp", "timestamp"),
    "packetfilter": ("timestamp", "timestamp"),
    "addrwatch": ("timestamp", "timestamp"),
    "devices": ("first_seen", "last_seen"),
    "device_events": ("timestamp", "timestamp"),
}
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
        row = query(db, f"SELECT COUNT(*) AS n, MIN({oldest}) AS oldest, MAX({newest}) AS newest FROM {table}")[0]
        tables[table] = TableStats(rows=row["n"], oldest=row["oldest"], newest=row["newest"])
    size = int(query(db, _SIZE)[0]["bytes"])
    rate = query(db, _RATE)[0]["n"] / 5
    return Stats(tables=tables, database_bytes=size, messages_per_minute=rate)
