"""The stack's processes started natively from one environment, end to end; `doctor` and `demo` against them."""

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pymysql
import pytest

from siemctl import demo
from siemctl.dashboards import home
from siemctl.macros import expand
from tests.conftest import API_TOKEN, fetch, wait_for
from tests.servers import ROOT, CollectorProcess, free_port, lf_framed, send_tcp, send_udp

NOW = datetime.now(UTC).replace(microsecond=0)


def doctor(*args: str, token: str = API_TOKEN) -> subprocess.CompletedProcess:
    """`python -m siemctl doctor` as a user runs it after deployment."""
    env = {**os.environ, "SIEM_API_TOKEN": token, "GRAFANA_ADMIN_PASSWORD": "unused"}
    return subprocess.run(
        [sys.executable, "-m", "siemctl", "doctor", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def test_syslog_in_rows_api_and_dashboards_out(
    start_collector: Callable[..., CollectorProcess], api_url: str, db: pymysql.connections.Connection
) -> None:
    """UDP and TCP syslog become rows, the API reports them, and the dashboards' SQL returns them."""
    collector = start_collector()
    stamp = (NOW - timedelta(minutes=3)).strftime("%b %e %H:%M:%S")
    drop = (
        f"<4>{stamp} router kernel: drop wan in: IN=eth0 OUT= MAC=00:0d:b9:4f:2a:10:3c:a6:2f:11:22:33:08:00 "
        "SRC=141.230.240.75 DST=198.51.100.23 LEN=44 TOS=0x00 PREC=0x00 TTL=61 ID=1 DF PROTO=TCP SPT=5 DPT=23 "
        "WINDOW=1 RES=0x00 SYN URGP=0"
    ).encode()
    lease = f"<30>{stamp} router dnsmasq-dhcp[1]: DHCPACK(br-lan) 10.0.0.45 a0:82:22:44:c6:1a my-tv".encode()
    send_udp(collector.port, drop)
    send_tcp(collector.port, lf_framed(lease, f"<11>{stamp} nas sshd[1]: error: end to end".encode()))
    assert wait_for(db, "SELECT COUNT(*) FROM messages", 3) == 3

    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    summary = httpx.get(f"{api_url}/api/v1/drops/summary", headers=headers).json()
    assert summary["by_action"] == {"DROP": 1}
    devices = httpx.get(f"{api_url}/api/v1/devices/new", headers=headers).json()
    assert [device["hostname"] for device in devices] == ["my-tv"]
    errors = httpx.get(f"{api_url}/api/v1/messages", params={"severity": "err"}, headers=headers).json()["items"]
    assert [item["message"] for item in errors] == ["error: end to end"]

    panels = {panel["title"]: panel for panel in home()["panels"]}
    for title, expected in (("Messages", 3), ("Dropped or rejected", 1), ("New devices", 1)):
        sql = expand(panels[title]["targets"][0]["rawSql"], NOW - timedelta(hours=24), NOW + timedelta(minutes=1))
        assert list(fetch(db, sql)[0].values()) == [expected], title


class TestDoctor:
    """After deployment the user runs one command and gets OK or a specific hint per part."""

    def test_healthy_parts_pass_and_missing_grafana_is_named(
        self, start_collector: Callable[..., CollectorProcess], api_url: str, db: pymysql.connections.Connection
    ) -> None:
        """API, token and the syslog round trip over UDP and TCP pass; an absent Grafana fails with a hint."""
        collector = start_collector()
        result = doctor("--api", api_url, "--collector", f"127.0.0.1:{collector.port}",
                        "--grafana", f"http://127.0.0.1:{free_port()}")  # fmt: skip
        lines = result.stdout.splitlines()
        assert result.returncode == 1, result.stdout
        for name in ("API", "API token", "syslog TCP", "syslog UDP"):
            assert any(line.startswith(f"OK   {name}:") for line in lines), (name, result.stdout)
        assert any(line.startswith("FAIL Grafana: not reachable") for line in lines), result.stdout

    def test_collector_down_and_wrong_token_get_hints(self, api_url: str, db: pymysql.connections.Connection) -> None:
        """Nothing on the syslog port and a stale token each get their own hint."""
        result = doctor("--api", api_url, "--collector", f"127.0.0.1:{free_port()}",
                        "--grafana", f"http://127.0.0.1:{free_port()}", token="stale-token")  # fmt: skip
        assert "FAIL API token: refused: SIEM_API_TOKEN differs" in result.stdout
        assert "FAIL syslog TCP: collector not accepting TCP" in result.stdout
        assert "/udp (same number both sides)" in result.stdout


def dns_lines(lines: list[bytes]) -> int:
    """The demo's DNS lines: stored as their queries' rows, not in messages."""
    return sum(b" dnsmasq[1]: " in line for line in lines)


class TestDemo:
    """A reproducible day of logs fills every table."""

    def test_day_is_reproducible_and_within_the_last_24_hours(self) -> None:
        """Same seed, same lines; every source present; nothing in the future."""
        end = datetime(2026, 11, 27, 12, 0)
        first, again = demo.day(3000, seed=3, end=end), demo.day(3000, seed=3, end=end)
        assert first == again
        assert demo.day(3000, seed=4, end=end) != first
        text = b"\n".join(first)
        for marker in (b"drop wan in:", b"reject lan out:", b"DHCPACK(", b"addrwatch:", b"[synolog@6574", b"crond["):
            assert marker in text, marker

    @pytest.mark.usefixtures("db")
    def test_replay_lands_in_the_last_24_hours_in_a_zone_far_from_utc(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
    ) -> None:
        """A collector in New York (UTC-5) or Kiritimati (UTC+14) stores the demo day within the last 24 h."""
        for zone in ("America/New_York", "Pacific/Kiritimati"):
            with db.cursor() as cursor:
                cursor.execute("TRUNCATE TABLE messages")
            collector = start_collector(TZ=zone)
            lines = demo.day(500, seed=5)
            demo.replay(lines, "127.0.0.1", collector.port)
            stored = len(lines) - dns_lines(lines)
            assert wait_for(db, "SELECT COUNT(*) FROM messages", stored) == stored
            span = fetch(
                db, "SELECT MIN(timestamp) AS first, MAX(timestamp) AS last, UTC_TIMESTAMP() AS now FROM messages"
            )[0]
            assert span["now"] - timedelta(hours=24, minutes=1) <= span["first"], zone
            assert span["last"] <= span["now"], zone
            assert collector.stop() == 0

    def test_demo_without_a_collector_says_so_in_one_line(self) -> None:
        """Nothing listening on the port: one clear line and exit 1, no traceback."""
        result = subprocess.run(
            [sys.executable, "-m", "siemctl", "demo", "--collector", f"127.0.0.1:{free_port()}", "--count", "10"],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "is the collector running?" in result.stderr.strip().splitlines()[-1]

    @pytest.mark.usefixtures("db")
    def test_replay_fills_the_tables(
        self, start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection
    ) -> None:
        """Replayed into the real collector, the day lands in messages, packetfilter, addrwatch and devices."""
        collector = start_collector()
        lines = demo.day(2000, seed=11)
        demo.replay(lines, "127.0.0.1", collector.port)
        queries = sum(b"query[" in line for line in lines)
        assert wait_for(db, "SELECT COUNT(*) FROM dns_queries", queries) == queries > 50
        stored = len(lines) - dns_lines(lines)
        assert wait_for(db, "SELECT COUNT(*) FROM messages", stored) == stored
        counts = fetch(db, "SELECT (SELECT COUNT(*) FROM packetfilter) AS pf, (SELECT COUNT(*) FROM addrwatch) AS aw,"
                           " (SELECT COUNT(*) FROM devices) AS dev")[0]  # fmt: skip
        assert counts["pf"] > 1000
        assert counts["aw"] > 50
        assert 5 <= counts["dev"] <= len(demo.DEVICES)
