"""API settings from the same SIEM_* environment as the other services, validated once."""

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.placeholders import is_placeholder


class Settings(BaseSettings):
    """Connection to MariaDB with the read-only account, the API token, and the optional editor account."""

    model_config = SettingsConfigDict(env_prefix="SIEM_", frozen=True)

    db_host: str = "127.0.0.1"
    db_port: int = Field(3306, ge=1, le=65535)
    db_name: str = "siem"
    db_user: str = "siem_reader"
    db_password: SecretStr
    api_token: SecretStr = Field(description="Bearer token every data endpoint requires")
    editor_user: str = "siem_editor"
    editor_password: SecretStr | None = None
    api_search_rows: int = Field(
        50_000, ge=1, le=10_000_000, description="messages one text search reads before it hands back a cursor"
    )

    @field_validator("db_password", "api_token")
    @classmethod
    def _not_placeholder(cls, value: SecretStr) -> SecretStr:
        """Refuse secrets that were never set or were copied from .env.example."""
        if is_placeholder(value.get_secret_value()):
            raise ValueError("is empty or a placeholder: set a real value in .env")
        return value

    @field_validator("editor_password")
    @classmethod
    def _editor_not_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        """An editor password is optional, but when given it must be real."""
        if value is not None and value.get_secret_value() and is_placeholder(value.get_secret_value()):
            raise ValueError("is a placeholder: set a real value in .env or leave it unset")
        return value if value is not None and value.get_secret_value() else None


@lru_cache
def get_settings() -> Settings:
    """The settings, read once; tests override this dependency."""
    return Settings()
