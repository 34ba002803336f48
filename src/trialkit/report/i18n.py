"""The report's messages in English and Persian, and its dates (Solar Hijri in Persian).

The report has its own gettext catalogue, ``locale/<lang>/LC_MESSAGES/report.po``, read with
Babel as the web workspace reads its own: its messages are the report's (CONSORT boxes,
section titles), not the pages', and a separate catalogue keeps the web catalogue's checks
(every msgid used by a page) true. Persian shows Persian digits and Solar Hijri dates with the
Gregorian date beside them, as the web pages do. ``tests/report/test_i18n.py`` fails on a
message without its Persian translation.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path

from trialkit.languages import LANGUAGES, date_text, digits, read_catalogue

__all__ = ["LANGUAGES", "Text", "catalogue", "date_text", "digits"]

_LOCALE = Path(__file__).with_name("locale")


@cache
def catalogue(language: str) -> dict[str, str]:
    """msgid -> msgstr of ``language`` (empty msgstrs left out)."""
    return read_catalogue(_LOCALE / language / "LC_MESSAGES" / "report.po", language)


class Text:
    """``t(msgid, **values)``: the message in the report's language, its placeholders filled
    (numbers in Persian digits in Persian)."""

    def __init__(self, language: str) -> None:
        if language not in LANGUAGES:
            from trialkit.errors import ValidationFailed

            raise ValidationFailed(
                f"report language {language!r} is not one of {', '.join(LANGUAGES)}",
                code="REPORT.E002",
            )
        self.language = language
        self._messages = catalogue(language)

    def __call__(self, msgid: str, **values: object) -> str:
        text = self._messages.get(msgid, msgid)
        if values:
            text = text.format(**{k: self.number(v) for k, v in values.items()})
        return text

    def number(self, value: object) -> str:
        return digits(value, self.language) if isinstance(value, int | float) else str(value)

    def date(self, value: date | datetime | None) -> str:
        return date_text(value, self.language)
