"""Response and request bodies: what the API promises its scripts."""

from datetime import datetime

from pydantic import BaseModel, Field


class Health(BaseModel):
    """Liveness and whether MariaDB answers."""

    status: str = Field(description="ok, or degraded when the database does not answer")
    database: str = Field(
        description="reachable; or why not: access denied (password or account), no access to the database,"
        " database missing, unreachable"
    )


class TableStats(BaseModel):
    """Size and time span of one table."""

    rows: int
    oldest: datetime | None
    newest: datetime | None


class Stats(BaseModel):
    """What the appliance holds and how fast it is filling."""

    tables: dict[str, TableStats]
    database_bytes: int = Field(description="what the database's files take on disk, after page compression")
    messages_per_minute: float = Field(description="average over the last 5 minutes, by message time")


class DropsSummary(BaseModel):
    """Packet-filter rows in a time range, counted three ways."""

    since: datetime
    until: datetime
    total: int
    by_action: dict[str, int]
    by_chain: dict[str, int]
    by_protocol: dict[str, int]


class TimeseriesPoint(BaseModel):
    """Count of packet-filter rows in one interval (and action, when split)."""

    time: datetime
    count: int
    action: str | None = None


class Timeseries(BaseModel):
    """Counts per interval, oldest first; empty intervals are left out."""

    since: datetime
    until: datetime
    interval: str
    points: list[TimeseriesPoint]


class TopEntry(BaseModel):
    """One value of the field and how many rows had it."""

    value: str | int
    count: int


class Top(BaseModel):
    """The most frequent values of a field."""

    since: datetime
    until: datetime
    by: str
    entries: list[TopEntry]
    exact: bool = Field(
        True,
        description="false when some packets of the range fell outside a day's or hour's top 50 of this field:"
        " each count is then a lower bound (src_ip, dst_ip, src_port, in_interface only)",
    )
    outside_top: int = Field(0, description="packets the rankings hold only as 'the rest beyond the top 50'")


class Device(BaseModel):
    """One device of the inventory."""

    mac: str
    name: str | None
    known: bool
    notes: str | None
    vendor: str | None
    hostname: str | None
    randomised: bool
    last_ipv4: str | None
    last_ipv6: str | None
    interface: str | None
    vlan: int | None
    first_seen: datetime
    last_seen: datetime


class DeviceAddress(BaseModel):
    """An address a device used."""

    ip: str
    first_seen: datetime
    last_seen: datetime


class DeviceEvent(BaseModel):
    """Something that happened to a device."""

    timestamp: datetime
    event: str
    ip: str | None
    old_value: str | None
    new_value: str | None
    notice: str | None


class DeviceDetail(Device):
    """A device with its address history, its events and its blocked traffic in the last 24 h."""

    addresses: list[DeviceAddress]
    events: list[DeviceEvent]
    drops_24h: int


class DeviceUpdate(BaseModel):
    """The fields a user owns; only those given are changed."""

    name: str | None = Field(None, max_length=255)
    known: bool | None = None
    notes: str | None = Field(None, max_length=10000)


class Message(BaseModel):
    """One stored syslog message."""

    id: int
    timestamp: datetime
    received: datetime
    host: str
    sender: str | None
    facility: int
    severity: int
    program: str | None
    pid: str | None
    message: str
    truncated: bool


class MessagePage(BaseModel):
    """Newest first; pass `next_cursor` as `cursor` for the next page, until it is null.

    A text search (`q`) reads a bounded stretch of messages per request, so its pages may hold
    fewer than `limit` items, even none, while `next_cursor` still says there is more to search.
    """

    items: list[Message]
    next_cursor: str | None


class DnsTopEntry(BaseModel):
    """A domain or a device and how many queries it had in the range."""

    value: str = Field(description="the domain, or the device: its MAC, or the address when no device is known")
    queries: int
    blocked: int = Field(description="of those, answered by a block list")
    name: str | None = Field(None, description="the device's name (by=device)")
    vendor: str | None = None
    hostname: str | None = None


class DnsTop(BaseModel):
    """The most queried domains, or the most querying devices."""

    since: datetime
    until: datetime
    by: str
    total: int = Field(description="queries in the range matching the filters")
    entries: list[DnsTopEntry]


class DeviceDomain(BaseModel):
    """A domain one device asked for: first and last time, and how often (kept a year, longer than the queries)."""

    domain: str
    first_seen: datetime
    last_seen: datetime
    queries: int
    blocked: int


class NewDomain(DeviceDomain):
    """A domain a device asked for the first time in the range."""

    device: str
    name: str | None
    vendor: str | None
    hostname: str | None
    known: bool | None = Field(description="whether the device is marked known; null without an inventory entry")
