"""Project import (SPEC §7): a spreadsheet of projects, checked row by row, written all or nothing.

Three steps, each bounded, so that no file can hold the ledger up:
1. ``read_upload`` parses the file (``service.importing``: a stream, within ``Limits``), with no database at all.
2. ``check_import`` plans every project from a read of the ledger — reference data and the projects the rows
   match — and checks each with the rules the use cases apply (``check_milestones``, ``advance``,
   ``check_transition_date``, the API's input schemas, reference look-ups, rights, duplicate ``external_ref``s).
   It writes nothing: it is the dry run, and the refusal of a bad file before any write lock is taken.
3. ``apply_import`` plans again inside the write transaction (the ledger may have moved since step 2) and writes
   the plan through the API's use cases (create, patch, transition), so permissions, history
   (``project_version``), audit events and webhook outbox rows are exactly what the same requests would write.
   All or nothing: any problem raises ``InvalidInput`` and the caller's transaction rolls back. A successful import
   appends one more event, ``import.applied``, with the file's SHA-256 and row count; every event of an import
   carries the request's id.

The modules, in the order of those steps:
- ``records``: ``read_upload``; rows → records (cells converted and checked, rows grouped by project, matched to
  the ledger), and how the rows of each layout become projects.
- ``plan``: records → plans, with the use cases' rules and no write; ``check_import``.
- ``apply``: plans → writes, through the use cases; ``apply_import``.
- ``report``: the report of an import, and the refusal of one with problems (``refusal``).
"""

from __future__ import annotations

from service.usecases.imports.apply import apply_import
from service.usecases.imports.plan import (
    CANCEL_REASON,
    CANCEL_REASON_UNDATED,
    IMPORTERS,
    UPDATABLE,
    check_import,
)
from service.usecases.imports.records import Cell, Record, Upload, limits_of, read_upload
from service.usecases.imports.report import refusal

__all__ = [
    "CANCEL_REASON",
    "CANCEL_REASON_UNDATED",
    "IMPORTERS",
    "UPDATABLE",
    "Cell",
    "Record",
    "Upload",
    "apply_import",
    "check_import",
    "limits_of",
    "read_upload",
    "refusal",
]
