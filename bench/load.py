"""HTTP load with ``wrk`` (Debian's package) from a separate process: GETs over a file of paths, transitions
from a pool of valid steps. Results come from the Lua ``done()`` hook as one JSON line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import RssSampler, tree_cpu_seconds

WRK_DIR = Path(__file__).resolve().parent / "wrk"
INSTALL_HINT = "wrk is not installed: run `apt-get update && apt-get install -y wrk` (Debian's package), then retry."


@dataclass(frozen=True)
class LoadConfig:
    duration: int = 12  # seconds measured
    warmup: int = 3  # seconds of the same load before, not measured
    connections: int = 32
    threads: int = 2
    timeout: int = 30  # wrk's per-request timeout, seconds
    # The aggregates (summary, month) take a fraction of a second to seconds of CPU each: 32 clients queued on
    # two cores measure the queue (every request past the timeout, no ratio), not throughput. They run with this
    # many connections instead, on both sides alike: enough to keep every worker thread busy.
    heavy_connections: int = 8


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        sys.exit(INSTALL_HINT)
    return path


def wrk(base: str, script: str, args: list[str], *, seconds: int, cfg: LoadConfig) -> dict:
    """One wrk run against ``base``; the figures of the ``done()`` hook plus req/s."""
    cmd = [require_wrk(), f"-t{cfg.threads}", f"-c{cfg.connections}", f"-d{seconds}s", f"--timeout={cfg.timeout}s",
           "-s", str(WRK_DIR / script), base, "--", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + cfg.timeout + 30)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-2000:]} {out.stderr[-2000:]}")
    result = json.loads(line.removeprefix("BENCH_JSON "))
    seconds_run = result["duration_us"] / 1e6
    result["rps"] = result["requests"] / seconds_run if seconds_run else 0.0
    result["non_2xx_or_socket_errors"] = sum(result["errors"].values())
    return result


def measure(base: str, pid: int, script: str, args: list[str], cfg: LoadConfig, *, prepare=None) -> dict:  # noqa: ANN001
    """Warm up, then measure under the same load while sampling the server's memory.
    ``prepare()`` (if given) runs before each of the two wrk runs and returns the script's args
    (the transition pool is rebuilt from the database each time)."""
    if cfg.warmup:
        warm = wrk(base, script, prepare() if prepare else args, seconds=cfg.warmup, cfg=cfg)
        # Let the server finish the warm-up's queued requests before measuring: a slow operation (seconds per
        # aggregate) otherwise starts the measured run behind a backlog of abandoned requests, and a transition
        # still in flight when its pool is rebuilt would be sent again (409).
        time.sleep(min(30.0, 1.5 + 1.2 * warm["max_us"] / 1e6))
    run_args = prepare() if prepare else args
    cpu0 = tree_cpu_seconds(pid)
    with RssSampler(pid, interval=0.1) as mem:
        result = wrk(base, script, run_args, seconds=cfg.duration, cfg=cfg)
    cpu = tree_cpu_seconds(pid) - cpu0
    result["peak_rss_mb"] = mem.peak
    result["rss_growth_mb"] = mem.growth
    # The server's own CPU (its process tree; not the database's, not wrk's) per completed request.
    result["cpu_us_per_request"] = cpu * 1e6 / result["requests"] if result["requests"] else None
    return result


def write_lines(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)
