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


def table(doc: dict) -> str:
    head = ("| operation | unit | service | reference | ratio | target | met | p50 ms | p99 ms | service peak RSS MB |\n"
            "| --- | --- | ---: | ---: | ---: | ---: | :-: | ---: | ---: | ---: |\n")
    lines = []
    for r in doc["results"]:
        target = ("≥ " if r["direction"] == "higher_is_better" else "≤ ") + f"{r['target']:.2f}"
        rss = _num(r.get("peak_rss_mb"), 1)
        if r.get("rss_growth_mb") is not None:
            rss += f" (+{r['rss_growth_mb']:.1f})"
        p50 = _num(r.get("p50_ms"), 1)
        p99 = _num(r.get("p99_ms"), 1)
        if r.get("reference_p50_ms") is not None:
            p50 += f" ({r['reference_p50_ms']:.1f})"
            p99 += f" ({r['reference_p99_ms']:.1f})"
        lines.append(f"| {r['name']} | {r['unit']} | {_num(r['service'])} | {_num(r['reference'])} | "
                     f"{_num(r['ratio'], 2) if r['ratio'] is not None else 'no ratio'} | {target} | {'✅' if met(r) else '❌'} | {p50} | {p99} | {rss} |")
    return head + "\n".join(lines) + "\n"


def _pct(share: float) -> str:
    return f"{share * 100:.0f} %"


def cpu_table(doc: dict) -> str:
    """Where the service's CPU goes, for the rows that carry it: CPU per request of both sides in the measured runs
    (the process trees only, not the database), and the py-spy summary of the profiled run (``--profile``)."""
    rows = [r for r in doc["results"] if r.get("cpu_us_per_request") is not None or r.get("profile")]
    if not rows:
        return ""
    head = ("| operation | server CPU µs per request: service (reference) | profiled: CPU per unit | "
            "innermost frame's package | the service's own functions (inclusive) | stacks |\n"
            "| --- | ---: | ---: | --- | --- | --- |\n")
    lines = []
    for r in rows:
        cpu = "–"
        if r.get("cpu_us_per_request") is not None:
            cpu = f"{r['cpu_us_per_request']:,}"
            if r.get("reference_cpu_us_per_request") is not None:
                cpu += f" ({r['reference_cpu_us_per_request']:,})"
        p = r.get("profile")
        if p:
            per = f"{p['cpu_us_per_unit']:,.1f} µs / {p['unit']}" if p.get("cpu_us_per_unit") is not None else "–"
            packages = ", ".join(f"{k} {_pct(v)}" for k, v in list(p["by_package"].items())[:6])
            funcs = ", ".join(f"`{name.removeprefix('service.')}` {_pct(v)}" for name, v in p["service_functions"][:6])
            stacks = f"[{Path(p['file']).name}](../{p['file']})" if p.get("file") else "–"  # --no-write: none
        else:
            per = packages = funcs = stacks = "–"
        lines.append(f"| {r['name']} | {cpu} | {per} | {packages} | {funcs} | {stacks} |")
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
    """Horizontal bars: each row's ratio, its target as a tick; green when met."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = doc["results"]
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(rows) + 1.6))
    y = list(range(len(rows)))[::-1]
    colors = ["#2e7d32" if met(r) else "#c62828" for r in rows]
    ratios = [r["ratio"] or 0.0 for r in rows]
    ax.barh(y, ratios, color=colors, height=0.6)
    for yi, r, ratio in zip(y, rows, ratios):
        ax.plot([r["target"], r["target"]], [yi - 0.4, yi + 0.4], color="black", linewidth=2)
        label = f"{ratio:.2f}" if r["ratio"] is not None else "no ratio (reference completed nothing)"
        ax.text(ratio + 0.02, yi, label, va="center", fontsize=9)
    ax.set_yticks(y)
    ax.set_yticklabels([r["name"] for r in rows], fontsize=9)
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    ax.set_xlim(0, max(1.2, max(ratios) + 0.2))
    ax.set_xlabel("service / reference (higher is better; black tick = target)")
    kind = "SQLite" if doc["db"] == "sqlite" else "PostgreSQL"
    ax.set_title(f"chain-ledger vs bare reference, {kind}, {doc['size']['projects']:,} projects "
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
