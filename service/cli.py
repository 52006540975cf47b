"""chain-ledger serve | migrate | token create | seed | openapi | backup | restore."""

from __future__ import annotations

import json
import secrets
import sys
from datetime import UTC, datetime
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


@token_app.command("create")
def token_create(
    role: Annotated[RoleChoice, typer.Option(help="admin | department | integration | auditor | viewer")],
    name: Annotated[str, typer.Option(help="Who holds the token (shown in the audit log).")],
    chain: Annotated[list[str] | None, typer.Option(help="Chain code a department token may write (repeat).")] = None,
) -> None:
    """Create a token and print it as the last line (it cannot be shown again)."""
    from service.db.engine import make_engine, make_sessionmaker, transaction
    from service.db.reference import ReferenceRepo
    from service.db.tables import ApiToken
    from service.db.tokens import TokenRepo, hash_token

    chains = sorted(set(chain or []))
    if role is RoleChoice.department and not chains:
        typer.echo("a department token needs at least one --chain", err=True)
        raise typer.Exit(2)
    if role is not RoleChoice.department and chains:
        typer.echo("--chain applies to department tokens only", err=True)
        raise typer.Exit(2)
    _migrate()
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine), write=True) as session:
            repo = ReferenceRepo(session)
            missing = [c for c in chains if repo.chain(c) is None]
            if missing:
                typer.echo(f"unknown chain(s): {', '.join(missing)}", err=True)
                raise typer.Exit(2)
            token = "cl_" + secrets.token_urlsafe(32)
            TokenRepo(session).add(
                ApiToken(name=name, role=role.value, token_hash=hash_token(token), chains=json.dumps(chains),
                         created_at=datetime.now(UTC))
            )
    finally:
        engine.dispose()
    typer.echo(f"created {role.value} token '{name}'" + (f" for chains {', '.join(chains)}" if chains else ""),
               err=True)
    typer.echo(token)


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
