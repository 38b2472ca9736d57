"""The API over real HTTP, answering from rows the real collector wrote from real syslog."""

import base64
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pymysql
import pytest

from collector.rankings import rank_hours
from tests.conftest import API_TOKEN, SEARCH_ROWS, fetch, wait_for
from tests.servers import ROOT, CollectorProcess, lf_framed, send_tcp

BASE = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(minutes=30)
TV = "a0:82:22:44:c6:1a"


def stamp(minutes: int) -> str:
    """A BSD stamp some minutes after BASE."""
    return (BASE + timedelta(minutes=minutes)).strftime("%b %e %H:%M:%S")


def fw4(
    minute: int, verdict: str, zone: str, src: str, dport: int, proto: str = "TCP", mac: str = "3c:a6:2f:11:22:33"
) -> bytes:
    """An OpenWrt fw4 kernel line."""
    ports = f"SPT=40000 DPT={dport} " if proto != "ICMP" else "TYPE=8 CODE=0 "
    return (
        f"<4>{stamp(minute)} router kernel: {verdict} {zone} in: IN=eth0 OUT= MAC=00:0d:b9:4f:2a:10:{mac}:08:00 "
        f"SRC={src} DST=198.51.100.23 LEN=44 TOS=0x00 PREC=0x00 TTL=61 ID=1 PROTO={proto} {ports}"
    ).encode()


DROPS = [
    fw4(1, "drop", "wan", "203.0.113.1", 22),
    fw4(2, "drop", "wan", "203.0.113.1", 23),
    fw4(3, "drop", "wan", "203.0.113.1", 22),
    fw4(4, "drop", "wan", "203.0.113.2", 3389),
    fw4(5, "drop", "wan", "203.0.113.2", 53, proto="UDP"),
    fw4(6, "drop", "wan", "203.0.113.3", 0, proto="ICMP"),
    fw4(7, "reject", "lan", "10.0.0.45", 443, mac=TV),
    fw4(8, "reject", "lan", "10.0.0.45", 443, mac=TV),
]
DEVICE_LINES = [f"<30>{stamp(0)} router dnsmasq-dhcp[1]: DHCPACK(br-lan) 10.0.0.45 {TV} my-tv".encode()]
LOG_LINES = [
    f"<11>{stamp(10)} nas sshd[7]: error: maximum authentication attempts exceeded".encode(),
    f"<12>{stamp(11)} nas sshd[7]: warning: 50% of disk used; DROP TABLE x; --".encode(),
    f"<14>{stamp(12)} nas backup: info done".encode(),
    *[f"<15>{stamp(13)} router app: debug line {i}".encode() for i in range(25)],
    *[f"<14>{stamp(29)} nas backup: recent {i}".encode() for i in range(3)],
]
ALL = DROPS + DEVICE_LINES + LOG_LINES


@pytest.fixture
def loaded(start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection) -> None:
    """The dataset above, stored by the collector."""
    collector = start_collector()
    send_tcp(collector.port, lf_framed(*ALL))
    assert wait_for(db, "SELECT COUNT(*) FROM messages", len(ALL)) == len(ALL)
    assert wait_for(db, "SELECT COUNT(*) FROM devices", 1) == 1
    rank_hours(db, datetime.now(UTC).replace(tzinfo=None))  # as the collector does within a minute


@pytest.fixture
def client(api_url: str) -> httpx.Client:
    """An HTTP client carrying the token."""
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=30) as http:
        yield http


def ok(response: httpx.Response) -> dict:
    """The JSON of a 200 response (failing with the body otherwise)."""
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.usefixtures("loaded")
class TestNumbers:
    """Each endpoint's numbers match what was sent."""

    def test_stats(self, client: httpx.Client, db: pymysql.connections.Connection) -> None:
        """Row counts per table, the newest event, and what the files take on disk (after compression)."""
        with db.cursor() as cursor:
            cursor.execute("FLUSH TABLES messages, packetfilter, addrwatch, devices FOR EXPORT")  # pages to disk
            cursor.execute("UNLOCK TABLES")
        on_disk = fetch(db, "SELECT SUM(allocated_size) AS b FROM information_schema.innodb_sys_tablespaces"
                            " WHERE name LIKE 'siem/%'")[0]["b"]  # fmt: skip
        stats = ok(client.get("/api/v1/stats"))
        assert stats["tables"]["messages"]["rows"] == len(ALL)
        assert stats["tables"]["packetfilter"]["rows"] == len(DROPS)
        assert stats["tables"]["addrwatch"]["rows"] == 1
        assert stats["tables"]["devices"]["rows"] == 1
        assert stats["tables"]["messages"]["newest"].startswith((BASE + timedelta(minutes=29)).isoformat())
        assert stats["database_bytes"] == on_disk > 0
        assert stats["messages_per_minute"] == 3 / 5, "three messages in the last five minutes"

    def test_drops_summary(self, client: httpx.Client) -> None:
        """Counts by action, chain and protocol."""
        summary = ok(client.get("/api/v1/drops/summary", params={"since": "2h"}))
        assert summary["total"] == 8
        assert summary["by_action"] == {"DROP": 6, "REJECT": 2}
        assert summary["by_chain"] == {"wan": 6, "lan": 2}
        assert summary["by_protocol"] == {"TCP": 6, "UDP": 1, "ICMP": 1}
        only_rejects = ok(client.get("/api/v1/drops/summary", params={"action": "reject"}))
        assert only_rejects["total"] == 2
        by_ip = ok(client.get("/api/v1/drops/summary", params={"src_ip": "203.0.113.1"}))
        assert by_ip["total"] == 3

    def test_drops_timeseries(self, client: httpx.Client) -> None:
        """One-minute buckets hold one row each; split by action sums per action."""
        series = ok(client.get("/api/v1/drops/timeseries", params={"since": "2h"}))
        assert series["interval"] == "1m"
        assert [point["count"] for point in series["points"]] == [1] * 8
        split = ok(client.get("/api/v1/drops/timeseries", params={"interval": "1h", "split": "true", "since": "3h"}))
        totals = Counter()
        for point in split["points"]:
            totals[point["action"]] += point["count"]
        assert totals == {"DROP": 6, "REJECT": 2}

    def test_ranges_cutting_through_intervals_count_exactly(self, client: httpx.Client) -> None:
        """Whole 5-minute intervals come from the counts, the cut ones from raw rows: every range adds up."""
        minutes = [1, 2, 3, 4, 5, 6, 7, 8]  # one packet each, at BASE + minute
        for start in range(10):
            for end in range(start + 1, 11):
                span = {
                    "since": (BASE + timedelta(minutes=start, seconds=30)).isoformat(),
                    "until": (BASE + timedelta(minutes=end, seconds=30)).isoformat(),
                }
                expected = sum(start < minute <= end for minute in minutes)
                assert ok(client.get("/api/v1/drops/summary", params=span))["total"] == expected, span
                series = ok(client.get("/api/v1/drops/timeseries", params={**span, "interval": "5m"}))
                assert sum(point["count"] for point in series["points"]) == expected, span

    def test_drops_top(self, client: httpx.Client) -> None:
        """Top sources and destination ports, most frequent first."""
        sources = ok(client.get("/api/v1/drops/top", params={"by": "src_ip", "limit": 2}))["entries"]
        assert sources == [{"value": "203.0.113.1", "count": 3}, {"value": "10.0.0.45", "count": 2}]
        ports = ok(client.get("/api/v1/drops/top", params={"by": "dst_port"}))["entries"]
        assert ports[:2] == [{"value": 22, "count": 2}, {"value": 443, "count": 2}]
        macs = ok(client.get("/api/v1/drops/top", params={"by": "mac"}))["entries"]
        assert {"value": TV, "count": 2} in macs

    def test_devices(self, client: httpx.Client) -> None:
        """The inventory, new devices, and one device in any MAC spelling."""
        listed = ok(client.get("/api/v1/devices"))
        tv = next(device for device in listed if device["mac"] == TV)
        assert (tv["hostname"], tv["last_ipv4"], tv["vendor"]) == (
            "my-tv",
            "10.0.0.45",
            "Qingdao Haier Technology Co.,Ltd",
        )
        assert [d["mac"] for d in ok(client.get("/api/v1/devices", params={"q": "my-tv"}))] == [TV]
        assert TV in {d["mac"] for d in ok(client.get("/api/v1/devices/new", params={"since": "2h"}))}
        detail = ok(client.get("/api/v1/devices/A0-82-22-44-C6-1A"))
        assert detail["mac"] == TV
        assert detail["drops_24h"] == 2
        assert [event["event"] for event in detail["events"]] == ["new device"]
        assert {address["ip"] for address in detail["addresses"]} == {"10.0.0.45"}

    def test_mark_device(self, client: httpx.Client) -> None:
        """The one write: name, known and notes, visible at once."""
        changed = ok(client.patch(f"/api/v1/devices/{TV}", json={"name": "Living room TV", "known": True}))
        assert (changed["name"], changed["known"], changed["notes"]) == ("Living room TV", True, None)
        assert ok(client.patch(f"/api/v1/devices/{TV}", json={"notes": "bought 2024"}))["name"] == "Living room TV"
        assert client.patch(f"/api/v1/devices/{TV}", json={}).status_code == 400
        assert client.patch("/api/v1/devices/00:00:00:00:00:01", json={"name": "x"}).status_code == 404

    def test_messages_filters(self, client: httpx.Client) -> None:
        """Host, program, minimum severity and text filters combine."""
        warnings = ok(client.get("/api/v1/messages", params={"severity": "warning", "host": "nas"}))["items"]
        assert [m["severity"] for m in warnings] == [4, 3]
        assert len(ok(client.get("/api/v1/messages", params={"severity": "warning"}))["items"]) == 2 + len(DROPS)
        assert ok(client.get("/api/v1/messages", params={"severity": "3"}))["items"][0]["severity"] == 3
        found = every_page(client, {"q": "50%", "host": "nas"})
        assert [m["message"] for m in found] == ["warning: 50% of disk used; DROP TABLE x; --"]
        assert [m["message"][:12] for m in every_page(client, {"q": "%"})] == ["warning: 50%"]
        assert len(ok(client.get("/api/v1/messages", params={"program": "backup"}))["items"]) == 4

    def test_text_search_reads_a_bounded_stretch_per_request(
        self, client: httpx.Client, db: pymysql.connections.Connection
    ) -> None:
        """A search hands back a cursor after about SIEM_API_SEARCH_ROWS messages; its pages add up exactly."""
        pages = search_pages(client, {"q": "e", "limit": 1000})
        expected = fetch(db, "SELECT id FROM messages WHERE message LIKE %s ORDER BY timestamp DESC, id DESC", "%e%")
        assert [m["id"] for page in pages for m in page] == [row["id"] for row in expected]
        assert len(pages) >= len(ALL) // (2 * SEARCH_ROWS), "one request read every message"
        assert max(len(page) for page in pages) < len(expected), "a page ran past its stretch"

    def test_text_search_skips_counts_whose_messages_retention_deleted(
        self, client: httpx.Client, db: pymysql.connections.Connection
    ) -> None:
        """Counts outlive messages; a search does not page through days whose messages are gone."""
        with db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO messages_counts (timestamp, host, severity, program, messages)"
                " VALUES (%s, 'nas', 6, '', 1000)",
                [(BASE - timedelta(days=2, minutes=5 * i),) for i in range(2000)],
            )
        db.commit()
        pages = search_pages(client, {"q": "e", "since": "30d", "limit": 1000}, most=50)
        assert len(pages) < 10, "it paged through counts of deleted messages"

    def test_a_page_reaching_past_the_last_day_is_the_whole_range_newest_first(
        self, client: httpx.Client, db: pymysql.connections.Connection
    ) -> None:
        """With fewer messages in the last day than a page, the page goes on into the days before, in order."""
        with db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO messages (id, timestamp, received, host, facility, severity, message)"
                " VALUES (UUID_SHORT(), %s, %s, 'nas', 1, 6, %s)",
                [(BASE - timedelta(days=3, hours=i), BASE, f"old {i}") for i in range(5)],
            )
        db.commit()
        page = ok(client.get("/api/v1/messages", params={"since": "7d", "limit": len(ALL) + 2}))
        assert [m["message"] for m in page["items"][-2:]] == ["old 0", "old 1"]
        stamps = [m["timestamp"] for m in page["items"]]
        assert stamps == sorted(stamps, reverse=True)
        rest = ok(client.get("/api/v1/messages", params={"since": "7d", "cursor": page["next_cursor"]}))
        assert [m["message"] for m in rest["items"]] == ["old 2", "old 3", "old 4"]
        short = ok(client.get("/api/v1/messages", params={"since": "7d", "limit": 3}))  # the last day answers alone
        assert short["items"] == page["items"][:3]

    def test_messages_pages_cover_everything_once(self, client: httpx.Client) -> None:
        """Following next_cursor yields every message exactly once, newest first."""
        seen, cursor = [], None
        while True:
            params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
            page = ok(client.get("/api/v1/messages", params=params))
            seen.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len({m["id"] for m in seen}) == len(ALL)
        stamps = [m["timestamp"] for m in seen]
        assert stamps == sorted(stamps, reverse=True)


def search_pages(client: httpx.Client, params: dict[str, object], most: int = 1000) -> list[list[dict]]:
    """The items of each page of a message search, following next_cursor (for at most `most` pages)."""
    pages, cursor = [], None
    while len(pages) < most:
        page = ok(client.get("/api/v1/messages", params={**params, **({"cursor": cursor} if cursor else {})}))
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return pages


def every_page(client: httpx.Client, params: dict[str, object]) -> list[dict]:
    """The messages of every page of a search, following next_cursor."""
    return [item for page in search_pages(client, params) for item in page]


class TestBadInput:
    """Wrong parameters get a 4xx that says what is wrong, never a 500."""

    @pytest.mark.parametrize(
        ("path", "params", "says"),
        [
            ("/api/v1/devices/not-a-mac", {}, "not a MAC address"),
            ("/api/v1/drops/summary", {"src_ip": "300.1.1.1"}, "not an IP address"),
            ("/api/v1/drops/top", {"by": "password"}, "src_ip"),
            ("/api/v1/drops/top", {"limit": 100000}, "less than or equal to 1000"),
            ("/api/v1/drops/summary", {"since": "1h", "until": "2h"}, "range reversed"),
            ("/api/v1/drops/summary", {"since": "yesterday"}, "neither an ISO 8601 time"),
            ("/api/v1/drops/summary", {"since": "99999w"}, "reaches back more than 400 days"),
            ("/api/v1/drops/timeseries", {"since": "300d", "interval": "1m"}, "more than 5000 points"),
            ("/api/v1/messages", {"severity": "loud"}, "not 0-7"),
            ("/api/v1/messages", {"cursor": "'; DROP TABLE messages; --"}, "cursor"),
            ("/api/v1/messages", {"until": "0001-01-01T00:00:00"}, "too early"),
        ],
    )
    def test_clear_4xx(self, client: httpx.Client, path: str, params: dict, says: str) -> None:
        """The message names the problem."""
        response = client.get(path, params=params)
        assert 400 <= response.status_code < 500, response.text
        assert says in response.text

    @pytest.mark.parametrize(
        "params",
        [
            {"q": "x", "since": "0001-01-01T00:00:00", "until": "0001-01-02T00:00:00"},
            {"q": "x", "since": "400d", "cursor": base64.urlsafe_b64encode(b"2025-01-01T00:00:00+02:00|5").decode()},
            {"q": "x", "cursor": base64.urlsafe_b64encode(b"0001-01-01T00:00:00|1").decode()},
        ],
    )
    def test_text_search_at_the_ends_of_time(self, client: httpx.Client, params: dict) -> None:
        """A search reaching year 1, or a cursor with an offset, is an empty page, not a 500."""
        assert ok(client.get("/api/v1/messages", params=params))["items"] == []

    def test_cursor_before_year_one_is_refused(self, client: httpx.Client) -> None:
        """A cursor whose time falls before year 1 once in UTC is a 400 naming the cursor."""
        cursor = base64.urlsafe_b64encode(b"0001-01-01T00:00:00+05:00|1").decode()
        response = client.get("/api/v1/messages", params={"q": "x", "cursor": cursor})
        assert response.status_code == 400
        assert "cursor" in response.text

    def test_injection_in_filters_is_just_a_value(
        self, client: httpx.Client, db: pymysql.connections.Connection
    ) -> None:
        """SQL in a filter matches nothing and changes nothing."""
        hostile = "x' OR '1'='1"
        assert ok(client.get("/api/v1/messages", params={"host": hostile}))["items"] == []
        assert ok(client.get("/api/v1/drops/summary", params={"action": hostile[:16]}))["total"] == 0
        assert wait_for(db, "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'messages'", 1) == 1


class TestAuth:
    """Every data route needs the token; health does not."""

    def test_every_data_route_requires_the_token(self, api_url: str) -> None:
        """No token or a wrong token is a 401 on every /api/v1 route and method in the schema."""
        schema = httpx.get(f"{api_url}/openapi.json").json()
        routes = [
            (method, path) for path, item in schema["paths"].items() for method in item if path.startswith("/api/v1")
        ]
        assert len(routes) >= 8
        for method, path in routes:
            url = api_url + path.replace("{mac}", TV)
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {API_TOKEN}"}):
                response = httpx.request(method, url, headers=headers, json={"name": "x"})
                assert response.status_code == 401, (method, path, headers)

    def test_docs_are_served_without_any_cdn(self, api_url: str) -> None:
        """/docs and /redoc work offline: every script, style and icon comes from the API itself."""
        for page in ("/docs", "/redoc"):
            html = httpx.get(f"{api_url}{page}").text
            assert "/openapi.json" in html
            external = re.findall(r"(?:src|href)=[\"'](https?://[^\"']+)", html)
            assert external == [], external
            for asset in re.findall(r"(?:src|href)=[\"'](/[^\"']+)", html):
                assert httpx.get(f"{api_url}{asset}").status_code == 200, asset

    def test_health_is_open(self, api_url: str) -> None:
        """Health needs no token and says the database is reachable."""
        assert ok(httpx.get(f"{api_url}/health")) == {"status": "ok", "database": "reachable"}

    @pytest.mark.parametrize("token", ["", "changeme"])
    def test_refuses_to_start_with_placeholder_token(self, db_env: dict[str, str], token: str) -> None:
        """The API will not run unprotected."""
        env = {**os.environ, "SIEM_DB_PASSWORD": db_env["SIEM_READER_PASSWORD"], "SIEM_API_TOKEN": token}
        result = subprocess.run(
            [sys.executable, "-m", "api"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode == 2
        assert "SIEM_API_TOKEN" in result.stderr


@pytest.mark.usefixtures("loaded")
def test_schemathesis_finds_no_server_error(api_url: str) -> None:
    """Property-based requests generated from the OpenAPI schema never produce a 5xx."""
    result = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli", "run", f"{api_url}/openapi.json",
            "--header", f"Authorization: Bearer {API_TOKEN}",
            "--checks", "not_a_server_error", "--max-examples", "40", "--seed", "1", "--no-color",
        ],
        capture_output=True, text=True, timeout=600, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert tested is not None, result.stdout[-3000:]
    assert int(tested.group(1)) >= 10, "every operation in the schema is exercised"
