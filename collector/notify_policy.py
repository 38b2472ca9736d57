"""Which new devices deserve a notification, and the one digest message that announces them; no I/O."""

from dataclasses import dataclass
from datetime import datetime, timedelta

SEND = "sent"
KNOWN = "known"
LEARNING = "learning"
STALE = "stale"
RANDOMISED = "randomised"
RANDOMISED_SAME_HOST = "randomised, same hostname"
STALE_AFTER = timedelta(hours=24)
RANDOMISED_POLICIES = ("never", "hostname", "always")


@dataclass(slots=True)
class PendingEvent:
    """A `new device` event not yet decided, with what the inventory knows of the device."""

    id: int
    timestamp: datetime
    mac: str
    ip: str | None
    name: str | None
    vendor: str | None
    hostname: str | None
    known: bool
    randomised: bool
    hostname_elsewhere: bool = False
    waited: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    """The user's choices (SIEM_NOTIFY_*)."""

    learning_until: datetime
    randomised: str = "hostname"


def decide(event: PendingEvent, now: datetime, policy: Policy) -> str | None:  # noqa: PLR0911  (one return per rule reads as the table it is)
    """Return SEND, a reason to stay quiet, or None to decide on a later round.

    Known devices never alert; nothing alerts while learning; replays of old logs
    do not alert. Randomised MACs (phones rotate them) follow the policy: `never`,
    `always`, or `hostname` (the default): alert once per DHCP hostname, so a phone
    that changes its MAC but keeps its name is not new. A randomised device
    without a hostname yet gets one more round, as DHCP often follows ARP.
    """
    if event.known:
        return KNOWN
    if now < policy.learning_until:
        return LEARNING
    if now - event.timestamp > STALE_AFTER:
        return STALE
    if not event.randomised or policy.randomised == "always":
        return SEND
    if policy.randomised == "never":
        return RANDOMISED
    if event.hostname is None:
        return RANDOMISED if event.waited else None
    return RANDOMISED_SAME_HOST if event.hostname_elsewhere else SEND


def digest(events: list[PendingEvent]) -> tuple[str, str]:
    """One title and body for a burst of new devices, so thirty devices make one message."""
    count = len(events)
    title = f"SIEM@Home: {count} new device{'s' if count != 1 else ''} on your network"
    lines = []
    for event in events:
        label = event.name or event.hostname or "unnamed"
        details = ", ".join(
            part for part in (event.vendor, event.ip, event.timestamp.strftime("%Y-%m-%d %H:%M UTC")) if part
        )
        lines.append(f"- {label} ({event.mac}): {details}")
    return title, "\n".join(lines)


ALLOWED = "allowed"
DEFAULT_ALLOWED_DOMAINS = (
    "apple.com", "icloud.com", "mzstatic.com", "google.com", "googleapis.com", "gstatic.com", "gvt1.com",
    "microsoft.com", "windowsupdate.com", "windows.com", "msftconnecttest.com", "akamaiedge.net",
    "akamaized.net", "cloudfront.net", "amazonaws.com", "ntp.org", "in-addr.arpa", "ip6.arpa", "local", "lan",
)  # fmt: skip


@dataclass(slots=True)
class NewDomain:
    """A known device's first query for a domain, not yet decided."""

    device: str
    domain_id: int
    domain: str
    first_seen: datetime
    name: str | None
    hostname: str | None
    vendor: str | None
    asking_since: datetime  # the device's first query of all: its own learning period starts there


@dataclass(frozen=True, slots=True)
class DomainPolicy:
    """SIEM_NOTIFY_DOMAINS_*: the learning periods and the suffixes that never notify."""

    learning_until: datetime  # the installation's
    device_learning: timedelta
    allowed: tuple[str, ...] = DEFAULT_ALLOWED_DOMAINS


def allowed(domain: str, suffixes: tuple[str, ...]) -> bool:
    """Whether the domain is one of the suffixes or below one (`time.apple.com` under `apple.com`)."""
    return any(domain == suffix or domain.endswith("." + suffix) for suffix in suffixes)


def decide_domain(new: NewDomain, now: datetime, policy: DomainPolicy) -> str:
    """SEND, or why not: allow-listed, still learning (the installation, or the device's own first week), stale."""
    if allowed(new.domain, policy.allowed):
        return ALLOWED
    if now < policy.learning_until or new.first_seen < new.asking_since + policy.device_learning:
        return LEARNING
    if now - new.first_seen > STALE_AFTER:
        return STALE
    return SEND


def domain_digest(news: list[NewDomain]) -> tuple[str, str]:
    """One message for a round's new domains, grouped by device."""
    devices: dict[str, list[NewDomain]] = {}
    for new in news:
        devices.setdefault(new.device, []).append(new)
    count = len(news)
    title = f"SIEM@Home: {count} new domain{'s' if count != 1 else ''} contacted by known devices"
    lines = []
    for device, items in devices.items():
        first = items[0]
        lines.append(
            f"{first.name or first.hostname or device} ({device}{', ' + first.vendor if first.vendor else ''}):"
        )
        lines += [f"- {item.domain} at {item.first_seen:%Y-%m-%d %H:%M} UTC" for item in items]
    return title, "\n".join(lines)
