"""Database access for the API: a connection per request, UTC sessions, dict rows."""

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


def get_db(settings: Annotated[Settings, Depends(get_settings)]) -> Iterator[pymysql.connections.Connection]:
    """A read-only connection for the duration of one request."""
    connection = connect(settings, settings.db_user, settings.db_password.get_secret_value())
    try:
        yield connection
    finally:
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
