"""No input makes the importers fail with anything but a coded error (never a traceback).

Truncated, binary, mutated and huge inputs, in every format, each give an ``ImportFailed``
with a stable ``IMPORT.E…`` code, or a draft.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialkit.errors import ImportFailed
from trialkit.registry import ImportBatch, import_bytes

Get = Callable[[str], Path]
FAST = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SAMPLES = [
    "ctgov_v2_NCT02210780.json",
    "ctgov_v2search_ILD_5studies.json",
    "ctgov_classicv1_NCT04356287.json",
    "ctgov_legacyxml_NCT05481619.xml",
    "ictrp_xml_JPRN-jRCT2071210009_EUCTR2019-001698-10-PT.xml",
    "ictrp_providerxml_PER-001-95.xml",
    "ictrp_json_ecrin_RPCEC00000014.json",
]


def _import(raw: bytes) -> ImportBatch | None:
    """Import ``raw``; an error must be coded. Returns the batch, or None when refused."""
    try:
        batch = import_bytes(raw, source="fuzz")
    except ImportFailed as exc:
        error: ImportFailed | None = exc
    else:
        error = None
    if error is not None:
        assert error.code.startswith("IMPORT.E"), error.code
        assert error.message
        return None
    for refused in batch.refused:
        assert refused.error.code.startswith("IMPORT.E")
    return batch


@FAST
@given(st.binary(max_size=2048))
def test_random_bytes(raw: bytes) -> None:
    _import(raw)


@FAST
@given(
    st.sampled_from([b"{", b"[", b"<", b"\xef\xbb\xbf{", b"<?xml version='1.0'?>", b"<trials>"]),
    st.binary(max_size=512),
)
def test_random_bytes_after_a_format_start(head: bytes, tail: bytes) -> None:
    _import(head + tail)


@pytest.mark.parametrize("name", SAMPLES)
def test_truncated_records(sample: Get, name: str) -> None:
    raw = sample(name).read_bytes()

    @FAST
    @given(st.integers(min_value=0, max_value=len(raw)))
    def run(cut: int) -> None:
        _import(raw[:cut])

    run()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            out += _paths(v, (*prefix, i))
    return out


@pytest.mark.parametrize(
    "name",
    [
        "ctgov_v2_NCT04207047.json",
        "ctgov_classicv1_NCT04356287.json",
        "ictrp_json_ecrin_RPCEC00000014.json",
    ],
)
def test_json_records_with_a_value_of_the_wrong_shape(sample: Get, name: str) -> None:
    data = json.loads(sample(name).read_text(encoding="utf-8"))
    paths = _paths(data)[1:]

    @FAST
    @given(st.sampled_from(paths), _JSON)
    def run(path: tuple[Any, ...], value: Any) -> None:
        doc = copy.deepcopy(data)
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        _import(json.dumps(doc).encode())

    run()


def test_deeply_nested_json_and_xml() -> None:
    depth = 100_000
    assert _import(b"[" * depth + b"]" * depth) is None
    assert _import(b'{"protocolSection": ' + b"[" * depth + b"]" * depth + b"}") is None
    nested = b"<clinical_study><brief_title>" + b"<a>" * depth + b"</a>" * depth
    _import(nested + b"</brief_title></clinical_study>")
    _import(
        b"<trials><trial><main>" + b"<a>" * depth + b"</a>" * depth + b"</main></trial></trials>"
    )


def test_huge_text_fields_are_read_in_bounded_time() -> None:
    """A record of about 4 MB whose criteria are one line of words, numbers and headings."""
    words = "Inclusion criteria: 1. Age > 18 years 2. Pregnant or lactating women 3) (a) x:y; "
    criteria = words * 50_000
    doc = {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT01234567", "briefTitle": "T" * 100_000},
            "descriptionModule": {"briefSummary": "A total of 30 patients " * 20_000},
            "designModule": {"studyType": "INTERVENTIONAL", "enrollmentInfo": {"count": 30}},
            "eligibilityModule": {"eligibilityCriteria": criteria},
        }
    }
    batch = _import(json.dumps(doc).encode())
    assert batch is not None
    assert batch.results[0].study.eligibility
