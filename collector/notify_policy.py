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
