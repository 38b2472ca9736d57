"""The DNS endpoints over data the real collector wrote: equal to the raw rows, devices named, hostile input refused."""

import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import pymysql
import pytest

from api.routes.dns import DEVICE_HOURLY, DOMAIN_DAILY, HOURLY, RAW, pieces
from tests.conftest import API_TOKEN, fetch, wait_for
from tests.servers import CollectorProcess, lf_framed, send_tcp
from tests.test_dns_store import NOW, TV, lease, line, lookup

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
DOMAINS = ["netflix.com", "api.amazon.com", "tracker.example", "time.apple.com", "ads.example"]


def get(api_url: str, path: str, **params: object) -> httpx.Response:
    """GET an API path with the token."""
    return httpx.get(f"{api_url}/api/v1{path}", params=params, headers=AUTH, timeout=30)


@pytest.fixture
def filled(start_collector: Callable[..., CollectorProcess], db: pymysql.connections.Connection) -> int:
    """Two days of queries from four addresses (the TV's known), sent with the hours out of order."""
    collector = start_collector()
    send_tcp(collector.port, lf_framed(lease(NOW - timedelta(days=3), "192.168.1.45", TV, "livingroom-tv")))
    wait_for(db, "SELECT COUNT(*) FROM device_addresses", 1)
    rng = random.Random(7)
    hours = [NOW - timedelta(hours=h, minutes=rng.randrange(60)) for h in range(48)]
    rng.shuffle(hours)
    sent = 0
    for hour in hours:
        lines = []
        for i in range(12):
            client = f"192.168.1.{rng.choice([45, 46, 47, 48])}"
            domain = rng.choice(DOMAINS)
            moment = hour + timedelta(seconds=i * 13)
            if domain.startswith(("ads.", "tracker.")):
                lines += [line(moment, f"query[A] {domain} from {client}"), line(moment, f"config {domain} is 0.0.0.0")]
            else:
                lines += lookup(moment, client, domain)
            sent += 1
        send_tcp(collector.port, lf_framed(*lines))
    wait_for(db, "SELECT COUNT(*) FROM dns_queries", sent)
    return sent


def raw_top(db: pymysql.connections.Connection, key: str, since: datetime, until: datetime, **where: str) -> dict:
    """Queries and blocked queries per domain or device, from the raw rows."""
    column = "d.name" if key == "domain" else "q.device"
    conditions = "".join(f" AND q.{name} = %s" for name in where)
    rows = fetch(
        db,
        f"SELECT {column} AS v, COUNT(*) AS n, SUM(q.outcome = 'blocked') AS b FROM dns_queries q"
        f" JOIN dns_domains d ON d.id = q.domain_id WHERE q.timestamp >= %s AND q.timestamp < %s{conditions}"
        " GROUP BY 1",
        since,
        until,
        *where.values(),
    )
    return {row["v"]: (row["n"], int(row["b"])) for row in rows}


@pytest.mark.parametrize("by", ["domain", "device"])
def test_top_domains_and_devices_equal_the_raw_rows_over_ranges_with_ragged_edges(
    filled: int, api_url: str, db: pymysql.connections.Connection, by: str
) -> None:
    for since, until in [
        (NOW - timedelta(hours=30, minutes=17), NOW - timedelta(hours=2, minutes=41)),
        (NOW - timedelta(minutes=50), NOW - timedelta(minutes=10)),
        (NOW - timedelta(days=3), NOW + timedelta(minutes=1)),
    ]:
        response = get(api_url, "/dns/top", by=by, since=since.isoformat(), until=until.isoformat(), limit=100)
        assert response.status_code == 200, response.text
        body = response.json()
        got = {entry["value"]: (entry["queries"], entry["blocked"]) for entry in body["entries"]}
        expected = raw_top(db, by, since, until)
        assert got == expected
        assert body["total"] == sum(n for n, _ in expected.values())
        for outcome in ("blocked", "answered", "cached"):  # a condition on some counts, a column of others
            params = {"by": by, "since": since.isoformat(), "until": until.isoformat(), "outcome": outcome}
            entries = get(api_url, "/dns/top", **params, limit=100).json()["entries"]
            got = {entry["value"]: (entry["queries"], entry["blocked"]) for entry in entries}
            assert got == raw_top(db, by, since, until, outcome=outcome), outcome


def test_top_devices_carry_the_inventory_name_and_filters_narrow_to_one_device(
    filled: int, api_url: str, db: pymysql.connections.Connection
) -> None:
    entries = get(api_url, "/dns/top", by="device", since="7d", limit=10).json()["entries"]
    tv = next(entry for entry in entries if entry["value"] == TV)
    assert tv["hostname"] == "livingroom-tv"
    assert {entry["value"] for entry in entries} == {TV, "192.168.1.46", "192.168.1.47", "192.168.1.48"}
    blocked = get(api_url, "/dns/top", by="domain", since="7d", device=TV.upper(), outcome="blocked").json()
    expected = raw_top(db, "domain", NOW - timedelta(days=7), NOW + timedelta(minutes=5), device=TV, outcome="blocked")
    assert {entry["value"]: (entry["queries"], entry["blocked"]) for entry in blocked["entries"]} == expected
    assert set(expected) <= {"tracker.example", "ads.example"}
    one = get(api_url, "/dns/top", by="device", since="7d", domain="NETFLIX.com.").json()
    rows = fetch(
        db,
        "SELECT q.device AS v, COUNT(*) AS n FROM dns_queries q JOIN dns_domains d ON d.id = q.domain_id"
        " WHERE d.name = 'netflix.com' GROUP BY 1",
    )
    assert {entry["value"]: entry["queries"] for entry in one["entries"]} == {row["v"]: row["n"] for row in rows}
    assert one["total"] == sum(row["n"] for row in rows) > 0


def test_a_devices_domains_have_first_and_last_seen_and_new_domains_are_those_first_seen_in_the_range(
    filled: int, api_url: str, db: pymysql.connections.Connection
) -> None:
    domains = get(api_url, f"/devices/{TV}/domains").json()
    raw = fetch(
        db,
        "SELECT d.name, MIN(q.timestamp) AS f, MAX(q.timestamp) AS l, COUNT(*) AS n FROM dns_queries q"
        " JOIN dns_domains d ON d.id = q.domain_id WHERE q.device = %s GROUP BY 1",
        TV,
    )
    assert {
        d["domain"]: (datetime.fromisoformat(d["first_seen"]), datetime.fromisoformat(d["last_seen"]), d["queries"])
        for d in domains
    } == {r["name"]: (r["f"], r["l"], r["n"]) for r in raw}
    assert [d["last_seen"] for d in domains] == sorted((d["last_seen"] for d in domains), reverse=True)

    since = NOW - timedelta(hours=20)
    new = get(api_url, "/dns/new", since=since.isoformat(), until=(NOW + timedelta(hours=1)).isoformat()).json()
    firsts = fetch(
        db,
        "SELECT q.device, d.name, MIN(q.timestamp) AS f FROM dns_queries q JOIN dns_domains d ON d.id = q.domain_id"
        " GROUP BY 1, 2 HAVING f >= %s",
        since,
    )
    assert Counter((n["device"], n["domain"]) for n in new) == Counter((r["device"], r["name"]) for r in firsts)
    only_tv = get(api_url, "/dns/new", since="7d", device=TV).json()  # every domain of the TV is new in a week
    assert {n["domain"] for n in only_tv} == {d["domain"] for d in domains}
    assert all(n["device"] == TV and n["hostname"] == "livingroom-tv" and n["known"] is False for n in only_tv)


def test_new_domains_cut_by_a_limit_are_the_newest_in_order_even_when_first_seen_at_the_same_moment(
    start_collector: Callable[..., CollectorProcess], api_url: str, db: pymysql.connections.Connection
) -> None:
    collector = start_collector()
    same = NOW - timedelta(minutes=30)  # four devices asking for three domains at the same moment: twelve ties
    lines = [
        line(same, f"query[A] {d} from 192.168.7.{c}")
        for c in range(2, 6)
        for d in ("b.example", "c.example", "a.example")
    ]
    lines += [line(same - timedelta(minutes=m), f"query[A] older{m}.example from 192.168.7.9") for m in range(1, 6)]
    send_tcp(collector.port, lf_framed(*lines))
    wait_for(db, "SELECT COUNT(*) FROM dns_queries", len(lines))
    raw = fetch(
        db,
        "SELECT q.device, d.name, MIN(q.timestamp) AS f FROM dns_queries q JOIN dns_domains d ON d.id = q.domain_id"
        " GROUP BY 1, 2",
    )
    expected = [
        (r["device"], r["name"]) for r in sorted(raw, key=lambda r: (-r["f"].timestamp(), r["device"], r["name"]))
    ]
    for limit in (1, 5, 12, 13, 16, 100):
        new = get(api_url, "/dns/new", since="1d", limit=limit).json()
        assert [(n["device"], n["domain"]) for n in new] == expected[:limit]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/dns/top", {"by": "domain; DROP TABLE dns_queries"}),
        ("/dns/top", {"outcome": "blocked' OR 1=1 --"}),
        ("/dns/top", {"device": "'; DELETE FROM dns_domains; --"}),
        ("/dns/new", {"device": "not-a-device"}),
        ("/dns/top", {"limit": "100000"}),
        ("/dns/new", {"since": "10000d"}),
        ("/devices/zz:zz/domains", {}),
    ],
)
def test_hostile_parameters_get_a_clear_4xx(api_url: str, path: str, params: dict) -> None:
    response = get(api_url, path, **params)
    assert 400 <= response.status_code < 500, response.text
    assert "detail" in response.json()


def test_a_domain_with_sql_in_it_is_just_a_domain_nobody_asked_for(api_url: str) -> None:
    response = get(api_url, "/dns/top", by="device", domain="x' UNION SELECT name FROM mysql.user --")
    assert response.status_code == 200
    assert response.json()["entries"] == []


def test_a_range_is_cut_into_whole_days_whole_hours_beside_them_and_raw_minutes_at_the_edges() -> None:
    since, until = datetime(2026, 11, 28, 22, 17), datetime(2026, 12, 1, 9, 5)
    assert pieces(since, until, [DOMAIN_DAILY, HOURLY]) == [
        (RAW, since, datetime(2026, 11, 28, 23)),
        (HOURLY[0], datetime(2026, 11, 28, 23), datetime(2026, 11, 29)),
        (DOMAIN_DAILY[0], datetime(2026, 11, 29), datetime(2026, 12, 1)),
        (HOURLY[0], datetime(2026, 12, 1), datetime(2026, 12, 1, 9)),
        (RAW, datetime(2026, 12, 1, 9), until),
    ]
    inside_an_hour = (datetime(2026, 12, 1, 9, 5), datetime(2026, 12, 1, 9, 55))
    assert pieces(*inside_an_hour, [DEVICE_HOURLY]) == [(RAW, *inside_an_hour)]
    assert pieces(datetime(2026, 12, 1), datetime(2026, 12, 2), [DOMAIN_DAILY, HOURLY]) == [
        (DOMAIN_DAILY[0], datetime(2026, 12, 1), datetime(2026, 12, 2))
    ]
