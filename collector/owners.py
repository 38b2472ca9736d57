"""Which device held an address at a given time; no I/O.

The spans come from `device_addresses` (first and last time each MAC was seen with
each address), loaded when the writer connects and widened with every batch, so
naming a DNS client costs no query, and a query replayed from the spool or dated by
a wrong router clock is named after the device that held the address then.
"""

from bisect import insort
from datetime import datetime, timedelta

KEEP = timedelta(days=32)  # spans older than this name no query the DNS retention keeps


class AddressOwners:
    """Per address, the (first seen, last seen, MAC) spans of the devices that used it, oldest first."""

    def __init__(self) -> None:
        self._spans: dict[str, list[list]] = {}

    def __len__(self) -> int:
        return len(self._spans)

    def load(self, rows: list[tuple[str, str, datetime, datetime]]) -> None:
        """Adopt `device_addresses` rows (mac, ip, first_seen, last_seen)."""
        self._spans = {}
        self.add(rows)

    def add(self, rows: list[tuple[str, str, datetime, datetime]]) -> None:
        """Widen or add spans by committed (mac, ip, first, last) rows."""
        for mac, ip, first, last in rows:
            spans = self._spans.setdefault(ip, [])
            for span in spans:
                if span[2] == mac:
                    if first < span[0]:
                        spans.remove(span)
                        insort(spans, [first, max(last, span[1]), mac])
                    else:
                        span[1] = max(span[1], last)
                    break
            else:
                insort(spans, [first, last, mac])

    def owner(self, ip: str, moment: datetime) -> str | None:
        """The MAC that held `ip` at `moment`; None if no device is known with it.

        Of the spans begun by then: the newest still running then, else the one that
        ended last; an address asked about before any sighting goes to its first holder.
        """
        spans = self._spans.get(ip)
        if not spans:
            return None
        running = ended = None
        for span in spans:
            if span[0] > moment:
                break
            if span[1] >= moment:
                running = span
            elif ended is None or span[1] > ended[1]:
                ended = span
        return (running or ended or spans[0])[2]
