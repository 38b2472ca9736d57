"""Entry point: settings → buffer → writer thread → UDP/TCP listener, until SIGTERM."""

import asyncio
import gc
import json
import logging
import signal
import sys
import time

from collector import vendors
from collector.buffer import Buffer
from collector.notices import Notices
from collector.notifier import Notifier
from collector.rankings import Ranker
from collector.retention import Janitor
from collector.server import OWN_DESCRIPTORS, Listener, connection_bound, kernel_udp_drops, raise_open_files_limit
from collector.settings import Settings, SettingsError
from collector.spool import Spool
from collector.stats import Counters
from collector.syslog import Severity
from collector.tallies import Tallies
from collector.writer import Writer

log = logging.getLogger("collector")
_REPORT_SECONDS = 10.0


async def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT, then stop listening, drain, flush and report."""
    old, limit = raise_open_files_limit()
    if limit != old:
        log.info("open-files limit raised from %d to %d", old, limit)
    bound, _ = connection_bound(settings.max_tcp_connections, limit)
    if bound < settings.max_tcp_connections:
        log.warning(
            "open-files limit is %d, below SIEM_MAX_TCP_CONNECTIONS (%d) plus the %d the collector itself needs:"
            " holding at most %d TCP connections; raise it (ulimits: nofile in docker-compose.yml, LimitNOFILE="
            " under systemd)",
            limit,
            settings.max_tcp_connections,
            OWN_DESCRIPTORS,
            bound,
        )
    vendors.load()
    settle_heap()
    counters = Counters()
    buffer = Buffer(settings.buffer_messages, settings.batch_size)
    notices = Notices(buffer)
    spool = Spool(settings.spool_dir, settings.spool_max_bytes)
    tallies = Tallies()
    writer = Writer(settings, buffer, spool, counters, notices, tallies=tallies)
    listener = Listener(settings, buffer, counters, limit)
    try:
        await listener.start()
    except OSError as error:
        log.error("cannot listen on %s:%d: %s", settings.syslog_host, settings.syslog_port, error)
        return 1
    writer.start()
    notifier = Notifier(settings) if settings.notify_urls else None
    if notifier is not None:
        notifier.start()
    janitor = Janitor(settings, notices)
    janitor.start()
    ranker = Ranker(settings, tallies)
    ranker.start()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, ranker.wake)
    drops = DropReporter(counters, notices)
    monitor = asyncio.create_task(_monitor(settings, listener, counters, drops))
    await stop.wait()

    log.info("stopping: no longer listening; draining %d buffered messages", len(buffer))
    monitor.cancel()
    await listener.close()
    janitor.stop()
    ranker.stop()
    writer.stop()
    await asyncio.to_thread(writer.join)
    # Not left running into the interpreter's shutdown: a daemon thread inside a query as the
    # interpreter finalises can crash the process (seen: SIGSEGV after "stopped" was logged).
    for thread in (janitor, ranker):
        await asyncio.to_thread(thread.join, 10)
    if notifier is not None:
        notifier.stop()
        await asyncio.to_thread(notifier.join, 10)
    drops.report(store=False)
    log.info("stopped: %s", json.dumps(counters.snapshot()))
    return 0


# Young objects a collection of the cyclic garbage collector waits for. A batch makes tuples by the
# ten thousand and frees them again without a cycle among them; at Python's default of 700 the
# collector scanned each batch's rows several times over: 500 collections and 0.2 s of CPU, about
# 8% of the collector's, in a burst of 100,000 messages.
GC_YOUNG_OBJECTS = 50_000

# How long a thread that wants the interpreter waits for the one running Python (Python's default: 5 ms).
# The writer thread takes it back after every system call of a statement (a LOAD DATA file's packets
# too, see bulk.send_file) while the parser thread runs Python flat out. At 5 ms a batch's loads spent
# most of their time waiting for their turn (a burst: 11 s of load time against 6-7 s at 1 ms, and
# 18k against 23k messages a second); the switches themselves cost microseconds.
GIL_SWITCH_SECONDS = 0.001


def settle_heap() -> None:
    """Keep start-up objects (modules, the MAC registry) out of every garbage collection, and collect less often.

    What the collector allocates per message are tuples and strings that reference counting
    frees; cycles are rare (an exception's traceback) and still collected, just later.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_OBJECTS, middle, old)


async def _monitor(settings: Settings, listener: Listener, counters: Counters, drops: "DropReporter") -> None:
    """Every few seconds: report drops since last time and refresh the heartbeat file."""
    kernel_base = kernel_udp_drops(listener.udp_socket) if listener.udp_socket else None
    while True:
        try:
            if listener.udp_socket is not None and kernel_base is not None:
                kernel_total = kernel_udp_drops(listener.udp_socket)
                if kernel_total is not None:
                    counters.udp_dropped_kernel = kernel_total - kernel_base
            drops.report()
            if settings.heartbeat_file is not None:
                _beat(settings, counters)
        except Exception:  # a reporting bug must not stop the reports that follow
            log.exception("monitor failed; carrying on")
        await asyncio.sleep(_REPORT_SECONDS)


class DropReporter:
    """Logs (and stores as a notice) any UDP drops and TCP frames cut short since the previous report."""

    _CAUSES = (
        ("udp_dropped_full", "the collector's buffer was full"),
        ("udp_dropped_kernel", "the kernel's receive buffer overflowed"),
    )

    def __init__(self, counters: Counters, notices: Notices) -> None:
        self._counters = counters
        self._notices = notices
        self._seen = dict.fromkeys((name for name, _ in self._CAUSES), 0)
        self._seen_cut = (0, 0)

    def report(self, store: bool = True) -> None:
        """Report new drops; `store=False` only logs them (the writer has already stopped)."""
        for name, why in self._CAUSES:
            total = getattr(self._counters, name)
            new = total - self._seen[name]
            if new > 0:
                self._seen[name] = total
                text = f"dropped {new} UDP messages because {why} ({total} in all); TCP does not lose messages"
                self._say(text, store)
        cut, discarded = self._counters.tcp_cut, self._counters.tcp_discarded_bytes
        if (cut, discarded) != self._seen_cut:
            new_cut, new_bytes = cut - self._seen_cut[0], discarded - self._seen_cut[1]
            self._seen_cut = (cut, discarded)
            self._say(
                f"cut {new_cut} TCP messages longer than SIEM_MAX_MESSAGE_BYTES (stored marked truncated) and"
                f" discarded {new_bytes} bytes beyond the limit ({cut} messages, {discarded} bytes in all);"
                " the messages after them were kept",
                store,
            )

    def _say(self, text: str, store: bool) -> None:
        if store:
            self._notices.emit(Severity.WARNING, text)
        else:
            log.warning("%s", text)


def _beat(settings: Settings, counters: Counters) -> None:
    """Write the liveness file the container healthcheck reads (UDP has no handshake to probe)."""
    try:
        payload = json.dumps({"time": time.time(), **counters.snapshot()})
        settings.heartbeat_file.write_text(payload)
    except OSError as error:
        log.warning("cannot write heartbeat file %s: %s", settings.heartbeat_file, error)


def main() -> int:
    """Read settings, exiting with a clear message on a bad value, then serve."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"collector: configuration error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    try:
        return asyncio.run(serve(settings))
    except OSError as error:
        log.error("%s", error)
        return 1


if __name__ == "__main__":
    sys.exit(main())
