"""No input shows a traceback: random bytes and deep nesting fed to every command that reads a
file end in a clean exit with a one-line ``error [CODE]`` (never the catch-all ``CLI.E999``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialkit.cli import main

UCM = "psoriasis-ucmsc"

# (argument list with {file} for the file, the file's suffix)
READERS = [
    (["study", "check", "{file}"], ".yaml"),
    (["study", "show", "{file}"], ".yaml"),
    (["score", "pasi", "@{file}"], ".json"),
    (["screen", UCM, "{file}"], ".json"),
    (["prescreen", UCM, "{file}"], ".csv"),
    (["prescreen", "{file}", "{file}"], ".yaml"),
]
# `analyse --data/--spec` reads through trialkit.analysis and cli/analyse.py's load_specs, which
# belong to the analysis work; they are left out here until that reader is hardened too.


def _nested(depth: int, opener: str) -> str:
    closer = {"[": "]", "{": "}"}[opener]
    if opener == "{":
        return '{"a": ' * depth + "1" + "}" * depth
    return opener * depth + closer * depth


CONTENT = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8")),
    st.builds(_nested, st.integers(1, 3000), st.sampled_from(["[", "{"])).map(str.encode),
    st.integers(1, 400).map(lambda n: ("a:\n" + "".join("  " * i + "- \n" for i in range(1, n)))),
    st.sampled_from(
        [
            "id: x\nv: .inf\n", "id: x\nv: .nan\n", "v: 1.0e999\n", "{\"pasi\": 1e999}",
            '{"age": NaN}', "a: [/x]\n", "[/x]: 1\n", "id: \x01\n", "\ufeffid: x\n",
            "candidate_id,age\nA,99999-01-01\n", "candidate_id,[/x]\nA,1\n", "v: " + "9" * 5000,
            json.dumps({"age": "1" * 5000}), "identity:\n  x: [/y]\n",
        ]
    ).map(lambda t: t.encode("utf-8") if isinstance(t, str) else t),
)  # fmt: skip


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("template", "suffix"), READERS, ids=lambda r: str(r)[:40])
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=CONTENT)
def test_random_files_get_a_one_line_error(
    template: list[str],
    suffix: str,
    content: bytes | str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    path = tmp_path / f"input{suffix}"
    path.write_bytes(data)
    args = [a.replace("{file}", str(path)) for a in template]
    code, out, err = run(args, capsys)
    assert "Traceback" not in out + err
    if code != 0:
        first = err.strip().splitlines()[0] if err.strip() else ""
        assert first.startswith("error ["), (args, data[:80], err[-500:])
        assert "CLI.E999" not in first, (data[:80], first)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["study", "check", "no[/such].yaml"], "error [DEF.E004]: study file 'no[/such].yaml'"),
        (["study", "check", "/"], "is a directory"),
        (["score", "pasi", '{"[/x]": 1}'], "unknown item '[/x]'"),
        (["site", "list", UCM, "--url", "foo://bar"], "error [STORE.E003]"),
        (["site", "list", UCM, "--url", "/etc/passwd"], "error [STORE.E001]"),
        (["site", "list", UCM, "--url", "sqlite:////etc/passwd"], "error [STORE.E031]"),
        (["db", "upgrade", "--url", "sqlite:////etc/passwd"], "error [STORE.E031]"),
        (["analyse", UCM, "--db", "--url", "sqlite:////etc/passwd"], "error [STORE.E031]"),
        (["site", "list", UCM, "--url", "postgresql+psycopg://x@127.0.0.1:1/x"], "[STORE.E011]"),
        (["allocate", UCM, "X", "--url", "postgresql+psycopg://nobody@127.0.0.1:1/x"], "error ["),
        (["screen", UCM, '{"age": 40, "screening_date": "99999-01-01"}'], "screening_date"),
    ],
)
def test_named_inputs(args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(args, capsys)
    assert code != 0
    assert needle in err, err
    assert "Traceback" not in out + err
    assert "CLI.E999" not in err
    assert len(err.strip().splitlines()) == 1, err
