"""Retention: delete rows older than each table's limit, in small chunks, so neither MariaDB nor ingest stalls."""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pymysql

from collector import db
from collector.notices import Notices
from collector.settings import Settings
from collector.syslog import Severity

log = logging.getLogger(__name__)
CHUNK = 5000
_PAUSE_SECONDS = 0.05  # between chunks: room for the writer's transactions
RAW_TABLES = ("messages", "packetfilter", "addrwatch")  # what the size cap trims, oldest first
_CAP_TARGET = 0.95  # trim to 5% under the cap, so it is not trimmed again a few minutes later
_MB = 1024 * 1024


class Janitor(threading.Thread):
    """Every SIEM_RETENTION_CHECK_SECONDS, trims each table to its retention (0 days = keep forever).

    Deletes go through the timestamp index in chunks of 5000 rows, each its own
    transaction, so locks are short; the device inventory itself is never trimmed.
    """

    def __init__(self, settings: Settings, notices: Notices) -> None:
        super().__init__(name="retention", daemon=True)
        self._settings = settings
        self._notices = notices
        self._stop_event = threading.Event()

    def stop(self) -> None:
        """Finish after the current chunk."""
        self._stop_event.set()

    def run(self) -> None:
        """Wait (at most a minute) so start-up and its spool replay go first, then trim every round until stopped."""
        if self._stop_event.wait(min(self._settings.retention_check_seconds, 60.0)):
            return
        while True:
            try:
                self.trim()
            except (db.DatabaseDown, pymysql.err.MySQLError, OSError) as error:
                log.warning("retention skipped this round: %s", error)
            if self._stop_event.wait(self._settings.retention_check_seconds):
                return

    def trim(self) -> dict[str, int]:
        """One round over every table with a limit; return rows deleted per table."""
        deleted: dict[str, int] = {}
        connection = db.connect(self._settings)
        try:
            for table, days in self._settings.retention_days.items():
                if days > 0 and not self._stop_event.is_set():
                    cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)
                    deleted[table] = self._trim_table(connection, table, cutoff)
            for table, count in deleted.items():
                if count:
                    self._notices.emit(
                        Severity.INFO, "retention: deleted %d %s rows older than %d days",
                        count, table, self._settings.retention_days[table],
                    )  # fmt: skip
            if self._settings.max_database_mb > 0 and not self._stop_event.is_set():
                self._cap(connection)
        finally:
            connection.close()
        return deleted

    def _cap(self, connection: pymysql.connections.Connection) -> None:
        """Over SIEM_MAX_DATABASE_MB: delete the oldest raw rows, across the three log tables, to get under it."""
        limit = self._settings.max_database_mb * _MB
        sizes, oldest = estimate_sizes(connection)
        total = sum(sizes.values())
        if total <= limit or oldest is None:
            return
        raw = sum(sizes[table] for table in RAW_TABLES)
        excess = total - limit * _CAP_TARGET
        if raw <= 0:
            log.warning("size cap: %.0f MB used, but not by log rows the cap may trim", total / _MB)
            return
        # Rows are spread over time about evenly: trimming a fraction of the raw bytes
        # means trimming the same fraction of the time they span, from the oldest end.
        now = datetime.now(UTC).replace(tzinfo=None)
        cutoff = oldest + (now - oldest) * min(1.0, excess / raw)
        removed = {table: self._trim_table(connection, table, cutoff) for table in RAW_TABLES}
        self._notices.emit(
            Severity.NOTICE, "size cap: the database held about %.1f MB of %.1f MB allowed; deleted %s older than %s",
            total / _MB, self._settings.max_database_mb,
            ", ".join(f"{count} {table}" for table, count in removed.items()), cutoff.strftime("%Y-%m-%d %H:%M"),
        )  # fmt: skip

    def _trim_table(self, connection: pymysql.connections.Connection, table: str, cutoff: datetime) -> int:
        """Delete in chunks until no row is older than cutoff (or we are asked to stop)."""
        total = 0
        sql = f"DELETE FROM `{table}` WHERE timestamp < %s LIMIT {CHUNK}"  # noqa: S608  (table from settings' fixed keys)
        while not self._stop_event.is_set():
            with connection.cursor() as cursor:
                removed = cursor.execute(sql, (cutoff,))
            connection.commit()
            total += removed
            if removed < CHUNK:
                break
            time.sleep(_PAUSE_SECONDS)
        return total


def estimate_sizes(connection: pymysql.connections.Connection) -> tuple[dict[str, float], datetime | None]:
    """Bytes per table now, and the oldest raw row's time.

    information_schema's sizes lag behind until InnoDB refreshes its statistics
    (after about a tenth of a table has changed), so for the log tables the
    current row count, from the ends of the id range, is multiplied by the
    bytes per row those statistics give.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, data_length + index_length, table_rows FROM information_schema.tables"
            " WHERE table_schema = DATABASE()"
        )
        stats = {name: (int(size or 0), int(rows or 0)) for name, size, rows in cursor.fetchall()}
        sizes: dict[str, float] = {name: float(size) for name, (size, _) in stats.items()}
        oldest = None
        for table in RAW_TABLES:
            cursor.execute(f"SELECT MIN(id), MAX(id), MIN(timestamp) FROM `{table}`")  # noqa: S608  (constant name)
            low, high, first = cursor.fetchone()
            size, counted = stats.get(table, (0, 0))
            rows = 0 if low is None else high - low + 1
            sizes[table] = rows * size / max(counted, rows, 1)
            if first is not None and (oldest is None or first < oldest):
                oldest = first
    connection.commit()
    return sizes, oldest
