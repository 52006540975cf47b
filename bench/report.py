"""Results: bench/results/<date>-<db>[-quick].json, the tables in docs/performance.md, docs/performance-<db>.png.

``python -m bench.report`` re-renders the docs from the newest results of each database (a full run is
preferred to a quick one). Only the blocks between ``<!-- results:<db> -->`` and ``<!-- /results:<db> -->``
markers are rewritten; the prose around them is kept.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs"
PERF = DOCS / "performance.md"
DBS = ("sqlite", "postgres")


def met(row: dict) -> bool:
    if row["ratio"] is None:  # the reference completed nothing: no ratio, not met
        return False
    ok = row["ratio"] >= row["target"] if row["direction"] == "higher_is_better" else row["ratio"] <= row["target"]
    if row.get("rss_growth_mb") is not None and row["name"].startswith("audit export"):
        ok = ok and row["rss_growth_mb"] < 50
    return ok


def _num(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


EXHAUSTED = "⚠"
_SIDE_LABELS = {"service": "the service", "reference": "the ASGI reference", "fastapi_reference": "the FastAPI reference"}


def _rate(r: dict, side: str) -> str:
    """A side's figure, flagged when its transition pool ran out (threads stopped early: a lower bound)."""
    return _num(r.get(side)) + (f" {EXHAUSTED}" if side in r.get("pool_exhausted", ()) else "")


def _ratio(value: float | None, *, absent: str = "–") -> str:
    return f"{value:.2f}" if value is not None else absent


def _sides(r: dict, key: str, fmt) -> str:  # noqa: ANN001
    """The service's ``key`` and, in parentheses, the references' that the row carries (ASGI, then FastAPI)."""
    if r.get(key) is None:
        return "–"
    refs = [f"{side}_{key}" for side in ("reference", "fastapi_reference") if f"{side}_{key}" in r]
    if not refs:
        return fmt(r[key])
    return fmt(r[key]) + " (" + ", ".join("–" if r[k] is None else fmt(r[k]) for k in refs) + ")"


def table(doc: dict) -> str:
    """One row an operation: req/s of the service and of both references, the ratio to each (the target is
    about the ASGI reference's), the servers' CPU per request and latencies (the references' in parentheses)."""
    head = ("| operation | unit | service | ASGI reference | ratio | target | met | FastAPI reference | "
            "ratio to FastAPI | server CPU µs per request | p50 ms | p99 ms | service peak RSS MB |\n"
            "| --- | --- | ---: | ---: | ---: | ---: | :-: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
    lines = []
    for r in doc["results"]:
        target = ("≥ " if r["direction"] == "higher_is_better" else "≤ ") + f"{r['target']:.2f}"
        rss = _num(r.get("peak_rss_mb"), 1)
        if r.get("rss_growth_mb") is not None:
            rss += f" (+{r['rss_growth_mb']:.1f})"
        fastapi = _rate(r, "fastapi_reference") if "fastapi_reference" in r else "–"
        lines.append(f"| {r['name']} | {r['unit']} | {_rate(r, 'service')} | {_rate(r, 'reference')} | "
                     f"{_ratio(r['ratio'], absent='no ratio')} | {target} | {'✅' if met(r) else '❌'} | {fastapi} | "
                     f"{_ratio(r.get('fastapi_ratio'), absent='no ratio' if 'fastapi_reference' in r else '–')} | "
                     f"{_sides(r, 'cpu_us_per_request', lambda v: f'{v:,}')} | "
                     f"{_sides(r, 'p50_ms', lambda v: f'{v:,.1f}')} | {_sides(r, 'p99_ms', lambda v: f'{v:,.1f}')} | "
                     f"{rss} |")
    notes = ""
    if any("reference_p50_ms" in r for r in doc["results"]):
        notes += ("\nIn parentheses: the ASGI reference's figure" + (", then the FastAPI reference's" if any(
            "fastapi_reference_p50_ms" in r for r in doc["results"]) else "") + ".\n")
    flagged = {side for r in doc["results"] for side in r.get("pool_exhausted", ())}
    if flagged:
        notes += (f"\n{EXHAUSTED} the transition pool ran out during the measured run of "
                 + " and ".join(_SIDE_LABELS.get(s, s) for s in sorted(flagged, key=list(_SIDE_LABELS).index))
                 + ": its threads stopped early, so its req/s understates it (a ratio to a flagged reference reads "
                 "too high, a flagged service's too low); more projects (`--projects`) give every side a full pool.\n")
    return head + "\n".join(lines) + "\n" + notes


def _pct(share: float) -> str:
    return f"{share * 100:.0f} %"


def _stacks(p: dict) -> str:
    return f"[{Path(p['file']).name}](../{p['file']})" if p.get("file") else "–"  # --no-write: none kept


def _per_unit(p: dict) -> str:
    if p.get("cpu_us_per_unit") is None:  # e.g. a transition profiled after the pool ran out
        return f"no {p['unit']} completed" if p.get("units") == 0 else "–"
    return f"{p['cpu_us_per_unit']:,.1f} µs / {p['unit']}"


def cpu_table(doc: dict) -> str:
    """Where the service's CPU goes, for the rows that carry it: CPU per request of every side in the measured runs
    (the process trees only, not the database), and the py-spy summary of the profiled run (``--profile``), with
    the FastAPI reference's beside it when it was profiled too."""
    rows = [r for r in doc["results"] if r.get("cpu_us_per_request") is not None or r.get("profile")]
    if not rows:
        return ""
    head = ("| operation | server CPU µs per request: service (ASGI reference, FastAPI reference) | "
            "profiled: CPU per unit | innermost frame's package | the service's own functions (inclusive) | stacks | "
            "FastAPI reference profiled: CPU per unit, innermost frame's package, stacks |\n"
            "| --- | ---: | ---: | --- | --- | --- | --- |\n")
    lines = []
    for r in rows:
        cpu = _sides(r, "cpu_us_per_request", lambda v: f"{v:,}")
        p = r.get("profile")
        if p:
            packages = ", ".join(f"{k} {_pct(v)}" for k, v in list(p["by_package"].items())[:6])
            funcs = ", ".join(f"`{name.removeprefix('service.')}` {_pct(v)}" for name, v in p["service_functions"][:6])
            per, stacks = _per_unit(p), _stacks(p)
        else:
            per = packages = funcs = stacks = "–"
        f = r.get("fastapi_reference_profile")
        fastapi = "–"
        if f:
            fastapi = (f"{_per_unit(f)}: " + ", ".join(f"{k} {_pct(v)}" for k, v in list(f["by_package"].items())[:5])
                       + f"; {_stacks(f)}")
        lines.append(f"| {r['name']} | {cpu} | {per} | {packages} | {funcs} | {stacks} | {fastapi} |")
    return ("Where the service's CPU goes (`python -m bench --profile`; bench/profile.py says how it is counted):\n\n"
            + head + "\n".join(lines) + "\n")


def _caption(doc: dict) -> str:
    m, load, size = doc["machine"], doc["load"], doc["size"]
    return (f"{doc['date']} · {m['cpus']} cores ({m['cpu']}), Python {m['python']} · "
            f"{size['projects']:,} projects, {size['audit_events_seeded']:,} audit events seeded · "
            f"wrk {load['connections']} connections"
            + (f" ({load['heavy_connections']} for {' and '.join(load['heavy'])})" if load.get("heavy") else "")
            + f", {load['threads']} threads, {load['warmup_s']} s warm-up + "
            f"{load['duration_s']} s measured, median of {load['repeat']} · {load['workers']} worker(s) each · "
            f"seeding took {doc['seed_seconds']} s, the whole run {doc['total_seconds']} s · load average at start "
            f"{doc.get('loadavg_start', '?')}, at end {doc.get('loadavg_end', '?')}")


def results_path(doc: dict) -> Path:
    day = doc["date"][:10]
    return RESULTS / f"{day}-{doc['db']}{'-quick' if doc.get('quick') else ''}.json"


def write_results(doc: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = results_path(doc)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return path


def latest(db: str) -> tuple[Path, dict] | None:
    """The newest full run of ``db``, else the newest quick one."""
    found = []
    for path in RESULTS.glob(f"*-{db}*.json"):
        doc = json.loads(path.read_text())
        if doc.get("db") == db:
            found.append((not doc.get("quick"), doc.get("date", ""), path, doc))
    if not found:
        return None
    _, _, path, doc = max(found, key=lambda t: (t[0], t[1]))
    return path, doc


def plot(doc: dict, path: Path) -> None:
    """Horizontal bars, per row: the ratio to the ASGI reference (its target as a black tick; green when met)
    and, below it, the ratio to the FastAPI reference (blue) when the row has one; each labelled with the req/s
    (or rows/s) of the sides it compares."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = doc["results"]
    two = any(r.get("fastapi_reference") is not None for r in rows)
    height = 0.36 if two else 0.6
    fig, ax = plt.subplots(figsize=(10, (0.8 if two else 0.55) * len(rows) + 1.8))
    y = list(range(len(rows)))[::-1]
    ratios = [r["ratio"] or 0.0 for r in rows]
    fast = [r.get("fastapi_ratio") or 0.0 for r in rows]
    upper = [yi + height / 2 if two else yi for yi in y]
    ax.barh(upper, ratios, color=["#2e7d32" if met(r) else "#c62828" for r in rows], height=height)
    for yi, r, ratio in zip(upper, rows, ratios):
        ax.plot([r["target"], r["target"]], [yi - height / 2, yi + height / 2], color="black", linewidth=2)
        ref = "ASGI" if "key" in r else "reference"  # the audit rows' reference is a dump client or a loop
        label = (f"{ratio:.2f}  service {_rate(r, 'service')} / {ref} {_rate(r, 'reference')} {r['unit']}"
                 if r["ratio"] is not None else "no ratio (reference completed nothing)")
        ax.text(max(ratio, r["target"]) + 0.02, yi, label, va="center", fontsize=8)
    if two:
        lower = [yi - height / 2 for yi in y]
        ax.barh(lower, fast, color="#1565c0", height=height)
        for yi, r, ratio in zip(lower, rows, fast):
            if r.get("fastapi_reference") is None:
                continue
            label = (f"{ratio:.2f}  / FastAPI {_rate(r, 'fastapi_reference')} {r['unit']}"
                     if r.get("fastapi_ratio") is not None else "no ratio (FastAPI reference completed nothing)")
            ax.text(ratio + 0.02, yi, label, va="center", fontsize=8)
        ax.legend(handles=[Patch(color="#2e7d32", label="÷ ASGI reference, target met"),
                           Patch(color="#c62828", label="÷ ASGI reference, target not met"),
                           Patch(color="#1565c0", label="÷ FastAPI reference (no target)")],
                  loc="lower right", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels([r["name"] for r in rows], fontsize=9)
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    ax.set_xlim(0, max(1.2, max(ratios + fast) + 0.2) * 1.35)
    ax.set_xlabel("service / reference (higher is better; black tick = target, against the ASGI reference)")
    kind = "SQLite" if doc["db"] == "sqlite" else "PostgreSQL"
    refs = "bare ASGI and FastAPI references" if two else "bare reference"
    ax.set_title(f"chain-ledger vs {refs}, {kind}, {doc['size']['projects']:,} projects "
                 f"({doc['date'][:10]}{', quick' if doc.get('quick') else ''})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


_SKELETON = """# Performance

Generated by `python -m bench` (see below); the blocks between the `results` markers are rewritten by each run.

## SQLite

<!-- results:sqlite -->
<!-- /results:sqlite -->

## PostgreSQL

<!-- results:postgres -->
<!-- /results:postgres -->
"""


def render_docs() -> None:
    DOCS.mkdir(exist_ok=True)
    text = PERF.read_text() if PERF.exists() else _SKELETON
    for db in DBS:
        found = latest(db)
        if found is None:
            continue
        path, doc = found
        png = DOCS / f"performance-{db}.png"
        plot(doc, png)
        cpu = cpu_table(doc)
        block = (f"<!-- results:{db} -->\n_{_caption(doc)} · from `{path.relative_to(ROOT)}`_\n\n{table(doc)}\n"
                 f"![ratios vs targets, {db}]({png.name})\n" + (f"\n{cpu}" if cpu else "") + f"<!-- /results:{db} -->")
        text = re.sub(rf"<!-- results:{db} -->.*?<!-- /results:{db} -->", lambda _m: block, text, flags=re.S)
    PERF.write_text(text)


if __name__ == "__main__":
    render_docs()
    print(f"rendered {PERF} at {datetime.now(UTC):%H:%M:%S}")
