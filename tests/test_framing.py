"""TCP framing (RFC 6587): octet counting and LF, detected per frame, over any split of the stream."""

from hypothesis import given
from hypothesis import strategies as st

from collector.framing import Frame, FrameDecoder

MAX = 1000


def decode(*chunks: bytes, max_bytes: int = MAX) -> list[Frame]:
    """Feed chunks as they might arrive, then close."""
    decoder = FrameDecoder(max_bytes)
    frames = [frame for chunk in chunks for frame in decoder.feed(chunk)]
    return frames + decoder.finish()


class TestFrameDecoder:
    """Frames come out whole, in order, whatever the mix and however the bytes are split."""

    def test_lf_framed(self) -> None:
        """Each LF ends a message; CRLF is tolerated."""
        assert decode(b"<13>a\n<13>b\r\n") == [Frame(b"<13>a", False), Frame(b"<13>b", False)]

    def test_octet_counted_may_contain_newlines(self) -> None:
        """With octet counting a message may carry LFs of its own."""
        assert decode(b"8 <13>a\nb!6 <13>cd") == [Frame(b"<13>a\nb!", False), Frame(b"<13>cd", False)]

    def test_mixed_framing_on_one_connection(self) -> None:
        """Detection is per frame, so a sender may switch."""
        assert decode(b"5 <13>a<13>b\n5 <13>c") == [
            Frame(b"<13>a", False),
            Frame(b"<13>b", False),
            Frame(b"<13>c", False),
        ]

    def test_overlong_line_is_cut_and_the_rest_discarded(self) -> None:
        """A 1 MB line yields its first max bytes, marked cut; the next message is intact."""
        frames = decode(b"<13>" + b"x" * 1_000_000 + b"\n<13>next\n")
        assert frames == [Frame(b"<13>" + b"x" * (MAX - 4), True), Frame(b"<13>next", False)]

    def test_overlong_octet_counted_frame_is_cut(self) -> None:
        """An octet-counted frame over the maximum is cut; its remaining bytes are skipped exactly."""
        body = b"<13>" + b"y" * 5000
        frames = decode(str(len(body)).encode() + b" " + body + b"6 <13>ok")
        assert frames == [Frame(body[:MAX], True), Frame(b"<13>ok", False)]

    def test_absurd_count_is_read_as_text(self) -> None:
        """A garbage length cannot swallow the messages behind it."""
        frames = decode(b"99999999999 junk\n<13>after\n")
        assert frames == [Frame(b"99999999999 junk", False), Frame(b"<13>after", False)]

    def test_digits_without_space_are_text(self) -> None:
        """`2025-...` starts with digits but is no length."""
        assert decode(b"2025-01-01 hello\n") == [Frame(b"2025-01-01 hello", False)]

    def test_half_octet_frame_at_close_is_kept_and_marked(self) -> None:
        """A sender that dies mid-frame leaves a partial message, stored and marked cut."""
        assert decode(b"100 <13>only part") == [Frame(b"<13>only part", True)]

    def test_last_line_without_lf_is_kept(self) -> None:
        """Many senders do not end the last message with LF."""
        assert decode(b"<13>a\n<13>b") == [Frame(b"<13>a", False), Frame(b"<13>b", False)]

    def test_memory_stays_bounded_on_endless_line(self) -> None:
        """Feeding a line with no end never holds more than one frame's bytes."""
        decoder = FrameDecoder(MAX)
        decoder.feed(b"<13>")
        for _ in range(200):
            decoder.feed(b"z" * 10_000)
        assert len(decoder._buffer) <= MAX

    @given(
        messages=st.lists(
            st.binary(min_size=1, max_size=60).map(lambda b: b"<13>" + b.replace(b"\n", b" ")), max_size=8
        ),
        counted=st.lists(st.booleans(), min_size=8, max_size=8),
        cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=6),
    )
    def test_any_split_yields_the_same_frames(
        self, messages: list[bytes], counted: list[bool], cuts: list[int]
    ) -> None:
        """However TCP splits the stream, the same messages come out."""
        stream = b"".join(
            (str(len(m)).encode() + b" " + m) if use_count else (m + b"\n")
            for m, use_count in zip(messages, counted, strict=False)
        )
        points = sorted({min(cut, len(stream)) for cut in cuts})
        chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
        expected = [m.rstrip(b"\r\t \0") if not c else m for m, c in zip(messages, counted, strict=False)]
        got = [frame.data for frame in decode(*chunks)]
        assert [g.rstrip(b"\r\t \0") for g in got] == [e.rstrip(b"\r\t \0") for e in expected]
