"""Retention: rows older than each table's limit disappear in chunks; recent rows and the inventory stay."""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pymysql

from collector.retention import RAW_TABLES, estimate_sizes
from tests.conftest import fetch, wait_for
from tests.servers import CollectorProcess, octet_counted, send_tcp

NOW = datetime.now(UTC).replace(microsecond=0)
PACKET = (
    "drop wan in: IN=eth0 OUT= MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00 SRC=141.230.240.75 "
    "DST=198.51.100.23 LEN=44 TOS=0x00 PREC=0x00 TTL=61 ID=1 DF PROTO=TCP SPT=5 DPT=23 WINDOW=1 RES=0x00 SYN URGP=0"
)


def lines_at(days_ago: int, count: int) -> list[bytes]:
    """A message, a firewall line and a discovery, `days_ago` days old, repeated."""
    moment = NOW - timedelta(days=days_ago)
    iso, unix = moment.isoformat().replace("+00:00", "Z"), int(moment.timestamp())
    mac = f"00:11:22:33:44:{days_ago:02x}"
    return [
        *[f"<14>1 {iso} nas app - - - day-{days_ago} {i}".encode() for i in range(count)],
        f"<4>1 {iso} router kernel - - - {PACKET}".encode(),
        f"<30>1 {iso} router addrwatch - - - {unix} br-lan 0 {mac} 192.168.1.{days_ago} ARP_REQ".encode(),
    ]


def test_old_rows_expire_recent_rows_and_devices_stay(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """With 30-day limits, 100-day-old rows go (12,002 messages, in chunks); newer rows and the devices stay."""
    collector = start_collector(
        SIEM_RETENTION_MESSAGES_DAYS="30", SIEM_RETENTION_ADDRWATCH_DAYS="30", SIEM_RETENTION_DEVICE_EVENTS_DAYS="30",
        SIEM_RETENTION_PACKETFILTER_DAYS="0", SIEM_RETENTION_CHECK_SECONDS="0.5",
    )  # fmt: skip
    send_tcp(collector.port, octet_counted(*lines_at(100, 12000), *lines_at(10, 5), *lines_at(0, 5)))
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


def test_size_cap_trims_the_oldest_rows_first(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """Over SIEM_MAX_DATABASE_MB the oldest days of logs go, across tables, until it fits; the newest days stay."""
    days = range(20, 0, -1)
    collector = start_collector()
    send_tcp(collector.port, octet_counted(*[line for day in days for line in lines_at(day, 500)]))
    assert wait_for(db, "SELECT COUNT(*) FROM messages WHERE program = 'app'", 500 * len(days), timeout=60) == 10000
    collector.stop()
    with db.cursor() as cursor:
        for table in RAW_TABLES:
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()
    full = sum(estimate_sizes(db)[0].values())
    cap_mb = full * 0.7 / 2**20

    collector = start_collector(SIEM_MAX_DATABASE_MB=f"{cap_mb:.3f}", SIEM_RETENTION_CHECK_SECONDS="0.5")
    assert wait_for(db, "SELECT COUNT(*) FROM messages WHERE message LIKE 'day-20 %'", 0, timeout=60) == 0
    assert wait_for(db, "SELECT COUNT(*) FROM addrwatch WHERE timestamp < UTC_TIMESTAMP() - INTERVAL 19 DAY", 0) == 0
    kept = {row["message"].split()[0] for row in fetch(db, "SELECT message FROM messages WHERE program = 'app'")}
    assert {"day-1", "day-2", "day-3"} <= kept, "the newest days stay"
    assert len(kept) < len(days)
    reported = "SELECT COUNT(*) > 0 FROM messages WHERE program = 'siem-collector' AND message LIKE 'size cap:%'"
    assert wait_for(db, reported, 1, timeout=10) == 1, "the trim is reported (the notice follows the deletes)"
    notice = fetch(db, "SELECT message FROM messages WHERE program = 'siem-collector' AND message LIKE 'size cap:%'")
    assert "MB allowed; deleted" in notice[0]["message"]
