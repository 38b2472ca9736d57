"""Nothing accepted is lost: MariaDB restarts, MariaDB absent at start, shutdown, and a full spool."""

import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pymysql
import pytest

from tests.conftest import API_TOKEN, fetch, wait_for
from tests.servers import CollectorProcess, MariaDBServer, lf_framed, octet_counted, send_tcp, send_udp
from tests.test_rankings import packet


def numbered(count: int, start: int = 0, padding: int = 0) -> list[bytes]:
    """Messages carrying their number, so a missing one can be named."""
    pad = "x" * padding
    return [f"<14>Nov 17 08:00:00 router app: seq={i} {pad}".encode() for i in range(start, start + count)]


def missing(db: pymysql.connections.Connection, count: int, start: int = 0) -> set[int]:
    """Which numbered messages are not in the database."""
    rows = fetch(db, "SELECT message FROM messages WHERE program = 'app'")
    seen = {int(row["message"].split()[0].removeprefix("seq=")) for row in rows}
    return set(range(start, start + count)) - seen


@pytest.fixture
def outage(mariadb: MariaDBServer) -> Iterator[MariaDBServer]:
    """Lets a test stop MariaDB; it is running again afterwards whatever happens."""
    yield mariadb
    if mariadb.process is None:
        mariadb.start()


class TestDatabaseOutage:
    """MariaDB going away costs no message."""

    def test_restart_mid_stream_loses_nothing(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection,
        outage: MariaDBServer,
    ) -> None:  # fmt: skip
        """A steady TCP stream across a MariaDB restart arrives complete, and the outage is noted in `messages`."""
        collector = start_collector()
        total = 6000
        lines = numbered(total)

        def stream() -> None:
            with socket.create_connection(("127.0.0.1", collector.port)) as sock:
                for i in range(0, total, 100):
                    sock.sendall(octet_counted(*lines[i : i + 100]))
                    time.sleep(0.05)

        sender = threading.Thread(target=stream)
        sender.start()
        time.sleep(0.6)
        db.close()
        outage.stop()
        time.sleep(1.5)
        outage.start()
        sender.join()
        db = outage.connect("siem")
        wait_for(db, "SELECT COUNT(DISTINCT message) FROM messages WHERE program = 'app'", total, timeout=60)
        assert missing(db, total) == set()
        notices = [row["message"] for row in fetch(db, "SELECT message FROM messages WHERE program = 'siem-collector'")]
        assert any(text.startswith("lost MariaDB") for text in notices), notices
        db.close()

    def test_started_while_database_down_spools_then_replays(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection,
        outage: MariaDBServer, tmp_path: Path,
    ) -> None:  # fmt: skip
        """The collector listens at once, spools to disk while MariaDB is away, and replays when it comes."""
        db.close()
        outage.stop()
        collector = start_collector()
        send_udp(collector.port, *numbered(500))
        send_tcp(collector.port, lf_framed(*numbered(500, start=500)))
        collector.wait_for_log("not available")
        deadline = time.monotonic() + 10
        while not list((tmp_path / "spool").glob("*.spool")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list((tmp_path / "spool").glob("*.spool")), "messages should be on disk while MariaDB is down"
        outage.start()
        db = outage.connect("siem")
        wait_for(db, "SELECT COUNT(*) FROM messages WHERE program = 'app'", 1000)
        assert missing(db, 1000) == set()
        collector.wait_for_log("spool replayed")
        assert not list((tmp_path / "spool").glob("*.spool")), "a replayed spool is removed"
        db.close()

    def test_spool_survives_collector_restart(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection,
        outage: MariaDBServer, tmp_path: Path,
    ) -> None:  # fmt: skip
        """Stopped while MariaDB is down, the collector flushes to the spool; the next start replays it."""
        db.close()
        outage.stop()
        first = start_collector()
        send_tcp(first.port, lf_framed(*numbered(300)))
        assert first.stop() == 0
        outage.start()
        second = start_collector(SIEM_SYSLOG_PORT=str(first.port))
        db = outage.connect("siem")
        wait_for(db, "SELECT COUNT(*) FROM messages WHERE program = 'app'", 300)
        assert missing(db, 300) == set()
        assert "spool holds" in second.output()
        db.close()


class TestShutdown:
    """SIGTERM stops listening, drains and flushes."""

    def test_sigterm_flushes_everything_received(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
    ) -> None:
        """Messages still buffered at SIGTERM are in MariaDB when the process has exited."""
        collector = start_collector(SIEM_FLUSH_SECONDS="5", SIEM_BATCH_SIZE="100000", SIEM_BUFFER_MESSAGES="200000")
        send_tcp(collector.port, octet_counted(*numbered(20000)))
        assert collector.stop() == 0
        assert missing(db, 20000) == set()


class TestBackPressure:
    """With MariaDB down and the spool full, TCP senders wait instead of losing messages; UDP drops are counted."""

    def test_tcp_waits_and_udp_drops_are_counted(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection,
        outage: MariaDBServer,
    ) -> None:  # fmt: skip
        """A TCP sender is held back, then delivers everything once MariaDB returns; UDP losses are reported."""
        db.close()
        outage.stop()
        collector = start_collector(SIEM_SPOOL_MAX_MB="1", SIEM_BUFFER_MESSAGES="1000", SIEM_BATCH_SIZE="500")
        total = 12000
        lines = numbered(total, padding=900)
        sender = threading.Thread(target=send_tcp, args=(collector.port, lf_framed(*lines)))
        sender.start()
        collector.wait_for_log("spool full")
        time.sleep(1)
        assert sender.is_alive(), "the sender should be held back, not drained into nowhere"
        send_udp(collector.port, *[b"<14>Nov 17 08:00:00 router udp: dropped"] * 1500)  # more than the buffer holds
        collector.wait_for_log("UDP messages because", timeout=20)
        outage.start()
        sender.join(timeout=120)
        assert not sender.is_alive()
        db = outage.connect("siem")
        wait_for(db, "SELECT COUNT(*) FROM messages WHERE program = 'app'", total, timeout=60)
        assert missing(db, total) == set()
        notice = "SELECT COUNT(*) FROM messages WHERE program = 'siem-collector' AND message LIKE 'dropped % UDP%'"
        assert wait_for(db, notice, 1) == 1
        db.close()


def test_api_answers_again_after_mariadb_restarts(api_url: str, outage: MariaDBServer) -> None:
    """The API keeps connections between requests; after MariaDB restarts it replaces them instead of failing."""
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    for _ in range(3):
        assert httpx.get(f"{api_url}/api/v1/stats", headers=headers).status_code == 200
    outage.stop()
    assert httpx.get(f"{api_url}/health").status_code == 503
    assert httpx.get(f"{api_url}/api/v1/stats", headers=headers).status_code == 503
    outage.start()
    for _ in range(3):
        response = httpx.get(f"{api_url}/api/v1/stats", headers=headers)
        assert response.status_code == 200, response.text


def test_dns_queries_first_seen_during_an_outage_keep_their_domain_names(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, outage: MariaDBServer
) -> None:
    """Names new in spooled batches arrive with their queries on replay: each query names its domain, none twice."""

    def lookups(names: list[str]) -> list[bytes]:
        return [
            f"<30>Nov 17 08:00:00 router dnsmasq[1]: {text}".encode()
            for i, name in enumerate(names)
            for text in (f"query[A] {name} from 192.168.1.{10 + i % 5}", f"cached {name} is 192.0.2.{i % 250 + 1}")
        ]

    collector = start_collector(SIEM_FLUSH_SECONDS="0.2")
    send_tcp(collector.port, lf_framed(*lookups(["before.example", "both.example"])))
    wait_for(db, "SELECT COUNT(*) FROM dns_queries", 2)
    db.close()
    outage.stop()
    during = [f"new{i}.example" for i in range(40)] + ["both.example"]
    send_tcp(collector.port, lf_framed(*lookups(during)))
    collector.wait_for_log("holding messages")
    time.sleep(1)
    outage.start()
    db = outage.connect("siem")
    wait_for(db, "SELECT COUNT(*) FROM dns_queries", 2 + len(during), timeout=60)
    rows = fetch(db, "SELECT n.name FROM dns_queries AS q LEFT JOIN dns_domains AS n ON n.id = q.domain_id")
    assert sorted(row["name"] for row in rows) == sorted(["before.example", "both.example", *during])
    names = fetch(db, "SELECT name, COUNT(*) AS n FROM dns_domains GROUP BY name HAVING n > 1")
    assert names == []
    db.close()


@pytest.mark.parametrize(("refused", "waits_in"), [("messages", "messages"), ("packetfilter", "parsed")])
def test_a_batch_stored_in_part_gets_the_rest_later_and_nothing_twice(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, tmp_path: Path,
    refused: str, waits_in: str,
) -> None:  # fmt: skip
    """While MariaDB refuses one table, the other part of each batch is stored; the rest follows once, counts too."""
    total = 400
    lines = [
        f"<4>Nov 17 08:00:{i % 60:02d} router kernel: drop wan in: IN=eth0 OUT= SRC=203.0.113.{i % 200 + 1}"
        f" DST=198.51.100.23 LEN=44 TTL=61 ID={i} PROTO=TCP SPT={10000 + i} DPT=22 WINDOW=1024 SYN URGP=0".encode()
        for i in range(total)
    ]
    stored = "packetfilter" if refused == "messages" else "messages"
    collector = start_collector(SIEM_BATCH_SIZE="50")
    with db.cursor() as cursor:
        cursor.execute(f"REVOKE INSERT ON siem.{refused} FROM 'siem_collector'@'%'")
    try:
        send_tcp(collector.port, lf_framed(*lines[:100]))
        assert wait_for(db, f"SELECT COUNT(*) FROM {stored}", 100) == 100, "the part MariaDB takes is stored at once"
        collector.wait_for_log("lost MariaDB")
        send_tcp(collector.port, lf_framed(*lines[100:]))
        time.sleep(1)
        assert fetch(db, f"SELECT COUNT(*) AS n FROM {refused} WHERE host = 'router'") == [{"n": 0}]
        assert list((tmp_path / "spool" / waits_in).glob("*.spool")), "the rest waits in a spool of its own"
    finally:
        with db.cursor() as cursor:
            cursor.execute(f"GRANT INSERT ON siem.{refused} TO 'siem_collector'@'%'")
    for table in ("messages", "packetfilter"):
        assert wait_for(db, f"SELECT COUNT(*) FROM {table} WHERE host = 'router'", total) == total
    collector.wait_for_log("spool replayed")
    time.sleep(0.5)
    assert fetch(db, "SELECT COUNT(DISTINCT src_port) AS n, COUNT(*) AS rows_ FROM packetfilter") == [
        {"n": total, "rows_": total}
    ]
    assert fetch(db, "SELECT COUNT(DISTINCT message) AS n, COUNT(*) AS rows_ FROM messages WHERE host = 'router'") == [
        {"n": total, "rows_": total}
    ]
    assert fetch(db, "SELECT CAST(SUM(packets) AS SIGNED) AS n FROM packetfilter_counts") == [{"n": total}]
    assert fetch(db, "SELECT CAST(SUM(messages) AS SIGNED) AS n FROM messages_counts WHERE host = 'router'") == [
        {"n": total}
    ]
    assert not list((tmp_path / "spool").rglob("*.spool")), "every spool is replayed and removed"


def test_the_ranker_ranks_again_at_once_after_mariadb_restarts(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, outage: MariaDBServer
) -> None:
    """The ranker keeps its connection between rounds; the first round after a MariaDB restart replaces it."""
    hour = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0) - timedelta(hours=3)
    ranked = "SELECT COALESCE(SUM(packets), 0) FROM packetfilter_top WHERE field = 'src_ip'"
    collector = start_collector()
    send_tcp(collector.port, octet_counted(packet(hour, "203.0.113.7")))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", 1) == 1
    collector.process.send_signal(signal.SIGUSR1)
    assert wait_for(db, ranked, 1) == 1
    db.close()
    outage.stop()
    outage.start()
    db = outage.connect("siem")
    send_tcp(collector.port, octet_counted(packet(hour + timedelta(minutes=5), "203.0.113.7")))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", 2) == 2
    collector.process.send_signal(signal.SIGUSR1)  # a round now, not in a minute: it must not fail for the restart
    assert wait_for(db, ranked, 2, timeout=20) == 2
    assert "ranking skipped" not in collector.log.read_text()
    db.close()
