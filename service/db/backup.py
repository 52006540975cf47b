"""Backups of the ledger: ``chain-ledger backup PATH`` and ``chain-ledger restore PATH``.

- **SQLite**: SQLite's online backup API copies the database in one step inside one read transaction, so the copy
  is consistent even while the service writes (writers are not blocked in WAL mode). The copy is one
  self-contained file (journal mode DELETE, no ``-wal`` beside it), written under a temporary name and renamed.
- **PostgreSQL**: the server's own ``pg_dump --format=custom`` (one consistent snapshot, writers not blocked) and
  ``pg_restore``; both come with the PostgreSQL client package (Debian: ``postgresql-client``), of the server's
  major version or newer.

A restore goes into an empty database unless ``force`` (then it replaces what is there: stop the service first),
and then migrates the restored schema to head, so a backup taken by an older version restores into a newer one.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from service.db.engine import is_sqlite, make_engine

PG_DUMP_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """What went wrong and what to do, in a sentence or two."""


def backup(url: str, path: Path, *, force: bool = False) -> str:
    """Write a consistent copy of the database at ``url`` to ``path``; returns a one-line summary."""
    path = Path(path)
    if path.exists() and not force:
        raise BackupError(f"{path} exists; choose a new file name (or --force to overwrite it)")
    if not path.parent.is_dir():
        raise BackupError(f"folder {path.parent} does not exist")
    if is_sqlite(url):
        _sqlite_backup(_sqlite_path(url), path)
    else:
        _pg_dump(url, path)
    return f"backup of {_describe(url)} written to {path} ({path.stat().st_size:,} bytes)"


def restore(url: str, path: Path, *, force: bool = False) -> str:
    """Load the backup at ``path`` into the database at ``url``, then migrate it to head."""
    from service.db.migrate import upgrade

    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    with path.open("rb") as f:
        magic = f.read(16)
    if not force and _has_tables(url):
        raise BackupError(f"{_describe(url)} is not empty; restore into an empty database, or stop the service and "
                          "add --force to replace its contents")
    if is_sqlite(url):
        if not magic.startswith(SQLITE_MAGIC):
            raise BackupError(f"{path} is not a SQLite backup (a PostgreSQL backup restores into PostgreSQL only)")
        _sqlite_restore(path, _sqlite_path(url))
    else:
        if not magic.startswith(PG_DUMP_MAGIC):
            raise BackupError(f"{path} is not a PostgreSQL backup of `chain-ledger backup` (pg_dump custom format)")
        _pg_restore(path, url, clean=force)
    upgrade(url)
    return f"{path} restored into {_describe(url)}"


# ---------------------------------------------------------------------------------------------------- SQLite


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sqlite_backup(source: Path, path: Path) -> None:
    if not source.is_file():
        raise BackupError(f"no database file at {source} (LEDGER_DATABASE_URL)")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        src = sqlite3.connect(source, timeout=30)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # all pages in one step: one read transaction, one consistent state
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            if dst.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("the copy failed its integrity check; the database file may be damaged")
        finally:
            dst.close()
            src.close()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _sqlite_restore(path: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        if src.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone() is None:
            raise BackupError(f"{path} is a SQLite file but no chain-ledger database")
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} cannot be read as a SQLite database ({exc})") from None
    finally:
        dst.close()
        src.close()


# ---------------------------------------------------------------------------------------------------- PostgreSQL


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found on PATH; install the PostgreSQL client (Debian: apt-get install "
                          "postgresql-client) of the server's major version or newer")
    return found


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    """libpq connection arguments for ``url`` (the password goes in the environment, not on the command line)."""
    u = make_url(url)
    args = ["--dbname", u.set(drivername="postgresql", password=None).render_as_string(hide_password=False)]
    env = dict(os.environ)
    if u.password is not None:
        env["PGPASSWORD"] = str(u.password)
    return args, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        tail = " | ".join(line for line in result.stderr.strip().splitlines()[-3:])
        raise BackupError(f"{Path(cmd[0]).name} failed: {tail}")


def _pg_dump(url: str, path: Path) -> None:
    args, env = _pg_args(url)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", tmp, *args], env)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _pg_restore(path: Path, url: str, *, clean: bool) -> None:
    args, env = _pg_args(url)
    cmd = [_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
    if clean:
        cmd += ["--clean", "--if-exists"]
    _run([*cmd, *args, str(path)], env)


# ---------------------------------------------------------------------------------------------------- both


def _has_tables(url: str) -> bool:
    if is_sqlite(url) and not _sqlite_path(url).exists():
        return False
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _describe(url: str) -> str:
    u = make_url(url)
    return f"SQLite file {u.database}" if is_sqlite(url) else f"PostgreSQL database {u.database!r} on {u.host}"
