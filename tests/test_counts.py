"""Packet-filter counts per 5 minutes: what long-range charts read instead of millions of raw rows."""

from collections.abc import Callable
from datetime import datetime

import pymysql

from collector.rows import count_rows
from tests.conftest import fetch, wait_for
from tests.servers import CollectorProcess, lf_framed, send_tcp
from tests.test_api import ALL, DROPS


def row(minute: int, second: int, action: str = "DROP", protocol: str | None = "TCP") -> tuple:
    """A packet-filter row with only the counted columns filled."""
    return (datetime(2026, 11, 27, 8, minute, second, 500000), None, "router", None, action, "wan", "in",
            None, None, None, None, None, None, None, protocol, None, None, None, None, None)  # fmt: skip


class TestCountRows:
    """One batch folds into one row per bucket and kind of packet."""

    def test_buckets_are_five_minutes_and_counts_add_up(self) -> None:
        """08:04:59 and 08:00:00 share a bucket, 08:05:00 starts the next; nothing is lost."""
        rows = [row(0, 0), row(4, 59), row(5, 0), row(5, 1, "REJECT"), row(9, 59, protocol=None)]
        counted = sorted(count_rows(rows))
        assert counted == [
            (datetime(2026, 11, 27, 8, 0), "router", "DROP", "wan", "in", "TCP", 2),
            (datetime(2026, 11, 27, 8, 5), "router", "DROP", "wan", "in", "", 1),
            (datetime(2026, 11, 27, 8, 5), "router", "DROP", "wan", "in", "TCP", 1),
            (datetime(2026, 11, 27, 8, 5), "router", "REJECT", "wan", "in", "TCP", 1),
        ]
        assert sum(entry[-1] for entry in counted) == len(rows)


def test_counts_match_the_raw_rows(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """Sent over several batches, the counts table sums to exactly what packetfilter holds, per action and protocol."""
    collector = start_collector(SIEM_BATCH_SIZE="3")
    send_tcp(collector.port, lf_framed(*DROPS, *DROPS))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", 2 * len(DROPS)) == 2 * len(DROPS)
    raw = fetch(db, "SELECT action, COALESCE(protocol, '') AS protocol, COUNT(*) AS n FROM packetfilter GROUP BY 1, 2")
    counted = fetch(db, "SELECT action, protocol, SUM(packets) AS n FROM packetfilter_counts GROUP BY 1, 2")
    assert {(r["action"], r["protocol"]): r["n"] for r in raw} == {
        (r["action"], r["protocol"]): r["n"] for r in counted
    }


def test_message_counts_match_the_messages(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """Per host, severity and program, the 5-minute and hourly message counts add up to the stored messages."""
    collector = start_collector(SIEM_BATCH_SIZE="4")
    send_tcp(collector.port, lf_framed(*ALL, *ALL))
    assert wait_for(db, "SELECT COUNT(*) FROM messages", 2 * len(ALL)) == 2 * len(ALL)
    raw = fetch(
        db, "SELECT host, severity, COALESCE(program, '') AS program, COUNT(*) AS n FROM messages GROUP BY 1, 2, 3"
    )
    assert len(raw) > 3
    for table in ("messages_counts", "messages_hourly"):
        counted = fetch(db, f"SELECT host, severity, program, SUM(messages) AS n FROM {table} GROUP BY 1, 2, 3")
        assert {(r["host"], r["severity"], r["program"]): r["n"] for r in raw} == {
            (r["host"], r["severity"], r["program"]): r["n"] for r in counted
        }, table


def test_hourly_port_and_mac_counts_match_the_raw_rows(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """Across batches, packets per destination port and per sending MAC add up to the raw rows, newest time too."""
    collector = start_collector(SIEM_BATCH_SIZE="3")
    send_tcp(collector.port, lf_framed(*DROPS, *DROPS))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", 2 * len(DROPS)) == 2 * len(DROPS)
    raw = fetch(
        db, "SELECT protocol, dst_port, COUNT(*) AS n FROM packetfilter WHERE dst_port IS NOT NULL GROUP BY 1, 2"
    )
    counted = fetch(db, "SELECT protocol, dst_port, SUM(packets) AS n FROM packetfilter_ports GROUP BY 1, 2")
    assert {(r["protocol"], r["dst_port"]): r["n"] for r in raw} == {
        (r["protocol"], r["dst_port"]): r["n"] for r in counted
    }
    raw = fetch(db, "SELECT mac, COUNT(*) AS n, MAX(timestamp) AS last FROM packetfilter GROUP BY 1")
    counted = fetch(db, "SELECT mac, SUM(packets) AS n, MAX(last_seen) AS last FROM packetfilter_macs GROUP BY 1")
    assert {r["mac"]: (r["n"], r["last"]) for r in raw} == {r["mac"]: (r["n"], r["last"]) for r in counted}
