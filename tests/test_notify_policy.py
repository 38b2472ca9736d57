"""Who gets announced: known devices, learning mode, old replays and randomised MACs."""

from datetime import datetime, timedelta

import pytest

from collector.notify_policy import (
    ALLOWED,
    KNOWN,
    LEARNING,
    RANDOMISED,
    RANDOMISED_SAME_HOST,
    SEND,
    STALE,
    DomainPolicy,
    NewDomain,
    PendingEvent,
    Policy,
    decide,
    decide_domain,
    digest,
    domain_digest,
)  # fmt: skip

NOW = datetime(2026, 11, 27, 12, 0)
TV_MAC = "3c:a6:2f:11:22:33"
LEARNED = Policy(learning_until=NOW - timedelta(days=1))


def event(**fields: object) -> PendingEvent:
    """A fresh new-device event for a registered MAC, with overrides."""
    values = dict(id=1, timestamp=NOW - timedelta(minutes=1), mac="a0:82:22:44:c6:1a", ip="10.0.0.45", name=None,
                  vendor="Qingdao Haier", hostname="my-tv", known=False, randomised=False)  # fmt: skip
    values.update(fields)
    return PendingEvent(**values)


class TestDecide:
    """One rule per complaint home users have about device trackers."""

    @pytest.mark.parametrize(
        ("fields", "policy", "verdict"),
        [
            ({}, LEARNED, SEND),
            ({"known": True}, LEARNED, KNOWN),
            ({}, Policy(learning_until=NOW + timedelta(hours=1)), LEARNING),
            ({"timestamp": NOW - timedelta(days=3)}, LEARNED, STALE),
            ({"randomised": True}, LEARNED, SEND),
            ({"randomised": True, "hostname_elsewhere": True}, LEARNED, RANDOMISED_SAME_HOST),
            ({"randomised": True, "hostname": None}, LEARNED, None),
            ({"randomised": True, "hostname": None, "waited": True}, LEARNED, RANDOMISED),
            ({"randomised": True}, Policy(NOW - timedelta(days=1), "never"), RANDOMISED),
            ({"randomised": True, "hostname": None}, Policy(NOW - timedelta(days=1), "always"), SEND),
            ({"known": True}, Policy(learning_until=NOW + timedelta(hours=1)), KNOWN),
        ],
    )
    def test_verdicts(self, fields: dict, policy: Policy, verdict: str | None) -> None:
        """Known never alerts, learning stays quiet, a rotated phone MAC alerts once per hostname."""
        assert decide(event(**fields), NOW, policy) == verdict


class TestDigest:
    """A burst is one message."""

    def test_thirty_devices_make_one_message(self) -> None:
        """Every device is listed in one body, with name or hostname, MAC, vendor and IP."""
        title, body = digest([event(id=i, mac=f"00:11:22:33:44:{i:02x}", hostname=f"dev{i}") for i in range(30)])
        assert title == "SIEM@Home: 30 new devices on your network"
        assert len(body.splitlines()) == 30
        assert "- dev7 (00:11:22:33:44:07): Qingdao Haier, 10.0.0.45, 2026-11-27 11:59 UTC" in body


DAY0 = datetime(2026, 12, 1, 12, 0)
DOMAIN_POLICY = DomainPolicy(learning_until=DAY0 - timedelta(days=30), device_learning=timedelta(days=7))


def new_domain(domain: str = "telemetry.example", first: datetime = DAY0, since: datetime | None = None) -> NewDomain:
    return NewDomain(TV_MAC, 1, domain, first, "TV", "tv", "LG", since or DAY0 - timedelta(days=20))


@pytest.mark.parametrize(
    ("new", "policy", "verdict"),
    [
        (new_domain(), DOMAIN_POLICY, SEND),
        (new_domain("time.apple.com"), DOMAIN_POLICY, ALLOWED),
        (new_domain("apple.com"), DOMAIN_POLICY, ALLOWED),
        (new_domain("notapple.com"), DOMAIN_POLICY, SEND),
        (new_domain("45.1.168.192.in-addr.arpa"), DOMAIN_POLICY, ALLOWED),
        (new_domain(since=DAY0 - timedelta(days=3)), DOMAIN_POLICY, LEARNING),
        (new_domain(), DomainPolicy(DAY0 + timedelta(hours=1), timedelta(days=7)), LEARNING),
        (new_domain(first=DAY0 - timedelta(days=2)), DOMAIN_POLICY, STALE),
        (new_domain("time.apple.com"), DomainPolicy(DAY0 - timedelta(days=30), timedelta(days=7), ()), SEND),
    ],
    ids=[
        "new",
        "allowed below",
        "allowed itself",
        "only a suffix of a label",
        "reverse lookup",
        "device learning",
        "install learning",
        "stale",
        "empty allow-list",
    ],
)
def test_new_domain_verdicts(new: NewDomain, policy: DomainPolicy, verdict: str) -> None:
    assert decide_domain(new, DAY0 + timedelta(minutes=5), policy) == verdict


def test_new_domains_of_several_devices_make_one_message_grouped_by_device() -> None:
    news = [new_domain("a.example"), new_domain("b.example"),
            NewDomain("b8:27:eb:12:34:56", 2, "c.example", DAY0, None, "camera", None, DAY0)]  # fmt: skip
    title, body = domain_digest(news)
    assert title == "SIEM@Home: 3 new domains contacted by known devices"
    assert body.splitlines() == [
        f"TV ({TV_MAC}, LG):",
        "- a.example at 2026-12-01 12:00 UTC",
        "- b.example at 2026-12-01 12:00 UTC",
        "camera (b8:27:eb:12:34:56):",
        "- c.example at 2026-12-01 12:00 UTC",
    ]
