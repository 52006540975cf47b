"""The import's report — one ``ImportRowRead`` per row of the file, the summary by outcome — and the refusal
(422) of an import whose report has errors.
"""

from __future__ import annotations

from typing import Any

from service.domain import errors as d
from service.domain.stages import Stage
from service.schemas.imports import ImportReport, ImportRowRead, ImportSummary, Outcome
from service.usecases.imports.records import Record, Upload


def refusal(report: ImportReport) -> d.InvalidInput:
    """The 422 of an import whose report (a dry run's, or a plan's) has errors: nothing is written."""
    return _refusal(report.errors, report.file.sha256)


def _refusal(errors: list[dict[str, Any]], sha256: str) -> d.InvalidInput:
    first = errors[0]
    return d.InvalidInput(
        f"{len(errors)} problem(s) in the file; nothing was imported. First: row {first['row']}, "
        f"{first['column'] or 'row'}: {first['problem']}",
        errors=errors, sha256=sha256,
    )


def _report(records: list[Record], upload: Upload, errors: list[dict[str, Any]], *, import_id: str | None,
            dry_run: bool) -> ImportReport:
    parsed = upload.parsed
    bad_rows = {(e.get("sheet"), e["row"]) for e in parsed.errors if e["row"] is not None}
    rows: list[ImportRowRead] = []
    counts = dict.fromkeys(Outcome, 0)
    for r in records:
        failed = bool(r.errors) or any((src.sheet, src.row) in bad_rows for src in r.rows)
        outcome = Outcome.ERROR if failed or r.outcome is None else r.outcome
        counts[outcome] += 1
        key = r.value("external_ref") or (r.ident.value if r.ident else None)
        ok = outcome is not Outcome.ERROR
        for src in r.rows:
            rows.append(ImportRowRead(
                sheet=src.sheet, row=src.row, key=key, outcome=outcome,
                project_id=r.project_id if ok or r.existing else None,
                stage=r.final_stage if ok else (Stage(r.existing.stage) if r.existing else None),
                changes=list(r.changes) if ok else [],
                transitions=[step.to for step, _ in r.steps] if ok else [],
                warnings=r.warnings,
            ))
    order = {name: i for i, name in enumerate(parsed.sheets)}
    rows.sort(key=lambda x: (order.get(x.sheet, 0), x.row))
    summary = ImportSummary(rows=len(parsed.rows), projects=len(records), create=counts[Outcome.CREATE],
                            update=counts[Outcome.UPDATE], transition=counts[Outcome.TRANSITION],
                            unchanged=counts[Outcome.UNCHANGED], error=counts[Outcome.ERROR])
    return ImportReport(id=import_id, dry_run=dry_run, applied=import_id is not None, file=upload.file,
                        summary=summary, rows=rows, errors=errors, warnings=parsed.warnings)
