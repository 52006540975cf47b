"""The web frontend's one message catalogue: every text a page shows, as key → {zh, en}.

Templates never hold language-specific text; they call ``t('key', **params)``. zh-CN is the default; the
glossary of ``domain/source-policy.md`` gives the Chinese names (新签约, 月调度, 牵头部门 …).

The catalogue holds the errors' words too; ``service/web/error_text.py`` picks the entry for an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.domain.periods import Period, PeriodKind
from service.web.catalogue import admin, cycles, errors, frame, imports, pages, plans

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
HTML_LANG = {"zh": "zh-CN", "en": "en"}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: Every key of the catalogue (``service/web/catalogue/``, one module per area; the field labels come last,
#: from the project field definition).
MESSAGES: dict[str, dict[str, str]] = {**frame.MESSAGES, **pages.MESSAGES, **admin.MESSAGES, **imports.MESSAGES,
                                     **plans.MESSAGES, **cycles.MESSAGES, **errors.MESSAGES}


def translate(lang: str, key: str, **params: Any) -> str:
    """The catalogue's text of ``key`` in ``lang``, with ``{name}`` placeholders filled from ``params``."""
    text = MESSAGES[key][lang]
    return text.format(**params) if params else text


def translator(lang: str) -> Callable[..., str]:
    def t(key: str, **params: Any) -> str:
        return translate(lang, key, **params)

    return t


def lang_or_default(value: object) -> str:
    return value if isinstance(value, str) and value in LANGS else DEFAULT_LANG


def period_label(lang: str, period: Period) -> str:
    if period.kind is PeriodKind.YEAR:
        return translate(lang, "period.year", year=period.year)
    if period.kind is PeriodKind.QUARTER:
        return translate(lang, "period.quarter", year=period.year, q=period.index)
    return translate(lang, "period.month", year=period.year, m=period.index, mon=_MONTHS_EN[period.index - 1])


def month_short(lang: str, month: int) -> str:
    return translate(lang, "period.month_short", m=month, mon=_MONTHS_EN[month - 1])
