"""Database access for the API: pooled read-only connections, UTC sessions, dict rows."""

import contextlib
from collections.abc import Iterator
from typing import Annotated

import pymysql
from fastapi import Depends, HTTPException, status

from api.settings import Settings, get_settings


def connect(settings: Settings, user: str, password: str) -> pymysql.connections.Connection:
    """Open a connection whose session time zone is UTC, like the stored DATETIMEs."""
    try:
        return pymysql.connect(
            host=settings.db_host,
            port=settings.db_port,
            user=user,
            password=password,
            database=settings.db_name,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=3,
            read_timeout=30,
            init_command="SET time_zone = '+00:00'",
            cursorclass=pymysql.cursors.DictCursor,
        )
    except pymysql.err.MySQLError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "database unavailable") from error


_IDLE_MAX = 4  # connections kept open between requests; uvicorn's worker threads share them
_idle: list[pymysql.connections.Connection] = []  # list.pop and list.append are atomic


def get_db(settings: Annotated[Settings, Depends(get_settings)]) -> Iterator[pymysql.connections.Connection]:
    """A read-only connection for one request: an idle one that still answers, else a new one (~30 ms saved)."""
    connection = None
    while _idle and connection is None:
        connection = _idle.pop()
        try:
            connection.ping(reconnect=False)  # MariaDB may have restarted since
        except (pymysql.err.MySQLError, OSError):
            _close(connection)
            connection = None
    if connection is None:
        connection = connect(settings, settings.db_user, settings.db_password.get_secret_value())
    try:
        yield connection
    except BaseException:
        _close(connection)  # a request that failed may leave the session in any state
        raise
    if len(_idle) < _IDLE_MAX:
        _idle.append(connection)
    else:
        _close(connection)


def _close(connection: pymysql.connections.Connection) -> None:
    """Close a connection that may already be dead."""
    with contextlib.suppress(pymysql.err.MySQLError, OSError):
        connection.close()


def query(connection: pymysql.connections.Connection, sql: str, args: object = None) -> list[dict]:
    """Run a parameterised query and return all rows."""
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


def like_pattern(text: str) -> str:
    """`%text%` with LIKE's wildcards in the text escaped, so a search for `50%` finds `50%`."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


DbDep = Annotated[pymysql.connections.Connection, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
