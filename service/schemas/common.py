"""Shared field types and the list envelope."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

T = TypeVar("T")

EARLIEST = date(1990, 1, 1)


#: Characters no single line of text may hold: C0 and C1 controls (tab and newline too), zero-width and
#: direction-formatting characters (which make a name read differently from what is stored), the line and
#: paragraph separators and the byte-order mark.
_NOT_IN_LINE = r"\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
#: Characters free text (several lines) may not hold: controls other than tab and line breaks, and the
#: direction-formatting characters.
_NOT_IN_TEXT = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
#: At least one visible character (the value is read with surrounding whitespace stripped), none of the above.
LINE_PATTERN = rf"^\s*[^\s{_NOT_IN_LINE}][^{_NOT_IN_LINE}]*$"
TEXT_PATTERN = rf"^\s*[^\s{_NOT_IN_TEXT}][^{_NOT_IN_TEXT}]*$"

#: An amount sent as a string: a plain decimal in ASCII digits, at most twelve before the point and two after
#: (no sign, exponent, separator or surrounding space). The schema states this pattern; the server applies it.
AMOUNT_PATTERN = r"^\+?[0-9]{1,12}(\.[0-9]{1,2})?$"
_DECIMAL_TEXT = re.compile(r"\+?([0-9]+)(?:\.([0-9]+))?")
#: A day, ``YYYY-MM-DD``, from 1990 (the ledger's first year) on.
DAY_PATTERN = r"^(199[0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_DAY_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: What a value refused by one of these patterns should have been, said the way a person reads it (the problem's
#: ``errors[].msg``; the pattern itself stays in the OpenAPI document). The routers add theirs.
PATTERN_MESSAGES: dict[str, str] = {
    LINE_PATTERN: "must be one line of visible text: no control, zero-width or direction-formatting characters",
    TEXT_PATTERN: "must be visible text: no control characters (other than tab and line breaks) and no "
                  "direction-formatting characters",
}


def _plain_decimal_text(value: Any) -> Any:
    """An amount sent as a string is a plain decimal (``"12500.5"``) as ``AMOUNT_PATTERN`` spells it; each way
    of missing it has its own error type (the web says which)."""
    if isinstance(value, str):
        text = _DECIMAL_TEXT.fullmatch(value)
        if text is None:
            raise PydanticCustomError("decimal_parsing", 'must be a decimal number such as "12500.50"')
        if len(text[2] or "") > 2:
            raise PydanticCustomError("decimal_max_places", "must have at most 2 decimal places")
        if len(text[1]) > 12:
            raise PydanticCustomError("decimal_whole_digits", "must have at most 12 digits before the point")
    return value


def _iso_day(value: Any) -> Any:
    """A day is sent as ``YYYY-MM-DD`` text (not a timestamp or a date-time)."""
    if not isinstance(value, date) and not (isinstance(value, str) and _DAY_TEXT.fullmatch(value)):
        raise PydanticCustomError("date_parsing", "must be a date, YYYY-MM-DD")
    return value


def _two_places(value: Decimal) -> Decimal:
    # ``+ 0`` turns a negative zero ("-0.00") into "0.00".
    return value.quantize(Decimal("0.01")) + Decimal(0)


def amount_text(value: Decimal) -> str:
    """An amount (or a sum of amounts) in 万元 as the API serves it: a plain decimal string with two places."""
    return f"{value:.2f}"


def by_position(rows: Sequence[Any], columns: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A getter of ``columns`` from each of ``rows`` (Core rows of one query), by position: a named attribute of
    a SQLAlchemy Row costs about a microsecond, which dominated serialising pages of rows."""
    return itemgetter(*(rows[0]._fields.index(column) for column in columns))


def _not_ancient(value: date) -> date:
    if value < EARLIEST:
        raise PydanticCustomError("date_too_early", "must be on or after {earliest}",
                                  {"earliest": EARLIEST.isoformat()})
    return value


def _stripped(value: str) -> str:
    return value.strip()


def _text(max_length: int, pattern: str) -> Any:
    # The length is the length sent (what the schema's maxLength states), the value kept is stripped of
    # surrounding whitespace; the pattern has made sure something visible is left.
    return Annotated[str, StringConstraints(min_length=1, max_length=max_length, pattern=pattern),
                     AfterValidator(_stripped)]


def line(max_length: int) -> Any:
    """One line of visible text, at most ``max_length`` characters as sent, kept without surrounding whitespace."""
    return _text(max_length, LINE_PATTERN)


Name = line(200)
ShortText = line(100)
#: Free text of several lines (a reason, a note, progress), at most 4,000 characters as sent.
LongText = _text(4000, TEXT_PATTERN)
#: A code of reference data, exactly as the pattern spells it (a surrounding space is refused, not trimmed).
Code = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
#: An amount in 万元: accepted as a string or a number, at most two decimals, served as a string.
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2, examples=["12500.00"]),
    BeforeValidator(_plain_decimal_text),
    WithJsonSchema({"anyOf": [
        {"type": "number", "minimum": 0, "maximum": 999999999999.99, "multipleOf": 0.01},
        {"type": "string", "pattern": AMOUNT_PATTERN},
    ], "examples": ["12500.00"]}, mode="validation"),
    AfterValidator(_two_places),
    PlainSerializer(amount_text, return_type=str, when_used="json"),
]
Day = Annotated[
    date, BeforeValidator(_iso_day), AfterValidator(_not_ancient),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN}, mode="validation"),
]


class Input(BaseModel):
    """Request bodies: unknown fields are refused (a typo should not be silently dropped)."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Opaque; pass as ?cursor= for the next page. null on the last page.")
