"""Message catalogues (gettext ``.po`` files read at runtime with Babel), digits and dates.

Every message a person reads on a page is a msgid in ``locale/<lang>/LC_MESSAGES/messages.po``;
the English catalogue may leave a msgstr empty (the msgid is the English text), the Persian one
may not (``tests/web/test_i18n.py`` fails on a missing translation). Messages take named
placeholders, ``_("Signed in as {name}", name=...)``. Persian pages show Persian digits and dates
in the Solar Hijri calendar (jdatetime) with the Gregorian date beside them; dates are stored
and sent ISO Gregorian.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache
from pathlib import Path

import jdatetime
from markupsafe import Markup, escape

from trialkit.errors import ValidationFailed
from trialkit.languages import LANGUAGES, RTL, date_text, digits, read_catalogue

__all__ = [
    "DATE_HINTS",
    "LANGUAGES",
    "RTL",
    "Translator",
    "catalogue",
    "date_text",
    "digits",
    "input_date",
    "latin",
    "parse_date",
    "parse_moment",
    "show_date",
    "show_datetime",
    "translator",
]

LOCALE_DIR = Path(__file__).with_name("locale")
_LATIN = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


@cache
def catalogue(language: str) -> dict[str, str]:
    """msgid -> msgstr of ``language`` (empty msgstrs left out)."""
    return read_catalogue(LOCALE_DIR / language / "LC_MESSAGES" / "messages.po", language)


class Translator:
    """The ``_`` of one language: ``_(msgid, **placeholders)``."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "en"
        self._messages = catalogue(self.language)

    def __call__(self, msgid: str, **values: object) -> str:
        text = self._messages.get(msgid, msgid)
        if values:
            shown = {
                k: digits(v, self.language) if isinstance(v, int) else v for k, v in values.items()
            }
            if any(isinstance(v, Markup) for v in shown.values()):
                return Markup(escape(text)).format(**shown)
            text = text.format(**shown)
        return text

    def plural(self, one: str, other: str, n: int, **values: object) -> str:
        """The message for a count ``n``, filled in as ``{n}``: ``one`` when ``n`` is 1,
        ``other`` otherwise (English's rule; each is a msgid of its own, so a language with
        one form after numerals, as Persian, translates both alike):
        ``_.plural("{n} open query", "{n} open queries", 1)`` is "1 open query"."""
        return self(one if n == 1 else other, n=n, **values)

    @property
    def rtl(self) -> bool:
        return self.language in RTL


@cache
def translator(language: str) -> Translator:
    return Translator(language)


def show_date(value: date | None, language: str) -> Markup:
    """A date for a page: as :func:`date_text`, each calendar's part isolated for the
    bidirectional algorithm and kept on one line."""
    if value is None:
        return Markup("—")
    if isinstance(value, datetime):
        value = value.date()
    if language != "fa":
        return Markup('<time class="d" datetime="{0}">{0}</time>').format(value.isoformat())
    solar = digits(jdatetime.date.fromgregorian(date=value).strftime("%Y/%m/%d"), "fa")
    return Markup(
        '<time class="d" datetime="{0}"><bdi>{1}</bdi> <bdi dir="ltr" class="greg">({0})</bdi>'
        "</time>"
    ).format(value.isoformat(), solar)


def show_datetime(value: datetime | None, language: str) -> Markup:
    if value is None:
        return Markup("—")
    clock = digits(value.strftime("%H:%M"), language)
    return Markup('<span class="dt">{0} <bdi dir="ltr">{1}</bdi></span>').format(
        show_date(value.date(), language), clock
    )


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_SOLAR = re.compile(r"(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})")


def parse_date(text: str, language: str, field: str = "date") -> date:
    """A date the user typed: ISO Gregorian (``2025-03-03``) in English; in Persian a Solar
    Hijri date (``1403/12/13``, Persian or Latin digits) or an ISO Gregorian one."""
    raw = text.strip().translate(_LATIN)
    try:
        if language == "fa" and (m := _SOLAR.fullmatch(raw)) and int(m.group(1)) < 1700:
            y, mo, d = (int(g) for g in m.groups())
            gregorian: date = jdatetime.date(y, mo, d).togregorian()
            return gregorian
        if m := _ISO.fullmatch(raw):
            y, mo, d = (int(g) for g in m.groups())
            return date(y, mo, d)
    except ValueError:
        pass
    hint = "1403/12/13 or 2025-03-03" if language == "fa" else "2025-03-03"
    raise ValidationFailed(
        f"{field}: {text!r} is not a date",
        code="WEB.E030",
        errors={field: [f"e.g. {hint}"]},
        hint=f"write it as {hint}",
    )


#: How a date is typed (shown under date fields).
DATE_HINTS = {"en": "YYYY-MM-DD", "fa": "۱۴۰۳/۱۲/۱۳"}


def input_date(value: date, language: str) -> str:
    """``value`` as it is typed in a date field: ISO, or Solar Hijri in Persian."""
    if language == "fa":
        return digits(jdatetime.date.fromgregorian(date=value).strftime("%Y/%m/%d"), "fa")
    return value.isoformat()


def latin(text: str) -> str:
    """``text`` with Persian (and Arabic-Indic) digits as Latin ones, as the services read
    numbers."""
    return text.translate(_LATIN)


_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def parse_moment(day: str, clock: str, language: str, field: str = "time") -> datetime:
    """A date and a time the user typed in two fields: the date as :func:`parse_date`, the
    time on the 24-hour clock (``14:30``, Persian or Latin digits)."""
    on = parse_date(day, language, field)
    m = _CLOCK.fullmatch(clock.strip().translate(_LATIN))
    if m is None:
        raise ValidationFailed(
            f"{field}: {clock!r} is not a time of day",
            code="WEB.E033",
            errors={field: ["e.g. 14:30"]},
            hint="write the time on the 24-hour clock, as 14:30",
        )
    return datetime(on.year, on.month, on.day, int(m.group(1)), int(m.group(2)))
