"""Settings, read from ``LEDGER_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

import os
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
    # The ledger's reports aggregate every project of a period (a fraction of a second of CPU each on 100,000):
    # on two cores, eight at once computed half as many per second as two at once (docs/performance.md), so
    # they take turns, as many at a time as there are cores; the others wait their turn.
    report_concurrency: int = Field(
        default_factory=lambda: os.cpu_count() or 2, ge=1,
        description="Ledger reports (/ledger, /ledger/summary) computed at once per worker process.",
    )
    # Single-statement reads (every request's token, a project, a page of projects) wait on the network on
    # PostgreSQL, so they run in worker threads; each takes a fraction of a millisecond of CPU. Eight at once per
    # process left 20-30 threads runnable on two cores, each waiting for the CPU and then for the GIL. As many at a
    # time as there are cores answered 15-30 % more gets and lists a second, with shorter tails
    # (docs/performance.md). On a SQLite file they run on the event loop and take no turn.
    read_concurrency: int = Field(
        default_factory=lambda: os.cpu_count() or 2, ge=1,
        description="Single-statement reads (token, project, page) in worker threads at once per worker process.",
    )
    log_level: str = "INFO"
    # Signed tree heads (SPEC §6): the Ed25519 key's PEM file, outside the database. Unset: audit-signing-key.pem
    # beside the SQLite file (the working directory on PostgreSQL), generated on first start (service/signing.py).
    audit_signing_key: str = Field(default="", description="PEM file of the Ed25519 key that signs tree heads.")
    audit_tree_head_seconds: int = Field(
        default=3600, ge=1, description="The worker signs a tree head when the last is this old and events followed.")
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
    # Web frontend (SPEC §8): the key that signs browser session cookies. Unset → read from session_secret_file,
    # else generated once into the data folder and kept (service/session_secret.py).
    session_secret: str = Field(default="", repr=False, description="Signs the web frontend's session cookies.")
    # Sessions are rows (web_session): signing out, revoking the token or its expiry ends them at once.
    session_idle_minutes: int = Field(default=120, ge=1, description="A web session ends after this long unused.")
    session_absolute_hours: int = Field(default=12, ge=1, description="A web session ends this long after sign-in.")
    # API tokens: a new token expires this many days after creation unless created with another expiry.
    token_ttl_days: int = Field(default=365, ge=1, le=36500, description="Default lifetime of a new API token.")
    session_secret_file: str = Field(
        default="", description="A file holding the session secret (read only; missing or unreadable stops the start).",
    )
    # Imports (SPEC §7): a file is read as a stream before any write lock is taken, within these limits (a file
    # over one is refused at once, 422, naming it; service/importing/limits.py has the finer XLSX bounds), then checked
    # against a read of the ledger; only the writes of a file found clean take the write turn, in one
    # transaction that holds the audit chain (other writes wait) for a few ms per project.
    import_max_rows: int = Field(default=2_000, ge=1, description="Most data rows one import may hold.")
    import_max_cells: int = Field(default=50_000, ge=1, description="Most non-empty cells one import may hold.")
    import_max_blank_rows: int = Field(default=10_000, ge=0, description="Most blank rows one import may hold.")
    import_max_unpacked_bytes: int = Field(
        default=100 * 1024 * 1024, ge=1, description="Most bytes an XLSX workbook may unpack to (all its parts)."
    )
    import_parse_seconds: float = Field(
        default=5.0, gt=0, description="Time budget of reading one file; a file that takes longer is refused (422)."
    )
    import_concurrency: int = Field(
        default=1, ge=1, description="Files read and checked at once per worker process (the others wait their turn "
        "without holding a thread).",
    )
    # Webhooks (SPEC §7).
    public_url: str = Field(
        default="", description="The service's own public base URL (e.g. https://ledger.example.cn); webhooks may "
        "not point at it (nor at the host and port a request reached the service on).",
    )
    webhook_worker: bool = Field(
        default=False, description="Run the delivery worker inside the app (`chain-ledger serve` turns it on unless "
        "LEDGER_WEBHOOK_WORKER is set; `chain-ledger worker` runs it alone).",
    )
    webhook_retry_base_seconds: float = Field(default=5, gt=0, description="First retry delay; doubles per attempt.")
    webhook_retry_max_seconds: float = Field(default=3600, gt=0, description="Cap of one retry delay.")
    webhook_max_attempts: int = Field(default=10, ge=1, le=100, description="Attempts before a delivery is dead.")
    webhook_timeout_seconds: float = Field(default=10, gt=0, description="Per-phase HTTP timeout of an attempt.")
    webhook_lease_seconds: float = Field(
        default=60, gt=0, description="How long a worker holds a claimed delivery (raised to 4 × timeout + 5 s)."
    )
    webhook_poll_seconds: float = Field(default=1.0, gt=0, description="Delivery worker's idle poll interval.")
    webhook_batch_size: int = Field(default=20, ge=1, le=500, description="Deliveries one worker claims at once.")
    webhook_concurrency: int = Field(default=4, ge=1, le=64, description="Parallel sends of one worker.")
    webhook_allowed_hosts: str = Field(
        default="", description="Comma-separated host names or IPs (`*.example.cn` for subdomains) that webhooks "
        "may target; empty: any host.",
    )

    @property
    def webhook_allowed_host_list(self) -> list[str]:
        return [h.strip().lower().rstrip(".") for h in self.webhook_allowed_hosts.split(",") if h.strip()]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
