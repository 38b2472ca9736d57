"""The device inventory: list, new devices, one device in detail, and the one write the API allows."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Query, status

from api.db import DbDep, SettingsDep, connect, like_pattern, query
from api.deps import TimeRangeDep
from api.models import Device, DeviceDetail, DeviceUpdate
from common.addresses import normalise_mac
from common.store import DAY, HOUR, floor_time

router = APIRouter(prefix="/devices", tags=["devices"])

_COLUMNS = ", ".join((
    "mac", "name", "known", "notes", "vendor", "hostname", "randomised",
    "last_ipv4", "last_ipv6", "interface", "vlan", "first_seen", "last_seen",
))  # fmt: skip
_LIST = f"SELECT {_COLUMNS} FROM devices WHERE (%s IS NULL OR known = %s) AND (%s IS NULL OR randomised = %s)"
_SEARCH = (
    " AND (%s IS NULL OR CONCAT_WS(' ', mac, name, hostname, vendor, last_ipv4, last_ipv6) LIKE %s)"
    " ORDER BY last_seen DESC, mac LIMIT %s OFFSET %s"
)
_NEW = f"SELECT {_COLUMNS} FROM devices WHERE first_seen >= %s AND first_seen < %s ORDER BY first_seen DESC, mac"
_ONE = f"SELECT {_COLUMNS} FROM devices WHERE mac = %s"
_ADDRESSES = "SELECT ip, first_seen, last_seen FROM device_addresses WHERE mac = %s ORDER BY last_seen DESC LIMIT 200"
_EVENTS = (
    "SELECT timestamp, event, ip, old_value, new_value, notice FROM device_events"
    " WHERE mac = %s ORDER BY timestamp DESC, id DESC LIMIT 200"
)
# The last day's drops: whole hours from the hourly counts per MAC (written with the rows, so exact),
# the part hours at either end from the rows, read by time. The rows have no index by MAC: keeping
# one up to date cost a sixth of MariaDB's work per firewall line.
_DROPS = (
    "SELECT (SELECT COALESCE(SUM(packets), 0) FROM packetfilter_macs WHERE timestamp >= %s AND timestamp < %s"
    " AND mac = %s AND action IN ('DROP', 'REJECT'))"
    " + (SELECT COUNT(*) FROM packetfilter WHERE (timestamp >= %s AND timestamp < %s OR timestamp >= %s)"
    " AND mac = %s AND action IN ('DROP', 'REJECT')) AS n"
)


def parse_mac(mac: str) -> str:
    """Accept any common MAC spelling; refuse anything else with a 400."""
    normal = normalise_mac(mac)
    if normal is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{mac!r} is not a MAC address (aa:bb:cc:dd:ee:ff)")
    return normal


MacPath = Annotated[
    str, Path(max_length=32, description="any common spelling: aa:bb:cc:dd:ee:ff, AA-BB-..., aabb.ccdd.eeff")
]


@router.get("", response_model=list[Device])
def list_devices(
    db: DbDep,
    known: bool | None = None,
    randomised: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="text in MAC, name, hostname, vendor or IP")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[dict]:
    """All devices, most recently seen first, optionally filtered."""
    pattern = like_pattern(q) if q else None
    return query(db, _LIST + _SEARCH, [known, known, randomised, randomised, pattern, pattern, limit, offset])


@router.get("/new", response_model=list[Device])
def new_devices(db: DbDep, span: TimeRangeDep) -> list[dict]:
    """Devices first seen in the time range (default: the last 24 h), newest first."""
    return query(db, _NEW, [span.since, span.until])


@router.get("/{mac}", response_model=DeviceDetail, responses={404: {"description": "no such device"}})
def device(db: DbDep, mac: MacPath) -> dict:
    """One device with its addresses, its events and how often its traffic was blocked in the last 24 h."""
    return _detail(db, parse_mac(mac))


@router.patch("/{mac}", response_model=DeviceDetail, responses={404: {"description": "no such device"}})
def update_device(db: DbDep, settings: SettingsDep, mac: MacPath, change: Annotated[DeviceUpdate, Body()]) -> dict:
    """Set a device's name, known flag or notes: the only write the API allows."""
    address = parse_mac(mac)
    fields = change.model_dump(exclude_unset=True)
    if not fields:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "nothing to change: give name, known or notes")
    if settings.editor_password is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "device editing is off: set SIEM_EDITOR_PASSWORD")
    if not query(db, "SELECT mac FROM devices WHERE mac = %s", [address]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {address}")
    if fields.get("known", True) is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "known must be true or false")
    assignments = ", ".join(f"{name} = %s" for name in fields)  # names come from DeviceUpdate's fields
    editor = connect(settings, settings.editor_user, settings.editor_password.get_secret_value())
    try:
        query(editor, f"UPDATE devices SET {assignments} WHERE mac = %s", [*fields.values(), address])
    finally:
        editor.close()
    return _detail(db, address)


def _detail(db: DbDep, mac: str) -> dict:
    """A device with its history, or 404."""
    rows = query(db, _ONE, [mac])
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {mac}")
    return {
        **rows[0],
        "addresses": query(db, _ADDRESSES, [mac]),
        "events": query(db, _EVENTS, [mac]),
        "drops_24h": _drops_last_day(db, mac),
    }


def _drops_last_day(db: DbDep, mac: str) -> int:
    """Packets from the device dropped or rejected in the last 24 hours (and any dated later)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    since, last = now - DAY, floor_time(now, HOUR)
    first = floor_time(since, HOUR)
    if first < since:
        first += HOUR
    return int(query(db, _DROPS, [first, last, mac, since, first, last, mac])[0]["n"])
