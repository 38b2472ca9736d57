"""The bounded hand-over between the receiving event loop and the database writer thread."""

import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import NamedTuple


class Received(NamedTuple):
    """A message as it came off the wire, before any parsing: what is held, spooled and replayed."""

    received: float
    sender: str | None
    data: bytes
    truncated: bool


class Buffer:
    """A FIFO of received messages with a soft capacity.

    UDP `offer`s are refused once it is full (the caller counts the drop); TCP
    `put`s always succeed and the caller pauses reading instead, so a sender feels
    back-pressure. `on_drained` is called from the writer thread once the buffer
    falls below half full after such a pause.
    """

    def __init__(self, capacity: int, batch_size: int) -> None:
        self.capacity = capacity
        self._batch_size = batch_size
        self._items: deque[Received] = deque()
        self._ready = threading.Event()
        self.pressure = False
        self.on_drained: Callable[[], None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def full(self) -> bool:
        """True when a UDP message would be refused and TCP readers should pause."""
        return len(self._items) >= self.capacity

    def put(self, item: Received) -> None:
        """Append regardless of capacity (deque appends are thread-safe)."""
        self._items.append(item)
        if len(self._items) == self._batch_size:
            self._ready.set()

    def put_many(self, items: Iterable[Received]) -> None:
        """Append a connection's frames at once, regardless of capacity; wakes the writer like `put`."""
        before = len(self._items)
        self._items.extend(items)
        if before < self._batch_size <= len(self._items):
            self._ready.set()

    def offer(self, item: Received) -> bool:
        """Append unless full; False means the message was not taken."""
        if len(self._items) >= self.capacity:
            return False
        self.put(item)
        return True

    def take(self, limit: int, timeout: float) -> list[Received]:
        """Wait up to `timeout` for a full batch, then return up to `limit` of the oldest messages.

        While TCP readers are paused (`pressure`) nothing more comes until this drains the
        buffer, so it does not wait.
        """
        if len(self._items) < limit and not self.pressure:
            self._ready.wait(timeout)
        self._ready.clear()
        items = self._items
        batch = [items.popleft() for _ in range(min(limit, len(items)))]
        if self.pressure and len(items) < self.capacity // 2:
            self.pressure = False
            if self.on_drained is not None:
                self.on_drained()
        return batch

    def wake(self) -> None:
        """Make a waiting `take` return now (used at shutdown)."""
        self._ready.set()
