"""Retention: rows older than each table's limit disappear in chunks; recent rows and the inventory stay."""

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pymysql

from collector.retention import RAW_TABLES, storage_sizes
from tests.conftest import fetch, wait_for
from tests.servers import CollectorProcess, octet_counted, send_tcp

PACKET = (
    "drop wan in: IN=eth0 OUT= MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00 SRC=141.230.240.75 "
    "DST=198.51.100.23 LEN=44 TOS=0x00 PREC=0x00 TTL=61 ID=1 DF PROTO=TCP SPT=5 DPT=23 WINDOW=1 RES=0x00 SYN URGP=0"
)


def lines_at(now: datetime, days_ago: int, count: int) -> list[bytes]:
    """A message, a firewall line and a discovery, `days_ago` days old, repeated."""
    moment = now - timedelta(days=days_ago)
    iso, unix = moment.isoformat().replace("+00:00", "Z"), int(moment.timestamp())
    mac = f"00:11:22:33:44:{days_ago:02x}"
    return [
        *[f"<14>1 {iso} nas app - - - day-{days_ago} {i}".encode() for i in range(count)],
        f"<4>1 {iso} router kernel - - - {PACKET}".encode(),
        f"<30>1 {iso} router addrwatch - - - {unix} br-lan 0 {mac} 192.168.1.{days_ago} ARP_REQ".encode(),
    ]


def test_old_rows_expire_recent_rows_and_devices_stay(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, now: datetime
) -> None:
    """With 30-day limits, 100-day-old rows go (12,002 messages, one partition dropped); newer rows and devices stay."""
    collector = start_collector(
        SIEM_RETENTION_MESSAGES_DAYS="30", SIEM_RETENTION_ADDRWATCH_DAYS="30", SIEM_RETENTION_DEVICE_EVENTS_DAYS="30",
        SIEM_RETENTION_PACKETFILTER_DAYS="0", SIEM_RETENTION_CHECK_SECONDS="0.5",
    )  # fmt: skip
    send_tcp(collector.port, octet_counted(*lines_at(now, 100, 12000), *lines_at(now, 10, 5), *lines_at(now, 0, 5)))
    assert wait_for(db, "SELECT COUNT(*) FROM messages WHERE message LIKE 'day-100 %'", 0, timeout=60) == 0
    assert wait_for(db, "SELECT COUNT(*) FROM addrwatch WHERE timestamp < UTC_TIMESTAMP() - INTERVAL 30 DAY", 0) == 0
    assert wait_for(db, "SELECT COUNT(*) FROM device_events", 2) == 2, "events of the expired day go"
    kept = {row["message"].split()[0] for row in fetch(db, "SELECT message FROM messages WHERE program = 'app'")}
    assert kept == {"day-10", "day-0"}
    assert fetch(db, "SELECT COUNT(*) AS n FROM packetfilter")[0]["n"] == 3, "0 days keeps the firewall log forever"
    assert fetch(db, "SELECT COUNT(*) AS n FROM devices")[0]["n"] == 3, "the inventory is never trimmed"
    notices = "SELECT message FROM messages WHERE program = 'siem-collector' AND message LIKE 'retention: deleted %'"
    deadline, reported = time.monotonic() + 20, 0
    while reported < 12002 and time.monotonic() < deadline:
        reported = sum(
            int(row["message"].split()[2]) for row in fetch(db, notices) if " messages rows " in row["message"]
        )
        time.sleep(0.2)
    assert reported == 12002, "each round says what it deleted"
    expired = [name for name in partitions_of(db, "messages") if name < day_name(now, 30)]
    assert expired == [], "no partition of expired days is left"
    assert day_name(now, 100) in partitions_of(db, "packetfilter"), "kept forever, in its own day"
    collector.stop()
    assert totals_match_rows(db), "the expired days' totals go with their rows"


def totals_match_rows(db: pymysql.connections.Connection) -> bool:
    """Whether daily_totals holds each day's rows of the partitioned log tables, and no day whose rows are gone."""
    raw = {
        (table, f"{row['d']:%Y-%m-%d}", row["n"])
        for table in RAW_TABLES
        for row in fetch(db, f"SELECT DATE(timestamp) AS d, COUNT(*) AS n FROM {table} GROUP BY 1")
    }
    stored = fetch(db, "SELECT log_table, DATE(timestamp) AS d, total AS n FROM daily_totals WHERE total > 0")
    return raw == {(row["log_table"], f"{row['d']:%Y-%m-%d}", row["n"]) for row in stored}


def test_a_log_kept_forever_keeps_its_daily_totals_past_the_counts_retention(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, now: datetime
) -> None:
    """Firewall rows kept forever (0 days): their 450-day-old day keeps its total, which /stats adds up."""
    collector = start_collector(SIEM_RETENTION_PACKETFILTER_DAYS="0", SIEM_RETENTION_CHECK_SECONDS="0.5")
    send_tcp(collector.port, octet_counted(*lines_at(now, 450, 3), *lines_at(now, 0, 3)))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", 2) == 2
    assert wait_for(db, "SELECT COUNT(*) FROM messages WHERE message LIKE 'day-450 %'", 0) == 0, "messages expire"
    time.sleep(2)  # a few retention rounds
    collector.stop()
    assert totals_match_rows(db)


def partitions_of(db: pymysql.connections.Connection, table: str) -> list[str]:
    """The table's partition names, in order."""
    rows = fetch(
        db,
        "SELECT partition_name AS name FROM information_schema.partitions WHERE table_schema = 'siem'"
        f" AND table_name = '{table}' ORDER BY partition_ordinal_position",
    )
    return [row["name"] for row in rows]


def day_name(now: datetime, days_ago: int) -> str:
    """The partition holding the UTC day `days_ago` days back."""
    return f"p{now - timedelta(days=days_ago):%Y%m%d}"


def wait_for_partitions(db: pymysql.connections.Connection, names: list[str], timeout: float = 30) -> None:
    """Wait until every log table has exactly these partitions (the collector maintains them every round)."""
    deadline = time.monotonic() + timeout
    while any(partitions_of(db, table) != names for table in RAW_TABLES) and time.monotonic() < deadline:
        time.sleep(0.1)


def disk_bytes(db: pymysql.connections.Connection) -> int:
    """What the database's files take on disk once every change is written out (compressed pages are smaller)."""
    with db.cursor() as cursor:
        cursor.execute(f"FLUSH TABLES {', '.join(RAW_TABLES)} FOR EXPORT")
        cursor.execute("UNLOCK TABLES")
    return sum(size.allocated for size in storage_sizes(db))


def test_partitions_exist_a_week_ahead_and_old_or_future_dated_rows_are_kept_in_days_of_their_own(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, now: datetime
) -> None:
    """Today and 7 days ahead get a partition at start; rows from 3 days ago and from 2038 are stored, never refused."""
    collector = start_collector(SIEM_RETENTION_CHECK_SECONDS="0.5")
    ahead = [day_name(now, -days) for days in range(8)]
    wait_for_partitions(db, [*ahead, "p_future"])
    for table in RAW_TABLES:
        assert partitions_of(db, table) == [*ahead, "p_future"]
    future = "<4>1 2038-01-19T03:14:07Z router kernel - - - " + PACKET
    send_tcp(collector.port, octet_counted(*lines_at(now, 3, 10), future.encode()))
    assert wait_for(db, "SELECT COUNT(*) FROM messages", 13) == 13
    wait_for_partitions(db, [day_name(now, 3), *ahead, "p_future"])
    assert partitions_of(db, "messages") == [day_name(now, 3), *ahead, "p_future"]
    in_day = f"SELECT COUNT(*) AS n FROM messages PARTITION ({day_name(now, 3)})"
    assert fetch(db, in_day)[0]["n"] == 12, "the old day's rows moved into its partition"
    assert fetch(db, "SELECT COUNT(*) AS n FROM packetfilter PARTITION (p_future)")[0]["n"] == 1
    assert fetch(db, "SELECT COUNT(*) AS n FROM packetfilter")[0]["n"] == 2
    assert "retention skipped" not in collector.output()


def test_size_cap_drops_the_oldest_days_first_and_holds(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, now: datetime
) -> None:
    """Over SIEM_MAX_DATABASE_MB whole days go, oldest first, across tables, until the files fit; the newest stay."""
    days = range(20, 0, -1)
    collector = start_collector(SIEM_RETENTION_CHECK_SECONDS="0.5")
    send_tcp(collector.port, octet_counted(*[line for day in days for line in lines_at(now, day, 500)]))
    assert wait_for(db, "SELECT COUNT(*) FROM messages WHERE program = 'app'", 500 * len(days), timeout=60) == 10000
    every_day = [*(day_name(now, day) for day in days), *(day_name(now, -day) for day in range(8)), "p_future"]
    wait_for_partitions(db, every_day)
    collector.stop()
    assert partitions_of(db, "messages") == every_day, "each day has its partition"
    cap = disk_bytes(db) * 0.7

    collector = start_collector(SIEM_MAX_DATABASE_MB=f"{cap / 2**20:.3f}", SIEM_RETENTION_CHECK_SECONDS="0.5")
    assert wait_for(db, "SELECT COUNT(*) FROM messages WHERE message LIKE 'day-20 %'", 0, timeout=60) == 0
    reported = "SELECT COUNT(*) > 0 FROM messages WHERE program = 'siem-collector' AND message LIKE 'size cap:%'"
    assert wait_for(db, reported, 1, timeout=10) == 1, "the trim is reported (the notice follows the drops)"
    collector.stop()
    assert disk_bytes(db) <= cap, "the files on disk fit under the cap"
    assert totals_match_rows(db), "the dropped days' totals go with their rows"
    kept = {row["message"].split()[0] for row in fetch(db, "SELECT message FROM messages WHERE program = 'app'")}
    assert {"day-1", "day-2", "day-3"} <= kept, "the newest days stay"
    oldest_kept = max(int(day.split("-")[1]) for day in kept)
    assert kept == {f"day-{day}" for day in range(1, oldest_kept + 1)}, "the oldest days went first"
    older = "SELECT COUNT(*) AS n FROM addrwatch WHERE timestamp < UTC_TIMESTAMP() - INTERVAL %s DAY"
    assert fetch(db, older, oldest_kept + 1)[0]["n"] == 0, "the same days go from every log table"
    notice = fetch(db, "SELECT message FROM messages WHERE program = 'siem-collector' AND message LIKE 'size cap:%'")
    assert "MB allowed; deleted" in notice[0]["message"]
    assert f"from before {now - timedelta(days=oldest_kept):%Y-%m-%d}" in notice[0]["message"]


def test_a_devices_domains_expire_by_when_it_last_asked(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection, now: datetime
) -> None:
    """The per-device domain list keeps a year by last asked: a pair last asked 400 days ago goes, 100 days stays."""
    collector = start_collector(SIEM_RETENTION_CHECK_SECONDS="0.5")

    def lookup(days_ago: int, domain: str) -> list[bytes]:
        iso = (now - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")
        return [
            f"<30>1 {iso} router dnsmasq 1 - - query[A] {domain} from 192.168.1.5".encode(),
            f"<30>1 {iso} router dnsmasq 1 - - cached {domain} is 192.0.2.1".encode(),
        ]

    send_tcp(
        collector.port,
        octet_counted(*lookup(400, "gone.example"), *lookup(400, "back.example"), *lookup(100, "kept.example"),
                      *lookup(2, "back.example")),
    )  # fmt: skip
    domains = (
        "SELECT d.name, x.first_seen FROM dns_device_domains AS x JOIN dns_domains AS d ON d.id = x.domain_id"
        " ORDER BY d.name"
    )
    assert wait_for(db, "SELECT COUNT(*) FROM dns_device_domains", 2, timeout=60) == 2
    kept = {row["name"]: row["first_seen"] for row in fetch(db, domains)}
    assert set(kept) == {"back.example", "kept.example"}
    assert kept["back.example"] < (now - timedelta(days=399)).replace(tzinfo=None), "asked again: its first time stays"
