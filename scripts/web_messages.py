"""Keep the web application's catalogues (English and Persian) in step with its msgids.

    python scripts/web_messages.py          # add missing msgids (empty msgstr), drop unused
    python scripts/web_messages.py --check  # exit 1 when a msgid is missing or untranslated

The catalogues are the ``.po`` files in src/trialkit/web/locale, read at runtime (no compile
step). A new Persian msgstr is left empty for a translator; the test suite fails until it is
filled in.
"""

from __future__ import annotations

import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from trialkit.web.i18n import LANGUAGES, LOCALE_DIR
from trialkit.web.messages import used_msgids


def main(argv: list[str]) -> int:
    check = "--check" in argv
    used = used_msgids()
    bad = 0
    for lang in LANGUAGES:
        path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
        if path.exists():
            with path.open("rb") as fh:
                cat = read_po(fh, locale=lang)
        else:
            cat = Catalog(locale=lang, project="trialkit", domain="messages")
        have = {str(m.id) for m in cat if m.id}
        missing = sorted(used - have)
        untranslated = sorted(
            str(m.id) for m in cat if m.id and lang != "en" and not m.string and m.id in used
        )
        stale = len(have - used)
        print(
            f"{lang}: {len(used)} used, {len(missing)} missing, {len(untranslated)} "
            f"untranslated, {stale} unused"
        )
        if check:
            bad += len(missing) + len(untranslated) + stale
            continue
        for msgid in missing:
            cat.add(msgid, "")
        for msgid in sorted(have - used):
            del cat[msgid]  # no longer used anywhere
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, cat, width=0, sort_output=True, omit_header=False)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
