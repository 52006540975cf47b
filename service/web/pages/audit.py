"""The audit page (admin, auditor): the events with filters, one entity's history, the chain's verification and
the exports — through the same use cases as ``/api/v1/audit/*``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request
from starlette.responses import Response, StreamingResponse

from service import exports
from service.deps import db_of, settings_of
from service.domain.access import AUDIT_READERS, Actor
from service.routers.history import HistoryItem, history_item
from service.signing import signer_for
from service.usecases import audit as audit_uc
from service.usecases import audit_export as audit_export_uc
from service.usecases import audit_tree as tree_uc
from service.web.frame import SignedIn, local_time, optional_text, reading, render, router
from service.web.pages.ledger import DOWNLOAD_HEADERS

AUDIT_PAGE = 50  # events per page
HEADS_SHOWN = 10  # the latest signed tree heads
SEQ_MAX = 2**31 - 1  # (as the API's `after`: a 32-bit seq)

EntityQuery = Annotated[str | None, Query(max_length=32)]
EntityIdQuery = Annotated[str | None, Query(max_length=100)]
ActionQuery = Annotated[str | None, Query(max_length=64)]
AfterQuery = Annotated[int | None, Query(ge=0, le=SEQ_MAX)]


@dataclass(frozen=True, slots=True)
class EventRow:
    item: HistoryItem
    entity: str
    entity_id: str
    at: str
    #: The entity's own page, where there is one (a project's).
    href: str | None


def _reader(actor: Actor) -> None:
    actor.require(*AUDIT_READERS, action="read the audit log")


@router.get("/audit")
def audit_page(
    request: Request, actor: SignedIn, entity: EntityQuery = None, entity_id: EntityIdQuery = None,
    action: ActionQuery = None, after: AfterQuery = None, verify: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    _reader(actor)
    signer = signer_for(settings_of(request))
    query = {"entity": optional_text(entity), "entity_id": optional_text(entity_id), "action": optional_text(action)}
    with reading(request) as session:
        events = audit_uc.list_events(session, after=after, since=None, until=None, limit=AUDIT_PAGE + 1, **query)
        verified = audit_uc.verify_chain(session, signer.public_key) if verify else None
        heads = tree_uc.latest_heads(session, limit=HEADS_SHOWN)
    rows = [
        EventRow(item=history_item(e), entity=e.entity, entity_id=e.entity_id, at=local_time(e.at, request),
                 href=f"/projects/{e.entity_id}" if e.entity == "project" else None)
        for e in events[:AUDIT_PAGE]
    ]
    filters = {k: v for k, v in query.items() if v}
    more = urlencode({**filters, "after": rows[-1].item.seq}) if len(events) > AUDIT_PAGE else None
    return render(
        request, "audit.html", actor=actor, nav="audit", rows=rows, query=query, more=more, verified=verified,
        verify_query=urlencode({**filters, "verify": "1"}),
        heads=[tree_uc.head_dict(h) for h in heads], key_id=signer.key_id,
    )


@router.get("/audit/export.csv")
def audit_export_csv(request: Request, actor: SignedIn) -> Response:
    """The API's CSV export (every event, as stored, verifiable on its own)."""
    _reader(actor)
    return StreamingResponse(audit_export_uc.export_csv(db_of(request), after=0),
                             media_type="text/csv; charset=utf-8",
                             headers={**exports.attachment("audit-events.csv"), **DOWNLOAD_HEADERS})


@router.get("/audit/export.ndjson")
def audit_export_ndjson(request: Request, actor: SignedIn) -> Response:
    """The API's NDJSON export (one event per line, as ``/api/v1/audit/events`` shows it)."""
    _reader(actor)
    return StreamingResponse(audit_export_uc.export_ndjson(db_of(request), after=0),
                             media_type="application/x-ndjson",
                             headers={**exports.attachment("audit-events.ndjson"), **DOWNLOAD_HEADERS})
