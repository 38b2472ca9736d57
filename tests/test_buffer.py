"""The buffer between the receivers and the writer: batches, capacity and back-pressure."""

import threading

from collector.buffer import Buffer, Received


def items(count: int) -> list[Received]:
    """`count` received messages."""
    return [Received(0.0, "192.0.2.1", b"<14>x: %d" % number, False) for number in range(count)]


def take_in_thread(buffer: Buffer, limit: int, timeout: float) -> list[Received] | None:
    """What `take` returns, or None if it is still waiting after 20 s (a stalled writer)."""
    taken: list[list[Received]] = []
    worker = threading.Thread(target=lambda: taken.append(buffer.take(limit, timeout)), daemon=True)
    worker.start()
    worker.join(20)
    return taken[0] if taken else None


def test_a_paused_buffer_hands_over_what_it_holds_without_waiting_for_a_full_batch() -> None:
    """While TCP readers are paused nothing more can come, so a short batch goes at once and reading resumes."""
    buffer = Buffer(capacity=10, batch_size=6)
    resumed = []
    buffer.on_drained = lambda: resumed.append(True)
    buffer.put_many(items(11))  # a TCP read overshoots the capacity; the reader pauses
    buffer.pressure = True
    assert len(buffer.take(6, 600)) == 6
    assert buffer.pressure, "5 left is not below half the capacity: still paused"
    assert not resumed
    second = take_in_thread(buffer, 6, 600)
    assert second is not None, "the writer waited for a batch that a paused reader could never send"
    assert len(second) == 5
    assert resumed == [True]
    assert not buffer.pressure


def test_an_unpaused_buffer_still_waits_to_fill_a_batch() -> None:
    """Without pressure a short buffer waits (up to the flush time) for senders to fill the batch."""
    buffer = Buffer(capacity=10, batch_size=6)
    buffer.put_many(items(2))
    filler = threading.Timer(0.2, lambda: buffer.put_many(items(4)))
    filler.start()
    batch = take_in_thread(buffer, 6, 600)
    filler.join()
    assert batch is not None
    assert len(batch) == 6
