"""``trialkit serve``: refuses to start without a secret or on an old database; demo mode
creates its database once and prints the logins."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from trialkit.cli import app
from trialkit.store import Database, upgrade


def test_serve_refuses_without_a_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TRIALKIT_SECRET_KEY", raising=False)
    out = CliRunner().invoke(app, ["serve", "--url", f"sqlite:///{tmp_path / 'x.sqlite3'}"])
    assert out.exit_code != 0
    assert "TRIALKIT_SECRET_KEY is not set" in str(out.exception) + out.output


def test_serve_refuses_a_database_never_upgraded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRIALKIT_SECRET_KEY", "k" * 40)
    out = CliRunner().invoke(app, ["serve", "--url", f"sqlite:///{tmp_path / 'x.sqlite3'}"])
    assert out.exit_code != 0
    assert "trialkit db upgrade" in str(out.exception) + out.output


def test_serve_demo_seeds_once_and_prints_the_logins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_file: Path
) -> None:
    import shutil

    import uvicorn

    ran: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append(kw))
    monkeypatch.delenv("TRIALKIT_SECRET_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    shutil.copy(demo_file, tmp_path / "trialkit-demo.sqlite3")  # seeded already: reused
    out = CliRunner().invoke(app, ["serve", "--demo", "--port", "8123"])
    assert out.exit_code == 0, out.output
    assert "DEMO MODE" in out.output
    assert "existing demo data" in out.output
    assert "the whole of it, comma included: 'demo passphrase, not for real use'" in out.output
    for username in (
        "n.rahimi",
        "dr.amini",
        "dm.karimi",
        "mon.hosseini",
        "dsmb.safavi",
        "stat.moradi",
        "pharm.jafari",
    ):
        assert username in out.output
    assert "http://127.0.0.1:8123/" in out.output
    assert ran[0]["host"] == "127.0.0.1"
    assert ran[0]["port"] == 8123
    assert ran[0]["access_log"] is False
    out = CliRunner().invoke(app, ["serve", "--demo", "--host", "0.0.0.0"])
    assert out.exit_code != 0


def test_serve_creates_the_demo_database_on_a_fresh_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    monkeypatch.delenv("TRIALKIT_SECRET_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(app, ["serve", "--demo"])
    assert out.exit_code == 0, out.output
    assert "(created)" in out.output
    db = Database.from_url(f"sqlite:///{tmp_path / 'trialkit-demo.sqlite3'}")
    try:
        assert upgrade(db.engine).before == upgrade(db.engine).after
    finally:
        db.dispose()


async def _nothing(scope: object, receive: object, send: object) -> None:
    """An ASGI application that is never called."""


def test_serve_runs_on_the_c_parser_and_event_loop() -> None:
    """``trialkit serve`` leaves uvicorn to choose (``auto``); the dependencies make that the
    httptools parser and uvloop, not the pure-Python h11 parser and asyncio's own loop."""
    import sys

    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    config = uvicorn.Config(app=_nothing)
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
    if sys.platform != "win32":
        import uvloop

        factory = config.get_loop_factory()
        assert factory is not None
        loop = factory()
        try:
            assert isinstance(loop, uvloop.Loop)
        finally:
            loop.close()


def test_serve_logs_one_line_a_request_naming_the_route(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_file: Path
) -> None:
    """uvicorn configures only its own loggers: ``trialkit serve`` passes a configuration
    that also routes trialkit's, so the access log (the route, never the path) is written."""
    import logging
    import logging.config
    import shutil

    import uvicorn
    from fastapi.testclient import TestClient

    ran: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append({"app": app, **kw}))
    monkeypatch.delenv("TRIALKIT_SECRET_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    shutil.copy(demo_file, tmp_path / "trialkit-demo.sqlite3")
    out = CliRunner().invoke(app, ["serve", "--demo"])
    assert out.exit_code == 0, out.output
    config = ran[0]["log_config"]
    assert isinstance(config, dict)
    before = logging.getLogger("trialkit").handlers[:], logging.getLogger("trialkit").propagate
    try:
        logging.config.dictConfig(config)
        logger = logging.getLogger("trialkit")
        assert logger.level == logging.INFO
        assert not logger.propagate
        seen: list[str] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                seen.append(record.getMessage())

        logger.addHandler(Keep())
        with TestClient(ran[0]["app"]) as client:  # type: ignore[arg-type]
            client.get("/studies/psoriasis-ucmsc/participants/UCM-TEH-001")
        assert any(line.startswith("GET /studies/{study}/participants/") for line in seen), seen
        assert not any("UCM-TEH-001" in line for line in seen)
    finally:
        logger = logging.getLogger("trialkit")
        logger.handlers[:] = before[0]
        logger.propagate = before[1]
        logger.setLevel(logging.NOTSET)
