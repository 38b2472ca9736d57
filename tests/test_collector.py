"""The running collector: real syslog over real sockets becomes the right rows in the real MariaDB."""

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pymysql
import pytest

from tests.conftest import fetch, wait_for
from tests.servers import ROOT, CollectorProcess, lf_framed, octet_counted, send_tcp, send_udp

# RFC 3164 stamps have no year: the collector picks the one nearest the receive time, so
# the lines carry a recent time and the expected values follow from it.
BASE = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(minutes=5)


def bsd(seconds: int) -> bytes:
    """`Mmm dd hh:mm:ss` for BASE plus some seconds, day space-padded as routers write it."""
    return (BASE + timedelta(seconds=seconds)).strftime("%b %e %H:%M:%S").encode()


FW4 = (
    b"<4>" + bsd(0) + b" router kernel: [1234567.905147] drop wan in: IN=eth0 OUT= "
    b"MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00 SRC=141.230.240.75 DST=198.51.100.23 LEN=44 TOS=0x00 "
    b"PREC=0x00 TTL=61 ID=6258 DF PROTO=TCP SPT=53052 DPT=5060 WINDOW=1024 RES=0x00 SYN URGP=0"
)
SEED = (
    b"<4>" + bsd(1) + b" gw kernel: A=DROP C=inet IN=br-lan OUT=eth0 "
    b"MAC=00:0d:b9:4f:2a:10:A0:82:22:44:C6:1A:08:00 SRC=192.168.1.50 DST=8.8.4.4 LEN=76 TOS=0x00 PREC=0x00 "
    b"TTL=63 ID=40213 DF PROTO=UDP SPT=41000 DPT=123 LEN=56"
)
ADDRWATCH = b"<30>" + bsd(2) + b" router addrwatch: 1763366402 eth0 7 00:AA:BB:CC:DD:EE 192.168.1.23 ARP_REP"
DHCP = b"<30>" + bsd(3) + b" router dnsmasq-dhcp[1]: DHCPACK(br-lan) 10.0.0.45 a0:82:22:44:c6:1a my-tv"
SYNOLOGY = (
    b'<14>1 2025-11-17T09:00:04+01:00 synology Connection - - [synolog@6574 synotype="Connection" luser="u"] '
    b"User [u] from [192.168.0.10] logged in via [SSH]."
)
CRON = b"<78>" + bsd(5) + b" router crond[99]: CMD (/usr/bin/backup --LOGIN=admin --TIMEOUT=30 IN=a OUT=b)"
HOSTLESS = b"<13>" + bsd(6) + b" sshd[14308]: Accepted publickey for root"
ALL = [FW4, SEED, ADDRWATCH, DHCP, SYNOLOGY, CRON, HOSTLESS]


@pytest.fixture
def collector(start_collector: Callable[..., CollectorProcess]) -> CollectorProcess:
    """A collector with its default settings against the test database."""
    return start_collector()


def send(transport: str, port: int, messages: list[bytes]) -> None:
    """Send messages the way the named transport frames them."""
    if transport == "udp":
        send_udp(port, *messages)
    elif transport == "tcp-lf":
        send_tcp(port, lf_framed(*messages))
    else:
        send_tcp(port, octet_counted(*messages))


class TestRouting:
    """Every message lands in `messages`; firewall and discovery lines also in their own tables."""

    @pytest.mark.parametrize("transport", ["udp", "tcp-lf", "tcp-octet"])
    def test_each_transport_fills_all_three_tables(
        self, transport: str, collector: CollectorProcess, db: pymysql.connections.Connection
    ) -> None:
        """UDP, LF-framed TCP and octet-counted TCP give identical rows."""
        send(transport, collector.port, ALL)
        assert wait_for(db, "SELECT COUNT(*) FROM messages", len(ALL)) == len(ALL)
        assert wait_for(db, "SELECT COUNT(*) FROM addrwatch", 2) == 2
        assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", 2) == 2

        messages = {row["program"]: row for row in fetch(db, "SELECT * FROM messages")}
        assert messages["kernel"]["host"] in {"router", "gw"}
        assert messages["Connection"]["host"] == "synology"
        assert messages["Connection"]["timestamp"] == datetime(2025, 11, 17, 8, 0, 4)
        assert messages["Connection"]["structured_data"].startswith("[synolog@6574")
        assert messages["sshd"]["host"] == "127.0.0.1", "a hostless line falls back to the sender address"
        assert messages["sshd"]["pid"] == "14308"
        assert {row["sender"] for row in messages.values()} == {"127.0.0.1"}
        assert (messages["crond"]["facility"], messages["crond"]["severity"]) == (9, 6)

    def test_packetfilter_rows_are_typed_and_null_where_absent(
        self, collector: CollectorProcess, db: pymysql.connections.Connection
    ) -> None:
        """Ports are integers, the MAC is the sender's, empty OUT= is NULL, the cron look-alike is absent."""
        send_udp(collector.port, FW4, SEED, CRON)
        wait_for(db, "SELECT COUNT(*) FROM messages", 3)
        rows = {row["host"]: row for row in fetch(db, "SELECT * FROM packetfilter")}
        assert set(rows) == {"router", "gw"}
        fw4, seed = rows["router"], rows["gw"]
        assert (fw4["action"], fw4["chain"], fw4["direction"]) == ("DROP", "wan", "in")
        assert (fw4["in_interface"], fw4["out_interface"], fw4["mac"]) == ("eth0", None, "3c:a6:2f:11:22:33")
        assert (fw4["src_ip"], fw4["src_port"], fw4["dst_ip"], fw4["dst_port"]) == (
            "141.230.240.75",
            53052,
            "198.51.100.23",
            5060,
        )
        assert (fw4["protocol"], fw4["type"], fw4["timestamp"]) == ("TCP", None, BASE)
        assert (seed["action"], seed["chain"], seed["mac"], seed["protocol"], seed["dst_port"]) == (
            "DROP", "inet", "a0:82:22:44:c6:1a", "UDP", 123,
        )  # fmt: skip

    def test_discovery_rows(self, collector: CollectorProcess, db: pymysql.connections.Connection) -> None:
        """addrwatch keeps its own time and VLAN; dnsmasq keeps the DHCP hostname; MACs are lower case."""
        send_udp(collector.port, ADDRWATCH, DHCP)
        wait_for(db, "SELECT COUNT(*) FROM addrwatch", 2)
        rows = {row["source"]: row for row in fetch(db, "SELECT * FROM addrwatch")}
        addrwatch, dhcp = rows["addrwatch"], rows["dnsmasq"]
        assert (addrwatch["vlan"], addrwatch["interface"], addrwatch["mac"], addrwatch["ip"], addrwatch["event"]) == (
            7, "eth0", "00:aa:bb:cc:dd:ee", "192.168.1.23", "ARP_REP",
        )  # fmt: skip
        assert addrwatch["timestamp"] == datetime(2025, 11, 17, 8, 0, 2), "addrwatch's own unix time wins"
        assert (dhcp["hostname"], dhcp["ip"], dhcp["mac"], dhcp["interface"]) == (
            "my-tv",
            "10.0.0.45",
            "a0:82:22:44:c6:1a",
            "br-lan",
        )

    def test_router_zone_is_applied(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
    ) -> None:
        """With TZ=Europe/Berlin a router's local wall-clock time is stored as UTC."""
        collector = start_collector(TZ="Europe/Berlin")
        berlin = BASE.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
        send_udp(collector.port, b"<13>" + berlin.strftime("%b %e %H:%M:%S").encode() + b" router app: local time")
        wait_for(db, "SELECT COUNT(*) FROM messages", 1)
        assert fetch(db, "SELECT timestamp FROM messages")[0]["timestamp"] == BASE


class TestConcurrency:
    """Many senders at once, each on its own connection, lose nothing."""

    def test_many_tcp_senders(self, collector: CollectorProcess, db: pymysql.connections.Connection) -> None:
        """Forty connections of 250 messages each, alternating framing, all arrive."""
        senders, each = 40, 250

        def sender(number: int) -> None:
            lines = [f"<14>Nov 17 08:00:00 host{number} app: message {number}-{i}".encode() for i in range(each)]
            send_tcp(collector.port, octet_counted(*lines) if number % 2 else lf_framed(*lines))

        threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        total = senders * each
        assert wait_for(db, "SELECT COUNT(DISTINCT message) FROM messages", total) == total
        assert wait_for(db, "SELECT COUNT(DISTINCT host) FROM messages", senders) == senders

    def test_udp_bursts_from_several_senders_arrive_whole_and_in_order(
        self, collector: CollectorProcess, db: pymysql.connections.Connection
    ) -> None:
        """Three senders each fire 1,500 datagrams at once, more than one wakeup reads: every one is stored once."""
        each, target = 1500, ("127.0.0.1", collector.port)
        sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
        for number, sock in enumerate(sockets):
            sock.bind((f"127.0.0.{number + 1}", 0))
        try:
            for i in range(each):
                for number, sock in enumerate(sockets):
                    sock.sendto(f"<14>Nov 17 08:00:00 router app: burst {number} {i:05d}".encode(), target)
        finally:
            for sock in sockets:
                sock.close()
        total = 3 * each
        assert wait_for(db, "SELECT COUNT(DISTINCT message) FROM messages", total) == total
        rows = fetch(db, "SELECT sender, message FROM messages ORDER BY id")
        assert len(rows) == total
        for number in range(3):
            sent = [row for row in rows if row["message"].startswith(f"burst {number} ")]
            assert {row["sender"] for row in sent} == {f"127.0.0.{number + 1}"}
            assert [row["message"] for row in sent] == [f"burst {number} {i:05d}" for i in range(each)]

    def test_connection_left_open_still_delivers(
        self, collector: CollectorProcess, db: pymysql.connections.Connection
    ) -> None:
        """A router keeps its TCP connection open for days; messages must not wait for it to close."""
        with socket.create_connection(("127.0.0.1", collector.port)) as sock:
            sock.sendall(lf_framed(b"<13>" + bsd(0) + b" router app: still connected"))
            assert wait_for(db, "SELECT COUNT(*) FROM messages", 1) == 1


class TestHeartbeat:
    """The container healthcheck reads a heartbeat file, since UDP has nothing to probe."""

    def test_heartbeat_reports_liveness_and_counters(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, tmp_path: Path
    ) -> None:
        """The file appears at start with the time, database state and what was received."""
        beat = tmp_path / "heartbeat.json"
        collector = start_collector(SIEM_HEARTBEAT_FILE=str(beat))
        deadline = time.monotonic() + 10
        while not beat.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        payload = json.loads(beat.read_text())
        assert abs(payload["time"] - time.time()) < 30
        assert {"udp_received", "tcp_received", "written", "spooled", "db_up"} <= set(payload)
        assert collector.stop() == 0


class TestListening:
    """Where the collector listens, and what happens when it cannot."""

    def test_dual_stack_listens_for_ipv4_and_ipv6(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
    ) -> None:
        """With SIEM_SYSLOG_HOST=:: both address families arrive, over UDP and TCP."""
        collector = start_collector(SIEM_SYSLOG_HOST="::")
        for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            with socket.socket(family, socket.SOCK_DGRAM) as udp:
                udp.sendto(b"<13>" + bsd(0) + f" router app: udp {address}".encode(), (address, collector.port))
            with socket.create_connection((address, collector.port)) as tcp:
                tcp.sendall(b"<13>" + bsd(0) + f" router app: tcp {address}\n".encode())
        assert wait_for(db, "SELECT COUNT(*) FROM messages", 4) == 4
        assert {row["sender"] for row in fetch(db, "SELECT sender FROM messages")} == {"127.0.0.1", "::1"}

    def test_port_in_use_is_a_clear_error(self, start_collector: Callable[..., CollectorProcess]) -> None:
        """A second collector on the same port exits with a message instead of sharing it."""
        first = start_collector()
        second = subprocess.run(
            [sys.executable, "-m", "collector"], cwd=ROOT, env=first.env, capture_output=True, text=True,
            timeout=30, check=False,
        )  # fmt: skip
        assert second.returncode == 1
        assert f"cannot listen on 127.0.0.1:{first.port}" in second.stderr
