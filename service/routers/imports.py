"""Project import from a spreadsheet (SPEC §7): ``POST /projects/import``, multipart field ``file``.

The file is read and checked before any write lock is taken, and a dry run takes none at all:
1. the upload is received into a spooled temporary file (no lock, no thread);
2. it is parsed as a stream within its limits (``service.importing``), in a worker thread, one file at a time per
   process (``import_turns``: the others wait on the event loop, holding no thread);
3. it is planned and checked against a read transaction (``usecases.imports.check_import``): that is the dry run's
   answer, and a file with any problem is refused here (422) without ever taking the write turn;
4. only then does the import take the write turn (SQLite's, ``Database.write_turn``) and its write transaction, in
   which it plans again and writes (``apply_import``), all or nothing, and commits.

``Idempotency-Key`` (real imports only: a dry run writes nothing, not even a key) is claimed
(``service/usecases/idempotency.py``) in a write turn of its own, before the file is read, and the response is stored in the import's own
transaction; the fingerprint is the file's SHA-256 and name, so a retry with another multipart boundary replays too.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from service import importing
from service.deps import CtxDep, DatabaseDep, now_utc, require_roles, settings_of
from service.domain import errors as d
from service.domain.access import Role
from service.domain.context import Ctx
from service.errors import responses
from service.routers.common import respond
from service.schemas.imports import ImportReport
from service.usecases import idempotency as keys
from service.usecases import imports as uc

if TYPE_CHECKING:
    from service.db.database import Database

router = APIRouter(tags=["projects"])
IMPORTERS = [require_roles(Role.ADMIN, Role.DEPARTMENT, Role.INTEGRATION, action="import projects")]

DESCRIPTION = """\
Imports projects from a spreadsheet sent as `multipart/form-data` in the field `file` (at most 20 MiB: 413
beyond). **`.xlsx`** or **`.csv`** (UTF-8 with or without a byte-order mark, GB18030 as Chinese Excel writes it,
or UTF-16 with a byte-order mark; comma, tab or semicolon). The kind is read from the bytes, not from the name.
Anything else — legacy `.xls`, ODS, PDF, images, binary data, a request that is not multipart — is **415**.

**Layouts** (zh-CN or English headers, in any order; a title row above the header is fine; unknown columns are
ignored with a warning):
- *Project sheet*, one row per project: `external_ref`/外部编号, `name`/项目名称, `chain`/产业链,
  `district`/区, `investor`/投资方, `planned_investment`/计划投资(万元), `is_key`/重点项目 (是/否),
  `signed_on`/签约日期, `started_on`/开工日期, `in_production_on`/投产日期, `at_capacity_on`/达产日期 — the
  project is created at its furthest dated milestone (every earlier one required). Optional `stage`/阶段:
  终止/`cancelled` cancels it, on `cancelled_on`/终止日期 when given.
- *Ledger export*, exactly as `GET /ledger?format=csv|xlsx` (and the web's `/ledger/export.csv|xlsx`) write it —
  of any period: one row per list per project (CSV column 清单, or XLSX sheets 新签约/新开工/新投产/新达产), 日期
  the list's date, and on every row the project's four milestone dates (签约日期, 开工日期, 投产日期, 达产日期),
  its 阶段 and its 终止日期. Rows are grouped by 外部编号 (or 项目编号 when it is empty) and must agree; the
  milestones come from the date columns (and must agree with each row's 清单 and 日期); 阶段 终止 cancels the
  project on its 终止日期. So any export, imported into an empty database with the same reference data, gives
  the same projects (attributes, stage, milestones, cancellation date; new project ids). An export written before
  the date columns existed still imports: the project takes the furthest milestone the file dates, 阶段 终止
  cancels it on its last milestone date in the file, and a 阶段 ahead of the file's dates is a warning.

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

**Bounded work**: the file is read as a stream before any write lock is taken, within limits — at most
`LEDGER_IMPORT_MAX_ROWS` data rows (default 2,000), `LEDGER_IMPORT_MAX_CELLS` non-empty cells (50,000),
`LEDGER_IMPORT_MAX_BLANK_ROWS` blank rows (10,000), 256 columns with a value per row, 1 Mi characters per CSV
line; for an XLSX `LEDGER_IMPORT_MAX_UNPACKED_BYTES` unpacked (100 MiB, all parts together, 64 MiB for one part,
checked from the archive's directory before anything is unpacked), 2,000 parts, 100,000 shared strings,
10,000,000 characters of cell text, 32,767 characters per cell, 1,000,000 XML elements and attributes, no DTD (so
no external entity) — and within `LEDGER_IMPORT_PARSE_SECONDS` (5 s) of reading. A file over any limit is refused
at once with 422, `errors[0].type` naming what was exceeded and `limit` naming the limit (`data_rows`, `cells`,
`blank_rows`, `columns`, `unpacked_bytes`, …). Files are read one at a time per process; the others wait their
turn without holding a thread.

**`dry_run=true`** answers 200 with the report — per row its `outcome` (create / update / transition /
unchanged / error) and every problem in `errors` (`row`, `column`, `problem`, plus `loc`/`msg`/`type`) — and
writes nothing and takes no write lock: every project is planned against a read of the ledger and checked with
the rules the API applies to the same requests (milestone order and dates, allowed transitions, field formats,
reference data, rights, duplicates), so it reports what the import would do. **Otherwise** the same check runs
first (a file with any problem → 422 with the same `errors`, without waiting for the write turn; so do an empty
file, no data rows, missing required columns and the limits above), then the import takes the write turn, checks
again against the ledger as it is now, and writes all rows in one transaction or none. Each project change is its
own audit event (and webhook), exactly as through the API — a create is one `project.created`, each stage step one
`project.transitioned` — plus one `import.applied` event with the file's SHA-256 and row count; the import's events
share its request id. Other writes wait only while the rows are written (a few ms per project). Re-importing the
same file changes nothing (`unchanged`). `Idempotency-Key` (not for a dry run, which writes nothing) replays the
first response for the same file (same bytes and name) within 24 h; matching by `external_ref` makes plain retries
safe anyway.
"""

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
             dependencies=IMPORTERS, responses=responses(400, 401, 403, 409, 413, 415, 422),
             openapi_extra={"requestBody": REQUEST_BODY}, description=DESCRIPTION)
async def import_projects(
    request: Request,
    ctx: CtxDep,
    db: DatabaseDep,
    dry_run: Annotated[bool, Query(description="Check and report without writing anything (and without taking "
                                   "any write lock).")] = False,
) -> Response:
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise HTTPException(415, "Send the spreadsheet as multipart/form-data in the field 'file'.")
    key = request.headers.get("idempotency-key") if not dry_run else None
    if key is not None:
        keys.check_key(key)
    # The upload goes to a spooled temporary file (on disk beyond 1 MiB): no lock is held while a client sends.
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise d.InvalidInput.at(["body", "file"], "Send the spreadsheet in the multipart field 'file'.")
        return await _import(request, db, ctx, upload, dry_run=dry_run, key=key)
    finally:
        await form.close()


async def _in_thread(db: Database, fn: Callable[..., Any], *args: Any, turns: bool = False, **kw: Any) -> Any:
    """``fn`` in a worker thread; with ``turns``, in one of the files' turns (``Database.import_turns``: a waiting
    import holds no worker thread, so imports never crowd out the requests that need one)."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kw),
                                          limiter=db.import_turns if turns else None)


async def _import(request: Request, db: Database, ctx: Ctx, upload: UploadFile, *, dry_run: bool,
                  key: str | None) -> Response:
    source = upload.file
    sha256, size = await _in_thread(db, importing.file_digest, source, turns=True)
    record_id = None
    if key is not None:
        fingerprint = hashlib.sha256(f"import {sha256} {upload.filename or ''}".encode()).hexdigest()
        k = keys.Key(token_id=ctx.actor.token_id or 0, key=key, method="POST", path=request.url.path,
                     body_hash=fingerprint)
        settings = settings_of(request)
        async with db.write_turn():  # raises keys.Replay (the stored response) or 409/422
            record_id = await _in_thread(db, keys.claim, db, k, now=now_utc(),
                                         ttl=timedelta(hours=settings.idempotency_ttl_hours),
                                         lease=timedelta(seconds=settings.idempotency_lease_seconds))
        request.state.idempotency_record = record_id
    try:
        return await _read_check_apply(request, db, ctx, upload, sha256=sha256, size=size, dry_run=dry_run)
    except BaseException:
        if record_id is not None:  # nothing was written: the key may be used again
            with anyio.CancelScope(shield=True):
                async with db.write_turn():
                    await _in_thread(db, keys.release, db, record_id)
        raise


async def _read_check_apply(request: Request, db: Database, ctx: Ctx, upload: UploadFile, *, sha256: str,
                            size: int, dry_run: bool) -> Response:
    try:
        read = await _in_thread(db, uc.read_upload, upload.file, filename=upload.filename, sha256=sha256,
                                size=size, limits=uc.limits_of(settings_of(request)), turns=True)
    except importing.NotASpreadsheet as exc:
        raise HTTPException(415, exc.detail) from exc
    report: ImportReport = await _in_thread(db, _check, db, ctx, read, turns=True)
    if dry_run:
        return respond(request, None, report)
    if report.errors:
        raise uc.refusal(report)
    async with db.write_turn():
        # The clock is read again: the write happens now, not when the upload began.
        now = now_utc()
        ctx = dataclasses.replace(ctx, now=now, today=now.astimezone(settings_of(request).tz).date())
        return await _in_thread(db, _apply, request, db, ctx, read)


def _check(db: Database, ctx: Ctx, read: uc.Upload) -> ImportReport:
    with db.transaction(write=False) as session:
        return uc.check_import(session, ctx=ctx, upload=read)


def _apply(request: Request, db: Database, ctx: Ctx, read: uc.Upload) -> Response:
    with db.transaction(write=True) as session:
        report = uc.apply_import(session, ctx=ctx, upload=read)
        return respond(request, session, report)
