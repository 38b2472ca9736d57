"""Hostile and broken input: stored as faithfully as the columns allow, never a crash, never a lost neighbour."""

import random
import socket
from collections.abc import Callable

import pymysql
import pytest

from tests.conftest import TABLES, fetch, wait_for
from tests.servers import CollectorProcess, lf_framed, send_tcp, send_udp

MAX = 8192
MARKER = b"<13>Nov 17 08:00:00 router app: neighbour survived"


@pytest.fixture
def collector(start_collector: Callable[..., CollectorProcess]) -> CollectorProcess:
    """A collector that cuts messages at 8 KiB."""
    return start_collector(SIEM_MAX_MESSAGE_BYTES=str(MAX))


def messages(db: pymysql.connections.Connection) -> list[dict]:
    """All stored messages, oldest first."""
    return fetch(db, "SELECT message, truncated, host, program FROM messages ORDER BY id")


class TestBadInput:
    """The collector keeps running and keeps the message after the bad one."""

    def test_binary_junk_over_udp_and_tcp(
        self, collector: CollectorProcess, db: pymysql.connections.Connection
    ) -> None:
        """Random bytes, NULs and invalid UTF-8 are stored escaped; the next message is intact."""
        junk = [random.Random(seed).randbytes(300) for seed in range(20)]
        send_udp(collector.port, *junk, MARKER)
        send_tcp(collector.port, b"".join(j.replace(b"\n", b" ") + b"\n" for j in junk) + MARKER + b"\n")
        wait_for(db, "SELECT COUNT(*) FROM messages WHERE message = 'neighbour survived'", 2)
        stored = messages(db)
        assert sum(row["message"] == "neighbour survived" for row in stored) == 2
        assert len(stored) >= 2 * len(junk)
        assert all("\x00" not in row["message"] for row in stored)

    def test_invalid_utf8_and_nul_are_visible(
        self, collector: CollectorProcess, db: pymysql.connections.Connection
    ) -> None:
        r"""Undecodable bytes are kept as \xNN escapes, so nothing silently changes meaning."""
        send_udp(collector.port, b"<13>Nov 17 08:00:00 router app: caf\xe9 a\x00b \xf0\x28\x8c\x28")
        wait_for(db, "SELECT COUNT(*) FROM messages", 1)
        assert messages(db)[0]["message"] == "caf\\xe9 a\\x00b \\xf0(\\x8c("

    def test_one_megabyte_line_is_cut_and_marked(
        self, collector: CollectorProcess, db: pymysql.connections.Connection
    ) -> None:
        """A 1 MB line is stored up to SIEM_MAX_MESSAGE_BYTES and flagged; the next line is whole."""
        huge = b"<13>Nov 17 08:00:00 router app: " + b"A" * 1_000_000
        send_tcp(collector.port, huge + b"\n" + MARKER + b"\n")
        send_udp(collector.port, huge[:60000])
        wait_for(db, "SELECT COUNT(*) FROM messages", 3)
        rows = messages(db)
        cut = [row for row in rows if row["truncated"]]
        assert len(cut) == 2
        assert all(row["message"].startswith("AAAA") and len(row["message"]) < MAX for row in cut)
        assert any(row["message"] == "neighbour survived" and not row["truncated"] for row in rows)

    @pytest.mark.parametrize(
        "stream",
        [
            b"99999999999 garbage length\n",
            b"7 <13>ab\n",
            b"12345678901234567890\n",
            b"0 \n",
            b"\n\n\r\n   \n",
        ],
    )
    def test_garbage_octet_counts(
        self, stream: bytes, collector: CollectorProcess, db: pymysql.connections.Connection
    ) -> None:
        """Absurd, zero or misleading lengths never swallow the message that follows."""
        send_tcp(collector.port, stream + MARKER + b"\n")
        assert wait_for(db, "SELECT COUNT(*) FROM messages WHERE message = 'neighbour survived'", 1) == 1

    def test_half_frame_on_closed_connection(
        self, collector: CollectorProcess, db: pymysql.connections.Connection
    ) -> None:
        """A sender that dies mid-frame leaves its partial message, marked cut, and the collector carries on."""
        with socket.create_connection(("127.0.0.1", collector.port)) as sock:
            sock.sendall(b"500 <13>Nov 17 08:00:00 router app: only the beginning")
        send_udp(collector.port, MARKER)
        wait_for(db, "SELECT COUNT(*) FROM messages", 2)
        rows = {row["message"]: row for row in messages(db)}
        assert rows["only the beginning"]["truncated"] == 1
        assert "neighbour survived" in rows

    def test_connection_reset_mid_stream(self, collector: CollectorProcess, db: pymysql.connections.Connection) -> None:
        """An aborted connection (RST) costs nothing already framed."""
        sock = socket.create_connection(("127.0.0.1", collector.port))
        sock.sendall(lf_framed(MARKER) + b"<13>half a li")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
        assert wait_for(db, "SELECT COUNT(*) FROM messages WHERE message = 'neighbour survived'", 1) == 1

    def test_sql_in_message_text_is_just_text(
        self, collector: CollectorProcess, db: pymysql.connections.Connection
    ) -> None:
        """Injection attempts are stored verbatim and every table is still there."""
        evil = [
            b"<13>Nov 17 08:00:00 router app: '); DROP TABLE messages; --",
            b"<13>Nov 17 08:00:00 rou'ter ap\"p: \\'; DELETE FROM packetfilter; #",
            b"<4>Nov 17 08:00:00 router kernel: A=DROP' C=inet\" IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP",
        ]
        send_udp(collector.port, *evil)
        wait_for(db, "SELECT COUNT(*) FROM messages", 3)
        stored = {row["message"] for row in messages(db)}
        assert "'); DROP TABLE messages; --" in stored
        assert "\\'; DELETE FROM packetfilter; #" in stored
        assert fetch(db, "SELECT host, program FROM messages WHERE message LIKE %s", "%DELETE%") == [
            {"host": "rou'ter", "program": 'ap"p'}
        ]
        assert fetch(db, "SELECT action, chain FROM packetfilter") == [{"action": "DROP'", "chain": 'inet"'}]
        for table in TABLES:
            fetch(db, f"SELECT 1 FROM {table} LIMIT 1")

    def test_overlong_fields_fit_their_columns(
        self, collector: CollectorProcess, db: pymysql.connections.Connection
    ) -> None:
        """A 300-character hostname or 100-character program is cut to fit instead of losing the row."""
        send_udp(collector.port, b"<13>Nov 17 08:00:00 " + b"h" * 300 + b" " + b"p" * 60 + b": text")
        send_udp(collector.port, b"<13>1 - " + b"h" * 300 + b" app " + b"9" * 200 + b" " + b"m" * 40 + b" - text")
        wait_for(db, "SELECT COUNT(*) FROM messages", 2)
        assert fetch(db, "SELECT MAX(CHAR_LENGTH(host)) AS n FROM messages")[0]["n"] == 255
        assert wait_for(db, "SELECT COUNT(*) FROM messages WHERE message = 'text'", 2) == 2
