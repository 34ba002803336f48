"""Map WHO ICTRP records (and IRCT's XML export, which uses ICTRP's schema) to draft studies.

Three shapes carry the same ICTRP fields, and :func:`ictrp_records` reads each into one flat
:class:`IctrpRecord` (field names lower-cased, every value text):

* the ICTRP search-portal export ``<Trials_downloaded_from_ICTRP><Trial>`` (``TrialID``,
  ``Public_title``, ``Inclusion_Criteria`` ... with ``<br>`` line breaks escaped inside);
* the data-provider XML a primary registry sends to WHO, ``<trials><trial><main>`` with
  ``<criteria>``, ``<contacts>``, ``<countries>``, ``<secondary_ids>``; IRCT's own export
  (``irct.ir/trial/{n}/xml``) is this schema, told apart by its ``IRCT…`` id;
* ICTRP-style study JSON (``sd_sid``, ``public_title``, ``design_string``, ``agemin`` +
  ``agemin_units`` ...), the shape in which many IRCT records circulate.

:func:`parse_ictrp` then maps the fields to a draft. ICTRP has no arm structure: arms are read
from the intervention text only where it names them (``Experimental: X`` blocks,
``Intervention 1: …``, ``Group I. …``); the text is otherwise reported.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from xml.etree.ElementTree import Element

from trialkit.errors import ImportFailed
from trialkit.protocol import DoseRule
from trialkit.registry.criteria_text import split_criteria, split_run_on
from trialkit.registry.detect import local_name
from trialkit.registry.doses import find_doses, find_product, find_route
from trialkit.registry.draft import Draft, DraftCriterion, slug
from trialkit.registry.result import FORMAT_NAMES, ImportResult, SourceFormat

__all__ = ["IctrpRecord", "ictrp_records", "parse_ictrp"]


@dataclass
class IctrpRecord:
    """One ICTRP record: its fields as text, and the name of each field in the source."""

    format: SourceFormat
    where: str
    fields: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    @property
    def record_id(self) -> str:
        return self.get("trialid", "trial_id", "sd_sid", "trial_id_main") or self.where

    def get(self, *keys: str) -> str | None:
        for key in keys:
            value = self.fields.get(key)
            if value is not None and not _absent(value):
                return value
        return None

    def name(self, *keys: str) -> str:
        """The source's name of the first of ``keys`` it has (for messages)."""
        for key in keys:
            if key in self.names:
                return self.names[key]
        return keys[0]


_PLACEHOLDERS = frozenset(
    {"", "n.a.", "n.a", "na", "n/a", "nil", "nil known", "none", "not applicable", "-", "null"}
)


def _absent(value: str) -> bool:
    return value.strip().lower() in _PLACEHOLDERS


def _clean(text: str) -> str:
    """Field text with its markup undone: ``<br>`` -> new line, entities decoded, CRs dropped."""
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)
    text = html.unescape(text).replace("\r", "")
    lines = [ln.strip() for ln in text.split("\n")]
    return "\n".join(lines).strip()


def _scalar(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    return None


# -- reading the three shapes ---------------------------------------------------------------------


def _from_portal(trial: Element, where: str) -> IctrpRecord:
    rec = IctrpRecord(SourceFormat.ICTRP_XML, where)
    for leaf in trial:
        name = local_name(leaf.tag)
        if len(leaf):
            continue
        rec.fields[name.lower()] = _clean("".join(leaf.itertext()))
        rec.names[name.lower()] = f"<{name}>"
    return rec


def _from_provider(trial: Element, fmt: SourceFormat, where: str) -> IctrpRecord:
    rec = IctrpRecord(fmt, where)
    for part in trial:
        part_name = local_name(part.tag)
        leaves = list(part)
        if not leaves:
            rec.fields[part_name.lower()] = _clean(part.text or "")
            rec.names[part_name.lower()] = f"<{part_name}>"
            continue
        if part_name in ("main", "criteria"):
            for leaf in leaves:
                name = local_name(leaf.tag).lower()
                rec.fields[name] = _clean("".join(leaf.itertext()))
                rec.names[name] = f"<{part_name}/{local_name(leaf.tag)}>"
            continue
        rows: list[dict[str, str]] = []
        for child in leaves:
            if len(child):
                rows.append(
                    {local_name(g.tag).lower(): _clean("".join(g.itertext())) for g in child}
                )
            else:
                rows.append({local_name(child.tag).lower(): _clean("".join(child.itertext()))})
        rec.lists[part_name.lower()] = rows
        rec.names[part_name.lower()] = f"<{part_name}>"
    if "trial_id" in rec.fields:
        rec.names.setdefault("trial_id", "<main/trial_id>")
    return rec


def _from_json(obj: dict[str, Any], where: str) -> IctrpRecord:
    rec = IctrpRecord(SourceFormat.ICTRP_JSON, where)
    for key, value in obj.items():
        k = str(key).lower()
        text = _scalar(value)
        if text is not None:
            rec.fields[k] = _clean(text)
            rec.names[k] = f"{where + '.' if where else ''}{key}"
        elif isinstance(value, list):
            rows = []
            for v in value:
                if isinstance(v, dict):
                    rows.append(
                        {str(a).lower(): _clean(t) for a, b in v.items() if (t := _scalar(b))}
                    )
                elif (t := _scalar(v)) is not None:
                    rows.append({"value": _clean(t)})
            rec.lists[k] = rows
            rec.names[k] = f"{where + '.' if where else ''}{key}"
    if rec.record_id.upper().startswith("IRCT"):
        rec.fields.setdefault("source_register", "IRCT")
    return rec


def ictrp_records(fmt: SourceFormat, payload: Any, source: str) -> Iterator[IctrpRecord]:
    """The records of an ICTRP-shaped document (parsed XML element or JSON)."""
    if fmt is SourceFormat.ICTRP_XML:
        root: Element = payload
        trials = [root] if local_name(root.tag) == "Trial" else list(root)
        for n, trial in enumerate(t for t in trials if local_name(t.tag) == "Trial"):
            yield _from_portal(trial, f"<Trial> {n + 1}")
    elif fmt in (SourceFormat.ICTRP_PROVIDER_XML, SourceFormat.IRCT_XML):
        root = payload
        trials = [root] if local_name(root.tag) == "trial" else list(root)
        for n, trial in enumerate(t for t in trials if local_name(t.tag) == "trial"):
            yield _from_provider(trial, fmt, f"<trial> {n + 1}")
    else:
        items = payload if isinstance(payload, list) else [payload]
        for n, obj in enumerate(items):
            if isinstance(obj, dict):
                yield _from_json(obj, f"[{n}]" if isinstance(payload, list) else "")
            else:
                raise ImportFailed(
                    f"{source}: {FORMAT_NAMES[fmt]}, element [{n}]: expected an object, found "
                    f"{type(obj).__name__}",
                    code="IMPORT.E040",
                    hint="download the records again, unchanged",
                )


# -- values ---------------------------------------------------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%d %B %Y", "%B %d, %Y", "%d-%m-%Y", "%Y/%m/%d")


def _date(rec: IctrpRecord, draft: Draft, *keys: str) -> dict[str, date] | None:
    text = rec.get(*keys)
    if text is None:
        return None
    value = text.strip()[:10] if re.match(r"\d{4}-\d{2}-\d{2}T", text.strip()) else text.strip()
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        if parsed.year <= 1900:
            draft.unmapped.append(f"{rec.name(*keys)}: {text!r} is a placeholder, not a date")
            return None
        return {"gregorian": parsed}
    draft.unmapped.append(f"{rec.name(*keys)}: {text!r} is not a date the importer reads")
    return None


_ROMAN = {
    "i": "1",
    "ii": "2",
    "iii": "3",
    "iv": "4",
    "0": "0",
    "1": "1",
    "2": "2",
    "3": "3",
    "4": "4",
}
_PHASE_TOKEN = re.compile(r"(?:phase|fase)[\s_-]*(iv|iii|ii|i|[0-4])\b", re.IGNORECASE)
_BARE_PHASE = re.compile(
    r"^\s*(iv|iii|ii|i|[0-4])(?:\s*(?:[-/]|and|to)\s*(iv|iii|ii|i|[0-4]))?\s*$", re.I
)


def _phase(text: str | None) -> str:
    """``3``, ``III``, ``Phase 2/Phase 3``, EU CTR's yes/no list -> ``3``, ``2-3``; else N/A."""
    if text is None:
        return "N/A"
    lines = text.splitlines()
    if any(re.search(r":\s*(yes|no)\s*$", ln, re.I) for ln in lines):
        text = "\n".join(ln for ln in lines if re.search(r":\s*yes\s*$", ln, re.I))
    found = [_ROMAN[m.lower()] for m in _PHASE_TOKEN.findall(text)]
    bare = _BARE_PHASE.match(text)
    if not found and bare:
        found = [_ROMAN[g.lower()] for g in bare.groups() if g]
    return "-".join(sorted(set(found))) or "N/A"


def _age(rec: IctrpRecord, draft: Draft, key: str) -> int | None:
    text = rec.get(key, f"inclusion_{key}")
    if text is None:
        return None
    units = (rec.get(f"{key}_units") or "").lower()
    m = re.search(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text.lower())
    if m is None:
        if not re.search(r"no\s+limit", text, re.I):
            draft.unmapped.append(f"{rec.name(key, f'inclusion_{key}')}: age {text!r} not read")
        return None
    unit = m.group(2) or units or "year"
    n = float(m.group(1))
    if unit.startswith(("y", "age", "a")):
        return int(n)
    if unit.startswith("m"):
        return int(n // 12)
    if unit.startswith(("w", "d", "h")):
        return 0
    draft.unmapped.append(f"{rec.name(key, f'inclusion_{key}')}: age unit of {text!r} not read")
    return int(n)


def _sex(rec: IctrpRecord, draft: Draft) -> str:
    text = (rec.get("gender", "inclusion_gender") or "").lower()
    if not text:
        return "all"
    pairs = dict(re.findall(r"(female|male)\s*:\s*(yes|no)", text))
    if pairs:
        f, m = pairs.get("female") == "yes", pairs.get("male") == "yes"
        return "all" if f == m else "female" if f else "male"
    if re.search(r"\b(both|all|any)\b|female.*\bmale\b|\bmale.*female|women.*\bmen\b", text):
        return "all"
    if re.search(r"female|women|woman", text):
        return "female"
    if re.search(r"\bmale|\bmen\b|\bman\b", text):
        return "male"
    draft.unmapped.append(f"{rec.name('gender', 'inclusion_gender')}: {text!r} read as all")
    return "all"


def _pairs(text: str) -> dict[str, str]:
    """``Key: value`` pairs of a design string (IRCT ``Randomization: Randomized, Blinding: …``,
    RPCEC ``Allocation: …. Masking: Open.``, EU CTR ``Randomised: yes Open: yes``)."""
    out: dict[str, str] = {}
    for m in re.finditer(
        r"(?P<k>[A-Za-z][A-Za-z /()-]{1,40}?)\s*:\s*(?P<v>[^:,.;]*?)"
        r"(?=\s*(?:[,.;]|$|\s[A-Z][A-Za-z /()-]{1,40}?:))",
        text,
    ):
        out[m.group("k").strip().lower()] = m.group("v").strip().lower()
    return out


def _design(rec: IctrpRecord, draft: Draft, target: int) -> dict[str, Any]:
    text = rec.get("study_design", "design_string") or ""
    low = text.lower()
    pairs = _pairs(text)
    features = {
        (r.get("ftype") or "").lower(): (r.get("fvalue") or "").lower()
        for r in rec.lists.get("study_features", [])
    }
    alloc_text = (
        features.get("allocation type")
        or pairs.get("randomization")
        or pairs.get("randomisation")
        or pairs.get("allocation")
        or ("randomised" if pairs.get("randomised") == "yes" else "")
        or low
    )
    if re.search(r"non[- ]?random|not random|randomised: no|randomized: no", alloc_text):
        allocation = "non_randomised"
    elif "random" in alloc_text:
        allocation = "randomised"
    else:
        allocation = "not_applicable"
        draft.unmapped.append(f"{rec.name('study_design', 'design_string')}: allocation not stated")
    mask_text = features.get("masking") or pairs.get("blinding") or pairs.get("masking") or low
    level = "none"
    if pairs.get("double blind") == "yes":
        level = "double"
    elif pairs.get("single blind") == "yes":
        level = "single"
    elif pairs.get("open") == "yes":
        level = "none"
    else:
        level = next(
            (
                lv
                for lv in ("quadruple", "triple", "double", "single")
                if re.search(rf"\b{lv}\b", mask_text)
            ),
            "none",
        )
    model_text = features.get("intervention model") or pairs.get("assignment") or low
    if pairs.get("cross over") == "yes" or re.search(r"cross[- ]?over", model_text):
        model = "crossover"
    elif pairs.get("parallel group") == "yes" or "parallel" in model_text:
        model = "parallel"
    elif "factorial" in model_text:
        model = "factorial"
    elif re.search(r"single[- ](?:group|arm)", model_text):
        model = "single_group"
    elif "sequential" in model_text:
        model = "sequential"
    else:
        model = "single_group" if len(draft.arms) <= 1 else "parallel"
        draft.assume("design", f"intervention model taken as {model} from the number of arms")
    placebo_text = pairs.get("placebo")
    placebo = (
        placebo_text in ("used", "yes")
        if placebo_text is not None
        else "placebo" in low
        or "placebo" in (rec.get("intervention", "interventions") or "").lower()
    )
    return {
        "allocation": allocation,
        "intervention_model": model,
        "masking": {"level": level, "placebo": placebo},
        "sample_size": {"target": target},
        "age": {"minimum": _age(rec, draft, "agemin"), "maximum": _age(rec, draft, "agemax")},
        "sex": _sex(rec, draft),
        "description": text or None,
    }


def _target(rec: IctrpRecord, draft: Draft) -> int:
    keys = ("target_size", "results_actual_enrollment")
    text = rec.get(*keys)
    name = rec.name(*keys)
    if text is None:
        raise ImportFailed(
            f"{FORMAT_NAMES[rec.format]} {rec.record_id}, field {name}: the record states no "
            "target sample size, which a draft study needs",
            code="IMPORT.E041",
            hint=f"add the target sample size to {name} (the registry page states it)",
        )
    plain = text.replace(",", "").strip()
    if plain.isdigit() and int(plain) >= 1:
        return int(plain)
    numbers = [int(n) for n in re.findall(r"\d+", plain)]
    if not numbers or max(numbers) < 1:
        raise ImportFailed(
            f"{FORMAT_NAMES[rec.format]} {rec.record_id}, field {name}: {text!r} is not a sample "
            "size",
            code="IMPORT.E041",
            hint=f"give the target sample size in {name} as a whole number",
        )
    draft.assume("sample size", f"target read as {max(numbers)} from {name} {text!r}")
    return max(numbers)


# -- arms from free text --------------------------------------------------------------------------

_ARM_TYPES = {
    "experimental": "experimental",
    "active comparator": "active_comparator",
    "placebo comparator": "placebo_comparator",
    "sham comparator": "other",
    "no intervention": "no_intervention",
    "other": "other",
}
_TYPED_BLOCK = re.compile(
    r"^(?P<type>Experimental|Active Comparator|Placebo Comparator|Sham Comparator|"
    r"No Intervention|Other)\s*:\s*(?P<label>.+)$",
    re.IGNORECASE | re.MULTILINE,
)
_NUMBERED_GROUP = re.compile(
    r"(?:^|(?<=[\s.;]))(?P<head>(?:Intervention|Group|Arm)\s+(?:\d{1,2}|[IVX]{1,4}|[A-H])\b\s*[.:])",
    re.IGNORECASE,
)


def _arm_blocks(text: str) -> list[tuple[str | None, str, str]]:
    """``(type, label, description)`` of each arm the intervention text names."""
    out: list[tuple[str | None, str, str]] = []
    typed = list(_TYPED_BLOCK.finditer(text))
    if typed:
        for n, m in enumerate(typed):
            end = typed[n + 1].start() if n + 1 < len(typed) else len(text)
            desc = text[m.end() : end].strip()
            out.append((_ARM_TYPES[m.group("type").lower()], m.group("label").strip(), desc))
        return out
    heads: list[re.Match[str]] = []
    for m in _NUMBERED_GROUP.finditer(text):
        # "Intervention 1: Group 1: …" is one arm, its label in two parts
        if heads and not text[heads[-1].end() : m.start()].strip():
            continue
        heads.append(m)
    if len(heads) >= 2 or (heads and not text[: heads[0].start()].strip()):
        for n, m in enumerate(heads):
            end = heads[n + 1].start() if n + 1 < len(heads) else len(text)
            body = text[m.end() : end].strip()
            # the keywords ICTRP appends after the last group (";Radiotherapy;Cisplatin")
            if n + 1 == len(heads) and ";" in body:
                body = body.split(";", 1)[0].strip()
            label_m = re.match(r"^([^:.\n]{1,60}?)\s*[:.]\s", body)
            label = m.group("head").rstrip(".: ")
            if label_m:
                label = f"{label}: {label_m.group(1).strip()}"
            out.append((None, label, body))
        return out
    return []


def _arms(rec: IctrpRecord, draft: Draft) -> None:
    keys = ("intervention", "interventions", "i_freetext")
    text = rec.get(*keys)
    if text is None:
        keywords = [r.get("i_keyword") or "" for r in rec.lists.get("intervention_keyword", [])]
        text = "; ".join(k for k in keywords if k) or None
    if text is None:
        draft.unmapped.append(
            f"{rec.name(*keys)}: the record names no intervention; add the arms (study check: "
            "STUDY.E002)"
        )
        return
    blocks = _arm_blocks(text)
    if not blocks:
        draft.unmapped.append(
            f"{rec.name(*keys)}: the interventions are free text without named arms, so no arm "
            f"was made; add the arms from it: {text}"
        )
        return
    for n, (arm_type, label, desc) in enumerate(blocks, start=1):
        low = f"{label} {desc}".lower()
        if arm_type is None:
            arm_type = (
                "placebo_comparator"
                if "placebo" in low
                else "no_intervention"
                if re.search(r"\bno (?:intervention|treatment)\b", low)
                else "other"
                if re.search(r"\bcontrol\b", low)
                else "experimental"
            )
            draft.assume("arms", "ICTRP states no arm type; each was read from its text")
        interventions = []
        if arm_type != "no_intervention":
            product = find_product(label.split(":")[-1].strip() or label, desc or label)
            doses = find_doses(desc)
            route = find_route(desc) or find_route(label)
            if not doses and product.kind != "device":
                draft.unmapped.append(f"arm {label!r}: no dose could be read; add it")
            if route is None and product.kind != "device":
                draft.unmapped.append(f"arm {label!r}: route of administration not stated")
            stated: list[tuple[str | None, DoseRule | None]] = [*doses] or [(None, None)]
            for k, (phase, dose) in enumerate(stated, start=1):
                interventions.append(
                    {
                        "id": f"A{n}-IV{k}",
                        "name": product.name + (f" ({phase})" if phase else ""),
                        "product": product,
                        "route": route[0] if route else "other",
                        "site": route[1] if route else None,
                        "dose": dose,
                    }
                )
        draft.arms.append(
            {
                "id": f"A{n}",
                "name": label,
                "type": arm_type,
                "description": desc or None,
                "interventions": interventions,
            }
        )


# -- criteria and outcomes ------------------------------------------------------------------------

_EUCTR_AGE_FORM = re.compile(
    r"^(?:Are the trial subjects under 18\?|Number of subjects for this age range|F\.\d)", re.I
)


def _criteria(rec: IctrpRecord, draft: Draft) -> None:
    for keys, kind in (
        (("inclusion_criteria",), "inclusion"),
        (("exclusion_criteria",), "exclusion"),
    ):
        text = rec.get(*keys)
        if text is None:
            continue
        kept = []
        for line in text.splitlines():
            if _EUCTR_AGE_FORM.match(line.strip()):
                draft.unmapped.append(f"{rec.name(*keys)}: age-range form field {line.strip()!r}")
            else:
                kept.append(line)
        lists = split_criteria("\n".join(kept), default=kind)
        for k in ("inclusion", "exclusion"):
            items: list[str] = getattr(lists, k)
            if len(items) == 1 and "\n" not in items[0]:
                # a list typed as one line: cut at semicolons, or (IRCT) at its item starts
                items = _one_line(items[0], irct=rec.record_id.upper().startswith("IRCT"))
            for n, t in enumerate(items):
                group = lists.groups.get((k, 0 if len(items) != len(getattr(lists, k)) else n))
                draft.criteria.append(DraftCriterion(k, t, group=group))
        for t in lists.other:
            draft.unmapped.append(f"{rec.name(*keys)}: text outside the criteria lists: {t!r}")


def _one_line(text: str, *, irct: bool) -> list[str]:
    """Items of a criteria list typed as one line: cut at top-level semicolons; an IRCT list
    without them is cut as the IRCT importer cuts it (:func:`split_run_on`)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")" and depth > 0
        if ch == ";" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    items = [p.strip(" ;.") for p in parts if p.strip(" ;.")]
    if len(items) == 1 and irct:
        items = split_run_on(items[0])
    return items or [text]


_TIMEPOINT = re.compile(
    r"(?:measuring time|time ?points?(?:\(s\))?(?: of evaluation of this end ?point)?|"
    r"time ?frame)\s*:\s*(?P<t>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_SECTION = re.compile(r";\s*(?=[A-Z][A-Za-z() ]{3,60}:)")


def _outcome_items(text: str) -> tuple[list[str], str | None, str | None]:
    """The outcome items of an outcome field, the timepoint text and an objective (EU CTR)."""
    timepoint: str | None = None
    objective: str | None = None
    parts = []
    for section in _SECTION.split(text):
        label, _, rest = section.partition(":")
        lab = label.strip().lower()
        if lab in ("main objective", "secondary objective"):
            objective = objective or (rest.strip() if lab == "main objective" else None)
            continue
        if lab.startswith(("timepoint", "time point")):
            timepoint = rest.strip()
            continue
        if lab in ("primary end point(s)", "secondary end point(s)"):
            section = rest.strip()
        parts.append(section)
    items: list[str] = []
    bullet_re = re.compile(r"^(?:[-•*]|\d{1,2}[.)])\s+(.*)$")
    for part in parts:
        tm = _TIMEPOINT.search(part)
        if tm:
            timepoint = timepoint or tm.group("t").strip().rstrip(".")
            part = part[: tm.start()].strip()
        lines = [ln.strip() for ln in part.splitlines() if ln.strip()]
        heading: str | None = None
        for n, line in enumerate(lines):
            bullet = bullet_re.match(line)
            if bullet:
                items.append(f"{heading}: {bullet.group(1)}" if heading else bullet.group(1))
            elif (
                n + 1 < len(lines)
                and bullet_re.match(lines[n + 1])
                and not line.lower().startswith("note")
            ):
                # "Final Analysis Co-Primary Efficacy Endpoints" over a list: its heading
                heading = line.rstrip(": ")
            elif items:
                items[-1] += "\n" + line
            else:
                items.append(line)
    return [i.strip(" ;") for i in items if i.strip(" ;")], timepoint, objective


def _outcomes(rec: IctrpRecord, draft: Draft) -> None:
    for keys, kind, prefix in (
        (("primary_outcome", "prim_outcome"), "primary", "P"),
        (("secondary_outcome", "secondary_outcomes", "sec_outcome"), "secondary", "S"),
    ):
        text = rec.get(*keys)
        if text is None:
            rows = rec.lists.get(keys[0], [])
            text = "\n".join(f"- {v}" for r in rows for v in r.values() if v) or None
        if text is None:
            continue
        irct = _irct_outcomes(text)
        if irct:
            for n, (item, timepoint, method) in enumerate(irct, start=1):
                draft.outcomes.append(
                    {
                        "id": f"{prefix}{n}",
                        "kind": kind,
                        "description": item,
                        "timepoint": timepoint,
                        "method": method,
                    }
                )
            continue
        items, timepoint, objective = _outcome_items(text)
        if objective and not draft.identity.get("aim"):
            draft.identity["aim"] = objective
        for n, item in enumerate(items, start=1):
            draft.outcomes.append(
                {"id": f"{prefix}{n}", "kind": kind, "description": item, "timepoint": timepoint}
            )


_IRCT_OUTCOME = re.compile(
    r"^(?P<d>.+?)\.?\s*Time ?points?\s*:\s*(?P<t>.*?)"
    r"(?:\.?\s*Method of measurement\s*:\s*(?P<m>.*?))?[.\s]*$",
    re.IGNORECASE | re.DOTALL,
)


def _irct_outcomes(text: str) -> list[tuple[str, str | None, str | None]]:
    """IRCT's outcomes as ICTRP carries them: ``Pain. Timepoint: week 4. Method of
    measurement: VAS; Quality of life. Timepoint: …`` -> (outcome, timepoint, method) each."""
    if not re.search(r"method of measurement\s*:", text, re.I) and (
        len(re.findall(r"\btime ?points?\s*:", text, re.I)) < 2
    ):
        return []
    out = []
    for part in re.split(r";\s*(?=[^;]*\btime ?points?\s*:)", text, flags=re.I):
        m = _IRCT_OUTCOME.match(part.strip())
        if m is None:
            return []
        out.append(
            (
                m.group("d").strip(),
                m.group("t").strip() or None,
                (m.group("m") or "").strip() or None,
            )
        )
    return out


# -- identity ---------------------------------------------------------------------------------

_REGISTRIES = (
    ("IRCT", "IRCT"),
    ("NCT", "ClinicalTrials.gov"),
    ("EUCTR", "EU Clinical Trials Register"),
    ("CTIS", "CTIS"),
    ("JPRN", "JPRN"),
    ("ISRCTN", "ISRCTN"),
    ("ACTRN", "ANZCTR"),
    ("CHICTR", "ChiCTR"),
    ("CTRI", "CTRI"),
    ("DRKS", "DRKS"),
    ("KCT", "CRiS"),
    ("PACTR", "PACTR"),
    ("RPCEC", "RPCEC"),
    ("PER", "REPEC"),
    ("TCTR", "TCTR"),
    ("NL", "Netherlands Trial Register"),
    ("RBR", "ReBec"),
    ("SLCTR", "SLCTR"),
    ("LBCTR", "LBCTR"),
    ("ITMCTR", "ITMCTR"),
)


def _registry(rec: IctrpRecord, trial_id: str) -> str:
    stated = rec.get("source_register", "reg_name", "db_name")
    if stated:
        return stated.upper() if stated.lower() in ("irct", "rpcec", "repec") else stated
    upper = trial_id.upper()
    return next((name for prefix, name in _REGISTRIES if upper.startswith(prefix)), "registry")


_ICD10 = re.compile(r"^([A-Z][0-9]{2})\.?([0-9A-Z]{1,4})?$")


def _icd10(code: str | None) -> str | None:
    if not code:
        return None
    m = _ICD10.match(code.strip().lstrip("-").upper())
    if not m:
        return None
    return m.group(1) + (f".{m.group(2)}" if m.group(2) else "")


def _conditions(rec: IctrpRecord, draft: Draft) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in rec.lists.get("condition_list", []):
        name = row.get("condition")
        if name:
            system = (row.get("code_system") or "").lower()
            out.append(
                {"name": name, "icd10": _icd10(row.get("code")) if "icd" in system else None}
            )
    if out:
        return out
    codes = [r.get("hc_code") for r in rec.lists.get("health_condition_code", [])]
    words = [r.get("hc_keyword") for r in rec.lists.get("health_condition_keyword", [])]
    for n, word in enumerate(words):
        if word:
            code = codes[n] if n < len(codes) else None
            out.append({"name": word, "icd10": _icd10(code)})
    if out:
        return out
    text = rec.get("condition", "hc_freetext")
    if text is None:
        return out
    for piece in re.split(r"[;\n]", text):
        piece = piece.strip()
        if not piece:
            continue
        if re.match(
            r"^(?:MedDRA|Level|Classification code|Term|System Organ Class|"
            r"Therapeutic area)\b",
            piece,
            re.I,
        ):
            draft.unmapped.append(f"{rec.name('condition', 'hc_freetext')}: {piece}")
            continue
        code_m = re.match(r"^-?([A-Z][0-9]{2}\.?[0-9A-Z]{0,4})\s+(.+)$", piece)
        if code_m and _icd10(code_m.group(1)):
            out.append({"name": code_m.group(2), "icd10": _icd10(code_m.group(1))})
        else:
            out.append({"name": piece})
    return out


def _contacts(rec: IctrpRecord) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    first, last = rec.get("contact_firstname"), rec.get("contact_lastname")
    if first or last or rec.get("contact_email"):
        out.append(
            {
                "role": "general",
                "name": " ".join(x for x in (first, last) if x) or None,
                "organisation": rec.get("contact_affiliation"),
                "address": rec.get("contact_address"),
                "email": rec.get("contact_email"),
                "phone": rec.get("contact_tel"),
            }
        )
    for prefix, role in (("public_contact", "general"), ("scientific_contact", "scientific")):
        given, family = rec.get(f"{prefix}_givenname"), rec.get(f"{prefix}_familyname")
        if given or family or rec.get(f"{prefix}_email"):
            out.append(
                {
                    "role": role,
                    "name": " ".join(x for x in (given, family) if x) or None,
                    "organisation": rec.get(f"{prefix}_affiliation"),
                    "email": rec.get(f"{prefix}_email"),
                }
            )
    for row in rec.lists.get("contacts", []):
        name = " ".join(
            x for x in (row.get("firstname"), row.get("middlename"), row.get("lastname")) if x
        )
        if not (name or row.get("email") or row.get("telephone")):
            continue
        kind = (row.get("type") or "").lower()
        out.append(
            {
                "role": "scientific" if kind.startswith("scien") else "general",
                "name": name or None,
                "organisation": row.get("affiliation"),
                "address": row.get("address"),
                "city": row.get("city"),
                "country": row.get("country1"),
                "postal_code": row.get("zip"),
                "phone": row.get("telephone"),
                "email": row.get("email"),
            }
        )
    return out


def _secondary_ids(rec: IctrpRecord) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in rec.lists.get("secondary_ids", []):
        sid = row.get("sec_id") or row.get("processed_id") or row.get("value")
        if sid and not _absent(sid):
            out.append(
                {
                    "registry": row.get("issuing_authority")
                    or row.get("sec_id_source")
                    or "secondary",
                    "id": sid,
                }
            )
    text = rec.get("secondary_id", "secondary_ids")
    if text:
        for sid in re.split(r"[;\n]", text):
            if sid.strip() and not _absent(sid):
                out.append({"registry": "secondary", "id": sid.strip()})
    return out


def _sponsors(rec: IctrpRecord) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    primary = rec.get("primary_sponsor")
    if primary:
        out.append({"name": primary.rstrip(", ")})
    for text in (rec.get("secondary_sponsor", "secondary_sponsors"),):
        for name in re.split(r"[;\n]", text or ""):
            if name.strip() and not _absent(name):
                out.append({"name": name.strip()})
    for row in rec.lists.get("secondary_sponsor", []):
        name = row.get("sponsor_name")
        if name:
            out.append({"name": name})
    support = rec.get("source_support") or next(
        (r.get("source_name") for r in rec.lists.get("source_support", []) if r.get("source_name")),
        None,
    )
    if support:
        if out:
            out[0]["funding_source"] = support
        else:
            out.append({"name": support, "funding_source": support})
    return out


def parse_ictrp(rec: IctrpRecord, *, source: str = "<ICTRP record>") -> ImportResult:
    """A draft study from one ICTRP record (or IRCT XML export)."""
    trial_id = rec.get("trialid", "trial_id", "sd_sid")
    name = FORMAT_NAMES[rec.format]
    if trial_id is None:
        raise ImportFailed(
            f"{source}: {name} {rec.where or ''}: the record has no trial id "
            f"({rec.name('trialid', 'trial_id', 'sd_sid')})".replace("  ", " "),
            code="IMPORT.E041",
            hint="export the record again from the registry, unchanged",
        )
    study_type_text = rec.get("study_type") or ""
    low_type = study_type_text.lower()
    if "interventional" in low_type or not low_type:
        study_type = "interventional"
    elif "observational" in low_type:
        study_type = "observational"
    else:
        raise ImportFailed(
            f"{source}: {trial_id} is a study of type {study_type_text!r} "
            f"({rec.name('study_type')}); trialkit drafts interventional and observational "
            "studies only",
            code="IMPORT.E032",
            hint="import an interventional or observational record",
        )
    draft = Draft(
        source_format=rec.format,
        study_id=slug(rec.get("acronym", "scientific_acronym") or trial_id),
        identity={},
        design={},
    )
    if not low_type:
        draft.unmapped.append(f"{rec.name('study_type')}: not stated; taken as interventional")
    title = rec.get("scientific_title") or rec.get("public_title")
    if title is None:
        raise ImportFailed(
            f"{source}: {name} {trial_id}: the record has no title "
            f"({rec.name('scientific_title')})",
            code="IMPORT.E041",
            hint="export the record again from the registry, unchanged",
        )
    registrations: list[dict[str, Any]] = [
        {
            "registry": _registry(rec, trial_id),
            "id": trial_id,
            "registered": _date(rec, draft, "date_registration", "date_registration3"),
            "last_update": _date(rec, draft, "last_refreshed_on", "record_date"),
            "timing": (
                "retrospective"
                if (rec.get("retrospective_flag") or "").lower() in ("yes", "1", "true")
                else None
            ),
        }
    ]
    seen = {trial_id.upper()}
    for sec in _secondary_ids(rec):
        if sec["id"].upper() not in seen:
            seen.add(sec["id"].upper())
            registrations.append(sec)
    status = rec.get("recruitment_status", "study_status")
    start = _date(rec, draft, "date_enrollement", "date_enrolment")
    actual = (rec.get("type_enrolment") or "").lower() == "actual"
    countries = [r.get("country2") or r.get("value") for r in rec.lists.get("countries", [])]
    countries += [r.get("value") for r in rec.lists.get("country_list", [])]
    countries += (rec.get("countries") or "").split(";")
    unique = list(dict.fromkeys(c.strip() for c in countries if c and c.strip()))
    if unique:
        draft.unmapped.append(f"countries: {', '.join(unique)} (no field for them)")
    draft.identity = {
        "registrations": registrations,
        "scientific_title": title,
        "public_title": rec.get("public_title"),
        "acronym": rec.get("acronym", "scientific_acronym"),
        "phase": _phase(rec.get("phase", "phase_string")),
        "study_type": study_type,
        "purpose": next(
            (
                (r.get("fvalue") or "").capitalize()
                for r in rec.lists.get("study_features", [])
                if (r.get("ftype") or "").lower() == "primary purpose"
            ),
            None,
        )
        or _pairs(rec.get("study_design", "design_string") or "").get("purpose", "").capitalize()
        or None,
        "conditions": _conditions(rec, draft),
        "sponsors": _sponsors(rec),
        "contacts": _contacts(rec),
        "recruitment": {
            "status": status,
            "actual_start" if actual else "expected_start": start,
        },
    }
    ipd = rec.get("ipd_plan")
    if ipd:
        draft.identity["sharing"] = {
            "ipd": "yes"
            if ipd.lower().startswith("yes")
            else "no"
            if ipd.lower().startswith("no")
            else "undecided",
            "details": rec.get("ipd_description"),
        }
    url = rec.get("web_address", "url", "remote_url")
    if url:
        draft.unmapped.append(f"{rec.name('web_address', 'url', 'remote_url')}: {url}")
    _arms(rec, draft)
    target = _target(rec, draft)
    draft.design = _design(rec, draft, target)
    _criteria(rec, draft)
    _outcomes(rec, draft)
    for key in (
        "ethics_review_status",
        "ethics_review_contact_address",
        "ethics_review_approval_date",
    ):
        value = rec.get(key)
        if value:
            draft.unmapped.append(f"{rec.name(key)}: {value}")
    if any(k.startswith("results_") and rec.get(k) for k in rec.fields):
        draft.unmapped.append("results: the record's results fields are not imported")
    return draft.build(source)
