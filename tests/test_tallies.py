"""Hours ranked from the writer's tallies: the same rows as ranking the table, or the table when unsure."""

import os
import signal
from array import array
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pymysql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.rankings import rank_hours
from collector.tallies import FieldTally, collation_key
from common.store import NO_VALUE, RANKED_FIELDS, TOP_PER_BUCKET
from tests.conftest import fetch, wait_for
from tests.servers import CollectorProcess, octet_counted, send_tcp

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
HOUR = NOW.replace(minute=0, second=0) - timedelta(hours=2)  # finished and settled, recent enough to be tallied
TOP = (
    "SELECT field, host, action, chain, value, packets FROM packetfilter_top WHERE timestamp = %s"
    " ORDER BY 1, 2, 3, 4, 5"
)


def packet(moment: datetime, source: str, port: int | None, host: str = "router", interface: str = "eth0") -> bytes:
    """A dropped packet (TCP from `port`, or an ICMP echo without ports), in RFC 5424 so its time has a date."""
    tail = (
        f"LEN=44 TTL=61 ID=1 PROTO=TCP SPT={port} DPT=22 SYN URGP=0"
        if port
        else "LEN=84 TTL=61 PROTO=ICMP TYPE=8 CODE=0"
    )
    return (
        f"<4>1 {moment.isoformat()}Z {host} kernel - - - drop wan in: IN={interface} OUT= "
        f"MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00 SRC={source} DST=198.51.100.23 {tail}"
    ).encode()


def busy_hour() -> list[bytes]:
    """Two routers' hour: 80 sources of one packet and 30 of two (ties across the top 50), IPv6, ICMP, interfaces."""
    lines = []
    for i in range(110):
        source = f"203.0.{i % 7}.{i}" if i % 5 else f"2001:db8::{i:x}"
        for n in range(1 + (i >= 80)):
            moment = HOUR + timedelta(seconds=i * 30 + n)
            lines.append(packet(moment, source, None if i % 9 == 0 else 1024 + i % 60, interface=f"eth{i % 3}"))
            lines.append(packet(moment, f"198.51.{i % 3}.{200 - i}", 40000 + i, host="ap", interface="WAN"))
    return lines


def ranked_by_the_collector(collector: CollectorProcess, db: pymysql.connections.Connection) -> list[dict]:
    """Wake the collector's ranker (SIGUSR1) and return the hour's rows once it has ranked it."""
    assert collector.process is not None
    os.kill(collector.process.pid, signal.SIGUSR1)
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter_pending WHERE kind = 'hour'", 0) == 0
    return fetch(db, TOP, HOUR)


def ranked_from_the_table(db: pymysql.connections.Connection) -> list[dict]:
    """The same hour ranked again from the table, as without tallies."""
    with db.cursor() as cursor:
        cursor.execute("DELETE FROM packetfilter_top WHERE timestamp = %s", (HOUR,))
        cursor.execute("INSERT INTO packetfilter_pending (kind, timestamp) VALUES ('hour', %s)", (HOUR,))
    assert rank_hours(db, NOW) == 1
    return fetch(db, TOP, HOUR)


def test_an_hour_ranked_from_the_writers_tallies_equals_ranking_the_table(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """Every field, router, tie and missing port: the tallies give the rows a scan of the table gives."""
    lines = busy_hour()
    collector = start_collector(SIEM_LOG_LEVEL="DEBUG")
    send_tcp(collector.port, octet_counted(*lines))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", len(lines)) == len(lines)
    tallied = ranked_by_the_collector(collector, db)
    collector.wait_for_log(f"ranked {HOUR} from the writer's tallies")
    assert {row["field"] for row in tallied} == set(RANKED_FIELDS)
    assert tallied == ranked_from_the_table(db)


def test_an_hour_stored_partly_before_a_restart_is_ranked_from_the_table(
    start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """The tallies of a new process lack the hour's first rows: the hour is ranked from the table, exactly."""
    lines = busy_hour()
    first = start_collector()
    send_tcp(first.port, octet_counted(*lines[:100]))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", 100) == 100
    first.stop()
    second = start_collector(SIEM_LOG_LEVEL="DEBUG")
    send_tcp(second.port, octet_counted(*lines[100:]))
    assert wait_for(db, "SELECT COUNT(*) FROM packetfilter", len(lines)) == len(lines)
    ranked = ranked_by_the_collector(second, db)
    second.wait_for_log(f"ranked {HOUR} from the table")
    assert sum(row["packets"] for row in ranked if row["field"] == "src_ip") == len(lines)
    assert ranked == ranked_from_the_table(db)


printable = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(printable, min_size=2, max_size=30))
def test_the_collation_key_sorts_and_equates_text_as_the_columns_do(
    db: pymysql.connections.Connection, texts: list[str]
) -> None:
    """Printable ASCII in MariaDB's order for the log columns (upper and lower case equal) is the key's order."""
    with db.cursor() as cursor:
        cursor.execute("CREATE OR REPLACE TEMPORARY TABLE t (v VARCHAR(45)) CHARSET utf8mb4 COLLATE utf8mb4_unicode_ci")
        cursor.executemany("INSERT INTO t VALUES (%s)", [(text,) for text in texts])
        cursor.execute("SELECT v FROM t ORDER BY v")
        ordered = [collation_key(v) for (v,) in cursor.fetchall()]
        cursor.execute("SELECT COUNT(DISTINCT v) FROM t")
        (distinct,) = cursor.fetchone()
        cursor.execute("DROP TEMPORARY TABLE t")
    assert ordered == sorted(ordered)
    assert len(set(ordered)) == distinct


RANK_TABLE = f"""
SELECT CASE WHEN value IS NULL THEN '{NO_VALUE}' WHEN position <= {TOP_PER_BUCKET} THEN value ELSE '' END AS label,
       SUM(n) AS packets
FROM (SELECT value, COUNT(*) AS n, ROW_NUMBER() OVER (ORDER BY value IS NULL, COUNT(*) DESC, value) AS position
      FROM t GROUP BY value) AS ranked
GROUP BY label
"""
octet = st.integers(0, 255)
ipv4 = st.tuples(octet, octet, octet, octet).map(lambda parts: ".".join(map(str, parts)))
small = st.integers(0, 0x20)  # short groups: `10::1` and `10.0.0.1` meet where ':' and '.' are compared
ipv6 = st.tuples(small, small, st.integers(0, 0xFFFF)).map(lambda parts: "{:x}:{:x}::{:x}".format(*parts))
ipv4 = st.tuples(small, octet, octet, octet).map(lambda parts: ".".join(map(str, parts))) | ipv4
KINDS = {
    "address": ("VARCHAR(45)", "I", st.none() | st.sampled_from(["10.0.0.1", "10.0.0.10", "9.0.0.1"]) | ipv4 | ipv6),
    "port": ("SMALLINT UNSIGNED", "H", st.none() | st.integers(0, 65535) | st.sampled_from([22, 80, 443])),
    "interface": ("VARCHAR(16)", None, st.none() | st.sampled_from(["eth0", "ETH0", "br-lan", "wan", "wlan0", "lo"])),
}


def assert_ranked_as_mariadb_ranks(db: pymysql.connections.Connection, kind: str, batches: list[list]) -> None:
    """A tally of these batches ranks as MariaDB ranks the same values, or says it cannot tell."""
    column, packing, _ = KINDS[kind]
    tally = FieldTally(None if packing is None else array(packing))
    for batch in batches:
        tally.extend(batch)
    everything = [value for batch in batches for value in batch]
    with db.cursor() as cursor:
        cursor.execute(f"CREATE OR REPLACE TEMPORARY TABLE t (value {column}) COLLATE utf8mb4_unicode_ci")
        cursor.executemany("INSERT INTO t VALUES (%s)", [(value,) for value in everything])
        cursor.execute(RANK_TABLE)
        expected = sorted((label, int(packets)) for label, packets in cursor.fetchall())
        cursor.execute("DROP TEMPORARY TABLE t")
    top = tally.top()
    texts = {value for value in everything if isinstance(value, str)}
    if top is None:
        assert len({value.lower() for value in texts}) < len(texts), "only values the collation makes one are left"
    else:
        assert sorted(top) == expected


@pytest.mark.parametrize("kind", list(KINDS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_fields_tally_ranks_as_the_table_does(
    db: pymysql.connections.Connection, kind: str, data: st.DataObject
) -> None:
    """Top 50 by count, ties by the column's order, the rest and the packets without a value: as MariaDB ranks them.

    A tally that cannot tell (two values equal to the collation) says so, and the table ranks.
    """
    batches = data.draw(st.lists(st.lists(KINDS[kind][2], max_size=60), min_size=1, max_size=4))
    assert_ranked_as_mariadb_ranks(db, kind, batches)


def test_an_ipv6_source_tied_with_a_dotted_quad_is_named_in_the_columns_order(
    db: pymysql.connections.Connection,
) -> None:
    """The 50th place goes to `1:2::3` before `1.2.3.4`: MariaDB sorts ':' before '.', as text does not."""
    twice = [f"10.0.0.{i}" for i in range(TOP_PER_BUCKET - 1)] * 2
    assert_ranked_as_mariadb_ranks(db, "address", [twice, ["1.2.3.4", "1:2::3", None]])
