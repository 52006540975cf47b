"""``--profile``: where the service's CPU goes in an operation, sampled by py-spy from outside the process.

After an operation's measured runs, the harness drives the service alone once more with the same load, for the
same time, with ``py-spy record --subprocesses --nonblocking --gil`` attached (so the sampler's cost never reaches
a measured figure). Only samples of the thread holding the GIL are kept: what the Python side spends CPU on. A
worker thread waiting for work, the event loop waiting in epoll, psycopg waiting for the server's answer hold no
GIL and are left out (py-spy's own idle test counts the first two as busy); so is work a C library does with the
GIL released, such as SQLite's ``sqlite3_step``. The collapsed stacks are kept, gzipped, under
``bench/results/profiles/`` (``gunzip`` them for ``flamegraph.pl`` or speedscope.app; with ``--no-write`` they are
summarised and dropped), and summarised in the results JSON:

- ``cpu_us_per_unit``: the service's process tree CPU time (``/proc/<pid>/stat``) over the run, per request
  (per row or event for the audit export and verify);
- ``by_package``: the share of samples whose innermost Python frame lies in each package (a frame that calls C,
  such as the driver's ``execute``, counts for the package that calls it);
- ``service_functions``: the service's own functions by inclusive share (samples with the function anywhere on
  the stack): the endpoint, the token lookup, the serialiser, the middleware, …
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import tree_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "bench" / "results" / "profiles"
RATE = 200  # samples a second

# A frame is "function (path)" (--nolineno); py-spy shortens the path to the package part (uvicorn/main.py).
_FRAME = re.compile(r"^(?P<func>.*) \((?P<path>[^()]*)\)$")
ENTRY = "service/cli.py"
_PACKAGES = ("service", "bench", "uvicorn", "starlette", "fastapi", "pydantic", "sqlalchemy", "psycopg", "psycopg_pool",
             "anyio", "asyncio", "structlog", "prometheus_client", "httptools", "uvloop", "concurrent", "threading",
             "logging", "json", "orjson", "hashlib")


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if os.access(found, os.X_OK) else None


def package_of(frame: str) -> str:
    m = _FRAME.match(frame)
    path = m["path"] if m else frame
    head = path.replace("\\", "/").lstrip("<").split("/", 1)[0].removesuffix(".py")
    if path.startswith("<"):
        return "interpreter"
    return head if head in _PACKAGES else "other"


def service_function(frame: str) -> str | None:
    """``module.function`` for a frame in the service's own code, else None (and None for the command line's
    ``serve``, at the bottom of every stack)."""
    m = _FRAME.match(frame)
    if not m or not m["path"].startswith("service/") or m["path"] == ENTRY:
        return None
    return m["path"].removesuffix(".py").replace("/", ".") + ":" + m["func"]


@dataclass
class Summary:
    samples: int = 0
    by_package: Counter = field(default_factory=Counter)
    service: Counter = field(default_factory=Counter)

    def add(self, stack: list[str], count: int) -> None:
        frames = [f for f in stack if _FRAME.match(f)]  # drop py-spy's "process …" and "thread …" entries
        if not frames:
            return
        self.samples += count
        self.by_package[package_of(frames[-1])] += count
        for name in {n for n in map(service_function, frames) if n}:
            self.service[name] += count

    def to_json(self, *, cpu_s: float, units: int, unit: str = "request", top: int = 12) -> dict:
        n = self.samples or 1
        return {
            "samples": self.samples,
            "cpu_s": round(cpu_s, 2),
            "units": units,
            "unit": unit,
            "cpu_us_per_unit": round(cpu_s * 1e6 / units, 2) if units else None,
            "by_package": {k: round(v / n, 3) for k, v in self.by_package.most_common()},
            "service_functions": [[k, round(v / n, 3)] for k, v in self.service.most_common(top)],
        }


def summarise(collapsed: str) -> Summary:
    """Collapsed stacks ("frame;frame;… count" per line, outermost first) into a Summary."""
    s = Summary()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            s.add(stack.split(";"), int(count))
    return s


@contextmanager
def recording(pid: int, name: str, directory: Path | None = PROFILES):
    """py-spy on ``pid`` and its children while the block runs; yields a dict filled on exit with the collapsed
    stacks (``collapsed``), the tree's CPU seconds (``cpu_s``) and the file written (``file``:
    ``<directory>/<name>.txt.gz``, by default ``bench/results/profiles/``, relative to the repository when inside
    it). ``directory=None`` keeps no file (``file`` is None): ``python -m bench --no-write``."""
    exe = py_spy()
    if exe is None:
        sys.exit("py-spy is not installed: pip install -e '.[bench]'")
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as scratch:
        with _recording(exe, pid, name, Path(scratch) if directory is None else directory) as out:
            yield out
        if directory is None:
            out["file"] = None


@contextmanager
def _recording(exe: str, pid: int, name: str, directory: Path):
    directory.mkdir(parents=True, exist_ok=True)
    raw = directory / f"{name}.txt"
    cmd = [exe, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--gil", "--nolineno", "--format", "raw",
           "--rate", str(RATE), "--output", str(raw)]
    out: dict = {}
    cpu0 = tree_cpu_seconds(pid)
    spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield out
    finally:
        out["cpu_s"] = tree_cpu_seconds(pid) - cpu0
        spy.send_signal(signal.SIGINT)  # py-spy stops sampling and writes its file
        _, err = spy.communicate(timeout=120)
    if spy.returncode != 0 or not raw.exists():
        raise RuntimeError(f"py-spy failed ({spy.returncode}): {err[-2000:]}")
    text = raw.read_text()
    raw.unlink()
    gz = raw.with_suffix(".txt.gz")
    gz.write_bytes(gzip.compress(text.encode(), mtime=0))
    out["collapsed"] = text
    gz = gz.resolve()
    out["file"] = str(gz.relative_to(ROOT)) if gz.is_relative_to(ROOT) else str(gz)


def profiled(pid: int, name: str, work: Callable[[], Any], units: Callable[[Any], int],
             unit: str = "request", directory: Path | None = PROFILES) -> tuple[Any, dict]:
    """``work()`` with py-spy attached (``recording``): its result, and the summary the results JSON keeps
    (``units(result)`` requests, rows or events did the CPU; ``directory`` as for ``recording``)."""
    with recording(pid, name, directory) as prof:
        result = work()
    summary = summarise(prof["collapsed"]).to_json(cpu_s=prof["cpu_s"], units=units(result), unit=unit)
    return result, {"file": prof["file"], **summary}
