"""Real senders over real sockets: Python's SysLogHandler over TCP, cut frames, and the limits on connections."""

import contextlib
import logging
import logging.handlers
import socket
import time
from collections.abc import Callable, Iterator

import pymysql
import pytest

from tests.conftest import fetch, wait_for
from tests.servers import CollectorProcess, lf_framed, octet_counted, send_tcp, send_udp

MAX = 8192
CUT_NOTICE = "SELECT message FROM messages WHERE program = 'siem-collector' AND message LIKE 'cut % TCP messages%'"


@contextlib.contextmanager
def idle_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    """Connections that send nothing, as a sleeping device or a scanner leaves them; closed on exit."""
    sockets = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def test_python_sysloghandler_over_tcp_stores_each_message_with_its_severity(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """The standard library ends TCP messages with NUL and no LF: 800 on one connection are 800 rows."""
    collector = start_collector()
    handler = logging.handlers.SysLogHandler(("127.0.0.1", collector.port), socktype=socket.SOCK_STREAM)
    handler.setFormatter(logging.Formatter("myapp: %(message)s"))
    logger = logging.getLogger("test-sysloghandler")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        for i in range(800):
            (logger.warning if i % 2 else logger.info)("event %d", i)
    finally:
        logger.removeHandler(handler)
        handler.close()
    wait_for(db, "SELECT COUNT(*) FROM messages WHERE program = 'myapp'", 800)
    rows = fetch(db, "SELECT message, severity, truncated FROM messages WHERE program = 'myapp' ORDER BY id")
    assert [row["message"] for row in rows] == [f"event {i}" for i in range(800)]
    assert [row["severity"] for row in rows] == [4 if i % 2 else 6 for i in range(800)]
    assert not any(row["truncated"] for row in rows)


def test_frames_after_a_cut_frame_are_stored_and_the_cut_is_reported(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """A 3 MB octet-counted frame is kept cut and marked; the ten behind it arrive; a notice says what was lost."""
    collector = start_collector(SIEM_MAX_MESSAGE_BYTES=str(MAX))
    huge = b"<13>Nov 17 08:00:00 router app: " + b"H" * 3_000_000
    after = [b"<13>Nov 17 08:00:00 router app: after %d" % i for i in range(10)]
    send_tcp(collector.port, octet_counted(huge, *after))
    send_tcp(collector.port, lf_framed(huge[:100_000], b"<13>Nov 17 08:00:00 router app: after the long line"))
    wait_for(db, "SELECT COUNT(*) FROM messages WHERE message LIKE 'after%'", 11)
    rows = fetch(db, "SELECT message, truncated FROM messages WHERE program = 'app' ORDER BY id")
    assert [row["message"] for row in rows if not row["truncated"]] == [
        *(f"after {i}" for i in range(10)),
        "after the long line",
    ]
    assert sum(row["truncated"] for row in rows) == 2
    wait_for(db, "SELECT COUNT(*) FROM messages WHERE program = 'siem-collector' AND message LIKE 'cut %'", 1)
    notice = fetch(db, CUT_NOTICE)[0]["message"]
    discarded = len(huge) - MAX + 100_000 - MAX
    assert notice.startswith(f"cut 2 TCP messages longer than SIEM_MAX_MESSAGE_BYTES (stored marked truncated) and"
                             f" discarded {discarded} bytes")  # fmt: skip


def test_at_the_connection_limit_new_senders_wait_and_the_pause_is_logged_once(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """With SIEM_MAX_TCP_CONNECTIONS reached a new sender waits in the queue; its messages land once one closes."""
    collector = start_collector(SIEM_MAX_TCP_CONNECTIONS="5")
    with idle_connections(collector.port, 5), socket.create_connection(("127.0.0.1", collector.port)) as waiting:
        waiting.sendall(lf_framed(b"<13>Nov 17 08:00:00 router app: waited"))
        collector.wait_for_log("not accepting TCP connections for now: 5 TCP connections are open")
        time.sleep(2)  # four pauses of half a second: still one line
        assert collector.output().count("not accepting TCP connections") == 1
        assert wait_for(db, "SELECT COUNT(*) FROM messages", 1, timeout=0.5) == 0
    wait_for(db, "SELECT COUNT(*) FROM messages WHERE message = 'waited'", 1)
    collector.wait_for_log("accepting TCP connections again")


def test_a_low_open_files_limit_bounds_connections_and_leaves_the_collector_its_own_descriptors(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """At a hard limit of 64 open files, 100 idle connections cost one log line and no descriptor error."""
    collector = start_collector(open_files=64)
    assert "open-files limit is 64, below SIEM_MAX_TCP_CONNECTIONS (4096) plus the 48" in collector.output()
    assert "holding at most 16 TCP connections" in collector.output()
    with idle_connections(collector.port, 100):
        collector.wait_for_log("not accepting TCP connections for now: 16 TCP connections are open, the limit"
                               " (the open-files limit)")  # fmt: skip
        send_udp(collector.port, b"<13>Nov 17 08:00:00 router app: while full")
        wait_for(db, "SELECT COUNT(*) FROM messages WHERE message = 'while full'", 1)
        time.sleep(2)
        log = collector.output()
        assert log.count("not accepting TCP connections") == 1
        assert "Too many open files" not in log
    send_tcp(collector.port, lf_framed(*(b"<13>Nov 17 08:00:00 router app: normal %d" % i for i in range(50))))
    assert wait_for(db, "SELECT COUNT(*) FROM messages WHERE message LIKE 'normal %'", 50) == 50
    assert "Too many open files" not in collector.output()


@pytest.mark.parametrize(
    ("line", "action", "chain"),
    [
        (b"<4>Nov 17 08:00:00 usg kernel: [WAN_LOCAL-default-D]IN=eth0 OUT= MAC=", "DROP", "WAN_LOCAL"),
        (b"<4>Nov 17 08:00:00 usg kernel: [WAN_OUT-2000-A]IN=eth1 OUT=eth0 MAC=", "ACCEPT", "WAN_OUT"),
        (b"<4>Nov 17 08:00:00 edgerouter kernel: [wan-lan-default-D]IN=eth0 OUT=eth1 MAC=", "DROP", "wan-lan"),
        (b"<4>Nov 17 08:00:00 edgerouter kernel: [LAN_IN-20-R]IN=eth1 OUT=eth0 MAC=", "REJECT", "LAN_IN"),
        (b"<12>Jan  8 03:37:09 DENY: IN=eth0 OUT= MAC=", "DROP", "input"),
    ],
)
def test_rule_names_and_tag_prefixes_give_the_verdict(
    start_collector: Callable[..., CollectorProcess],
    db: pymysql.connections.Connection,
    line: bytes,
    action: str,
    chain: str,
) -> None:
    """Ubiquiti's rule names and a verdict in the tag's place reach `packetfilter` as action and chain."""
    collector = start_collector()
    rest = (
        b"00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00 SRC=203.0.113.7 DST=198.51.100.23 LEN=40 TOS=0x00 "
        b"PREC=0x00 TTL=240 ID=1 PROTO=TCP SPT=4444 DPT=22 WINDOW=1024 RES=0x00 SYN URGP=0"
    )
    send_tcp(collector.port, lf_framed(line + rest))
    wait_for(db, "SELECT COUNT(*) FROM packetfilter", 1)
    assert fetch(db, "SELECT action, chain, dst_port FROM packetfilter") == [
        {"action": action, "chain": chain, "dst_port": 22}
    ]
