"""The network side: syslog over UDP and TCP on one port, handed to the buffer without waiting."""

import asyncio
import errno
import functools
import logging
import os
import resource
import socket
import time

from collector.buffer import Buffer, Received
from collector.framing import FrameDecoder
from collector.settings import Settings
from collector.stats import Counters

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1024)  # a home's few senders, each on a port or two
def _sender(address: tuple) -> str:
    """The peer's IP as text, with IPv4-mapped IPv6 (`::ffff:a.b.c.d`) unwrapped."""
    host = str(address[0])
    return host.removeprefix("::ffff:") if host.startswith("::ffff:") and "." in host else host


UDP_READS_PER_WAKEUP = 512  # then the event loop serves TCP and timers before reading on
_LARGEST_DATAGRAM = 65535


class UdpReceiver:
    """One datagram is one message; refused (and counted) only when the buffer is full.

    Reads every datagram waiting when the socket wakes the loop, into one reusable
    buffer: asyncio's datagram transport takes one datagram per loop turn into a
    fresh 256 KiB buffer, which cost a UDP message more than a third more CPU than a
    TCP one. Datagrams read together share their receive time, like a TCP read's frames.
    """

    def __init__(self, sock: socket.socket, buffer: Buffer, counters: Counters, max_bytes: int) -> None:
        self._socket = sock
        self._buffer = buffer
        self._counters = counters
        self._max = max_bytes
        self._space = bytearray(min(max_bytes + 1, _LARGEST_DATAGRAM))  # one byte over the limit tells a cut
        self._view = memoryview(self._space)

    def read(self) -> None:
        """Take the datagrams waiting (at most UDP_READS_PER_WAKEUP) into the buffer."""
        receive, space, view, limit = self._socket.recvfrom_into, self._space, self._view, self._max
        now, taken, dropped = time.time(), 0, 0
        for _ in range(UDP_READS_PER_WAKEUP):
            try:
                size, address = receive(space)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as error:
                log.warning("UDP socket error: %s", error)
                break
            truncated = size > limit
            data = bytes(view[: limit if truncated else size])
            if self._buffer.offer(Received(now, _sender(address), data, truncated)):
                taken += 1
            else:
                dropped += 1
        self._counters.udp_received += taken
        self._counters.udp_dropped_full += dropped


class TcpReceiver(asyncio.Protocol):
    """One connection: frames are cut per RFC 6587; reading pauses while the buffer is full."""

    def __init__(self, listener: "Listener") -> None:
        self._listener = listener
        self._decoder = FrameDecoder(listener.settings.max_message_bytes)
        self._peer = "unknown"
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._peer = _sender(transport.get_extra_info("peername") or ("unknown",))
        self._listener.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self._hand_over(self._decoder.feed(data))
        if self._decoder.cut:
            self._count_cuts()
        buffer = self._listener.buffer
        if buffer.full and self.transport is not None:
            self.transport.pause_reading()
            self._listener.paused.add(self)
            buffer.pressure = True

    def eof_received(self) -> bool:
        self._hand_over(self._decoder.finish())
        self._count_cuts()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._hand_over(self._decoder.finish())
        self._count_cuts()
        if self in self._listener.connections:
            self._listener.connections.discard(self)
            self._listener.accepted -= 1
        self._listener.paused.discard(self)

    def _count_cuts(self) -> None:
        """Move the decoder's count of cut frames and discarded bytes to the counters the monitor reports."""
        decoder, counters = self._decoder, self._listener.counters
        counters.tcp_cut += decoder.cut
        counters.tcp_discarded_bytes += decoder.discarded
        decoder.cut = decoder.discarded = 0

    def _hand_over(self, frames: list) -> None:
        if not frames:
            return
        now, peer = time.time(), self._peer
        self._listener.buffer.put_many([Received(now, peer, data, truncated) for data, truncated in frames])
        self._listener.counters.tcp_received += len(frames)


_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
ACCEPT_PAUSE_SECONDS = 0.5  # how long accepting rests at the connection bound or out of file descriptors
EPISODE_QUIET_SECONDS = 2.0  # an episode of pauses ends once accepting has gone this long without one
OWN_DESCRIPTORS = 48  # kept for the collector itself: sockets, MariaDB connections, spool and load files, imports


def connection_bound(max_connections: int, open_files_limit: int) -> tuple[int, str]:
    """How many TCP connections to hold open, and the setting that bounds it, leaving OWN_DESCRIPTORS free."""
    if open_files_limit == resource.RLIM_INFINITY or open_files_limit - OWN_DESCRIPTORS >= max_connections:
        return max_connections, "SIEM_MAX_TCP_CONNECTIONS"
    return max(1, open_files_limit - OWN_DESCRIPTORS), "the open-files limit"


class Listener:
    """Owns both sockets, the open TCP connections and the flow control between them and the buffer.

    TCP connections are accepted here rather than by asyncio's server, so that at
    SIEM_MAX_TCP_CONNECTIONS, at the open-files limit less what the collector needs
    itself, or when the process runs out of file descriptors anyway it
    stops accepting for a moment, new connections waiting in the kernel's queue,
    and says so once per episode instead of once per attempt.
    """

    def __init__(
        self, settings: Settings, buffer: Buffer, counters: Counters, open_files_limit: int = resource.RLIM_INFINITY
    ) -> None:
        self.settings = settings
        self.bound, self._bound_by = connection_bound(settings.max_tcp_connections, open_files_limit)
        self.buffer = buffer
        self.counters = counters
        self.connections: set[TcpReceiver] = set()
        self.paused: set[TcpReceiver] = set()
        self.udp_socket: socket.socket | None = None
        self._tcp_socket: socket.socket | None = None
        self._opening: set[asyncio.Task] = set()
        self.accepted = 0  # accepted and not yet closed, counted from accept() on
        self._paused_since: float | None = None  # the episode's first pause
        self._last_pause = 0.0
        self._retry: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()
        buffer.on_drained = lambda: self._loop.call_soon_threadsafe(self._resume)

    async def start(self) -> None:
        """Bind UDP and TCP on the configured port; raise OSError with the reason if either fails."""
        host, port = self.settings.syslog_host, self.settings.syslog_port
        self.udp_socket = _udp_socket(host, port, self.settings.udp_rcvbuf_bytes)
        udp = UdpReceiver(self.udp_socket, self.buffer, self.counters, self.settings.max_message_bytes)
        self._loop.add_reader(self.udp_socket.fileno(), udp.read)
        self._tcp_socket = _tcp_socket(host, port)
        self._loop.add_reader(self._tcp_socket.fileno(), self._accept)
        log.info("listening for syslog on %s:%d (UDP and TCP)", host, port)

    def _accept(self) -> None:
        """Accept waiting connections, up to the bound; rest for a moment at the bound or when out of descriptors."""
        for _ in range(100):  # then let the event loop read what is already connected
            if self.accepted >= self.bound:
                self._pause(f"{self.bound} TCP connections are open, the limit ({self._bound_by})")
                return
            try:
                conn, _ = self._tcp_socket.accept()  # type: ignore[union-attr]
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                if error.errno in _OUT_OF_RESOURCES:
                    self._pause(f"out of file descriptors ({error.strerror}); raise the open-files limit (ulimits)")
                    return
                log.debug("accept failed: %s", error)  # e.g. the peer reset before we accepted
                continue
            self._resumed()
            self.accepted += 1
            conn.setblocking(False)
            task = self._loop.create_task(self._loop.connect_accepted_socket(lambda: TcpReceiver(self), conn))
            self._opening.add(task)
            task.add_done_callback(functools.partial(self._opened, conn))

    def _opened(self, conn: socket.socket, task: asyncio.Task) -> None:
        """A connection's transport is set up; if that failed, its socket is closed and no longer counted."""
        self._opening.discard(task)
        if task.cancelled() or task.exception() is not None:
            self.accepted -= 1
            conn.close()
            if not task.cancelled():
                log.warning("could not set up a TCP connection: %s", task.exception())

    def _pause(self, why: str) -> None:
        """Stop watching the listening socket for a moment; log only the first pause of an episode."""
        if self._tcp_socket is None:
            return
        self._loop.remove_reader(self._tcp_socket.fileno())
        self._last_pause = time.monotonic()
        if self._paused_since is None:
            self._paused_since = self._last_pause
            log.warning("not accepting TCP connections for now: %s; new senders wait in the queue", why)
        self._retry = self._loop.call_later(ACCEPT_PAUSE_SECONDS, self._watch)

    def _watch(self) -> None:
        """Watch the listening socket again after a pause."""
        if self._tcp_socket is not None:
            self._loop.add_reader(self._tcp_socket.fileno(), self._accept)

    def _resumed(self) -> None:
        """A connection was accepted: the episode of pauses ends if none follows within a quiet spell."""
        if self._paused_since is not None:
            self._loop.call_later(EPISODE_QUIET_SECONDS, self._end_episode)

    def _end_episode(self) -> None:
        """Say once that accepting works again, unless it paused meanwhile (descriptors hovering at the limit)."""
        if self._paused_since is not None and time.monotonic() - self._last_pause >= EPISODE_QUIET_SECONDS:
            log.warning("accepting TCP connections again after %.1f s", self._last_pause - self._paused_since)
            self._paused_since = None

    async def close(self) -> None:
        """Stop accepting, then close every connection, handing over what each had buffered."""
        if self._retry is not None:
            self._retry.cancel()
        if self._tcp_socket is not None:
            self._loop.remove_reader(self._tcp_socket.fileno())
            self._tcp_socket.close()
            self._tcp_socket = None
        for task in list(self._opening):
            task.cancel()
        if self.udp_socket is not None and self.udp_socket.fileno() >= 0:
            self._loop.remove_reader(self.udp_socket.fileno())
            self.udp_socket.close()
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()
        await asyncio.sleep(0)

    def _resume(self) -> None:
        """Resume paused TCP readers once the writer has made room."""
        if self.buffer.full:
            self.buffer.pressure = True
            return
        for connection in list(self.paused):
            if connection.transport is not None and not connection.transport.is_closing():
                connection.transport.resume_reading()
        self.paused.clear()


def _socket(host: str, kind: socket.SocketKind) -> socket.socket:
    """A socket for host; an IPv6 one also takes IPv4 (`::` listens on both), like the UDP side always did."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, kind)
    if kind == socket.SOCK_STREAM:  # quick restarts; for UDP it would let a second collector share the port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    return sock


def _tcp_socket(host: str, port: int) -> socket.socket:
    """The listening TCP socket, with a backlog for many routers reconnecting at once."""
    sock = _socket(host, socket.SOCK_STREAM)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _udp_socket(host: str, port: int, rcvbuf: int) -> socket.socket:
    """A UDP socket with a receive buffer sized for bursts (SO_RCVBUFFORCE when allowed)."""
    sock = _socket(host, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), rcvbuf)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    effective = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2  # Linux reports double
    if effective < rcvbuf:
        log.warning(
            "UDP receive buffer is %d bytes, not the %d asked for: raise net.core.rmem_max on the host",
            effective,
            rcvbuf,
        )
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft open-files limit to the hard one (containers and systemd start at 1024); return (old, new)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft, soft
    return soft, target


def kernel_udp_drops(sock: socket.socket) -> int | None:
    """Datagrams the kernel dropped on this socket (receive buffer overflow), from /proc/net/udp*."""
    inode = str(os.fstat(sock.fileno()).st_ino)
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as file:
                next(file)
                for line in file:
                    fields = line.split()
                    if len(fields) >= 13 and fields[9] == inode:
                        return int(fields[12])
        except OSError:
            continue
    return None
