"""What a MAC says about its device: the maker (IEEE registry, bundled with netaddr) and whether it is randomised."""

from functools import lru_cache

from netaddr import EUI, NotRegisteredError


def is_randomised(mac: str) -> bool:
    """True for locally administered MACs (second hex digit 2, 6, A or E): phones rotate these."""
    return bool(int(mac[1], 16) & 2)


def vendor(mac: str) -> str | None:
    """The registered organisation for the MAC's OUI, or None (randomised or unregistered).

    The registry ships inside netaddr, so no lookup leaves the box; it is read on
    first use, so a collector that never sees a device never pays for it.
    """
    return None if is_randomised(mac) else _organisation(mac[:8])


@lru_cache(maxsize=1024)
def _organisation(oui: str) -> str | None:
    """The registry lookup is slow; a home has few makers, so it is cached by OUI, not by MAC."""
    try:
        return EUI(oui + ":00:00:00").oui.registration().org.strip() or None
    except (NotRegisteredError, IndexError, ValueError):
        return None
