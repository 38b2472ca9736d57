"""Who gets announced: known devices, learning mode, old replays and randomised MACs."""

from datetime import datetime, timedelta

import pytest

from collector.notify_policy import (
    KNOWN,
    LEARNING,
    RANDOMISED,
    RANDOMISED_SAME_HOST,
    SEND,
    STALE,
    PendingEvent,
    Policy,
    decide,
    digest,
)  # fmt: skip

NOW = datetime(2026, 11, 27, 12, 0)
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
