"""The msgids the web application uses, found in its templates and code.

``_("...")`` and ``_.plural("one", "other", n)`` calls in the templates and the web package's
modules, and the values of the
tables of words (:mod:`trialkit.web.labels`, the error titles and explanations of
:mod:`trialkit.web.errors`). ``scripts/web_messages.py`` adds the missing ones to the
catalogues; ``tests/web/test_i18n.py`` fails when a msgid has no Persian translation.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

__all__ = ["used_msgids"]

HERE = Path(__file__).parent
_CALL = re.compile(r"""\b_\(\s*"((?:[^"\\]|\\.)*)"|\b_\(\s*'((?:[^'\\]|\\.)*)'""")
_PLURAL = re.compile(r'\b_\.plural\(\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"')


def used_msgids() -> set[str]:
    from trialkit.web import errors, labels

    found: set[str] = set()
    for path in sorted((HERE / "templates").glob("*.html")):
        for m in _CALL.finditer(path.read_text(encoding="utf-8")):
            found.add(m.group(1) if m.group(1) is not None else m.group(2))
        for m in _PLURAL.finditer(path.read_text(encoding="utf-8")):
            found.update((m.group(1), m.group(2)))
    for path in sorted(HERE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "plural"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "_"
            ):
                found.update(
                    a.value
                    for a in node.args[:2]
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                )
    for table in (
        labels.ROLES,
        labels.STATUS,
        labels.VISIT_STATES,
        labels.FORM_STATES,
        labels.STATES,
        labels.SORTS,
        labels.STEPS,
        labels.HISTORY,
        labels.AUDIT_ACTIONS,
        errors.TITLES,
        errors.KNOWN,
    ):
        found.update(table.values())
    return found
