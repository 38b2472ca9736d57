"""What devices ask the router's resolver: top domains and devices, each device's domains, domains new to a device.

Rankings read the coarsest counts that hold the question's columns: whole days of
`dns_domain_daily` (top domains) or `dns_device_daily` (top devices), whole hours of
`dns_device_hourly` (the hours beside the days) or
of `dns_hourly` (with a device or domain filter), and the raw `dns_queries` for the
minutes at either edge. The collector writes them all in the same transaction as the
queries, so every answer equals the raw rows' at once, whatever order lines arrived in.
"""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api.db import DbDep, query
from api.deps import TimeRange, TimeRangeDep, parse_moment, utcnow
from api.models import DeviceDomain, DnsTop, NewDomain
from api.routes.devices import MacPath, parse_mac
from common.addresses import normalise_ip, normalise_mac
from common.store import DAY, DNS_DAY_TABLE, DNS_OUTCOMES, DNS_RAW_TABLE, HOUR, dns_count, floor_time

router = APIRouter(tags=["dns"])


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


def pieces(
    since: datetime, until: datetime, levels: list[tuple[str, timedelta]]
) -> list[tuple[str, datetime, datetime]]:
    """Cut [since, until) into (table, start, end) pieces: whole buckets of the coarsest level, finer ones beside.

    What no level covers in whole buckets (the minutes at the edges) is read from the raw queries.
    """
    if since >= until:
        return []
    if not levels:
        return [(RAW, since, until)]
    (table, size), finer = levels[0], levels[1:]
    first = floor_time(since, size)
    if first < since:
        first += size
    last = floor_time(until, size)
    if first >= last:
        return pieces(since, until, finer)
    return [*pieces(since, first, finer), (table, first, last), *pieces(last, until, finer)]


RAW = DNS_RAW_TABLE
HOURLY = ("dns_hourly", HOUR)  # by host, device, domain and outcome
DEVICE_HOURLY = ("dns_device_hourly", HOUR)  # by host, device and outcome
DEVICE_DAILY = ("dns_device_daily", DAY)  # the same per day
DOMAIN_DAILY = (DNS_DAY_TABLE, DAY)  # by host and domain, each outcome a column


def _ranked_rows(
    span: TimeRange,
    key: str,
    where: list[str],
    params: list[object],
    levels: list[tuple[str, timedelta]],
    outcome: str | None = None,
) -> tuple[str, list[object]]:
    """SQL giving (k, n, b): queries and blocked queries per `key`, from the coarsest counts that answer, raw edges.

    An `outcome` is a condition on the tables with a row per outcome, a column of dns_domain_daily.
    """
    parts, args = [], []
    for table, start, end in pieces(span.since, span.until, levels):
        conditions, values = where, params
        if outcome is not None and table != DNS_DAY_TABLE:
            conditions, values = [*where, "outcome = %s"], [*params, outcome]
        counted = dns_count(table, outcome)
        filters = "".join(f" AND {condition}" for condition in conditions)
        parts.append(
            f"SELECT {key} AS k, {counted} FROM {table} WHERE timestamp >= %s AND timestamp < %s{filters} GROUP BY 1"
        )
        args += [start, end, *values]
    union = " UNION ALL ".join(parts)
    # HAVING: an outcome of dns_domain_daily is a column, zero in rows of domains with none of it
    return f"SELECT k, SUM(n) AS n, SUM(b) AS b FROM ({union}) AS parts GROUP BY k HAVING n > 0", args


@router.get("/dns/top", response_model=DnsTop)
def top(
    db: DbDep,
    span: TimeRangeDep,
    by: Annotated[DnsField, Query(description="rank domains, or devices")] = DnsField.domain,
    host: Annotated[str | None, Query(max_length=255, description="the router or resolver that logged it")] = None,
    outcome: Annotated[str | None, Query(max_length=16, description=", ".join(DNS_OUTCOMES))] = None,
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
        if outcome.lower() not in DNS_OUTCOMES:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"outcome must be one of {', '.join(DNS_OUTCOMES)}")
        outcome = outcome.lower()
    if device is not None:
        where.append("device = %s")
        params.append(device_value(device))
    if domain is not None:
        where.append("domain_id = (SELECT id FROM dns_domains WHERE name = %s)")
        params.append(domain.rstrip(".").lower())
    if by == DnsField.domain:  # the daily domain counts have no device: with one asked for, the hourly ones answer
        key, levels = "domain_id", [DOMAIN_DAILY, HOURLY] if device is None else [HOURLY]
    else:  # the device counts have no domain: with one asked for, the hourly ones answer
        key, levels = "device", [DEVICE_DAILY, DEVICE_HOURLY] if domain is None else [HOURLY]
    ranked, args = _ranked_rows(span, key, where, params, levels, outcome)
    total = "SUM(r.n) OVER () AS total"  # every matching query, beside the first `limit` values
    if by == DnsField.domain:
        sql = (
            f"SELECT d.name AS value, r.n AS queries, r.b AS blocked, {total} FROM ({ranked}) AS r"
            " JOIN dns_domains AS d ON d.id = r.k ORDER BY r.n DESC, d.name LIMIT %s"
        )
    else:
        sql = (
            f"SELECT r.k AS value, r.n AS queries, r.b AS blocked, v.name, v.vendor, v.hostname, {total}"
            f" FROM ({ranked}) AS r LEFT JOIN devices AS v ON v.mac = r.k ORDER BY r.n DESC, r.k LIMIT %s"
        )
    entries = query(db, sql, [*args, limit])
    return DnsTop(
        since=span.since, until=span.until, by=by.value, total=int(entries[0]["total"]) if entries else 0,
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
    params = [] if device is None else [device_value(device)]
    mine = " AND x.device = %s" if params else ""
    # Only rows from the `limit`-th newest first time on are joined and sorted (ties with it kept, so the
    # order by device and name stays exact): a month holds tens of thousands of pairs.
    newest = (
        f"SELECT x.first_seen FROM dns_device_domains AS x WHERE x.first_seen >= %s AND x.first_seen < %s{mine}"
        " ORDER BY x.first_seen DESC LIMIT 1 OFFSET %s"
    )
    return query(
        db,
        "SELECT x.device, v.name, v.vendor, v.hostname, v.known, d.name AS domain, x.first_seen, x.last_seen,"
        " x.queries, x.blocked FROM dns_device_domains AS x JOIN dns_domains AS d ON d.id = x.domain_id"
        f" LEFT JOIN devices AS v ON v.mac = x.device WHERE x.first_seen >= COALESCE(({newest}), %s)"
        f" AND x.first_seen < %s{mine} ORDER BY x.first_seen DESC, x.device, d.name LIMIT %s",
        [span.since, span.until, *params, limit - 1, span.since, span.until, *params, limit],
    )
