"""Fixtures of the web tests: the demo database made once per run and copied per module, the
application on it with a clock the tests move, and signed-in clients.

The database is a real SQLite file seeded by demo mode (the three studies, sites TEH and ISF,
the demo team and participants); it is never mocked.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient
from tests.conftest import POSTGRES_ENV

from trialkit.store import Database
from trialkit.web import Settings, create_app
from trialkit.web.demo_mode import DEMO_PASSWORD, ensure_demo_database

TODAY = date(2025, 6, 2)
NOW = datetime(2025, 6, 2, 10, 0)
SECRET = "test-secret-" + "x" * 40


class Clock:
    """The application's clock in the tests: ``clock.advance(minutes=31)``."""

    def __init__(self, at: datetime = NOW) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded demo database, made once per test run."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    db = Database.from_url(f"sqlite:///{path}")
    try:
        assert ensure_demo_database(db, TODAY)
    finally:
        db.dispose()
    return path


def copy_demo(demo_file: Path, folder: Path) -> Database:
    target = folder / "web.sqlite3"
    shutil.copy(demo_file, target)
    for suffix in ("-wal", "-shm"):
        extra = demo_file.with_name(demo_file.name + suffix)
        if extra.exists():
            shutil.copy(extra, target.with_name(target.name + suffix))
    return Database.from_url(f"sqlite:///{target}")


def _database_url(base: str, name: str) -> str:
    return sa.make_url(base).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_demo() -> Iterator[Callable[[], AbstractContextManager[Database]]]:
    """Copies of the demo database on the test PostgreSQL (``TRIALKIT_TEST_DATABASE_URL``).

    Demo mode seeds the demo once per worker into a database of its own, used as a template:
    each copy is ``CREATE DATABASE ... TEMPLATE`` (a file copy on the server, the same rows and
    trail), dropped when the copy is closed. Skipped with the reason when the variable is not
    set.
    """
    base = os.environ.get(POSTGRES_ENV)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT") if base else None
    template: list[str] = []

    def made() -> str:
        assert base is not None
        assert admin is not None
        if not template:
            name = f"tk_demo_{uuid.uuid4().hex[:12]}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            seeded = Database.from_url(_database_url(base, name))
            try:
                assert ensure_demo_database(seeded, TODAY)
            finally:
                seeded.dispose()  # a template database takes no other connection
            template.append(name)
        return template[0]

    @contextmanager
    def copy() -> Iterator[Database]:
        if base is None or admin is None:
            pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server to test against")
        source = made()
        name = f"tk_copy_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
        db = Database.from_url(_database_url(base, name))
        try:
            yield db
        finally:
            db.dispose()
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    yield copy
    if admin is not None:
        with admin.connect() as conn:
            for name in template:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def web_db(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = copy_demo(demo_file, tmp_path_factory.mktemp("web"))
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings() -> Settings:
    return Settings(secret_key=SECRET)


@pytest.fixture
def app(web_db: Database, clock: Clock, settings: Settings) -> object:
    return create_app(settings, db=web_db, clock=clock)


def csrf_of(client: TestClient) -> str:
    token = client.cookies.get("csrftoken")
    if token is None:
        client.get("/login")
        token = client.cookies.get("csrftoken")
    assert token
    return str(token)


Login = Callable[..., TestClient]


@pytest.fixture
def login(app: object) -> Login:
    """``login("n.rahimi")``: a client signed in as that demo user."""

    def sign_in(username: str, *, language: str | None = None) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
        if language:
            client.cookies.set("trialkit_lang", language)
        r = client.post(
            "/login",
            data={"username": username, "password": DEMO_PASSWORD, "csrftoken": csrf_of(client)},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        return client

    return sign_in


def form_token(html: str) -> str:
    """The csrftoken of the first form on a page."""
    m = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert m
    return m.group(1)


CHROMIUM = Path("/usr/bin/chromium")
#: The launch arguments of Debian's chromium on this machine (headless, no sandbox as root).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class LiveServer:
    """The application served by uvicorn in a thread on 127.0.0.1 and a free port."""

    def __init__(self, app: object) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
