"""The project's description, generated from the protocol: REDCap's ``version``, ``project``,
``metadata`` (the 18-column data dictionary), ``instrument``, ``event``, ``arm``,
``formEventMapping``, ``repeatingFormsEvents`` and ``exportFieldNames`` contents.

Each function returns the columns and the rows (every value a string). Nothing here reads
participant data.
"""

from __future__ import annotations

from trialkit.protocol import Study
from trialkit.protocol.forms import DataType
from trialkit.web.redcap.mapping import RECORD_FIELD, ProjectMap

__all__ = [
    "API_VERSION",
    "METADATA_COLUMNS",
    "Rows",
    "arms",
    "data_dictionary",
    "events",
    "export_field_names",
    "form_event_mapping",
    "instruments",
    "project",
    "repeating_forms_events",
]

#: The REDCap version whose API this endpoint follows (``content=version``).
API_VERSION = "14.0.0"

METADATA_COLUMNS = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)

Rows = tuple[tuple[str, ...], list[dict[str, str]]]

_VALIDATION = {
    DataType.INTEGER: "integer",
    DataType.DECIMAL: "number",
    DataType.DATE: "date_ymd",
    DataType.DATETIME: "datetime_seconds_ymd",
}


def _num(value: object) -> str:
    return "" if value is None else str(value)


def data_dictionary(pm: ProjectMap, fields: list[str], forms: list[str]) -> Rows:
    """The data dictionary, limited to ``fields`` and ``forms`` when given (unknown names are
    refused by the caller)."""
    study = pm.study
    rows: list[dict[str, str]] = []
    if pm.instruments and (not forms or pm.record_instrument in forms):
        rows.append(
            {
                **dict.fromkeys(METADATA_COLUMNS, ""),
                "field_name": RECORD_FIELD,
                "form_name": pm.record_instrument,
                "field_type": "text",
                "field_label": "Participant",
                "field_annotation": "the participant code",
            }
        )
    last_group: tuple[str, str] | None = None
    for f in pm.fields:
        if (forms and f.instrument not in forms) or (fields and f.name not in fields):
            continue
        item = f.item
        group = next(g for g in f.form.groups if g.id == f.group_id)
        header = ""
        if (f.instrument, f.group_id) != last_group and len(f.form.groups) > 1:
            header = group.name
        last_group = (f.instrument, f.group_id)
        row = dict.fromkeys(METADATA_COLUMNS, "")
        row.update(
            field_name=f.name,
            form_name=f.instrument,
            section_header=header,
            field_label=item.label,
            field_note=item.unit or "",
            required_field="y" if item.required and not item.derived else "",
        )
        if item.derived:
            row.update(
                field_type="calc",
                field_annotation=f"@READONLY computed by trialkit ({item.derived})",
            )
        elif item.data_type is DataType.BOOLEAN:
            row["field_type"] = "yesno"
        elif item.data_type is DataType.CODE:
            cl = study.codelist(item.codelist or "")
            row.update(
                field_type="radio",
                select_choices_or_calculations=" | ".join(
                    f"{c.code}, {c.label}" for c in (cl.items if cl else ())
                ),
            )
        else:
            row.update(
                field_type="text",
                text_validation_type_or_show_slider_number=_VALIDATION.get(item.data_type, ""),
                text_validation_min=_num(item.min),
                text_validation_max=_num(item.max),
            )
        rows.append(row)
    return METADATA_COLUMNS, rows


def project(pm: ProjectMap, study_code: str) -> Rows:
    study: Study = pm.study
    ident = study.identity
    columns = (
        "project_title",
        "creation_time",
        "production_time",
        "in_production",
        "project_language",
        "purpose",
        "purpose_other",
        "project_notes",
        "custom_record_label",
        "secondary_unique_field",
        "is_longitudinal",
        "has_repeating_instruments_or_events",
        "surveys_enabled",
        "scheduling_enabled",
        "record_autonumbering_enabled",
        "randomization_enabled",
        "ddp_enabled",
        "project_irb_number",
        "project_grant_number",
        "project_pi_firstname",
        "project_pi_lastname",
        "display_today_now_button",
        "missing_data_codes",
        "external_modules",
        "bypass_branching_erase_field_prompt",
    )
    row = dict.fromkeys(columns, "")
    row.update(
        project_title=ident.public_title or ident.scientific_title,
        in_production="1",
        project_language="English",
        purpose="2",
        project_notes=f"trialkit study {study_code}, protocol version {study.protocol_version}",
        is_longitudinal="1",
        has_repeating_instruments_or_events="1"
        if pm.unscheduled_event or any(i.repeating for i in pm.instruments)
        else "0",
        surveys_enabled="0",
        scheduling_enabled="0",
        record_autonumbering_enabled="0",
        randomization_enabled="1" if len(study.arms) > 1 else "0",
        ddp_enabled="0",
        project_irb_number=", ".join(e.reference for e in ident.ethics if e.reference),
        display_today_now_button="1",
        missing_data_codes="not_done, Not done | not_applicable, Not applicable | unknown, Unknown",
        bypass_branching_erase_field_prompt="0",
    )
    return columns, [row]


def instruments(pm: ProjectMap, forms: list[str]) -> Rows:
    return ("instrument_name", "instrument_label"), [
        {"instrument_name": i.name, "instrument_label": i.label}
        for i in pm.instruments
        if not forms or i.name in forms
    ]


def arms(pm: ProjectMap) -> Rows:
    """One arm: REDCap's arms are event schedules; a trialkit study has one schedule."""
    return ("arm_num", "name"), [{"arm_num": "1", "name": "Arm 1"}]


def events(pm: ProjectMap) -> Rows:
    columns = (
        "event_name",
        "arm_num",
        "unique_event_name",
        "custom_event_label",
        "event_id",
        "days_offset",
        "offset_min",
        "offset_max",
    )
    visits = {v.id: v for v in pm.study.timeline.visits}
    rows = []
    for n, (unique, visit_id, name) in enumerate(pm.events, start=1):
        v = visits.get(visit_id)
        if v is None:  # the unscheduled event: no offset, no window
            rows.append(
                {
                    **dict.fromkeys(columns, ""),
                    "event_name": name,
                    "arm_num": "1",
                    "unique_event_name": unique,
                    "event_id": str(n),
                }
            )
            continue
        rows.append(
            {
                "event_name": name,
                "arm_num": "1",
                "unique_event_name": unique,
                "custom_event_label": "",
                "event_id": str(n),
                "days_offset": str(v.offset.days),
                "offset_min": str(abs(v.window.lower)),
                "offset_max": str(v.window.upper),
            }
        )
    return columns, rows


def form_event_mapping(pm: ProjectMap) -> Rows:
    rows = []
    for unique, visit_id, _ in pm.events:
        for form_id in pm.visit_forms[visit_id]:
            for inst in pm.instruments_of.get(form_id, ()):
                rows.append({"arm_num": "1", "unique_event_name": unique, "form": inst.name})
    return ("arm_num", "unique_event_name", "form"), rows


def repeating_forms_events(pm: ProjectMap) -> Rows:
    """REDCap's shape: a repeating instrument at an event (``form_name`` and its label), and a
    repeating event (``form_name`` empty: the unscheduled visits)."""
    rows = []
    for unique, visit_id, _ in pm.events:
        if unique == pm.unscheduled_event:
            rows.append({"event_name": unique, "form_name": "", "custom_form_label": ""})
        for form_id in pm.visit_forms[visit_id]:
            for inst in pm.instruments_of.get(form_id, ()):
                if inst.repeating:
                    rows.append(
                        {"event_name": unique, "form_name": inst.name, "custom_form_label": ""}
                    )
    return ("event_name", "form_name", "custom_form_label"), rows


def export_field_names(pm: ProjectMap, field: str) -> Rows:
    names = [RECORD_FIELD, *(f.name for f in pm.fields)]
    return ("original_field_name", "choice_value", "export_field_name"), [
        {"original_field_name": n, "choice_value": "", "export_field_name": n}
        for n in names
        if not field or n == field
    ]
