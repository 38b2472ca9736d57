"""Collector settings: read once from the environment, validated, then passed down."""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collector.notify_policy import DEFAULT_ALLOWED_DOMAINS, RANDOMISED_POLICIES
from common.placeholders import is_placeholder

# Days each table keeps its rows (0: forever). Devices and their addresses are never trimmed.
RETENTION_DEFAULTS = {
    "messages": 90, "packetfilter": 90, "addrwatch": 90, "device_events": 365, "packetfilter_counts": 400,
    "messages_counts": 400, "messages_hourly": 400,
    "packetfilter_ports": 400, "packetfilter_macs": 400, "packetfilter_ports_daily": 400,
    "packetfilter_macs_daily": 400, "packetfilter_top": 90, "packetfilter_top_daily": 400,
    "dns_queries": 30, "dns_hourly": 30, "dns_device_hourly": 30, "dns_device_daily": 30,
    "dns_domain_daily": 30, "dns_device_domains": 365,
}  # fmt: skip

T = TypeVar("T")
N = TypeVar("N", int, float)


class SettingsError(Exception):
    """One or more environment variables are missing or invalid; the message lists them all."""


@dataclass(frozen=True)
class Settings:
    """Everything the collector can be told, with the defaults a home install wants."""

    db_password: str = field(repr=False)
    db_host: str = "127.0.0.1"
    db_port: int = 3306
    db_name: str = "siem"
    db_user: str = "siem_collector"
    syslog_host: str = "0.0.0.0"
    syslog_port: int = 5514
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    max_message_bytes: int = 65536
    max_tcp_connections: int = 4096
    buffer_messages: int = 10000  # with 8 MB of kernel UDP buffer; each message costs ~350 bytes here
    batch_size: int = 5000  # per transaction: fewer, bigger count upserts; each batch in hand costs ~4 MB
    flush_seconds: float = 0.5
    spool_dir: Path = Path("data/spool")
    spool_max_bytes: int = 512 * 1024 * 1024
    udp_rcvbuf_bytes: int = 8 * 1024 * 1024
    db_retry_seconds: float = 2.0
    heartbeat_file: Path | None = None
    lan_interfaces: frozenset[str] = frozenset()
    notify_urls: tuple[str, ...] = ()
    notify_digest_seconds: float = 60.0
    notify_learning_hours: float = 24.0
    notify_randomised: str = "hostname"
    notify_new_domains: bool = False
    notify_domains_learning_days: float = 7.0
    notify_domains_allowed: tuple[str, ...] = DEFAULT_ALLOWED_DOMAINS
    retention_days: dict[str, int] = field(default_factory=lambda: dict(RETENTION_DEFAULTS))
    retention_check_seconds: float = 600.0
    max_database_mb: float = 0.0
    dns_lines_in_messages: bool = False  # a query's log lines are stored as its dns_queries row only
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        """Build settings from SIEM_* variables and TZ; raise SettingsError naming every bad one."""
        reader = _Reader(environ)
        password = reader.text("SIEM_DB_PASSWORD", "")
        if is_placeholder(password):
            reader.errors.append("SIEM_DB_PASSWORD is empty or a placeholder: set the collector's password in .env")
        settings = cls(
            db_password=password,
            db_host=reader.text("SIEM_DB_HOST", cls.db_host),
            db_port=reader.integer("SIEM_DB_PORT", cls.db_port, 1, 65535),
            db_name=reader.text("SIEM_DB_NAME", cls.db_name),
            db_user=reader.text("SIEM_DB_USER", cls.db_user),
            syslog_host=reader.text("SIEM_SYSLOG_HOST", cls.syslog_host),
            syslog_port=reader.integer("SIEM_SYSLOG_PORT", cls.syslog_port, 1, 65535),
            zone=reader.parse("TZ", "UTC", _zone, "a time zone name such as Europe/Berlin"),
            max_message_bytes=reader.integer("SIEM_MAX_MESSAGE_BYTES", cls.max_message_bytes, 480, 1024 * 1024),
            max_tcp_connections=reader.integer("SIEM_MAX_TCP_CONNECTIONS", cls.max_tcp_connections, 1, 1_000_000),
            buffer_messages=reader.integer("SIEM_BUFFER_MESSAGES", cls.buffer_messages, 100, 10_000_000),
            batch_size=reader.integer("SIEM_BATCH_SIZE", cls.batch_size, 1, 100_000),
            flush_seconds=reader.number("SIEM_FLUSH_SECONDS", cls.flush_seconds, 0.01, 60),
            spool_dir=Path(reader.text("SIEM_SPOOL_DIR", str(cls.spool_dir))),
            spool_max_bytes=reader.integer("SIEM_SPOOL_MAX_MB", cls.spool_max_bytes >> 20, 1, 1 << 20) << 20,
            udp_rcvbuf_bytes=reader.integer("SIEM_UDP_RCVBUF_BYTES", cls.udp_rcvbuf_bytes, 65536, 1 << 30),
            db_retry_seconds=reader.number("SIEM_DB_RETRY_SECONDS", cls.db_retry_seconds, 0.1, 300),
            heartbeat_file=Path(reader.text("SIEM_HEARTBEAT_FILE", "")) if environ.get("SIEM_HEARTBEAT_FILE") else None,
            lan_interfaces=frozenset(reader.text("SIEM_LAN_INTERFACES", "").replace(",", " ").split()),
            notify_urls=tuple(reader.text("SIEM_NOTIFY_URLS", "").replace(",", " ").split()),
            notify_digest_seconds=reader.number("SIEM_NOTIFY_DIGEST_SECONDS", cls.notify_digest_seconds, 0.1, 86400),
            notify_learning_hours=reader.number("SIEM_NOTIFY_LEARNING_HOURS", cls.notify_learning_hours, 0, 24 * 365),
            notify_randomised=reader.parse(
                "SIEM_NOTIFY_RANDOMISED", cls.notify_randomised, _randomised_policy, "one of never, hostname, always"
            ),
            notify_new_domains=reader.parse("SIEM_NOTIFY_NEW_DOMAINS", "false", _boolean, "true or false"),
            notify_domains_learning_days=reader.number(
                "SIEM_NOTIFY_DOMAINS_LEARNING_DAYS", cls.notify_domains_learning_days, 0, 365
            ),
            notify_domains_allowed=_suffixes(environ.get("SIEM_NOTIFY_DOMAINS_ALLOW")),
            retention_days={
                table: reader.integer(f"SIEM_RETENTION_{table.upper()}_DAYS", days, 0, 36500)
                for table, days in RETENTION_DEFAULTS.items()
            },
            retention_check_seconds=reader.number(
                "SIEM_RETENTION_CHECK_SECONDS", cls.retention_check_seconds, 0.1, 86400
            ),
            max_database_mb=reader.number("SIEM_MAX_DATABASE_MB", cls.max_database_mb, 0, 10_000_000),
            dns_lines_in_messages=reader.parse("SIEM_DNS_LINES_IN_MESSAGES", "false", _boolean, "true or false"),
            log_level=reader.parse("SIEM_LOG_LEVEL", cls.log_level, _log_level, "one of DEBUG, INFO, WARNING, ERROR"),
        )
        if settings.batch_size > settings.buffer_messages:
            reader.errors.append("SIEM_BATCH_SIZE must not exceed SIEM_BUFFER_MESSAGES")
        if reader.errors:
            raise SettingsError("; ".join(reader.errors))
        return settings


def _zone(text: str) -> ZoneInfo:
    """Resolve a TZ name (a leading ':' as glibc allows is ignored)."""
    try:
        return ZoneInfo(text.removeprefix(":"))
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(text) from error


def _randomised_policy(text: str) -> str:
    """How to treat new devices with randomised MACs (see notify_policy.decide)."""
    policy = text.lower()
    if policy not in RANDOMISED_POLICIES:
        raise ValueError(text)
    return policy


def _suffixes(text: str | None) -> tuple[str, ...]:
    """Domain suffixes that never notify: unset keeps the defaults, `+a.com,b.net` adds to them, `-` means none."""
    if text is None or not text.strip():
        return DEFAULT_ALLOWED_DOMAINS
    text = text.strip()
    if text == "-":
        return ()
    extra = text.startswith("+")
    names = tuple(name.strip().lstrip("*.").rstrip(".").lower() for name in text.lstrip("+").replace(",", " ").split())
    return (*DEFAULT_ALLOWED_DOMAINS, *names) if extra else names


def _boolean(text: str) -> bool:
    """true/false, yes/no, 1/0, on/off, any case."""
    value = text.lower()
    if value in {"true", "yes", "1", "on"}:
        return True
    if value in {"false", "no", "0", "off"}:
        return False
    raise ValueError(text)


def _log_level(text: str) -> str:
    """Accept the standard logging level names, any case."""
    level = text.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError(text)
    return level


class _Reader:
    """Reads typed values from the environment and collects every error instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.errors: list[str] = []

    def text(self, name: str, default: str) -> str:
        """Return the variable's value, or the default when it is unset or empty."""
        return self.environ.get(name, "").strip() or default

    def parse(self, name: str, default: str, convert: Callable[[str], T], expected: str) -> T:
        """Convert the value, recording `NAME='value' is not <expected>` on failure."""
        raw = self.text(name, default)
        try:
            return convert(raw)
        except ValueError:
            self.errors.append(f"{name}={raw!r} is not {expected}")
            return convert(default)

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        """Parse a whole number within [low, high]."""
        return self.parse(
            name, str(default), lambda raw: _bounded(int(raw), low, high), f"a whole number from {low} to {high}"
        )

    def number(self, name: str, default: float, low: float, high: float) -> float:
        """Parse a decimal number within [low, high]."""
        return self.parse(
            name, str(default), lambda raw: _bounded(float(raw), low, high), f"a number from {low} to {high}"
        )


def _bounded(value: N, low: N, high: N) -> N:
    """Return value if it lies in [low, high], else raise ValueError."""
    if not low <= value <= high:
        raise ValueError(value)
    return value
