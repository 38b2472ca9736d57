"""What a MAC says about its device: the maker (IEEE registry, bundled with netaddr) and whether it is randomised."""

from array import array
from bisect import bisect_left
from functools import lru_cache
from importlib import resources
from importlib.abc import Traversable
from importlib.util import find_spec
from pathlib import Path


def is_randomised(mac: str) -> bool:
    """True for locally administered MACs (second hex digit 2, 6, A or E): phones rotate these."""
    return bool(int(mac[1], 16) & 2)


def vendor(mac: str) -> str | None:
    """The registered organisation for the MAC's OUI, or None (randomised or unregistered).

    The registry ships inside netaddr, so no lookup leaves the box; the collector
    reads it at start (`load`), other callers on first use.
    """
    return None if is_randomised(mac) else _organisation(mac[:8])


class _Registry:
    """netaddr's OUI registry file, found through its own index file, held as three flat arrays (about 0.5 MB).

    netaddr's lookup first loads both of its indices as dicts of lists of tuples,
    which took 12 MB of the collector's 60 MB; the registry and its index stay netaddr's (and its updates).
    """

    def __init__(self) -> None:
        data = _registry_files()
        ouis, offsets, sizes = array("I"), array("I"), array("I")
        with (data / "oui.idx").open("rb") as index:
            for line in index:
                oui, offset, size = line.split(b",")
                ouis.append(int(oui))
                offsets.append(int(offset))
                sizes.append(int(size))
        order = sorted(range(len(ouis)), key=ouis.__getitem__)  # stable: an OUI's first registration stays first
        self.ouis = array("I", map(ouis.__getitem__, order))
        self.offsets = array("I", map(offsets.__getitem__, order))
        self.sizes = array("I", map(sizes.__getitem__, order))
        self._registry = data / "oui.txt"

    def organisation(self, oui: int) -> str | None:
        """The first registration's organisation (what netaddr's `registration()` gives), or None."""
        position = bisect_left(self.ouis, oui)
        if position == len(self.ouis) or self.ouis[position] != oui:
            return None
        with self._registry.open("rb") as registry:
            registry.seek(self.offsets[position])
            record = registry.read(self.sizes[position]).decode("utf-8", "replace")
        for line in record.splitlines():
            if "(hex)" in line:
                fields = line.split(None, 2)
                return fields[2].strip() or None if len(fields) > 2 else None
        return None


def _registry_files() -> Traversable:
    """netaddr's registry directory, found without importing netaddr: its import alone costs the collector 4 MB."""
    spec = find_spec("netaddr")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        folder = Path(location) / "eui"
        if (folder / "oui.idx").is_file():
            return folder
    return resources.files("netaddr.eui")  # an unusual install (a zip): let importlib find it


@lru_cache(maxsize=1)
def _registry() -> _Registry:
    """Loaded once, by `load` or on the first device seen."""
    return _Registry()


def load() -> None:
    """Read the registry now: reading it takes about 6 MB for a moment, better before messages fill the buffer."""
    _registry()


@lru_cache(maxsize=1024)
def _organisation(oui: str) -> str | None:
    """A home has few makers: lookups are cached by OUI (`aa:bb:cc`), not by MAC."""
    try:
        value = int(oui.replace(":", "").replace("-", ""), 16)
    except ValueError:
        return None
    return _registry().organisation(value)
