from __future__ import annotations

from pathlib import Path

import pytest

import trialkit.instruments as pkg
from trialkit.errors import NotFound
from trialkit.instruments import INSTRUMENTS, get_instrument

DOCS = Path(__file__).resolve().parents[2] / "docs" / "instruments"


def test_all_is_complete_and_resolves() -> None:
    public = {
        name
        for name, value in vars(pkg).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("trialkit")
    }
    public |= {n for n in vars(pkg) if n.isupper() and not n.startswith("_")}
    assert public <= set(pkg.__all__)
    for name in pkg.__all__:
        assert hasattr(pkg, name), name
    assert len(pkg.__all__) == len(set(pkg.__all__))


@pytest.mark.parametrize("name", list(INSTRUMENTS))
def test_every_instrument_has_a_docs_page(name: str) -> None:
    page = DOCS / f"{name}.md"
    assert page.is_file(), f"docs/instruments/{name}.md is missing"
    text = page.read_text(encoding="utf-8")
    assert INSTRUMENTS[name].version in text, f"{page.name} does not state the version"
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    assert f"({name}.md)" in index, f"docs/instruments/README.md does not link {name}.md"


@pytest.mark.parametrize("name", list(INSTRUMENTS))
def test_items_are_unique_and_described(name: str) -> None:
    inst = INSTRUMENTS[name]
    names = [i.name for i in inst.items]
    assert len(names) == len(set(names))
    assert inst.version
    assert inst.reference
    assert inst.name == name


@pytest.mark.parametrize("name", [n for n in INSTRUMENTS if n != "lesion_grade"])
def test_nothing_entered_gives_no_score_with_a_reason(name: str) -> None:
    result = INSTRUMENTS[name].score({})
    assert result.value is None
    assert result.reason
    assert result.version == INSTRUMENTS[name].version


def test_get_instrument_unknown_lists_names() -> None:
    with pytest.raises(NotFound) as info:
        get_instrument("pasi75")
    assert "pasi" in str(info.value)
    assert info.value.code == "INSTR.E404"
    assert get_instrument(" PASI ") is INSTRUMENTS["pasi"]


def test_mapping_is_read_only() -> None:
    with pytest.raises(TypeError):
        INSTRUMENTS["x"] = INSTRUMENTS["pasi"]  # type: ignore[index]


@pytest.mark.parametrize("name", list(INSTRUMENTS))
def test_docs_page_lists_every_item(name: str) -> None:
    text = (DOCS / f"{name}.md").read_text(encoding="utf-8")
    for item in INSTRUMENTS[name].items:
        assert f"`{item.name}`" in text, f"{name}.md does not describe item {item.name}"
    for option in INSTRUMENTS[name].options:
        assert f"`{option.name}`" in text, f"{name}.md does not describe option {option.name}"
