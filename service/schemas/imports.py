"""The report of a project import (SPEC §7): per-row outcomes and row-level errors."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from service.domain.stages import Stage


class Outcome(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    TRANSITION = "transition"
    UNCHANGED = "unchanged"
    ERROR = "error"


class ImportFile(BaseModel):
    name: str | None = Field(description="The uploaded file name, as sent.")
    sha256: str = Field(description="SHA-256 of the file's bytes (hex).")
    bytes: int
    media: str = Field(description="`csv` or `xlsx`, read from the bytes (not the name).")
    encoding: str | None = Field(description="The CSV's detected text encoding (`utf-8`, `gb18030`, `utf-16`).")
    layout: str = Field(description="`project_sheet` (one row per project) or `ledger_export` (one row per "
                        "list per project, as `GET /ledger?format=csv|xlsx` writes it).")
    sheets: list[str] = Field(description="XLSX sheets read.")


class ImportSummary(BaseModel):
    rows: int = Field(description="Data rows read.")
    projects: int = Field(description="Projects the rows describe (a ledger export has several rows per project).")
    create: int
    update: int
    transition: int
    unchanged: int
    error: int = Field(description="Projects with at least one error.")


class ImportRowRead(BaseModel):
    sheet: str | None = None
    row: int = Field(description="The spreadsheet's row number (the header is row 1 of a plain file).")
    key: str | None = Field(description="`external_ref`, or for a ledger export without one its `项目编号`.")
    outcome: Outcome = Field(description="What the import does (or did) to the row's project; every row of one "
                             "project shares it. `transition` wins over `update` when both happen.")
    project_id: str | None = Field(description="The project matched or created (null for a create in a dry run).")
    stage: Stage | None = Field(description="The project's stage after the import.")
    changes: list[str] = Field(description="Attributes the import changes.")
    transitions: list[Stage] = Field(description="Stages the project moves to, in order.")
    warnings: list[str] = Field(description="Non-blocking remarks (e.g. the file's 阶段 is ahead of its dates).")


class ImportReport(BaseModel):
    id: str | None = Field(description="The import's id (the `import.applied` audit event's entity_id); null "
                           "for a dry run or a refused import.")
    dry_run: bool
    applied: bool = Field(description="True when the rows were written (not a dry run, no error).")
    file: ImportFile
    summary: ImportSummary
    rows: list[ImportRowRead]
    errors: list[dict[str, Any]] = Field(description="Every problem: `row`, `column` (as headed in the file), "
                                         "`problem`, and `loc`/`msg`/`type` like every problem of this API "
                                         "(`type` `forbidden` for a row this token may not import).")
    warnings: list[str]
