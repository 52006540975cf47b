"""Settings, read from ``LEDGER_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./chain-ledger.db",
        description="Any SQLAlchemy URL: sqlite:////abs/path.db or postgresql+psycopg://…",
    )
    timezone: str = Field(default="Asia/Shanghai", description="Zone for 'today' and period bounds.")
    max_body_bytes: int = 1024 * 1024
    max_import_bytes: int = 20 * 1024 * 1024
    cors_origins: str = Field(default="", description="Comma-separated origins allowed by CORS.")
    idempotency_ttl_hours: int = 24
    idempotency_lease_seconds: int = Field(
        default=60, description="An in-flight key older than this is taken over (the request died)."
    )
    thread_limit: int = Field(default=8, description="Worker threads for sync endpoints.")
    log_level: str = "INFO"
    db_pool_size: int = 8

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
