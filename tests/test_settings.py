"""Settings: defaults a home install wants, and a clear error for every bad value."""

from pathlib import Path

import pytest

from collector.settings import Settings, SettingsError

GOOD = {"SIEM_DB_PASSWORD": "s3cret-enough"}


class TestSettings:
    """Read once from the environment, validated at start."""

    def test_defaults(self) -> None:
        """Only the password is required; the port is 5514 and times are UTC."""
        settings = Settings.from_env(GOOD)
        assert (settings.syslog_port, settings.db_port, settings.db_name) == (5514, 3306, "siem")
        assert str(settings.zone) == "UTC"

    def test_reads_every_documented_variable(self) -> None:
        """Each documented variable reaches the setting it names."""
        settings = Settings.from_env({
            **GOOD, "SIEM_DB_HOST": "mariadb", "SIEM_DB_PORT": "3307", "SIEM_DB_NAME": "logs",
            "SIEM_DB_USER": "collector", "SIEM_SYSLOG_PORT": "1514", "TZ": "Europe/Berlin",
            "SIEM_MAX_MESSAGE_BYTES": "8192", "SIEM_SPOOL_DIR": "/data/spool", "SIEM_SPOOL_MAX_MB": "64",
        })  # fmt: skip
        assert (settings.db_host, settings.db_port, settings.db_name, settings.db_user) == (
            "mariadb",
            3307,
            "logs",
            "collector",
        )
        assert (settings.syslog_port, str(settings.zone), settings.max_message_bytes) == (1514, "Europe/Berlin", 8192)
        assert (settings.spool_dir, settings.spool_max_bytes) == (Path("/data/spool"), 64 << 20)

    @pytest.mark.parametrize("password", ["", "changeme", "CHANGEME-please", "password", "secret"])
    def test_refuses_placeholder_password(self, password: str) -> None:
        """A password copied from an example is refused before anything starts."""
        with pytest.raises(SettingsError, match="SIEM_DB_PASSWORD"):
            Settings.from_env({"SIEM_DB_PASSWORD": password})

    @pytest.mark.parametrize(
        ("name", "value", "says"),
        [
            ("SIEM_SYSLOG_PORT", "abc", "SIEM_SYSLOG_PORT='abc' is not a whole number from 1 to 65535"),
            ("SIEM_SYSLOG_PORT", "70000", "SIEM_SYSLOG_PORT='70000'"),
            ("SIEM_DB_PORT", "0", "SIEM_DB_PORT='0'"),
            ("TZ", "Mars/Olympus", "TZ='Mars/Olympus' is not a time zone name"),
            ("SIEM_MAX_MESSAGE_BYTES", "10", "SIEM_MAX_MESSAGE_BYTES='10'"),
            ("SIEM_LOG_LEVEL", "chatty", "SIEM_LOG_LEVEL='chatty'"),
            ("SIEM_DNS_LINES_IN_MESSAGES", "maybe", "SIEM_DNS_LINES_IN_MESSAGES='maybe' is not true or false"),
            ("SIEM_NOTIFY_NEW_DOMAINS", "2", "SIEM_NOTIFY_NEW_DOMAINS='2' is not true or false"),
        ],
    )
    def test_bad_value_is_named_with_what_was_expected(self, name: str, value: str, says: str) -> None:
        """The error quotes the variable, its value and what it should be."""
        with pytest.raises(SettingsError, match=says.replace("(", r"\(")):
            Settings.from_env({**GOOD, name: value})

    def test_all_errors_reported_at_once(self) -> None:
        """A user fixing .env sees every problem in one go."""
        with pytest.raises(SettingsError) as caught:
            Settings.from_env({"SIEM_DB_PASSWORD": "", "SIEM_SYSLOG_PORT": "x", "TZ": "nowhere"})
        assert all(name in str(caught.value) for name in ("SIEM_DB_PASSWORD", "SIEM_SYSLOG_PORT", "TZ"))


class TestDnsSettings:
    """The DNS switches: off by default, the notice's allow-list extended or replaced."""

    def test_dns_defaults_keep_lines_out_of_messages_and_the_notice_off(self) -> None:
        settings = Settings.from_env(GOOD)
        assert settings.dns_lines_in_messages is False
        assert settings.notify_new_domains is False
        assert settings.retention_days["dns_queries"] == 30
        assert settings.retention_days["dns_device_domains"] == 365
        assert "apple.com" in settings.notify_domains_allowed

    @pytest.mark.parametrize(
        ("value", "has", "lacks"),
        [
            ("+*.Example.ORG., vendor.example", ("apple.com", "example.org", "vendor.example"), ()),
            ("only.example", ("only.example",), ("apple.com",)),
            ("-", (), ("apple.com",)),
        ],
    )
    def test_allow_list_adds_with_plus_replaces_without_and_dash_empties(
        self, value: str, has: tuple, lacks: tuple
    ) -> None:
        allowed = Settings.from_env({**GOOD, "SIEM_NOTIFY_DOMAINS_ALLOW": value}).notify_domains_allowed
        assert all(name in allowed for name in has)
        assert not any(name in allowed for name in lacks)
        assert value != "-" or allowed == ()
