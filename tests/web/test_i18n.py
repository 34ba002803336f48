"""Every message has its translation; digits and dates in each language."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from trialkit.errors import ValidationFailed
from trialkit.web.i18n import (
    catalogue,
    date_text,
    digits,
    parse_date,
    show_date,
    show_datetime,
    translator,
)
from trialkit.web.messages import used_msgids


def test_every_message_has_a_persian_translation() -> None:
    used = used_msgids()
    assert len(used) > 100
    fa = catalogue("fa")
    missing = sorted(m for m in used if not fa.get(m))
    assert missing == [], f"untranslated in fa/messages.po (run scripts/web_messages.py): {missing}"


def test_the_catalogues_hold_no_unused_message() -> None:
    assert sorted(set(catalogue("fa")) - used_msgids()) == []


def test_the_english_catalogue_lists_every_message() -> None:
    from babel.messages.pofile import read_po

    from trialkit.web.i18n import LOCALE_DIR

    with (LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        listed = {str(m.id) for m in read_po(fh) if m.id}
    assert sorted(used_msgids() - listed) == []


def test_placeholders_survive_translation() -> None:
    for msgid, text in catalogue("fa").items():
        names = set(msgid.split("{")[1:])
        for part in names:
            name = part.split("}")[0]
            assert "{" + name + "}" in text, (msgid, text)


def test_persian_digits_and_placeholders() -> None:
    _ = translator("fa")
    assert _("{n} participants at your sites", n=12) == "۱۲ شرکت‌کننده در مراکز شما"
    assert (
        translator("en")("{n} participants at your sites", n=12) == "12 participants at your sites"
    )
    assert digits("2025-06-02", "fa") == "۲۰۲۵-۰۶-۰۲"
    assert digits("12", "en") == "12"


def test_a_count_takes_its_english_form_and_persian_digits() -> None:
    en, fa = translator("en"), translator("fa")
    assert en.plural("{n} open query", "{n} open queries", 1) == "1 open query"
    assert en.plural("{n} open query", "{n} open queries", 0) == "0 open queries"
    assert en.plural("{n} open query", "{n} open queries", 2) == "2 open queries"
    assert fa.plural("{n} open query", "{n} open queries", 1) == fa("{n} open queries", n=1)
    assert "۱" in fa.plural("{n} open query", "{n} open queries", 1)


def test_no_template_writes_a_count_with_one_form() -> None:
    """A count's message in a template goes through ``_.plural`` (a page said "1 participants
    at your sites"); ``(s)`` spellings are not used either."""
    from trialkit.web.i18n import LOCALE_DIR

    templates = LOCALE_DIR.parent / "templates"
    one_form = re.compile(r'\b_\(\s*"[^"]*\{n\}[^"]*"')
    for path in sorted(templates.glob("*.html")):
        text = path.read_text(encoding="utf-8")
        for m in one_form.finditer(text):
            msgid = m.group(0)
            # a count that is not a number of things ("{n} of {size}", "Queries: {n}") is fine
            assert not re.search(r"\{n\} [a-z]+s\b|\{n\} [a-z ]+\(s\)", msgid), (path.name, msgid)
    assert [m for m in used_msgids() if "(s)" in m] == []


def test_dates_shown_in_the_users_calendar() -> None:
    assert date_text(date(2025, 3, 21), "en") == "2025-03-21"
    assert date_text(date(2025, 3, 21), "fa") == "۱۴۰۴/۰۱/۰۱ (2025-03-21)"  # Nowruz
    assert date_text(None, "fa") == "—"
    shown = show_date(date(2025, 3, 21), "fa")  # each calendar isolated for the bidi algorithm
    assert shown == (
        '<time class="d" datetime="2025-03-21"><bdi>۱۴۰۴/۰۱/۰۱</bdi> '
        '<bdi dir="ltr" class="greg">(2025-03-21)</bdi></time>'
    )
    assert "۰۹:۰۵" in show_datetime(datetime(2025, 3, 20, 9, 5), "fa")
    assert show_date(date(2025, 3, 21), "en") == (
        '<time class="d" datetime="2025-03-21">2025-03-21</time>'
    )


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("2025-03-21", "en", date(2025, 3, 21)),
        ("2025-03-21", "fa", date(2025, 3, 21)),
        ("1404/01/01", "fa", date(2025, 3, 21)),
        ("۱۴۰۴/۰۱/۰۱", "fa", date(2025, 3, 21)),
        ("1403/12/30", "fa", date(2025, 3, 20)),  # 1403 is a leap year
    ],
)
def test_dates_entered(text: str, language: str, expected: date) -> None:
    assert parse_date(text, language) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [("1404/01/01", "en"), ("1404/13/01", "fa"), ("tomorrow", "fa"), ("1404/12/30", "fa")],
)
def test_bad_dates_are_refused_with_the_format(text: str, language: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_date(text, language, "consent date")
    assert exc.value.code == "WEB.E030"
    assert "consent date" in exc.value.message
    assert "2025-03-03" in str(exc.value)
