"""DNS query logs through the real collector into MariaDB: one row per query, named devices, exact derived tables."""

import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pymysql

from collector import db as collector_db
from collector.owners import AddressOwners
from collector.settings import Settings
from common.store import DAY, DNS_OUTCOMES, floor_time
from tests.conftest import fetch, wait_for
from tests.servers import CollectorProcess, Receiver, collector_env, lf_framed, send_tcp, send_udp

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
TV, CAMERA = "3c:a6:2f:11:22:33", "b8:27:eb:12:34:56"


def line(moment: datetime, text: str, program: str = "dnsmasq", host: str = "router") -> bytes:
    """A resolver's line, RFC 5424 so its date travels with it."""
    return f"<30>1 {moment.isoformat(timespec='milliseconds')}Z {host} {program} 1234 - - {text}".encode()


def lease(moment: datetime, ip: str, mac: str, name: str) -> bytes:
    """dnsmasq's DHCP line that puts a device in the inventory."""
    return line(moment, f"DHCPACK(br-lan) {ip} {mac} {name}", program="dnsmasq-dhcp")


def lookup(moment: datetime, client: str, domain: str, answer: str = "93.184.216.34", serial: int = 0) -> list[bytes]:
    """A forwarded query and its reply, as dnsmasq logs them (with `extra`'s serial when given)."""
    extra = f"{serial} {client}/5353 " if serial else ""
    return [
        line(moment, f"{extra}query[A] {domain} from {client}"),
        line(moment, f"{extra}forwarded {domain} to 1.1.1.1"),
        line(moment + timedelta(milliseconds=20), f"{extra}reply {domain} is {answer}"),
    ]


def raw_hourly(db: pymysql.connections.Connection) -> Counter:
    """Queries per hour, router, device, domain and outcome, counted from the raw rows."""
    rows = fetch(
        db,
        "SELECT DATE_FORMAT(timestamp, '%Y-%m-%d %H:00:00') AS h, host, device, domain_id, outcome, COUNT(*) AS n"
        " FROM dns_queries GROUP BY 1, 2, 3, 4, 5",
    )
    return Counter({(str(r["h"]), r["host"], r["device"], r["domain_id"], r["outcome"]): r["n"] for r in rows})


def stored_hourly(db: pymysql.connections.Connection) -> Counter:
    """The same from dns_hourly."""
    rows = fetch(db, "SELECT timestamp, host, device, domain_id, outcome, queries FROM dns_hourly")
    return Counter({
        (f"{r['timestamp']:%Y-%m-%d %H:00:00}", r["host"], r["device"], r["domain_id"], r["outcome"]): r["queries"]
        for r in rows
    })  # fmt: skip


def raw_spans(db: pymysql.connections.Connection) -> dict:
    """Each device's domains with first and last query, count and blocked count, from the raw rows."""
    rows = fetch(
        db,
        "SELECT device, domain_id, MIN(timestamp) AS f, MAX(timestamp) AS l, COUNT(*) AS n,"
        " SUM(outcome = 'blocked') AS b FROM dns_queries GROUP BY 1, 2",
    )
    return {(r["device"], r["domain_id"]): (r["f"], r["l"], r["n"], int(r["b"])) for r in rows}


def stored_spans(db: pymysql.connections.Connection) -> dict:
    """The same from dns_device_domains."""
    rows = fetch(db, "SELECT device, domain_id, first_seen, last_seen, queries, blocked FROM dns_device_domains")
    return {(r["device"], r["domain_id"]): (r["first_seen"], r["last_seen"], r["queries"], r["blocked"]) for r in rows}


def test_a_query_and_its_lines_become_one_row_naming_the_device_that_asked(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    collector = start_collector()
    send_tcp(collector.port, lf_framed(lease(NOW - timedelta(minutes=5), "192.168.1.45", TV, "tv")))
    wait_for(db, "SELECT COUNT(*) FROM device_addresses", 1)
    batch = [
        *lookup(NOW, "192.168.1.45", "API.Amazon.com."),
        line(NOW, "query[A] ads.example from 192.168.1.77"),
        line(NOW, "config ads.example is 0.0.0.0"),
        line(NOW, "started, version 2.90 cachesize 1000"),
    ]
    send_tcp(collector.port, lf_framed(*batch))
    wait_for(db, "SELECT COUNT(*) FROM dns_queries", 2)
    rows = fetch(
        db,
        "SELECT q.timestamp, q.host, q.client, q.device, q.qtype, d.name, q.outcome, q.blocked_by, q.upstream,"
        " q.answer FROM dns_queries q JOIN dns_domains d ON d.id = q.domain_id ORDER BY d.name",
    )
    assert rows == [
        {
            "timestamp": NOW, "host": "router", "client": "192.168.1.77", "device": "192.168.1.77", "qtype": "A",
            "name": "ads.example", "outcome": "blocked", "blocked_by": "config", "upstream": None, "answer": "0.0.0.0",
        },
        {
            "timestamp": NOW, "host": "router", "client": "192.168.1.45", "device": TV, "qtype": "A",
            "name": "api.amazon.com", "outcome": "answered", "blocked_by": None, "upstream": "1.1.1.1",
            "answer": "93.184.216.34",
        },
    ]  # fmt: skip
    view = fetch(db, "SELECT domain, hostname, outcome FROM device_queries WHERE mac = %s", TV)
    assert view == [{"domain": "api.amazon.com", "hostname": "tv", "outcome": "answered"}]
    programs = [row["message"] for row in fetch(db, "SELECT message FROM messages WHERE program = 'dnsmasq'")]
    assert programs == ["started, version 2.90 cachesize 1000"], "joined lines live in their query's row only"


def test_a_reply_arriving_in_a_later_batch_still_joins_its_query(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    collector = start_collector()  # batches every 0.1 s
    send_udp(collector.port, line(NOW, "query[AAAA] slow.example from 192.168.1.50"))
    send_udp(collector.port, line(NOW, "forwarded slow.example to 9.9.9.9"))
    time.sleep(0.6)
    send_udp(collector.port, line(NOW, "reply slow.example is NODATA-IPv6"))
    wait_for(db, "SELECT COUNT(*) FROM dns_queries", 1)
    time.sleep(2.5)
    assert fetch(db, "SELECT qtype, outcome, upstream FROM dns_queries") == [
        {"qtype": "AAAA", "outcome": "nodata", "upstream": "9.9.9.9"}
    ]


def test_a_query_still_waiting_for_its_reply_is_stored_at_shutdown(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    collector = start_collector()
    send_udp(collector.port, line(NOW, "query[A] waiting.example from 192.168.1.50"))
    time.sleep(0.3)
    assert collector.stop() == 0
    assert fetch(db, "SELECT outcome FROM dns_queries") == [{"outcome": "unknown"}]


def test_old_dated_and_shuffled_queries_keep_every_derived_answer_equal_to_the_raw_rows(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    collector = start_collector(SIEM_RETENTION_CHECK_SECONDS="0.5")
    rng = random.Random(13)
    leases = [
        lease(NOW - timedelta(days=3), f"192.168.1.{10 + i}", f"02:00:00:00:00:{i:02x}", f"d{i}") for i in range(4)
    ]
    send_tcp(collector.port, lf_framed(*leases))
    wait_for(db, "SELECT COUNT(*) FROM devices", 4)
    hours = [NOW - timedelta(days=2, hours=h) for h in range(12)]
    rng.shuffle(hours)  # a replay: hours arrive in any order, some twice
    hours += hours[:3]
    sent = 0
    for serial_base, hour in enumerate(hours):
        lines = []
        for i in range(30):
            client = f"192.168.1.{10 + rng.randrange(6)}"  # two clients the inventory does not know
            domain = rng.choice(["a.example", "b.example", "tracker.example", "c.example.net"])
            moment = hour + timedelta(seconds=i * 7)
            if domain == "tracker.example":
                lines += [line(moment, f"query[A] {domain} from {client}"), line(moment, f"config {domain} is 0.0.0.0")]
            else:
                lines += lookup(moment, client, domain, serial=serial_base * 100 + i + 1)
            sent += 1
        send_tcp(collector.port, lf_framed(*lines))
    wait_for(db, "SELECT COUNT(*) FROM dns_queries", sent)
    assert raw_hourly(db) == stored_hourly(db)
    assert raw_spans(db) == stored_spans(db)
    for table, key, bucket in (
        ("dns_device_hourly", "device", "%Y-%m-%d %H:00:00"),
        ("dns_device_daily", "device", "%Y-%m-%d 00:00:00"),
        ("dns_domain_daily", "domain_id", "%Y-%m-%d 00:00:00"),
    ):
        raw = fetch(db, f"SELECT DATE_FORMAT(timestamp, '{bucket}') AS t, host, {key} AS k, outcome, COUNT(*) AS n"
                        " FROM dns_queries GROUP BY 1, 2, 3, 4")  # fmt: skip
        assert {(str(r["t"]), r["host"], r["k"], r["outcome"]): r["n"] for r in raw} == stored_counts(db, table, key)
    devices = {row["device"] for row in fetch(db, "SELECT DISTINCT device FROM dns_queries")}
    assert devices == {"02:00:00:00:00:00", "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03",
                       "192.168.1.14", "192.168.1.15"}  # fmt: skip
    day = f"p{NOW - timedelta(days=2):%Y%m%d}"
    partition = (
        "SELECT COUNT(*) FROM information_schema.partitions WHERE table_name = 'dns_queries' AND partition_name = "
    )
    assert wait_for(db, f"{partition}'{day}'", 1) == 1, "old-dated queries get their own day, like the other logs"


def stored_counts(db: pymysql.connections.Connection, table: str, key: str) -> dict[tuple, int]:
    """A counts table as (bucket, host, key, outcome) -> queries; dns_domain_daily's outcome columns as rows."""
    if table != "dns_domain_daily":
        stored = fetch(db, f"SELECT timestamp AS t, host, {key} AS k, outcome, queries AS n FROM {table}")
        return {(f"{r['t']:%Y-%m-%d %H:%M:%S}", r["host"], r["k"], r["outcome"]): r["n"] for r in stored}
    counts = {}
    for r in fetch(db, f"SELECT * FROM {table}"):
        assert r["queries"] == sum(r[outcome] for outcome in DNS_OUTCOMES), "every query has one outcome"
        counts.update({(f"{r['timestamp']:%Y-%m-%d %H:%M:%S}", r["host"], r["domain_id"], outcome): r[outcome]
                       for outcome in DNS_OUTCOMES if r[outcome]})  # fmt: skip
    return counts


def test_an_address_is_named_after_the_device_that_held_it_when_the_query_was_made() -> None:
    owners = AddressOwners()
    day = datetime(2026, 11, 20)
    owners.load([
        (TV, "192.168.1.45", day, day + timedelta(hours=10)),
        (CAMERA, "192.168.1.45", day + timedelta(hours=12), day + timedelta(hours=20)),
    ])  # fmt: skip
    assert owners.owner("192.168.1.45", day + timedelta(hours=5)) == TV
    assert owners.owner("192.168.1.45", day + timedelta(hours=11)) == TV, "still the last holder until another"
    assert owners.owner("192.168.1.45", day + timedelta(hours=13)) == CAMERA
    assert owners.owner("192.168.1.45", day + timedelta(days=3)) == CAMERA
    assert owners.owner("192.168.1.45", day - timedelta(days=1)) == TV, "before any sighting: its first holder"
    assert owners.owner("192.168.1.46", day) is None
    owners.add([(TV, "192.168.1.45", day + timedelta(hours=21), day + timedelta(hours=22))])
    assert owners.owner("192.168.1.45", day + timedelta(hours=21, minutes=30)) == TV


def test_a_known_device_contacting_a_new_domain_is_notified_once_unless_allowed_or_learning(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, receiver: Receiver
) -> None:
    with db.cursor() as cursor:
        cursor.execute(
            "INSERT INTO devices (mac, first_seen, last_seen, randomised, last_source, known, name)"
            " VALUES (%s, %s, %s, FALSE, 'dnsmasq', TRUE, 'Living room TV')",
            (TV, NOW - timedelta(days=10), NOW),
        )
    collector = start_collector(
        SIEM_NOTIFY_URLS=receiver.url, SIEM_NOTIFY_NEW_DOMAINS="true", SIEM_NOTIFY_DOMAINS_LEARNING_DAYS="2",
        SIEM_NOTIFY_DIGEST_SECONDS="0.5", SIEM_NOTIFY_LEARNING_HOURS="0",
    )  # fmt: skip
    send_tcp(collector.port, lf_framed(lease(NOW - timedelta(days=5), "192.168.1.45", TV, "tv")))
    wait_for(db, "SELECT COUNT(*) FROM device_addresses", 1)
    history = lookup(NOW - timedelta(days=4), "192.168.1.45", "usual.example")  # its first query: 4 days ago
    guest = lookup(NOW, "192.168.1.99", "guest-only.example")  # not in the inventory: never notified
    fresh = [
        *lookup(NOW, "192.168.1.45", "telemetry.tv-maker.example"),
        *lookup(NOW, "192.168.1.45", "time.apple.com"),
        *lookup(NOW, "192.168.1.45", "usual.example"),
    ]
    send_tcp(collector.port, lf_framed(*history, *guest, *fresh))
    wait_for(db, "SELECT COUNT(*) FROM dns_device_domains WHERE notice IS NOT NULL", 2)
    posts = receiver.wait_for(1)
    assert len(posts) == 1
    assert posts[0]["title"] == "SIEM@Home: 1 new domain contacted by known devices"
    assert "Living room TV" in posts[0]["message"]
    assert "telemetry.tv-maker.example" in posts[0]["message"]
    notices = fetch(
        db,
        "SELECT d.name, x.notice FROM dns_device_domains x JOIN dns_domains d ON d.id = x.domain_id ORDER BY 1",
    )
    assert notices == [
        {"name": "guest-only.example", "notice": None},
        {"name": "telemetry.tv-maker.example", "notice": "sent"},
        {"name": "time.apple.com", "notice": "allowed"},
        {"name": "usual.example", "notice": None},  # first asked days ago: not new
    ]
    time.sleep(1.5)
    assert len(receiver.posts) == 1, "each new domain is announced once"


def test_hostile_and_malformed_resolver_lines_are_stored_safely_and_never_stop_ingest(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    collector = start_collector()
    evil = [
        line(NOW, "query[A] x';DROP TABLE dns_queries;-- from 192.168.1.5"),
        line(NOW, "query[A] 100%_sure.example from 192.168.1.5"),
        line(NOW, "cached 100%_sure.example is 192.0.2.1"),
        line(NOW, f"query[A] {'a' * 5000}.example from 192.168.1.5"),
        line(NOW, "query[A] fine.example from 192.168.1.5%br-lan"),
        line(NOW, "reply nobody-asked.example is 192.0.2.9"),
        b"<30>1 - router dnsmasq 1 - - query[A] \xff\xfe.example from 192.168.1.5",
        line(NOW, "query[A] after.example from 192.168.1.5"),
        line(NOW, "cached after.example is 192.0.2.2"),
    ]
    send_tcp(collector.port, lf_framed(*evil))
    wait_for(db, "SELECT COUNT(*) FROM dns_queries", 2)
    rows = fetch(
        db,
        "SELECT d.name, q.outcome FROM dns_queries q JOIN dns_domains d ON d.id = q.domain_id ORDER BY d.name",
    )
    assert rows == [{"name": "100%_sure.example", "outcome": "cached"}, {"name": "after.example", "outcome": "cached"}]
    kept = {row["message"][:29] for row in fetch(db, "SELECT message FROM messages WHERE program = 'dnsmasq'")}
    assert "query[A] x';DROP TABLE dns_qu" in kept, "a line that is no query is kept as a message"
    assert "reply nobody-asked.example is"[:29] in kept, "a reply that joins nothing stays a message"
    assert len(kept) == 5
    assert collector.stop() == 0
    assert '"dns_queries": 2, "dns_unjoined": 1' in collector.output(), "and is counted"


def test_dns_queries_expire_after_30_days_and_each_devices_domain_list_after_a_year(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    collector = start_collector(SIEM_RETENTION_CHECK_SECONDS="0.5")
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=2)
    send_tcp(collector.port, lf_framed(*lookup(old, "192.168.1.50", "old.example"),
                                       *lookup(recent, "192.168.1.50", "recent.example")))  # fmt: skip
    with db.cursor() as cursor:  # a device's domain last asked for 400 days ago, from an earlier year's queries
        cursor.execute("INSERT INTO dns_domains (name) VALUES ('ancient.example')")
        cursor.execute(
            "INSERT INTO dns_device_domains (device, domain_id, first_seen, last_seen, queries, blocked)"
            " SELECT '192.168.1.50', id, %s, %s, 3, 0 FROM dns_domains WHERE name = 'ancient.example'",
            (NOW - timedelta(days=420), NOW - timedelta(days=400)),
        )
    stored = "SELECT COUNT(*) FROM dns_device_domains x JOIN dns_domains d ON d.id = x.domain_id WHERE d.name LIKE 'o%'"
    assert wait_for(db, stored, 1) == 1, "the old query was stored (with its domain list entry, in one transaction)"
    assert wait_for(db, "SELECT COUNT(*) FROM dns_queries WHERE timestamp < UTC_TIMESTAMP() - INTERVAL 30 DAY", 0) == 0
    assert wait_for(db, "SELECT COUNT(*) FROM dns_hourly WHERE timestamp < UTC_TIMESTAMP() - INTERVAL 30 DAY", 0) == 0
    assert wait_for(db, "SELECT COUNT(*) FROM dns_device_domains WHERE queries = 3", 0) == 0, "a year is kept, no more"
    listed = fetch(db, "SELECT d.name FROM dns_device_domains x JOIN dns_domains d ON d.id = x.domain_id ORDER BY 1")
    assert listed == [{"name": "old.example"}, {"name": "recent.example"}], "the domain list outlives the queries"
    assert fetch(db, "SELECT COUNT(*) AS n FROM dns_queries")[0]["n"] == 1
    assert (
        fetch(db, "SELECT COUNT(*) AS n FROM dns_domain_daily WHERE timestamp < UTC_TIMESTAMP() - INTERVAL 31 DAY")[0][
            "n"
        ]
        == 0
    )


def test_on_the_last_kept_day_the_counts_keep_what_the_raw_queries_keep(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    collector = start_collector(SIEM_RETENTION_CHECK_SECONDS="0.5")
    last_day = floor_time(NOW - timedelta(days=30), DAY)
    edge = last_day + (NOW - timedelta(days=30) - last_day) / 2  # kept as a raw row, older than 30 days to the hour
    send_tcp(collector.port, lf_framed(*lookup(edge, "192.168.1.50", "edge.example"),
                                       *lookup(NOW, "192.168.1.50", "today.example")))  # fmt: skip
    wait_for(db, "SELECT COUNT(*) FROM dns_queries", 2)
    time.sleep(2)  # a few retention rounds
    assert fetch(db, "SELECT COUNT(*) AS n FROM dns_queries")[0]["n"] == 2, "its whole day is not past the limit"
    assert raw_hourly(db) == stored_hourly(db)
    for table in ("dns_device_hourly", "dns_device_daily"):
        assert int(fetch(db, f"SELECT SUM(queries) AS n FROM {table}")[0]["n"]) == 2, table


def test_a_new_domain_name_is_remembered_only_once_its_batch_is_stored(db_env: dict[str, str], tmp_path: Path) -> None:
    """A batch that was not stored leaves no remembered name: it comes back as new, with the batch that stores it."""
    connection = collector_db.connect(Settings.from_env(collector_env(db_env, tmp_path)))
    try:
        domains = collector_db.Domains()
        domains.load(connection)
        ids, new = domains.ids(connection, {"lost.example"})
        assert new == [(ids["lost.example"], "lost.example")]
        connection.rollback()  # the batch did not make it
        again, new = domains.ids(connection, {"lost.example"})
        assert [name for _, name in new] == ["lost.example"]
        assert collector_db.store(connection, [(collector_db.DNS_DOMAINS, new)], collector_db.RowIds()) == 0
        domains.stored(new)
        known, new = domains.ids(connection, {"lost.example"})
        assert (known, new) == (again, [])
        fresh = collector_db.Domains()
        fresh.load(connection)
        assert fresh.ids(connection, {"lost.example"}) == (again, [])
    finally:
        collector_db.close_quietly(connection)
