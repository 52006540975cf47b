"""The audit signing key is created once, whole, by whichever process comes first (service/signing.py)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service import signing


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_a_key_file_is_published_once_and_never_overwritten(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "keys" / "key.pem"
    first, second = _pem(Ed25519PrivateKey.generate()), _pem(Ed25519PrivateKey.generate())
    assert signing._publish(path, first) is True
    assert signing._publish(path, second) is False
    assert path.read_bytes() == first
    assert [p.name for p in path.parent.iterdir()] == ["key.pem"]  # no staged file left behind
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_process_that_loses_the_race_uses_the_winners_key(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    path = tmp_path / "key.pem"
    winner = Ed25519PrivateKey.generate()
    real = signing._publish

    def another_process_first(p, pem):  # noqa: ANN001, ANN202 - the file appears between the check and the write
        real(p, _pem(winner))
        return real(p, pem)

    monkeypatch.setattr(signing, "_publish", another_process_first)
    signer = signing._load_or_create(path)
    assert signer.key_id == signing.key_id_of(winner.public_key())
