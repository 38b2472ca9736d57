"""The disk spool: what goes in comes out once, in order, across restarts and torn writes."""

from pathlib import Path

import pytest

from collector.buffer import Received
from collector.spool import Spool, SpoolFull


def batch(start: int, count: int) -> list[Received]:
    """Numbered messages, some from a sender, some internal, some cut."""
    return [
        Received(
            1700000000.5 + i, None if i % 3 == 0 else "192.168.1.1", f"<13>msg {i} \xff".encode("latin-1"), i % 2 == 0
        )
        for i in range(start, start + count)
    ]


def drain(spool: Spool, limit: int = 7) -> list[Received]:
    """Replay everything, committing as the writer does."""
    out: list[Received] = []
    while spool.pending:
        token, items = spool.read(limit)
        out.extend(items)
        spool.commit(token)
    return out


class TestSpool:
    """Raw messages survive MariaDB outages on disk."""

    def test_round_trip_in_order(self, tmp_path: Path) -> None:
        """Records come back byte for byte, in the order they were spooled."""
        spool = Spool(tmp_path, 1 << 20)
        spool.append(batch(0, 10))
        spool.append(batch(10, 15))
        assert drain(spool) == batch(0, 25)
        assert not list(tmp_path.glob("*.spool"))

    def test_survives_restart_mid_replay(self, tmp_path: Path) -> None:
        """A collector restarted during replay continues where the last commit left off."""
        spool = Spool(tmp_path, 1 << 20)
        spool.append(batch(0, 20))
        token, first = spool.read(8)
        spool.commit(token)
        spool.close()
        again = Spool(tmp_path, 1 << 20)
        assert first + drain(again) == batch(0, 20)

    def test_refuses_beyond_its_size(self, tmp_path: Path) -> None:
        """The spool never grows past SIEM_SPOOL_MAX_MB; the writer then holds and applies back-pressure."""
        spool = Spool(tmp_path, 2000)
        spool.append(batch(0, 20))
        with pytest.raises(SpoolFull):
            spool.append(batch(20, 200))
        assert drain(spool) == batch(0, 20)

    def test_torn_tail_is_skipped(self, tmp_path: Path) -> None:
        """A crash mid-write leaves a torn record; everything before it is replayed."""
        spool = Spool(tmp_path, 1 << 20)
        spool.append(batch(0, 5))
        spool.close()
        segment = next(tmp_path.glob("*.spool"))
        segment.write_bytes(segment.read_bytes() + b"\x01\x02\x03")
        assert drain(Spool(tmp_path, 1 << 20)) == batch(0, 5)

    def test_parts_share_the_size_cap_and_replay_apart(self, tmp_path: Path) -> None:
        """Batches waiting for one part live beside the main spool, each replayed alone, all within one cap."""
        spool = Spool(tmp_path, 700)  # two batches of ten
        part = spool.part("messages")
        spool.append(batch(0, 10))
        part.append(batch(10, 10))
        with pytest.raises(SpoolFull):
            part.append(batch(20, 10))
        with pytest.raises(SpoolFull):
            spool.append(batch(20, 10))
        assert drain(part) == batch(10, 10)
        spool.append(batch(20, 10))
        assert drain(spool) == batch(0, 10) + batch(20, 10)
        assert not list(tmp_path.rglob("*.spool"))
