"""RFC 6587 TCP framing, detected per frame: octet counting (`LEN SP MSG`) or LF-terminated."""

from typing import NamedTuple

_WHITESPACE = frozenset(b"\r\n\t \0")
_MAX_DIGITS = 10


class Frame(NamedTuple):
    """One syslog message cut from a stream; `truncated` when it was longer than allowed or cut off."""

    data: bytes
    truncated: bool


class FrameDecoder:
    """Cuts one connection's byte stream into frames, never holding more than one frame's bytes.

    A frame that starts with a digit and a sane length is octet-counted; anything
    else runs to the next LF. Over-long frames are cut at `max_bytes` and the rest
    discarded as it arrives, so a 1 GB line costs no memory. A length that is absurd
    (beyond `8 * max_bytes` and 2 MiB) is taken as text, so garbage cannot swallow the
    messages that follow it.
    """

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._absurd = max(8 * max_bytes, 2 * 1024 * 1024)
        self._buffer = bytearray()
        self._skip = 0
        self._skip_line = False

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return the frames they complete."""
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        pos, end = 0, len(buffer)
        while pos < end:
            if self._skip:
                taken = min(self._skip, end - pos)
                self._skip -= taken
                pos += taken
                continue
            if self._skip_line:
                newline = buffer.find(b"\n", pos)
                if newline < 0:
                    pos = end
                    break
                self._skip_line = False
                pos = newline + 1
                continue
            if buffer[pos] in _WHITESPACE:
                pos += 1
                continue
            after = self._octet_counted(buffer, pos, end, frames) if 48 <= buffer[pos] <= 57 else -1
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
        if space and length.isdigit() and len(length) <= _MAX_DIGITS and 0 < int(length) <= self._absurd:
            return [Frame(body[: self._max], True)]
        return [Frame(rest[: self._max], len(rest) > self._max)]

    def _octet_counted(self, buffer: bytearray, pos: int, end: int, frames: list[Frame]) -> int | None:
        """Take an octet-counted frame at pos: new position, None to wait for more, -1 if it is not one."""
        space = buffer.find(b" ", pos, pos + _MAX_DIGITS + 1)
        if space < 0:
            window = bytes(buffer[pos : min(end, pos + _MAX_DIGITS + 1)])
            return None if len(window) <= _MAX_DIGITS and window.isdigit() else -1
        digits = bytes(buffer[pos:space])
        if not digits.isdigit():
            return -1
        length = int(digits)
        if length == 0 or length > self._absurd:
            return -1
        start = space + 1
        keep = min(length, self._max)
        if end - start < keep:
            return None
        frames.append(Frame(bytes(buffer[start : start + keep]), length > keep))
        self._skip = length - keep
        return start + keep

    def _line(self, buffer: bytearray, pos: int, end: int, frames: list[Frame]) -> int | None:
        """Take an LF-terminated frame at pos: new position, or None to wait for more."""
        newline = buffer.find(b"\n", pos, pos + self._max + 1)
        if newline >= 0:
            frames.append(Frame(bytes(buffer[pos:newline]).rstrip(b"\r"), False))
            return newline + 1
        if end - pos <= self._max:
            return None
        frames.append(Frame(bytes(buffer[pos : pos + self._max]), True))
        self._skip_line = True
        return pos + self._max
