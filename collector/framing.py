"""RFC 6587 TCP framing, detected per frame: octet counting (`LEN SP MSG`) or ended by LF or NUL."""

import re
from typing import NamedTuple

_WHITESPACE = frozenset(b"\r\n\t \0")
_MAX_DIGITS = 10
_NONE = 1 << 62  # "no NUL in the buffer"
_COUNT = re.compile(rb"(\d{1,%d}) " % _MAX_DIGITS)  # an octet count and its space


class Frame(NamedTuple):
    """One syslog message cut from a stream; `truncated` when it was longer than allowed or cut off."""

    data: bytes
    truncated: bool


class FrameDecoder:
    """Cuts one connection's byte stream into frames, never holding more than one frame's bytes.

    A frame that starts with a digit and a length is octet-counted; anything else
    runs to the next LF or NUL. Over-long frames are cut at `max_bytes`, marked
    truncated, and the rest discarded as it arrives up to the frame's end (its
    count, or the next LF or NUL), so a 1 GB line costs no memory and the frames
    after it are kept. A length beyond `8 * max_bytes` and 2 MiB is believed only
    when a PRI (`<`) follows it, so garbage cannot swallow the messages behind it.
    `cut` and `discarded` count the frames cut and the bytes thrown away.
    """

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._absurd = max(8 * max_bytes, 2 * 1024 * 1024)
        self._buffer = bytearray()
        self._skip = 0
        self._skip_line = False
        self._nul = -1
        self.cut = 0
        self.discarded = 0

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return the frames they complete."""
        buffer = self._buffer
        buffer += data
        self._nul = -1
        frames: list[Frame] = []
        pos, end = 0, len(buffer)
        while pos < end:
            if self._skip:
                taken = min(self._skip, end - pos)
                self._skip -= taken
                self.discarded += taken
                pos += taken
                continue
            if self._skip_line:
                stop = self._end_of_frame(buffer, pos, end)
                if stop < 0:
                    self.discarded += end - pos
                    pos = end
                    break
                self._skip_line = False
                self.discarded += stop - pos
                pos = stop + 1
                continue
            first = buffer[pos]
            if first in _WHITESPACE:
                pos += 1
                continue
            if 48 <= first <= 57 and (counted := _COUNT.match(buffer, pos)) is not None:
                start = counted.end()
                stop = start + int(counted[1])
                if start < stop <= end and stop - start <= self._max:  # the usual frame: whole and within the limit
                    frames.append(Frame(bytes(buffer[start:stop]), False))
                    pos = stop
                    continue
            after = self._octet_counted(buffer, pos, end, frames) if 48 <= first <= 57 else -1
            if after == -1:
                after = self._line(buffer, pos, end, frames)
            if after is None:
                break
            pos = after
        del buffer[:pos]
        return frames

    def finish(self) -> list[Frame]:
        """Return what is left when the peer closes: a last unterminated line, or a half frame marked cut."""
        rest = bytes(self._buffer).strip(b"\r\n\t \0")
        self._buffer.clear()
        if not rest or self._skip or self._skip_line:
            return []
        length, space, body = rest.partition(b" ")
        if space and length.isdigit() and len(length) <= _MAX_DIGITS and self._believed(int(length), body[:1]):
            return [self._cut(Frame(body[: self._max], True), max(0, len(body) - self._max))]
        if len(rest) > self._max:
            return [self._cut(Frame(rest[: self._max], True), len(rest) - self._max)]
        return [Frame(rest, False)]

    def _end_of_frame(self, buffer: bytearray, pos: int, limit: int) -> int:
        """Where the first LF or NUL lies in buffer[pos:limit], or -1.

        A NUL ends a message as LF does: Python's SysLogHandler ends each TCP
        message with NUL and no LF. The next NUL is looked up once per stretch of
        the buffer, not once per line, since most streams hold none.
        """
        newline = buffer.find(b"\n", pos, limit)
        nul = self._nul
        if nul < pos:
            nul = buffer.find(b"\0", pos)
            self._nul = nul = nul if nul >= 0 else _NONE
        if nul < limit and (newline < 0 or nul < newline):
            return nul
        return newline

    def _cut(self, frame: Frame, discarded: int) -> Frame:
        """Count a frame cut short and the bytes of it that are thrown away."""
        self.cut += 1
        self.discarded += discarded
        return frame

    def _believed(self, length: int, first: bytes) -> bool:
        """Whether a count is a frame length: a sane one, or a huge one with a PRI behind it."""
        return 0 < length <= self._absurd or (length > 0 and first == b"<")

    def _octet_counted(self, buffer: bytearray, pos: int, end: int, frames: list[Frame]) -> int | None:
        """Take an octet-counted frame at pos: new position, None to wait for more, -1 if it is not one."""
        counted = _COUNT.match(buffer, pos)
        if counted is None:
            window = bytes(buffer[pos : min(end, pos + _MAX_DIGITS + 1)])
            return None if len(window) <= _MAX_DIGITS and window.isdigit() else -1
        length, start = int(counted.group(1)), counted.end()
        if not 0 < length <= self._absurd:  # `_believed`'s first test, here so a sane count costs no slice
            if length > self._absurd and start >= end:
                return None  # wait for the byte that tells a huge frame from garbage
            if not self._believed(length, bytes(buffer[start : start + 1])):
                return -1
        keep = min(length, self._max)
        if end - start < keep:
            return None
        if keep == length:  # the usual frame: whole and within the limit
            frames.append(Frame(bytes(buffer[start : start + length]), False))
            return start + length
        frames.append(self._cut(Frame(bytes(buffer[start : start + keep]), True), 0))
        self._skip = length - keep
        return start + keep

    def _line(self, buffer: bytearray, pos: int, end: int, frames: list[Frame]) -> int | None:
        """Take a frame ended by LF or NUL at pos: new position, or None to wait for more."""
        stop = buffer.find(b"\n", pos, pos + self._max + 1)
        if self._nul < stop or stop < 0:  # the common case, no NUL before the LF, costs one comparison
            stop = self._end_of_frame(buffer, pos, min(end, pos + self._max + 1))
        if stop >= 0:
            frames.append(Frame(bytes(buffer[pos:stop]).rstrip(b"\r"), False))
            return stop + 1
        if end - pos <= self._max:
            return None
        frames.append(self._cut(Frame(bytes(buffer[pos : pos + self._max]), True), 0))
        self._skip_line = True
        return pos + self._max
