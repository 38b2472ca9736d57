"""Batches reach MariaDB as LOAD DATA: every value arrives unchanged, and a bad one costs only its own row."""

import contextlib
import logging
import os
import resource
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pymysql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector import db as collector_db
from collector import writer as collector_writer
from collector.buffer import Received
from collector.bulk import LOAD_PACKET_BYTES, encode_pieces, field
from collector.settings import Settings
from tests.conftest import fetch, wait_for
from tests.servers import CollectorProcess, MariaDBServer, collector_env, lf_framed, send_tcp

STAMP = datetime(2026, 11, 27, 8, 0, 0, 125000)


def encode(rows: list[tuple]) -> bytes:
    """The rows' LOAD DATA text, its pieces joined as the in-memory file holds them."""
    return b"".join(encode_pieces(rows))


@pytest.fixture
def writer(db_env: dict[str, str], tmp_path: Path) -> Iterator[pymysql.connections.Connection]:
    """A connection as the collector's account, made the way the collector makes it."""
    connection = collector_db.connect(Settings.from_env(collector_env(db_env, tmp_path)))
    yield connection
    collector_db.close_quietly(connection)


def message(text: str, host: str = "router", program: str | None = "kernel") -> tuple:
    """A `messages` row in MESSAGE_COLUMNS order."""
    return (STAMP, STAMP, host, "192.0.2.1", 0, 4, program, None, None, None, text, False)


def packet(src_port: int) -> tuple:
    """A `packetfilter` row in PACKETFILTER_COLUMNS order."""
    return (STAMP, STAMP, "router", "drop wan in: ", "DROP", "wan", "in", "eth0", None, None,
            "203.0.113.9", src_port, "198.51.100.23", 22, "TCP", None, None, 44, 51, "SYN")  # fmt: skip


class TestEncoding:
    """The text form LOAD DATA reads: one line per row, tabs between fields."""

    def test_separators_inside_values_are_escaped(self) -> None:
        """A tab, newline or backslash in a value cannot split or shift a row."""
        assert encode([("a\tb", "c\nd", "e\\f", None, True, 7)]) == b"a\\tb\tc\\nd\te\\\\f\t\\N\t1\t7\n"


values = st.none() | st.booleans() | st.integers() | st.text(st.sampled_from("ab\t\n\\\0N"), max_size=6)


@given(rows=st.lists(st.tuples(values, values, values), max_size=8))
def test_a_batch_is_escaped_as_escaping_every_field_would(rows: list[tuple]) -> None:
    """The fast path, checked once for the whole batch, gives what escaping every field of every row gives."""
    assert encode(rows) == "".join("\t".join(map(field, row)) + "\n" for row in rows).encode()


def store(connection: pymysql.connections.Connection, statements: collector_db.Statements) -> int:
    """Store as the writer does, numbering rows on from the highest id stored."""
    ids = collector_db.RowIds()
    ids.load(connection)
    return collector_db.store(connection, statements, ids)


text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(text, min_size=1, max_size=5), program=st.none() | text.map(lambda value: value[:64]))
def test_any_text_is_stored_exactly(
    writer: pymysql.connections.Connection, db: pymysql.connections.Connection, texts: list[str], program: str | None
) -> None:
    """Whatever the characters (tabs, newlines, backslashes, NUL, emoji), the row read back is the row sent."""
    with db.cursor() as cursor:
        cursor.execute("DELETE FROM messages")
    assert store(writer, [(collector_db.MESSAGES, [message(value, program=program) for value in texts])]) == 0
    stored = fetch(db, "SELECT message, program, timestamp, truncated FROM messages ORDER BY id")
    assert [row["message"] for row in stored] == texts
    assert {(row["program"], row["timestamp"], row["truncated"]) for row in stored} == {(program, STAMP, 0)}


def test_a_batch_of_several_load_packets_arrives_whole_and_in_order(
    writer: pymysql.connections.Connection, db: pymysql.connections.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch's file goes in 1 MiB packets: rows cut by a packet's end and the last short packet all load at once."""
    texts = [f"{i:05d} " + "é" * (700 + i % 97) for i in range(3000)]  # about 4.3 MB of text, 5 packets
    assert sum(map(len, encode_pieces([message(text) for text in texts]))) > 4 * LOAD_PACKET_BYTES
    with db.cursor() as cursor:
        cursor.execute("DELETE FROM messages")
    assert store(writer, [(collector_db.MESSAGES, [message(text) for text in texts])]) == 0
    assert [row["message"] for row in fetch(db, "SELECT message FROM messages ORDER BY id")] == texts
    assert not [record.message for record in caplog.records if record.levelno >= logging.WARNING], "no INSERT fallback"


def test_a_value_mariadb_refuses_costs_only_its_row(
    writer: pymysql.connections.Connection, db: pymysql.connections.Connection
) -> None:
    """A port out of its column's range is rejected alone; LOAD DATA would have stored it mangled."""
    rows = [packet(40000), packet(70000), packet(40001)]
    assert store(writer, [(collector_db.PACKETFILTER, rows), (collector_db.MESSAGES, [message("beside it")])]) == 1
    assert [row["src_port"] for row in fetch(db, "SELECT src_port FROM packetfilter ORDER BY id")] == [40000, 40001]
    assert fetch(db, "SELECT message FROM messages") == [{"message": "beside it"}]


def test_without_load_data_on_the_server_batches_still_arrive(
    mariadb: MariaDBServer,
    writer: pymysql.connections.Connection,
    db: pymysql.connections.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A MariaDB with local_infile=OFF gets the same rows as multi-row INSERTs."""
    monkeypatch.setattr(collector_db, "_bulk_refused", False)
    root = mariadb.connect()
    with root.cursor() as cursor:
        cursor.execute("SET GLOBAL local_infile = OFF")
    try:
        assert store(writer, [(collector_db.MESSAGES, [message("one"), message("two")])]) == 0
        assert store(writer, [(collector_db.MESSAGES, [message("three")])]) == 0
    finally:
        with root.cursor() as cursor:
            cursor.execute("SET GLOBAL local_infile = ON")
        root.close()
    assert [row["message"] for row in fetch(db, "SELECT message FROM messages ORDER BY id")] == ["one", "two", "three"]
    assert collector_db.bulk_available() is False  # switched to INSERTs once, not per batch


def test_out_of_file_descriptors_falls_back_for_a_while_then_loads_again(
    writer: pymysql.connections.Connection, db: pymysql.connections.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real EMFILE when making the in-memory file costs one batch its LOAD DATA, not the process's for good."""
    monkeypatch.setattr(collector_db, "BULK_RETRY_SECONDS", 0.2)
    monkeypatch.setattr(collector_db, "_bulk_paused_until", 0.0)
    monkeypatch.setattr(collector_db, "_bulk_failing", False)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held: list[int] = []
    highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 16, hard))
    try:
        with contextlib.suppress(OSError):
            while True:
                held.append(os.open("/dev/null", os.O_RDONLY))
        assert store(writer, [(collector_db.MESSAGES, [message("while out of descriptors")])]) == 0
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert collector_db.bulk_available() is False  # paused, not switched off
    time.sleep(0.25)
    assert collector_db.bulk_available() is True
    with writer.cursor() as cursor:  # LOAD DATA reports its row count in the session's info
        store(writer, [(collector_db.MESSAGES, [message("after")])])
        cursor.execute("SHOW SESSION STATUS LIKE 'Com_load'")
        loads = int(cursor.fetchone()[1])
    assert loads >= 1
    assert collector_db._bulk_failing is False
    assert [row["message"] for row in fetch(db, "SELECT message FROM messages ORDER BY id")] == [
        "while out of descriptors",
        "after",
    ]


def test_counts_larger_than_one_statement_all_add_up(
    writer: pymysql.connections.Connection, db: pymysql.connections.Connection
) -> None:
    """Count rows past one statement's size go in several, each host written exactly, quotes and all."""
    hosts = [f"h{i}'; DROP TABLE messages; -- {'x' * 200}" for i in range(6000)]  # about 1.4 MB of VALUES
    counts = [(STAMP.replace(microsecond=0), host, 4, "" if i % 2 else "kernel", 1) for i, host in enumerate(hosts)]
    counts[0] = (counts[0][0], hosts[0], 4, "it's", 1)
    assert store(writer, [(collector_db.MESSAGES_COUNTS, counts)]) == 0
    assert store(writer, [(collector_db.MESSAGES_COUNTS, counts[:10])]) == 0  # the same keys again: added
    stored = fetch(db, "SELECT host, program, messages FROM messages_counts")
    assert len(stored) == len(hosts)
    assert {row["host"] for row in stored} == set(hosts)
    assert sum(row["messages"] for row in stored) == len(hosts) + 10
    assert {row["program"] for row in stored} == {"", "kernel", "it's"}


count_values = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64)
    | st.datetimes()
    | st.datetimes(timezones=st.just(UTC))
    | st.text(max_size=20)
    | st.binary(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False)
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=count_values)
def test_count_values_are_written_as_pymysql_writes_them(writer: pymysql.connections.Connection, value: object) -> None:
    """Counts and times take a short way into the SQL of count rows; the text is pymysql's to the letter."""
    with writer.cursor() as cursor:
        assert collector_db.sql_literal(cursor, value) == cursor.mogrify("%s", (value,))


MIXED = [
    b"<4>Nov 17 08:00:00 router kernel: drop wan in: IN=eth0 OUT= MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00"
    b" SRC=203.0.113.9 DST=198.51.100.23 LEN=44 TTL=61 ID=1 PROTO=TCP SPT=40000 DPT=22 WINDOW=1024 SYN URGP=0",
    b"<30>Nov 17 08:00:01 router addrwatch: 1763366401 br-lan 0 3c:a6:2f:11:22:33 192.168.1.23 ARP_REP",
    b"<30>Nov 17 08:00:02 router dnsmasq[1]: query[A] tv.example from 192.168.1.23",
    b"<30>Nov 17 08:00:02 router dnsmasq[1]: reply tv.example is 192.0.2.7",
    b"<14>Nov 17 08:00:03 nas app: a tab\there and a backslash \\ there",
    b"<30>Nov 17 08:00:04 router dnsmasq[1]: query[AAAA] late.example from 192.168.1.23",
]


def test_a_prepared_batch_parsed_again_gives_the_rows_it_loaded() -> None:
    """A batch in hand keeps its log rows only as LOAD DATA text; parsing it again for INSERTs gives the same rows."""
    settings = Settings(db_password="a-real-password-1")
    now = time.time()
    batch = [Received(now - 10 if i < 5 else now, "192.0.2.1", line, False) for i, line in enumerate(MIXED)]
    prepared = collector_writer.prepare(batch, settings, hold_after=now - 2)
    assert [item.data for item in prepared.held] == [MIXED[5]], "the query without its reply yet waits"
    again = prepared.rows_again()
    assert {sql: len(rows) for sql, rows in again.items()} == {
        collector_db.MESSAGES: 3,
        collector_db.PACKETFILTER: 1,
        collector_db.ADDRWATCH: 1,
    }, "the DNS lines are stored as their query, not as messages"
    for sql, rows in again.items():
        assert encode(rows) == b"".join(prepared.encoded[sql])
        assert len(dict(prepared.statements)[sql]) == len(rows)


def test_a_collector_on_a_server_without_load_data_stores_every_row(
    mariadb: MariaDBServer, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
) -> None:
    """With local_infile=OFF the collector parses each batch again and writes it as INSERTs: nothing missing."""
    root = mariadb.connect()
    with root.cursor() as cursor:
        cursor.execute("SET GLOBAL local_infile = OFF")
    try:
        collector = start_collector()
        send_tcp(collector.port, lf_framed(*MIXED))
        assert wait_for(db, "SELECT COUNT(*) FROM dns_queries", 2) == 2
        assert wait_for(db, "SELECT COUNT(*) FROM messages WHERE host IN ('router', 'nas')", 3) == 3
    finally:
        with root.cursor() as cursor:
            cursor.execute("SET GLOBAL local_infile = ON")
        root.close()
    assert fetch(db, "SELECT src_port, mac FROM packetfilter") == [{"src_port": 40000, "mac": "3c:a6:2f:11:22:33"}]
    assert fetch(db, "SELECT ip FROM addrwatch") == [{"ip": "192.168.1.23"}]
    assert fetch(db, "SELECT message FROM messages WHERE host = 'nas'") == [
        {"message": "a tab\there and a backslash \\ there"}
    ]
    assert "inserting with multi-row INSERTs instead" in collector.output()
