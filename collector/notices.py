"""The collector's own notices, written to `messages` like syslog-ng's internal() source."""

import logging
import os
import socket
import time
from datetime import UTC, datetime

from collector.buffer import Buffer, Received
from collector.syslog import Facility, Severity

log = logging.getLogger("collector")
PROGRAM = "siem-collector"


class Notices:
    """Logs a notice and queues it as a syslog message of its own, so it lands beside the logs it explains."""

    def __init__(self, buffer: Buffer) -> None:
        self._buffer = buffer
        self._host = socket.gethostname() or "siem-collector"
        self._pid = os.getpid()

    def emit(self, severity: Severity, text: str, *args: object) -> None:
        """Log `text % args` at the matching level and queue it for the database."""
        message = text % args if args else text
        log.log(_LEVELS[severity], "%s", message)
        now = time.time()
        stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        pri = Facility.SYSLOG * 8 + severity
        line = f"<{pri}>1 {stamp} {self._host} {PROGRAM} {self._pid} - - {message}"
        self._buffer.put(Received(now, None, line.encode(), False))


_LEVELS = {
    Severity.EMERG: logging.CRITICAL,
    Severity.ALERT: logging.CRITICAL,
    Severity.CRIT: logging.CRITICAL,
    Severity.ERR: logging.ERROR,
    Severity.WARNING: logging.WARNING,
    Severity.NOTICE: logging.INFO,
    Severity.INFO: logging.INFO,
    Severity.DEBUG: logging.DEBUG,
}
