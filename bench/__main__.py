"""``python -m bench [--db sqlite|postgres] [--quick]``: the service against bare references doing the same work.

One run: a fresh database, ``chain-ledger seed --synthetic N`` (100,000 projects ≈ 1 M audit events; ``--quick``
10,000), the service (``chain-ledger serve``, 1 worker on SQLite, 2 on PostgreSQL) and beside it two references
under uvicorn with the same worker count, serving the same SQL and JSON (bench/reference_core.py): a plain ASGI
callable (bench/reference.py; the targets are ratios to it) and plain FastAPI routes (bench/reference_fastapi.py:
FastAPI's own floor). wrk drives the three with the same load from its own process, one operation after the other
(warm-up, then measured, one side after the other), then the audit export and verify rows of bench/audit.py.
Writes bench/results/<date>-<db>[-quick].json, docs/performance.md's table and docs/performance-<db>.png.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import create_engine, text

from bench import audit, report
from bench import profile as profiling
from bench.common import Database, cli, machine, new_database, reference, service
from bench.load import LoadConfig, measure, require_wrk, write_lines, wrk

NEXT = {"signed": "started", "started": "in_production", "in_production": "at_capacity"}
STEPS = ("started", "in_production", "at_capacity")


def _today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


# ---------------------------------------------------------------- workloads


class Workload:
    """The request mixes: files of paths for GETs, a pool of transitions rebuilt from the database."""

    def __init__(self, db: Database, workdir: Path, tz: str, *, seed: int = 8):
        self.db, self.dir, self.tz = db, workdir, tz
        self.rng = random.Random(seed)
        self.engine = create_engine(db.url)
        self.pools = 0

    def close(self) -> None:
        self.engine.dispose()

    def paths(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(text("SELECT id FROM project WHERE voided_at IS NULL ORDER BY id"))]
            chains = [r[0] for r in conn.execute(text("SELECT code FROM chain ORDER BY code"))]
        today = _today(self.tz)
        sample = self.rng.sample(ids, min(5000, len(ids)))
        months, first = [], today.replace(day=1)
        for _ in range(12):  # the twelve complete months before this one
            first = (first - timedelta(days=1)).replace(day=1)
            months.append(f"{first:%Y-%m}")
        chain_order = chains[:]
        self.rng.shuffle(chain_order)
        return {
            "list": write_lines(self.dir / "list.txt",
                                [f"/api/v1/projects?chain={c}&limit=50" for c in chain_order]),
            # The web's list page of the same chains (its references serve the API list it wraps: "list").
            "page": write_lines(self.dir / "page.txt", [f"/projects?chain={c}" for c in chain_order]),
            "get": write_lines(self.dir / "get.txt", [f"/api/v1/projects/{i}" for i in sample]),
            "summary": write_lines(self.dir / "summary.txt",
                                   [f"/api/v1/ledger/summary?period={y}" for y in range(today.year - 2, today.year + 1)]),
            "month": write_lines(self.dir / "month.txt", [f"/api/v1/ledger?period={m}" for m in months]),
        }

    def transition_pool(self) -> tuple[str, int]:
        """Every remaining forward step of every live project, round by round (each project's next step first,
        then the step after …), shuffled within a round: a project's second step is thousands of requests after
        its first. Dated today (never in the future, never before a milestone: synthetic ones are ≤ today)."""
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, stage FROM project WHERE voided_at IS NULL "
                                     "AND stage IN ('signed', 'started', 'in_production')")).all()
        on = _today(self.tz).isoformat()
        lines: list[str] = []
        current = {pid: stage for pid, stage in rows}
        while current:
            step = [(pid, NEXT[stage]) for pid, stage in current.items()]
            self.rng.shuffle(step)
            lines += [f"{pid} {to} {on}" for pid, to in step]
            current = {pid: to for pid, to in step if to in NEXT}
        self.pools += 1
        return write_lines(self.dir / f"pool-{self.pools}.txt", lines), len(lines)


OPERATIONS = [
    # key, name, target (ratio of req/s)
    ("list", "list projects (?chain=Cxx&limit=50)", 0.7),
    ("get", "get a project", 0.7),
    # A page is HTML the references do not serve: they answer the API list the page wraps (same chain, 50 rows);
    # the target asks the page, which renders those rows and its filter form, for half the list's.
    ("page", "web: the projects page (/projects?chain=Cxx)", 0.35),
    ("transition", "stage transition (+ audit append)", 0.6),
    ("summary", "ledger summary (a year, by chain)", round(1 / 1.3, 3)),
    ("month", "ledger (a month, ≤500 items per list)", 0.7),
]
HEAVY = {"summary", "month"}  # run with LoadConfig.heavy_connections (see there)


# ---------------------------------------------------------------- equivalence (the references do the same work)

# The sides of a load row, in the order they run: the service, the ASGI reference (bench/reference.py) and the
# FastAPI reference (bench/reference_fastapi.py), the last two serving the same code (bench/reference_core.py).
# A row keeps the service's figures under bare keys (p50_ms …), the ASGI reference's under reference_* (its ratio,
# the one the targets are about, under ratio) and the FastAPI reference's under fastapi_reference_* (its ratio
# under fastapi_ratio). Results from before the FastAPI reference have only the first two.
SIDES = ("service", "reference", "fastapi_reference")
FASTAPI_APP = "bench.reference_fastapi:app"


def _same(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def check_equivalence(sbase: str, headers: dict, refs: dict[str, str], paths: dict[str, str], wl: Workload) -> None:
    """The ASGI reference answers the same JSON as the service (GETs) and the FastAPI reference the same bytes as
    the ASGI one; a transition on each side gives the same shape. ``refs``: side → base URL."""
    rbase, fbase = refs["reference"], refs["fastapi_reference"]
    with httpx.Client(timeout=30) as client:
        for key, file in paths.items():
            if key == "page":  # HTML, the service's only (bench/__main__.py _script)
                continue
            path = Path(file).read_text().splitlines()[0]
            s = client.get(sbase + path, headers=headers)
            r = client.get(rbase + path)
            if s.status_code != 200 or r.status_code != 200 or not _same(s.json(), r.json()):
                raise SystemExit(f"reference differs from the service on {path}: {s.status_code} {r.status_code}\n"
                                 f"{s.text[:500]}\n{r.text[:500]}")
            f = client.get(fbase + path)
            if f.status_code != 200 or f.content != r.content:
                raise SystemExit(f"the FastAPI reference differs from the ASGI reference on {path}: {f.status_code}\n"
                                 f"{f.text[:500]}\n{r.text[:500]}")
        pool, _ = wl.transition_pool()
        (a_id, a_to, on), *steps = [line.split() for line in Path(pool).read_text().splitlines()[:3]]
        s = client.post(f"{sbase}/api/v1/projects/{a_id}/transitions", json={"to": a_to, "on": on}, headers=headers)
        for base, (b_id, b_to, _) in zip((rbase, fbase), steps, strict=True):
            r = client.post(f"{base}/api/v1/projects/{b_id}/transitions", json={"to": b_to, "on": on})
            if s.status_code != 200 or r.status_code != 200 or set(s.json()) != set(r.json()) \
                    or r.json()["stage"] != b_to or r.json()["milestones"][b_to] != on:
                raise SystemExit(f"transition differs ({base}): {s.status_code} {s.text[:300]} / {r.status_code} "
                                 f"{r.text[:300]}")


# ---------------------------------------------------------------- the run


def _median_run(runs: list[dict]) -> dict:
    """Of repeated runs, the one with the median req/s (its latencies and memory come along)."""
    ordered = sorted(runs, key=lambda r: r["rps"])
    return ordered[len(ordered) // 2]


def _script(key: str, base_tok: str, cfg: LoadConfig, paths: dict[str, str], wl: Workload,  # noqa: ANN202
            cookie: str = ""):
    """The wrk script, its args, and the ``prepare`` hook (transitions: a fresh pool before each run). The web
    page runs on the service's side only (with its session ``cookie``); a reference side runs the API list."""
    if key == "transition":
        def prepare(tok: str = base_tok, threads: int = cfg.threads) -> list[str]:
            pool, _n = wl.transition_pool()
            return [pool, str(threads), tok]

        return "transition.lua", [], prepare
    if key == "page":
        return ("paths.lua", [paths["page"], "", cookie], None) if cookie else ("paths.lua", [paths["list"]], None)
    return "paths.lua", [paths[key], base_tok], None


def web_session(base: str, token: str) -> str:
    """A signed-in web session on the service (the sign-in form, as a browser sends it): its Cookie header."""
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        if csrf is None:
            raise SystemExit("no CSRF token on the sign-in page")
        r = client.post("/signin", data={"csrf": csrf[1], "token": token, "next": "/"})
        if r.status_code != 303:
            raise SystemExit(f"web sign-in failed: {r.status_code} {r.text[:300]}")
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def profile_side(key: str, side: str, base: str, pid: int, token: str, paths: dict[str, str], wl: Workload,
                 cfg: LoadConfig, stem: str, directory: Path | None, cookie: str = "") -> dict:
    """One more run of one side alone under the same load, py-spy attached (bench/profile.py); not measured.
    The service's stacks are ``<stem>-<key>``, another side's ``<stem>-<key>-<side>``."""
    script, args, prepare = _script(key, token, cfg, paths, wl, cookie)
    run_args = prepare() if prepare else args

    def work() -> dict:
        return wrk(base, script, run_args, seconds=cfg.duration, cfg=cfg)

    name = f"{stem}-{key}" if side == "service" else f"{stem}-{key}-{side.replace('_', '-')}"
    res, summary = profiling.profiled(pid, name, work, lambda r: r["requests"], directory=directory)
    return {"rps_while_profiled": round(res["rps"]), **summary}


def _ratio(a: dict, b: dict) -> float | None:
    """a's req/s over b's; None when b completed nothing (a 0 would read as "infinitely slower")."""
    return round(a["rps"] / b["rps"], 3) if b["requests"] else None


def _ms(us: float) -> float:
    return round(us / 1000, 2)


def load_row(key: str, name: str, target: float, connections: int, runs: dict[str, list[dict]],
             db_kind: str) -> dict:
    """The results row of one operation from each side's runs (``SIDES``; each side's median run counts)."""
    svc, ref, fast = (_median_run(runs[side]) for side in SIDES)
    driver = "asyncpg" if db_kind == "postgres" else "sqlite3"
    row = {
        "name": name, "key": key, "service": round(svc["rps"]), "reference": round(ref["rps"]),
        "fastapi_reference": round(fast["rps"]), "unit": "req/s",
        "ratio": _ratio(svc, ref), "fastapi_ratio": _ratio(svc, fast), "target": target,
        "direction": "higher_is_better", "connections": connections,
        "p50_ms": _ms(svc["p50_us"]), "p99_ms": _ms(svc["p99_us"]), "peak_rss_mb": round(svc["peak_rss_mb"], 1),
        "reference_p50_ms": _ms(ref["p50_us"]), "reference_p99_ms": _ms(ref["p99_us"]),
        "reference_peak_rss_mb": round(ref["peak_rss_mb"], 1),
        "fastapi_reference_p50_ms": _ms(fast["p50_us"]), "fastapi_reference_p99_ms": _ms(fast["p99_us"]),
        "fastapi_reference_peak_rss_mb": round(fast["peak_rss_mb"], 1),
        "cpu_us_per_request": _round(svc["cpu_us_per_request"]),
        "reference_cpu_us_per_request": _round(ref["cpu_us_per_request"]),
        "fastapi_reference_cpu_us_per_request": _round(fast["cpu_us_per_request"]),
        "service_errors": svc["errors"], "reference_errors": ref["errors"], "fastapi_reference_errors": fast["errors"],
        "requests": {side: m["requests"] for side, m in zip(SIDES, (svc, ref, fast))},
        "runs": {side: [round(r["rps"]) for r in runs[side]] for side in SIDES},
        "reference_name": f"plain ASGI + {driver}", "fastapi_reference_name": f"plain FastAPI + {driver}",
    }
    # A transition run whose pool ran out stopped its threads early: its req/s is a lower bound.
    exhausted = [side for side, m in zip(SIDES, (svc, ref, fast)) if m.get("exhausted")]
    if exhausted:
        row["pool_exhausted"] = exhausted
    return row


def _print_profile(key: str, label: str, p: dict) -> None:
    per = "no request completed" if p["cpu_us_per_unit"] is None else f"{p['cpu_us_per_unit']:.0f} µs CPU a request"
    print(f"  {key:<10} profiled {label}: {per}; "
          + ", ".join(f"{k} {v:.0%}" for k, v in list(p["by_package"].items())[:5]), flush=True)


def run_load(sbase: str, headers: dict, spid: int, refs: dict[str, tuple[str, int]], wl: Workload,
             cfg: LoadConfig, repeat: int, only: set[str] | None, profile_stem: str | None = None,
             profile_dir: Path | None = profiling.PROFILES) -> list[dict]:
    """Every operation on every side (``refs``: reference side → (base URL, pid)), one side after the other."""
    token = headers["Authorization"].split(" ", 1)[1]
    paths = wl.paths()
    check_equivalence(sbase, headers, {side: base for side, (base, _) in refs.items()}, paths, wl)
    sides = [("service", sbase, spid, token)] + [(side, *refs[side], "") for side in SIDES[1:]]
    cookie = web_session(sbase, token) if only is None or "page" in only else ""
    results = []
    base_cfg = cfg
    for key, name, target in OPERATIONS:
        if only and key not in only:
            continue
        cfg = replace(base_cfg, connections=base_cfg.heavy_connections) if key in HEAVY else base_cfg
        runs: dict[str, list[dict]] = {side: [] for side in SIDES}
        for _ in range(repeat):
            for side, base, pid, tok in sides:
                script, args, prepare = _script(key, tok, cfg, paths, wl, cookie if side == "service" else "")
                res = measure(base, pid, script, args, cfg, prepare=prepare)
                runs[side].append(res)
                print(f"  {key:<10} {side:<17} {res['rps']:>9.0f} req/s  p50 {res['p50_us'] / 1000:6.1f} ms  "
                      f"p99 {res['p99_us'] / 1000:7.1f} ms  errors {res['non_2xx_or_socket_errors']}"
                      + ("  (pool exhausted)" if res.get("exhausted") else ""), flush=True)
        row = load_row(key, name, target, cfg.connections, runs, wl.db.kind)
        if profile_stem:
            # The service, and the FastAPI reference beside it: what FastAPI itself costs in the same operation.
            for side, base, pid, tok in (sides[0], sides[2]):
                p = profile_side(key, side, base, pid, tok, paths, wl, cfg, profile_stem, profile_dir,
                                 cookie if side == "service" else "")
                row["profile" if side == "service" else f"{side}_profile"] = p
                _print_profile(key, side.replace("_", " "), p)
        results.append(row)
    return results


def _round(value: float | None) -> int | None:
    return None if value is None else round(value)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--quick", action="store_true", help="10,000 projects, shorter runs")
    parser.add_argument("--projects", type=int, help="synthetic projects (default 100,000; --quick 10,000)")
    parser.add_argument("--duration", type=int, help="measured seconds per run (default 12; --quick 8)")
    parser.add_argument("--warmup", type=int, help="warm-up seconds before each run (default 3; --quick 2)")
    parser.add_argument("--repeat", type=int, help="runs per operation and side, median kept (default 3; --quick 1)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--heavy-connections", type=int, default=8,
                        help="connections for the aggregates (summary, month), both sides alike")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", help="comma-separated operations: list,page,get,transition,summary,month,audit")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results or docs")
    parser.add_argument("--profile", action="store_true",
                        help="after each operation's measured runs, one more run of the service, and one of the "
                        "FastAPI reference, with py-spy attached: bench/results/profiles/*.txt.gz (none with "
                        "--no-write) and a summary in the results (bench/profile.py)")
    args = parser.parse_args()
    require_wrk()
    if args.profile and profiling.py_spy() is None:
        parser.error("--profile needs py-spy: pip install -e '.[bench]'")
    quick = args.quick
    size = args.projects or (10_000 if quick else 100_000)
    cfg = LoadConfig(duration=args.duration or (8 if quick else 12), warmup=args.warmup if args.warmup is not None
                     else (2 if quick else 3), connections=args.connections, threads=args.threads,
                     heavy_connections=args.heavy_connections)
    repeat = args.repeat or (1 if quick else 3)
    only = set(args.only.split(",")) if args.only else None
    workers = 1 if args.db == "sqlite" else 2
    from service.config import get_settings

    tz = get_settings().timezone
    started = time.perf_counter()
    stem = f"{datetime.now(UTC):%Y-%m-%d}-{args.db}{'-quick' if quick else ''}"  # the profiles' file names
    profile_dir = None if args.no_write else profiling.PROFILES  # --no-write: profiles summarised, stacks dropped
    load_start = Path("/proc/loadavg").read_text().split()[:3]
    if float(load_start[0]) > 1.5:
        print(f"warning: the machine is busy (load average {' '.join(load_start)}): figures will be noisy; the "
              "service's thread hops suffer more from a busy CPU than the single-threaded reference", flush=True)
    with tempfile.TemporaryDirectory(prefix="chain-ledger-bench-") as tmp:
        db = new_database(args.db, Path(tmp))
        try:
            cli("migrate", url=db.url)
            t0 = time.perf_counter()
            seeded = cli("seed", "--synthetic", str(size), url=db.url)
            seed_s = time.perf_counter() - t0
            print(f"{args.db}: {seeded} in {seed_s:.0f} s", flush=True)
            wl = Workload(db, Path(tmp), tz)
            results: list[dict] = []
            try:
                with service(db.url, workers=workers) as (sbase, headers, spid):
                    if only is None or only - {"audit"}:
                        with reference(db.url, workers=workers) as (rbase, rpid), \
                                reference(db.url, workers=workers, app=FASTAPI_APP) as (fbase, fpid):
                            refs = {"reference": (rbase, rpid), "fastapi_reference": (fbase, fpid)}
                            results += run_load(sbase, headers, spid, refs, wl, cfg, repeat, only,
                                                profile_stem=stem if args.profile else None,
                                                profile_dir=profile_dir)
                    if only is None or "audit" in only:
                        for row in audit.run(db, sbase, headers, spid, repeat=repeat,
                                             profile_stem=stem if args.profile else None, profile_dir=profile_dir):
                            print(f"  {row['name']}: service {row['service']:,} {row['unit']}, reference "
                                  f"{row['reference']:,}, ratio {row['ratio']}, server memory growth "
                                  f"{row['rss_growth_mb']} MB", flush=True)
                            results.append(row)
            finally:
                wl.close()
            with create_engine(db.url).connect() as conn:
                events = conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
        finally:
            db.drop()
    doc = {
        "machine": machine(), "db": args.db,
        "size": {"projects": size, "audit_events_seeded": int(seeded.split(", ")[1].split()[0]),
                 "audit_events_at_end": events},
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "quick": quick,
        "load": {"tool": "wrk", "connections": cfg.connections, "heavy_connections": cfg.heavy_connections,
                 "heavy": sorted(HEAVY), "threads": cfg.threads, "duration_s": cfg.duration, "timeout_s": cfg.timeout,
                 "warmup_s": cfg.warmup, "repeat": repeat, "workers": workers},
        "loadavg_start": " ".join(load_start), "loadavg_end": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "seed_seconds": round(seed_s), "total_seconds": round(time.perf_counter() - started),
        "results": results,
    }
    print(report.table(doc))
    if args.profile:
        print(report.cpu_table(doc))
    if not args.no_write:
        path = report.write_results(doc)
        report.render_docs()
        print(f"wrote {path}, docs/performance.md, docs/performance-{args.db}.png")


if __name__ == "__main__":
    main()
