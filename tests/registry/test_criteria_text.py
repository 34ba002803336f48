from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialkit.registry.criteria_text import (
    match_passages,
    split_ctgov_criteria,
    split_run_on,
    split_summary,
)


def test_run_on_cuts_before_a_capitalised_word_after_a_lowercase_one() -> None:
    assert split_run_on("Age over 18 years Written consent given") == [
        "Age over 18 years",
        "Written consent given",
    ]


def test_run_on_keeps_joined_words_parentheses_and_possessives() -> None:
    assert split_run_on("Hepatitis B, C or HIV") == ["Hepatitis B, C or HIV"]
    assert split_run_on("Severe disease (including Liver failure)") == [
        "Severe disease (including Liver failure)"
    ]
    assert split_run_on("Highly active Crohn's disease") == ["Highly active Crohn's disease"]
    assert split_run_on("disease of the Liver") == ["disease of the Liver"]


def test_run_on_cuts_after_an_abbreviation_digit_or_parenthesis() -> None:
    assert split_run_on("HIV Patients with malignancy") == ["HIV", "Patients with malignancy"]
    assert split_run_on("(grade 1-3) PASI 3-12 No response") == [
        "(grade 1-3)",
        "PASI 3-12",
        "No response",
    ]


@pytest.mark.parametrize(
    ("line", "items"),
    [
        # a lower-case head after a number that ends the previous item
        (
            "creatinine more than 2 high and uncontrolled blood pressure",
            ["creatinine more than 2", "high and uncontrolled blood pressure"],
        ),
        ("ALT above 40 diabetes", ["ALT above 40", "diabetes"]),
        # ... but not after a number that labels what follows
        ("type 2 diabetes mellitus", ["type 2 diabetes mellitus"]),
        ("grade 3 uncontrolled hypertension", ["grade 3 uncontrolled hypertension"]),
        # a lower-case head after a closed X-or-Y pair
        (
            "Pregnancy or lactation diabetes mellitus",
            ["Pregnancy or lactation", "diabetes mellitus"],
        ),
        ("smoking and alcohol history of stroke", ["smoking and alcohol", "history of stroke"]),
        # ... but not after an adjective or a joining word
        ("Poorly uncontrolled diabetes", ["Poorly uncontrolled diabetes"]),
        ("Patients with diabetes", ["Patients with diabetes"]),
        ("Pregnancy or lactation", ["Pregnancy or lactation"]),
        ("Infection (or fever diabetes)", ["Infection (or fever diabetes)"]),
        # a duration closes an item: one lower-case word after it moves to the next item
        (
            "Psoriasis for at least 6 months plaque Mild to moderate",
            ["Psoriasis for at least 6 months", "plaque Mild to moderate"],
        ),
        ("Onset 2 years Severe disease", ["Onset 2 years", "Severe disease"]),
        ("Onset 2 years ago Severe", ["Onset 2 years ago", "Severe"]),
        ("Onset of 2 days old skin Severe", ["Onset of 2 days old skin", "Severe"]),
        ("6 months plaque Mild", ["6 months plaque", "Mild"]),
    ],
)
def test_run_on_lower_case_heads_and_durations(line: str, items: list[str]) -> None:
    assert split_run_on(line) == items


@given(
    st.lists(
        st.sampled_from(
            [
                "alpha",
                "beta",
                "Gamma",
                "DELTA",
                "(x",
                "y)",
                "and",
                "3",
                ",",
                "or",
                "diabetes",
                "months",
                "type",
                "history",
                "of",
            ]
        ),
        max_size=30,
    )
)
def test_run_on_loses_and_invents_no_words(words: list[str]) -> None:
    line = " ".join(words)
    assert " ".join(split_run_on(line)).split() == line.split()


def test_summary_splits_inclusion_and_exclusion() -> None:
    inc, exc = split_summary("Inclusion criteria: a, b. Exclusion Criteria: c")
    assert (inc, exc) == ("a, b.", "c")


def test_passages_join_adjacent_fragments_and_report_ties() -> None:
    criteria = ["No new lesion during past 3 months", "Other disease", "Disabling disease"]
    matched, unmatched = match_passages(
        "no lesion, or increase of lesion in 6 months, debilitating disease", criteria
    )
    assert matched == {0: ["no lesion, or increase of lesion in 6 months"]}
    assert unmatched == ["debilitating disease"]


def test_ctgov_lists_keep_sub_items_with_their_item() -> None:
    text = (
        "Key Inclusion Criteria:\n\n1. Adults\n2. Women not pregnant if:\n\n   1. after menopause\n"
        "   2. sterile\n3. Consent \\>18\n\n"
        "Exclusion Criteria:\n\n* Cancer\n* -\n\nNot all are listed."
    )
    lists = split_ctgov_criteria(text)
    assert lists.inclusion == [
        "Adults",
        "Women not pregnant if:\n1. after menopause\n2. sterile",
        "Consent >18",
    ]
    assert lists.exclusion == ["Cancer"]
    assert lists.other == ["Not all are listed."]


# -- criteria as registries write them (split_criteria) ------------------------------------------


def test_headings_other_than_inclusion_exclusion_criteria() -> None:
    from trialkit.registry import split_criteria

    text = (
        "Eligibility criteria:\n- Adults\n- Consent given\n\n"
        "Participants must not:\n- Be pregnant\n"
    )
    lists = split_criteria(text)
    assert lists.inclusion == ["Adults", "Consent given"]
    assert lists.exclusion == ["Be pregnant"]
    key = split_criteria("Key inclusion criteria\n1. PASI > 7\n\nKey Exclusion Criteria\n1. HIV")
    assert (key.inclusion, key.exclusion) == (["PASI > 7"], ["HIV"])
    must = split_criteria("Participants must:\n* be 18 or older\n* have psoriasis")
    assert must.inclusion == ["be 18 or older", "have psoriasis"]


def test_sub_group_headings_are_the_criteria_group() -> None:
    from trialkit.registry import split_criteria

    text = (
        "Inclusion Criteria:\n\nFor adult participants:\n- Age 18 to 65\n- BMI < 35\n"
        "For paediatric participants:\n- Age 6 to 17\n\nExclusion Criteria:\n- Cancer"
    )
    lists = split_criteria(text)
    assert lists.inclusion == ["Age 18 to 65", "BMI < 35", "Age 6 to 17"]
    assert lists.groups == {
        ("inclusion", 0): "For adult participants",
        ("inclusion", 1): "For adult participants",
        ("inclusion", 2): "For paediatric participants",
    }
    assert lists.exclusion == ["Cancer"]


def test_criteria_numbered_on_one_line() -> None:
    from trialkit.registry import split_criteria, split_numbered

    assert split_numbered("1. Adults 2. PASI 3-12 for 1.5 years 3. Consent") == [
        "1. Adults",
        "2. PASI 3-12 for 1.5 years",
        "3. Consent",
    ]
    # a number out of the sequence is not a cut
    assert split_numbered("1. Creatinine < 1.5 mg/dL on 2 occasions 4. x") == [
        "1. Creatinine < 1.5 mg/dL on 2 occasions 4. x"
    ]
    lists = split_criteria("Inclusion criteria: 1. Aged 20 to 82 2. Consent 3. NIS >= 10")
    assert lists.inclusion == ["Aged 20 to 82", "Consent", "NIS >= 10"]


def test_an_exclusion_written_inside_the_inclusion_list() -> None:
    from trialkit.registry import split_criteria

    lists = split_criteria(
        "Inclusion Criteria:\n1. Adults\n2. Exclusion: pregnant or lactating women\n3. Consent"
    )
    assert lists.inclusion == ["Adults", "Consent"]
    assert lists.exclusion == ["pregnant or lactating women"]
    said = split_criteria(
        "Inclusion Criteria:\n- Adults\n- Patients with HIV will be excluded\n"
        "- Prior biologics are not excluded"
    )
    assert said.inclusion == ["Adults", "Prior biologics are not excluded"]
    assert said.exclusion == ["Patients with HIV will be excluded"]


def test_a_line_after_a_heading_that_explains_it() -> None:
    from trialkit.registry import split_criteria

    text = (
        "Inclusion Criteria:\n"
        "Participants are eligible to be included only if all of the following criteria apply:\n"
        "1. Age 18 or over\n"
        "Exclusion Criteria:\n"
        "Participants are excluded if any of the following apply:\n"
        "- Pregnancy"
    )
    lists = split_criteria(text)
    assert lists.inclusion == ["Age 18 or over"]
    assert lists.exclusion == ["Pregnancy"]
    assert lists.other == [
        "Participants are eligible to be included only if all of the following criteria apply:",
        "Participants are excluded if any of the following apply:",
    ]


def test_a_sub_list_without_indentation_stays_with_its_item() -> None:
    from trialkit.registry import split_criteria

    lists = split_criteria(
        "Inclusion criteria:\n1. Adults\n2. Disease defined by all of the following:\n"
        "- Stage 1 or 2\n- TTR mutation\n3. Consent"
    )
    assert lists.inclusion == [
        "Adults",
        "Disease defined by all of the following:\n- Stage 1 or 2\n- TTR mutation",
        "Consent",
    ]


def test_nci_style_characteristics_are_groups_of_inclusion_criteria() -> None:
    from trialkit.registry import split_criteria

    lists = split_criteria(
        "DISEASE CHARACTERISTICS:\n\nStage IIIB lung cancer\n\nPATIENT CHARACTERISTICS:\n\n"
        "Age:\n\nNot specified\n\nHepatic:\n\nBilirubin < 1.5 mg/dL\n"
    )
    assert lists.inclusion == ["Stage IIIB lung cancer", "Bilirubin < 1.5 mg/dL"]
    assert lists.groups == {
        ("inclusion", 0): "DISEASE CHARACTERISTICS",
        ("inclusion", 1): "PATIENT CHARACTERISTICS: Hepatic",
    }
    assert lists.other == ["Not specified"]


def test_ictrp_fields_default_to_their_kind() -> None:
    from trialkit.registry import split_criteria

    lists = split_criteria("Pregnancy\nSevere liver disease", default="exclusion")
    assert lists.exclusion == ["Pregnancy", "Severe liver disease"]


def test_a_heading_inside_a_line_cuts_it() -> None:
    from trialkit.registry import split_criteria

    lists = split_criteria(
        "Inclusion criteria: Age 18-65; Psoriasis. Exclusion criteria: Pregnancy",
        default="inclusion",
    )
    assert (lists.inclusion, lists.exclusion) == (["Age 18-65; Psoriasis"], ["Pregnancy"])
    key = split_criteria("Key inclusion criteria: adults Key Exclusion Criteria: cancer")
    assert (key.inclusion, key.exclusion, key.other) == (["adults"], ["cancer"], [])
