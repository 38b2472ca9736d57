"""New-device notifications through Apprise, in their own thread: a slow or dead receiver never touches ingest."""

import logging
import threading
from datetime import UTC, datetime, timedelta

import pymysql

from collector import db
from collector.notify_policy import (
    SEND,
    DomainPolicy,
    NewDomain,
    PendingEvent,
    Policy,
    decide,
    decide_domain,
    digest,
    domain_digest,
)
from collector.settings import Settings

log = logging.getLogger(__name__)
_MAX_BACKOFF_SECONDS = 3600.0

_PENDING = (
    "SELECT e.id, e.timestamp, e.mac, e.ip, d.name, d.vendor, d.hostname, d.known, d.randomised, "
    "EXISTS (SELECT 1 FROM devices AS o WHERE o.hostname = d.hostname AND o.mac <> d.mac) "
    "FROM device_events AS e JOIN devices AS d ON d.mac = e.mac "
    "WHERE e.event = 'new device' AND e.notified_at IS NULL ORDER BY e.id LIMIT 500"
)
_DECIDED = "UPDATE device_events SET notified_at = UTC_TIMESTAMP(3), notice = %s WHERE id = %s"
# Known devices' first queries for a domain in the last day, with when each device first asked anything.
_NEW_DOMAINS = (
    "SELECT x.device, x.domain_id, n.name, x.first_seen, d.name, d.hostname, d.vendor,"
    " (SELECT MIN(o.first_seen) FROM dns_device_domains AS o WHERE o.device = x.device)"
    " FROM dns_device_domains AS x JOIN devices AS d ON d.mac = x.device AND d.known"
    " JOIN dns_domains AS n ON n.id = x.domain_id"
    " WHERE x.first_seen >= UTC_TIMESTAMP() - INTERVAL 1 DAY AND x.notice IS NULL ORDER BY x.first_seen LIMIT 500"
)
_DOMAIN_DECIDED = "UPDATE dns_device_domains SET notice = %s WHERE device = %s AND domain_id = %s"


class Notifier(threading.Thread):
    """Every SIEM_NOTIFY_DIGEST_SECONDS: decide pending `new device` events, send one digest, mark them.

    Events stay pending until a notification went out (or was deliberately not
    sent), so a receiver that is down gets the message when it is back; retries
    back off up to an hour.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="notifier", daemon=True)
        self._settings = settings
        self._stop_event = threading.Event()
        self._connection: pymysql.connections.Connection | None = None
        self._policy: Policy | None = None
        self._domain_policy: DomainPolicy | None = None
        self._waited: set[int] = set()
        self._backoff = settings.notify_digest_seconds

    def stop(self) -> None:
        """Finish after the current round."""
        self._stop_event.set()

    def run(self) -> None:
        """Load Apprise (only now: it is not needed without notification URLs) and run rounds until stopped."""
        import apprise  # noqa: PLC0415  (heavy, and only wanted when notifications are configured)

        logging.getLogger("apprise").setLevel(logging.WARNING)
        sender = apprise.Apprise()
        for url in self._settings.notify_urls:
            if not sender.add(url):
                log.error("notification URL not understood by Apprise, ignored: %s", _redact(url))
        if len(sender) == 0:
            log.error("no usable notification URL: new-device notifications are off")
            return
        log.info("new-device notifications to %d URL(s), at most one message every %.0f s",
                 len(sender), self._settings.notify_digest_seconds)  # fmt: skip
        wait = self._settings.notify_digest_seconds
        while not self._stop_event.wait(wait):
            try:
                wait = self._round(sender)
            except (db.DatabaseDown, pymysql.err.MySQLError, OSError) as error:
                log.warning("notifier cannot read the inventory: %s", error)
                self._close()
                wait = self._settings.notify_digest_seconds
        self._close()

    def _round(self, sender: object) -> float:
        """Decide and notify once; return how long to wait before the next round."""
        wait = self._devices_round(sender)
        if self._settings.notify_new_domains:
            wait = max(wait, self._domains_round(sender))
        return wait

    def _domains_round(self, sender: object) -> float:
        """Known devices contacting a domain for the first time: decide each, send one digest, mark them."""
        connection = self._connect()
        with connection.cursor() as cursor:
            cursor.execute(_NEW_DOMAINS)
            pending = [NewDomain(*row) for row in cursor.fetchall()]
        connection.commit()
        if not pending:
            return self._settings.notify_digest_seconds
        now = datetime.now(UTC).replace(tzinfo=None)
        policy = self._domain_policy
        if policy is None:  # set by _connect, with the learning period
            return self._settings.notify_digest_seconds
        verdicts = [(decide_domain(new, now, policy), new) for new in pending]
        outgoing = [new for verdict, new in verdicts if verdict == SEND]
        quiet = [(verdict, new.device, new.domain_id) for verdict, new in verdicts if verdict != SEND]
        if outgoing:
            title, body = domain_digest(outgoing)
            if not sender.notify(title=title, body=body):
                self._backoff = min(self._backoff * 2, _MAX_BACKOFF_SECONDS)
                log.warning("could not deliver the notification of %d new domain(s); retrying in %.0f s",
                            len(outgoing), self._backoff)  # fmt: skip
                outgoing = []
            else:
                log.info("notified %d new domain(s) of known devices", len(outgoing))
        decided = quiet + [(SEND, new.device, new.domain_id) for new in outgoing]
        with connection.cursor() as cursor:
            cursor.executemany(_DOMAIN_DECIDED, decided)
        connection.commit()
        return self._backoff if len(decided) < len(pending) else self._settings.notify_digest_seconds

    def _devices_round(self, sender: object) -> float:
        """New devices: decide, send one digest, mark them; return how long to wait."""
        connection = self._connect()
        with connection.cursor() as cursor:
            cursor.execute(_PENDING)
            pending = [PendingEvent(*row[:9], hostname_elsewhere=bool(row[9])) for row in cursor.fetchall()]
        connection.commit()
        now = datetime.now(UTC).replace(tzinfo=None)
        outgoing, decided = [], []
        for event in pending:
            event.waited = event.id in self._waited
            verdict = decide(event, now, self._policy)
            if verdict is None:
                self._waited.add(event.id)
            elif verdict == SEND:
                outgoing.append(event)
            else:
                decided.append((verdict, event.id))
        self._mark(decided)
        if not outgoing:
            return self._settings.notify_digest_seconds
        title, body = digest(outgoing)
        if not sender.notify(title=title, body=body):
            self._backoff = min(self._backoff * 2, _MAX_BACKOFF_SECONDS)
            log.warning("could not deliver the notification of %d new device(s); retrying in %.0f s",
                        len(outgoing), self._backoff)  # fmt: skip
            return self._backoff
        self._mark([(SEND, event.id) for event in outgoing])
        log.info("notified %d new device(s)", len(outgoing))
        self._backoff = self._settings.notify_digest_seconds
        return self._settings.notify_digest_seconds

    def _mark(self, decided: list[tuple[str, int]]) -> None:
        """Record each decision so an event is never announced twice."""
        if not decided:
            return
        connection = self._connect()
        with connection.cursor() as cursor:
            cursor.executemany(_DECIDED, decided)
        connection.commit()
        self._waited.difference_update(event_id for _, event_id in decided)

    def _connect(self) -> pymysql.connections.Connection:
        """Reuse or open the notifier's own connection; read the learning period once."""
        if self._connection is None:
            self._connection = db.connect(self._settings)
        if self._policy is None:
            with self._connection.cursor() as cursor:
                cursor.execute("SELECT value FROM appliance WHERE name = 'installed_at'")
                row = cursor.fetchone()
            installed = datetime.fromisoformat(row[0]) if row else datetime.now(UTC).replace(tzinfo=None)
            learning_until = installed + timedelta(hours=self._settings.notify_learning_hours)
            self._policy = Policy(learning_until, self._settings.notify_randomised)
            self._domain_policy = DomainPolicy(
                learning_until,
                timedelta(days=self._settings.notify_domains_learning_days),
                self._settings.notify_domains_allowed,
            )
            if learning_until > datetime.now(UTC).replace(tzinfo=None):
                log.info("learning until %s UTC: new devices are recorded without notifications", learning_until)
        return self._connection

    def _close(self) -> None:
        db.close_quietly(self._connection)
        self._connection = None


def _redact(url: str) -> str:
    """Show a URL's scheme only: notification URLs carry tokens and passwords."""
    return url.split("://", 1)[0] + "://…"
