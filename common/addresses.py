"""One normalisation of MAC and IP addresses, shared by every parser."""

import ipaddress
import re
import socket
from functools import lru_cache

_HEX_PAIRS = re.compile(r"[0-9a-fA-F]{1,2}")
_SEPARATED = re.compile(r"^[0-9a-fA-F]{1,2}([:-])(?:[0-9a-fA-F]{1,2}\1){4}[0-9a-fA-F]{1,2}$")
_DOTTED = re.compile(r"^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$")
_BARE = re.compile(r"^[0-9a-fA-F]{12}$")


@lru_cache(maxsize=4096)
def normalise_mac(text: str) -> str | None:
    """Return `aa:bb:cc:dd:ee:ff` for any common MAC spelling, or None if it is not one.

    arpwatch drops leading zeros (`0:d0:b7:23:72:45`), Windows uses dashes and Cisco
    dotted quads; every table must store one spelling so devices can be joined.
    """
    if _SEPARATED.match(text):
        octets = _HEX_PAIRS.findall(text)
    elif _DOTTED.match(text) or _BARE.match(text):
        digits = text.replace(".", "")
        octets = [digits[i : i + 2] for i in range(0, 12, 2)]
    else:
        return None
    return ":".join(octet.zfill(2) for octet in octets).lower()


@lru_cache(maxsize=1024)  # a router sends a few link headers (one per device and gateway), each thousands of times
def mac_from_link_header(text: str) -> str | None:
    """Return the source MAC from the kernel's `MAC=dst:src:type` field.

    The field is the raw link-layer header: six octets of destination, six of
    source, then the EtherType (and more for VLAN tags); it may also be empty.
    """
    octets = text.split(":")
    if len(octets) < 12:
        return None
    return normalise_mac(":".join(octets[6:12]))


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


@lru_cache(maxsize=8192)
def normalise_ip(text: str) -> str | None:
    """Return the canonical text of an IPv4 or IPv6 address, or None if it is not one.

    The kernel writes IPv6 as eight full groups; storing the compressed form lets
    the same address match whatever spelling a user or another table uses.
    """
    if _CANONICAL_IPV4.fullmatch(text):  # the kernel's own spelling: already canonical, skip the slow parse
        return text
    if ":" in text:  # the C parser's compressed IPv6 is ipaddress's, except where it writes a dotted tail
        try:
            canonical = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, text))
        except (OSError, ValueError):
            canonical = "."
        if "." not in canonical:
            return canonical
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)
