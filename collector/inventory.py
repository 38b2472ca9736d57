"""The device inventory: sightings in, upsert rows and device events out; no I/O.

The collector keeps what it needs to spot changes (each device's last IPv4, IPv6
and hostname, and who owns each IPv4) in memory, loaded from `devices` when it
connects, so no sighting costs a database round trip. State is only advanced
after the batch that changed it has been committed.
"""

import ipaddress
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache

from collector.vendors import is_randomised, vendor

NEW_DEVICE = "new device"
IP_CHANGE = "ip change"
MAC_CHANGE = "mac change"
HOSTNAME_CHANGE = "hostname change"


@dataclass(slots=True)
class Sighting:
    """A device seen with an address, from any source."""

    timestamp: datetime
    mac: str
    ip: str | None
    source: str
    interface: str | None = None
    vlan: int | None = None
    hostname: str | None = None
    old_mac: str | None = None


@dataclass(slots=True)
class Known:
    """What the inventory remembers of one device to notice changes."""

    ipv4: str | None = None
    ipv6: str | None = None
    hostname: str | None = None


@dataclass
class Changes:
    """Rows for one batch, and the state to adopt once they are committed."""

    devices: list[tuple] = field(default_factory=list)
    addresses: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    known: dict[str, Known] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=8192)
def is_link_local(ip: str) -> bool:
    """fe80::/10 (and 169.254/16): addresses every device has, which say little about it."""
    return ipaddress.ip_address(ip).is_link_local


_PRIVATE_172 = tuple(f"172.{second}." for second in range(16, 32))
_HOME_IPV4 = ("10.", "192.168.", "169.254.", *_PRIVATE_172)
_HOME_IPV6 = ("fe8", "fe9", "fea", "feb", "fc", "fd")  # fe80::/10 and fc00::/7, of a full first group


def is_local_network(ip: str) -> bool:
    """RFC 1918, unique-local or link-local: an address of the home's own network, not the internet's.

    `ip` is in the canonical form normalise_ip() gives, so its prefix decides; this runs
    for every firewall line, where parsing the address would dominate the cost.
    """
    if ":" in ip:
        return ip.find(":") == 4 and ip.startswith(_HOME_IPV6)
    return ip.startswith(_HOME_IPV4)


def better_ipv6(current: str | None, new: str) -> str:
    """Prefer a global IPv6 address over a link-local one; otherwise the newest wins."""
    if current is not None and is_link_local(new) and not is_link_local(current):
        return current
    return new


class Inventory:
    """In-memory view of the devices table, enough to turn sightings into events."""

    def __init__(self) -> None:
        self.known: dict[str, Known] = {}
        self.owners: dict[str, str] = {}

    def load(self, rows: list[tuple[str, str | None, str | None, str | None]]) -> None:
        """Adopt the devices table's (mac, last_ipv4, last_ipv6, hostname) rows."""
        self.known = {mac: Known(ipv4, ipv6, hostname) for mac, ipv4, ipv6, hostname in rows}
        self.owners = {known.ipv4: mac for mac, known in self.known.items() if known.ipv4}

    def observe(self, sightings: list[Sighting]) -> Changes:
        """Compute upserts and events for a batch without changing the inventory."""
        changes = Changes()
        devices: dict[str, list] = {}
        addresses: dict[tuple[str, str], list] = {}
        for seen in sightings:
            state = changes.known.get(seen.mac)
            if state is None:
                previous = self.known.get(seen.mac)
                if previous is None:
                    changes.events.append((seen.timestamp, seen.mac, NEW_DEVICE, seen.ip, None, None))
                state = changes.known[seen.mac] = replace(previous) if previous else Known()
            self._addresses(seen, state, changes)
            if seen.hostname and seen.hostname != state.hostname:
                if state.hostname is not None:
                    changes.events.append(
                        (seen.timestamp, seen.mac, HOSTNAME_CHANGE, seen.ip, state.hostname, seen.hostname)
                    )
                state.hostname = seen.hostname
            _merge_device(devices, seen, state)
            if seen.ip is not None:
                span = addresses.setdefault((seen.mac, seen.ip), [seen.timestamp, seen.timestamp])
                span[0], span[1] = min(span[0], seen.timestamp), max(span[1], seen.timestamp)
        changes.devices = [tuple(row) for row in devices.values()]
        changes.addresses = [(mac, ip, first, last) for (mac, ip), (first, last) in addresses.items()]
        return changes

    def _addresses(self, seen: Sighting, state: Known, changes: Changes) -> None:
        """Track IPv4 and IPv6 and record IP changes and an IPv4 moving to another MAC."""
        if seen.ip is None:
            return
        if ":" in seen.ip:
            state.ipv6 = better_ipv6(state.ipv6, seen.ip)
            return
        if state.ipv4 is not None and state.ipv4 != seen.ip:
            changes.events.append((seen.timestamp, seen.mac, IP_CHANGE, seen.ip, state.ipv4, seen.ip))
        state.ipv4 = seen.ip
        owner = changes.owners.get(seen.ip) or self.owners.get(seen.ip) or seen.old_mac
        if owner is not None and owner != seen.mac:
            changes.events.append((seen.timestamp, seen.mac, MAC_CHANGE, seen.ip, owner, seen.mac))
        changes.owners[seen.ip] = seen.mac

    def apply(self, changes: Changes) -> None:
        """Adopt a batch's state after its rows were committed."""
        self.known.update(changes.known)
        self.owners.update(changes.owners)


# devices upsert column order
DEVICE_COLUMNS = (
    "mac", "first_seen", "last_seen", "last_ipv4", "last_ipv6", "interface", "vlan",
    "vendor", "hostname", "randomised", "last_source",
)  # fmt: skip


def _merge_device(devices: dict[str, list], seen: Sighting, state: Known) -> None:
    """Fold a sighting into the batch's single upsert row for its device."""
    row = devices.get(seen.mac)
    if row is None:
        randomised = is_randomised(seen.mac)
        devices[seen.mac] = [
            seen.mac, seen.timestamp, seen.timestamp, state.ipv4, state.ipv6, seen.interface, seen.vlan,
            None if randomised else vendor(seen.mac), state.hostname, randomised, seen.source,
        ]  # fmt: skip
        return
    row[1], row[2] = min(row[1], seen.timestamp), max(row[2], seen.timestamp)
    row[3], row[4], row[8], row[10] = state.ipv4, state.ipv6, state.hostname, seen.source
    row[5] = seen.interface or row[5]
    row[6] = seen.vlan if seen.vlan is not None else row[6]
