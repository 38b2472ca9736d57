"""Retention: drop whole days of the log tables past their limit or the size cap; trim other tables in chunks."""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pymysql

from collector import db, partitions
from collector.notices import Notices
from collector.settings import Settings
from collector.syslog import Severity
from common.store import DAY, floor_time

log = logging.getLogger(__name__)
CHUNK = 5000
_PAUSE_SECONDS = 0.05  # between chunks: room for the writer's transactions
RAW_TABLES = ("messages", "packetfilter", "addrwatch", "dns_queries")  # partitioned by day; the size cap trims them
_TIME_COLUMNS = {"dns_device_domains": "last_seen"}  # what retention goes by, where it is not `timestamp`
_CAP_TARGET = 0.95  # trim to 5% under the cap, so it is not trimmed again a few minutes later
_MB = 1024 * 1024
_HOLE_CHECK_BYTES = 32 * _MB  # below this much log data, compression cannot be told apart from file slack
_NO_HOLES_RATIO = 0.9  # page-compressed files this close to their size on disk are not being punched


class Janitor(threading.Thread):
    """Keeps the log tables' day partitions ahead and trims every table to its retention (0 days = keep forever).

    The log tables lose whole days: a partition dropped is gone at once, with no
    long delete on a slow disk. Other tables are deleted from in chunks of 5000 rows,
    each its own transaction, so locks are short; the device inventory is never trimmed.
    """

    def __init__(self, settings: Settings, notices: Notices) -> None:
        super().__init__(name="retention", daemon=True)
        self._settings = settings
        self._notices = notices
        self._stop_event = threading.Event()
        self._warned: set[str] = set()  # conditions already logged, so each is said once

    def stop(self) -> None:
        """Finish after the current chunk."""
        self._stop_event.set()

    def run(self) -> None:
        """Create today's partitions at once; then, after start-up and its spool replay (at most a minute), trim."""
        self._round(self.prepare)
        if self._stop_event.wait(min(self._settings.retention_check_seconds, 60.0)):
            return
        while True:
            self._round(self.trim)
            if self._stop_event.wait(self._settings.retention_check_seconds):
                return

    def _round(self, work: Callable[[], object]) -> None:
        """Run one round of work; a database that is away or busy only postpones it."""
        try:
            work()
        except (db.DatabaseDown, pymysql.err.MySQLError, OSError) as error:
            log.warning("retention skipped this round: %s", error)

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        """Log a lasting condition the first time it is seen."""
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    def prepare(self) -> None:
        """Day partitions for today and the days ahead, and old-dated rows split into their days."""
        connection = db.connect(self._settings)
        try:
            self._maintain(connection, datetime.now(UTC).replace(tzinfo=None))
        finally:
            connection.close()

    def _present(self, connection: pymysql.connections.Connection, tables: list[str]) -> list[str]:
        """The tables that exist (and that this account may use); a missing one is said once, then skipped."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
            there = {name for (name,) in cursor.fetchall()}
        connection.commit()
        for table in tables:
            if table not in there:
                self._warn_once(f"missing {table}", "table %s is missing: run `make upgrade-db`", table)
        return [table for table in tables if table in there]

    def _maintain(self, connection: pymysql.connections.Connection, now: datetime) -> None:
        today = floor_time(now, DAY)
        for table in self._present(connection, list(RAW_TABLES)):
            days = self._settings.retention_days.get(table, 0)
            cutoff = floor_time(now - timedelta(days=days), DAY) if days > 0 else None
            if not partitions.maintain(connection, table, today, cutoff):
                self._warn_once(
                    f"unpartitioned {table}",
                    "%s is not partitioned by day (a database from before): run `make upgrade-db`;"
                    " until then retention deletes its rows in chunks",
                    table,
                )

    def trim(self) -> dict[str, int]:
        """One round: partitions, then every table with a limit, then the size cap; return rows deleted per table."""
        deleted: dict[str, int] = {}
        now = datetime.now(UTC).replace(tzinfo=None)
        connection = db.connect(self._settings)
        try:
            # a chunk read through (a table with no index on its time) then locks only the rows it deletes
            with connection.cursor() as cursor:
                cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            self._maintain(connection, now)
            limits = self._settings.retention_days
            for table in self._present(connection, list(limits)):
                days = limits[table]
                if days > 0 and not self._stop_event.is_set():
                    # whole UTC days everywhere: a count kept as long as its raw rows covers exactly what they do
                    cutoff = floor_time(now - timedelta(days=days), DAY)
                    if table in RAW_TABLES:  # the day partitions, then what an unsplit one holds
                        old = partitions.expired(partitions.read(connection, table), cutoff)
                        deleted[table] = partitions.drop(connection, table, old)
                        deleted[table] += self._trim_table(connection, table, cutoff)
                        _forget_days(connection, table, cutoff)
                    else:
                        deleted[table] = self._trim_table(connection, table, cutoff)
            for table, count in deleted.items():
                if count:
                    self._notices.emit(
                        Severity.INFO, "retention: deleted %d %s rows older than %d days",
                        count, table, self._settings.retention_days[table],
                    )  # fmt: skip
            sizes = storage_sizes(connection)
            if compression_works(sizes) is False:
                self._warn_once(
                    "holes",
                    "page compression saves no space: the filesystem under MariaDB's data directory does not"
                    " punch holes (ext4, XFS and btrfs do); the log tables take 2-3 times the space they could",
                )
            if self._settings.max_database_mb > 0 and not self._stop_event.is_set():
                self._cap(connection, sizes, now)
        finally:
            connection.close()
        return deleted

    def _cap(self, connection: pymysql.connections.Connection, sizes: list["Size"], now: datetime) -> None:
        """Over SIEM_MAX_DATABASE_MB: drop the oldest days of the log tables, together, until under it."""
        limit = self._settings.max_database_mb * _MB
        total = sum(size.allocated for size in sizes)
        if total <= limit:
            self._warned.discard("cap")
            return
        on_disk = {(size.table, size.partition): size.allocated for size in sizes}
        today = floor_time(now, DAY)
        days: dict[datetime, list[tuple[str, partitions.Partition]]] = {}
        for table in RAW_TABLES:
            for part in partitions.read(connection, table):
                if part.bound is not None and part.bound <= today:  # never today's or later rows
                    days.setdefault(part.bound, []).append((table, part))
        chosen: dict[str, list[partitions.Partition]] = {}
        freed, before = 0, None
        for bound in sorted(days):
            if total - freed <= limit * _CAP_TARGET:
                break
            for table, part in days[bound]:
                chosen.setdefault(table, []).append(part)
                freed += on_disk.get((table, part.name), 0)
            before = bound
        if before is None:
            self._warn_once(
                "cap",
                "size cap: the database takes %.0f MB of %.0f MB allowed, and only today's logs and the counts are"
                " left to drop: raise SIEM_MAX_DATABASE_MB",
                total / _MB, self._settings.max_database_mb,
            )  # fmt: skip
            return
        removed = {table: partitions.drop(connection, table, parts) for table, parts in chosen.items()}
        for table in removed:
            _forget_days(connection, table, before)
        self._notices.emit(
            Severity.NOTICE, "size cap: the database took %.1f MB of %.1f MB allowed; deleted %s from before %s",
            total / _MB, self._settings.max_database_mb,
            ", ".join(f"{count} {table}" for table, count in removed.items()), before.strftime("%Y-%m-%d"),
        )  # fmt: skip

    def _trim_table(self, connection: pymysql.connections.Connection, table: str, cutoff: datetime) -> int:
        """Delete in chunks until no row is older than cutoff (or we are asked to stop)."""
        total = 0
        column = _TIME_COLUMNS.get(table, "timestamp")
        sql = f"DELETE FROM `{table}` WHERE `{column}` < %s LIMIT {CHUNK}"  # noqa: S608  (names from fixed keys)
        while not self._stop_event.is_set():
            with connection.cursor() as cursor:
                removed = cursor.execute(sql, (cutoff,))
            connection.commit()
            total += removed
            if removed < CHUNK:
                break
            time.sleep(_PAUSE_SECONDS)
        return total


def _forget_days(connection: pymysql.connections.Connection, table: str, before: datetime) -> None:
    """Drop a log table's daily totals for the days its rows are gone from, so readers find its oldest day there."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM daily_totals WHERE log_table = %s AND timestamp < %s", (table, before))
        connection.commit()
    except pymysql.err.MySQLError as error:  # no daily_totals yet (upgrade not run): nothing to forget
        connection.rollback()
        if not error.args or error.args[0] not in db.MISSING_TABLE:
            raise


@dataclass(frozen=True)
class Size:
    """One tablespace (a table, or one partition of it): its file's size and the bytes it takes on disk."""

    table: str
    partition: str | None
    file: int
    allocated: int


def storage_sizes(connection: pymysql.connections.Connection) -> list[Size]:
    """Every tablespace of the database, as it is on disk (compressed pages take less than their size)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, partition_name, file_bytes, disk_bytes FROM disk_usage")
        rows = cursor.fetchall()
    connection.commit()
    return [Size(table, part, int(file or 0), int(allocated or 0)) for table, part, file, allocated in rows]


def compression_works(sizes: list[Size]) -> bool | None:
    """Whether the log tables' compressed pages take less disk than their files' size; None: too little to tell."""
    logs = [size for size in sizes if size.table in RAW_TABLES]
    file = sum(size.file for size in logs)
    if file < _HOLE_CHECK_BYTES:
        return None
    return sum(size.allocated for size in logs) < file * _NO_HOLES_RATIO
