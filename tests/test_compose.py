"""The compose file, Dockerfiles and .env handling, checked without a Docker engine: schema, lint and our rules."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from api.settings import Settings as ApiSettings
from collector.settings import RETENTION_DEFAULTS
from collector.settings import Settings as CollectorSettings
from common.placeholders import is_placeholder
from siemctl import envfile
from tests.servers import ROOT

COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
REQUIRED = set(re.findall(r"\$\{(\w+):\?", COMPOSE_TEXT))


# Every outbound behaviour Grafana 12 has on by default, each switched off: usage stats to
# stats.grafana.org, version checks on github.com and grafana.com, the news feed, gravatar images,
# external snapshots (raintank.io), the plugin catalog, preinstalled plugins downloaded (and updated) at
# every start, plugin signing keys fetched from grafana.com, the cloud migration assistant; public
# dashboards and anonymous access stay off so nothing is exposed either.
GRAFANA_OFFLINE = {
    "GF_ANALYTICS_ENABLED": "false",
    "GF_ANALYTICS_REPORTING_ENABLED": "false",
    "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
    "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES": "false",
    "GF_ANALYTICS_FEEDBACK_LINKS_ENABLED": "false",
    "GF_NEWS_NEWS_FEED_ENABLED": "false",
    "GF_SECURITY_DISABLE_GRAVATAR": "true",
    "GF_SNAPSHOTS_EXTERNAL_ENABLED": "false",
    "GF_PLUGINS_PREINSTALL_DISABLED": "true",
    "GF_PLUGINS_PREINSTALL_AUTO_UPDATE": "false",
    "GF_PLUGINS_PLUGIN_ADMIN_ENABLED": "false",
    "GF_PLUGINS_PUBLIC_KEY_RETRIEVAL_DISABLED": "true",
    "GF_PLUGINS_PUBLIC_KEY_RETRIEVAL_ON_STARTUP": "false",
    "GF_CLOUD_MIGRATION_ENABLED": "false",
    "GF_PUBLIC_DASHBOARDS_ENABLED": "false",
    "GF_AUTH_ANONYMOUS_ENABLED": "false",
}


def tool(name: str) -> str:
    """A command installed into the virtualenv beside this Python."""
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found is not None, f"{name} missing: `make test` installs it"
    return found


class TestValidity:
    """What Docker would reject, caught here."""

    def test_compose_matches_the_compose_specification(self) -> None:
        """check-jsonschema with the vendored Compose specification schema."""
        result = subprocess.run(
            [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr

    def test_dockerfiles_lint_clean(self) -> None:
        """hadolint finds nothing in either Dockerfile."""
        files = [str(ROOT / "collector" / "Dockerfile"), str(ROOT / "api" / "Dockerfile")]
        result = subprocess.run([tool("hadolint"), *files], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


class TestRules:
    """Synology and home-user lessons, as rules."""

    def test_syslog_published_same_port_both_protocols(self) -> None:
        """5514 on both sides, once for UDP and once for TCP (a forgotten /udp loses every router log)."""
        assert sorted(SERVICES["collector"]["ports"]) == ["5514:5514/tcp", "5514:5514/udp"]

    def test_collector_may_hold_more_connections_than_the_default_1024_files(self) -> None:
        """Docker hands a container 1024 open files; each TCP sender holds one, so the collector asks for more."""
        nofile = SERVICES["collector"]["ulimits"]["nofile"]
        assert nofile["soft"] == nofile["hard"] >= CollectorSettings.max_tcp_connections + 1024

    def test_no_cpu_limits_anywhere(self) -> None:
        """DSM's kernel refuses CPU quotas, so `cpus` would stop the stack from starting."""
        for name, service in SERVICES.items():
            assert not {"cpus", "cpu_quota", "cpu_period", "deploy"} & set(service), name

    def test_memory_limits_fit_a_2_gb_nas(self) -> None:
        """Every service is capped, and together they leave room for DSM."""
        units = {"m": 1, "g": 1024}
        total = 0
        for name, service in SERVICES.items():
            limit = service.get("mem_limit")
            assert limit, name
            total += int(limit[:-1]) * units[limit[-1]]
        assert total <= 1200

    def test_data_lives_in_named_volumes(self) -> None:
        """Database, Grafana and spool data in named volumes; config bind mounts read-only."""
        named = set(COMPOSE["volumes"])
        for service, target in (("mariadb", "/var/lib/mysql"), ("grafana", "/var/lib/grafana"), ("collector", "/data")):
            sources = [
                volume.split(":")[0] for volume in SERVICES[service]["volumes"] if volume.split(":")[1] == target
            ]
            assert sources, f"{service} has no volume at {target}"
            assert sources[0] in named
        for service in SERVICES.values():
            for volume in service.get("volumes", []):
                if volume.startswith("./"):
                    assert volume.endswith(":ro"), volume
        assert "./mysql-init:/docker-entrypoint-initdb.d:ro" in SERVICES["mariadb"]["volumes"]

    def test_health_checks_and_ordering(self) -> None:
        """Every service is health-checked; dependents wait until MariaDB is healthy; all restart."""
        for name, service in SERVICES.items():
            assert service["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}, name
            assert service["restart"] == "unless-stopped", name
            for dependency in service.get("depends_on", {}).values():
                assert dependency["condition"] == "service_healthy"
        for name in ("collector", "api", "grafana"):
            assert "mariadb" in SERVICES[name]["depends_on"]

    def test_secrets_have_no_defaults(self) -> None:
        """Passwords and tokens come from .env and fail fast when missing; none has a default."""
        for match in re.finditer(r"\$\{(\w*(?:PASSWORD|TOKEN)\w*)(:?[-?])?", COMPOSE_TEXT):
            name, operator = match.group(1), match.group(2)
            if name == "SIEM_EDITOR_PASSWORD":
                continue  # optional by design: without it the API's device editing is off
            assert operator == ":?", f"{name} must be ${{{name}:?...}}"

    def test_images_pinned_and_grafana_phones_nowhere(self) -> None:
        """Pinned versions; Grafana without analytics, update checks, news or anonymous access."""
        for service in SERVICES.values():
            image = service.get("image", "")
            if "build" not in service:
                assert re.search(r":\d+\.\d+\.\d+$", image), image
        environment = SERVICES["grafana"]["environment"]
        for key, value in GRAFANA_OFFLINE.items():
            assert environment.get(key) == value, f"{key} must be {value}"

    def test_mariadb_upgrades_its_data_after_an_image_upgrade(self) -> None:
        """Without MARIADB_AUTO_UPGRADE a newer image serves old system tables and skips mariadb-upgrade."""
        assert SERVICES["mariadb"]["environment"]["MARIADB_AUTO_UPGRADE"] in {"1", "true"}

    def test_build_context_leaves_out_local_environments(self) -> None:
        """Neither virtualenv (nor .env) is sent to the Docker daemon or copied into an image."""
        ignored = set((ROOT / ".dockerignore").read_text().split())
        assert {".venv", ".venv-grafana", ".env"} <= ignored

    def test_grafana_mounts_what_provisioning_reads(self) -> None:
        """The dashboards folder the provider watches is the one compose mounts."""
        provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/siem.yaml").read_text())["providers"][0]
        assert f"./grafana/dashboards:{provider['options']['path']}:ro" in SERVICES["grafana"]["volumes"]
        home = SERVICES["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
        assert (ROOT / "grafana/dashboards" / Path(home).name).exists()


class TestEnvFile:
    """`.env.example` names every setting compose requires; `make up` fills in real secrets."""

    def test_example_names_every_required_variable(self) -> None:
        """Each `${VAR:?}` of the compose file has a line in .env.example."""
        names = set(re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
        assert names >= REQUIRED, REQUIRED - names

    def test_generated_env_is_accepted_by_every_service(self, tmp_path: Path) -> None:
        """Random secrets replace every placeholder; the collector and API settings accept them."""
        target = tmp_path / ".env"
        assert envfile.create(target, ROOT / ".env.example")
        assert target.stat().st_mode & 0o077 == 0, ".env must be readable by its owner only"
        values = dict(
            line.split("=", 1) for line in target.read_text().splitlines() if line and not line.startswith("#")
        )
        secrets = {name: value for name, value in values.items() if name.endswith(("_PASSWORD", "_TOKEN"))}
        assert REQUIRED - {"TZ"} <= set(secrets)
        assert all(len(value) >= 32 and not is_placeholder(value) for value in secrets.values())
        assert len(set(secrets.values())) == len(secrets)
        CollectorSettings.from_env({"SIEM_DB_PASSWORD": values["SIEM_COLLECTOR_PASSWORD"], "TZ": values["TZ"]})
        ApiSettings(db_password=values["SIEM_READER_PASSWORD"], api_token=values["SIEM_API_TOKEN"])
        assert not envfile.create(target, ROOT / ".env.example"), "an existing .env is never overwritten"

    @pytest.mark.parametrize("name", sorted(REQUIRED))
    def test_example_values_are_refused_as_they_are(self, name: str) -> None:
        """Shipping placeholders means nobody runs with a password from the internet."""
        line = re.search(rf"^{name}=(.*)$", (ROOT / ".env.example").read_text(), re.MULTILINE)
        assert line is not None
        assert is_placeholder(line.group(1))


def test_every_retention_setting_reaches_the_collector_with_its_default() -> None:
    """A retention the README names can be set in .env: compose passes each one, defaulting as the collector does."""
    environment = SERVICES["collector"]["environment"]
    for table, days in RETENTION_DEFAULTS.items():
        name = f"SIEM_RETENTION_{table.upper()}_DAYS"
        assert environment.get(name) == f"${{{name}:-{days}}}", name


def test_each_image_holds_every_project_package_its_service_imports() -> None:
    """The API imports nothing of the collector; what both need is in common/, which both images copy."""
    for service in ("collector", "api"):
        dockerfile = (ROOT / service / "Dockerfile").read_text()
        copied = set(re.findall(r"^COPY (\w+)/(?:\*\.py )?\S* /app/\w+/$", dockerfile, re.MULTILINE))
        imported = {
            match.group(1)
            for path in (ROOT / service).rglob("*.py")
            for match in re.finditer(r"^(?:from|import) (\w+)", path.read_text(), re.MULTILINE)
            if (ROOT / match.group(1)).is_dir()
        }
        assert "common" in imported, service
        assert imported <= copied | {service}, f"{service} imports {imported - copied} its image lacks"
    api_imports = "\n".join(path.read_text() for path in (ROOT / "api").rglob("*.py"))
    assert not re.search(r"^(from|import) collector", api_imports, re.MULTILINE)
