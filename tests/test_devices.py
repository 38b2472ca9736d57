"""The device inventory and new-device notifications, through the collector's real receive path."""

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer

import pymysql

from tests.conftest import fetch, grafana_reader, wait_for
from tests.servers import ROOT, CollectorProcess, MariaDBServer, Receiver, free_port, lf_framed, send_tcp, send_udp

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(minutes=2)
STAMP = NOW.strftime("%b %e %H:%M:%S")
UNIX = int(NOW.replace(tzinfo=UTC).timestamp())
TV, PHONE, NAS = "a0:82:22:44:c6:1a", "da:a1:19:00:00:01", "00:11:32:aa:bb:cc"


def line(program: str, text: str, pri: int = 30) -> bytes:
    """A router syslog line with a recent stamp."""
    return f"<{pri}>{STAMP} router {program}: {text}".encode()


TV_LINES = [
    line("dnsmasq-dhcp[1]", f"DHCPACK(br-lan) 10.0.0.45 {TV} my-tv"),
    line("addrwatch", f"{UNIX} br-lan 0 {TV.upper()} 10.0.0.45 ARP_REP"),
    line("addrwatch", f"{UNIX} br-lan 0 {TV} fe80::a282:22ff:fe44:c61a ND_NA"),
    line("addrwatch", f"{UNIX} br-lan 0 {TV} 2001:db8::45 ND_NA"),
]
NAS_ARPWATCH = line("arpwatch", "new station 10.0.0.7 0:11:32:aa:bb:cc eth0")
TV_DROP = line(
    "kernel",
    f"reject lan out: IN=br-lan OUT=eth0 MAC=00:0d:b9:4f:2a:10:{TV}:08:00 SRC=10.0.0.45 DST=203.0.113.80 "
    "LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=40000 DPT=443 WINDOW=1 RES=0x00 SYN URGP=0",
    pri=4,
)
WAN_DROP = line(
    "kernel",
    "drop wan in: IN=eth0 OUT= MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00 SRC=141.230.240.75 "
    "DST=198.51.100.23 LEN=44 TOS=0x00 PREC=0x00 TTL=61 ID=6258 DF PROTO=TCP SPT=53052 DPT=5060 WINDOW=1024 "
    "RES=0x00 SYN URGP=0",
    pri=4,
)


def devices(db: pymysql.connections.Connection) -> dict[str, dict]:
    """The devices table by MAC."""
    return {row["mac"]: row for row in fetch(db, "SELECT * FROM devices")}


def device_events(db: pymysql.connections.Connection) -> list[tuple]:
    """(mac, event, old, new) in order."""
    rows = fetch(db, "SELECT mac, event, old_value, new_value FROM device_events ORDER BY id")
    return [(row["mac"], row["event"], row["old_value"], row["new_value"]) for row in rows]


def tv_marked_by_user(
    collector: CollectorProcess, db: pymysql.connections.Connection, known: bool = False, notes: str | None = None
) -> CollectorProcess:
    """Let the collector discover the TV, then name it (and more) as a user would."""
    send_udp(collector.port, TV_LINES[0])
    wait_for(db, "SELECT COUNT(*) FROM devices", 1)
    with db.cursor() as cursor:
        cursor.execute(
            "UPDATE devices SET name = 'Living room TV', known = %s, notes = %s WHERE mac = %s", (known, notes, TV)
        )
    return collector


class TestInventory:
    """Each source builds the inventory; the user's own fields are never overwritten."""

    def test_sources_build_the_inventory(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
    ) -> None:
        """dnsmasq, addrwatch (v4 and v6), arpwatch and a LAN-side drop make two devices; a WAN drop makes none."""
        collector = start_collector()
        send_tcp(collector.port, lf_framed(*TV_LINES, NAS_ARPWATCH, TV_DROP, WAN_DROP))
        wait_for(db, "SELECT COUNT(*) FROM messages", 7)
        found = devices(db)
        assert set(found) == {TV, NAS}
        tv = found[TV]
        assert (tv["last_ipv4"], tv["last_ipv6"], tv["hostname"], tv["interface"], tv["vlan"]) == (
            "10.0.0.45", "2001:db8::45", "my-tv", "br-lan", 0,
        )  # fmt: skip
        assert (tv["vendor"], tv["randomised"], tv["known"], tv["name"]) == (
            "Qingdao Haier Technology Co.,Ltd",
            0,
            0,
            None,
        )
        assert (found[NAS]["last_ipv4"], found[NAS]["last_source"]) == ("10.0.0.7", "arpwatch")
        addresses = {row["ip"] for row in fetch(db, "SELECT ip FROM device_addresses WHERE mac = %s", TV)}
        assert addresses == {"10.0.0.45", "fe80::a282:22ff:fe44:c61a", "2001:db8::45"}
        assert device_events(db) == [(TV, "new device", None, None), (NAS, "new device", None, None)]

    def test_changes_are_events_and_user_fields_survive(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
    ) -> None:
        """A new lease and a new hostname become events; the name and notes the user set stay."""
        collector = tv_marked_by_user(start_collector(), db, known=True, notes="mine")
        send_udp(collector.port, line("dnsmasq-dhcp[1]", f"DHCPACK(br-lan) 10.0.0.46 {TV} samsung-tv"))
        wait_for(db, "SELECT COUNT(*) FROM device_events", 3)
        assert device_events(db)[1:] == [
            (TV, "ip change", "10.0.0.45", "10.0.0.46"),
            (TV, "hostname change", "my-tv", "samsung-tv"),
        ]
        tv = devices(db)[TV]
        assert (tv["name"], tv["known"], tv["notes"]) == ("Living room TV", 1, "mine")
        assert (tv["last_ipv4"], tv["hostname"]) == ("10.0.0.46", "samsung-tv")

    def test_restart_does_not_rediscover(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
    ) -> None:
        """A collector restart loads the inventory: no device is `new` twice."""
        first = start_collector()
        send_udp(first.port, *TV_LINES)
        wait_for(db, "SELECT COUNT(*) FROM messages", 4)
        assert first.stop() == 0
        second = start_collector()
        send_udp(second.port, *TV_LINES)
        wait_for(db, "SELECT COUNT(*) FROM messages", 8)
        assert [event for event in device_events(db) if event[1] == "new device"] == [(TV, "new device", None, None)]

    def test_drops_by_device(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
    ) -> None:
        """The device_drops view answers what a device tries to reach that the firewall blocks."""
        collector = tv_marked_by_user(start_collector(), db)
        send_udp(collector.port, TV_DROP, TV_DROP, WAN_DROP)
        wait_for(db, "SELECT COUNT(*) FROM packetfilter", 3)
        rows = fetch(db, "SELECT name, action, dst_ip, dst_port FROM device_drops")
        assert rows == [{"name": "Living room TV", "action": "REJECT", "dst_ip": "203.0.113.80", "dst_port": 443}] * 2


NOTIFY = {"SIEM_NOTIFY_DIGEST_SECONDS": "0.5", "SIEM_NOTIFY_LEARNING_HOURS": "0"}


class TestNotifications:
    """New devices reach the user once, in one message per burst, and never hold up ingest."""

    def test_burst_of_new_devices_is_one_message(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, receiver: Receiver
    ) -> None:
        """Thirty devices appearing together are announced in one notification; a known device is not."""
        with db.cursor() as cursor:
            cursor.execute(
                "INSERT INTO devices (mac, first_seen, last_seen, randomised, last_source, known)"
                " VALUES (%s, %s, %s, FALSE, 'addrwatch', TRUE)",
                (NAS, NOW, NOW),
            )
        lines = [line("addrwatch", f"{UNIX} br-lan 0 00:11:22:33:44:{i:02x} 10.0.1.{i} ARP_REQ") for i in range(30)]
        collector = start_collector(SIEM_NOTIFY_URLS=receiver.url, **NOTIFY)
        send_tcp(collector.port, lf_framed(*lines, NAS_ARPWATCH))
        wait_for(db, "SELECT COUNT(*) FROM device_events WHERE notified_at IS NOT NULL", 30)
        posts = receiver.wait_for(1)
        assert len(posts) == 1
        assert posts[0]["title"] == "SIEM@Home: 30 new devices on your network"
        assert "00:11:22:33:44:1d" in posts[0]["message"]
        assert NAS not in posts[0]["message"]
        notices = fetch(db, "SELECT notice, COUNT(*) AS n FROM device_events GROUP BY notice")
        assert notices == [{"notice": "sent", "n": 30}]

    def test_randomised_phone_alerts_once_per_hostname(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, receiver: Receiver
    ) -> None:
        """A phone that rotates its MAC but keeps its DHCP hostname is announced once."""
        collector = start_collector(SIEM_NOTIFY_URLS=receiver.url, **NOTIFY)
        send_udp(collector.port, line("dnsmasq-dhcp[1]", f"DHCPACK(br-lan) 10.0.0.80 {PHONE} pixel"))
        wait_for(db, "SELECT COUNT(*) FROM device_events WHERE notice = 'sent'", 1)
        send_udp(collector.port, line("dnsmasq-dhcp[1]", "DHCPACK(br-lan) 10.0.0.81 d6:00:00:00:00:02 pixel"))
        assert wait_for(
            db, "SELECT notice FROM device_events WHERE mac = 'd6:00:00:00:00:02'", "randomised, same hostname"
        )
        assert len(receiver.posts) == 1

    def test_learning_mode_records_without_alerting(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, receiver: Receiver
    ) -> None:
        """Right after installation devices are inventoried quietly."""
        collector = start_collector(SIEM_NOTIFY_URLS=receiver.url, SIEM_NOTIFY_DIGEST_SECONDS="0.5")
        send_udp(collector.port, *TV_LINES)
        assert wait_for(db, "SELECT notice FROM device_events", "learning") == "learning"
        assert receiver.posts == []

    def test_dead_receiver_does_not_stop_ingest_and_is_retried(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
    ) -> None:
        """With the receiver down, messages keep flowing and the event stays pending until it can be delivered."""
        port = free_port()
        collector = start_collector(SIEM_NOTIFY_URLS=f"json://127.0.0.1:{port}/hook", **NOTIFY)
        send_udp(collector.port, TV_LINES[0])
        collector.wait_for_log("could not deliver")
        send_udp(collector.port, *[line("app", f"still flowing {i}", pri=14) for i in range(100)])
        assert wait_for(db, "SELECT COUNT(*) FROM messages WHERE program = 'app'", 100) == 100
        assert fetch(db, "SELECT notified_at FROM device_events") == [{"notified_at": None}]

        late = Receiver()
        late.server.server_close()
        late.server = ThreadingHTTPServer(("127.0.0.1", port), late.server.RequestHandlerClass)
        late.thread = threading.Thread(target=late.server.serve_forever, daemon=True)
        late.thread.start()
        try:
            assert len(late.wait_for(1, timeout=30)) == 1
            assert wait_for(db, "SELECT notice FROM device_events", "sent") == "sent"
        finally:
            late.server.shutdown()
            late.server.server_close()


def test_the_readmes_sql_examples_answer_for_a_named_device(
    start_collector: Callable[..., CollectorProcess],
    db: pymysql.connections.Connection,
    mariadb: MariaDBServer,
    db_env: dict[str, str],
) -> None:
    """What the README tells a user to type, as the read-only account: the named TV's drops and its lookups."""
    collector = start_collector()
    lookup = [
        line("dnsmasq[1]", "query[A] api.example.net from 10.0.0.45"),
        line("dnsmasq[1]", "cached api.example.net is 192.0.2.8"),
    ]
    send_tcp(collector.port, lf_framed(*TV_LINES, TV_DROP, WAN_DROP))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", 2) == 2
    send_tcp(collector.port, lf_framed(*lookup))
    assert wait_for(db, "SELECT COUNT(*) FROM dns_queries", 1) == 1
    with db.cursor() as cursor:
        cursor.execute("UPDATE devices SET name = 'Living room TV' WHERE mac = %s", (TV,))
    examples = re.findall(r"```sql\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert len(examples) == 2
    reader = grafana_reader(mariadb, db_env)
    drops, lookups = (fetch(reader, example.strip().rstrip(";")) for example in examples)
    reader.close()
    assert [tuple(row.values()) for row in drops] == [("203.0.113.80", 443, 1)]
    assert [tuple(row.values()) for row in lookups] == [("api.example.net", 1)]
