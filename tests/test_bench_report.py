"""The benchmark's results rows and tables (bench/__main__.py's load_row, bench/report.py): three sides per load
row, the service, the ASGI reference and the FastAPI reference; results written before the FastAPI reference still
render."""

from __future__ import annotations

from bench import report
from bench.__main__ import SIDES, load_row


def run(rps: float, requests: int, *, cpu: float | None = 100.0, exhausted: int = 0) -> dict:
    return {"rps": rps, "requests": requests, "p50_us": 1500, "p99_us": 9000, "peak_rss_mb": 80.04,
            "cpu_us_per_request": cpu, "errors": {"status": 0}, "exhausted": exhausted}


def test_a_load_row_has_each_side_and_a_ratio_to_each_reference():
    runs = {"service": [run(900, 9000, cpu=410.4), run(1000, 10000, cpu=400.4), run(1100, 11000)],
            "reference": [run(4000, 40000, cpu=40.4)] * 3,
            "fastapi_reference": [run(2000, 20000, cpu=90.6)] * 3}
    row = load_row("get", "get a project", 0.7, 32, runs, "sqlite")
    assert (row["service"], row["reference"], row["fastapi_reference"]) == (1000, 4000, 2000)  # medians
    assert (row["ratio"], row["fastapi_ratio"]) == (0.25, 0.5)
    assert (row["cpu_us_per_request"], row["reference_cpu_us_per_request"],
            row["fastapi_reference_cpu_us_per_request"]) == (400, 40, 91)
    assert row["fastapi_reference_p50_ms"] == 1.5 and row["fastapi_reference_peak_rss_mb"] == 80.0
    assert row["requests"] == {"service": 10000, "reference": 40000, "fastapi_reference": 20000}
    assert row["runs"]["service"] == [900, 1000, 1100] and set(row["runs"]) == set(SIDES)
    assert row["reference_name"] == "plain ASGI + sqlite3" and row["fastapi_reference_name"] == "plain FastAPI + sqlite3"
    assert "pool_exhausted" not in row


def test_a_reference_that_completed_nothing_gives_no_ratio_and_an_exhausted_pool_is_flagged():
    runs = {"service": [run(200, 2000)], "reference": [run(1800, 18000, exhausted=2)],
            "fastapi_reference": [run(0, 0, cpu=None, exhausted=2)]}
    row = load_row("transition", "stage transition", 0.6, 32, runs, "postgres")
    assert row["fastapi_ratio"] is None and row["ratio"] == 0.111
    assert row["pool_exhausted"] == ["reference", "fastapi_reference"]
    assert row["fastapi_reference_name"] == "plain FastAPI + asyncpg"
    text = report.table({"results": [row]})
    line = text.splitlines()[2]
    assert "| 1,800 ⚠ | 0.11 |" in line and "| 0 ⚠ | no ratio |" in line
    assert "ran out during the measured run of the ASGI reference and the FastAPI reference" in text


NEW = {"name": "get a project", "key": "get", "unit": "req/s", "service": 1000, "reference": 4000,
       "fastapi_reference": 2000, "ratio": 0.25, "fastapi_ratio": 0.5, "target": 0.7,
       "direction": "higher_is_better", "p50_ms": 11.2, "p99_ms": 61.3, "peak_rss_mb": 136.4,
       "reference_p50_ms": 1.1, "reference_p99_ms": 2.6, "fastapi_reference_p50_ms": 2.3,
       "fastapi_reference_p99_ms": 5.0, "cpu_us_per_request": 368, "reference_cpu_us_per_request": 38,
       "fastapi_reference_cpu_us_per_request": 95,
       "profile": {"file": None, "cpu_us_per_unit": 389.2, "unit": "request", "by_package": {"fastapi": 0.36},
                   "service_functions": [["service.deps:get_actor", 0.11]]},
       "fastapi_reference_profile": {"file": "bench/results/profiles/x-get-fastapi-reference.txt.gz",
                                     "cpu_us_per_unit": 96.0, "unit": "request",
                                     "by_package": {"fastapi": 0.4, "uvicorn": 0.3, "bench": 0.1},
                                     "service_functions": []}}
OLD = {k: v for k, v in NEW.items() if not k.startswith("fastapi")} | {"profile": None}  # before 2026-12
AUDIT = {"name": "audit verify (10 events)", "unit": "events/s", "service": 5, "reference": 10, "ratio": 0.5,
         "target": 0.5, "direction": "higher_is_better", "p50_ms": None, "p99_ms": None, "peak_rss_mb": 170.0,
         "rss_growth_mb": 6.9}


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip("|").split("|")]


def test_the_table_shows_both_references_and_still_reads_old_results():
    lines = report.table({"results": [NEW, OLD, AUDIT]}).splitlines()
    head, new, old, audit = cells(lines[0]), cells(lines[2]), cells(lines[3]), cells(lines[4])
    assert len(new) == len(old) == len(audit) == len(head) == 13
    col = dict(zip(head, new))
    assert (col["service"], col["ASGI reference"], col["ratio"], col["met"]) == ("1,000", "4,000", "0.25", "❌")
    assert (col["FastAPI reference"], col["ratio to FastAPI"]) == ("2,000", "0.50")
    assert col["server CPU µs per request"] == "368 (38, 95)"
    assert (col["p50 ms"], col["p99 ms"]) == ("11.2 (1.1, 2.3)", "61.3 (2.6, 5.0)")
    old_col = dict(zip(head, old))
    assert (old_col["FastAPI reference"], old_col["ratio to FastAPI"]) == ("–", "–")
    assert old_col["server CPU µs per request"] == "368 (38)" and old_col["p50 ms"] == "11.2 (1.1)"
    audit_col = dict(zip(head, audit))
    assert (audit_col["ratio"], audit_col["met"], audit_col["FastAPI reference"]) == ("0.50", "✅", "–")
    assert audit_col["service peak RSS MB"] == "170.0 (+6.9)"
    assert "In parentheses: the ASGI reference's figure, then the FastAPI reference's." in lines


def test_the_cpu_table_shows_the_fastapi_reference_profile_and_no_link_without_a_file():
    lines = report.cpu_table({"results": [NEW, OLD, AUDIT]}).splitlines()
    new, old = cells(lines[4]), cells(lines[5])
    assert len(lines) == 6  # the audit row has neither CPU nor profile
    assert new[1] == "368 (38, 95)" and new[5] == "–"  # --no-write: no stacks kept
    assert new[6] == ("96.0 µs / request: fastapi 40 %, uvicorn 30 %, bench 10 %; "
                      "[x-get-fastapi-reference.txt.gz](../bench/results/profiles/x-get-fastapi-reference.txt.gz)")
    assert old[1] == "368 (38)" and old[6] == "–"
    exhausted = {**NEW, "fastapi_reference_profile": {**NEW["fastapi_reference_profile"], "units": 0,
                                                     "cpu_us_per_unit": None}}
    assert cells(report.cpu_table({"results": [exhausted]}).splitlines()[4])[6].startswith("no request completed: ")


def test_the_plot_draws_old_and_new_results(tmp_path):  # noqa: ANN001
    doc = {"db": "sqlite", "date": "2026-12-05T00:00:00Z", "quick": True, "size": {"projects": 10_000},
           "results": [NEW, AUDIT]}
    report.plot(doc, tmp_path / "new.png")
    report.plot({**doc, "results": [OLD, AUDIT]}, tmp_path / "old.png")
    assert (tmp_path / "new.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "old.png").stat().st_size > 1000

