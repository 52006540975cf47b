"""Cell values: what a cell of the file says, as the value a field takes — text, a date, an amount in 万元,
是/否, a list or a stage. A cell that is none of these raises ``ValueError`` with the words the import's report
shows.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from service.domain.stages import LABELS_ZH, LISTS, Stage
from service.importing.tables import LIST_LABELS, STAGE_LABELS, normalise_header
from service.schemas.ledger import STAGE_ZH

YES = frozenset({"是", "true", "yes", "y", "1", "√", "✓", "重点"})
NO = frozenset({"否", "false", "no", "n", "0", ""})


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    text = str(value).strip()
    return text or None


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]0{1,2}:0{2}(?::0{2})?)?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def as_date(value: Any) -> date:
    """A date cell, or text ``2026-01-10``, ``2026/1/10``, ``2026.1.10``, ``2026年1月10日``, ``20260110``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("is a number, not a date: format the column as a date or write YYYY-MM-DD")  # noqa: TRY004
    if isinstance(value, timedelta):
        raise ValueError("is a duration, not a date")  # noqa: TRY004
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if not match:
        raise ValueError(f"'{text[:40]}' is not a date (YYYY-MM-DD)")
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a valid date") from exc


def as_amount(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("is not an amount")  # noqa: TRY004
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "").replace(" ", "")
    if len(text) > 40:
        raise ValueError(f"'{text[:40]}…' is not an amount in 万元")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"'{value}' is not an amount in 万元") from exc
    if not amount.is_finite():
        raise ValueError(f"'{value}' is not an amount in 万元")
    return amount


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = normalise_header(value)
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError(f"'{str(value)[:40]}' is not 是/否 (yes/no)")


def as_list(value: Any) -> Stage:
    text = normalise_header(value)
    for label, stage in LIST_LABELS.items():
        if normalise_header(label) == text:
            return stage
    raise ValueError(f"'{str(value)[:40]}' is not a list ({', '.join(LABELS_ZH[s] for s in LISTS)})")


def as_stage(value: Any) -> Stage:
    text = normalise_header(value)
    for label, stage in STAGE_LABELS.items():
        if normalise_header(label) == text:
            return stage
    raise ValueError(f"'{str(value)[:40]}' is not a stage ({', '.join(STAGE_ZH.values())})")
