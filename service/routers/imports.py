"""Project import from a spreadsheet (SPEC §7): ``POST /projects/import``, multipart field ``file``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from service import importing
from service.db.engine import transaction
from service.deps import (
    CtxDep,
    claim_idempotency,
    factory_of,
    require_roles,
    settings_of,
)
from service.domain import errors as d
from service.domain.access import Role
from service.errors import responses
from service.routers.common import respond
from service.schemas.imports import ImportReport
from service.usecases import imports as uc

router = APIRouter(tags=["projects"])
IMPORTERS = [require_roles(Role.ADMIN, Role.DEPARTMENT, Role.INTEGRATION, action="import projects")]

DESCRIPTION = """\
Imports projects from a spreadsheet sent as `multipart/form-data` in the field `file` (at most 20 MiB: 413 beyond).
**`.xlsx`** (read as a stream by a reader of its own, within limits) or **`.csv`** (UTF-8 with or without a
byte-order mark, GB18030 as Chinese Excel writes it, or UTF-16 with a byte-order mark; comma, tab or semicolon). The
kind is read from the bytes, not from the name. Anything else — legacy `.xls`, ODS, PDF, images, binary data, a
request that is not multipart — is **415**.

**Layouts** (zh-CN or English headers, in any order; a title row above the header is fine; unknown columns are
ignored with a warning):
- *Project sheet*, one row per project: `external_ref`/外部编号, `name`/项目名称, `chain`/产业链,
  `district`/区, `investor`/投资方, `planned_investment`/计划投资(万元), `is_key`/重点项目 (是/否),
  `signed_on`/签约日期, `started_on`/开工日期, `in_production_on`/投产日期, `at_capacity_on`/达产日期 — the
  project is created at its furthest dated milestone (every earlier one required). Optional `stage`/阶段:
  终止/`cancelled` cancels it.
- *Ledger export*, exactly as `GET /ledger?format=csv|xlsx` writes it (the headers round-trip): one row per list
  per project (CSV column 清单, or XLSX sheets 新签约/新开工/新投产/新达产), 日期 the list's date. Rows are
  grouped by 外部编号 (or 项目编号 when it is empty) and the project takes the furthest milestone in the file;
  阶段 终止 cancels it on its last milestone date in the file (the export has no cancellation date); a 阶段
  ahead of the file's dates is a warning. So an export whose period covers all its projects' milestones,
  imported into an empty database with the same reference data, gives the same ledger (new project ids).

**Matching**: a row whose `external_ref` (ledger export without one: whose 项目编号) is an existing project's
updates its changed attributes and moves it forward through the milestones it lacks (never back; the chain
never changes; a different date for a milestone it has is an error), reported as `update` / `transition` /
`unchanged`. Chains and districts are given by code or exact name. Dates: `YYYY-MM-DD`, `YYYY/M/D`, `YYYY年M月D日`
or date cells; not in the future, never before an earlier milestone. Amounts: numbers or plain decimals (thousands
commas allowed).

**Refused cells**: XLSX formula cells, and text starting with `=` in either format (Excel would evaluate it);
the `'` the export puts before `= + - @` is removed again. Duplicate `external_ref`s in a project sheet are
errors (a ledger export repeats them by design).

**Rights** (SPEC §1): admin any row; a department token only rows of its own chains; an integration token only
rows that create a project at stage `signed` — other rows are errors of `type` `forbidden` and the import is
refused.

**`dry_run=true`** answers 200 with the report — per row its `outcome` (create / update / transition / unchanged /
error) and every problem in `errors` (`row`, `column`, `problem`, plus `loc`/`msg`/`type`) — and writes nothing: the
rows are tried through the same use cases inside a savepoint that is rolled back, so a dry run finds exactly what
the import would. **Otherwise** all rows are written in one transaction or none: any bad row → 422 with the same
`errors` (also an empty file, no data rows, missing required columns, and a file over any limit of the reader:
`LEDGER_IMPORT_MAX_ROWS` data rows, `LEDGER_IMPORT_MAX_CELLS` cells, `LEDGER_IMPORT_MAX_BLANK_ROWS` blank rows,
`LEDGER_IMPORT_MAX_UNPACKED_BYTES` unpacked, `LEDGER_IMPORT_PARSE_SECONDS` of reading, and the finer XLSX bounds;
the problem's `limit` names it). Each project change is its own audit event (and webhook), exactly as through the
API — a create is one `project.created`, each stage step one `project.transitioned` — plus one `import.applied`
event with the file's SHA-256 and row count; the import's events share its request id. An import is one transaction
holding the audit chain — other writes wait while it runs, about 10 ms per project (a dry run costs the same) —
hence `LEDGER_IMPORT_MAX_ROWS` (default 2,000; split larger files). Re-importing the same file changes nothing
(`unchanged`). An `Idempotency-Key` replay needs byte-identical bodies (the same multipart boundary); matching by
`external_ref` makes plain retries safe anyway."""

REQUEST_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary",
                                        "description": "The .xlsx or .csv file."}},
            }
        }
    },
}


@router.post("/projects/import", response_model=ImportReport, operation_id="import_projects",
             dependencies=IMPORTERS, responses=responses(400, 401, 403, 413, 415, 422),
             openapi_extra={"requestBody": REQUEST_BODY}, description=DESCRIPTION)
async def import_projects(
    request: Request,
    ctx: CtxDep,
    _claimed: Annotated[int | None, Depends(claim_idempotency, scope="function")],
    dry_run: Annotated[bool, Query(description="Check and report without writing anything.")] = False,
) -> Response:
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise HTTPException(415, "Send the spreadsheet as multipart/form-data in the field 'file'.")
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise d.InvalidInput.at(["body", "file"], "Send the spreadsheet in the multipart field 'file'.")
        content = await upload.read()
        filename = upload.filename
    finally:
        await form.close()
    # The upload is in memory before the write transaction opens: no lock is held while a client sends.
    return await run_in_threadpool(_import, request, ctx, content, filename, dry_run)


def _import(request: Request, ctx, content: bytes, filename: str | None, dry_run: bool) -> Response:
    with transaction(factory_of(request), write=True) as session:
        try:
            report = uc.import_projects(session, ctx=ctx, content=content, filename=filename, dry_run=dry_run,
                                        limits=limits(request))
        except importing.NotASpreadsheet as exc:
            raise HTTPException(415, exc.detail) from exc
        return respond(request, session, report)


def limits(request: Request) -> importing.Limits:
    s = settings_of(request)
    return importing.Limits(data_rows=s.import_max_rows, cells=s.import_max_cells, blank_rows=s.import_max_blank_rows,
                            unpacked_bytes=s.import_max_unpacked_bytes, seconds=s.import_parse_seconds)
