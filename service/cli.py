"""chain-ledger serve | migrate | token create|list|revoke | seed | openapi | backup | restore | audit
verify-export|prove-consistency."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated

import typer

from service.config import get_settings

app = typer.Typer(help="chain-ledger: the chain-leader (链长制) four-list ledger service.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (only their SHA-256 hash is stored).", no_args_is_help=True)
app.add_typer(token_app, name="token")


class RoleChoice(StrEnum):
    admin = "admin"
    department = "department"
    integration = "integration"
    auditor = "auditor"
    viewer = "viewer"


_debug = False


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of a failure at start.")] = False,
) -> None:
    global _debug
    _debug = debug


def _start_failed(exc: BaseException) -> None:
    """A failure to open or migrate the database: one or two lines saying what is wrong and what to do (the
    traceback only with --debug, or when the failure is none of the known ones)."""
    from service.db.preflight import explain

    message = None if _debug else explain(get_settings().database_url, exc)
    if message is None:
        raise exc
    typer.echo(f"chain-ledger: {message}", err=True)
    typer.echo("(chain-ledger --debug … shows the traceback)", err=True)
    raise typer.Exit(2)


def _check_database() -> None:
    from service.db.preflight import check_database

    try:
        check_database(get_settings().database_url)
    except Exception as exc:  # noqa: BLE001 - reported in a line or two, or re-raised
        _start_failed(exc)


def _check_session_secret() -> None:
    """The web session secret (set, read from its file, or generated once into the data folder) before serving:
    a file that cannot be read stops the start in two lines."""
    from service.session_secret import SecretError, session_secret

    try:
        session_secret(get_settings())
    except SecretError as exc:
        if _debug:
            raise
        typer.echo(f"chain-ledger: {exc}", err=True)
        raise typer.Exit(2) from None


def _migrate() -> None:
    from service.db.migrate import upgrade

    _check_database()
    try:
        upgrade(get_settings().database_url)
    except Exception as exc:  # noqa: BLE001 - reported in a line or two, or re-raised
        _start_failed(exc)


@app.command()
def migrate(
    create_database: Annotated[bool, typer.Option(
        "--create-database", help="PostgreSQL: create the database first if it does not exist.")] = False,
) -> None:
    """Upgrade the database to the newest schema (under a lock: safe while other instances start)."""
    if create_database:
        from service.db.preflight import create_database as create

        try:
            if create(get_settings().database_url):
                typer.echo("database created", err=True)
        except Exception as exc:  # noqa: BLE001 - reported in a line or two, or re-raised
            _start_failed(exc)
    _migrate()
    typer.echo("database at head")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Processes (keep 1 on SQLite: one writer).")] = 1,
    no_migrate: Annotated[bool, typer.Option(
        "--no-migrate", help="Do not migrate first (for operators who run `chain-ledger migrate` as a step of their "
        "own); any number of instances may migrate at once, under a lock.")] = False,
) -> None:
    """Migrate the database (under a lock), then serve the API (with the webhook delivery worker unless
    LEDGER_WEBHOOK_WORKER=false)."""
    import os

    import uvicorn

    from service.logging import configure_logging

    configure_logging(get_settings().log_level)  # the lines before the app's own (a generated secret) are JSON too
    if no_migrate:
        _check_database()
    else:
        _migrate()
    _check_session_secret()
    os.environ.setdefault("LEDGER_WEBHOOK_WORKER", "true")
    get_settings.cache_clear()
    uvicorn.run(
        "service.main:create_app", factory=True, host=host, port=port, workers=workers,
        log_config=None, access_log=False,
        # The standard library's event loop, not uvloop: as fast here within a few per cent, and it serves
        # requests in turn under load, where uvloop let some wait ten times the median (p99 of a get on
        # PostgreSQL 1.7 s against 0.17 s; docs/performance.md, "the event loop").
        loop="asyncio",
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Deliver what is due now, then exit.")] = False,
) -> None:
    """Run the webhook delivery worker alone (as many as you like on PostgreSQL; they never double-send)."""
    import signal

    from service.db.engine import make_engine, make_sessionmaker
    from service.worker import DeliveryWorker

    _migrate()
    settings = get_settings()
    engine = make_engine(settings.database_url)
    delivery = DeliveryWorker(make_sessionmaker(engine), settings)
    try:
        if once:
            total = 0
            while (n := delivery.run_once()) > 0:
                total += n
            typer.echo(f"{total} deliveries attempted", err=True)
            return
        signal.signal(signal.SIGTERM, lambda *_: delivery.request_stop())
        try:
            delivery.run()
        except KeyboardInterrupt:
            pass
    finally:
        delivery.close()
        engine.dispose()


def _cli_ctx():  # noqa: ANN202
    """The CLI acts as the system (an admin), audited as such."""
    from service.domain.access import SYSTEM
    from service.domain.context import Ctx

    settings = get_settings()
    now = datetime.now(UTC)
    return Ctx(actor=SYSTEM, request_id=None, now=now, today=now.astimezone(settings.tz).date())


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(2)


@token_app.command("create")
def token_create(
    role: Annotated[RoleChoice, typer.Option(help="admin | department | integration | auditor | viewer")],
    name: Annotated[str, typer.Option(help="Who holds the token (shown in the audit log).")],
    chain: Annotated[list[str] | None, typer.Option(help="Chain code a department token may write (repeat).")] = None,
    expires_on: Annotated[str | None, typer.Option(
        "--expires-on", help="Last day the token works (YYYY-MM-DD, service time zone). Default: "
        "LEDGER_TOKEN_TTL_DAYS (365) days from now.")] = None,
    never_expires: Annotated[bool, typer.Option("--never-expires", help="The token never expires.")] = False,
) -> None:
    """Create a token and print it as the last line (it cannot be shown again). Audited as token.created."""
    from service.db.engine import make_engine, make_sessionmaker, transaction
    from service.domain import errors as d
    from service.domain.access import Role
    from service.usecases import tokens as uc

    chains = sorted(set(chain or []))
    if role is RoleChoice.department and not chains:
        _fail("a department token needs at least one --chain")
    if role is not RoleChoice.department and chains:
        _fail("--chain applies to department tokens only")
    last_day = None
    if expires_on is not None:
        try:
            last_day = date.fromisoformat(expires_on)
        except ValueError:
            _fail(f"--expires-on {expires_on!r} is not a day (YYYY-MM-DD)")
    _migrate()
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine), write=True) as session:
            row, token = uc.create_token(session, ctx=_cli_ctx(), name=name, role=Role(role.value), chains=chains,
                                         expires_on=last_day, never_expires=never_expires,
                                         ttl_days=settings.token_ttl_days, tz=settings.tz)
            expires_at = row.expires_at
    except d.DomainError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(f"created {role.value} token '{name}'" + (f" for chains {', '.join(chains)}" if chains else "")
               + (f", expires {expires_at.isoformat()}" if expires_at else ", never expires"), err=True)
    typer.echo(token)


@token_app.command("list")
def token_list() -> None:
    """Every token, one per line (tab-separated: id, name, role, chains, created_at, expires_at, last_used_on,
    revoked_at); never a secret nor its hash."""
    from service.db.engine import make_engine, make_sessionmaker, transaction
    from service.usecases import tokens as uc

    _migrate()
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine), write=False) as session:
            rows, after = [], None
            while page := uc.list_tokens(session, after=after, limit=500):
                rows += page
                after = page[-1].id
            typer.echo("\t".join(("id", "name", "role", "chains", "created_at", "expires_at", "last_used_on",
                                  "revoked_at")))
            for r in rows:
                typer.echo("\t".join(str(v) if v is not None else "-" for v in (
                    r.id, r.name, r.role, ",".join(json.loads(r.chains)) or "-", r.created_at.isoformat(),
                    r.expires_at.isoformat() if r.expires_at else "never",
                    r.last_used_on, r.revoked_at.isoformat() if r.revoked_at else None)))
    finally:
        engine.dispose()


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="The token's id (chain-ledger token list).")]) -> None:
    """Revoke a token: it answers 401 from its next request on, and its web sessions end. Audited as
    token.revoked."""
    from service.db.engine import make_engine, make_sessionmaker, transaction
    from service.domain import errors as d
    from service.usecases import tokens as uc

    _migrate()
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine), write=True) as session:
            row = uc.revoke_token(session, ctx=_cli_ctx(), token_id=token_id)
            name = row.name
    except d.DomainError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(f"revoked token {token_id} '{name}'")


@app.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo chains, districts and ~40 projects.")] = False,
    synthetic: Annotated[
        int | None, typer.Option(
            "--synthetic", help="Generate N projects with full histories (benchmarks); ends with ANALYZE on PostgreSQL."
        )
    ] = None,
) -> None:
    """Load demo data (safe to run twice) or a synthetic data set."""
    if demo == (synthetic is not None):
        typer.echo("choose one of --demo or --synthetic N", err=True)
        raise typer.Exit(2)
    _migrate()
    if demo:
        from service.seed import seed_demo

        typer.echo(seed_demo(get_settings().database_url))
        typer.echo("next: chain-ledger token create --role admin --name you   (prints a token)", err=True)
    else:
        from service.synthetic import seed_synthetic

        typer.echo(seed_synthetic(get_settings().database_url, synthetic or 0))


@app.command()
def backup(
    path: Annotated[str, typer.Argument(help="The backup file to write (it must not exist yet).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite PATH if it exists.")] = False,
) -> None:
    """Write a consistent backup of the database while the service runs (SQLite: its online backup API;
    PostgreSQL: pg_dump)."""
    from pathlib import Path

    from service.db.backup import BackupError
    from service.db.backup import backup as take_backup

    try:
        typer.echo(take_backup(get_settings().database_url, Path(path), force=force))
    except BackupError as exc:
        typer.echo(f"backup failed: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def restore(
    path: Annotated[str, typer.Argument(help="A file written by `chain-ledger backup`.")],
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the contents of a database that is not empty (stop the service first).")] = False,
) -> None:
    """Restore a backup into the database (empty unless --force), then migrate it to the newest schema."""
    from pathlib import Path

    from service.db.backup import BackupError
    from service.db.backup import restore as load_backup

    try:
        typer.echo(load_backup(get_settings().database_url, Path(path), force=force))
    except BackupError as exc:
        typer.echo(f"restore failed: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def openapi() -> None:
    """Print the OpenAPI document (committed as openapi/openapi.json)."""
    from service.openapi_doc import openapi_json

    sys.stdout.write(openapi_json())


def main() -> None:
    app()


audit_app = typer.Typer(help="An auditor's checks (SPEC §6).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _read_json(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _finish(check) -> None:  # noqa: ANN001
    for line in check.lines:
        typer.echo(line)
    if not check.ok:
        raise typer.Exit(1)


@audit_app.command("verify-export")
def audit_verify_export(
    export: Annotated[str, typer.Argument(help="The NDJSON export (GET /api/v1/audit/export).")],
    tree_head: Annotated[str, typer.Option("--tree-head", help="A signed tree head (JSON), e.g. a report's.")],
    public_key: Annotated[str, typer.Option("--public-key", help="The service's public key (PEM).")],
) -> None:
    """Offline (no service, no database): the head's signature, every event's hash and link, and that the
    export's first `size` events give the signed root. Exits 1 on any failure."""
    from service.audit_offline import verify_export
    from service.signing import load_public_key

    with open(public_key, "rb") as f:
        key = load_public_key(f.read())
    with open(export, encoding="utf-8") as lines:
        _finish(verify_export(lines, _read_json(tree_head), key))


@audit_app.command("prove-consistency")
def audit_prove_consistency(
    old_head: Annotated[str, typer.Argument(help="The older signed tree head (JSON).")],
    new_head: Annotated[str, typer.Argument(help="The newer signed tree head (JSON).")],
    url: Annotated[str, typer.Option(help="The service's base URL.")] = "http://127.0.0.1:8000",
    token: Annotated[str, typer.Option(envvar="LEDGER_TOKEN", help="An auditor's or admin's token.")] = "",
    public_key: Annotated[str | None, typer.Option(
        "--public-key", help="The service's public key (PEM) as you keep it; unset, it is fetched (and shown).")] = None,
) -> None:
    """Ask a running service for the consistency proof between two signed heads and check it here: the newer
    tree holds the older one's events unchanged. Exits 1 on any failure."""
    import httpx

    from service.audit_offline import prove_consistency
    from service.signing import load_public_key

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url.rstrip("/") + "/api/v1", headers=headers, timeout=30) as client:
        if public_key:
            with open(public_key, "rb") as f:
                key = load_public_key(f.read())
        else:
            r = client.get("/audit/public-key")
            r.raise_for_status()
            key = load_public_key(r.json()["public_key_pem"].encode())
            typer.echo(f"public key fetched from the service: {r.json()['key_id']} (compare it with the one you keep)")

        def fetch(first: int, second: int) -> dict:
            r = client.get("/audit/proof/consistency", params={"first": first, "second": second})
            if r.status_code != 200:
                typer.echo(f"the service refused the proof: HTTP {r.status_code} {r.text[:300]}")
                raise typer.Exit(1)
            return r.json()

        _finish(prove_consistency(_read_json(old_head), _read_json(new_head), key, fetch))
