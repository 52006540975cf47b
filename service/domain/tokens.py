"""API tokens and web sessions (SPEC §1): when a token expires, when it is live, when a session has ended.

Plain rules on datetimes; the database layer stores what they decide and the use cases apply them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from service.domain import errors as d


def expires_at(*, now: datetime, today: date, tz: tzinfo, ttl_days: int, expires_on: date | None,
               never_expires: bool) -> datetime | None:
    """When a new token stops working: ``expires_on`` is the last day it works (it expires at the next
    midnight, in the service's time zone); ``never_expires`` → None; neither → ``ttl_days`` after ``now``."""
    if never_expires and expires_on is not None:
        raise d.InvalidInput.at(["body", "never_expires"], "Send either expires_on or never_expires, not both.")
    if never_expires:
        return None
    if expires_on is None:
        return now + timedelta(days=ttl_days)
    if expires_on < today:
        raise d.InvalidInput.at(["body", "expires_on"], f"expires_on must be today ({today}) or later.")
    try:
        return datetime.combine(expires_on + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    except OverflowError:
        raise d.InvalidInput.at(["body", "expires_on"], "expires_on is too far in the future.") from None


def is_live(*, revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> bool:
    """A token works until it is revoked or its expiry passes."""
    return revoked_at is None and (expires_at is None or now < expires_at)


def session_ended(*, created_at: datetime, last_seen_at: datetime, now: datetime, idle: timedelta,
                  absolute: timedelta) -> bool:
    """A browser session ends ``idle`` after its last use or ``absolute`` after sign-in, whichever comes first."""
    return now >= last_seen_at + idle or now >= created_at + absolute
