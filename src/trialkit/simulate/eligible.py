"""Screening values that make a candidate eligible in each shipped study, as entered.

One place for the demo, the simulation and the tests: :data:`ELIGIBLE` maps study -> form of
the screening visit -> item -> text, and every set passes the study's own criteria when the
candidate is screened on :data:`SCREENING_DAY` (2025-03-03); :func:`eligible_values` returns a
fresh copy, optionally dated another day (``screening_date`` moved, and the onset and diagnosis
dates kept far enough before it).

The values and why they pass:

* ``psoriasis-ucmsc``: age 44 (18 to 65), body surface area 12 % (above 10 %), vital signs with
  systolic above diastolic (edit check BP1).
* ``psoriasis-adipose-exosomes``: chronic plaque psoriasis since 2019-05-01 (at least 6
  months), lesion grade 2 (1 to 3), no response to standard treatment, every exclusion answered
  no, PASI 4.6 (3 to 12: trunk (2 + 2 + 1) x area 2 (12 %) x 0.3 = 3.0 plus lower limbs
  (2 + 1 + 1) x area 1 (8 %) x 0.4 = 1.6), ALT 32 and AST 28 U/L (below 3 x 40), creatinine
  0.9 mg/dL (not above 2).
* ``ibd-placental-exosomes``: Crohn's disease refractory to monoclonal antibodies, CDAI 455
  (above 450) and SES-CD 10 (8 or more); see the comments at :data:`CDAI_455` and
  :data:`SESCD_10`.
"""

from __future__ import annotations

import copy
from datetime import date

__all__ = [
    "CDAI_455",
    "ELIGIBLE",
    "IBD",
    "LABS_VALUES",
    "PAE",
    "PASI_4_6",
    "PSORIASIS_NO",
    "SCREENING_DAY",
    "SESCD_10",
    "UCM",
    "VITALS_VALUES",
    "eligible_values",
    "pasi_values",
]

UCM = "psoriasis-ucmsc"
PAE = "psoriasis-adipose-exosomes"
IBD = "ibd-placental-exosomes"

#: The day the values of :data:`ELIGIBLE` are dated (``screening_date``).
SCREENING_DAY = date(2025, 3, 3)

#: The yes/no exclusion questions of the adipose-exosome study's screening form (answered no).
PSORIASIS_NO = (
    "new_or_enlarging_lesions_3m",
    "immunosuppressant_use",
    "topical_treatment_use",
    "severe_underlying_disease",
    "uncontrolled_hypertension",
    "pregnant",
    "lactating",
    "diabetes",
    "hbv_positive",
    "hcv_positive",
    "hiv_positive",
    "immunodeficiency",
    "malignancy",
    "disabling_disease",
    "systemic_infection",
    "injection_site_infection",
)
_REGIONS = ("head", "upper_limbs", "trunk", "lower_limbs")


def pasi_values(**regions: tuple[int, int, int, int | str]) -> dict[str, str]:
    """PASI form values: region -> (erythema, induration, desquamation, area percent); a region
    not given is all 0."""
    out: dict[str, str] = {}
    for r in _REGIONS:
        e, i, d, a = regions.get(r, (0, 0, 0, 0))
        out |= {
            f"{r}_erythema": str(e),
            f"{r}_induration": str(i),
            f"{r}_desquamation": str(d),
            f"{r}_area_percent": str(a),
        }
    return out


#: Trunk (2 + 2 + 1) x area 2 (12 %) x 0.3 = 3.0 plus lower limbs (2 + 1 + 1) x 1 (8 %) x 0.4 =
#: 1.6: PASI 4.6, inside the adipose-exosome study's 3 to 12.
PASI_4_6 = pasi_values(trunk=(2, 2, 1, 12), lower_limbs=(2, 1, 1, 8))
VITALS_VALUES = {
    "systolic_bp": "120",
    "diastolic_bp": "80",
    "heart_rate": "72",
    "temperature": "36.6",
}
LABS_VALUES = {"alt": "32", "ast": "28", "creatinine": "0.9"}
#: CDAI 455 (above 450): stools 6/day x 7 x 2 = 84, pain 2/day x 7 x 5 = 70, well-being 3/day
#: x 7 x 7 = 147, two complications x 20 = 40, antidiarrhoeal 30, questionable mass 2 x 10 = 20,
#: hematocrit (47 - 38) x 6 = 54, weight 100 x (1 - 72/80) = 10.
CDAI_455 = {
    **{f"liquid_stools_day_{d}": "6" for d in range(1, 8)},
    **{f"abdominal_pain_day_{d}": "2" for d in range(1, 8)},
    **{f"general_wellbeing_day_{d}": "3" for d in range(1, 8)},
    "arthritis_arthralgia": "yes",
    "fever": "yes",
    "iritis_uveitis": "no",
    "skin_mouth_lesions": "no",
    "anal_fissure_fistula_abscess": "no",
    "other_fistula": "no",
    "antidiarrheal": "yes",
    "abdominal_mass": "2",
    "sex": "male",
    "hematocrit": "38",
    "weight": "72",
    "standard_weight": "80",
}
_SEGMENTS = ("ileum", "right_colon", "transverse_colon", "left_colon", "rectum")
#: SES-CD 10: ileum ulcers 3 + ulcerated surface 3 + affected surface 3 + narrowing 1.
SESCD_10 = {
    **{
        f"{seg}_{v}": "0"
        for seg in _SEGMENTS
        for v in ("ulcer_size", "ulcerated_surface", "affected_surface", "narrowing")
    },
    **{f"{seg}_reached": "yes" for seg in _SEGMENTS},
    "ileum_ulcer_size": "3",
    "ileum_ulcerated_surface": "3",
    "ileum_affected_surface": "3",
    "ileum_narrowing": "1",
}

#: study -> screening-visit form -> item -> value as entered (eligible on :data:`SCREENING_DAY`).
ELIGIBLE: dict[str, dict[str, dict[str, str]]] = {
    UCM: {
        "SCREEN": {
            "screening_date": SCREENING_DAY.isoformat(),
            "age": "44",
            "sex": "female",
            "weight": "70",
            "bsa_percent": "12",
        },
        "VITALS": VITALS_VALUES,
    },
    PAE: {
        "SCREEN": {
            "screening_date": SCREENING_DAY.isoformat(),
            "age": "40",
            "sex": "male",
            "psoriasis_type": "plaque",
            "psoriasis_onset_date": "2019-05-01",
            "lesion_grade": "2",
            "standard_treatment_failure": "yes",
            **dict.fromkeys(PSORIASIS_NO, "no"),
        },
        "PASI": PASI_4_6,
        "LABS": LABS_VALUES,
    },
    IBD: {
        "SCREEN": {
            "screening_date": SCREENING_DAY.isoformat(),
            "age": "52",
            "sex": "male",
            "weight": "72",
            "ibd_type": "crohns_disease",
            "ibd_diagnosis_date": "2019-05-01",
            "mab_refractory": "yes",
            "mab_intolerant": "no",
            "mab_contraindicated": "no",
            "isolated_ileal_disease": "no",
            "immunomodulator_use": "no",
        },
        "CDAI": CDAI_455,
        "SESCD": SESCD_10,
    },
}


def eligible_values(study: str, on: date | None = None) -> dict[str, dict[str, str]]:
    """A fresh copy of ``ELIGIBLE[study]`` (form -> item -> text), its ``screening_date`` set
    to ``on`` when given (the onset and diagnosis dates, 2019-05-01, stay more than 6 months
    before any day from 2020 on)."""
    try:
        values = copy.deepcopy(ELIGIBLE[study])
    except KeyError:
        raise KeyError(
            f"no eligible screening values for study {study!r}; known: {', '.join(ELIGIBLE)}"
        ) from None
    if on is not None:
        values["SCREEN"]["screening_date"] = on.isoformat()
    return values
