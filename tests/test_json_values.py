"""The JSON values read straight from the driver (``json_processor``, service/db/raw.py) are what the typed path
writes: the text ``amount_text`` makes of ``Money``'s ``Decimal``, a date as orjson writes the ``date``. No
database: the dialects' own bind and result processors are the ground truth."""

from __future__ import annotations

from datetime import date

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Boolean, Date, String
from sqlalchemy.dialects import postgresql, sqlite

from service.db.raw import json_processor
from service.db.types import Money, cents_text
from service.schemas.common import amount_text

DIALECTS = {"sqlite": sqlite.pysqlite.dialect(), "postgresql": postgresql.psycopg.dialect()}
BIGINT = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@settings(max_examples=500, deadline=None)
@given(BIGINT)
def test_cents_text_is_the_amount_text_of_the_money_read(cents):
    for dialect in DIALECTS.values():
        assert cents_text(cents) == amount_text(Money().process_result_value(cents, dialect))


@pytest.mark.parametrize("cents, text", [(0, "0.00"), (5, "0.05"), (-5, "-0.05"), (100, "1.00"), (-100, "-1.00"),
                                         (1234567, "12345.67"), (-1234567, "-12345.67")])
def test_cents_text_examples(cents, text):
    assert cents_text(cents) == text


@pytest.mark.parametrize("name", DIALECTS)
def test_money_is_written_from_its_stored_hundredths(name):
    assert json_processor(Money(), DIALECTS[name]) is cents_text


@settings(max_examples=300, deadline=None)
@given(st.dates())
def test_a_date_reads_as_the_text_the_json_writer_makes_of_it(day):
    """SQLite stores a date as its ISO text: that text is passed through, and it is what orjson writes for the
    date the typed path reads back. PostgreSQL's driver returns a ``date``: passed through as well."""
    for name, dialect in DIALECTS.items():
        impl = Date().dialect_impl(dialect)
        bind, result = impl.bind_processor(dialect), impl.result_processor(dialect, None)
        stored = bind(day) if bind else day
        typed = result(stored) if result else stored
        assert json_processor(Date(), dialect) is None, name
        assert orjson.dumps(stored) == orjson.dumps(typed) == orjson.dumps(day.isoformat() if name == "sqlite" else day)


def test_a_date_stored_otherwise_is_typed_first():
    """A dialect whose stored text is not the ISO date (a custom storage format) is read through its result
    processor, as a Core row would be: the pass-through is earned by the probe, not assumed."""
    dialect = sqlite.pysqlite.dialect()
    odd = sqlite.DATE(storage_format="%(day)02d/%(month)02d/%(year)04d",
                      regexp=r"(?P<day>\d+)/(?P<month>\d+)/(?P<year>\d+)")
    processor = json_processor(odd, dialect)
    assert processor is not None and processor("03/02/2001") == date(2001, 2, 3)


@pytest.mark.parametrize("name", DIALECTS)
def test_other_types_are_typed_by_their_result_processor(name):
    dialect = DIALECTS[name]
    for type_ in (Boolean(), String(), BigInteger()):
        assert json_processor(type_, dialect) == type_.dialect_impl(dialect).result_processor(dialect, None)
