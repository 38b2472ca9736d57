"""Installing into an existing Grafana: the payloads and the create/update/skip decisions.

No Grafana server runs here, so what is tested is what `grafana-push` would send and
whether it would send it; the HTTP calls themselves are grafana-client's.
"""

import copy

from siemctl.grafana_push import FOLDER_UID, comparable, datasource_payload, plan, wanted_dashboards

ENV = {"SIEM_DB_HOST": "nas.local", "SIEM_DB_PORT": "3307", "SIEM_DB_NAME": "siem", "SIEM_READER_PASSWORD": "r3ad"}


class TestPlan:
    """Creates what is missing, updates what differs, leaves the rest alone."""

    def test_empty_grafana_gets_everything(self) -> None:
        """A fresh Grafana: data source, folder and all four dashboards."""
        actions = plan(None, None, {}, datasource_payload(ENV), wanted_dashboards())
        kinds = [action.kind for action in actions]
        assert kinds == ["create-datasource", "create-folder"] + ["upload-dashboard"] * 5
        uploads = [action.payload for action in actions if action.kind == "upload-dashboard"]
        assert all(payload["folderUid"] == FOLDER_UID and payload["overwrite"] for payload in uploads)
        assert all(payload["dashboard"]["id"] is None for payload in uploads)

    def test_second_run_changes_nothing(self) -> None:
        """Running it again against what the first run created is a no-op."""
        wanted = wanted_dashboards()
        held = {uid: {**copy.deepcopy(board), "id": 17, "version": 3} for uid, board in wanted.items()}
        source = {**datasource_payload(ENV), "id": 4}
        del source["secureJsonData"]
        assert plan(source, {"uid": FOLDER_UID}, held, datasource_payload(ENV), wanted) == []

    def test_changed_dashboard_and_moved_database_are_updated(self) -> None:
        """An edited dashboard is overwritten; a data source pointing elsewhere is corrected, keeping its id."""
        wanted = wanted_dashboards()
        held = {uid: copy.deepcopy(board) for uid, board in wanted.items()}
        held["siem-logs"]["title"] = "Logs (edited)"
        source = {**datasource_payload({**ENV, "SIEM_DB_HOST": "old-host"}), "id": 4}
        actions = plan(source, {"uid": FOLDER_UID}, held, datasource_payload(ENV), wanted)
        assert [(action.kind, action.uid) for action in actions] == [
            ("update-datasource", "siem-mariadb"),
            ("upload-dashboard", "siem-logs"),
        ]
        assert actions[0].payload["id"] == 4
        assert actions[0].payload["url"] == "nas.local:3307"
        assert "url" in actions[0].reason


class TestPayloads:
    """What is sent matches what provisioning would create."""

    def test_datasource_uses_the_reader_and_utc(self) -> None:
        """Read-only account, password in secureJsonData, session in UTC."""
        payload = datasource_payload({**ENV, "SIEM_GRAFANA_DB_HOST": "192.168.1.10"})
        assert (payload["uid"], payload["type"], payload["user"]) == ("siem-mariadb", "mysql", "siem_reader")
        assert payload["url"] == "192.168.1.10:3307"
        assert payload["secureJsonData"] == {"password": "r3ad"}
        assert payload["jsonData"]["timezone"] == "+00:00"

    def test_dashboards_are_the_provisioned_ones(self) -> None:
        """The same four dashboards, compared without the fields Grafana bumps."""
        wanted = wanted_dashboards()
        assert sorted(wanted) == ["siem-devices", "siem-dns", "siem-firewall", "siem-home", "siem-logs"]
        assert comparable({**wanted["siem-home"], "version": 9, "id": 1}) == comparable(wanted["siem-home"])
