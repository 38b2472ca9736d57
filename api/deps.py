"""Request dependencies shared by the routers: the bearer token and the time range."""

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, NamedTuple

from fastapi import Depends, HTTPException, Query, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.db import SettingsDep

_bearer = HTTPBearer(auto_error=False, description="SIEM_API_TOKEN")
_RELATIVE = re.compile(r"^(\d{1,6})([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DEFAULT_SPAN = timedelta(hours=24)
MAX_SPAN = timedelta(days=400)


def require_token(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Every data endpoint needs `Authorization: Bearer <SIEM_API_TOKEN>`, compared in constant time."""
    expected = settings.api_token.get_secret_value().encode()
    given = credentials.credentials.encode() if credentials is not None else b""
    if credentials is None or credentials.scheme.lower() != "bearer" or not secrets.compare_digest(given, expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong bearer token (Authorization: Bearer <SIEM_API_TOKEN>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


def utcnow() -> datetime:
    """Now, as the naive UTC the database stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def parse_moment(text: str, name: str, now: datetime) -> datetime:
    """`15m`, `24h`, `7d` ago, or an ISO 8601 time (UTC unless it carries an offset)."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        span = timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
        if span > MAX_SPAN:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{name}={text!r} reaches back more than 400 days")
        return now - span
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"{name}={text!r} is neither an ISO 8601 time (2025-11-17T08:00:00Z) nor relative (15m, 24h, 7d)",
        ) from error
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


class TimeRange(NamedTuple):
    """A half-open UTC interval [since, until)."""

    since: datetime
    until: datetime


def time_range(
    since: Annotated[str | None, Query(description="ISO 8601 or relative (15m, 24h, 7d); default 24h")] = None,
    until: Annotated[str | None, Query(description="ISO 8601 or relative; default now")] = None,
) -> TimeRange:
    """Parse and check since/until: since before until, at most 400 days apart."""
    now = utcnow()
    end = parse_moment(until, "until", now) if until else now
    try:
        start = parse_moment(since, "since", now) if since else end - DEFAULT_SPAN
    except OverflowError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"until={until!r} is too early") from error
    if start >= end:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"range reversed or empty: since {start} is not before until {end}"
        )
    if end - start > MAX_SPAN:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "range longer than 400 days")
    return TimeRange(start, end)


TimeRangeDep = Annotated[TimeRange, Depends(time_range)]
