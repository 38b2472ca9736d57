"""The API names why MariaDB is unavailable: in its log once per change, in /health, and `doctor` prints the fix."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import API_TOKEN
from tests.servers import ROOT, ApiProcess, MariaDBServer, free_port

WRONG = "wrong-password-Zq81"


@pytest.fixture
def start_api(tmp_path: Path) -> Iterator[Callable[..., ApiProcess]]:
    """Start `python -m api` with the given database settings; stopped at teardown."""
    started: list[ApiProcess] = []

    def start(**env: str) -> ApiProcess:
        api = ApiProcess({"SIEM_API_TOKEN": API_TOKEN, **env}, tmp_path / f"api-{len(started)}.log").start()
        started.append(api)
        return api

    yield start
    for api in started:
        api.stop()


def database(db_env: dict[str, str], **overrides: str) -> dict[str, str]:
    """The API's database settings as compose gives them (the read-only account), with overrides."""
    return {
        "SIEM_DB_HOST": db_env["SIEM_DB_HOST"], "SIEM_DB_PORT": db_env["SIEM_DB_PORT"],
        "SIEM_DB_NAME": db_env["SIEM_DB_NAME"], "SIEM_DB_USER": "siem_reader",
        "SIEM_DB_PASSWORD": db_env["SIEM_READER_PASSWORD"], **overrides,
    }  # fmt: skip


def test_a_wrong_password_is_named_in_health_answers_and_the_log_once(
    start_api: Callable[..., ApiProcess], db_env: dict[str, str]
) -> None:
    """MariaDB answered and refused the login: /health says access denied, routes say which password to check."""
    api = start_api(**database(db_env, SIEM_DB_PASSWORD=WRONG))
    health = httpx.get(f"{api.url}/health")
    assert (health.status_code, health.json()) == (503, {"status": "degraded", "database": "access denied"})
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    for _ in range(5):
        answer = httpx.get(f"{api.url}/api/v1/stats", headers=headers)
        assert answer.status_code == 503
        assert "access denied" in answer.json()["detail"]
        assert "SIEM_READER_PASSWORD" in answer.json()["detail"]
    time.sleep(0.3)
    log = api.output()
    where = f"siem_reader@{db_env['SIEM_DB_HOST']}:{db_env['SIEM_DB_PORT']}, database {db_env['SIEM_DB_NAME']}"
    assert log.count(f"MariaDB access denied for {where}") == 1, log
    assert "make upgrade-db" in log
    assert WRONG not in log


def test_an_unreachable_server_is_told_apart_from_a_refusal(start_api: Callable[..., ApiProcess], db_env: dict) -> None:
    """Nothing on the port: /health says unreachable and the log names host and port."""
    port = str(free_port())
    api = start_api(**database(db_env, SIEM_DB_PORT=port))
    health = httpx.get(f"{api.url}/health")
    assert (health.status_code, health.json()["database"]) == (503, "unreachable")
    time.sleep(0.3)
    assert f"MariaDB unreachable for siem_reader@{db_env['SIEM_DB_HOST']}:{port}" in api.output()


def test_recovery_is_logged_once(
    start_api: Callable[..., ApiProcess], mariadb: MariaDBServer, db_env: dict[str, str]
) -> None:
    """When the account works again (password fixed in MariaDB), the API says so once and answers."""
    api = start_api(**database(db_env, SIEM_DB_PASSWORD=WRONG))
    assert httpx.get(f"{api.url}/health").status_code == 503
    root = mariadb.connect()
    with root.cursor() as cursor:
        cursor.execute(f"ALTER USER 'siem_reader'@'%' IDENTIFIED BY '{WRONG}'")
    try:
        for _ in range(3):
            assert httpx.get(f"{api.url}/health").json() == {"status": "ok", "database": "reachable"}
        time.sleep(0.3)
        assert api.output().count("MariaDB answers siem_reader@") == 1
    finally:
        with root.cursor() as cursor:
            cursor.execute("ALTER USER 'siem_reader'@'%%' IDENTIFIED BY %s", (db_env["SIEM_READER_PASSWORD"],))
        root.close()


@pytest.mark.parametrize(
    ("overrides", "fix"),
    [
        ({"SIEM_DB_PASSWORD": WRONG}, "check SIEM_READER_PASSWORD in .env"),
        ({"SIEM_DB_USER": "siem_nobody"}, "run `make upgrade-db`"),
        ({"SIEM_DB_NAME": "siem_gone"}, "check SIEM_DB_NAME in .env"),
    ],
)
def test_doctor_prints_the_fix(
    start_api: Callable[..., ApiProcess], db_env: dict[str, str], overrides: dict[str, str], fix: str
) -> None:
    """`siemctl doctor` turns the API's database state into what to do."""
    api = start_api(**database(db_env, **overrides))
    env = {**os.environ, "SIEM_API_TOKEN": API_TOKEN, "GRAFANA_ADMIN_PASSWORD": "unused"}
    result = subprocess.run(
        [sys.executable, "-m", "siemctl", "doctor", "--api", api.url, "--collector", f"127.0.0.1:{free_port()}",
         "--grafana", f"http://127.0.0.1:{free_port()}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    line = next(line for line in result.stdout.splitlines() if line.startswith("FAIL API:"))
    assert fix in line, result.stdout
