"""Kernel packet-filter (LOG target) lines: recognised by their structure, parsed to a record."""

import re
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
    r"(?P<prefix>.{0,64}?)IN=(?P<in>\S*) OUT=(?P<out>\S*) "
    r"(?:PHYSIN=\S* )?(?:PHYSOUT=\S* )?(?:MAC=(?P<mac>\S*) )?"
    r"SRC=(?P<src>[0-9A-Fa-f.:]+) DST=(?P<dst>[0-9A-Fa-f.:]+)(?: |$)"
)
_TCP_FLAGS = ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")

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
    body = message
    uptime = _UPTIME.match(body)
    if uptime:
        body = body[uptime.end() :]
    match = _SHAPE.match(body)
    if match is None:
        return None
    fields, flags = _fields(body, match.end())
    in_if, out_if = match.group("in") or None, match.group("out") or None
    direction = _direction(in_if, out_if)
    prefix = match.group("prefix").strip() or (f"{tag}:" if tag and tag != "kernel" else None)
    action, chain = classify_prefix(prefix or "")
    protocol = fields.get("PROTO")
    is_icmp = protocol is not None and protocol.upper().startswith("ICMP")
    return PacketFilterRecord(
        prefix=prefix,
        action=action,
        chain=chain or _HOOKS[direction],
        direction=direction,
        in_interface=in_if,
        out_interface=out_if,
        mac=mac_from_link_header(match.group("mac")) if match.group("mac") else None,
        src_ip=normalise_ip(match.group("src")),
        dst_ip=normalise_ip(match.group("dst")),
        protocol=protocol.upper() if protocol else None,
        src_port=_number(fields.get("SPT"), 65535),
        dst_port=_number(fields.get("DPT"), 65535),
        icmp_type=_number(fields.get("TYPE"), 255) if is_icmp else None,
        icmp_code=_number(fields.get("CODE"), 255) if is_icmp else None,
        length=_number(fields.get("LEN"), 65535),
        ttl=_number(fields.get("TTL") or fields.get("HOPLIMIT"), 255),
        tcp_flags=",".join(flag for flag in _TCP_FLAGS if flag in flags) or None,
    )


_HOOKS = {"in": "input", "out": "output", "forward": "forward"}


def _direction(in_if: str | None, out_if: str | None) -> str:
    """Which netfilter hook saw the packet: only IN is input, only OUT is output, both is forward."""
    if in_if and out_if:
        return "forward"
    return "out" if out_if else "in"


# The kernel's own field order, for the common case; anything else takes the general path.
_TAIL = re.compile(
    r"LEN=(?P<LEN>\d+) .*?(?:TTL|HOPLIMIT)=(?P<TTL>\d+) .*?PROTO=(?P<PROTO>\S+)"
    r"(?: SPT=(?P<SPT>\d+) DPT=(?P<DPT>\d+)| TYPE=(?P<TYPE>\d+) CODE=(?P<CODE>\d+))?"
)


def _fields(body: str, start: int) -> tuple[dict[str, str], set[str]]:
    """The fields after SRC/DST: one regex for lines in the kernel's order, the tokeniser otherwise."""
    match = _TAIL.match(body, start)
    if match is None or "[" in body[start : match.end()]:
        return _key_values(body[start:])
    fields = {key: value for key, value in match.groupdict().items() if value is not None}
    flags = set(body[match.end() :].split()) if fields["PROTO"] == "TCP" else set()
    return fields, flags


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
