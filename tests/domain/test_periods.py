from datetime import date

import pytest

from service.domain.errors import InvalidInput
from service.domain.periods import parse_period


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
    ],
)
def test_bounds(text, start, end):
    p = parse_period(text)
    assert (p.start, p.end, str(p)) == (start, end, text)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-Q5", "2026-Q0", "26", "2026-1", "abc", "", "1800"])
def test_invalid(text):
    with pytest.raises(InvalidInput) as info:
        parse_period(text)
    assert info.value.errors[0]["loc"] == ["period"]
