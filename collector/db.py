"""MariaDB access for the writer: connect, and insert a batch of rows in one transaction."""

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache, partial

import pymysql

from collector import bulk
from collector.dnsrows import DNS_COLUMNS
from collector.inventory import DEVICE_COLUMNS
from collector.memo import Memo
from collector.owners import KEEP
from collector.rows import ADDRWATCH_COLUMNS, MESSAGE_COLUMNS, PACKETFILTER_COLUMNS
from collector.settings import Settings
from common.store import DNS_DAY_TABLE, DNS_OUTCOMES

log = logging.getLogger(__name__)


class DatabaseDown(Exception):
    """MariaDB cannot take the batch now (unreachable, restarting, misconfigured); hold it and retry."""


def _insert(table: str, columns: tuple[str, ...], upsert: str = "") -> str:
    """A multi-row-capable INSERT; `insert_many` expands its VALUES for a whole batch."""
    names = ", ".join(f"`{column}`" for column in columns)
    values = ", ".join(["%s"] * len(columns))
    suffix = f" ON DUPLICATE KEY UPDATE {upsert}" if upsert else ""
    return f"INSERT INTO `{table}` ({names}) VALUES ({values}){suffix}"


MESSAGES = _insert("messages", MESSAGE_COLUMNS)
PACKETFILTER = _insert("packetfilter", PACKETFILTER_COLUMNS)
ADDRWATCH = _insert("addrwatch", ADDRWATCH_COLUMNS)
# Sightings may arrive out of order (a replayed spool): only newer ones move the
# addresses, the seen-range only widens, and the user's columns are never named.
DEVICES = _insert(
    "devices",
    DEVICE_COLUMNS,
    "last_ipv4 = IF(VALUES(last_seen) >= last_seen, COALESCE(VALUES(last_ipv4), last_ipv4), last_ipv4), "
    "last_ipv6 = CASE WHEN VALUES(last_ipv6) IS NULL THEN last_ipv6 WHEN last_ipv6 IS NULL THEN VALUES(last_ipv6) "
    "WHEN VALUES(last_ipv6) LIKE 'fe80:%%' AND last_ipv6 NOT LIKE 'fe80:%%' THEN last_ipv6 "
    "WHEN VALUES(last_seen) >= last_seen THEN VALUES(last_ipv6) ELSE last_ipv6 END, "
    "interface = COALESCE(VALUES(interface), interface), "
    "vlan = COALESCE(VALUES(vlan), vlan), "
    "hostname = IF(VALUES(last_seen) >= last_seen, COALESCE(VALUES(hostname), hostname), hostname), "
    "last_source = IF(VALUES(last_seen) >= last_seen, VALUES(last_source), last_source), "
    "first_seen = LEAST(first_seen, VALUES(first_seen)), "
    "last_seen = GREATEST(last_seen, VALUES(last_seen))",
)
DEVICE_ADDRESSES = _insert(
    "device_addresses",
    ("mac", "ip", "first_seen", "last_seen"),
    "first_seen = LEAST(first_seen, VALUES(first_seen)), last_seen = GREATEST(last_seen, VALUES(last_seen))",
)
PACKETFILTER_COUNTS = _insert(
    "packetfilter_counts",
    ("timestamp", "host", "action", "chain", "direction", "protocol", "packets"),
    "packets = packets + VALUES(packets)",
)
MESSAGES_COUNTS = _insert(
    "messages_counts",
    ("timestamp", "host", "severity", "program", "messages"),
    "messages = messages + VALUES(messages)",
)
PACKETFILTER_PORTS = _insert(
    "packetfilter_ports",
    ("timestamp", "host", "action", "chain", "protocol", "dst_port", "packets"),
    "packets = packets + VALUES(packets)",
)
PACKETFILTER_MACS = _insert(
    "packetfilter_macs",
    ("timestamp", "host", "action", "chain", "mac", "packets", "last_seen"),
    "packets = packets + VALUES(packets), last_seen = GREATEST(last_seen, VALUES(last_seen))",
)
MESSAGES_HOURLY = _insert(
    "messages_hourly",
    ("timestamp", "host", "severity", "program", "messages"),
    "messages = messages + VALUES(messages)",
)
# Marks an hour or a day the rankings do not cover: (kind, timestamp). First in every batch that has
# packet-filter rows: the row lock on an hour's mark orders the batch and the ranker, so an hour is
# never ranked while rows for it are being written.
PACKETFILTER_PENDING = (
    "INSERT INTO packetfilter_pending (kind, timestamp) VALUES (%s, %s) ON DUPLICATE KEY UPDATE kind = kind"
)
DNS_QUERIES = _insert("dns_queries", DNS_COLUMNS)
DNS_HOURLY = _insert(
    "dns_hourly",
    ("timestamp", "host", "device", "domain_id", "outcome", "queries"),
    "queries = queries + VALUES(queries)",
)
DNS_DEVICE_HOURLY = _insert(
    "dns_device_hourly", ("timestamp", "host", "device", "outcome", "queries"), "queries = queries + VALUES(queries)"
)
DNS_DEVICE_DAILY = _insert(
    "dns_device_daily", ("timestamp", "host", "device", "outcome", "queries"), "queries = queries + VALUES(queries)"
)
DNS_DOMAIN_DAILY = _insert(
    DNS_DAY_TABLE,
    ("timestamp", "host", "domain_id", "queries", *DNS_OUTCOMES),
    ", ".join(f"`{column}` = `{column}` + VALUES(`{column}`)" for column in ("queries", *DNS_OUTCOMES)),
)
DNS_DEVICE_DOMAINS = _insert(
    "dns_device_domains",
    ("device", "domain_id", "first_seen", "last_seen", "queries", "blocked"),
    "first_seen = LEAST(first_seen, VALUES(first_seen)), last_seen = GREATEST(last_seen, VALUES(last_seen)), "
    "queries = queries + VALUES(queries), blocked = blocked + VALUES(blocked)",
)
DNS_DOMAINS = _insert("dns_domains", ("id", "name"))


DAILY_TOTALS = _insert("daily_totals", ("timestamp", "log_table", "total"), "total = total + VALUES(total)")
# Each part of a batch adds its own tables' days, as its own statement (the comment tells them apart).
# Last in their part: after the counts, whose row locks a backfill of the totals from them waits on.
MESSAGES_DAILY = DAILY_TOTALS + " /* messages */"
PARSED_DAILY = DAILY_TOTALS + " /* packetfilter, dns_queries */"
# Statements into tables a release added or changed after the others (`table` or `table.column` it needs):
# left out until `make upgrade-db` makes them so.
_LATER = {
    MESSAGES_DAILY: "daily_totals",
    PARSED_DAILY: "daily_totals",
    DNS_DEVICE_DAILY: "dns_device_daily",
    DNS_DOMAIN_DAILY: f"{DNS_DAY_TABLE}.cached",  # a row per domain and day, outcomes in columns
}
ROW_IDS = _insert("row_ids", ("log_table", "next_id"), "next_id = GREATEST(next_id, VALUES(next_id))")
DEVICE_EVENTS = _insert("device_events", ("timestamp", "mac", "event", "ip", "old_value", "new_value"))

# A batch is stored in two parts at the same time, each in its own transaction on its own
# connection: the messages with their counts, and everything parsed from them with theirs.
MESSAGE_PART = frozenset({MESSAGES, MESSAGES_COUNTS, MESSAGES_HOURLY, MESSAGES_DAILY})

# pymysql looks its LOAD DATA LOCAL sender up by this name at each load: ours sends it in bigger packets.
pymysql.connections._send_local_file = bulk.send_file

# Plain inserts into the big log tables go as LOAD DATA LOCAL INFILE.
_BULK = {
    MESSAGES: ("messages", MESSAGE_COLUMNS),
    PACKETFILTER: ("packetfilter", PACKETFILTER_COLUMNS),
    ADDRWATCH: ("addrwatch", ADDRWATCH_COLUMNS),
    DNS_QUERIES: ("dns_queries", DNS_COLUMNS),
}
# The same with the id the writer numbers each row with (`first_ids`), for the INSERT paths.
_NUMBERED = {sql: _insert(table, ("id", *columns)) for sql, (table, columns) in _BULK.items()}
_TABLE_CHANGED = 1412  # "Table definition has changed, please retry transaction"
_CHANGED_RETRIES = 3


def table_changed(error: BaseException) -> bool:
    """A transaction that began before a partition was added or dropped: retry it, nothing is wrong."""
    return bool(error.args) and error.args[0] == _TABLE_CHANGED


# LOAD DATA LOCAL switched off on the server (local_infile=OFF), or the file unreadable here (no /proc)
_LOAD_REFUSED = {1148, 4166, 1017}


class _LoadNotClean(Exception):
    """MariaDB took a LOAD DATA with warnings (a value it mangled) or a different row count."""


class _LoadUnavailable(Exception):
    """The in-memory file LOAD DATA reads from could not be made now (no file descriptor or memory left)."""


def connect(settings: Settings) -> pymysql.connections.Connection:
    """Open a connection with UTC session time and utf8mb4; raise DatabaseDown on failure."""
    try:
        return pymysql.connect(
            host=settings.db_host,
            port=settings.db_port,
            user=settings.db_user,
            password=settings.db_password,
            database=settings.db_name,
            charset="utf8mb4",
            autocommit=False,
            connect_timeout=5,
            read_timeout=60,
            write_timeout=60,
            init_command="SET time_zone = '+00:00'",
            local_infile=True,
        )
    except (pymysql.err.MySQLError, OSError) as error:
        raise DatabaseDown(describe(error)) from error


def describe(error: BaseException) -> str:
    """One line that tells a home user what is wrong, with a hint for the usual causes."""
    code = error.args[0] if error.args and isinstance(error.args[0], int) else None
    hint = {
        1045: " (wrong SIEM_DB_USER or SIEM_DB_PASSWORD, or users not created: run make db-init)",
        1049: " (database missing: check SIEM_DB_NAME, run make db-init)",
        1146: " (table missing: the schema in mysql-init/ was not applied)",
        1142: " (permission denied: grants from mysql-init/90-users.sh missing)",
        2003: " (MariaDB not reachable: is it running, are SIEM_DB_HOST and SIEM_DB_PORT right?)",
    }.get(code or 0, "")
    return f"{type(error).__name__}: {error}{hint}"


def _query(connection: pymysql.connections.Connection, sql: str) -> list[tuple]:
    """One read in its own transaction, retried if a partition changed under it; DatabaseDown if it fails."""
    retries = 0
    while True:
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                rows = list(cursor.fetchall())
            connection.commit()
            return rows
        except (pymysql.err.MySQLError, OSError) as error:
            _rollback(connection)
            if not table_changed(error) or retries == _CHANGED_RETRIES:
                raise DatabaseDown(describe(error)) from error
            retries += 1


def load_inventory(connection: pymysql.connections.Connection) -> list[tuple]:
    """Each known device's (mac, last_ipv4, last_ipv6, hostname), to notice changes without queries."""
    return _query(connection, "SELECT mac, last_ipv4, last_ipv6, hostname FROM devices")


def load_owners(connection: pymysql.connections.Connection) -> list[tuple]:
    """The inventory's address spans recent enough to name the senders of DNS queries still kept."""
    return _query(
        connection,
        "SELECT mac, ip, first_seen, last_seen FROM device_addresses"
        f" WHERE last_seen >= UTC_TIMESTAMP() - INTERVAL {KEEP.days} DAY",
    )


class Domains:
    """Domain names to their `dns_domains` ids, remembered for the most recent names.

    The writer numbers new names itself and inserts them with the batch that first
    uses them, in its transaction: no round trips and no commit of their own per
    batch (they were a quarter of a batch's time), and a batch that is not stored
    leaves no name behind. A name is remembered once its batch is stored (`stored`).
    """

    LIMIT = 20000  # names remembered; about 3 MB

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._next = 1

    def load(self, connection: pymysql.connections.Connection) -> None:
        """Number new names on from the highest id stored (on every connect)."""
        (highest,) = _query(connection, "SELECT MAX(id) FROM dns_domains")[0]
        self._next = max(self._next, int(highest or 0) + 1)

    def ids(self, connection: pymysql.connections.Connection, names: set[str]) -> tuple[dict[str, int], list[tuple]]:
        """The id of each name, and the (id, name) rows to insert with the batch for the names not stored yet."""
        known = self._ids
        missing = [name for name in names if name not in known]
        if not missing:
            return {name: known[name] for name in names}, []
        if len(known) + len(missing) > self.LIMIT:
            known.clear()
        try:
            found = self._select(connection, missing)
        except (pymysql.err.MySQLError, OSError) as error:
            _rollback(connection)
            raise DatabaseDown(describe(error)) from error
        known.update(found)
        new = [(self._next + i, name) for i, name in enumerate(name for name in missing if name not in found)]
        self._next += len(new)
        return {name: known[name] for name in names if name in known} | {name: i for i, name in new}, new

    def stored(self, new: list[tuple]) -> None:
        """Remember the names a stored batch added."""
        self._ids.update((name, i) for i, name in new)

    @staticmethod
    def _select(connection: pymysql.connections.Connection, names: list[str]) -> dict[str, int]:
        """Ids of the names already stored, 500 at a time."""
        found: dict[str, int] = {}
        with connection.cursor() as cursor:
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(f"SELECT name, id FROM dns_domains WHERE name IN ({marks})", chunk)
                found.update(cursor.fetchall())
        return found


Statements = list[tuple[str, list[tuple]]]


class RowIds:
    """Numbers the log tables' rows in the writer rather than through AUTO_INCREMENT.

    Dropping or reorganising a day partition can set a partitioned table's counter
    back below ids still stored, and the next rows would then collide with them;
    the collector is the log tables' one writer, so its own count cannot. The count
    is kept in row_ids, with the rows, so the tables need no index on id. It also
    knows which tables a later release added are still missing (an upgrade not run).
    """

    def __init__(self) -> None:
        self._next: dict[str, int] = {}
        self.counting = False  # row_ids is there: each batch stores its tables' next ids with its rows
        self.missing = set(_LATER.values())  # tables a release added later, not there yet (an upgrade to run)

    def load(self, connection: pymysql.connections.Connection) -> bool:
        """Continue after the ids stored (on every connect: the upgrade may have raised a counter).

        A table's next id is its counter in row_ids; without one (a database from before
        row_ids, whose tables still index id) it is read as the highest id stored. Returns
        whether the DNS tables are there: a database from before them (the upgrade not run
        yet) still takes everything else.
        """
        counters = _counters(connection)
        self.counting = counters is not None
        self.missing = {table for table in set(_LATER.values()) if not _there(connection, table)}
        dns = True
        for sql, (table, _) in _BULK.items():
            try:
                if counters is not None and table in counters:
                    if sql == DNS_QUERIES:
                        _query(connection, "SELECT id FROM dns_queries LIMIT 0")
                    following = int(counters[table])
                else:
                    (highest,) = _query(connection, f"SELECT MAX(id) FROM `{table}`")[0]
                    following = int(highest or 0) + 1
            except DatabaseDown as error:
                if sql != DNS_QUERIES or not _missing_table(error):
                    raise
                dns = False
                continue
            self._next[sql] = max(self._next.get(sql, 1), following)
        return dns

    def reserve(self, statements: Statements) -> dict[str, int]:
        """The first id of each log-table statement's rows; ids of a batch that is not stored are simply skipped.

        A batch's two parts reserve from their own threads at once: each touches only its own tables' counters.
        """
        first = {}
        for sql, rows in statements:
            if sql in _BULK and rows:
                first[sql] = self._next[sql]
                self._next[sql] += len(rows)
        return first

    def present(self, connection: pymysql.connections.Connection, statements: Statements) -> Statements:
        """The statements less those into a later table still missing (looked for with each batch till then).

        The upgrade that adds one fills it from the finer counts, so batches stored before
        the collector finds it are counted there.
        """
        if self.missing:
            self.missing = {table for table in self.missing if not _there(connection, table)}
        if not self.missing:
            return statements
        return [(sql, rows) for sql, rows in statements if _LATER.get(sql) not in self.missing]

    def counters(
        self, connection: pymysql.connections.Connection, statements: Statements, first: dict[str, int]
    ) -> Statements:
        """The row_ids update that stores, with a batch's rows, the next id after them.

        Until row_ids is there (an upgrade in progress) each batch looks for it, so that
        ids given out while the upgrade ran are counted from the first batch after it.
        """
        if not self.counting and _counters(connection) is None:
            return []
        self.counting = True
        following = [(_BULK[sql][0], first[sql] + len(rows)) for sql, rows in statements if sql in first]
        return [(ROW_IDS, following)] if following else []


def _counters(connection: pymysql.connections.Connection) -> dict[str, int] | None:
    """Each log table's next id as row_ids keeps it; None where there is no row_ids (a database from before)."""
    try:
        return dict(_query(connection, "SELECT log_table, next_id FROM row_ids"))
    except DatabaseDown as error:
        if _missing_table(error):
            return None
        raise


def _there(connection: pymysql.connections.Connection, needed: str) -> bool:
    """Whether a table (`table`, or `table.column`) exists and this account may use it (from before it: not yet)."""
    table, _, column = needed.partition(".")
    try:
        _query(connection, f"SELECT {f'`{column}`' if column else 1} FROM `{table}` LIMIT 0")
    except DatabaseDown as error:
        if _missing_table(error) or _code(error) == _UNKNOWN_COLUMN:
            return False
        raise
    return True


MISSING_TABLE = (1146, 1142)  # no such table; no grant on it (both: the upgrade was not run)


_UNKNOWN_COLUMN = 1054  # a table from before the release that changed it


def _code(error: DatabaseDown) -> int | None:
    """MariaDB's error code behind a DatabaseDown, if any."""
    cause = error.__cause__
    return cause.args[0] if cause is not None and cause.args and isinstance(cause.args[0], int) else None


def _missing_table(error: DatabaseDown) -> bool:
    """A table that does not exist, or that this account has no grant on (both: the upgrade was not run)."""
    return _code(error) in MISSING_TABLE


class RowCount:
    """Stands for a log table's rows in a batch once they are LOAD DATA text: how many, for numbering them."""

    __slots__ = ("count",)

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count


def _whole(statements: Statements, rows_again: Callable[[], dict[str, list[tuple]]] | None) -> Statements:
    """The statements with the rows back where only their number was kept, for the INSERT paths."""
    if not any(isinstance(rows, RowCount) for _, rows in statements):
        return statements
    if rows_again is None:
        raise TypeError("rows given as a count only, and no way to make them again")
    again = rows_again()
    whole = []
    for sql, rows in statements:
        if isinstance(rows, RowCount) and len(again[sql]) != len(rows):  # a parser bug: store them all the same
            log.error("parsing a batch again gave %d rows, not %d: %.60s", len(again[sql]), len(rows), sql)
        whole.append((sql, again[sql] if isinstance(rows, RowCount) else rows))
    return whole


def encode_bulk(statements: Statements) -> dict[str, list[bytes]]:
    """The LOAD DATA text of each log-table statement, made ahead (in the parser thread) for `store`.

    Each encoded statement's rows are replaced in `statements` by their `RowCount` as soon as
    they are text, so a caller holding no other reference to them has them freed one table at a time.
    """
    if not bulk_available():
        return {}
    encoded = {}
    for position, (sql, rows) in enumerate(statements):
        if rows and sql in _BULK:
            encoded[sql] = bulk.encode_pieces(rows)
            statements[position] = (sql, RowCount(len(rows)))
    return encoded


def store(
    connection: pymysql.connections.Connection,
    statements: Statements,
    ids: RowIds,
    encoded: dict[str, list[bytes]] | None = None,
    *,
    before_commit: Callable[[], object] | None = None,
    rows_again: Callable[[], dict[str, list[tuple]]] | None = None,
) -> int:
    """Run every (statement, rows) in one transaction; return how many rows had to be rejected.

    Big log-table batches go as LOAD DATA, the rest as multi-row INSERTs. LOAD DATA
    turns a bad value into a warning rather than an error, so a load with any
    warning is rolled back and the batch is written again as INSERTs, where a
    value MariaDB refuses (a data or integrity error) is an error: the batch is
    then inserted row by row and only the offending rows are skipped. Any other
    error means the database is down. `encoded` holds text `encode_bulk` made
    beforehand, so the writer thread only waits on MariaDB. The log tables' rows
    are numbered by `ids`, the same in every attempt. `before_commit` lets another
    transaction commit first. Rows given only as a `RowCount` (their text is in
    `encoded`) are made again by `rows_again` if the INSERT paths need them.
    """
    first_ids = ids.reserve(statements)
    statements = [*ids.present(connection, statements), *ids.counters(connection, statements, first_ids)]
    attempts, attempt, retries = (bulk_available(), False), 0, 0
    while attempt < len(attempts):
        bulk_load = attempts[attempt]
        if not bulk_load:
            statements = _whole(statements, rows_again)
        try:
            _run(connection, statements, first_ids, bulk_load, encoded or {})
            if before_commit is not None:
                before_commit()
            connection.commit()
            if bulk_load:
                _bulk_works_again()
            return 0
        except _LoadNotClean as problem:
            log.warning("LOAD DATA was not clean (%s); writing the batch as INSERTs", problem)
            _rollback(connection)
            attempt += 1
        except (pymysql.err.DataError, pymysql.err.IntegrityError):
            _rollback(connection)
            break
        except (pymysql.err.MySQLError, OSError, _LoadUnavailable) as error:
            _rollback(connection)
            if table_changed(error) and retries < _CHANGED_RETRIES:
                retries += 1  # a day partition was added or dropped meanwhile: the same batch again, not an outage
                continue
            if bulk_load and _refused_load(error):
                attempt += 1
                continue
            raise DatabaseDown(describe(error)) from error
    return _store_row_by_row(connection, _numbered(_whole(statements, rows_again), first_ids), before_commit)


def _numbered(statements: Statements, first_ids: dict[str, int]) -> Statements:
    """The statements with each log-table row carrying its id, for the INSERT paths."""
    numbered = []
    for sql, rows in statements:
        if sql in _NUMBERED:
            numbered.append((_NUMBERED[sql], [(first_ids[sql] + i, *row) for i, row in enumerate(rows)]))
        else:
            numbered.append((sql, rows))
    return numbered


BULK_RETRY_SECONDS = 30.0
_bulk_refused = False  # the server refuses LOAD DATA LOCAL: INSERTs for the life of the process
_bulk_paused_until = 0.0  # the in-memory file could not be made: INSERTs until then, then try again
_bulk_failing = False


def bulk_available() -> bool:
    """Whether the next batch may go as LOAD DATA."""
    return not _bulk_refused and time.monotonic() >= _bulk_paused_until


def _refused_load(error: BaseException) -> bool:
    """LOAD DATA could not run: fall back to INSERTs, for good if the server refuses it, for a while otherwise."""
    global _bulk_refused, _bulk_paused_until, _bulk_failing  # noqa: PLW0603  (one state per process)
    code = error.args[0] if error.args and isinstance(error.args[0], int) else None
    if code in _LOAD_REFUSED:
        log.warning("bulk loading refused by MariaDB (%s); inserting with multi-row INSERTs instead", error)
        _bulk_refused = True
        return True
    if isinstance(error, _LoadUnavailable):
        if not _bulk_failing:
            log.warning(
                "bulk loading unavailable for now (%s); writing with INSERTs, trying again every %.0f s",
                error,
                BULK_RETRY_SECONDS,
            )
        _bulk_failing = True
        _bulk_paused_until = time.monotonic() + BULK_RETRY_SECONDS
        return True
    return False


def _bulk_works_again() -> None:
    """End an episode of transient bulk-load failures, once."""
    global _bulk_failing  # noqa: PLW0603
    if _bulk_failing:
        _bulk_failing = False
        log.warning("bulk loading works again")


def _run(
    connection: pymysql.connections.Connection,
    statements: Statements,
    first_ids: dict[str, int],
    bulk_load: bool,
    encoded: dict[str, list[bytes]],
) -> None:
    """Send every statement of a batch, without committing."""
    with connection.cursor() as cursor:
        for sql, rows in statements:
            if not rows:
                continue
            target = _BULK.get(sql) if bulk_load else None
            if target is None:
                insert_many(cursor, *_numbered([(sql, rows)], first_ids)[0])
                continue
            table, columns = target
            try:
                payload = encoded.get(sql)
                data = bulk.MemoryFile(payload if payload is not None else bulk.encode_pieces(rows))
            except OSError as error:
                raise _LoadUnavailable(f"memfd_create: {error}") from error
            cursor.execute("SET @siem_id = %s", (first_ids[sql] - 1,))
            with data:
                cursor.execute(bulk.statement(table, columns, data.path))
            if cursor.warning_count or cursor.rowcount != len(rows):
                loaded, warnings = cursor.rowcount, cursor.warning_count
                cursor.execute("SHOW WARNINGS LIMIT 1")
                first = " ".join(str(value) for value in cursor.fetchone() or ())
                raise _LoadNotClean(f"{table}: {loaded} of {len(rows)} rows, {warnings} warnings, first: {first}")


_MAX_STATEMENT = 1_024_000  # bytes, as pymysql's executemany


@lru_cache(maxsize=64)
def _split_insert(sql: str) -> tuple[str, str]:
    """The part of an `INSERT ... VALUES (%s, ...)` before its value list and the part after it."""
    head, _, tail = sql.partition(" VALUES (")
    return (head + " VALUES ") % (), tail.partition(")")[2] % ()  # `%%` as pymysql reads it


def sql_literal(cursor: pymysql.cursors.Cursor, value: object) -> str:
    """A value as pymysql writes it into SQL; counts and times, most of a count row, without its dispatch."""
    kind = value.__class__
    if kind is int:
        return str(value)
    if kind is datetime and value.tzinfo is None:  # type: ignore[attr-defined]
        return f"'{value}'"  # as pymysql's escape_datetime: the fraction only when there is one
    return cursor.mogrify("%s", (value,))


def insert_many(cursor: pymysql.cursors.Cursor, sql: str, rows: list[tuple]) -> None:
    """executemany for our INSERTs, each distinct value escaped once per call rather than once per row."""
    prefix, suffix = _split_insert(sql)
    literals = Memo(partial(sql_literal, cursor), {None: "NULL"})
    limit = _MAX_STATEMENT - len(prefix) - len(suffix)
    values: list[str] = []
    size = 0
    for row in rows:
        text = f"({','.join(map(literals.__getitem__, row))})"
        if values and size + len(text) > limit:
            cursor.execute(prefix + ",".join(values) + suffix)
            values, size = [], 0
        values.append(text)
        size += len(text) + 1
    if values:
        cursor.execute(prefix + ",".join(values) + suffix)


def _store_row_by_row(
    connection: pymysql.connections.Connection,
    statements: Statements,
    before_commit: Callable[[], object] | None = None,
) -> int:
    """Slow path after a data error: one statement per row, skipping the rows MariaDB refuses."""
    rejected = 0
    try:
        with connection.cursor() as cursor:
            for sql, rows in statements:
                for row in rows:
                    try:
                        cursor.execute(sql, row)
                    except (pymysql.err.DataError, pymysql.err.IntegrityError) as error:
                        rejected += 1
                        log.error("row rejected by MariaDB: %s; statement: %.60s; row: %.300r", error, sql, row)
        if before_commit is not None:
            before_commit()
        connection.commit()
    except (pymysql.err.MySQLError, OSError) as error:
        _rollback(connection)
        raise DatabaseDown(describe(error)) from error
    return rejected


def close_quietly(connection: pymysql.connections.Connection | None) -> None:
    """Close a connection that may already be dead; there is nothing to do about a failure."""
    if connection is not None:
        with contextlib.suppress(pymysql.err.MySQLError, OSError):
            connection.close()


def _rollback(connection: pymysql.connections.Connection) -> None:
    """Roll back if the connection still works; a dead one has nothing to roll back."""
    with contextlib.suppress(pymysql.err.MySQLError, OSError):
        connection.rollback()
