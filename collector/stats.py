"""Counters the collector keeps and reports: what came in, what was stored, what could not be kept."""

from dataclasses import asdict, dataclass


@dataclass
class Counters:
    """Each counter is written by one thread only, so plain ints are safe to share."""

    udp_received: int = 0
    tcp_received: int = 0
    udp_dropped_full: int = 0
    udp_dropped_kernel: int = 0
    tcp_cut: int = 0
    tcp_discarded_bytes: int = 0
    written: int = 0
    spooled: int = 0
    replayed: int = 0
    rejected_rows: int = 0
    lost: int = 0
    dns_queries: int = 0  # stored as dns_queries rows
    dns_unjoined: int = 0  # resolver answer lines that matched no query (kept as messages)
    db_up: bool = False

    def snapshot(self) -> dict[str, int | bool]:
        """Return the counters as a plain dict (for the heartbeat file and the summary line)."""
        return asdict(self)
