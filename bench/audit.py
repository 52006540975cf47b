"""Audit export and verify on the whole chain, against the database's own dump client and a bare loop."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import httpx

from bench import profile as profiling
from bench.common import Database, RssSampler

_q = json.encoder.c_encode_basestring  # type: ignore[attr-defined]


def export_service(base: str, headers: dict, pid: int, fmt: str) -> dict:
    rows = 0
    with RssSampler(pid) as mem:
        start = time.perf_counter()
        with httpx.stream("GET", f"{base}/api/v1/audit/export", params={"format": fmt}, headers=headers,
                          timeout=600) as r:
            r.raise_for_status()
            for chunk in r.iter_bytes():
                rows += chunk.count(b"\n")
        elapsed = time.perf_counter() - start
    if fmt == "csv":
        rows -= 1  # header
    return {"rows": rows, "seconds": elapsed, "rows_per_s": rows / elapsed, "rss_growth_mb": mem.growth,
            "peak_rss_mb": mem.peak}


def export_reference(db: Database) -> dict:
    """The database's own client dumping the same table as CSV (sqlite3 .mode csv / psql \\copy)."""
    if db.kind == "postgres":
        cmd = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db.name, "-q", "-c",
               "\\copy (SELECT * FROM audit_event ORDER BY seq) TO STDOUT WITH CSV HEADER"]
    else:
        cmd = ["sqlite3", "-csv", "-header", str(db.path), "SELECT * FROM audit_event ORDER BY seq"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    rows = 0
    assert proc.stdout is not None
    for chunk in iter(lambda: proc.stdout.read(1 << 20), b""):
        rows += chunk.count(b"\n")
    proc.wait()
    elapsed = time.perf_counter() - start
    return {"rows": rows - 1, "seconds": elapsed, "rows_per_s": (rows - 1) / elapsed}


def verify_service(base: str, headers: dict, pid: int) -> dict:
    with RssSampler(pid) as mem:
        start = time.perf_counter()
        r = httpx.get(f"{base}/api/v1/audit/verify", headers=headers, timeout=900)
        elapsed = time.perf_counter() - start
    body = r.json()
    assert body["ok"], body
    return {"events": body["events"], "seconds": elapsed, "events_per_s": body["events"] / elapsed,
            "rss_growth_mb": mem.growth, "peak_rss_mb": mem.peak}


def verify_reference(db: Database) -> dict:
    """A bare loop: the raw driver, the same rows, sha256 of each event's canonical payload, chained."""
    if db.kind == "postgres":
        import psycopg

        conn = psycopg.connect(f"host=127.0.0.1 user=postgres dbname={db.name}")
        cur = conn.cursor(name="verify")  # server-side cursor
        at = """to_char(timezone('UTC', at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    else:
        import sqlite3

        conn = sqlite3.connect(str(db.path))
        cur = conn.cursor()
        at = "replace(at, ' ', 'T') || 'Z'"
    start = time.perf_counter()
    cur.execute(f"SELECT seq, {at}, actor_name, actor_role, request_id, action, entity, entity_id, data, "
                "prev_hash, hash FROM audit_event ORDER BY seq")
    prev, n = "0" * 64, 0
    sha = hashlib.sha256
    while rows := cur.fetchmany(10000):
        for seq, at_, name, role, rid, action, entity, eid, data, prev_hash, digest in rows:
            payload = (f'{{"action":{_q(action)},"actor":{{"name":{_q(name)},"role":{_q(role)}}},"at":{_q(at_)},'
                       f'"data":{data},"entity":{_q(entity)},"entity_id":{_q(eid)},"prev_hash":{_q(prev_hash)},'
                       f'"request_id":{"null" if rid is None else _q(rid)},"seq":{seq}}}')
            if prev_hash != prev or sha(payload.encode()).hexdigest() != digest:
                raise AssertionError(f"reference verify failed at {seq}")
            prev, n = digest, n + 1
    elapsed = time.perf_counter() - start
    conn.close()
    return {"events": n, "seconds": elapsed, "events_per_s": n / elapsed}


def _median(runs: list[dict], key: str) -> dict:
    return sorted(runs, key=lambda r: r[key])[len(runs) // 2]


def run(db: Database, base: str, headers: dict, pid: int, *, repeat: int = 1,
        profile_stem: str | None = None, profile_dir: Path | None = profiling.PROFILES) -> list[dict]:
    """The audit rows of the results table (each figure the median of ``repeat`` runs); with ``profile_stem``,
    each row also gets the profile of one more run of the service (stacks kept in ``profile_dir``; None keeps
    none)."""
    results = []
    ref = _median([export_reference(db) for _ in range(repeat)], "rows_per_s")
    for fmt in ("csv", "ndjson"):
        svc = _median([export_service(base, headers, pid, fmt) for _ in range(repeat)], "rows_per_s")
        assert svc["rows"] == ref["rows"], (svc["rows"], ref["rows"])
        results.append({
            "name": f"audit export ({fmt}, {svc['rows']:,} events)", "service": round(svc["rows_per_s"]),
            "reference": round(ref["rows_per_s"]), "unit": "rows/s", "ratio": round(svc["rows_per_s"] / ref["rows_per_s"], 3),
            "target": 0.5, "direction": "higher_is_better", "p50_ms": None, "p99_ms": None,
            "peak_rss_mb": round(svc["peak_rss_mb"], 1), "rss_growth_mb": round(svc["rss_growth_mb"], 1),
            "reference_name": "sqlite3 -csv" if db.kind == "sqlite" else "psql \\copy … to stdout csv",
        })
        if profile_stem:
            _, results[-1]["profile"] = profiling.profiled(
                pid, f"{profile_stem}-export-{fmt}", lambda fmt=fmt: export_service(base, headers, pid, fmt),
                lambda r: r["rows"], "row", profile_dir)
    svc = _median([verify_service(base, headers, pid) for _ in range(repeat)], "events_per_s")
    ref = _median([verify_reference(db) for _ in range(repeat)], "events_per_s")
    results.append({
        "name": f"audit verify ({svc['events']:,} events)", "service": round(svc["events_per_s"]),
        "reference": round(ref["events_per_s"]), "unit": "events/s",
        "ratio": round(svc["events_per_s"] / ref["events_per_s"], 3), "target": 0.5,
        "direction": "higher_is_better", "p50_ms": None, "p99_ms": None,
        "peak_rss_mb": round(svc["peak_rss_mb"], 1), "rss_growth_mb": round(svc["rss_growth_mb"], 1),
        "reference_name": "bare hashlib loop over the raw driver",
    })
    if profile_stem:
        _, results[-1]["profile"] = profiling.profiled(
            pid, f"{profile_stem}-verify", lambda: verify_service(base, headers, pid), lambda r: r["events"], "event",
            profile_dir)
    return results
