"""``GET /audit/export``: every event (or those after a seq), streamed in constant memory."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from service.deps import DatabaseDep, require_roles
from service.domain.access import AUDIT_READERS
from service.errors import responses
from service.usecases import audit_export as uc

router = APIRouter(tags=["audit"],
                   dependencies=[require_roles(*AUDIT_READERS, action="export the audit log")])


class ExportFormat(StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"


@router.get(
    "/audit/export", operation_id="export_audit_events", response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}},
                     "description": "Every event after `after`, in seq order"}, **responses(401, 403, 422)},
    description="Streams every event in `seq` order (or those after `after`) without loading them: NDJSON "
    "(one /audit/events item per line) or CSV (UTF-8 with BOM; `data` as stored canonical JSON; a field is "
    "quoted as RFC 4180 asks, when it holds a quote, a comma, a CR or an LF, and an empty text may be written "
    "`\"\"`). Fields are "
    "exported exactly as stored, so the export itself can be re-verified; no spreadsheet neutralisation is "
    "applied here.",
)
def export_audit_events(
    db: DatabaseDep,
    format: ExportFormat = ExportFormat.NDJSON,  # noqa: A002
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> StreamingResponse:
    uc.check_after(db, after)
    if format is ExportFormat.CSV:
        return StreamingResponse(uc.export_csv(db, after=after), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="audit-events.csv"'})
    return StreamingResponse(uc.export_ndjson(db, after=after), media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="audit-events.ndjson"'})
