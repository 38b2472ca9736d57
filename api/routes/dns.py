"""What devices ask the router's resolver: top domains and devices, each device's domains, domains new to a device.

Rankings read `dns_hourly` for the whole hours of the range and the raw `dns_queries`
for the minutes at either edge. The collector writes both in the same transaction,
so every answer equals the raw rows' at once, whatever order the lines arrived in.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api.db import DbDep, query
from api.deps import TimeRange, TimeRangeDep, parse_moment, utcnow
from api.models import DeviceDomain, DnsTop, NewDomain
from api.routes.devices import MacPath, parse_mac
from common.addresses import normalise_ip, normalise_mac
from common.store import HOUR, floor_time

router = APIRouter(tags=["dns"])

OUTCOMES = ("answered", "cached", "local", "blocked", "nxdomain", "nodata", "failed", "forwarded", "unknown")


class DnsField(StrEnum):
    """What `dns/top` ranks."""

    domain = "domain"
    device = "device"


def device_value(text: str) -> str:
    """A device as the DNS tables store it: its MAC, or the address when no device held it; else a 400."""
    value = normalise_mac(text) or normalise_ip(text)
    if value is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{text!r} is neither a MAC nor an IP address")
    return value


def whole_hours(span: TimeRange) -> tuple[datetime, datetime] | None:
    """The whole hours inside the range, which dns_hourly answers; None when it holds no whole hour."""
    start = floor_time(span.since, HOUR)
    if start < span.since:
        start += HOUR
    end = floor_time(span.until, HOUR)
    return (start, end) if start < end else None


def _ranked_rows(span: TimeRange, key: str, where: list[str], params: list[object]) -> tuple[str, list[object]]:
    """SQL giving (k, n, b): queries and blocked queries per `key` in the range, from hourly counts and raw edges."""
    filters = "".join(f" AND {condition}" for condition in where)
    hours = whole_hours(span)
    raw = (
        f"SELECT {key} AS k, COUNT(*) AS n, SUM(outcome = 'blocked') AS b FROM dns_queries"
        f" WHERE timestamp >= %s AND timestamp < %s{filters} GROUP BY k"
    )
    if hours is None:
        return raw, [span.since, span.until, *params]
    hourly = (
        f"SELECT {key} AS k, SUM(queries) AS n, SUM(IF(outcome = 'blocked', queries, 0)) AS b FROM dns_hourly"
        f" WHERE timestamp >= %s AND timestamp < %s{filters} GROUP BY k"
    )
    sql = f"SELECT k, SUM(n) AS n, SUM(b) AS b FROM ({hourly} UNION ALL {raw} UNION ALL {raw}) AS parts GROUP BY k"
    args = [*hours, *params, span.since, hours[0], *params, hours[1], span.until, *params]
    return sql, args


@router.get("/dns/top", response_model=DnsTop)
def top(
    db: DbDep,
    span: TimeRangeDep,
    by: Annotated[DnsField, Query(description="rank domains, or devices")] = DnsField.domain,
    host: Annotated[str | None, Query(max_length=255, description="the router or resolver that logged it")] = None,
    outcome: Annotated[str | None, Query(max_length=16, description=", ".join(OUTCOMES))] = None,
    device: Annotated[str | None, Query(max_length=64, description="one device: MAC or address")] = None,
    domain: Annotated[str | None, Query(max_length=253, description="one domain, exactly")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
) -> DnsTop:
    """The most queried domains, or the devices asking most, in the range; blocked queries counted beside."""
    where: list[str] = []
    params: list[object] = []
    if host is not None:
        where.append("host = %s")
        params.append(host)
    if outcome is not None:
        if outcome.lower() not in OUTCOMES:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"outcome must be one of {', '.join(OUTCOMES)}")
        where.append("outcome = %s")
        params.append(outcome.lower())
    if device is not None:
        where.append("device = %s")
        params.append(device_value(device))
    if domain is not None:
        where.append("domain_id = (SELECT id FROM dns_domains WHERE name = %s)")
        params.append(domain.rstrip(".").lower())
    key = "domain_id" if by == DnsField.domain else "device"
    ranked, args = _ranked_rows(span, key, where, params)
    totals = query(db, f"SELECT COALESCE(SUM(n), 0) AS total FROM ({ranked}) AS ranked", args)
    if by == DnsField.domain:
        sql = (
            f"SELECT d.name AS value, r.n AS queries, r.b AS blocked FROM ({ranked}) AS r"
            " JOIN dns_domains AS d ON d.id = r.k ORDER BY r.n DESC, d.name LIMIT %s"
        )
    else:
        sql = (
            f"SELECT r.k AS value, r.n AS queries, r.b AS blocked, v.name, v.vendor, v.hostname FROM ({ranked}) AS r"
            " LEFT JOIN devices AS v ON v.mac = r.k ORDER BY r.n DESC, r.k LIMIT %s"
        )
    entries = query(db, sql, [*args, limit])
    return DnsTop(
        since=span.since, until=span.until, by=by.value, total=int(totals[0]["total"]),
        entries=[{**row, "queries": int(row["queries"]), "blocked": int(row["blocked"])} for row in entries],
    )  # fmt: skip


@router.get("/devices/{mac}/domains", response_model=list[DeviceDomain])
def device_domains(
    db: DbDep,
    mac: MacPath,
    since: Annotated[
        str | None, Query(description="only domains asked for since (ISO 8601 or 7d); default all")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[dict]:
    """Every domain a device asked for in the last year, most recently asked first, with first and last time."""
    address = parse_mac(mac)
    cutoff = _moment(since)
    return query(
        db,
        "SELECT d.name AS domain, x.first_seen, x.last_seen, x.queries, x.blocked FROM dns_device_domains AS x"
        " JOIN dns_domains AS d ON d.id = x.domain_id WHERE x.device = %s AND x.last_seen >= %s"
        " ORDER BY x.last_seen DESC, d.name LIMIT %s",
        [address, cutoff, limit],
    )


def _moment(since: str | None) -> datetime:
    """`since` as a time, or the beginning of time."""
    return datetime(1970, 1, 1) if since is None else parse_moment(since, "since", utcnow())


@router.get("/dns/new", response_model=list[NewDomain])
def new_domains(
    db: DbDep,
    span: TimeRangeDep,
    device: Annotated[str | None, Query(max_length=64, description="one device: MAC or address")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict]:
    """Domains a device asked for the first time in the range (default the last 24 h), newest first."""
    where, params = "", []
    if device is not None:
        where, params = " AND x.device = %s", [device_value(device)]
    return query(
        db,
        "SELECT x.device, v.name, v.vendor, v.hostname, v.known, d.name AS domain, x.first_seen, x.last_seen,"
        " x.queries, x.blocked FROM dns_device_domains AS x JOIN dns_domains AS d ON d.id = x.domain_id"
        f" LEFT JOIN devices AS v ON v.mac = x.device WHERE x.first_seen >= %s AND x.first_seen < %s{where}"
        " ORDER BY x.first_seen DESC, x.device, d.name LIMIT %s",
        [span.since, span.until, *params, limit],
    )
