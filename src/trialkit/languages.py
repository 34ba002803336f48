"""The languages trialkit speaks, shared by the web pages and the study report.

Both read their own gettext catalogue (``web/locale`` and ``report/locale``) with Babel, show
Persian digits in Persian, and show a date in Persian in the Solar Hijri calendar (jdatetime)
with the ISO Gregorian date beside it (``۱۴۰۳/۱۲/۱۳ (2025-03-03)``). Dates are always stored
and sent ISO Gregorian; this module only shows them.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import jdatetime
from babel.messages.pofile import read_po

__all__ = ["LANGUAGES", "RTL", "date_text", "digits", "read_catalogue"]

LANGUAGES = ("en", "fa")
RTL = frozenset({"fa"})
_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def read_catalogue(path: Path, language: str) -> dict[str, str]:
    """msgid -> msgstr of the ``.po`` file at ``path`` (empty msgstrs left out: the msgid,
    which is the English text, is shown instead)."""
    with path.open("rb") as fh:
        cat = read_po(fh, locale=language)
    return {
        str(m.id): str(m.string) for m in cat if m.id and isinstance(m.string, str) and m.string
    }


def digits(text: object, language: str) -> str:
    """``text`` with Persian digits in Persian."""
    out = str(text)
    return out.translate(_PERSIAN) if language == "fa" else out


def date_text(value: date | datetime | None, language: str) -> str:
    """A date as plain text: ISO in English; in Persian the Solar Hijri date with the Gregorian
    beside it. ``None`` is an em dash."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.date()
    if language != "fa":
        return value.isoformat()
    solar = jdatetime.date.fromgregorian(date=value)
    return f"{digits(solar.strftime('%Y/%m/%d'), 'fa')} ({value.isoformat()})"
