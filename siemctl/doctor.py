"""`siemctl doctor`: after deployment, check each part and say what to fix when one is not right.

Stdlib only for the API and syslog checks, so it runs anywhere Python does; the
Grafana data-source and dashboard checks use grafana-client (`make doctor` installs it).
"""

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from siemctl.grafana_push import FOLDER_UID, wanted_dashboards
from siemctl.panels import DATASOURCE


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, whether it passed, and what was seen or what to do."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """`OK   name: detail` or `FAIL name: hint`."""
        return f"{'OK  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def _get(url: str, headers: dict[str, str] | None = None, timeout: float = 5) -> tuple[int, dict]:
    """GET a JSON document; (status, body). Connection problems raise OSError."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310  (URLs the user gave)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            body = json.loads(error.read() or b"{}")
        except ValueError:
            body = {}
        return error.code, body


def check_api(api: str, token: str) -> Iterator[Check]:
    """API health (and MariaDB behind it), then whether our token is the API's."""
    try:
        status, body = _get(f"{api}/health")
    except OSError as error:
        yield Check("API", False, f"not reachable at {api} ({error}): is the api container up? (docker compose ps)")
        return
    if status != 200:
        yield Check("API", False, f"answers, but {_database_fix(body)}")
        return
    yield Check("API", True, f"{api} answers, MariaDB reachable")
    status, _ = _get(f"{api}/api/v1/stats", {"Authorization": f"Bearer {token}"})
    if status == 401:
        yield Check(
            "API token", False, "refused: SIEM_API_TOKEN differs from the running API's; restart it after editing .env"
        )
    else:
        yield Check("API token", status == 200, "accepted" if status == 200 else f"unexpected answer {status}")


_DATABASE_FIXES = {
    "access denied": "MariaDB refused the API's account: check SIEM_READER_PASSWORD in .env (it must be the one"
    " MariaDB was set up with); if it is, the accounts are missing: run `make upgrade-db`",
    "database missing": "the database is missing: check SIEM_DB_NAME in .env, then run `make upgrade-db`",
    "no access to the database": "the API's account may not use that database: check SIEM_DB_NAME in .env,"
    " then run `make upgrade-db` to restore the grants",
    "unreachable": "MariaDB does not answer: see `docker compose ps` and `docker compose logs mariadb`",
}


def _database_fix(body: dict) -> str:
    """What to do about the database state /health reports."""
    state = body.get("database", "") if isinstance(body, dict) else ""
    return _DATABASE_FIXES.get(state, f"MariaDB does not answer ({body}): see `docker compose logs mariadb`")


def check_syslog(api: str, token: str, host: str, port: int, wait: float = 15) -> Iterator[Check]:
    """Send one test message over UDP and one over TCP, then look for both through the API."""
    marker = f"siem-doctor-{uuid.uuid4().hex[:12]}"
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    line = f"<14>1 {stamp} siem-doctor doctor - - - {marker}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(f"{line} udp".encode(), (host, port))
    tcp_sent = True
    try:
        with socket.create_connection((host, port), timeout=5) as tcp:
            tcp.sendall(f"{line} tcp\n".encode())
    except OSError as error:
        tcp_sent = False
        yield Check(
            "syslog TCP",
            False,
            f"collector not accepting TCP on {host}:{port} ({error}): is it running and 5514/tcp published?",
        )
    seen: set[str] = set()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and len(seen) < 1 + tcp_sent:
        seen = _search(api, token, marker)
        time.sleep(0.5)
    if tcp_sent:
        hint = "sent but not stored within 15 s: see `docker compose logs collector` (is MariaDB reachable?)"
        yield Check("syslog TCP", "tcp" in seen, "test message stored" if "tcp" in seen else hint)
    if "udp" in seen:
        yield Check("syslog UDP", True, "test message stored")
    else:
        yield Check("syslog UDP", False, f"no row from the UDP test message: check that the port mapping has "
                    f"{port}:{port}/udp (same number both sides) and that no firewall blocks UDP {port}")  # fmt: skip


def _search(api: str, token: str, marker: str) -> set[str]:
    """The last words of the messages holding the marker, following the search's cursor page by page."""
    found: set[str] = set()
    cursor = ""
    for _page in range(100):
        try:
            status, body = _get(
                f"{api}/api/v1/messages?q={marker}&since=15m&limit=10{cursor}", {"Authorization": f"Bearer {token}"}
            )
        except OSError:  # the API check has already said it is unreachable
            break
        if status != 200:
            break
        found |= {item["message"].rsplit(" ", 1)[-1] for item in body.get("items", [])}
        if not body.get("next_cursor"):
            break
        cursor = "&cursor=" + urllib.parse.quote(body["next_cursor"])
    return found


def check_grafana(url: str, user: str, password: str) -> Iterator[Check]:
    """Grafana up, our data source healthy, our dashboards present."""
    try:
        status, body = _get(f"{url}/api/health")
    except OSError as error:
        yield Check("Grafana", False, f"not reachable at {url} ({error}): is the grafana container up?")
        return
    if status != 200 or body.get("database") != "ok":
        yield Check("Grafana", False, f"unhealthy ({status} {body}): see `docker compose logs grafana`")
        return
    yield Check("Grafana", True, f"{url} up (version {body.get('version', '?')})")
    try:
        from grafana_client import GrafanaApi  # noqa: PLC0415  (optional: only these checks need it)
    except ImportError:
        yield Check("Grafana data source", False, "cannot check without grafana-client: run `make doctor`")
        return
    api = GrafanaApi.from_url(url, credential=(user, password), timeout=10)
    try:
        result = api.datasource.health(DATASOURCE["uid"])
        ok = result.get("status") == "OK"
        yield Check("Grafana data source", ok, result.get("message", "") if ok else
                    f"{result.get('message')}: check SIEM_READER_PASSWORD and that mariadb is healthy")  # fmt: skip
    except Exception as error:  # the client's errors carry the reason; any of them is a failed check
        yield Check(
            "Grafana data source", False, f"{error}: provisioning not loaded? see `docker compose logs grafana`"
        )
    missing = []
    for uid in wanted_dashboards():
        try:
            api.dashboard.get_dashboard(uid)
        except Exception:  # absent or unreadable: either way the user does not see it
            missing.append(uid)
    yield Check("Grafana dashboards", not missing, f"all present in folder {FOLDER_UID}" if not missing else
                f"missing {', '.join(missing)}: is ./grafana/dashboards mounted? (docker compose config)")  # fmt: skip


def run(checks: list[Iterator[Check]]) -> int:
    """Print every check; 0 when all passed, 1 otherwise."""
    failed = 0
    for group in checks:
        for check in group:
            print(check.line(), flush=True)
            failed += not check.ok
    print(f"{failed} check(s) failed" if failed else "all checks passed")
    return 1 if failed else 0
