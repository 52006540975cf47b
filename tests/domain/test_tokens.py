"""Token expiry and web session rules (service/domain/tokens.py), without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.domain import errors as d
from service.domain import tokens as rules

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)
TODAY = date(2026, 12, 5)


def _expires(**kw):  # noqa: ANN003, ANN202
    return rules.expires_at(now=NOW, today=TODAY, tz=SH, ttl_days=365, **{"expires_on": None,
                                                                          "never_expires": False, **kw})


def test_default_expiry_is_the_ttl_after_creation():
    assert _expires() == NOW + timedelta(days=365)


def test_expires_on_is_the_last_day_that_works():
    assert _expires(expires_on=TODAY) == datetime(2026, 12, 5, 16, 0, tzinfo=UTC)  # midnight in Shanghai
    assert _expires(expires_on=TODAY).tzinfo is UTC


def test_never_expires():
    assert _expires(never_expires=True) is None


@pytest.mark.parametrize("kw", [{"expires_on": TODAY - timedelta(days=1)},
                                {"expires_on": TODAY, "never_expires": True},
                                {"expires_on": date(9999, 12, 31)}])
def test_refused(kw):
    with pytest.raises(d.InvalidInput):
        _expires(**kw)


def test_liveness():
    assert rules.is_live(revoked_at=None, expires_at=None, now=NOW)
    assert rules.is_live(revoked_at=None, expires_at=NOW + timedelta(seconds=1), now=NOW)
    assert not rules.is_live(revoked_at=None, expires_at=NOW, now=NOW)
    assert not rules.is_live(revoked_at=NOW, expires_at=None, now=NOW)


def test_session_end():
    idle, absolute = timedelta(hours=2), timedelta(hours=12)
    start = NOW

    def ended(last_seen: datetime, now: datetime) -> bool:
        return rules.session_ended(created_at=start, last_seen_at=last_seen, now=now, idle=idle, absolute=absolute)

    assert not ended(start, start + timedelta(minutes=119))
    assert ended(start, start + timedelta(hours=2))
    assert not ended(start + timedelta(hours=11), start + timedelta(hours=11, minutes=59))
    assert ended(start + timedelta(hours=11, minutes=59), start + timedelta(hours=12))
