"""Search stored syslog messages, newest first, a page at a time."""

import base64
import binascii
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api.db import DbDep, like_pattern, query
from api.deps import TimeRangeDep
from api.models import MessagePage

router = APIRouter(prefix="/messages", tags=["messages"])

SEVERITIES = {
    "emerg": 0, "emergency": 0, "alert": 1, "crit": 2, "critical": 2, "err": 3, "error": 3,
    "warning": 4, "warn": 4, "notice": 5, "info": 6, "debug": 7,
}  # fmt: skip
_COLUMNS = "id, timestamp, received, host, sender, facility, severity, program, pid, message, truncated"


def parse_severity(text: str) -> int:
    """A severity name or number 0-7; messages at least this severe (numerically at most it) match."""
    value = SEVERITIES.get(text.strip().lower())
    if value is None and text.strip().isdigit() and int(text) <= 7:
        value = int(text)
    if value is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"severity={text!r} is not 0-7 or a name such as warning")
    return value


def encode_cursor(timestamp: datetime, row_id: int) -> str:
    """An opaque cursor pointing just after a row."""
    return base64.urlsafe_b64encode(f"{timestamp.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Read a cursor back; a tampered one is a 400, not a 500."""
    try:
        stamp, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(stamp), int(row_id)
    except (ValueError, UnicodeDecodeError, binascii.Error) as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "cursor is not one this API handed out") from error


@router.get("", response_model=MessagePage)
def messages(
    db: DbDep,
    span: TimeRangeDep,
    host: Annotated[str | None, Query(max_length=255)] = None,
    program: Annotated[str | None, Query(max_length=64)] = None,
    severity: Annotated[str | None, Query(max_length=16, description="minimum severity: name or 0-7")] = None,
    q: Annotated[str | None, Query(max_length=200, description="text the message contains")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> MessagePage:
    """Messages in the time range matching every filter given, newest first."""
    conditions, params = ["timestamp >= %s", "timestamp < %s"], [span.since, span.until]
    for column, value in (("host", host), ("program", program)):
        if value is not None:
            conditions.append(f"{column} = %s")
            params.append(value)
    if severity is not None:
        conditions.append("severity <= %s")
        params.append(parse_severity(severity))
    if q:
        conditions.append("message LIKE %s")
        params.append(like_pattern(q))
    if cursor is not None:
        stamp, row_id = decode_cursor(cursor)
        conditions.append("(timestamp < %s OR (timestamp = %s AND id < %s))")
        params.extend([stamp, stamp, row_id])
    sql = f"SELECT {_COLUMNS} FROM messages WHERE {' AND '.join(conditions)} ORDER BY timestamp DESC, id DESC LIMIT %s"
    rows = query(db, sql, [*params, limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1]["timestamp"], rows[-1]["id"]) if more else None
    return MessagePage(items=rows, next_cursor=next_cursor)
