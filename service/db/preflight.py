"""Clear failures at start: what is wrong with the database setting, and what to do, in a line or two.

``check_database(url)`` runs before the migrations (``chain-ledger serve``, ``migrate``, …) and raises
``StartupError`` for a URL that is no database URL or names an unsupported database or driver, a SQLite file whose
folder is missing or read-only, and a PostgreSQL server that cannot be reached, refuses the login, or lacks the
database. ``explain(exc)`` turns an error raised later (during a migration) into such a message when it can.
``create_database(url)`` creates a missing PostgreSQL database (``chain-ledger migrate --create-database``)."""

from __future__ import annotations

import getpass
import os
import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

EXAMPLES = "sqlite:///./chain-ledger.db or postgresql+psycopg://user:password@host:5432/dbname"


class StartupError(Exception):
    """A problem of the setup, said in a line or two (no traceback needed)."""


def _url(url: str) -> URL:
    try:
        u = make_url(url)
    except ArgumentError:
        raise StartupError(f"LEDGER_DATABASE_URL {url!r} is no database URL; use {EXAMPLES}") from None
    backend, driver = u.get_backend_name(), u.get_driver_name()
    if backend == "postgresql" and driver != "psycopg":
        raise StartupError(f"LEDGER_DATABASE_URL uses the {driver!r} driver, which the service does not ship; write "
                           f"postgresql+psycopg://… instead of {u.drivername}://…")
    if backend not in ("sqlite", "postgresql") or (backend == "sqlite" and driver != "pysqlite"):
        raise StartupError(f"LEDGER_DATABASE_URL: {u.drivername!r} is not supported; the service runs on SQLite or "
                           f"PostgreSQL: {EXAMPLES}")
    return u


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _check_sqlite(u: URL) -> None:
    if u.database in (None, "", ":memory:"):
        return
    path = Path(u.database).absolute()
    folder = path.parent
    if not folder.is_dir():
        raise StartupError(f"the folder of the SQLite file {path} does not exist; create it (mkdir -p {folder}) or "
                           "point LEDGER_DATABASE_URL elsewhere")
    # SQLite writes the file and, beside it, its -wal and -shm files: the folder must be writable too.
    for target in (folder, path) if path.exists() else (folder,):
        if not os.access(target, os.W_OK):
            raise StartupError(read_only_message(path))


def read_only_message(path: Path) -> str:
    return (f"the data folder {path.parent} is read-only for {_who()}: SQLite writes {path.name} and its -wal and "
            f"-shm files there; make the folder (and file) writable for that user, or set LEDGER_DATABASE_URL to a "
            f"writable place")


def _libpq(u: URL) -> str:
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def _where(u: URL) -> str:
    return f"{u.host or 'localhost'}:{u.port or 5432}"


def _pg_message(u: URL, text: str) -> str | None:
    """The sentence for a PostgreSQL connection error's text, or None when it is none of the known cases."""
    if re.search(r'database ".*" does not exist', text):
        return (f"PostgreSQL database {u.database!r} does not exist on {_where(u)}; create it: chain-ledger migrate "
                f"--create-database (or: createdb -h {u.host or 'localhost'} {u.database})")
    if "Connection refused" in text or "timeout expired" in text or "failed to resolve host" in text \
            or "No route to host" in text or "could not translate host name" in text:
        return (f"cannot reach PostgreSQL at {_where(u)} ({_first_reason(text)}); is the server running and is "
                "LEDGER_DATABASE_URL's host and port right?")
    if "password authentication failed" in text or re.search(r'role ".*" does not exist', text) \
            or "no password supplied" in text or "no pg_hba.conf entry" in text:
        return (f"PostgreSQL at {_where(u)} refused the login ({_first_reason(text)}); check the user and password "
                "in LEDGER_DATABASE_URL")
    return None


def _first_reason(text: str) -> str:
    """libpq's reason: 'connection to server at "h", port 5432 failed: FATAL:  role "x" does not exist' →
    'role "x" does not exist'."""
    line = (text.strip().splitlines() or [""])[0]
    return line.rsplit(" failed: ", 1)[-1].replace("FATAL:", "").strip().rstrip(".")[:160]


def _check_postgres(u: URL) -> None:
    import psycopg

    try:
        psycopg.connect(_libpq(u), connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        message = _pg_message(u, str(exc)) or f"cannot connect to PostgreSQL at {_where(u)}: {_first_reason(str(exc))}"
        raise StartupError(message) from None


def check_database(url: str) -> None:
    """Raise ``StartupError`` when the database of ``url`` cannot serve, saying what to do."""
    u = _url(url)
    if u.get_backend_name() == "sqlite":
        _check_sqlite(u)
    else:
        _check_postgres(u)


def database_exists(url: str) -> bool:
    """PostgreSQL: whether the database exists (connecting to the server's ``postgres`` database)."""
    import psycopg

    u = _url(url)
    with psycopg.connect(_libpq(u.set(database="postgres")), connect_timeout=5, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone() is not None


def create_database(url: str) -> bool:
    """Create the PostgreSQL database of ``url`` if it is missing; True when it was created. SQLite creates its
    file itself (the folder must exist)."""
    import psycopg
    from psycopg import sql

    u = _url(url)
    if u.get_backend_name() == "sqlite":
        _check_sqlite(u)
        return False
    try:
        with psycopg.connect(_libpq(u.set(database="postgres")), connect_timeout=5, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone():
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(u.database)))
            return True
    except psycopg.errors.DuplicateDatabase:
        return False  # another instance created it at the same moment
    except psycopg.errors.InsufficientPrivilege:
        raise StartupError(f"user {u.username!r} may not create databases on {_where(u)}; ask the database "
                           f"administrator to run: createdb -O {u.username} {u.database}") from None
    except psycopg.OperationalError as exc:
        raise StartupError(_pg_message(u, str(exc)) or f"cannot connect to PostgreSQL at {_where(u)}: "
                           f"{_first_reason(str(exc))}") from None


def explain(url: str, exc: BaseException) -> str | None:
    """A line or two for an error raised while opening or migrating the database, or None (then the traceback
    is the best account)."""
    if isinstance(exc, StartupError):
        return str(exc)
    text = str(getattr(exc, "orig", None) or exc)
    try:
        u = _url(url)
    except StartupError as bad:
        return str(bad)
    if u.get_backend_name() == "sqlite":
        if "readonly database" in text or "unable to open database file" in text:
            return read_only_message(Path(u.database or ".").absolute())
        if "database is locked" in text:
            return ("the SQLite file is locked by another process for longer than 30 s; is another chain-ledger "
                    "migrating or writing a large import?")
        return None
    return _pg_message(u, text)
