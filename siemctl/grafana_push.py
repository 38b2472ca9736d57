"""Install the data source and dashboards into a Grafana you already run, idempotently (grafana-client).

The decisions (what to create, update or leave alone) are pure functions of what
the Grafana reports, so they are tested without a server; `push` only carries them out.
"""

import os
from dataclasses import dataclass
from typing import Any

from siemctl import dashboards
from siemctl.panels import DATASOURCE

FOLDER_UID = "siem-at-home"
FOLDER_TITLE = "SIEM@Home"
_COMPARED = ("name", "type", "url", "user", "access", "jsonData")


@dataclass(frozen=True)
class Action:
    """One change to make: what, to which object, with which payload."""

    kind: str  # create-datasource, update-datasource, create-folder, upload-dashboard
    uid: str
    payload: dict[str, Any]
    reason: str


def datasource_payload(environ: dict[str, str]) -> dict[str, Any]:
    """The MySQL data source as our provisioning defines it, for MariaDB as Grafana reaches it."""
    host = environ.get("SIEM_GRAFANA_DB_HOST") or environ.get("SIEM_DB_HOST", "127.0.0.1")
    return {
        "name": "SIEM@Home",
        "uid": DATASOURCE["uid"],
        "type": "mysql",
        "access": "proxy",
        "url": f"{host}:{environ.get('SIEM_DB_PORT', '3306')}",
        "user": environ.get("SIEM_READER_USER", "siem_reader"),
        "isDefault": False,
        "jsonData": {"database": environ.get("SIEM_DB_NAME", "siem"), "timezone": "+00:00", "maxOpenConns": 5},
        "secureJsonData": {"password": environ.get("SIEM_READER_PASSWORD", "")},
    }


def comparable(board: dict[str, Any]) -> dict[str, Any]:
    """A dashboard without the fields Grafana adds or bumps on save."""
    return {key: value for key, value in board.items() if key not in {"id", "version", "iteration"}}


def plan(
    datasource: dict[str, Any] | None,
    folder: dict[str, Any] | None,
    existing: dict[str, dict[str, Any] | None],
    wanted_datasource: dict[str, Any],
    wanted_dashboards: dict[str, dict[str, Any]],
) -> list[Action]:
    """What to do given what Grafana has: create what is missing, update what differs, skip what matches.

    `existing` maps each dashboard uid to the dashboard Grafana holds (None if absent).
    A data source's password cannot be read back, so a data source that matches in
    every other field is left alone (pass the password again by deleting it first).
    """
    actions: list[Action] = []
    if datasource is None:
        actions.append(Action("create-datasource", wanted_datasource["uid"], wanted_datasource, "missing"))
    else:
        changed = [key for key in _COMPARED if datasource.get(key) != wanted_datasource.get(key)]
        if changed:
            payload = {**wanted_datasource, "id": datasource.get("id")}
            actions.append(
                Action("update-datasource", wanted_datasource["uid"], payload, f"differs in {', '.join(changed)}")
            )
    if folder is None:
        actions.append(Action("create-folder", FOLDER_UID, {"title": FOLDER_TITLE, "uid": FOLDER_UID}, "missing"))
    for uid, board in wanted_dashboards.items():
        held = existing.get(uid)
        if held is not None and comparable(held) == comparable(board):
            continue
        payload = {"dashboard": {**board, "id": None}, "folderUid": FOLDER_UID, "overwrite": True,
                   "message": "installed by siemctl grafana-push"}  # fmt: skip
        actions.append(Action("upload-dashboard", uid, payload, "missing" if held is None else "differs"))
    return actions


def wanted_dashboards() -> dict[str, dict[str, Any]]:
    """Our dashboards by uid, exactly as provisioned."""
    boards = [build() for build in dashboards.DASHBOARDS.values()]
    return {board["uid"]: board for board in boards}


def push(url: str, token: str, environ: dict[str, str] | None = None, dry_run: bool = False) -> list[Action]:
    """Read what the Grafana at `url` has, plan, and (unless dry_run) apply; return the actions."""
    from grafana_client import GrafanaApi  # noqa: PLC0415  (only this command needs it)
    from grafana_client.client import GrafanaClientError  # noqa: PLC0415

    def lookup(call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except GrafanaClientError as error:
            if getattr(error, "status_code", None) == 404:
                return None
            raise

    api = GrafanaApi.from_url(url, credential=token, timeout=10)
    wanted = wanted_dashboards()
    held = {uid: (lookup(api.dashboard.get_dashboard, uid) or {}).get("dashboard") for uid in wanted}
    actions = plan(
        lookup(api.datasource.get_datasource_by_uid, DATASOURCE["uid"]),
        lookup(api.folder.get_folder, FOLDER_UID),
        held,
        datasource_payload(dict(environ if environ is not None else os.environ)),
        wanted,
    )
    if dry_run:
        return actions
    for action in actions:
        if action.kind == "create-datasource":
            api.datasource.create_datasource(action.payload)
        elif action.kind == "update-datasource":
            api.datasource.update_datasource_by_uid(action.uid, action.payload)
        elif action.kind == "create-folder":
            api.folder.create_folder(action.payload["title"], uid=action.uid)
        else:
            api.dashboard.update_dashboard(action.payload)
    return actions
