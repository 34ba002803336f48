"""The vendored files are the ones VENDORED.md records."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

STATIC = Path(__file__).parents[2] / "src" / "trialkit" / "web" / "static"


def test_vendored_files_match_their_recorded_hashes() -> None:
    text = (STATIC / "VENDORED.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"\| `(vendor/[^`]+)` \| `[^`]+` \| [\d.]+ \| `[^`]+` \| `([0-9a-f]{64})` \|", text
    )
    assert len(rows) == 2
    for name, digest in rows:
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name
    assert sorted(p.name for p in (STATIC / "vendor").iterdir()) == sorted(
        Path(n).name for n, _ in rows
    )
