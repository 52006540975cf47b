from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from pydantic import BaseModel, Field, StrictBool, create_model
from sqlalchemy import Row

from service.domain import project_fields as pf
from service.domain.stages import Stage, is_major
from service.schemas.common import (
    Amount,
    Code,
    Day,
    Input,
    LongText,
    Name,
    ShortText,
    amount_text,
    by_position,
)


class Milestones(BaseModel):
    signed: Day | None = None
    started: Day | None = None
    in_production: Day | None = None
    at_capacity: Day | None = None


class MilestonesInput(Milestones, Input):
    """Every project has been signed: ``signed`` is required; the later dates only for a backfill at a later
    stage (each earlier one then given, in order, none in the future)."""

    signed: Day


# ---------------------------------------------------------------- the models, from the fields' one definition

#: The type a request body gives a settable field of each kind (service/domain/project_fields.py).
_INPUT: dict[pf.Kind, Any] = {
    pf.Kind.NAME: Name, pf.Kind.REF: ShortText, pf.Kind.CODE: Code, pf.Kind.AMOUNT: Amount,
    pf.Kind.FLAG: StrictBool,  # JSON true/false only: "yes" or "0" is refused, not coerced
    pf.Kind.DATE: Day, pf.Kind.TEXT: LongText,
}
#: The type a field has in the project's document (``ProjectRead``).
_OUTPUT: dict[pf.Kind, Any] = {
    pf.Kind.ID: str, pf.Kind.NAME: str, pf.Kind.REF: str, pf.Kind.CODE: str, pf.Kind.AMOUNT: Amount,
    pf.Kind.FLAG: bool, pf.Kind.STAGE: Stage, pf.Kind.DATE: date, pf.Kind.TEXT: str,
    pf.Kind.TIMESTAMP: datetime, pf.Kind.COUNT: int,
}


def _described(f: pf.Field, default: Any) -> Any:
    return Field(default, description=f.description) if f.description else Field(default)


def _input(f: pf.Field, *, patch: bool) -> tuple[Any, Any]:
    """A settable field in a request body: required on creation when the definition says so; a PATCH sends only
    what it changes (all optional)."""
    kind = _INPUT[f.kind]
    if f.required and not patch:
        return kind, _described(f, ...)
    if f.kind is pf.Kind.FLAG and not patch:
        return kind, _described(f, False)
    if patch and not f.nullable:  # may be left out, never set to null (the schema says so: no null type)
        return kind, _described(f, None)
    return kind | None, _described(f, None)


def read_field(f: pf.Field) -> tuple[Any, Any]:
    """A field as documents show it (``ProjectRead``, the ledger's items): its type, null where it may be."""
    kind = _OUTPUT[f.kind]
    return (kind | None if f.nullable and f.stored else kind), _described(f, ...)


ProjectCreate = create_model(
    "ProjectCreate", __base__=Input, __module__=__name__,
    **{f.name: _input(f, patch=False) for f in pf.SETTABLE},
    stage=(Stage, Field(default=Stage.SIGNED, description="`signed`, or a later stage for historical backfill "
                        "(every earlier milestone then given).")),
    milestones=(MilestonesInput, ...),
)

ProjectUpdate = create_model(
    "ProjectUpdate", __base__=Input, __module__=__name__, __doc__="Attributes only; stage and milestones change "
    "through transitions.", **{f.name: _input(f, patch=True) for f in pf.PATCHABLE},
)


def _read_fields() -> dict[str, tuple[Any, Any]]:
    """Every field in document order; the four milestone dates as one ``milestones`` object."""
    out: dict[str, tuple[Any, Any]] = {}
    for f in pf.FIELDS:
        if f.milestone:
            out.setdefault("milestones", (Milestones, ...))
        else:
            out[f.name] = read_field(f)
    return out


ProjectRead = create_model("ProjectRead", __module__=__name__, **_read_fields())

class TransitionCreate(Input):
    to: Stage = Field(description="The next stage, or `cancelled` (then `reason` is required).")
    on: Day = Field(description="Business date of the milestone; not in the future, not before the previous one.")
    note: LongText | None = None
    reason: LongText | None = None


class ReasonInput(Input):
    reason: LongText


# ---------------------------------------------------------------- the JSON document of a project row

#: How a stored value becomes its JSON value (orjson writes dates and timestamps itself).
_JSON: dict[pf.Kind, Callable[[Any], Any] | None] = {
    pf.Kind.AMOUNT: amount_text, pf.Kind.FLAG: bool, pf.Kind.STAGE: lambda v: Stage(v).value,
}
#: How a derived field is computed from the field it derives from.
_DERIVE: dict[str, Callable[[Any], Any]] = {"major": is_major, "voided": lambda voided_at: voided_at is not None}
#: The stored fields, in the order ``_document`` receives their values.
_STORED = tuple(f.name for f in pf.FIELDS if f.stored)
_of_object = attrgetter(*_STORED)


def _steps() -> list[tuple[str, int, Callable[[Any], Any] | None, bool]]:
    """Per top-level key of the document: ``(key, index of its value, conversion, derived)``; ``milestones`` has
    index -1. A stored null stays null; a derived value is computed from whatever its source holds."""
    index = {name: i for i, name in enumerate(_STORED)}
    steps: list[tuple[str, int, Callable[[Any], Any] | None, bool]] = []
    for f in pf.FIELDS:
        if f.milestone:
            if f is pf.MILESTONES[0]:
                steps.append(("milestones", -1, None, False))
        elif f.derived_from:
            steps.append((f.name, index[f.derived_from], _DERIVE[f.name], True))
        else:
            steps.append((f.name, index[f.name], _JSON.get(f.kind), False))
    return steps


_STEPS = _steps()
_MILESTONES = [(f.name.removesuffix("_on"), _STORED.index(f.name)) for f in pf.MILESTONES]


def _document(values: Sequence[Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key, i, convert, derived in _STEPS:
        if i < 0:
            doc[key] = {name: values[j] for name, j in _MILESTONES}
        elif convert is None:
            doc[key] = values[i]
        else:
            value = values[i]
            doc[key] = convert(value) if derived or value is not None else None
    return doc


def project_json(p: Any) -> dict[str, Any]:
    """The ``ProjectRead`` document of a ``project`` row (ORM object or Core row), as plain JSON values.

    Every project the API answers with is serialised from this dict by orjson (``json_response``), with no model
    in between: on a list page, building and validating 50 models cost more than reading the rows
    (docs/performance.md). ``ProjectRead`` stays the documented schema; tests/api/test_project_json.py checks
    that both give the same bytes."""
    return _document(_of_object(p))


def projects_json(rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    """``project_json`` of every Core row of a page, the columns read by position (``by_position``)."""
    if not rows:
        return []
    take = by_position(rows, _STORED)
    return [_document(take(row)) for row in rows]
