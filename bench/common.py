"""Shared pieces of the benchmark harness: databases, the service process, memory sampling."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> dict:
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), "0")
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gb": round(int(mem) / 1024 / 1024, 1),
            "python": platform.python_version(), "platform": platform.platform()}


@dataclass
class Database:
    kind: str  # sqlite | postgres
    url: str
    path: Path | None = None  # SQLite file
    name: str | None = None  # PostgreSQL database

    def drop(self) -> None:
        if self.kind == "postgres":
            with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        elif self.path:
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)


def new_database(kind: str, workdir: Path) -> Database:
    if kind == "postgres":
        name = f"cl_bench_{uuid.uuid4().hex[:10]}"
        with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
        return Database("postgres", url, name=name)
    path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
    return Database("sqlite", f"sqlite:///{path}", path=path)


def cli(*args: str, url: str) -> str:
    env = {**os.environ, "LEDGER_DATABASE_URL": url}
    out = subprocess.run([str(Path(sys.executable).parent / "chain-ledger"), *args],
                         env=env, check=True, capture_output=True, text=True, cwd=ROOT)
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def process_tree(pid: int) -> list[int]:
    """A process and its children (the uvicorn workers)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    return pids


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children, in seconds."""
    ticks = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MB."""
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


class RssSampler:
    """Samples a process tree's RSS every ``interval`` seconds; ``peak`` and growth over ``baseline``."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid, self.interval = pid, interval
        self.baseline = rss_mb(pid)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> float:
        return self.peak - self.baseline


def _wait_ready(base: str, path: str, proc: subprocess.Popen) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"{base} exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{base}{path}", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{base} did not start")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def service(url: str, *, workers: int = 1, token_role: str = "admin", log_level: str = "INFO"):
    """``chain-ledger serve`` on a free port; yields (base_url, headers, pid).

    It runs as deployed: one JSON access-log line per request (INFO, to /dev/null here), webhook worker off."""
    token = cli("token", "create", "--role", token_role, "--name", "bench", url=url)
    port = free_port()
    env = {**os.environ, "LEDGER_DATABASE_URL": url, "LEDGER_LOG_LEVEL": log_level,
           "LEDGER_WEBHOOK_WORKER": "false"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "chain-ledger"), "serve", "--port", str(port),
                             "--workers", str(workers)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, "/readyz", proc)
        yield base, {"Authorization": f"Bearer {token}"}, proc.pid
    finally:
        _stop(proc)


@contextmanager
def reference(url: str, *, workers: int = 1, env: dict[str, str] | None = None, app: str = "bench.reference:app"):
    """A bare reference app under uvicorn on a free port; yields (base_url, pid). ``app``: the ASGI reference
    (bench/reference.py) or the FastAPI one (``bench.reference_fastapi:app``)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        env={**os.environ, "BENCH_REF_DATABASE_URL": url, **(env or {})}, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, "/healthz", proc)
        yield base, proc.pid
    finally:
        _stop(proc)
