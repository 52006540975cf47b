"""The Ed25519 key that signs the audit tree heads (SPEC §6), kept in a PEM file outside the database.

``LEDGER_AUDIT_SIGNING_KEY`` names the file; unset, it is ``audit-signing-key.pem`` beside the SQLite file, or
in the working directory on PostgreSQL, generated on first start (with a warning in the log: whoever holds the
file can sign heads, so it belongs with the service's other secrets, and auditors should keep its public key).
The key id is the SHA-256 (hex) of the public key's DER SubjectPublicKeyInfo.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.engine import make_url

from service.config import Settings
from service.domain import merkle
from service.logging import get_logger

log = get_logger(__name__)
KEY_FILE = "audit-signing-key.pem"


def key_id_of(public_key: Ed25519PublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey
    key_id: str
    public_key_pem: str

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private_key.sign(message)).decode("ascii")

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()


def key_path(settings: Settings) -> Path:
    if settings.audit_signing_key:
        return Path(settings.audit_signing_key)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / KEY_FILE
    return Path.cwd() / KEY_FILE


_lock = threading.Lock()
_loaded: dict[Path, Signer] = {}
#: ``id(settings)`` → (settings, its signer): every request's context asks, and resolving the key's path costs
#: system calls; the settings object is kept so that its id cannot be reused by another.
_by_settings: dict[int, tuple[Settings, Signer]] = {}


def signer_for(settings: Settings) -> Signer:
    """The signer of ``settings``' key file, read once per process (generated when the file does not exist)."""
    known = _by_settings.get(id(settings))
    if known is not None and known[0] is settings:
        return known[1]
    path = key_path(settings).resolve()
    with _lock:
        if path not in _loaded:
            _loaded[path] = _load_or_create(path)
        _by_settings[id(settings)] = (settings, _loaded[path])
        return _loaded[path]


def _load_or_create(path: Path) -> Signer:
    if path.exists():
        key = _read_key(path)
    else:
        key = Ed25519PrivateKey.generate()
        if _publish(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())):
            log.warning("audit_signing_key_generated", path=str(path),
                        detail="a new Ed25519 key signs the audit tree heads; keep the file safe and give auditors "
                        "GET /api/v1/audit/public-key (set LEDGER_AUDIT_SIGNING_KEY to choose the file)")
        else:  # another process (an instance starting beside this one, the worker) wrote it first: use theirs
            key = _read_key(path)
    return Signer(private_key=key, key_id=key_id_of(key.public_key()), public_key_pem=public_pem(key.public_key()))


def _read_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def _publish(path: Path, pem: bytes) -> bool:
    """Create ``path`` holding ``pem`` unless it exists; False when it did. The bytes are written to a file of
    their own first and linked into place, so that no process ever reads a key file half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, staged = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:  # mkstemp's file is the owner's only (0600)
            f.write(pem)
        os.link(staged, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(staged)


# ---------------------------------------------------------------- checking a head (the offline verifier, /audit/verify)


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def head_signature_ok(head: dict[str, Any], public_key: Ed25519PublicKey) -> bool:
    """Whether ``head`` ({size, root, signed_at, key_id, signature}) was signed by ``public_key``."""
    try:
        message = merkle.tree_head_message(size=int(head["size"]), root=str(head["root"]),
                                           signed_at=str(head["signed_at"]), key_id=str(head["key_id"]))
        if head["key_id"] != key_id_of(public_key):
            return False
        public_key.verify(base64.b64decode(head["signature"], validate=True), message)
        return True
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False


def head_json(head: dict[str, Any]) -> str:
    return json.dumps(head, indent=2)
