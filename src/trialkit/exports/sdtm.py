"""``sdtm``: SDTM tabulation datasets as SAS transport v5 files, with a Define-XML 2.0 file.

The subject domains (DM, DS, EX, AE, CM, VS, LB, QS, SV) are derived from the extract's
values, lifecycle steps, visit dates and doses; the trial design domains (TE, TA, TV, TI, TS)
from the protocol. Every derivation (variable <- source) is tabled in docs/exports.md, with
what the sponsor must still decide (controlled terminology versions, MedDRA coding). The
datasets are written by the ``xpt`` export's writer
(:func:`trialkit.exports.readstat.write_xport`); ``define.xml`` describes them
(:mod:`trialkit.exports.define`).

Memory: the values are read once, as a stream; the SDTM rows are held until written (one row
per finding, a study's worth: early-phase studies are small).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from trialkit.exports.base import ExportResult, Progress
from trialkit.exports.readstat import write_xport, xpt_name
from trialkit.exports.sdtm_domains import (
    DOMAINS,
    LB_TESTS,
    SUPP_QUALIFIERS,
    VS_TESTS,
    Domain,
)
from trialkit.protocol import DataType, Form, Item, Study, units
from trialkit.services.extract import BLINDED, Extract, Value

__all__ = ["AE_OUTCOME", "DS_TERMS", "Tables", "build", "epoch", "study_day", "write_sdtm"]

Row = dict[str, Any]

#: trialkit's adverse-event outcome codes -> SDTM's OUT terms.
AE_OUTCOME = {
    "recovered": "RECOVERED/RESOLVED",
    "recovering": "RECOVERING/RESOLVING",
    "not_recovered": "NOT RECOVERED/NOT RESOLVED",
    "sequelae": "RECOVERED/RESOLVED WITH SEQUELAE",
    "fatal": "FATAL",
    "unknown": "UNKNOWN",
}
#: lifecycle step -> (DSDECOD, DSCAT).
DS_TERMS = {
    "consent": ("INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE"),
    "enrol": ("ENROLLED", "PROTOCOL MILESTONE"),
    "complete": ("COMPLETED", "DISPOSITION EVENT"),
    "withdraw": ("WITHDRAWAL BY SUBJECT", "DISPOSITION EVENT"),
    "lose": ("LOST TO FOLLOW-UP", "DISPOSITION EVENT"),
}
_SEX = {"female": "F", "male": "M"}
_PHASE = {"1": "PHASE I TRIAL", "1-2": "PHASE I/II TRIAL", "2": "PHASE II TRIAL"}
_PHASE |= {"2-3": "PHASE II/III TRIAL", "3": "PHASE III TRIAL", "4": "PHASE IV TRIAL"}
_BLIND = {"none": "OPEN LABEL", "single": "SINGLE BLIND", "double": "DOUBLE BLIND"}
_BLIND |= {"triple": "TRIPLE BLIND", "quadruple": "QUADRUPLE BLIND"}
_CM = ("cm_trt", "cm_indication", "cm_dose", "cm_dose_unit", "cm_route", "cm_start", "cm_end")


def study_day(on: str, ref: date | None) -> float | None:
    """The SDTM study day of the ISO date ``on`` from the reference start ``ref`` (day 1; the
    day before is -1: there is no day 0)."""
    if not on or ref is None:
        return None
    try:
        days = (date.fromisoformat(on[:10]) - ref).days
    except ValueError:
        return None
    return float(days + 1 if days >= 0 else days)


def epoch(on: str, ref: date | None, last_dose: int, follow_up: bool) -> str:
    """The EPOCH of the ISO date ``on``: SCREENING before the reference start ``ref`` (the
    first dose), TREATMENT to the end of the last planned dosing day (``last_dose`` days after
    it), FOLLOW-UP after (TREATMENT when the trial has no follow-up element)."""
    if not on or ref is None:
        return ""
    try:
        days = (date.fromisoformat(on[:10]) - ref).days
    except ValueError:
        return ""
    if days < 0:
        return "SCREENING"
    return "TREATMENT" if days <= last_dose or not follow_up else "FOLLOW-UP"


def _dtype(item: Item) -> str:
    """The Define-XML data type of an item's values."""
    return {DataType.INTEGER: "integer", DataType.DECIMAL: "float"}.get(item.data_type, "text")


def _number(text: str) -> float | None:
    try:
        return float(Decimal(text))
    except (InvalidOperation, ValueError):
        return None


def _code(text: str, taken: dict[str, str]) -> str:
    """An 8-character test code for ``text``, stable within one export."""
    if text not in taken:
        used = set(taken.values())
        taken[text] = xpt_name(re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_") or "T", used)
    return taken[text]


@dataclass
class _Item:
    item: Item
    form: Form
    group: str
    instrument: str | None


def _catalogue(versions: Iterable[Study]) -> dict[tuple[str, str], _Item]:
    out: dict[tuple[str, str], _Item] = {}
    for study in versions:
        for form in study.forms:
            for group in form.groups:
                for item in group.items:
                    inst = item.instrument or item.derived or group.instrument
                    out.setdefault((form.id, item.name), _Item(item, form, group.id, inst))
    return out


def _measured(item: Item) -> bool:
    return item.data_type in (DataType.INTEGER, DataType.DECIMAL) and bool(item.unit)


class Tables:
    """The SDTM rows of one export, by domain, built from the extract and the protocol."""

    def __init__(self, extract: Extract) -> None:
        self.extract = extract
        self.study = extract.study
        self.sid = self.study.id
        self.rows: dict[str, list[Row]] = {d: [] for d in DOMAINS}
        self.items = _catalogue([self.study, *extract.versions.values()])
        ranged = {r.item for r in self.study.reference_ranges}
        self.lab_forms = {f for (f, n) in self.items if n in ranged or n in LB_TESTS}
        self.vs_forms = {f for (f, n) in self.items if n in VS_TESTS}
        self.visitnum = {v.id: float(n) for n, v in enumerate(self.study.timeline.visits, 1)}
        self.codes: dict[str, dict[str, str]] = defaultdict(dict)
        self.ref: dict[str, date] = {}
        self.grades: dict[str, int] = {}
        self.pending: list[tuple[Row, Item, str]] = []
        self.last_dose, self.follow_up = _treatment_span(self.study)

    def epoch(self, code: str, on: str) -> str:
        return epoch(on, self.ref.get(code), self.last_dose, self.follow_up)

    def usubjid(self, code: str) -> str:
        return f"{self.sid}-{code}"

    def _base(self, domain: str, code: str) -> Row:
        return {"STUDYID": self.sid, "DOMAIN": domain, "USUBJID": self.usubjid(code)}

    def _visit(self, code: str, visit: str, dates: dict[tuple[str, str], str]) -> Row:
        return {"VISITNUM": self._visitnum(code, visit, dates), "VISIT": self._visit_name(visit)}

    def _visit_name(self, visit: str) -> str:
        found = next((v for v in self.study.timeline.visits if v.id == visit), None)
        if found is not None:
            return found.name.upper()
        return f"UNSCHEDULED {visit.removeprefix('UNS-').lstrip('0')}" if visit else ""

    def _visitnum(self, code: str, visit: str, dates: dict[tuple[str, str], str]) -> float | None:
        """A scheduled visit's number; an unscheduled visit's is the number of the last
        scheduled visit on or before its date plus 0.01 per unscheduled visit since."""
        if visit in self.visitnum:
            return self.visitnum[visit]
        on = dates.get((code, visit), "")
        if not on:
            return None
        before = [
            (self.visitnum[v], d)
            for (c, v), d in dates.items()
            if c == code and v in self.visitnum and d <= on
        ]
        base = max((n for n, _ in before), default=0.0)
        since = sorted(
            d for (c, v), d in dates.items() if c == code and v not in self.visitnum and d <= on
        )
        return round(base + 0.01 * len(since), 2)

    # -- the stream ------------------------------------------------------------------------
    def add_form(self, batch: list[Value], dates: dict[tuple[str, str], str]) -> None:
        rows: dict[tuple[str, str], dict[str, Value]] = {}
        for v in batch:
            rows.setdefault((v.group, v.instance), {})[v.item] = v
        for (group, instance), cells in rows.items():
            names = set(cells)
            if "ae_term" in names and "ae_onset" in names:
                self._ae(cells, group, instance)
            elif "cm_trt" in names:
                self._cm(cells)
            else:
                self._findings(cells, dates)

    def _findings(self, cells: dict[str, Value], dates: dict[tuple[str, str], str]) -> None:
        pair = self._name_value(cells)
        supp = {
            qnam: cells[item].value
            for qnam, (parent, _, item, _) in SUPP_QUALIFIERS.items()
            if parent == "QS" and item in cells and cells[item].value
        }
        for name, v in cells.items():
            spec = self.items.get((v.form, name))
            if spec is None or (not v.value and not v.missing_reason):
                continue
            if not v.value and spec.instrument is None and not _measured(spec.item):
                continue
            if pair is not None and name in pair:
                if name == pair[1] and cells[pair[0]].value:
                    test = cells[pair[0]].value
                    self._lb(v, spec, _code(test, self.codes["LB"]), test, dates)
                continue
            if name in VS_TESTS or (v.form in self.vs_forms and _measured(spec.item)):
                testcd, test = VS_TESTS.get(name) or (
                    _code(name, self.codes["VS"]),
                    spec.item.label,
                )
                self._vs(v, testcd, test, dates)
            elif v.form in self.lab_forms and _measured(spec.item):
                testcd, test = LB_TESTS.get(name) or (
                    _code(name, self.codes["LB"]),
                    spec.item.label,
                )
                self._lb(v, spec, testcd, test, dates)
            elif spec.instrument:
                self._qs(v, spec, dates, supp)

    def _name_value(self, cells: dict[str, Value]) -> tuple[str, str] | None:
        """A lab row of a test's name and its value (``cytokine``, ``cytokine_value``)."""
        specs = [(n, self.items.get((v.form, n))) for n, v in cells.items()]
        texts = [n for n, s in specs if s is not None and s.item.data_type is DataType.TEXT]
        nums = [n for n, s in specs if s is not None and _measured(s.item)]
        first = next(iter(cells.values()))
        if first.form in self.lab_forms and len(texts) == 1 and len(nums) == 1:
            return texts[0], nums[0]
        return None

    def _finding_row(
        self, p: str, v: Value, dates: dict[tuple[str, str], str], spec: _Item | None = None
    ) -> Row:
        row = self._base(p, v.participant) | self._visit(v.participant, v.visit, dates)
        # for define.xml's value-level metadata (not written to the dataset)
        spec = spec or self.items.get((v.form, v.item))
        row["_dtype"] = _dtype(spec.item) if spec is not None else "text"
        row["_derived"] = (spec.item.derived or spec.instrument or "") if v.derived and spec else ""
        row["EPOCH"] = self.epoch(v.participant, v.visit_date)
        row[f"{p}ORRES"] = v.value
        row[f"{p}STRESC"] = v.value
        row[f"{p}STRESN"] = _number(v.value) if v.value else None
        if not v.value:
            row[f"{p}STAT"] = "NOT DONE"
            row[f"{p}REASND"] = v.missing_reason
        row[f"{p}DTC"] = v.visit_date
        row[f"{p}DY"] = study_day(v.visit_date, self.ref.get(v.participant))
        return row

    def _vs(self, v: Value, testcd: str, test: str, dates: dict[tuple[str, str], str]) -> None:
        row = self._finding_row("VS", v, dates)
        row |= {"VSTESTCD": testcd, "VSTEST": test[:40], "VSORRESU": v.unit, "VSSTRESU": v.unit}
        self.rows["VS"].append(row)

    def _lb(
        self,
        v: Value,
        spec: _Item,
        testcd: str,
        test: str,
        dates: dict[tuple[str, str], str],
    ) -> None:
        row = self._finding_row("LB", v, dates, spec)
        group = next((g for g in spec.form.groups if g.id == spec.group), None)
        row |= {"LBTESTCD": testcd, "LBTEST": test[:40], "LBORRESU": v.unit, "LBSTRESU": v.unit}
        row["LBCAT"] = (group.name if group is not None else spec.group).upper()
        # the reference range needs the participant's sex, which may come later in the
        # stream (visits are read in key order): it is set once every value is read
        self.pending.append((row, spec.item, v.participant))
        self.rows["LB"].append(row)

    def _range(self, item: Item, text: str, sex: str) -> tuple[str, str, str]:
        """The reference range of ``item`` (for the participant's sex) and where ``text`` lies;
        a range in another unit than the item's is not used."""
        code = units.ucum(item.unit) if item.unit and units.is_known(item.unit) else None
        found = [
            r
            for r in self.study.reference_ranges
            if r.item == item.name
            and r.sex in (None, sex or None)
            and units.is_known(r.unit)
            and units.ucum(r.unit) == code
        ]
        if not found:
            return "", "", ""
        r = sorted(found, key=lambda r: r.sex is None)[0]
        low = "" if r.lower is None else str(r.lower)
        high = "" if r.upper is None else str(r.upper)
        try:
            value = Decimal(text)
        except (InvalidOperation, ValueError):
            return low, high, ""
        if r.lower is not None and value < r.lower:
            return low, high, "LOW"
        if r.upper is not None and value > r.upper:
            return low, high, "HIGH"
        return low, high, "NORMAL"

    def _qs(
        self, v: Value, spec: _Item, dates: dict[tuple[str, str], str], supp: dict[str, str]
    ) -> None:
        row = self._finding_row("QS", v, dates, spec)
        if supp:
            row["_supp"] = supp
        cat = (spec.instrument or "").upper()
        row |= {
            "QSTESTCD": _code(f"{cat}_{v.item}", self.codes["QS"]),
            "QSTEST": spec.item.label[:40],
            "QSCAT": cat,
            "QSGRPID": f"{v.form}-{v.visit}-{v.instance.partition('.')[0]}",
            "QSSPID": f"{v.form}.{v.instance}",
            "QSDRVFL": "Y" if v.derived else "",
        }
        self.rows["QS"].append(row)

    def _ae(self, cells: dict[str, Value], group: str, instance: str) -> None:
        first = next(iter(cells.values()))
        text = {n: c.value for n, c in cells.items()}
        record = first.record
        row_no = instance.partition(".")[2]
        key = f"form_instance:{record}/{group}" + (f"/{row_no}" if row_no else "")
        grade: int | None = self.grades.get(key)
        if grade is None and text.get("ae_grade", "").isdigit():
            grade = int(text["ae_grade"])
        ctcae = self._decode(first.form, "ae_ctcae_term", text.get("ae_ctcae_term", ""))
        rel = self._decode(first.form, "ae_relation", text.get("ae_relation", "")).upper()
        ref = self.ref.get(first.participant)
        serious = {"true": "Y", "false": "N"}.get(text.get("ae_serious", ""), "")
        row = self._base("AE", first.participant) | {
            "AESPID": f"{first.form}-{first.visit}-{instance}",
            "AETERM": text.get("ae_term", ""),
            "AEDECOD": ctcae,
            "AEBODSYS": "",
            "AESER": serious,
            "AEREL": rel,
            "AEOUT": AE_OUTCOME.get(text.get("ae_outcome", ""), ""),
            "AETOXGR": "" if grade is None else str(grade),
            "EPOCH": self.epoch(first.participant, text.get("ae_onset", "")),
            "AESTDTC": text.get("ae_onset", ""),
            "AEENDTC": text.get("ae_end", ""),
            "AESTDY": study_day(text.get("ae_onset", ""), ref),
            "AEENDY": study_day(text.get("ae_end", ""), ref),
        }
        supp = {
            qnam: _qval(text[item])
            for qnam, (parent, _, item, _) in SUPP_QUALIFIERS.items()
            if parent == "AE" and text.get(item)
        }
        if supp:
            row["_supp"] = supp
        self.rows["AE"].append(row)

    def _decode(self, form: str, name: str, code: str) -> str:
        """The protocol's label of the code ``code`` of the item ``name`` (empty if none)."""
        item = self.items.get((form, name))
        if not code or item is None or not item.item.codelist:
            return ""
        cl = self.study.codelist(item.item.codelist)
        return next((c.label for c in cl.items if c.code == code), "") if cl else ""

    def _cm(self, cells: dict[str, Value]) -> None:
        first = next(iter(cells.values()))
        t = {n: c.value for n, c in cells.items() if n in _CM}
        ref = self.ref.get(first.participant)
        unit = t.get("cm_dose_unit", "")
        if unit and units.is_known(unit):
            unit = units.ucum(unit)
        self.rows["CM"].append(
            self._base("CM", first.participant)
            | {
                "CMTRT": t.get("cm_trt", ""),
                "CMINDC": t.get("cm_indication", ""),
                "CMDOSE": _number(t["cm_dose"]) if t.get("cm_dose") else None,
                "CMDOSU": unit,
                "CMROUTE": t.get("cm_route", "").upper(),
                "EPOCH": self.epoch(first.participant, t.get("cm_start", "")),
                "CMSTDTC": t.get("cm_start", ""),
                "CMENDTC": t.get("cm_end", ""),
                "CMSTDY": study_day(t.get("cm_start", ""), ref),
                "CMENDY": study_day(t.get("cm_end", ""), ref),
            }
        )


def _qval(text: str) -> str:
    """A supplemental qualifier's value: yes/no as Y/N, a date-time to the minute."""
    if text in ("true", "false"):
        return "Y" if text == "true" else "N"
    if len(text) > 16 and text[10:11] == "T":
        return text[:16]
    return text


def _treatment_span(study: Study) -> tuple[int, bool]:
    """The last planned dosing day after the origin, and whether a visit follows it (a
    follow-up element)."""
    tl = study.timeline
    last_dose = max([e.offset.days for e in tl.dosing if e.anchor == tl.origin] or [0])
    after_dose = {a.id for a in tl.anchors if a.set_by.startswith("dosing:")} - {tl.origin}
    follow_up = any(
        (v.anchor == tl.origin and v.offset.days > last_dose)
        or (v.anchor in after_dose and v.offset.days > 0)
        for v in tl.visits
    )
    return last_dose, follow_up


def _iso(at: datetime) -> str:
    return at.replace(second=0, microsecond=0).isoformat(timespec="minutes")


def _product(study: Study, arm: str) -> tuple[str, str]:
    found = study.arm(arm) if arm != BLINDED else None
    if found is None or not found.interventions:
        return "STUDY INTERVENTION", ""
    i = found.interventions[0]
    return i.name, i.route.upper()


def build(extract: Extract, progress: Progress) -> Tables:
    """Every domain's rows for ``extract`` (the values read once, as a stream)."""
    t = Tables(extract)
    study = t.study
    t.grades = extract.effective_grades()
    doses = extract.doses()
    events = extract.events()
    dates = extract.visit_dates
    for d in doses:
        first = t.ref.get(d.participant)
        if first is None or d.given_at.date() < first:
            t.ref[d.participant] = d.given_at.date()
    demo: dict[str, dict[str, str]] = defaultdict(dict)
    consent_items = {(f.id, f.consent.date) for f in study.forms if f.consent is not None}
    total = extract.form_count()
    for done, batch in enumerate(extract.form_batches(), start=1):
        if batch:
            who = batch[0].participant
            for v in batch:
                if v.item in ("sex", "age", "birth_date") and v.value:
                    demo[who].setdefault(v.item, v.value)
                if (v.form, v.item) in consent_items and v.value:
                    demo[who].setdefault("consent", v.value)
            t.add_form(batch, dates)
        if done % 200 == 0 or done == total:
            progress(done, total)
    for row, item, who in t.pending:
        low, high, ind = t._range(item, row["LBORRES"], demo[who].get("sex", ""))
        row |= {"LBORNRLO": low, "LBORNRHI": high, "LBNRIND": ind}
    _subjects(t, doses, events, dates, demo)
    _design(t)
    return t


def _subjects(
    t: Tables,
    doses: list[Any],
    events: list[tuple[str, str, datetime, str | None]],
    dates: dict[tuple[str, str], str],
    demo: dict[str, dict[str, str]],
) -> None:
    study = t.study
    country = next((c.country for c in study.identity.centres if getattr(c, "country", None)), "")
    for p in t.extract.people:
        mine = [d for d in doses if d.participant == p.code]
        steps = [e for e in events if e[0] == p.code]
        seen = sorted(d for (c, _), d in dates.items() if c == p.code)
        consent = next((_iso(e[2])[:10] for e in steps if e[1] == "consent"), "")
        consent = demo[p.code].get("consent", consent)
        ends = [e for e in steps if DS_TERMS.get(e[1], ("", ""))[1] == "DISPOSITION EVENT"]
        end = _iso(ends[-1][2])[:10] if ends else ""
        last = max([*seen, end, *(_iso(d.given_at)[:10] for d in mine)], default="")
        arm_name = study.arm(p.arm).name if study.arm(p.arm) else p.arm  # type: ignore[union-attr]
        treated = bool(mine)
        dm = t._base("DM", p.code) | {
            "SUBJID": p.code,
            "RFSTDTC": _iso(mine[0].given_at) if mine else "",
            "RFENDTC": end or last,
            "RFXSTDTC": _iso(mine[0].given_at) if mine else "",
            "RFXENDTC": _iso(mine[-1].given_at) if mine else "",
            "RFICDTC": consent,
            "RFPENDTC": last,
            "SITEID": p.site,
            "BRTHDTC": demo[p.code].get("birth_date", ""),
            "AGE": _number(demo[p.code]["age"]) if demo[p.code].get("age") else None,
            "AGEU": "YEARS" if demo[p.code].get("age") else "",
            "SEX": _SEX.get(demo[p.code].get("sex", ""), "U"),
            "ARMCD": p.arm,
            "ARM": arm_name,
            "ACTARMCD": p.arm if treated else "NOTTRT",
            "ACTARM": arm_name if treated else "Not Treated",
            "COUNTRY": country or "",
        }
        t.rows["DM"].append(dm)
        ref = t.ref.get(p.code)
        for _, step, at, reason in steps:
            if step not in DS_TERMS:
                continue
            decod, cat = DS_TERMS[step]
            # the consent step is recorded on the day consent was given, as its form says
            on = consent if step == "consent" and consent else _iso(at)
            t.rows["DS"].append(
                t._base("DS", p.code)
                | {
                    "DSTERM": (reason or decod) if cat == "DISPOSITION EVENT" else decod,
                    "DSDECOD": decod,
                    "DSCAT": cat,
                    "EPOCH": t.epoch(p.code, on),
                    "DSSTDTC": on,
                    "DSSTDY": study_day(on, ref),
                }
            )
        name, route = _product(study, p.arm)
        for d in mine:
            amount = _number(d.amount) if d.amount is not None else None
            unit = d.unit or ""
            if unit and units.is_known(unit):
                unit = units.ucum(unit)
            t.rows["EX"].append(
                t._base("EX", p.code)
                | {
                    "EXTRT": name,
                    "EXDOSE": amount,
                    "EXDOSU": unit if amount is not None else "",
                    "EXROUTE": route,
                    "EXLOT": d.product_lot or "",
                    "EPOCH": t.epoch(p.code, _iso(d.given_at)),
                    "EXSTDTC": _iso(d.given_at),
                    "EXENDTC": _iso(d.given_at),
                    "EXSTDY": study_day(_iso(d.given_at), ref),
                    "EXENDY": study_day(_iso(d.given_at), ref),
                }
            )
        for (c, visit), on in sorted(dates.items(), key=lambda kv: kv[1]):
            if c != p.code:
                continue
            planned = next((v for v in study.timeline.visits if v.id == visit), None)
            t.rows["SV"].append(
                t._base("SV", p.code)
                | t._visit(p.code, visit, dates)
                | {
                    "VISITDY": _planned_day(study, planned.id) if planned else None,
                    "SVSTDTC": on,
                    "SVENDTC": on,
                    "SVSTDY": study_day(on, ref),
                    "SVENDY": study_day(on, ref),
                    "SVUPDES": "" if planned else "Unscheduled visit",
                }
            )


def _planned_day(study: Study, visit_id: str) -> float | None:
    """The planned study day of a visit anchored on the study's origin (day 1 is the
    origin's day); None for a visit anchored elsewhere (screening on the consent)."""
    v = next(v for v in study.timeline.visits if v.id == visit_id)
    if v.anchor != study.timeline.origin:
        return None
    return float(v.offset.days + 1 if v.offset.days >= 0 else v.offset.days)


def _design(t: Tables) -> None:
    study, sid = t.study, t.sid
    tl = study.timeline
    last_dose, follow_up = t.last_dose, t.follow_up
    base = {"STUDYID": sid}
    origin = next(a.name for a in tl.anchors if a.id == tl.origin)
    dur = f"P{last_dose + 1}D" if all(e.anchor == tl.origin for e in tl.dosing) else ""
    elements: list[tuple[str, str, str, str, str]] = [
        ("SCRN", "Screening", "Informed consent", f"{origin} (study day 1)", "")
    ]
    for arm in study.arms:
        first = arm.interventions[0].name if arm.interventions else arm.name
        end = f"End of study day {last_dose + 1}"
        elements.append((arm.id[:8], arm.name, f"First dose of {first}", end, dur))
    if follow_up:
        elements.append(
            ("FU", "Follow-up", f"Study day {last_dose + 2}", "End of the last visit", "")
        )
    for etcd, element, start, stop, duration in elements:
        t.rows["TE"].append(
            base
            | {"DOMAIN": "TE", "ETCD": etcd, "ELEMENT": element, "TESTRL": start}
            | {"TEENRL": stop, "TEDUR": duration}
        )
    for arm in study.arms:
        order = [("SCRN", "Screening", "SCREENING"), (arm.id[:8], arm.name, "TREATMENT")]
        if follow_up:
            order.append(("FU", "Follow-up", "FOLLOW-UP"))
        for n, (etcd, element, epoch) in enumerate(order, start=1):
            t.rows["TA"].append(
                base
                | {"DOMAIN": "TA", "ARMCD": arm.id, "ARM": arm.name, "TAETORD": float(n)}
                | {"ETCD": etcd, "ELEMENT": element, "EPOCH": epoch}
                | {
                    "TABRANCH": f"Allocated to {arm.name}"
                    if n == 1 and len(study.arms) > 1
                    else "",
                    "TATRANS": "",
                }
            )
    anchors = {a.id: a.name for a in tl.anchors}
    for v in tl.visits:
        day = _planned_day(study, v.id)
        start = f"{anchors.get(v.anchor, v.anchor)} + {v.offset.days} days"
        if v.window.lower or v.window.upper:
            start += f" (window {v.window.lower:+d} to {v.window.upper:+d} days)"
        t.rows["TV"].append(
            base
            | {"DOMAIN": "TV", "VISITNUM": t.visitnum[v.id], "VISIT": v.name.upper()}
            | {"VISITDY": day, "ARMCD": "", "TVSTRL": start, "TVENRL": ""}
        )
    taken: set[str] = set()
    for c in study.eligibility:
        t.rows["TI"].append(
            base
            | {"DOMAIN": "TI", "IETESTCD": xpt_name(c.id, taken), "IETEST": c.text[:200]}
            | {"IECAT": c.kind.upper(), "TIVERS": study.protocol_version}
        )
    _summary(t)


def _summary(t: Tables) -> None:
    study = t.study
    ident, design = study.identity, study.design
    params: list[tuple[str, str, str]] = [
        ("TITLE", "Trial Title", ident.scientific_title),
        *(("REGID", "Registry Identifier", r.id) for r in ident.registrations),
        ("TPHASE", "Trial Phase Classification", _PHASE.get(ident.phase, ident.phase)),
        ("STYPE", "Study Type", ident.study_type.upper()),
        (
            "INTMODEL",
            "Intervention Model",
            str(design.intervention_model).upper().replace("_", " "),
        ),
        ("RANDOM", "Trial is Randomized", "Y" if design.allocation == "randomised" else "N"),
        ("TBLIND", "Trial Blinding Schema", _BLIND[design.masking.level]),
        ("PLANSUB", "Planned Number of Subjects", str(design.sample_size.target)),
        ("NARMS", "Planned Number of Arms", str(len(study.arms))),
        ("SEXPOP", "Sex of Participants", {"all": "BOTH", "female": "F", "male": "M"}[design.sex]),
        *(("INDIC", "Trial Disease/Condition Indication", c.name) for c in ident.conditions),
        *(("SPONSOR", "Clinical Study Sponsor", s.name) for s in ident.sponsors),
        ("SDTIGVER", "SDTM IG Version", "3.2"),
        ("PROTVERS", "Protocol Version", study.protocol_version),
    ]
    if design.age.minimum is not None:
        params.append(("AGEMIN", "Planned Minimum Age of Subjects", f"P{design.age.minimum}Y"))
    if design.age.maximum is not None:
        params.append(("AGEMAX", "Planned Maximum Age of Subjects", f"P{design.age.maximum}Y"))
    if design.control:
        params.append(("TCNTRL", "Control Type", design.control))
    seen: set[str] = set()
    for arm in study.arms:
        for i in arm.interventions:
            if i.name not in seen:
                seen.add(i.name)
                params.append(("TRT", "Investigational Therapy or Treatment", i.name))
    if ident.recruitment and ident.recruitment.expected_start:
        start = ident.recruitment.expected_start.gregorian
        if start is not None:
            params.append(("SSTDTC", "Study Start Date", start.isoformat()))
    count: dict[str, int] = defaultdict(int)
    for code, label, value in params:
        count[code] += 1
        t.rows["TS"].append(
            {"STUDYID": t.sid, "DOMAIN": "TS", "TSSEQ": float(count[code])}
            | {"TSPARMCD": code, "TSPARM": label, "TSVAL": value}
        )


def _sortable(x: Any) -> tuple[int, Any]:
    """A sort key: numbers as numbers, text as text, missing last."""
    if x is None or x == "":
        return (2, "")
    return (0, x) if isinstance(x, float) else (1, str(x))


def _order(domain: Domain, rows: list[Row]) -> list[Row]:
    """Rows sorted by the domain's keys, with --SEQ numbered per subject."""
    seq = next(
        (c.name for c in domain.columns if c.name.endswith("SEQ") and c.name != "TSSEQ"), None
    )
    sort_keys = [k for k in domain.keys if k != seq]

    def key(r: Row) -> tuple[Any, ...]:
        return tuple(_sortable(r.get(k)) for k in sort_keys)

    if domain.cls in ("FINDINGS",):
        p = domain.code
        rows = sorted(
            rows,
            key=lambda r: (
                r["USUBJID"],
                r[f"{p}TESTCD"],
                r.get("VISITNUM") or 0.0,
                r.get(f"{p}SPID", ""),
            ),
        )
    else:
        rows = sorted(rows, key=key)
    if seq is not None:
        n: dict[str, int] = defaultdict(int)
        for r in rows:
            n[r["USUBJID"]] += 1
            r[seq] = float(n[r["USUBJID"]])
    return rows


def _supplemental(parent: str, rows: list[Row]) -> list[Row]:
    """The SUPP-- records of the ordered ``rows`` of ``parent``: one per qualifier a record
    carries, identified by the record's --SEQ."""
    out = []
    for r in rows:
        for qnam, value in sorted(
            r.get("_supp", {}).items(), key=lambda kv: list(SUPP_QUALIFIERS).index(kv[0])
        ):
            out.append(
                {"STUDYID": r["STUDYID"], "RDOMAIN": parent, "USUBJID": r["USUBJID"]}
                | {"IDVAR": f"{parent}SEQ", "IDVARVAL": f"{r[f'{parent}SEQ']:.0f}"}
                | {"QNAM": qnam, "QLABEL": SUPP_QUALIFIERS[qnam][1], "QVAL": value}
                | {"QORIG": "CRF", "QEVAL": ""}
            )
    return out


def _frame(domain: Domain, rows: list[Row]) -> Any:
    import pandas as pd

    data: dict[str, list[Any]] = {}
    for c in domain.columns:
        if c.name == "DOMAIN" and rows:
            data[c.name] = [domain.code] * len(rows)
            continue
        column = [r.get(c.name) for r in rows]
        data[c.name] = column if c.numeric else ["" if x is None else str(x) for x in column]
    frame = pd.DataFrame(data, columns=[c.name for c in domain.columns])
    for c in domain.columns:
        if c.numeric:
            frame[c.name] = pd.to_numeric(frame[c.name], errors="coerce").astype("float64")
        else:
            frame[c.name] = frame[c.name].astype(object)
    return frame


def write_sdtm(extract: Extract, out: Path, progress: Progress) -> ExportResult:
    """One ``.xpt`` file per SDTM domain and ``define.xml`` into ``out``."""
    from trialkit.exports.define import write_define

    result = ExportResult("sdtm", participants=len(extract.people))
    tables = build(extract, progress)
    written: dict[str, list[Row]] = {}
    for code, domain in DOMAINS.items():
        if domain.cls == "RELATIONSHIP":
            parent = code.removeprefix("SUPP")
            rows = _supplemental(parent, written[parent])
        else:
            rows = _order(domain, tables.rows[code])
        frame = _frame(domain, rows)
        path = out / f"{code.lower()}.xpt"
        write_xport(frame, path, code, domain.label[:40], [c.label for c in domain.columns])
        result.files.append(path)
        written[code] = rows
        result.values += len(rows)
        long_text = sum(
            1 for r in rows for x in r.values() if isinstance(x, str) and len(x.encode()) > 200
        )
        if long_text:
            result.notes.append(
                f"{code}: {long_text} text value(s) longer than 200 bytes (SAS's V5 transport "
                "engine reads at most 200; pyreadstat and R read them whole)"
            )
        if not rows:
            result.notes.append(f"{code}: no records (written with its variables)")
    result.files.append(write_define(extract, out, written))
    return result
