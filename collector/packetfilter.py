"""Kernel packet-filter (LOG target) lines: recognised by their structure, parsed to a record."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from common.addresses import mac_from_link_header, normalise_ip


@dataclass(slots=True)
class PacketFilterRecord:
    """One logged packet; absent fields are None, never empty strings."""

    prefix: str | None
    action: str
    chain: str
    direction: str
    in_interface: str | None
    out_interface: str | None
    mac: str | None
    src_ip: str | None
    dst_ip: str | None
    protocol: str | None
    src_port: int | None
    dst_port: int | None
    icmp_type: int | None
    icmp_code: int | None
    length: int | None
    ttl: int | None
    tcp_flags: str | None


# nf_log_syslog.c writes: <prefix>IN= OUT= [PHYSIN= PHYSOUT=] [MAC=] SRC= DST= ...
_UPTIME = re.compile(r"\[\s*\d+\.\d+\] ?")
_SHAPE = re.compile(
    r"(.{0,64}?)IN=(\S*) OUT=(\S*) (?:PHYSIN=\S* )?(?:PHYSOUT=\S* )?(?:MAC=(\S*) )?"
    r"SRC=([0-9A-Fa-f.:]+) DST=([0-9A-Fa-f.:]+)(?: |$)"
)
_TCP_FLAGS = ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")
_FLAG_SET = frozenset(_TCP_FLAGS)

_FW4 = re.compile(r"(accept|drop|reject) (\S+) (in|out|forward)\b", re.IGNORECASE)
_FW3 = re.compile(r"(ACCEPT|DROP|REJECT)\((?:src|dest) ([^)\s]+)\)", re.IGNORECASE)
_UFW = re.compile(r"\[UFW ([A-Z ]+)\]")
# Ubiquiti names the rule before IN=: `[RULESET-RULE-VERDICT]` (USG, EdgeRouter: `[WAN_LOCAL-default-D]`,
# `[WAN_OUT-2000-A]`, zone pairs `[wan-lan-default-D]`), UniFi OS also `[LAN_LOCAL-RET-2147483647]`.
_UBIQUITI = re.compile(
    r"\[(?P<ruleset>[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+)*?)"
    r"-(?:(?:\d+|default)-(?P<verdict>[ADR])|(?P<returned>[ADR]|RET)-(?:\d+|default))\]"
)
_UBIQUITI_VERDICTS = {"A": "ACCEPT", "D": "DROP", "R": "REJECT", "RET": "RETURN"}
_PREFIX_KEYS = re.compile(r"\b(A|ACTION|C|CHAIN)=(\S+)")
_VERB = re.compile(
    r"(?<![A-Za-z])(DROP|DROPPED|DENY|DENIED|BLOCK|BLOCKED|REJECT|REJECTED|ACCEPT|ACCEPTED|ALLOW|ALLOWED|PASS)(?![A-Za-z])",
    re.IGNORECASE,
)
_HOOK_WORD = re.compile(r"(?<![A-Za-z])(INPUT|OUTPUT|FORWARD)(?![A-Za-z])", re.IGNORECASE)
_ACTIONS = {
    "DROP": "DROP",
    "DROPPED": "DROP",
    "DENY": "DROP",
    "DENIED": "DROP",
    "BLOCK": "DROP",
    "BLOCKED": "DROP",
    "LIMIT BLOCK": "DROP",
    "REJECT": "REJECT",
    "REJECTED": "REJECT",
    "ACCEPT": "ACCEPT",
    "ACCEPTED": "ACCEPT",
    "ALLOW": "ACCEPT",
    "ALLOWED": "ACCEPT",
    "PASS": "ACCEPT",
}


def parse_packetfilter(message: str, tag: str | None = None) -> PacketFilterRecord | None:
    """Parse a kernel LOG-target line, or return None if the message does not have its shape.

    `tag` is the syslog tag: a router that logs `DENY: IN=...` with no host and no
    `kernel:` tag puts its log prefix where the tag goes, so a tag other than
    `kernel` stands in for a missing prefix.
    """
    line = _KERNEL.match(message)
    if line is None:
        return parse_general(message, tag)
    prefix, in_if, out_if, mac, src, dst, length, ttl, protocol, src_port, dst_port, icmp_type, icmp_code = (
        line.groups()
    )
    if protocol == "TCP":
        flags = _flags(message[line.end() :].split())
        icmp = False
    else:
        flags = None
        icmp = protocol.upper().startswith("ICMP")
    # the numbers are digits (the match says so): only their size is checked, as _number would
    if src_port is not None:
        src_port, dst_port = int(src_port), int(dst_port)
        src_port, dst_port = src_port if src_port <= 65535 else None, dst_port if dst_port <= 65535 else None
    if icmp and icmp_type is not None:
        icmp_type, icmp_code = int(icmp_type), int(icmp_code)
        icmp_type, icmp_code = icmp_type if icmp_type <= 255 else None, icmp_code if icmp_code <= 255 else None
    else:
        icmp_type = icmp_code = None
    length, ttl = int(length), int(ttl)
    return PacketFilterRecord(
        *_head(prefix, in_if, out_if, mac, tag),
        normalise_ip(src),
        normalise_ip(dst),
        protocol.upper(),
        src_port,
        dst_port,
        icmp_type,
        icmp_code,
        length if length <= 65535 else None,
        ttl if ttl <= 255 else None,
        flags,
    )


def parse_general(message: str, tag: str | None = None) -> PacketFilterRecord | None:
    """`parse_packetfilter` for any layout: fields in any order, bracketed inner packets, missing pieces."""
    body = message
    uptime = _UPTIME.match(body)
    if uptime:
        body = body[uptime.end() :]
    match = _SHAPE.match(body)
    if match is None:
        return None
    prefix, in_if, out_if, mac, src, dst = match.groups()
    start = match.end()
    tail = _TAIL.match(body, start)
    if tail is not None and "[" not in body[start : tail.end()]:  # the kernel's own order: one match
        length, ttl, protocol, src_port, dst_port, icmp_type, icmp_code = tail.groups()
        flags = _flags(body[tail.end() :].split()) if protocol == "TCP" else None
    else:
        fields, words = _key_values(body[start:])
        length, ttl, protocol = fields.get("LEN"), fields.get("TTL") or fields.get("HOPLIMIT"), fields.get("PROTO")
        src_port, dst_port, icmp_type, icmp_code = (fields.get(key) for key in ("SPT", "DPT", "TYPE", "CODE"))
        flags = _flags(words)
    is_icmp = protocol is not None and protocol.upper().startswith("ICMP")
    return PacketFilterRecord(
        *_head(prefix, in_if, out_if, mac, tag),
        normalise_ip(src),
        normalise_ip(dst),
        protocol.upper() if protocol else None,
        _number(src_port, 65535),
        _number(dst_port, 65535),
        _number(icmp_type, 255) if is_icmp else None,
        _number(icmp_code, 255) if is_icmp else None,
        _number(length, 65535),
        _number(ttl, 255),
        flags,
    )


@lru_cache(maxsize=1024)  # a router logs a handful of prefixes, interfaces and link headers, thousands of times each
def _head(
    prefix: str, in_if: str, out_if: str, mac: str | None, tag: str | None
) -> tuple[str | None, str, str, str, str | None, str | None, str | None]:
    """A line's prefix, action, chain, direction, interfaces and source MAC, from the part before SRC=."""
    in_if, out_if = in_if or None, out_if or None  # type: ignore[assignment]
    direction = _direction(in_if, out_if)
    prefix = prefix.strip() or (f"{tag}:" if tag and tag != "kernel" else None)  # type: ignore[assignment]
    action, chain = classify_prefix(prefix or "")
    return (
        prefix,
        action,
        chain or _HOOKS[direction],
        direction,
        in_if,
        out_if,
        mac_from_link_header(mac) if mac else None,
    )


@lru_cache(maxsize=256)
def _flag_text(flags: frozenset[str]) -> str | None:
    """The TCP flags a line names, in the kernel's order, comma-separated."""
    return ",".join(flag for flag in _TCP_FLAGS if flag in flags) or None


def _flags(words: Iterable[str]) -> str | None:
    """The TCP flags among a line's bare words (a handful of combinations, each spelled once)."""
    return _flag_text(_FLAG_SET.intersection(words))


_HOOKS = {"in": "input", "out": "output", "forward": "forward"}


def _direction(in_if: str | None, out_if: str | None) -> str:
    """Which netfilter hook saw the packet: only IN is input, only OUT is output, both is forward."""
    if in_if and out_if:
        return "forward"
    return "out" if out_if else "in"


# The kernel's own field order, for the common case; anything else takes the general path.
# _KERNEL is _UPTIME, _SHAPE and _TAIL in one match: the head is atomic, so it ends where _SHAPE's
# match would, and the gaps stop at a '[' (an inner packet), where _TAIL's match is refused.
_KERNEL = re.compile(
    r"(?>(?:\[\s*\d+\.\d+\] ?)?(.{0,64}?)IN=(\S*) OUT=(\S*) (?:PHYSIN=\S* )?(?:PHYSOUT=\S* )?(?:MAC=(\S*) )?"
    r"SRC=([0-9A-Fa-f.:]+) DST=([0-9A-Fa-f.:]+) )"
    r"LEN=(\d+) [^\[]*?(?:TTL|HOPLIMIT)=(\d+) [^\[]*?PROTO=([^\s\[]+)(?=\s|$)"
    r"(?: SPT=(\d+) DPT=(\d+)| TYPE=(\d+) CODE=(\d+))?"
)
_TAIL = re.compile(
    r"LEN=(\d+) .*?(?:TTL|HOPLIMIT)=(\d+) .*?PROTO=(\S+)(?: SPT=(\d+) DPT=(\d+)| TYPE=(\d+) CODE=(\d+))?"
)


def _key_values(rest: str) -> tuple[dict[str, str], set[str]]:
    """Split the tail into key=value fields (first wins) and bare flags, skipping bracketed inner packets."""
    fields: dict[str, str] = {}
    flags: set[str] = set()
    depth = 0
    for token in rest.split():
        if depth or token.startswith("["):
            depth += token.count("[") - token.count("]")
            depth = max(depth, 0)
            continue
        key, eq, value = token.partition("=")
        if eq:
            fields.setdefault(key, value)
        else:
            flags.add(token)
    return fields, flags


def _number(text: str | None, limit: int) -> int | None:
    """Return a decimal field as int when it is one and fits its column, else None."""
    if text and text.isdigit():
        value = int(text)
        if value <= limit:
            return value
    return None


@lru_cache(maxsize=1024)  # a router uses a handful of prefixes, each for thousands of lines
def classify_prefix(prefix: str) -> tuple[str, str | None]:
    """Derive (action, chain) from a log prefix in any of the styles routers use.

    Styles: the seed's `A=DROP C=inet`, OpenWrt fw4 `drop wan in:`, fw3 `DROP(src wan)`,
    Ubiquiti's rule names `[WAN_LOCAL-default-D]` (the ruleset is the chain), UFW
    `[UFW BLOCK]`, and free text such as `RULE 24 -- DROP` or `IPTABLES-DROP:`.
    The chain is None when the prefix names none; the caller then uses the hook.
    """
    keys = dict((key[0], value) for key, value in _PREFIX_KEYS.findall(prefix))
    if "A" in keys:
        return _ACTIONS.get(keys["A"].upper(), keys["A"].upper()), keys.get("C")
    rule = _UBIQUITI.search(prefix) if "[" in prefix else None
    if rule:
        return _UBIQUITI_VERDICTS[rule.group("verdict") or rule.group("returned")], rule.group("ruleset")
    for pattern in (_FW4, _FW3):
        match = pattern.search(prefix)
        if match:
            return match.group(1).upper(), match.group(2)
    ufw = _UFW.search(prefix)
    if ufw:
        verdict = ufw.group(1).strip()
        return _ACTIONS.get(verdict, "LOG"), None
    verb = _VERB.search(prefix)
    hook = _HOOK_WORD.search(prefix)
    chain = hook.group(1).lower() if hook else keys.get("C")
    return (_ACTIONS[verb.group(1).upper()] if verb else "LOG"), chain
