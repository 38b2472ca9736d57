"""Search stored syslog messages, newest first, a page at a time."""

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api.db import DbDep, SettingsDep, like_pattern, query
from api.deps import TimeRangeDep
from api.models import MessagePage
from common.store import FIVE_MINUTES, floor_time

router = APIRouter(prefix="/messages", tags=["messages"])

SEVERITIES = {
    "emerg": 0, "emergency": 0, "alert": 1, "crit": 2, "critical": 2, "err": 3, "error": 3,
    "warning": 4, "warn": 4, "notice": 5, "info": 6, "debug": 7,
}  # fmt: skip
_COLUMNS = "id, timestamp, received, host, sender, facility, severity, program, pid, message, truncated"
_FIRST_WINDOW = timedelta(hours=1)


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
        moment = datetime.fromisoformat(stamp)
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment, int(row_id)
    except (ValueError, OverflowError, UnicodeDecodeError, binascii.Error) as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "cursor is not one this API handed out") from error


def search_floor(db: DbDep, since: datetime, end: datetime, budget: int) -> datetime | None:
    """Where a text search stops this time so it reads about `budget` messages back from `end`; None: all fit.

    LIKE '%text%' reads every message in its range, so one search over months would take seconds.
    The 5-minute counts say how many messages each stretch holds; windows growing fourfold
    find the stretch without reading months of counts either.
    """
    floor, top, bottom = floor_time(since, FIVE_MINUTES), end, floor_time(end, FIVE_MINUTES) + FIVE_MINUTES
    window, total = _FIRST_WINDOW, 0.0
    while top > floor:
        bottom = floor if bottom - floor <= window else bottom - window  # never below year 1
        buckets = query(
            db,
            "SELECT timestamp, SUM(messages) AS messages FROM messages_counts"
            " WHERE timestamp >= %s AND timestamp < %s GROUP BY timestamp ORDER BY timestamp DESC",
            [bottom, top],
        )
        for bucket in buckets:  # taking each interval's messages as evenly spread over it
            start, stop = bucket["timestamp"], min(bucket["timestamp"] + FIVE_MINUTES, end)
            count = int(bucket["messages"]) * ((stop - start) / FIVE_MINUTES)
            total += count
            if total >= budget:
                cut = (start + (stop - start) * ((total - budget) / count)).replace(microsecond=0)
                return cut if cut > since else None
        top, window = bottom, window * 4
    return None


def _counted_filters(host: str | None, program: str | None, severity: str | None) -> tuple[list[str], list[object]]:
    """Conditions on host, program and severity, the columns messages and messages_counts share."""
    conditions, params = [], []
    for column, value in (("host", host), ("program", program)):
        if value is not None:
            conditions.append(f"{column} = %s")
            params.append(value)
    if severity is not None:
        conditions.append("severity <= %s")
        params.append(parse_severity(severity))
    return conditions, params


def newest_intervals(
    db: DbDep, conditions: list[str], params: list[object], since: datetime, end: datetime, count: int, spent: bool
) -> tuple[list[datetime], bool]:
    """The newest 5-minute intervals from since to end whose counts hold `count` messages matching `conditions`.

    `conditions` are on host, program and severity, columns messages_counts shares (a message
    without a program counts under ''). With `spent`, the newest interval's messages (a cursor's
    own) count for none. Also tells whether they are all the matching intervals there are.
    """
    rows = query(
        db,
        "SELECT timestamp, SUM(messages) AS n FROM messages_counts WHERE timestamp >= %s AND timestamp <= %s"
        f"{''.join(f' AND {c}' for c in conditions)} GROUP BY timestamp ORDER BY timestamp DESC LIMIT %s",
        [floor_time(since, FIVE_MINUTES), end, *params, count + spent],
    )
    intervals, held = [], 0
    for position, row in enumerate(rows):
        intervals.append(row["timestamp"])
        held += 0 if spent and position == 0 else int(row["n"])
        if held >= count:
            return intervals, False
    return intervals, len(rows) < count + spent


# A newest-first page over a month merges the first rows of every day partition, each a read from
# disk; when the last day holds a page, it alone answers (the same rows the whole range gives).
RECENT = timedelta(days=1)


@router.get("", response_model=MessagePage)
def messages(
    db: DbDep,
    settings: SettingsDep,
    span: TimeRangeDep,
    host: Annotated[str | None, Query(max_length=255)] = None,
    program: Annotated[str | None, Query(max_length=64)] = None,
    severity: Annotated[str | None, Query(max_length=16, description="minimum severity: name or 0-7")] = None,
    q: Annotated[str | None, Query(max_length=200, description="text the message contains")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> MessagePage:
    """Messages in the time range matching every filter given, newest first.

    A text search reads at most SIEM_API_SEARCH_ROWS messages per request, so its page may hold
    fewer than `limit` items and still carry a `next_cursor` that goes on from where it stopped.
    """
    counted, counted_params = _counted_filters(host, program, severity)  # what the 5-minute counts can tell
    conditions = ["timestamp >= %s", "timestamp < %s", *counted]
    params = [span.since, span.until, *counted_params]
    if q:
        conditions.append("message LIKE %s")
        params.append(like_pattern(q))
    end = span.until
    if cursor is not None:
        stamp, row_id = decode_cursor(cursor)
        conditions.append("(timestamp < %s OR (timestamp = %s AND id < %s))")
        params.extend([stamp, stamp, row_id])
        end = min(end, stamp)
    floor = None
    if counted and not q:
        # The 5-minute counts say which intervals hold matching messages: the newest that hold limit + 1
        # of them (not counting a cursor's own, which may be spent) hold the page and tell whether there
        # is more, however rare the match, with no index on these columns. If a message counted is not
        # there (retention took it, MariaDB refused it), the page says to go on below the intervals read.
        marked, whole = newest_intervals(db, counted, counted_params, span.since, end, limit + 1, cursor is not None)
        if not marked:
            return MessagePage(items=[], next_cursor=None)
        conditions.append("(" + " OR ".join(["(timestamp >= %s AND timestamp < %s)"] * len(marked)) + ")")
        params.extend(moment for start in marked for moment in (start, start + FIVE_MINUTES))
        floor = None if whole else marked[-1]
    elif q:  # counts outlive the messages retention deletes: start where the messages do
        oldest = query(db, "SELECT MIN(timestamp) AS oldest FROM messages")[0]["oldest"]
        since = max(span.since, oldest or end)
        floor = search_floor(db, since, end, settings.api_search_rows) if end > since else None
        if floor is not None:
            conditions.append("timestamp >= %s")
            params.append(floor)
    sql = f"SELECT {_COLUMNS} FROM messages WHERE {' AND '.join(conditions)} ORDER BY timestamp DESC, id DESC LIMIT %s"
    rows = []
    if floor is None and end - span.since > RECENT:  # the newest rows first from the last day's partitions only
        rows = query(db, sql.replace(" ORDER BY", " AND timestamp >= %s ORDER BY"), [*params, end - RECENT, limit + 1])
    if len(rows) <= limit:  # fewer there than a page: the whole range (every day partition) decides
        rows = query(db, sql, [*params, limit + 1])
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["timestamp"], rows[-1]["id"])
    else:  # everything from `floor` on was read: go on below it
        next_cursor = encode_cursor(floor, 0) if floor is not None else None
    return MessagePage(items=rows, next_cursor=next_cursor)
