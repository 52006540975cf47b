"""The web session secret: set, read from a file, or generated once and kept — never regenerated silently.

In order: ``LEDGER_SESSION_SECRET``; else the file named by ``LEDGER_SESSION_SECRET_FILE`` (read only; missing,
unreadable or empty is an error, never a new secret); else ``chain-ledger-session.key`` in the data folder (beside
the SQLite file; on PostgreSQL the working directory, ``/data`` in the Docker image), created on first start with
a random secret (mode 0600) and read on every later start, by every worker and instance that shares the folder. A
file that exists but cannot be read is an error too: a new secret would sign every session out unnoticed."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from service.config import Settings

FILE_NAME = "chain-ledger-session.key"


class SecretError(Exception):
    """What is wrong with the session secret and what to do, in a sentence or two."""


def data_folder(database_url: str) -> Path:
    """Beside the SQLite file; the working directory otherwise (PostgreSQL, in-memory SQLite)."""
    try:
        u = make_url(database_url)
    except Exception:  # noqa: BLE001 - a bad URL is reported by the database checks
        return Path.cwd()
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:"):
        return Path(u.database).absolute().parent
    return Path.cwd()


def session_secret(settings: Settings) -> str:
    if settings.session_secret:
        return settings.session_secret
    if settings.session_secret_file:
        return _read(Path(settings.session_secret_file), "LEDGER_SESSION_SECRET_FILE names")
    path = data_folder(settings.database_url) / FILE_NAME
    if path.exists():
        return _read(path, "the data folder holds")
    return _create(path)


def _read(path: Path, origin: str) -> str:
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretError(f"{origin} the session secret file {path}, which cannot be read ({exc.strerror}); make it "
                          "readable by the service's user (a new secret would sign every web session out)") from None
    if not secret:
        raise SecretError(f"{origin} the session secret file {path}, which is empty; put a secret in it (e.g. "
                          "python3 -c 'import secrets; print(secrets.token_urlsafe(32))') or delete it to have one "
                          "generated")
    return secret


def _create(path: Path) -> str:
    """Write a new secret to ``path`` unless another process got there first (then read theirs)."""
    secret = secrets.token_urlsafe(32)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{FILE_NAME}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(secret + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)  # atomic, complete, and never over an existing file
            except FileExistsError:
                return _read(path, "the data folder holds")
        finally:
            os.unlink(tmp)
    except OSError as exc:
        raise SecretError(f"cannot write the web session secret to {path} ({exc.strerror}); make {path.parent} "
                          "writable, or set LEDGER_SESSION_SECRET_FILE to a file holding a secret") from None
    from service.logging import get_logger

    get_logger(__name__).info("session_secret_created", path=str(path))
    return secret
