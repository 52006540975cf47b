"""Errors in the user's language: a ``DomainError`` (by its message's shape, else by its class) and pydantic's
validation errors (by their ``type``) become catalogue entries of ``service/web/i18n.py``, each tied to the form
field it concerns."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from service.domain import errors as d
from service.domain.periods import Period, PeriodKind
from service.schemas.common import LINE_PATTERN, TEXT_PATTERN
from service.web.i18n import MESSAGES, period_label, translate


@dataclass(frozen=True, slots=True)
class FieldMessage:
    """One message for a page: ``field`` names the form field it concerns (``on``, ``amend_reason``,
    ``entries.2.invested``…) or is None for the form as a whole."""

    field: str | None
    text: str


_STAGE_CODES = ("signed", "started", "in_production", "at_capacity", "cancelled")


def _stage(lang: str, code: str) -> str:
    return translate(lang, f"stage.{code}") if code in _STAGE_CODES else code


def _problem_status(lang: str, code: str) -> str:
    key = f"problem.status.{code}"
    return translate(lang, key) if key in MESSAGES else code


def _stages(lang: str, codes: str) -> str:
    sep = "、" if lang == "zh" else ", "
    found = [c.strip() for c in codes.split(",") if c.strip()]
    found.sort(key=lambda c: _STAGE_CODES.index(c) if c in _STAGE_CODES else len(_STAGE_CODES))
    return sep.join(_stage(lang, c) for c in found)


def _month_label(lang: str, text: str) -> str:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not match:
        return text
    year, month = int(match[1]), int(match[2])
    return period_label(lang, Period(PeriodKind.MONTH, year, month)) if 1 <= month <= 12 else text


#: (pattern of a domain message, catalogue key, params from the match) — the messages the pages can meet.
_Params = Callable[[str, re.Match[str]], dict[str, Any]]
_PATTERNS: list[tuple[re.Pattern[str], str, _Params]] = [
    (re.compile(r"(?P<day>\d{4}-\d{2}-\d{2}) is in the future \(today is (?P<today>\d{4}-\d{2}-\d{2})\)\."),
     "err.date_future", lambda _l, m: m.groupdict()),
    (re.compile(r"(?P<day>\d{4}-\d{2}-\d{2}) is before the previous milestone (?P<previous>\d{4}-\d{2}-\d{2})\."),
     "err.date_before_previous", lambda _l, m: m.groupdict()),
    (re.compile(r"A reason is required to cancel a project\."), "err.reason_required_cancel", lambda _l, _m: {}),
    (re.compile(r"Cannot move from '(?P<current>\w+)' to '(?P<target>\w+)'; allowed: (?P<allowed>.*)\."),
     "err.invalid_transition",
     lambda lang, m: {"current": _stage(lang, m["current"]), "target": _stage(lang, m["target"]),
                      "allowed": _stages(lang, m["allowed"])}),
    (re.compile(r"A project at stage '(?P<current>\w+)' is final; no transition is possible\."),
     "err.stage_final", lambda lang, m: {"current": _stage(lang, m["current"])}),
    (re.compile(r"Unknown status '(?P<code>[^']*)'\."), "err.unknown_status", lambda _l, m: m.groupdict()),
    (re.compile(r"No problem '(?P<id>[^']*)'\."), "err.not_found_problem", lambda _l, m: m.groupdict()),
    (re.compile(r"Cannot move a problem from '(?P<current>\w+)' to '(?P<target>\w+)'; allowed: (?P<allowed>.*)\."),
     "err.problem_transition",
     lambda lang, m: {"current": _problem_status(lang, m["current"]), "target": _problem_status(lang, m["target"]),
                      "allowed": ("、" if lang == "zh" else ", ").join(
                          _problem_status(lang, s.strip()) for s in m["allowed"].split(","))}),
    (re.compile(r"A problem in status '(?P<current>\w+)' is final.*"), "err.problem_final",
     lambda lang, m: {"current": _problem_status(lang, m["current"])}),
    (re.compile(r"Unknown stage '(?P<code>[^']*)'\."), "err.unknown_stage", lambda _l, m: m.groupdict()),
    (re.compile(r"Unknown chain '(?P<code>[^']*)'\."), "err.unknown_chain", lambda _l, m: m.groupdict()),
    (re.compile(r"Unknown district '(?P<code>[^']*)'\."), "err.unknown_district", lambda _l, m: m.groupdict()),
    (re.compile(r"external_ref '(?P<ref>.*)' is already project (?P<id>\S+)\."), "err.duplicate_ref",
     lambda _l, m: m.groupdict()),
    (re.compile(r"The integration role creates projects at stage 'signed' only\."), "err.integration_signed_only",
     lambda _l, _m: {}),
    (re.compile(r"Required for a project created at stage '(?P<stage>\w+)'\."), "err.milestone_required",
     lambda lang, m: {"stage": _stage(lang, m["stage"])}),
    (re.compile(r"(?P<day>\d{4}-\d{2}-\d{2}) is before the '(?P<stage>\w+)' milestone (?P<previous>\d{4}-\d{2}-\d{2})\."),
     "err.milestone_order", lambda lang, m: {**m.groupdict(), "stage": _stage(lang, m["stage"])}),
    (re.compile(r"Must be empty: the project is created at stage '(?P<stage>\w+)'\."), "err.milestone_empty",
     lambda lang, m: {"stage": _stage(lang, m["stage"])}),
    (re.compile(r"Project \S+ is voided; it can no longer change\."), "err.project_voided", lambda _l, _m: {}),
    (re.compile(r"Project \S+ has no transition to revert\."), "err.nothing_to_revert", lambda _l, _m: {}),
    (re.compile(r"No project '(?P<id>[^']*)'\."), "err.not_found_project", lambda _l, m: m.groupdict()),
    (re.compile(r"No chain '(?P<code>[^']*)'\."), "err.not_found_chain", lambda _l, m: m.groupdict()),
    (re.compile(r"This department token is scoped to \[(?P<chains>[^\]]*)\]; it may not .+ for chain "
                r"'(?P<chain>[^']*)'\."),
     "err.forbidden_chain",
     lambda _l, m: {"chains": m["chains"].replace("'", "") or "—", "chain": m["chain"]}),
    (re.compile(r"Role '(?P<role>\w+)' may not .+"), "err.forbidden_role",
     lambda lang, m: {"role": translate(lang, f"role.{m['role']}") if f"role.{m['role']}" in MESSAGES
                      else m["role"]}),
    (re.compile(r"The dispatch of (?P<month>\d{4}-\d{2}) is submitted: a change is an amendment and needs "
                r"'amend_reason'\."),
     "err.amend_reason_required", lambda lang, m: {"month": _month_label(lang, m["month"])}),
    (re.compile(r"'amend_reason' is only for amending a submitted dispatch.*"), "err.amend_reason_not_allowed",
     lambda _l, _m: {}),
    (re.compile(r".+ for (?P<period>\S+) is not possible yet: the period begins on (?P<start>\S+) \(today is .*"),
     "err.period_not_begun", lambda lang, m: {"period": _month_label(lang, m["period"]), "start": m["start"]}),
    (re.compile(r"The dispatch of (?P<month>\d{4}-\d{2}) was already submitted at .*"), "err.already_submitted",
     lambda lang, m: {"month": _month_label(lang, m["month"])}),
    (re.compile(r"(?:entries\[\d+\]: )?project (?P<id>\S+) belongs to chain '(?P<other>[^']*)', not "
                r"'(?P<chain>[^']*)'\."),
     "err.entry_other_chain", lambda _l, m: m.groupdict()),
    (re.compile(r"(?:entries\[\d+\]: )?there is no project '(?P<id>[^']*)'\."), "err.entry_unknown",
     lambda _l, m: m.groupdict()),
    (re.compile(r"(?:entries\[\d+\]: )?project (?P<id>\S+) is voided\."), "err.entry_voided",
     lambda _l, m: m.groupdict()),
    (re.compile(r"(?:entries\[\d+\]: )?project (?P<id>\S+) is already in entries\[\d+\]\."), "err.entry_duplicate",
     lambda _l, m: m.groupdict()),
    (re.compile(r"'(?P<text>.*)' is not a period: use YYYY, YYYY-Qn or YYYY-MM\."), "err.period_invalid",
     lambda _l, m: m.groupdict()),
    (re.compile(r"Quarter Q(?P<quarter>\d+) does not exist.*"), "err.quarter_range", lambda _l, m: m.groupdict()),
    (re.compile(r"Month (?P<month>\d+) does not exist.*"), "err.month_range", lambda _l, m: m.groupdict()),
    (re.compile(r"Year (?P<year>\d+) is outside .*"), "err.year_range", lambda _l, m: m.groupdict()),
    (re.compile(r"'(?P<text>.*)' is not a month: use YYYY-MM\."), "err.not_a_month", lambda _l, m: m.groupdict()),
]

#: Fallback per error class, most specific first.
_BY_CLASS: list[tuple[type[d.DomainError], str]] = [
    (d.StaleVersion, "err.stale"),
    (d.PreconditionRequired, "err.precondition"),
    (d.Unauthenticated, "err.unauthenticated"),
    (d.Forbidden, "err.forbidden"),
    (d.NotFound, "err.not_found"),
    (d.IdempotencyConflict, "err.idempotency"),
    (d.IdempotencyMismatch, "err.idempotency"),
    (d.Conflict, "err.conflict"),
    (d.InvalidInput, "err.invalid"),
]


def domain_text(lang: str, message: str, exc: d.DomainError | None = None) -> str:
    """A domain message in ``lang``: by its shape when known, else the class's message (with the detail)."""
    for pattern, key, params in _PATTERNS:
        match = pattern.fullmatch(message.strip())
        if match:
            return translate(lang, key, **params(lang, match))
    if exc is not None:
        for cls, key in _BY_CLASS:
            if isinstance(exc, cls):
                if key in ("err.stale", "err.precondition", "err.unauthenticated", "err.idempotency"):
                    return translate(lang, key)
                return translate(lang, key) + ("" if lang == "zh" else " " + message)
    return translate(lang, "err.other", detail=message)


def _field_of(loc: Iterable[Any]) -> str | None:
    """``["body", "entries", 2, "invested"]`` → ``entries.2.invested``; ``["path", "period"]`` → ``period``."""
    parts = [str(p) for p in loc if p not in ("body", "path", "query", "header")]
    return ".".join(parts) or None


def field_label(lang: str, field: str | None) -> str | None:
    if not field:
        return None
    last = next((p for p in reversed(field.split(".")) if not p.isdigit()), None)
    key = f"field.{last}"
    return translate(lang, key) if key in MESSAGES else None


def _with_field(lang: str, field: str | None, text: str) -> FieldMessage:
    return FieldMessage(field=field, text=text)


def domain_messages(lang: str, exc: d.DomainError) -> list[FieldMessage]:
    """The messages of a DomainError: one per field-level error when it lists them, else one for the form."""
    if exc.errors:
        return [_with_field(lang, _field_of(e.get("loc", ())), domain_text(lang, str(e.get("msg", "")), exc))
                for e in exc.errors]
    return [FieldMessage(field=None, text=domain_text(lang, exc.detail, exc))]


TEXT_PATTERNS = (LINE_PATTERN, TEXT_PATTERN)
_VALIDATION: dict[str, Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]] = {
    "missing": lambda c: ("val.required", {}),
    "string_too_short": lambda c: ("val.required", {}),
    "string_too_long": lambda c: ("val.too_long", {"max": c.get("max_length", "")}),
    "greater_than_equal": lambda c: ("val.ge", {"limit": c.get("ge", "")}),
    "greater_than": lambda c: ("val.ge", {"limit": c.get("gt", "")}),
    "less_than_equal": lambda c: ("val.le", {"limit": c.get("le", "")}),
    "decimal_parsing": lambda c: ("val.number", {}),
    "decimal_type": lambda c: ("val.number", {}),
    "decimal_max_places": lambda c: ("val.places", {}),
    "decimal_whole_digits": lambda c: ("val.digits", {}),
    "decimal_max_digits": lambda c: ("val.digits", {}),
    "date_parsing": lambda c: ("val.date", {}),
    "date_from_datetime_parsing": lambda c: ("val.date", {}),
    "date_type": lambda c: ("val.date", {}),
    "date_too_early": lambda c: ("val.date_early", {}),
    "string_pattern_mismatch": lambda c: ("val.text" if c.get("pattern") in TEXT_PATTERNS else "val.invalid", {}),
    "enum": lambda c: ("val.choice", {}),
    "literal_error": lambda c: ("val.choice", {}),
    "too_long": lambda c: ("val.too_many", {}),
    "int_parsing": lambda c: ("val.number", {}),
    "float_parsing": lambda c: ("val.number", {}),
}


def validation_messages(lang: str, errors: Iterable[dict[str, Any]]) -> list[FieldMessage]:
    """pydantic's errors (``ValidationError.errors()`` or a RequestValidationError's) in ``lang``."""
    out = []
    for e in errors:
        kind, ctx = str(e.get("type", "")), dict(e.get("ctx") or {})
        if kind == "string_pattern_mismatch" and isinstance(e.get("input"), str) and not e["input"].strip():
            key, params = "val.required", {}  # only spaces: nothing was entered
        elif kind in _VALIDATION:
            key, params = _VALIDATION[kind](ctx)
        else:
            key, params = "val.invalid", {}
        out.append(FieldMessage(field=_field_of(e.get("loc", ())), text=translate(lang, key, **params)))
    return out
