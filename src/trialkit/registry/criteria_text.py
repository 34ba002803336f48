"""Split registry eligibility text into one criterion per item, and match restated passages.

Three shapes occur:

* ClinicalTrials.gov: ``Inclusion Criteria:`` / ``Exclusion Criteria:`` headings, then bullet
  (``*``, ``-``) or numbered (``1.``) items; indented sub-items belong to the item above them.
* IRCT detailed section: one line per item, except when the registrant typed the list as one
  run-on line. :func:`split_run_on` then cuts it before a word that starts a new item.
* IRCT protocol summary: a comma-separated restatement. :func:`match_passages` cuts it into
  fragments and gives each fragment to the detailed criterion whose words it shares most.

The run-on heuristic (documented in docs/registry-import.md): a new item starts at a word that
begins with a capital letter followed by a lower-case letter (``Severe``) or is an all-capital
word of two or more letters (``PASI``), when the word before it ends in a lower-case letter, a
digit or ``)``, or is itself an all-capital abbreviation (``HIV``), and is not a joining word
(``and``, ``or``, ``of``, ``with`` ...); a possessive (``Crohn's``) is taken for a name and
never starts an item. Nothing inside parentheses is cut. The importer applies this only to a
criteria list typed as one line.

Two further rules handle items whose first word is lower case or was typed on the line before:

* A lower-case **criterion head** (:data:`CRITERION_HEADS`: ``diabetes``, ``pregnancy``,
  ``high and uncontrolled``, ``patients with`` ...) starts an item when the word before it is a
  number that ends the previous item (``creatinine more than 2 | high and uncontrolled blood
  pressure``; not ``type 2 diabetes``: a number after ``type``, ``grade``, ``stage``, ``class``,
  ``phase``, ``level`` or ``step`` labels what follows), or when the word before it closes an
  ``X or Y`` / ``X and Y`` pair (``Pregnancy or lactation | diabetes mellitus``; not
  ``uncontrolled diabetes``, not ``with diabetes``).
* A **duration closes an item**: a single lower-case word between a number with a time unit and
  the next item's start belongs to the next item (``for at least 6 months | plaque Mild to ...``),
  unless it completes the duration (``ago``, ``old``, ``prior``, ``before``, ``after`` ...) or
  the item before would keep fewer than three words.

Other items that begin with a lower-case word cannot be told apart from the item before them and
stay joined.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

__all__ = [
    "CRITERION_HEADS",
    "CriteriaLists",
    "match_passages",
    "split_criteria",
    "split_ctgov_criteria",
    "split_numbered",
    "split_run_on",
    "split_summary",
]

_JOINERS = frozenset(
    [
        "a",
        "an",
        "and",
        "and/or",
        "as",
        "at",
        "by",
        "e.g.",
        "for",
        "from",
        "i.e.",
        "in",
        "include",
        "includes",
        "including",
        "into",
        "is",
        "nor",
        "not",
        "of",
        "on",
        "or",
        "per",
        "such",
        "than",
        "that",
        "the",
        "to",
        "vs",
        "versus",
        "via",
        "which",
        "with",
        "without",
    ]
)
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "and/or",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "during",
        "e.g.",
        "for",
        "from",
        "has",
        "have",
        "i.e.",
        "in",
        "include",
        "includes",
        "including",
        "into",
        "is",
        "it",
        "its",
        "least",
        "more",
        "most",
        "no",
        "nor",
        "not",
        "of",
        "on",
        "or",
        "other",
        "over",
        "per",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "there",
        "these",
        "this",
        "those",
        "to",
        "under",
        "up",
        "use",
        "used",
        "vs",
        "was",
        "were",
        "which",
        "with",
        "within",
        "without",
        "criteria",
        "inclusion",
        "exclusion",
    ]
)
_WORD = re.compile(r"\S+")
_CAP_START = re.compile(r"^[\"'(]?(?:[A-Z][a-z]|[A-Z]{2,}\b)")


def _is_boundary(prev: str, word: str) -> bool:
    if not _CAP_START.match(word) or word.endswith(("'s", "’s")):
        return False
    if prev.lower() in _JOINERS:
        return False
    last = prev[-1]
    return last.islower() or last.isdigit() or last == ")" or bool(re.fullmatch(r"[A-Z]{2,}", prev))


#: Lower-case words and phrases that commonly begin a criterion of their own (a condition, a
#: state, a history). Cut before only as the lower-case-head rule allows (module docstring).
CRITERION_HEADS: tuple[str, ...] = (
    "breastfeeding",
    "diabetes",
    "hepatitis",
    "high and uncontrolled",
    "history of",
    "lactating",
    "lactation",
    "patients with",
    "pregnancy",
    "pregnant",
    "uncontrolled",
)
_HEAD_WORDS = tuple(tuple(h.split()) for h in CRITERION_HEADS)
#: Words a number labels (``type 2 diabetes``): the number does not end a criterion.
_LABELS = frozenset({"class", "grade", "level", "phase", "stage", "step", "type"})
_DURATION_UNIT = re.compile(r"^(?:hours?|days?|weeks?|months?|years?)$", re.IGNORECASE)
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
#: Words that complete a duration (``2 years ago``) rather than start the next item.
_DURATION_TAIL = frozenset({"ago", "old", "prior", "before", "after", "earlier", "later", "since"})


def _bare(word: str) -> str:
    return word.lower().strip(",;:.")


def _head_at(words: list[str], i: int) -> bool:
    return any(tuple(_bare(w) for w in words[i : i + len(h)]) == h for h in _HEAD_WORDS)


def _is_head_boundary(words: list[str], i: int) -> bool:
    """A lower-case criterion head at ``words[i]`` starts a new item."""
    prev = words[i - 1]
    if prev.lower() in _JOINERS or not _head_at(words, i):
        return False
    before = words[i - 2].lower() if i >= 2 else ""
    if prev[-1].isdigit():
        return before not in _LABELS
    return prev[-1].islower() and before in ("or", "and")


def _stray_before(words: list[str], i: int) -> bool:
    """``6 months plaque Mild``: one lower-case word after a duration belongs to the next item."""
    return (
        i >= 4
        and words[i - 1].isalpha()
        and words[i - 1].islower()
        and words[i - 1] not in _DURATION_TAIL
        and bool(_DURATION_UNIT.match(words[i - 2]))
        and bool(_NUMBER.match(words[i - 3]))
    )


def split_run_on(line: str) -> list[str]:
    """Cut one run-on line of criteria into items (see the module docstring for the rule)."""
    words = _WORD.findall(line)
    cuts: list[int] = []
    depth = 0
    for i, word in enumerate(words):
        if i and depth == 0:
            if _is_boundary(words[i - 1], word):
                start = cuts[-1] if cuts else 0
                # the item before keeps at least three words (``for 6 months``)
                stray = _stray_before(words, i) and i - 1 - start >= 3
                cuts.append(i - 1 if stray else i)
            elif _is_head_boundary(words, i):
                cuts.append(i)
        depth = max(0, depth + word.count("(") - word.count(")"))
    bounds = [0, *cuts, len(words)]
    items = [" ".join(words[a:b]) for a, b in itertools.pairwise(bounds)]
    return [i.strip() for i in items if i.strip()]


@dataclass(frozen=True)
class CriteriaLists:
    """Criteria items by kind, text that belongs to neither list, and the sub-group heading
    (``For adult participants``) each item is listed under, by ``(kind, index)``."""

    inclusion: list[str]
    exclusion: list[str]
    other: list[str]
    groups: dict[tuple[str, int], str] = field(default_factory=dict)


_CRITERIA = r"criteri(?:a|on)[a-z]*"
_QUALIFIER = r"key|main|major|general|specific"
_HEADINGS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"^\s*(?:{pattern})\s*(?::|\s-|$)\s*(?P<rest>.*)$", re.IGNORECASE), kind)
    for pattern, kind in (
        (
            rf"(?:{_QUALIFIER})?\s*(?:non[- ]?inclusion|exclusion)\s+{_CRITERIA}",
            "exclusion",
        ),
        (
            rf"(?:{_QUALIFIER})?\s*(?:inclusion|eligibility)\s+{_CRITERIA}",
            "inclusion",
        ),
        (
            r"(?:participants|patients|subjects|volunteers|candidates)\s+(?:must\s+not|may\s+not|"
            r"cannot|will\s+be\s+excluded\s+if|are\s+excluded\s+if)(?:\s+\w+){0,3}?(?=\s*:)",
            "exclusion",
        ),
        (
            r"(?:participants|patients|subjects|volunteers|candidates)\s+(?:must|should|need\s+to|"
            r"are\s+eligible\s+if)(?:\s+\w+){0,3}?(?=\s*:)",
            "inclusion",
        ),
        (r"(?:to\s+be\s+eligible|eligibility)(?:\s+\w+){0,3}?(?=\s*:)", "inclusion"),
        (r"exclusions?(?=\s*:)", "exclusion"),
        (r"inclusions?(?=\s*:)", "inclusion"),
    )
)
_ITEM = re.compile(
    r"^(?P<indent>\s*)(?:[*\-•·▪]|\d{1,3}[.)]|\(\d{1,3}\)|[a-z][.)])\s+(?P<text>.*\S)?\s*$"
)
_ESCAPES = re.compile(r"\\([\[\]<>&*_\\()#+\-.!~`|^])")
#: A sentence after a heading that explains the list rather than being one of its items.
_EXPLANATION = re.compile(
    r"\b(?:all|any|each|one|none)\s+of\s+the\s+following\b|\bthe\s+following\s+"
    r"(?:criteria|conditions|requirements)\b|\b(?:criteria|conditions)\s+(?:apply|below)\b|"
    r"\bmust\s+(?:meet|fulfil+|satisfy)\b|\b(?:eligible|excluded)\s+(?:if|when|to)\b|"
    r"\bapply\b.*:$",
    re.IGNORECASE,
)
#: An item of an inclusion list that is an exclusion (``Exclusion: pregnancy``).
_INLINE_EXCLUSION = re.compile(
    r"^(?:exclusions?|excluded|exclude|non[- ]?inclusion)(?:\s+criteri(?:a|on))?"
    r"\s*[:\-–]\s*(?P<rest>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)
#: A main heading inside a line (``… ; Exclusion criteria: pregnancy``): the line is cut there.
_INLINE_HEADING = re.compile(
    r"(?<=\S)(?<!\bkey)(?<!\bmain)(?<!\bmajor)(?<!\bgeneral)(?<!\bspecific)"
    rf"[ \t]*[;,.]?[ \t]+(?=(?:(?:{_QUALIFIER})\s+)?(?:non[- ]?inclusion|inclusion|exclusion)"
    rf"\s+{_CRITERIA}\s*:)",
    re.IGNORECASE,
)
#: Items that state nothing ("Age: Not specified").
_NOTHING = frozenset({"not specified", "none", "n/a", "na", "not applicable", "none specified"})
#: An inclusion item that says who is excluded (``Patients with HIV will be excluded``).
_EXCLUDED_SENTENCE = re.compile(
    r"\b(?:will|shall|would)\s+(?:be\s+excluded|not\s+be\s+(?:included|eligible|enrol+ed))\b"
    r"|\b(?:are|is)\s+(?:excluded|not\s+eligible)\b",
    re.IGNORECASE,
)
#: ``N.`` or ``N)`` where a numbered item starts inside a line.
_NUMBER_MARK = re.compile(r"(?:(?<=\s)|^)(?P<n>\d{1,2})[.)]\s+(?=\S)")


def unescape(text: str) -> str:
    """Remove the markdown escapes ClinicalTrials.gov adds (``\\<``, ``\\[``, ``\\^``)."""
    return _ESCAPES.sub(r"\1", text)


def split_numbered(line: str) -> list[str]:
    """Items numbered on one line (``1. Adults 2. Consent 3. No cancer``), cut where the next
    number of the sequence 1, 2, 3 ... starts; a line that is not such a sequence is returned
    whole. A number out of sequence (``1.73 m2``, ``grade 2. Then``) is never a cut."""
    marks = list(_NUMBER_MARK.finditer(line))
    if not marks or marks[0].start() != len(line) - len(line.lstrip()):
        return [line]
    expected, cuts = int(marks[0].group("n")), []
    for m in marks:
        if int(m.group("n")) == expected:
            cuts.append(m.start())
            expected += 1
    if len(cuts) < 2:
        return [line]
    cuts.append(len(line))
    return [line[a:b].strip() for a, b in itertools.pairwise(cuts) if line[a:b].strip()]


def _heading(line: str) -> tuple[str, str] | None:
    """``(kind, rest of the line)`` when ``line`` is a main criteria heading."""
    if _ITEM.match(line):
        return None
    for pattern, kind in _HEADINGS:
        m = pattern.match(line)
        if m:
            return kind, m.group("rest").strip()
    return None


def _group_heading(line: str) -> str | None:
    """A sub-group heading (``For adult participants:``, ``DISEASE CHARACTERISTICS:``)."""
    text = line.strip()
    if text.endswith(":") and len(text) <= 120 and not _ITEM.match(line):
        return text[:-1].strip()
    return None


def split_criteria(text: str, default: str | None = None) -> CriteriaLists:
    """Items of an eligibility text as registries write it, sub-items kept with their item.

    * Main headings: ``Inclusion Criteria:`` / ``Exclusion Criteria:`` (also ``Key``, ``Main``,
      misspelt ``Criteriar``), ``Eligibility criteria:``, ``Participants must:`` / ``must not:``,
      ``Exclusions:``; a heading may carry the first item on its line.
    * A sub-group heading inside a list (a short line ending in ``:``, such as ``For adult
      participants:``) is kept as the group of the items under it, not as a criterion.
    * A sentence right after a heading that explains the list (``... all of the following
      criteria apply:``) is not an item (it goes to ``other``).
    * Items: bullets (``*``, ``-``, ``•``), numbers (``1.``, ``1)``, ``(1)``, ``a)``), or plain
      lines; items numbered on one line are cut (:func:`split_numbered`); an indented sub-item
      is appended to its item on a new line, verbatim.
    * An item of the inclusion list written as an exclusion (``Exclusion: pregnancy``) is an
      exclusion.

    ``default`` is the kind of text before any heading (an ICTRP ``Inclusion_Criteria``
    field); without it such text goes to ``other``.
    """
    lists: dict[str, list[str]] = {"inclusion": [], "exclusion": []}
    groups: dict[tuple[str, int], str] = {}
    other: list[str] = []
    kind: str | None = default
    group: str | None = None
    base_indent: int | None = None
    base_marker = "other"
    sub_list = False
    plain = False
    fresh = default is not None  # directly after a heading: an explanation may follow

    def add(k: str, body: str, line: str | None = None) -> None:
        pieces = split_numbered(line if line is not None else body)
        pieces = [re.sub(r"^\d{1,2}[.)]\s+", "", p) for p in pieces] if len(pieces) > 1 else [body]
        for piece in pieces:
            k_piece = k
            inline = _INLINE_EXCLUSION.match(piece) if k == "inclusion" else None
            if inline:
                k_piece, piece = "exclusion", inline.group("rest").strip()
            elif k == "inclusion" and _EXCLUDED_SENTENCE.search(piece):
                k_piece = "exclusion"  # "Patients with HIV will be excluded", kept verbatim
            if piece.strip().lower().rstrip(".") in _NOTHING:
                other.append(piece)
                continue
            lists[k_piece].append(piece)
            if group:
                groups[(k_piece, len(lists[k_piece]) - 1)] = group

    for raw in _INLINE_HEADING.sub("\n", unescape(text)).splitlines():
        if not raw.strip():
            continue
        heading = _heading(raw)
        if heading:
            kind, rest = heading
            group, base_indent, plain, fresh = None, None, False, True
            if rest:
                item = _ITEM.match(rest)
                add(kind, (item.group("text") or "") if item else rest, rest)
                base_indent, plain, fresh = (None, False, False) if item else (0, True, False)
            continue
        item = _ITEM.match(raw)
        if item and kind is not None:
            body = (item.group("text") or "").strip()
            if not re.search(r"\w", body):
                body = ""  # an empty bullet ("* -") left at the end of a list
            indent = len(item.group("indent"))
            marker = "number" if raw.strip()[:1].isdigit() or raw.strip()[:1] == "(" else "other"
            if base_indent is None or plain:
                base_indent, base_marker, plain = indent, marker, False
            target = lists[kind]
            fresh = False
            if indent > base_indent and target:
                if body:
                    target[-1] += "\n" + raw.strip()
                continue
            if target and marker != base_marker and (sub_list or target[-1].endswith(":")):
                # a sub-list typed without indentation under "... all of the following:"
                sub_list = True
                if body:
                    target[-1] += "\n" + raw.strip()
                continue
            sub_list = False
            if body:
                add(kind, body, raw.strip())
            continue
        if kind is not None and lists[kind] and raw.startswith((" ", "\t")) and not plain:
            lists[kind][-1] += "\n" + raw.strip()
            continue
        sub = _group_heading(raw)
        if kind is None and sub:
            # NCI PDQ style: "DISEASE CHARACTERISTICS:" ... lists conditions to meet
            kind = "inclusion"
        if kind is not None:
            if fresh and _EXPLANATION.search(raw) and not split_numbered(raw.strip())[1:]:
                other.append(raw.strip())
                fresh = False
                continue
            if sub:
                top = group.split(": ")[0] if group else None
                if top and top.isupper() and not sub.isupper():
                    sub = f"{top}: {sub}"
                group, base_indent, plain, fresh = sub, None, True, False
                continue
            if not lists[kind] or plain or fresh:
                # a list written as plain lines, one item a line
                add(kind, raw.strip())
                base_indent, plain, fresh = 0, True, False
                continue
        other.append(raw.strip())
    return CriteriaLists(lists["inclusion"], lists["exclusion"], other, groups)


def split_ctgov_criteria(text: str) -> CriteriaLists:
    """Items of a ClinicalTrials.gov ``eligibilityCriteria`` text (see :func:`split_criteria`)."""
    return split_criteria(text)


# -- the protocol summary -------------------------------------------------------------------------

_SUMMARY_SPLIT = re.compile(
    r"(?P<inc>inclusion\s+criteria\s*:)|(?P<exc>exclusion\s+criteria\s*:)", re.IGNORECASE
)


def split_summary(text: str) -> tuple[str, str]:
    """The inclusion and exclusion parts of an IRCT summary passage (either may be empty)."""
    inc, exc = "", ""
    marks = list(_SUMMARY_SPLIT.finditer(text))
    for n, m in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(text)
        part = text[m.end() : end].strip()
        if m.group("inc"):
            inc = part
        else:
            exc = part
    return inc, exc


def _fragments(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the fragments of a summary passage: cut at top-level commas and
    semicolons, at ``/`` before a capitalised word, and at run-on item boundaries."""
    cuts: list[int] = [0]
    depth = 0
    prev = ""
    for m in _WORD.finditer(text):
        word = m.group(0)
        if depth == 0 and prev and not prev.endswith((",", ";")) and _is_boundary(prev, word):
            cuts.append(m.start())
        for k, ch in enumerate(word):
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth = max(0, depth - 1)
            elif (depth == 0 and ch in ",;") or (
                depth == 0 and ch == "/" and _CAP_START.match(word[k + 1 :])
            ):
                cuts.append(m.start() + k)
        prev = word.split("/")[-1]
    cuts.append(len(text))
    spans: list[tuple[int, int]] = []
    for a, b in itertools.pairwise(cuts):
        start = a
        while start < b and (text[start] in ",;/" or text[start].isspace()):
            start += 1
        end = b
        while end > start and (text[end - 1] in ".,;" or text[end - 1].isspace()):
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def _stems(text: str) -> set[str]:
    out: set[str] = set()
    for w in re.findall(r"[A-Za-z][A-Za-z']+", text.lower()):
        w = w.removesuffix("'s")
        if w in _STOP or len(w) < 3:
            continue
        w = w.rstrip("s") if len(w) > 4 else w
        out.add(w[:5])
    return out


def match_passages(summary: str, criteria: list[str]) -> tuple[dict[int, list[str]], list[str]]:
    """Give each fragment of ``summary`` to the criterion sharing most of its (rarer) words.

    A shared word counts 1/df, df being how many of ``criteria`` contain it; a fragment goes to
    the single best-scoring criterion, and fragments given to the same criterion one after
    another are joined back into one verbatim passage. Returns passages by criterion index and
    the fragments that matched no criterion (none shared, or a tie).
    """
    stems = [_stems(c) for c in criteria]
    df: Counter[str] = Counter(s for st in stems for s in st)
    matched: dict[int, list[str]] = {}
    unmatched: list[str] = []
    last_index: int | None = None
    last_span: tuple[int, int] | None = None
    for start, end in _fragments(summary):
        frag = summary[start:end]
        fs = _stems(frag)
        scores = [sum(1 / df[s] for s in fs & st) for st in stems]
        best = max(scores, default=0.0)
        winners = [n for n, sc in enumerate(scores) if sc == best]
        if best <= 0 or len(winners) != 1:
            unmatched.append(frag)
            last_index, last_span = None, None
            continue
        n = winners[0]
        if n == last_index and last_span is not None:
            last_span = (last_span[0], end)
            matched[n][-1] = summary[last_span[0] : last_span[1]]
        else:
            last_span = (start, end)
            matched.setdefault(n, []).append(frag)
        last_index = n
    return matched, unmatched
