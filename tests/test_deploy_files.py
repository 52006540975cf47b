"""The deployment files agree with each other (no Docker daemon is needed): requirements.lock pins every runtime
dependency of pyproject.toml at a version its range accepts; the Dockerfile installs from that lock (hash-checked,
nothing else fetched) on an exact base image whose Python satisfies requires-python, and checks /readyz; compose.yaml
publishes the port the image serves on and sets only settings that exist."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from service.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _lock() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", line)
        if m:
            pins[canonicalize_name(m.group(1))] = Version(m.group(2))
    return pins


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _instances(compose: dict) -> dict[str, dict]:
    return {name: svc for name, svc in compose["services"].items() if svc.get("build") or "chain-ledger" in
            str(svc.get("image", ""))}


def test_lock_pins_every_runtime_dependency_within_its_range():
    pins = _lock()
    for spec in _pyproject()["project"]["dependencies"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in requirements.lock: run scripts/lock.sh"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {req.name}=={pins[name]}, outside pyproject's {req.specifier}")


def test_lock_is_exact_and_hashed():
    text = (ROOT / "requirements.lock").read_text()
    entries = re.findall(r"^([A-Za-z0-9_.\-]+)(\S*) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M)
    top_level = [line for line in text.splitlines() if line and not line[0].isspace() and not line.startswith("#")]
    assert len(entries) == len(top_level) > 20, "every line of requirements.lock is name==version with hashes"
    for name, pin, _hashes in entries:
        assert re.fullmatch(r"==[^\s=<>~!*]+", pin), f"{name}{pin} is not an exact pin"
    # The image builds the package itself with setuptools from the lock (pip install --no-build-isolation).
    build_req = Requirement(_pyproject()["build-system"]["requires"][0])
    assert build_req.specifier.contains(_lock()[canonicalize_name(build_req.name)])


def test_dockerfile_installs_from_the_lock_on_an_exact_base_image():
    docker = _dockerfile()
    base = re.search(r"^FROM\s+(\S+)", docker, re.M).group(1)
    m = re.fullmatch(r"python:(\d+)\.(\d+)\.(\d+)-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base)
    assert m, f"base image {base!r} is not pinned to an exact Python version"
    python = Version(".".join(m.groups()[:3]))
    assert SpecifierSet(_pyproject()["project"]["requires-python"]).contains(python)
    assert re.search(r"^COPY requirements\.lock ", docker, re.M)
    assert "pip install --require-hashes --no-deps -r requirements.lock" in docker
    # The package itself: no dependencies resolved, no index (nothing beyond the lock is fetched).
    assert re.search(r"pip install --no-deps --no-build-isolation --no-index \.", docker)
    assert not re.search(r"pip install(?![^\n]*(-r requirements\.lock|--no-index))", docker), \
        "every pip install reads the lock or no index"
    # The lock's Python and platform are the image's.
    lock_cmd = (ROOT / "scripts" / "lock.sh").read_text()
    assert f"--python-version {python.major}.{python.minor}" in lock_cmd


def test_dockerfile_checks_readiness_and_serves_its_exposed_port():
    docker = _dockerfile()
    health = re.search(r"^HEALTHCHECK .*?(?<!\\)\n", docker, re.M | re.S).group(0)
    assert "/readyz" in health and "/healthz" not in health
    exposed = re.search(r"^EXPOSE\s+(\d+)", docker, re.M).group(1)
    assert f"127.0.0.1:{exposed}/readyz" in health
    cmd = re.search(r"^CMD\s+(\[.*\])", docker, re.M).group(1)
    assert '"--port", "%s"' % exposed in cmd and '"0.0.0.0"' in cmd
    for name in re.findall(r"\b(LEDGER_[A-Z0-9_]+)=", docker):
        assert name.removeprefix("LEDGER_").lower() in Settings.model_fields, f"{name} is no setting"


def test_compose_runs_two_instances_on_postgres_on_the_image_port():
    compose = _compose()
    exposed = re.search(r"^EXPOSE\s+(\d+)", _dockerfile(), re.M).group(1)
    postgres = [svc for svc in compose["services"].values() if str(svc.get("image", "")).startswith("postgres:")]
    assert len(postgres) == 1
    assert re.fullmatch(r"postgres:\d+\.\d+(-[a-z]+)?", postgres[0]["image"]), "PostgreSQL pinned to a minor release"
    instances = _instances(compose)
    assert len(instances) == 2
    host_ports = set()
    pg_env = postgres[0]["environment"]
    for name, svc in instances.items():
        env = svc["environment"]
        for key in env:
            assert key.startswith("LEDGER_") and key.removeprefix("LEDGER_").lower() in Settings.model_fields, \
                f"{name}: {key} is no setting"
        url = env["LEDGER_DATABASE_URL"]
        assert url == (f"postgresql+psycopg://{pg_env['POSTGRES_USER']}:{pg_env['POSTGRES_PASSWORD']}@postgres:5432/"
                       f"{pg_env['POSTGRES_DB']}")
        assert "LEDGER_SESSION_SECRET" in env, "instances share one session secret"
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"
        (port,) = svc["ports"]
        host, container = port.rsplit(":", 1)
        assert container == exposed
        host_ports.add(host)
    assert len(host_ports) == 2, "each instance on its own host port"
