"""A command or option without documentation fails the build."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from trialkit.cli import app

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"


def _commands(group: Any, prefix: str, ctx: Any) -> list[tuple[str, Any]]:
    if hasattr(group, "list_commands"):
        out: list[tuple[str, Any]] = []
        for name in group.list_commands(ctx):
            sub = group.get_command(ctx, name)
            out += _commands(sub, f"{prefix} {name}", ctx)
        return out
    return [(prefix, group)]


def _all() -> list[tuple[str, Any]]:
    root = typer.main.get_command(app)
    ctx = root.make_context("trialkit", [], resilient_parsing=True)
    return _commands(root, "trialkit", ctx)


def _section(text: str, command: str) -> str:
    start = text.index(f"## `{command}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_every_command_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    commands = [name for name, _ in _all()]
    assert len(commands) >= 20
    missing = [c for c in commands if f"## `{c}" not in text]
    assert not missing, f"docs/cli.md has no section for {missing}"


def test_every_option_is_documented_in_its_section() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = []
    for name, command in _all():
        section = _section(text, name)
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if (
                    opt.startswith("--")
                    and opt != "--help"
                    and not re.search(re.escape(opt) + r"\b", section)
                ):
                    missing.append(f"{name} {opt}")
    assert not missing, f"docs/cli.md does not document {missing}"
