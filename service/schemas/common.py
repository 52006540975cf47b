"""Shared field types and the list envelope."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, StringConstraints

T = TypeVar("T")

EARLIEST = date(1990, 1, 1)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


_PLAIN_DECIMAL = re.compile(r"^[+-]?\d{1,20}(?:\.\d{1,20})?$")


def _plain_decimal_text(value: Any) -> Any:
    """Amounts sent as strings are plain decimals (``"12500.5"``): no exponent, no ``_`` separators."""
    if isinstance(value, str):
        value = value.strip()
        if not _PLAIN_DECIMAL.match(value):
            raise ValueError("must be a decimal number such as \"12500.50\"")
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
        raise ValueError(f"must be on or after {EARLIEST.isoformat()}")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_nul)]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_no_nul)
]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), AfterValidator(_no_nul)
]
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"),
]
#: An amount in 万元: accepted as a string or a number, at most two decimals, served as a string.
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2, examples=["12500.00"]),
    BeforeValidator(_plain_decimal_text),
    AfterValidator(_two_places),
    PlainSerializer(amount_text, return_type=str, when_used="json"),
]
Day = Annotated[date, AfterValidator(_not_ancient)]


class Input(BaseModel):
    """Request bodies: unknown fields are refused (a typo should not be silently dropped)."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Opaque; pass as ?cursor= for the next page. null on the last page.")
