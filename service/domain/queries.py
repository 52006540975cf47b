"""What a list of projects or problems is filtered by: plain values the edges build and the queries read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProjectFilter:
    chain: str | None = None
    district: str | None = None
    stage: str | None = None
    key: bool | None = None
    major: bool | None = None
    q: str | None = None
    include_voided: bool = False


@dataclass(frozen=True, slots=True)
class ProblemFilter:
    chain: str | None = None
    status: str | None = None
    overdue: bool | None = None
    project_id: str | None = None
