"""A command without documentation fails the build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from trialkit.cli import app

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"


def _commands(group: Any, prefix: str) -> list[str]:
    if hasattr(group, "commands"):
        out: list[str] = []
        for name, sub in group.commands.items():
            out += _commands(sub, f"{prefix} {name}")
        return out
    return [prefix]


def test_every_command_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    commands = _commands(typer.main.get_command(app), "trialkit")
    assert len(commands) >= 5
    missing = [c for c in commands if f"## `{c}" not in text]
    assert not missing, f"docs/cli.md has no section for {missing}"
