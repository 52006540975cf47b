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
    # Early warning (预警, SPEC §3): a project idle in a stage for more than this many days is flagged.
    warn_signed_days: int = Field(default=180, ge=1, description="Signed but not started after this many days.")
    warn_started_days: int = Field(default=730, ge=1, description="Started but not in production after this many days.")
    warn_in_production_days: int = Field(
        default=365, ge=1, description="In production but not at capacity after this many days."
    )
    warn_dispatch_months: int = Field(
        default=2, ge=1, le=24, description="Flag projects without a dispatch figure in this many completed months."
    )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
