"""MariaDB access for the writer: connect, and insert a batch of rows in one transaction."""

import contextlib
import logging

import pymysql

from collector.rows import ADDRWATCH_COLUMNS, MESSAGE_COLUMNS, PACKETFILTER_COLUMNS, Rows
from collector.settings import Settings

log = logging.getLogger(__name__)


class DatabaseDown(Exception):
    """MariaDB cannot take the batch now (unreachable, restarting, misconfigured); hold it and retry."""


def _insert(table: str, columns: tuple[str, ...]) -> str:
    """A multi-row-capable INSERT; pymysql's executemany expands its VALUES for a whole batch."""
    names = ", ".join(f"`{column}`" for column in columns)
    values = ", ".join(["%s"] * len(columns))
    return f"INSERT INTO `{table}` ({names}) VALUES ({values})"


_STATEMENTS = (
    ("messages", _insert("messages", MESSAGE_COLUMNS)),
    ("packetfilter", _insert("packetfilter", PACKETFILTER_COLUMNS)),
    ("addrwatch", _insert("addrwatch", ADDRWATCH_COLUMNS)),
)


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
        1142: " (permission denied: grants from mysql-init/02-users.sh missing)",
        2003: " (MariaDB not reachable: is it running, are SIEM_DB_HOST and SIEM_DB_PORT right?)",
    }.get(code or 0, "")
    return f"{type(error).__name__}: {error}{hint}"


def store(connection: pymysql.connections.Connection, rows: Rows) -> int:
    """Insert all rows in one transaction; return how many rows had to be rejected one by one.

    A value MariaDB refuses (a data or integrity error) must not cost the batch:
    the batch is then inserted row by row in one transaction and only the
    offending rows are skipped. Any other error means the database is down.
    """
    tables = {"messages": rows.messages, "packetfilter": rows.packetfilter, "addrwatch": rows.addrwatch}
    try:
        with connection.cursor() as cursor:
            for table, sql in _STATEMENTS:
                if tables[table]:
                    cursor.executemany(sql, tables[table])
        connection.commit()
        return 0
    except (pymysql.err.DataError, pymysql.err.IntegrityError):
        _rollback(connection)
    except (pymysql.err.MySQLError, OSError) as error:
        _rollback(connection)
        raise DatabaseDown(describe(error)) from error
    return _store_row_by_row(connection, tables)


def _store_row_by_row(connection: pymysql.connections.Connection, tables: dict[str, list[tuple]]) -> int:
    """Slow path after a data error: one statement per row, skipping the rows MariaDB refuses."""
    rejected = 0
    try:
        with connection.cursor() as cursor:
            for table, sql in _STATEMENTS:
                for row in tables[table]:
                    try:
                        cursor.execute(sql, row)
                    except (pymysql.err.DataError, pymysql.err.IntegrityError) as error:
                        rejected += 1
                        log.error("%s row rejected by MariaDB: %s; row: %.300r", table, error, row)
        connection.commit()
    except (pymysql.err.MySQLError, OSError) as error:
        _rollback(connection)
        raise DatabaseDown(describe(error)) from error
    return rejected


def _rollback(connection: pymysql.connections.Connection) -> None:
    """Roll back if the connection still works; a dead one has nothing to roll back."""
    with contextlib.suppress(pymysql.err.MySQLError, OSError):
        connection.rollback()
