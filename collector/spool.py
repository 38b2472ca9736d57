"""A disk spool of raw messages for when MariaDB is away: append-only segments, replayed oldest first."""

import logging
import os
import struct
from pathlib import Path

from collector.buffer import Received

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<dIH?")  # receive time, data length, sender length, truncated
_SEGMENT_BYTES = 4 * 1024 * 1024


class SpoolFull(Exception):
    """Appending would exceed the configured size; the caller must hold the batch."""


class Spool:
    """Segments `NNNNNNNNNNNN.spool` in one directory; a segment's `.done` file records how far it was replayed.

    Records are written unparsed, so what is replayed is exactly what arrived.
    A crash loses no appended record; at worst the last replayed chunk of a
    segment is written twice.
    """

    def __init__(self, directory: Path, max_bytes: int, group: list["Spool"] | None = None) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._group = group if group is not None else []  # spools sharing max_bytes
        self._group.append(self)
        directory.mkdir(parents=True, exist_ok=True)
        self._segments = sorted(int(path.stem) for path in directory.glob("*.spool"))
        self._sizes = {seq: self._path(seq).stat().st_size for seq in self._segments}
        self._writing: int | None = None
        self._file = None

    @property
    def pending(self) -> bool:
        """True while any segment holds records not yet replayed."""
        return bool(self._segments)

    @property
    def size(self) -> int:
        """Bytes the spool occupies on disk."""
        return sum(self._sizes.values())

    @property
    def shared_size(self) -> int:
        """Bytes this spool and its parts (`part`) occupy together: what `max_bytes` caps."""
        return sum(spool.size for spool in self._group)

    def part(self, name: str) -> "Spool":
        """A spool in a subdirectory for batches of which only some tables remain to be written; same size cap."""
        return Spool(self.directory / name, self.max_bytes, self._group)

    def append(self, batch: list[Received]) -> None:
        """Write a batch durably enough to survive a process crash (flushed to the OS)."""
        chunk = b"".join(_encode(item) for item in batch)
        used = self.shared_size
        if used + len(chunk) > self.max_bytes:
            raise SpoolFull(f"spool at {used} of {self.max_bytes} bytes")
        if self._file is None or self._sizes[self._writing] >= _SEGMENT_BYTES:
            self._open_next()
        self._file.write(chunk)
        self._file.flush()
        self._sizes[self._writing] += len(chunk)

    def read(self, limit: int) -> tuple[tuple[int, int], list[Received]]:
        """Return up to `limit` records from the oldest segment and a token for `commit`."""
        seq = self._segments[0]
        if seq == self._writing:
            self._close()
        offset = self._done_offset(seq)
        with self._path(seq).open("rb") as file:
            file.seek(offset)
            data = file.read()
        items, used = _decode(data, limit)
        if not items and data:
            log.warning("spool segment %s ends in %d torn bytes; skipping them", seq, len(data))
            used = len(data)
        return (seq, offset + used), items

    def commit(self, token: tuple[int, int]) -> None:
        """Mark records up to the token as stored; delete the segment once it is used up."""
        seq, offset = token
        path = self._path(seq)
        if offset >= path.stat().st_size:
            path.unlink()
            self._path(seq, ".done").unlink(missing_ok=True)
            self._segments.remove(seq)
            del self._sizes[seq]
            return
        done = self._path(seq, ".done")
        temp = done.with_suffix(".tmp")
        temp.write_text(str(offset))
        os.replace(temp, done)

    def close(self) -> None:
        """Close the segment being written."""
        self._close()

    def _open_next(self) -> None:
        self._close()
        seq = (self._segments[-1] + 1) if self._segments else 1
        self._segments.append(seq)
        self._sizes[seq] = 0
        self._writing = seq
        self._file = self._path(seq).open("ab")
        log.info("spooling to %s", self._path(seq))

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self._writing = None

    def _done_offset(self, seq: int) -> int:
        try:
            return int(self._path(seq, ".done").read_text())
        except (FileNotFoundError, ValueError):
            return 0

    def _path(self, seq: int, suffix: str = ".spool") -> Path:
        return self.directory / f"{seq:012d}{suffix}"


def _encode(item: Received) -> bytes:
    """One record: fixed header, sender address, raw bytes."""
    sender = (item.sender or "").encode()
    return _HEADER.pack(item.received, len(item.data), len(sender), item.truncated) + sender + item.data


def _decode(data: bytes, limit: int) -> tuple[list[Received], int]:
    """Decode whole records from the front of data; a torn last record (crash mid-write) ends the list."""
    items: list[Received] = []
    pos, size = 0, len(data)
    while len(items) < limit and pos + _HEADER.size <= size:
        received, length, sender_length, truncated = _HEADER.unpack_from(data, pos)
        start = pos + _HEADER.size
        stop = start + sender_length + length
        if stop > size:
            break
        sender = data[start : start + sender_length].decode() or None
        items.append(Received(received, sender, data[start + sender_length : stop], truncated))
        pos = stop
    return items, pos
