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
        finally:
            connection.close()
        for table, count in deleted.items():
            if count:
                self._notices.emit(
                    Severity.INFO, "retention: deleted %d %s rows older than %d days",
                    count, table, self._settings.retention_days[table],
                )  # fmt: skip
        return deleted

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
