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

    def test_nul_ends_a_message_like_python_sysloghandler_over_tcp(self) -> None:
        """logging.handlers.SysLogHandler over TCP ends each message with NUL and sends no LF."""
        assert decode(b"<14>first\x00<11>second\x00") == [Frame(b"<14>first", False), Frame(b"<11>second", False)]

    def test_trailing_cr_before_nul_is_not_kept(self) -> None:
        """A sender writing CR NUL or CR LF leaves no CR in the stored text."""
        assert decode(b"<14>a\r\x00<14>b\r\n") == [Frame(b"<14>a", False), Frame(b"<14>b", False)]

    def test_eight_hundred_nul_terminated_messages_each_arrive(self) -> None:
        """No merging and no cut at the limit: every NUL-ended message is its own frame, however split."""
        stream = b"".join(b"<14>message %d\x00" % i for i in range(800))
        frames = decode(*(stream[i : i + 999] for i in range(0, len(stream), 999)))
        assert [f.data for f in frames] == [b"<14>message %d" % i for i in range(800)]

    def test_octet_counted_frame_may_hold_nul(self) -> None:
        """Inside an octet-counted frame a NUL is data, not an end."""
        assert decode(b"7 <13>a\x00b") == [Frame(b"<13>a\x00b", False)]

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

    def test_frames_after_a_huge_octet_counted_frame_are_kept(self) -> None:
        """A 3 MB frame is cut and skipped by its count; the ten frames behind it all arrive."""
        huge = b"<13>" + b"h" * 3_000_000
        after = b"".join(b"%d <13>after %d" % (len(b"<13>after %d" % i), i) for i in range(10))
        decoder = FrameDecoder(MAX)
        stream = b"%d " % len(huge) + huge + after
        frames = [f for i in range(0, len(stream), 65536) for f in decoder.feed(stream[i : i + 65536])]
        assert frames[0] == Frame(huge[:MAX], True)
        assert [f.data for f in frames[1:]] == [b"<13>after %d" % i for i in range(10)]
        assert (decoder.cut, decoder.discarded) == (1, len(huge) - MAX)

    def test_overlong_line_resynchronises_at_the_next_nul(self) -> None:
        """After a cut line the next frame starts at the next LF or NUL, and the lost bytes are counted."""
        decoder = FrameDecoder(MAX)
        frames = decoder.feed(b"<13>" + b"x" * 5000 + b"\x00<13>next\x00")
        assert frames == [Frame(b"<13>" + b"x" * (MAX - 4), True), Frame(b"<13>next", False)]
        assert (decoder.cut, decoder.discarded) == (1, 5004 - MAX)

    def test_uncut_frames_count_nothing(self) -> None:
        """Normal traffic reports no loss."""
        decoder = FrameDecoder(MAX)
        decoder.feed(b"<13>a\n5 <13>b<13>c\x00")
        decoder.finish()
        assert (decoder.cut, decoder.discarded) == (0, 0)

    def test_huge_count_without_pri_is_read_as_text(self) -> None:
        """A number beyond the sane range with no `<` behind it is text, not a frame to skip."""
        frames = decode(b"5000000 items done\n<13>after\n")
        assert frames == [Frame(b"5000000 items done", False), Frame(b"<13>after", False)]

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
            st.binary(min_size=1, max_size=60).map(lambda b: b"<13>" + b.replace(b"\n", b" ").replace(b"\0", b" ")),
            max_size=8,
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
