"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")


class Money(TypeDecorator[Decimal]):
    """An amount in 万元 with two decimals, stored as an exact integer of hundredths.

    SQLite has no exact decimal type; integers keep sums exact in SQL on both databases.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        return int((Decimal(value).quantize(CENT)) * 100)

    def process_result_value(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)

    def json_processor(self, dialect):  # noqa: ANN001, ANN201, ARG002 - service/db/raw.py asks every type
        """The stored hundredths straight to the API's text of the amount (``cents_text``)."""
        return cents_text

    @property
    def python_type(self) -> type:
        return Decimal


def cents_text(cents: int) -> str:
    """An amount of ``cents`` hundredths as the API writes amounts: ``"2416.05"``, two places, no exponent — the
    text ``amount_text`` makes of the ``Decimal`` that ``Money`` reads (tests/test_json_values.py)."""
    cents = int(cents)
    whole, part = divmod(-cents if cents < 0 else cents, 100)
    return f"-{whole}.{part:02d}" if cents < 0 else f"{whole}.{part:02d}"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def python_type(self) -> type:
        return datetime
