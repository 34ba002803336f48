"""``sdtm``: every domain's .xpt file reads back with pyreadstat (and DM with R's haven) with the
values the database holds, and define.xml validates against CDISC's Define-XML 2.0 schema
(shipped by odmlib) and describes exactly the variables of the files."""

from __future__ import annotations

import math
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from tests.exports.conftest import PAE
from tests.services.conftest import MASKED, UCM, People, Screened, masked  # noqa: F401

from trialkit.exports import export
from trialkit.exports.define import DEF, ODM
from trialkit.exports.sdtm import study_day
from trialkit.exports.sdtm_domains import DOMAINS
from trialkit.services import Context, Role, enrol, record_adverse_event, record_visit, save_form
from trialkit.store import Database

pyreadstat = pytest.importorskip("pyreadstat")
xmlschema = pytest.importorskip("xmlschema")
odmlib = pytest.importorskip("odmlib")

R_SCRIPT = Path(__file__).with_name("read_back.R")


@pytest.fixture(scope="module")
def define_schema() -> Any:
    """CDISC's Define-XML 2.0 schema as odmlib ships it (loaded once: it takes a second)."""
    return xmlschema.XMLSchema(str(Path(odmlib.__file__).parent / DEFINE_XSD))


DEFINE_XSD = "schemas/define/2.0/define2-0-0.xsd"


def _read(folder: Path, code: str) -> tuple[list[dict[str, Any]], Any]:
    frame, meta = pyreadstat.read_xport(str(folder / f"{code.lower()}.xpt"))
    rows = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]
    return rows, meta


def _oids(mdv: ET.Element, tag: str, attr: str = "OID") -> set[str]:
    return {e.get(attr, "") for e in mdv.iter(tag)}


def check_define(folder: Path, schema: Any) -> ET.Element:
    """define.xml validates, every reference in it resolves to a defined element and every
    defined element is used, derived variables have a method, and each code list's terms are
    exactly the values of the variables (and value-level slices) that refer to it."""
    schema.validate(str(folder / "define.xml"))
    mdv = ET.parse(folder / "define.xml").getroot().find(f".//{{{ODM}}}MetaDataVersion")
    assert mdv is not None
    o, d = f"{{{ODM}}}", f"{{{DEF}}}"
    items = {i.get("OID", ""): i for i in mdv.iter(f"{o}ItemDef")}
    defined = {
        "item": set(items),
        "codelist": _oids(mdv, f"{o}CodeList"),
        "method": _oids(mdv, f"{o}MethodDef"),
        "where": _oids(mdv, f"{d}WhereClauseDef"),
        "valuelist": _oids(mdv, f"{d}ValueListDef"),
        "comment": _oids(mdv, f"{d}CommentDef"),
    }
    used = {
        "item": _oids(mdv, f"{o}ItemRef", "ItemOID") | _oids(mdv, f"{o}RangeCheck", f"{d}ItemOID"),
        "codelist": _oids(mdv, f"{o}CodeListRef", "CodeListOID"),
        "method": _oids(mdv, f"{o}ItemRef", "MethodOID") - {""},
        "where": _oids(mdv, f"{d}WhereClauseRef", "WhereClauseOID"),
        "valuelist": _oids(mdv, f"{d}ValueListRef", "ValueListOID"),
        "comment": {e.get(f"{d}CommentOID", "") for e in mdv.iter()} - {""},
    }
    for kind in defined:
        assert used[kind] <= defined[kind], (kind, used[kind] - defined[kind])
        assert defined[kind] <= used[kind], (kind, defined[kind] - used[kind])
    # which dataset and variable (and where clause) each ItemDef describes
    where = {}
    for wc in mdv.iter(f"{d}WhereClauseDef"):
        (check,) = wc.iter(f"{o}RangeCheck")
        value = check.find(f"{o}CheckValue")
        assert value is not None
        where[wc.get("OID")] = (items[check.get(f"{d}ItemOID", "")].get("Name"), value.text)
    place: dict[str, tuple[str, str, Any]] = {}
    for group in mdv.iter(f"{o}ItemGroupDef"):
        for ref in group.iter(f"{o}ItemRef"):
            item = items[ref.get("ItemOID", "")]
            origin = item.find(f"{d}Origin")
            assert origin is not None
            if origin.get("Type") == "Derived":
                assert ref.get("MethodOID"), ref.get("ItemOID")
            place[ref.get("ItemOID", "")] = (group.get("Name", ""), item.get("Name", ""), None)
            vlr = item.find(f"{d}ValueListRef")
            if vlr is None:
                continue
            vl = next(
                v for v in mdv.iter(f"{d}ValueListDef") if v.get("OID") == vlr.get("ValueListOID")
            )
            for vref in vl.iter(f"{o}ItemRef"):
                wref = vref.find(f"{d}WhereClauseRef")
                assert wref is not None
                clause = where[wref.get("WhereClauseOID")]
                place[vref.get("ItemOID", "")] = (
                    group.get("Name", ""),
                    item.get("Name", ""),
                    clause,
                )
    data = {g: _read(folder, g)[0] for g, _, _ in place.values()}
    expected: dict[str, set[str]] = {}
    for oid, item in items.items():
        dataset, var, clause = place[oid]
        rows = [r for r in data[dataset] if clause is None or r[clause[0]] == clause[1]]
        values = {str(r[var]) for r in rows if r[var] not in (None, "")}
        if item.get("DataType") == "text":
            assert int(item.get("Length", "0")) >= max([1, *(len(v.encode()) for v in values)])
        if clause is not None and item.get("DataType") == "text":  # value level: exact length
            assert int(item.get("Length", "0")) == max([1, *(len(v.encode()) for v in values)])
        ref = item.find(f"{o}CodeListRef")
        if ref is not None:
            expected.setdefault(ref.get("CodeListOID", ""), set()).update(values)
    for cl in mdv.iter(f"{o}CodeList"):
        terms = {
            t.get("CodedValue") for t in cl if t.tag in (f"{o}CodeListItem", f"{o}EnumeratedItem")
        }
        assert terms == expected[cl.get("OID", "")], cl.get("OID")
    return mdv


def test_study_day_has_no_day_zero() -> None:
    ref = date(2025, 3, 11)
    assert study_day("2025-03-11", ref) == 1
    assert study_day("2025-03-12T10:30", ref) == 2
    assert study_day("2025-03-10", ref) == -1
    assert study_day("", ref) is None
    assert study_day("2025-03-10", None) is None


def test_sdtm_reads_back_and_define_validates(
    db: Database, ctx: Context, filled: tuple[str, str], tmp_path: Path, define_schema: Any
) -> None:
    p1, p2 = filled
    at = Context.operator("dr.demo", datetime(2025, 3, 20, 9, 0))
    save_form(db, at, PAE, p1, visit="SCR", form_id="VITALS",
              values={"systolic_bp": "128", "diastolic_bp": "82", "heart_rate": "70",
                      "temperature": "36.80"})  # fmt: skip
    record_visit(db, at, PAE, p1, "M1", date(2025, 4, 8))
    save_form(db, at, PAE, p1, visit="M1", form_id="LABS",
              values={"alt": "55", "ast": "30", "creatinine": "0.9",
                      "CYTOKINES": [{"cytokine": "IL-17A", "cytokine_value": "12.5"}]})  # fmt: skip
    record_adverse_event(
        db, at, PAE, p1, visit="D1",
        values={"ae_term": "Injection site erythema", "ae_onset": "2025-03-12", "ae_grade": "1",
                "ae_serious": "no", "ae_relation": "probable", "ae_outcome": "recovered",
                "ae_at_injection_site": "yes"},
    )  # fmt: skip
    out = tmp_path / "sdtm"
    result = export(db, ctx, PAE, "sdtm", out)
    assert sorted(p.name for p in result.files if p.suffix == ".xpt") == sorted(
        f"{d.lower()}.xpt" for d in DOMAINS
    )
    tables: dict[str, list[dict[str, Any]]] = {}
    for code, domain in DOMAINS.items():
        rows, meta = _read(out, code)
        assert meta.table_name == code
        assert list(meta.column_names) == [c.name for c in domain.columns]
        assert all(len(n) <= 8 for n in meta.column_names)
        assert all(len(label) <= 40 for label in meta.column_labels)
        tables[code] = rows
    u1, u2 = f"{PAE}-{p1}", f"{PAE}-{p2}"

    dm = {r["USUBJID"]: r for r in tables["DM"]}
    assert set(dm) == {u1, u2}  # the screen failure is not exported
    assert dm[u1]["SEX"] == "M"
    assert dm[u1]["AGE"] == 40
    assert dm[u1]["AGEU"] == "YEARS"
    assert (dm[u1]["ARMCD"], dm[u2]["ARMCD"]) == ("G50", "G100")
    assert dm[u1]["RFSTDTC"] == "2025-03-11T10:30"
    assert dm[u2]["RFXSTDTC"] == "2025-03-12T10:30"

    ex = {r["USUBJID"]: r for r in tables["EX"]}
    assert (ex[u1]["EXDOSE"], ex[u1]["EXDOSU"], ex[u1]["EXLOT"]) == (160, "ug", "EX-0311")
    assert ex[u2]["EXDOSE"] == 320
    assert ex[u1]["EXROUTE"] == "INTRADERMAL"
    assert ex[u1]["EXSTDY"] == 1

    (ae,) = tables["AE"]
    assert (ae["AETERM"], ae["AETOXGR"], ae["AESER"]) == ("Injection site erythema", "1", "N")
    assert (ae["AEOUT"], ae["AEREL"], ae["AESTDY"]) == ("RECOVERED/RESOLVED", "PROBABLY RELATED", 2)
    assert ae["AEDECOD"] == ""
    assert ae["AEBODSYS"] == ""

    assert ae["EPOCH"] == "FOLLOW-UP"  # the day after the single injection
    (injsite,) = [r for r in tables["SUPPAE"] if r["QNAM"] == "AEINJSIT"]
    assert (injsite["RDOMAIN"], injsite["IDVAR"], injsite["IDVARVAL"]) == ("AE", "AESEQ", "1")
    assert (injsite["USUBJID"], injsite["QVAL"], injsite["QORIG"]) == (u1, "Y", "CRF")
    assert injsite["QLABEL"] == "At the Injection Site"
    assert all(len(r["QNAM"]) <= 8 for t in ("SUPPAE", "SUPPQS") for r in tables[t])

    vs = {r["VSTESTCD"]: r for r in tables["VS"] if r["USUBJID"] == u1}
    assert vs["SYSBP"]["EPOCH"] == "SCREENING"
    assert vs["SYSBP"]["VSORRES"] == "128"
    assert vs["SYSBP"]["VSORRESU"] == "mm[Hg]"
    assert vs["TEMP"]["VSORRES"] == "36.80"
    assert vs["TEMP"]["VSSTRESN"] == 36.8
    assert vs["TEMP"]["VSORRESU"] == "Cel"
    assert vs["HR"]["VSORRESU"] == "/min"

    lb = {r["LBTESTCD"]: r for r in tables["LB"] if r["USUBJID"] == u1 and r["VISIT"] == "MONTH 1"}
    scr = {r["LBTESTCD"]: r for r in tables["LB"] if r["USUBJID"] == u1 and r["VISITNUM"] == 1}
    assert scr["ALT"]["LBORRES"] == "32"
    assert scr["ALT"]["LBNRIND"] == "NORMAL"
    assert lb["ALT"]["LBNRIND"] == "HIGH"
    assert lb["ALT"]["LBORNRHI"] == "40"
    assert lb["CREAT"]["LBNRIND"] == "NORMAL"
    assert lb["CREAT"]["LBORRESU"] == "mg/dL"
    assert lb["IL_17A"]["LBTEST"] == "IL-17A"
    assert lb["IL_17A"]["LBORRESU"] == "pg/mL"
    assert lb["ALT"]["LBCAT"] == "CHEMISTRY"
    assert lb["ALT"]["LBDY"] == 29

    qs = tables["QS"]
    pasi = {
        (r["USUBJID"], r["VISIT"]): r["QSSTRESN"]
        for r in qs
        if r["QSDRVFL"] == "Y" and r["QSCAT"] == "PASI"
    }
    # trunk (2, 2, 1, 12 %) at D1: area score 2, 0.3 * 5 * 2 = 3.0; p2's month 3 corrected
    assert pasi[(u1, "INJECTION DAY (BASELINE)")] == 3.0
    assert pasi[(u2, "MONTH 3 (END OF STUDY)")] == pytest.approx(0.3 * 4 * 1)
    tlss = [r for r in qs if r["QSCAT"] == "TLSS"]
    done_tlss = {(r["QSTEST"], r["QSORRES"]) for r in tlss if r["QSSTAT"] != "NOT DONE"}
    assert done_tlss == {("Erythema (0-4)", "2"), ("Scaling (0-4)", "1"), ("Induration (0-4)", "1")}
    # the lesion's role and site of every TLSS record are its supplemental qualifiers
    supp = {(r["USUBJID"], r["IDVARVAL"], r["QNAM"]): r["QVAL"] for r in tables["SUPPQS"]}
    for r in (r for r in tlss if r["QSSTAT"] != "NOT DONE"):
        role = supp[(r["USUBJID"], f"{r['QSSEQ']:.0f}", "LESROLE")]
        site = supp[(r["USUBJID"], f"{r['QSSEQ']:.0f}", "LESSITE")]
        assert (role, site) in {("treated", "left forearm"), ("control", "right forearm")}
    assert {r["IDVAR"] for r in tables["SUPPQS"]} == {"QSSEQ"}
    not_done = [r for r in qs if r["QSSTAT"] == "NOT DONE"]
    assert all(r["QSREASND"].startswith("not required: lesion resolved") for r in not_done)

    sv = {(r["USUBJID"], r["VISIT"]): r for r in tables["SV"]}
    assert sv[(u1, "MONTH 3 (END OF STUDY)")]["VISITDY"] == 91
    assert sv[(u1, "MONTH 3 (END OF STUDY)")]["SVSTDY"] == 91
    assert {r["DSDECOD"] for r in tables["DS"]} >= {"INFORMED CONSENT OBTAINED", "ENROLLED"}
    (consented,) = [
        r
        for r in tables["DS"]
        if r["USUBJID"] == u1 and r["DSDECOD"] == "INFORMED CONSENT OBTAINED"
    ]
    assert consented["DSSTDTC"] == dm[u1]["RFICDTC"]
    assert len(dm[u1]["RFICDTC"]) == 10

    ta = [r for r in tables["TA"] if r["ARMCD"] == "G50"]
    assert [r["EPOCH"] for r in ta] == ["SCREENING", "TREATMENT", "FOLLOW-UP"]
    assert {r["ETCD"] for r in tables["TE"]} == {"SCRN", "G50", "G100", "G200", "FU"}
    tv = {r["VISIT"]: r for r in tables["TV"]}
    assert tv["WEEK 1"]["VISITDY"] == 8
    assert tv["SCREENING"]["VISITDY"] is None
    ti = {r["IETESTCD"]: r for r in tables["TI"]}
    assert ti["I1"]["IECAT"] == "INCLUSION"
    assert ti["E1"]["IECAT"] == "EXCLUSION"
    ts = {(r["TSPARMCD"], r["TSSEQ"]): r["TSVAL"] for r in tables["TS"]}
    assert ts[("REGID", 1)] == "IRCT20080901001159N29"
    assert ts[("TPHASE", 1)] == "PHASE I TRIAL"
    assert ts[("TBLIND", 1)] == "OPEN LABEL"
    assert ts[("PLANSUB", 1)] == "12"
    assert ts[("AGEMIN", 1)] == "P18Y"
    assert tables["CM"] == []  # no study form records concomitant medications

    # as of the day before the adverse event and the vital signs were entered: neither
    early = tmp_path / "early"
    export(db, ctx, PAE, "sdtm", early, as_of=datetime(2025, 3, 19))
    assert _read(early, "AE")[0] == []
    assert [r for r in _read(early, "VS")[0] if r["USUBJID"] == u1] == []
    assert len(_read(early, "DM")[0]) == 2

    # define.xml: valid Define-XML 2.0, one ItemGroupDef per file, its variables in order
    mdv = check_define(out, define_schema)
    assert mdv.get(f"{{{DEF}}}StandardName") == "SDTM-IG"
    items = {i.get("OID"): i for i in mdv.iter(f"{{{ODM}}}ItemDef")}
    for group in mdv.iter(f"{{{ODM}}}ItemGroupDef"):
        code = group.get("Name", "")
        refs = [r.get("ItemOID") for r in group.iter(f"{{{ODM}}}ItemRef")]
        assert refs == [f"IT.{code}.{c.name}" for c in DOMAINS[code].columns]
        leaf = group.find(f"{{{DEF}}}leaf")
        assert leaf is not None
        assert (out / leaf.get("{http://www.w3.org/1999/xlink}href", "")).exists()
        for ref in refs:
            assert ref in items
    aeterm = items["IT.AE.AETERM"]
    assert aeterm.get("Length") == str(len("Injection site erythema"))
    _check_define_content(mdv)

    # R's haven reads DM and the supplemental qualifiers back whole
    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed (.ci/run installs r-cran-haven)")
    some = tmp_path / "for-r"
    some.mkdir()
    read = ("DM", "SUPPAE", "SUPPQS")
    for code in read:
        shutil.copy(out / f"{code.lower()}.xpt", some / f"{code.lower()}.xpt")
    tsv = tmp_path / "r.tsv"
    done = subprocess.run(
        ["Rscript", str(R_SCRIPT), str(some), str(tsv)], capture_output=True, text=True
    )
    if done.returncode != 0 and "haven" in done.stderr:
        pytest.skip("R's haven is not installed")
    assert done.returncode == 0, done.stderr
    got: dict[tuple[str, int, str], str] = {}
    for line in tsv.read_text(encoding="utf-8").splitlines():
        file, row, var, value = line.split("\t")
        got[(Path(file).stem.upper(), int(row), var)] = value
    for code in read:
        for n, r in enumerate(tables[code], start=1):
            for var, x in r.items():
                want = "" if x is None else f"{x:.15g}" if isinstance(x, float) else x
                assert got[(code, n, var)] == want, (code, n, var)


def test_sdtm_of_a_blinded_reader_has_no_arm(
    db: Database,
    ctx: Context,
    person: People,
    screened: Screened,
    masked: str,  # noqa: F811
    tmp_path: Path,
    define_schema: Any,
) -> None:
    """A blinded statistician of a double-blind study: every arm BLINDED, in DM and nowhere
    else; the trial design (from the protocol) is whole, and define.xml stays valid."""
    code = screened(MASKED, like=UCM)
    enrol(db, ctx, MASKED, code)
    blind = person("blind", MASKED, Role.STATISTICIAN)
    export(db, blind, MASKED, "sdtm", tmp_path)
    (dm,) = _read(tmp_path, "DM")[0]
    assert (dm["ARMCD"], dm["ARM"], dm["ACTARMCD"]) == ("BLINDED", "BLINDED", "NOTTRT")
    assert dm["SEX"] == "F"
    assert dm["AGE"] == 44
    ts = {r["TSPARMCD"]: r["TSVAL"] for r in _read(tmp_path, "TS")[0]}
    assert ts["TBLIND"] == "DOUBLE BLIND"
    vs = {r["VSTESTCD"]: r["VSORRES"] for r in _read(tmp_path, "VS")[0]}
    assert vs["WEIGHT"] == "70"  # a vital sign on the screening form
    check_define(tmp_path, define_schema)


def _check_define_content(mdv: ET.Element) -> None:
    """What the define.xml of the filled study says: CDISC terms with their NCI codes, the
    protocol's own code lists marked sponsor-defined, value-level metadata per test code, the
    scores' methods from trialkit.instruments, and the comments on the sponsor's decisions."""
    o, d = f"{{{ODM}}}", f"{{{DEF}}}"
    lists = {c.get("OID"): c for c in mdv.iter(f"{o}CodeList")}
    sex = lists["CL.SEX"]
    assert [a.get("Name") for a in sex.findall(f"{o}Alias")] == ["C66731"]
    (male,) = [t for t in sex if t.get("CodedValue") == "M"]
    assert male.find(f"{o}Alias").get("Name") == "C20197"  # type: ignore[union-attr]
    role = lists["CL.LESION_ROLE"]
    assert "Sponsor-defined: the protocol's code list LESION_ROLE" in "".join(role.itertext())
    assert role.find(f"{o}Alias") is None
    decodes = {t.get("CodedValue"): "".join(t.itertext()) for t in role.iter(f"{o}CodeListItem")}
    assert decodes == {
        "control": "Untreated control lesion",
        "treated": "Treated (injected) lesion",
    }
    vstest = {t.get("CodedValue"): t for t in lists["CL.VSTESTCD"]}
    assert vstest["SYSBP"].get(f"{d}ExtendedValue") is None
    items = {i.get("OID"): i for i in mdv.iter(f"{o}ItemDef")}
    sysbp = items["IT.VS.VSORRES.SYSBP"]
    assert (sysbp.get("DataType"), sysbp.get("Length")) == ("integer", "3")
    assert sysbp.find(f"{d}Origin").get("Type") == "CRF"  # type: ignore[union-attr]
    temp = items["IT.VS.VSORRES.TEMP"]
    assert (temp.get("DataType"), temp.get("Length")) == ("float", "5")  # 36.80
    (pasi,) = [
        i
        for oid, i in items.items()
        if (oid or "").startswith("IT.QS.QSORRES.")
        and i.find(f"{d}Origin").get("Type") == "Derived"  # type: ignore[union-attr]
    ]
    assert "".join(pasi.itertext()) == "PASI"  # the derived score's label
    methods = {m.get("OID"): "".join(m.itertext()) for m in mdv.iter(f"{o}MethodDef")}
    assert "computed by trialkit.instruments (pasi)" in methods["MT.INSTRUMENT.PASI"]
    assert "no day 0" in methods["MT.STUDYDAY"]
    refs = {r.get("ItemOID"): r for r in mdv.iter(f"{o}ItemRef")}
    assert refs["IT.VS.VSDY"].get("MethodOID") == "MT.STUDYDAY"
    assert refs["IT.QS.EPOCH"].get("MethodOID") == "MT.EPOCH"
    assert refs[pasi.get("OID")].get("MethodOID") == "MT.INSTRUMENT.PASI"
    assert items["IT.AE.AEDECOD"].get(f"{d}CommentOID") == "COM.MEDDRA"
    comments = {c.get("OID"): "".join(c.itertext()) for c in mdv.iter(f"{d}CommentDef")}
    assert "MedDRA" in comments["COM.MEDDRA"]
    qval = items["IT.SUPPAE.QVAL.AEINJSIT"]
    assert qval.find(f"{o}CodeListRef").get("CodeListOID") == "CL.NY"  # type: ignore[union-attr]
    groups = {g.get("Name"): g for g in mdv.iter(f"{o}ItemGroupDef")}
    assert (groups["SUPPAE"].get("Domain"), groups["SUPPAE"].get(f"{d}Class")) == (
        "AE",
        "RELATIONSHIP",
    )


def test_epoch_of_a_date() -> None:
    from trialkit.exports.sdtm import epoch

    ref = date(2025, 3, 11)
    assert epoch("2025-03-10", ref, 0, True) == "SCREENING"
    assert epoch("2025-03-11T10:30", ref, 0, True) == "TREATMENT"
    assert epoch("2025-03-12", ref, 0, True) == "FOLLOW-UP"
    assert epoch("2025-03-12", ref, 1, True) == "TREATMENT"  # the last dosing day
    assert epoch("2025-06-12", ref, 0, False) == "TREATMENT"  # no follow-up element
    assert epoch("", ref, 0, True) == ""
    assert epoch("2025-03-12", None, 0, True) == ""


def test_unscheduled_visit_numbers_and_medications() -> None:
    """An unscheduled visit numbers after the last scheduled visit before it (+0.01 each);
    a row with ``cm_trt`` is a CM record with its dose in UCUM."""
    from types import SimpleNamespace

    from trialkit.exports.sdtm import Tables
    from trialkit.protocol.loader import resolve_study
    from trialkit.services.extract import Value

    study = resolve_study(PAE)
    tables = Tables(SimpleNamespace(study=study, versions={"1.0": study}))  # type: ignore[arg-type]
    dates = {("P", "SCR"): "2025-03-01", ("P", "D1"): "2025-03-11"}
    dates |= {("P", "UNS-001"): "2025-03-13", ("P", "UNS-002"): "2025-03-14"}
    assert tables._visitnum("P", "UNS-001", dates) == 2.01
    assert tables._visitnum("P", "UNS-002", dates) == 2.02
    assert tables._visit_name("UNS-002") == "UNSCHEDULED 2"
    tables.ref["P"] = date(2025, 3, 11)
    cells = {
        name: Value(
            "P",
            "TEH",
            "G50",
            "UNS-001",
            "2025-03-13",
            "CONMED",
            "1.1",
            "CM",
            name,
            text,
            "",
            "",
            "1.0",
        )
        for name, text in (
            ("cm_trt", "Paracetamol"),
            ("cm_dose", "500"),
            ("cm_dose_unit", "mg"),
            ("cm_route", "oral"),
            ("cm_start", "2025-03-10"),
        )
    }
    tables._cm(cells)
    (cm,) = tables.rows["CM"]
    assert (cm["CMTRT"], cm["CMDOSE"], cm["CMDOSU"], cm["CMROUTE"]) == (
        "Paracetamol",
        500.0,
        "mg",
        "ORAL",
    )
    assert cm["CMSTDY"] == -1


def test_laboratory_ranges_by_sex() -> None:
    """A sex-specific range is used for that sex (over a range for both), exactly."""
    from decimal import Decimal
    from types import SimpleNamespace

    from trialkit.exports.sdtm import Tables
    from trialkit.protocol.loader import resolve_study
    from trialkit.protocol.study import ReferenceRange

    study = resolve_study(PAE)
    ranges = [
        ReferenceRange(item="creatinine", unit="mg/dL", upper=Decimal("1.1"), sex="female"),
        ReferenceRange(item="creatinine", unit="mg/dL", lower=Decimal("0.6"), upper=Decimal("1.3")),
    ]
    study = study.model_copy(update={"reference_ranges": ranges})
    tables = Tables(SimpleNamespace(study=study, versions={}))  # type: ignore[arg-type]
    creatinine = study.items()["creatinine"]
    assert tables._range(creatinine, "1.2", "female") == ("", "1.1", "HIGH")
    assert tables._range(creatinine, "1.2", "male") == ("0.6", "1.3", "NORMAL")
    assert tables._range(creatinine, "1.30", "") == ("0.6", "1.3", "NORMAL")  # the boundary
    assert tables._range(creatinine, "0.59", "") == ("0.6", "1.3", "LOW")


def test_domain_metadata_is_complete() -> None:
    """Every derived variable names a method, every method, code list and comment named
    exists, and the supplemental qualifiers keep SAS's limits (QNAM 8, QLABEL 40)."""
    from trialkit.exports.sdtm_domains import SUPP_QUALIFIERS
    from trialkit.exports.sdtm_terms import CODELISTS, COMMENTS, METHODS

    for domain in DOMAINS.values():
        assert len(domain.code) <= 8
        for c in domain.columns:
            assert (c.origin == "Derived") <= bool(c.method), (domain.code, c.name)
            assert not c.method or c.method in METHODS, c
            assert not c.codelist or c.codelist in CODELISTS, c
            assert not c.comment or c.comment in COMMENTS, c
    for qnam, (parent, label, _, codelist) in SUPP_QUALIFIERS.items():
        assert len(qnam) <= 8
        assert qnam.isupper()
        assert len(label) <= 40
        assert f"SUPP{parent}" in DOMAINS
        assert not codelist or codelist in CODELISTS
