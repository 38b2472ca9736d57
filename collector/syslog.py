"""Syslog header parsing (RFC 3164 and RFC 5424): bytes in, a message record out, no I/O."""

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import IntEnum
from functools import lru_cache

DEFAULT_PRI = 13  # RFC 3164 4.3.3: a message without PRI is user.notice


class Facility(IntEnum):
    """Syslog facilities (RFC 5424 table 1)."""

    KERN = 0
    USER = 1
    MAIL = 2
    DAEMON = 3
    AUTH = 4
    SYSLOG = 5
    LPR = 6
    NEWS = 7
    UUCP = 8
    CRON = 9
    AUTHPRIV = 10
    FTP = 11
    NTP = 12
    AUDIT = 13
    ALERT = 14
    CLOCK = 15
    LOCAL0 = 16
    LOCAL1 = 17
    LOCAL2 = 18
    LOCAL3 = 19
    LOCAL4 = 20
    LOCAL5 = 21
    LOCAL6 = 22
    LOCAL7 = 23


class Severity(IntEnum):
    """Syslog severities, 0 the most severe (RFC 5424 table 2)."""

    EMERG = 0
    ALERT = 1
    CRIT = 2
    ERR = 3
    WARNING = 4
    NOTICE = 5
    INFO = 6
    DEBUG = 7


@dataclass(slots=True)
class SyslogMessage:
    """One syslog message with its header decoded; times are naive UTC."""

    facility: int
    severity: int
    timestamp: datetime
    host: str | None
    program: str | None
    pid: str | None
    msgid: str | None
    structured_data: str | None
    message: str


def decode_pri(pri: int) -> tuple[Facility, Severity]:
    """Split a PRI value into facility and severity (PRI = facility * 8 + severity)."""
    if not 0 <= pri <= 191:
        raise ValueError(f"PRI out of range: {pri!r}")
    return _PRIS[pri]


_PRIS = [(Facility(pri >> 3), Severity(pri & 7)) for pri in range(192)]  # decoded once, looked up per message


_PRI = re.compile(r"<(\d{1,3})> *")  # some senders put a space after PRI (rsyslog and syslog-ng skip it)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
    )
}
# `Mmm dd [yyyy] hh:mm:ss[.frac][:] [yyyy]`: any case of month (`NOV`), Cisco's colon after the time,
# a year before the time (Cisco) or after it (Linksys); the header may end right after the stamp.
_BSD_STAMP = re.compile(
    r"(?i:(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)) +(\d{1,2}) +(?:(\d{4}) +)?"
    r"(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,6})\d*)?:?(?: +((?:19|20)\d\d)(?= |$))?(?: +|$)"
)
_ISO_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?(?: +|$)")
_TAG = re.compile(r"([^\s\[\]:]{1,64})(?:\[([^\]\s]{0,128})\])?: ?")
# The shape nearly every router and NAS line has, `<PRI>Mmm dd hh:mm:ss host tag[pid]: `, in one match;
# it reads exactly what the general path below reads, and any other shape takes that path.
_COMMON = re.compile(
    r"<(\d{1,3})>((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d\d:\d\d:\d\d) "
    r"(?!(?:19|20)\d\d )([^\s\[:]+) ([^\s\[\]:]{1,64})(?:\[([^\]\s]{0,128})\])?: ?"
)


def decode_text(data: bytes) -> str:
    r"""Decode log bytes to text that any UTF-8 column accepts, keeping every byte visible.

    Invalid UTF-8 becomes `\xNN` escapes and NUL bytes `\x00`, so binary junk is
    stored faithfully instead of being rejected or silently altered.
    """
    if b"\0" in data:
        data = data.replace(b"\0", b"\\x00")
    return data.decode("utf-8", "backslashreplace")


# Headers of the common shape read before, by their text (up to the tag's `: `), the receive day and the
# zone: a router's lines within one second share one header, which is then looked up instead of matched.
_HEADS: dict[tuple[str, int, tzinfo], tuple] = {}
_HEADS_KEPT = 1024  # a few seconds of a busy router's distinct headers


def parse_syslog(data: bytes, received: datetime, zone: tzinfo) -> SyslogMessage:
    """Parse one syslog frame; anything unparsable stays in the message text.

    `received` is the aware receive time; `zone` is the sender's zone for
    RFC 3164 stamps, which carry neither a year nor an offset.
    """
    text = decode_text(data.rstrip(b"\r\n\0"))
    cut = text.find(": ") + 2
    day = received.toordinal()
    if cut > 1:
        head = _HEADS.get((text[:cut], day, zone))
        if head is not None:
            return SyslogMessage(*head, None, None, text[cut:])
    common = _COMMON.match(text)
    if common is not None and (pri := int(common.group(1))) <= 191:
        facility, severity = _PRIS[pri]
        stamp, host, program, pid = common.group(2, 3, 4, 5)
        stamped = _bsd_time(stamp, day, zone)
        head = (facility, severity, stamped or _utc(received), host, program, pid or None)
        if stamped is not None and common.end() == cut:  # the header is the text up to `: `, and its time its own
            if len(_HEADS) >= _HEADS_KEPT:
                _HEADS.clear()
            _HEADS[text[:cut], day, zone] = head
        return SyslogMessage(*head, None, None, text[common.end() :])
    return parse_text(text, received, zone)


def parse_text(text: str, received: datetime, zone: tzinfo) -> SyslogMessage:
    """The general reading of a decoded frame: every header style and every missing piece."""
    facility, severity = decode_pri(DEFAULT_PRI)
    match = _PRI.match(text)
    if match:
        try:
            facility, severity = decode_pri(int(match.group(1)))
            text = text[match.end() :]
        except ValueError:  # <999> is no PRI: the whole line is the message, at the default PRI
            pass
    if text.startswith("1 "):
        parsed = _parse_5424(text[2:], received, zone)
        if parsed is not None:
            return SyslogMessage(facility, severity, *parsed)
    return SyslogMessage(facility, severity, *_parse_3164(text, received, zone))


def _utc(moment: datetime) -> datetime:
    """Return a naive UTC datetime, the form every DATETIME column holds."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def _parse_3164(text: str, received: datetime, zone: tzinfo) -> tuple:
    """Parse the part after PRI of a BSD-style message, tolerating missing pieces."""
    timestamp = None
    has_stamp = False
    match = _BSD_STAMP.match(text)
    if match:
        has_stamp = True
        timestamp = _bsd_time(match.group(), received.toordinal(), zone)
        text = text[match.end() :]
    else:
        match = _ISO_STAMP.match(text)
        if match:
            has_stamp = True
            timestamp = _iso_time(match.group().rstrip(), zone)
            text = text[match.end() :]
    host = None
    if has_stamp:
        word, space, rest = text.partition(" ")
        if space and word and "[" not in word and (not word.endswith(":") or _is_ipv6(word)):
            host, text = word, rest
    program = pid = None
    match = _TAG.match(text)
    if match:
        program, pid = match.group(1), match.group(2) or None
        text = text[match.end() :]
    return (timestamp or _utc(received), host, program, pid, None, None, text)


def _is_ipv6(word: str) -> bool:
    """Whether a word ending in `:` is an IPv6 hostname (`2001:db8::`) rather than a tag."""
    try:
        return isinstance(ipaddress.ip_address(word), ipaddress.IPv6Address)
    except ValueError:
        return False


@lru_cache(maxsize=4096)
def _bsd_time(stamp: str, received_day: int, zone: tzinfo) -> datetime | None:
    """Turn `Mmm dd [yyyy] hh:mm:ss [yyyy]` into UTC, picking the year closest to the day it was received.

    Cached: a busy router sends hundreds of lines with the same stamp, and the
    year choice only depends on the receive day (noon of it stands for the day).
    """
    match = _BSD_STAMP.match(stamp)
    received = datetime.fromordinal(received_day).replace(hour=12, tzinfo=UTC)
    month = _MONTHS[match.group(1).title()]
    day, hour, minute, second = (int(match.group(i)) for i in (2, 4, 5, 6))
    micro = int(match.group(7).ljust(6, "0")) if match.group(7) else 0
    year = match.group(3) or match.group(8)
    if year:
        years = [int(year)]
    else:
        this_year = received.astimezone(zone).year
        years = [this_year - 1, this_year, this_year + 1]
    candidates = []
    for year in years:
        try:
            candidates.append(datetime(year, month, day, hour, minute, second, micro, tzinfo=zone))
        except ValueError:  # Feb 29 in a common year, or a day that does not exist
            continue
    if not candidates:
        return None
    return _utc(min(candidates, key=lambda moment: abs(moment - received)))


@lru_cache(maxsize=256)  # a NAS sends many lines with the same stamp, one stamp a second
def _iso_time(stamp: str, zone: tzinfo) -> datetime | None:
    """Parse an RFC 3339 stamp; one without an offset is in the sender's zone."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return _utc(moment)


def _nil(field: str) -> str | None:
    """RFC 5424 writes an absent field as `-`."""
    return None if field == "-" else field


def _parse_5424(text: str, received: datetime, zone: tzinfo) -> tuple | None:
    """Parse the part after `<PRI>1 ` of an RFC 5424 message; None if it is not one.

    A stamp without an offset (RFC 5424 forbids it, senders write it anyway) is
    read in the sender's zone, as the same stamp in an RFC 3164 line is.
    """
    parts = text.split(" ", 5)
    if len(parts) < 6:
        if len(parts) == 5 and parts[4]:
            parts.append("-")
        else:
            return None
    stamp, host, app, procid, msgid, rest = parts
    if stamp != "-" and not stamp[:4].isdigit():
        return None
    timestamp = None if stamp == "-" else _iso_time(stamp, zone)
    structured, message = _split_structured_data(rest)
    if message.startswith("\ufeff"):
        message = message[1:]
    return (
        timestamp or _utc(received),
        _nil(host),
        _nil(app),
        _nil(procid),
        _nil(msgid),
        structured,
        message,
    )


# Structured data: elements `[...]` back to back, up to the first `]` outside quotes and not followed by `[`;
# a backslash escapes the next character, inside quotes or not. Possessive: it ends there or nowhere.
_STRUCTURED = re.compile(r'\[(?:\\.|"(?:\\.|[^"\\])*"|\](?=\[)|[^\]"\\])*+\]', re.DOTALL)


def _split_structured_data(rest: str) -> tuple[str | None, str]:
    r"""Split `[sd][sd] msg` into its structured data and message, honouring `\]` and quotes."""
    if rest == "-" or rest.startswith("- "):
        return None, rest[2:]
    match = _STRUCTURED.match(rest)
    if match is None:
        return None, rest
    return rest[: match.end()], rest[match.end() + 1 :]
