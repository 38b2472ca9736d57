"""The network side: syslog over UDP and TCP on one port, handed to the buffer without waiting."""

import asyncio
import logging
import os
import socket
import time

from collector.buffer import Buffer, Received
from collector.framing import FrameDecoder
from collector.settings import Settings
from collector.stats import Counters

log = logging.getLogger(__name__)


def _sender(address: tuple) -> str:
    """The peer's IP as text, with IPv4-mapped IPv6 (`::ffff:a.b.c.d`) unwrapped."""
    host = str(address[0])
    return host.removeprefix("::ffff:") if host.startswith("::ffff:") and "." in host else host


class UdpReceiver(asyncio.DatagramProtocol):
    """One datagram is one message; refused (and counted) only when the buffer is full."""

    def __init__(self, buffer: Buffer, counters: Counters, max_bytes: int) -> None:
        self._buffer = buffer
        self._counters = counters
        self._max = max_bytes

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        truncated = len(data) > self._max
        if truncated:
            data = data[: self._max]
        if self._buffer.offer(Received(time.time(), _sender(addr), data, truncated)):
            self._counters.udp_received += 1
        else:
            self._counters.udp_dropped_full += 1

    def error_received(self, exc: Exception) -> None:
        log.warning("UDP socket error: %s", exc)


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
        buffer = self._listener.buffer
        if buffer.full and self.transport is not None:
            self.transport.pause_reading()
            self._listener.paused.add(self)
            buffer.pressure = True

    def eof_received(self) -> bool:
        self._hand_over(self._decoder.finish())
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._hand_over(self._decoder.finish())
        self._listener.connections.discard(self)
        self._listener.paused.discard(self)

    def _hand_over(self, frames: list) -> None:
        if not frames:
            return
        now, peer, put = time.time(), self._peer, self._listener.buffer.put
        for frame in frames:
            put(Received(now, peer, frame.data, frame.truncated))
        self._listener.counters.tcp_received += len(frames)


class Listener:
    """Owns both sockets, the open TCP connections and the flow control between them and the buffer."""

    def __init__(self, settings: Settings, buffer: Buffer, counters: Counters) -> None:
        self.settings = settings
        self.buffer = buffer
        self.counters = counters
        self.connections: set[TcpReceiver] = set()
        self.paused: set[TcpReceiver] = set()
        self.udp_socket: socket.socket | None = None
        self._udp_transport: asyncio.DatagramTransport | None = None
        self._tcp_server: asyncio.AbstractServer | None = None
        self._loop = asyncio.get_running_loop()
        buffer.on_drained = lambda: self._loop.call_soon_threadsafe(self._resume)

    async def start(self) -> None:
        """Bind UDP and TCP on the configured port; raise OSError with the reason if either fails."""
        host, port = self.settings.syslog_host, self.settings.syslog_port
        self.udp_socket = _udp_socket(host, port, self.settings.udp_rcvbuf_bytes)
        self._udp_transport, _ = await self._loop.create_datagram_endpoint(
            lambda: UdpReceiver(self.buffer, self.counters, self.settings.max_message_bytes), sock=self.udp_socket
        )
        self._tcp_server = await self._loop.create_server(lambda: TcpReceiver(self), sock=_tcp_socket(host, port))
        log.info("listening for syslog on %s:%d (UDP and TCP)", host, port)

    async def close(self) -> None:
        """Stop accepting, then close every connection, handing over what each had buffered."""
        if self._tcp_server is not None:
            self._tcp_server.close()
        if self._udp_transport is not None:
            self._udp_transport.close()
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
