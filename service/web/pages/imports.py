"""The import page (SPEC §8 ``/imports``: admin, department, integration): upload a spreadsheet, read the dry run's
row report, then import the same file; download a template workbook. Through the use cases of the API's
``POST /projects/import`` (``service/usecases/imports``), in the same steps and turns as
``service/routers/imports.py``: the file is read and checked with no write lock (in the files' turns), and only
a clean file takes the write turn, where ``apply_import`` plans again and writes all or nothing, each change its own
audit event plus one ``import.applied``.

**Where the file lives between the two steps: nowhere — the user chooses it again.** The import form carries the
dry run's SHA-256 (hidden) beside a file input; the import runs only when the file sent hashes to it, else the page
shows that file's dry run instead. No server-side stash is the simplest thing that is also robust: nothing to
expire, clean up or bound on disk, no upload of one user readable by another, and it works the same on every
instance behind a load balancer and across restarts (a stash on one instance's disk would not). A form cannot keep
a chosen file across pages without JavaScript, so one more pick of the file is the cost; the hash check makes
sure the import is of the very bytes the user reviewed (and the import checks everything again anyway).

**Paths and limits.** The page is ``GET /imports``; the upload posts to ``/imports/projects/import`` (with
``?dry_run=true`` for the dry run, as the API) so that ``RequestMiddleware``'s import limit (20 MiB, for paths
ending in ``/projects/import``) applies unchanged. A larger body, declared in ``Content-Length`` or found while it
streams, is refused here with this page and its message (413): the middleware lets the route run with a body that
refuses to be read, and no byte of it is read.

**CSRF.** Forms post urlencoded bodies whose CSRF token the shared router's dependency reads; a multipart body is
read only here, so the upload's route is on a router of its own (the same ``WebRoute`` error pages) that checks
the form's ``csrf`` field itself, after the role check and before any use case runs.
"""

from __future__ import annotations

import dataclasses
import functools
import hmac
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException
from starlette.responses import Response

from service import exports, importing
from service.deps import db_of, settings_of
from service.domain import errors as d
from service.domain import project_fields as pf
from service.domain.access import Actor, Role
from service.schemas.imports import ImportReport
from service.usecases import imports as uc
from service.web import error_text, i18n
from service.web.error_text import FieldMessage
from service.web.frame import (
    ENV,
    SignedIn,
    WebRoute,
    all_reference,
    lang_of,
    reading,
    refusal,
    render,
    router,
    writing,
)
from service.web.session import CsrfRefused, web_ctx

#: The upload's path: it ends in ``/projects/import``, so the request body may be as large as an import's.
POST_PATH = "/imports/projects/import"
#: The template's columns: a project sheet's attributes and its four milestone dates, as the import reads them.
TEMPLATE_COLUMNS: tuple[str, ...] = (*importing.ATTRIBUTES, *importing.MILESTONE_COLUMNS.values())
MiB = 1024 * 1024

#: The upload's router: the shared one checks the CSRF token of urlencoded forms only (see the module's docstring).
upload_router = APIRouter(include_in_schema=False, route_class=WebRoute)


def may_import(actor: Actor | None) -> bool:
    """Who may import: the roles the use case (and the API) allow."""
    return actor is not None and actor.role in uc.IMPORTERS


ENV.globals["may_import"] = may_import  # the navigation's link (base.html)


def _require(actor: Actor) -> None:
    actor.require(*uc.IMPORTERS, action="import projects")


# ================================================================ problems in the user's language


def _column_key(header: str | None) -> str | None:
    """The import's column a file's header names (``计划投资（万元）`` → ``planned_investment``)."""
    if not header:
        return None
    wanted = importing.normalise_header(header)
    for key, aliases in importing.COLUMNS.items():
        if any(importing.normalise_header(a) == wanted for a in aliases):
            return key
    return None


def column_label(lang: str, header: str | None) -> str:
    """A problem's column in ``lang`` (the field's label), or as headed in the file when the import has no such
    column; ``整行``/``whole row`` for a problem of the row as a whole."""
    if not header:
        return i18n.translate(lang, "import.whole_row")
    key = _column_key(header)
    if key == "list":
        return i18n.translate(lang, "import.col.list")
    return (error_text.field_label(lang, key) if key else None) or header


#: The cell readers' own words (``service/importing/cells.py``), for the catalogue's entries.
_CELL_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"'(?P<text>.*)' is not an amount in 万元\.?"), "import.cell.amount"),
    (re.compile(r"'(?P<text>.*)' is not a (?:valid )?date(?: \(YYYY-MM-DD\))?\.?"), "import.cell.date"),
    (re.compile(r"is a number, not a date.*"), "import.cell.number_date"),
    (re.compile(r"'(?P<text>.*)' is not 是/否 \(yes/no\)\.?"), "import.cell.flag"),
]


def problem_text(lang: str, e: dict[str, Any]) -> str:
    """A report's problem in ``lang``: a message the pages know (the domain's shapes: unknown chain, future date,
    rights …) in its translation, else by its ``type``, with the use case's own words as the detail."""
    message = str(e.get("problem") or e.get("msg") or "")
    column = e.get("column")
    detail = message[len(column) + 2:] if column and message.startswith(f"{column}: ") else message
    if e.get("limit") and e.get("max") is not None:  # over one of the import's limits (importing.Limits)
        return i18n.translate(lang, "import.limit", limit=e["limit"], max=f"{e['max']:,}", detail=detail)
    for pattern, key in _CELL_PATTERNS:
        match = pattern.fullmatch(detail.strip())
        if match:
            return i18n.translate(lang, key, detail=detail, **match.groupdict())
    fallback = i18n.translate(lang, "err.other", detail=detail)
    known = error_text.domain_text(lang, detail)
    if known != fallback:
        return known
    key = f"import.type.{e.get('type')}"
    return i18n.translate(lang, key if key in i18n.MESSAGES else "import.type.other", detail=detail)


@dataclasses.dataclass(frozen=True, slots=True)
class BadCell:
    sheet: str | None
    row: int | None
    column: str
    problem: str


def bad_cells(lang: str, errors: list[dict[str, Any]]) -> list[BadCell]:
    return [BadCell(e.get("sheet"), e.get("row"), column_label(lang, e.get("column")), problem_text(lang, e))
            for e in errors]


# ================================================================ the page


def _page(request: Request, actor: Actor, *, status: int = 200, report: ImportReport | None = None,
          errors: list[FieldMessage] | None = None, file_errors: list[BadCell] | None = None,
          notice: str | None = None) -> Response:
    lang = lang_of(request)
    settings = settings_of(request)
    cells = bad_cells(lang, report.errors) if report is not None else []
    by_row: dict[tuple[str | None, int], list[BadCell]] = {}
    for c in cells:
        if c.row is not None:
            by_row.setdefault((c.sheet, c.row), []).append(c)
    return render(
        request, "import.html", actor=actor, status=status, nav="imports", report=report, cells=cells,
        by_row=by_row, errors=errors or [], file_errors=file_errors or [], notice=notice, post_path=POST_PATH,
        max_mib=settings.max_import_bytes // MiB, max_rows=settings.import_max_rows,
        multi_sheet=report is not None and len(report.file.sheets) > 1,
    )


@router.get("/imports")
def imports_page(request: Request, actor: SignedIn) -> Response:
    _require(actor)
    return _page(request, actor)


# ================================================================ the upload: dry run, then import


async def _in_thread(request: Request, fn: Callable[..., Any], *args: Any, turns: bool = False, **kw: Any) -> Any:
    """``fn`` in a worker thread; with ``turns`` in one of the files' turns (as the API: a waiting import holds no
    thread)."""
    limiter = db_of(request).import_turns if turns else None
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kw), limiter=limiter)


def _check(request: Request, actor: Actor, read: uc.Upload) -> ImportReport:
    with reading(request) as session:
        return uc.check_import(session, ctx=web_ctx(request, actor), upload=read)


def _apply(request: Request, actor: Actor, read: uc.Upload) -> ImportReport:
    # The context (and its clock) is taken now: the write happens now, not when the upload began.
    with writing(request) as session:
        return uc.apply_import(session, ctx=web_ctx(request, actor), upload=read)


def _verify_csrf(request: Request, form: FormData) -> None:
    sent = str(form.get("csrf") or request.headers.get("x-csrf-token") or "")
    expected = str(request.session.get("csrf") or "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused


@upload_router.post(POST_PATH)
async def import_upload(request: Request, actor: SignedIn,
                        dry_run: Annotated[bool, Query()] = False) -> Response:
    _require(actor)  # before the body is read
    lang = lang_of(request)
    t = i18n.translator(lang)
    try:
        form = await request.form(max_files=1, max_fields=10)
    except HTTPException as exc:  # RequestMiddleware: the body is larger than the import limit
        if exc.status_code != 413:
            raise
        message = t("import.too_large", mib=settings_of(request).max_import_bytes // MiB)
        return await run_in_threadpool(_page, request, actor, status=413, errors=[FieldMessage("file", message)])
    except MultiPartException:
        return await run_in_threadpool(_page, request, actor, status=400,
                                       errors=[FieldMessage("file", t("import.bad_upload"))])
    try:
        _verify_csrf(request, form)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await run_in_threadpool(_page, request, actor, status=422,
                                           errors=[FieldMessage("file", t("import.no_file"))])
        return await _run(request, actor, upload, dry_run=dry_run, expected=str(form.get("sha256") or ""))
    finally:
        await form.close()


async def _run(request: Request, actor: Actor, upload: UploadFile, *, dry_run: bool, expected: str) -> Response:
    lang = lang_of(request)
    sha256, size = await _in_thread(request, importing.file_digest, upload.file, turns=True)
    notice = None
    if not dry_run and not hmac.compare_digest(sha256.encode(), expected.encode()):
        dry_run, notice = True, i18n.translate(lang, "import.not_same_file")
    try:
        read = await _in_thread(request, uc.read_upload, upload.file, filename=upload.filename, sha256=sha256,
                                size=size, limits=uc.limits_of(settings_of(request)), turns=True)
    except importing.NotASpreadsheet as exc:
        message = i18n.translate(lang, "import.not_spreadsheet", detail=exc.detail)
        return await run_in_threadpool(_page, request, actor, status=415, errors=[FieldMessage("file", message)])
    except d.InvalidInput as exc:  # empty, no header, missing columns, over a limit: the file as a whole
        errors = exc.errors or [{"problem": exc.detail, "row": None, "column": None, "type": "invalid"}]
        return await run_in_threadpool(_page, request, actor, status=422, file_errors=bad_cells(lang, errors))
    report: ImportReport = await _in_thread(request, _check, request, actor, read, turns=True)
    if dry_run or report.errors:
        return await run_in_threadpool(_page, request, actor, status=422 if report.errors else 200, report=report,
                                       notice=notice)
    try:
        async with db_of(request).write_turn():
            report = await _in_thread(request, _apply, request, actor, read)
    except d.InvalidInput as exc:  # the ledger moved since the check: the plan, made again, found problems
        if exc.errors:
            report = report.model_copy(update={"errors": exc.errors})
            return await run_in_threadpool(_page, request, actor, status=422, report=report)
        return await run_in_threadpool(_page, request, actor, status=422,
                                       errors=error_text.domain_messages(lang, exc))
    except (d.DomainError, IntegrityError) as exc:
        messages, status = refusal(lang, exc)
        return await run_in_threadpool(_page, request, actor, status=status, errors=messages)
    return await run_in_threadpool(_page, request, actor, status=201, report=report)


# ================================================================ the template workbook


def template_sheet(lang: str, *, chain: str, district: str, today: Any) -> exports.Sheet:
    """The template: the import's columns headed as the project field definition labels them (zh-CN, or English
    — both are headers the import reads), and one example row that imports cleanly for ``chain``."""
    t = i18n.translator(lang)
    headers = [pf.BY_NAME[key].zh if lang == "zh" else pf.BY_NAME[key].en for key in TEMPLATE_COLUMNS]
    example: dict[str, Any] = {
        "external_ref": t("import.template.ref"), "name": t("import.template.name"), "chain": chain,
        "district": district, "investor": t("import.template.investor"), "planned_investment": Decimal("5000"),
        "is_key": t("import.template.no"), "signed_on": today,
    }
    return t("import.template.sheet"), headers, [[example.get(key) for key in TEMPLATE_COLUMNS]]


def _template(request: Request, actor: Actor, lang: str) -> Response:
    _require(actor)
    with reading(request) as session:
        chains = [c.code for c in all_reference(session, "chain")]
        districts = [x.code for x in all_reference(session, "district")]
    own = sorted(actor.chains) if actor.role is Role.DEPARTMENT else []
    chain = (own or chains or [""])[0]
    sheet = template_sheet(lang, chain=chain, district=(districts or [""])[0], today=web_ctx(request, actor).today)
    name = "项目导入模板.xlsx" if lang == "zh" else "project-import-template.xlsx"
    return Response(exports.xlsx_bytes([sheet]), media_type=exports.XLSX_MEDIA_TYPE,
                    headers={**exports.attachment(name), "Cache-Control": "no-store"})


@router.get("/imports/template.xlsx")
def import_template(request: Request, actor: SignedIn) -> Response:
    return _template(request, actor, "zh")


@router.get("/imports/template-en.xlsx")
def import_template_en(request: Request, actor: SignedIn) -> Response:
    return _template(request, actor, "en")
