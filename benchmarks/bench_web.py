"""The web application under load: the status matrix and a save, over HTTP, against their bare
equivalents in the same run; then eight concurrent clients saving.

For each database (SQLite in a temporary file and, when TRIALKIT_TEST_DATABASE_URL is set,
PostgreSQL in a private schema dropped afterwards):

1. a study of P participants × 20 visits is built through the services (register, consent,
   visits done or missed, forms saved, open queries), as the operator and the team would;
2. ``trialkit serve`` is started as a separate process (a real uvicorn server on 127.0.0.1);
3. **the matrix**: ``GET /studies/{study}`` by a signed-in data manager (every site), against
   the bare SQL that reads the same rows (the queries of ``status_matrix``, run on the DBAPI
   cursor and fetched), R rounds; each round records a visit first (an audited change), so
   the kept matrix is brought up to date (the participant's row recomputed), then asks for it
   again (the matrix kept until the next change); the median of each, and their ratios to the
   bare SQL (goal: within 3x); then, in process and by CPU time, the matrix brought up to date
   after a change against the whole matrix computed afresh (``fresh_matrix``), checked equal;
4. **a form save**: the VITALS form entered over HTTP as the data-entry page posts it (session,
   CSRF, parsing the fields, the validation, checks and audit of ``save_form``, the redirect)
   against the same save through the service (``save_form``), alternating in rounds of ROUND,
   each on a visit done whose form is not entered yet (goal: HTTP at least half the service's
   rate, by the lean ``http.client`` client); shown beside it, the rate by a bare socket client
   and by httpx, and the server process's CPU time a save over HTTP (Linux);
5. **eight concurrent clients**, each signed in with its own session, record visits done at
   once; every answer must be a redirect (no 5xx), every save must be in the database, and the
   audit trail must verify (goal on PostgreSQL; SQLite is shown for information).

    python benchmarks/bench_web.py [PARTICIPANTS] [--small]

(``--small`` or ``TRIALKIT_BENCH_SMALL=1``: 24 participants, for the test suite.)
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trialkit.protocol import shipped_studies
from trialkit.protocol.loader import load_study_text
from trialkit.services import (
    Context,
    Role,
    add_membership,
    add_site,
    authenticate,
    consent,
    create_user,
    load_study,
    miss_visit,
    open_query,
    record_visit,
    register,
    save_form,
)
from trialkit.services.matrix import fresh_matrix, status_matrix
from trialkit.store import Database, upgrade, verify_all

ROOT = Path(__file__).resolve().parents[1]
STUDY = "bench-matrix"
SITES = ("TEH", "ISF")
VISITS = 20
EVERY = 14  # days between visits
PASSWORD = "benchmark passphrase 2025"
SECRET = "bench-secret-" + "k" * 40
ROUND = 20  # saves per round; HTTP and service alternate round by round
CLIENTS = 8
VITALS = {"systolic_bp": "118", "diastolic_bp": "76", "heart_rate": "70", "temperature": "36.8"}


def study_text() -> str:
    """The UC-MSC study with 20 visits, every one anchored on consent: its seven visits (the
    dosing visits now at consent + 14-70 days, the follow-up at + 154) and thirteen follow-ups
    LT01-LT13 two weeks apart after them, so that each participant's whole calendar is
    planned from the day of consent."""
    text = dict(shipped_studies())["psoriasis-ucmsc.yaml"]
    head, rest = text.split("  visits:\n", 1)
    visits, tail = rest.split("  unscheduled:", 1)

    def shifted(m: re.Match[str]) -> str:
        days = int(m.group(3)) + (14 if m.group(1) == "first_dose" else 70)
        return f"anchor: consent,{m.group(2)}offset: {{days: {days}}}"

    pattern = r"anchor: (first_dose|last_dose),(\s+)offset: \{days: (\d+)\}"
    visits, changed = re.subn(pattern, shifted, visits)
    assert changed == 6, changed
    extra = [
        f"    - {{id: LT{k:02d}, name: Long-term follow-up {k}, anchor: consent, offset: "
        f"{{days: {154 + EVERY * k}}}, window: {{lower: -3, upper: 3}}, forms: [VITALS, AE]}}"
        for k in range(1, VISITS - 6)
    ]
    visits = visits.rstrip("\n") + "\n" + "\n".join(extra) + "\n"
    text = f"{head}  visits:\n{visits}  unscheduled:{tail}"
    return text.replace("id: psoriasis-ucmsc", f"id: {STUDY}", 1)


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, clock(hour))


@dataclass
class Population:
    participants: int
    visits_done: int
    todo: list[tuple[str, str, date]]  # (participant, visit, day) not recorded yet, in the past
    forms: list[tuple[str, str]]  # (participant, visit) done with no VITALS yet: for form saves


def populate(db: Database, n: int, today: date) -> Population:
    """``n`` participants over both sites, consented 0-300 days ago; at past visits: 70 % done
    (VITALS entered at every third), 10 % missed, the rest left for the save benchmark (they
    show as overdue or due); an open query at every seventh participant."""
    upgrade(db.engine)
    operator = Context.operator("bench.setup", _at(today - timedelta(days=400)))
    text = study_text()
    load_study(db, operator, text, source="bench-matrix.yaml")
    plan = [(v.id, v.offset.days) for v in load_study_text(text).timeline.visits]
    assert len(plan) == VISITS
    for code in SITES:
        add_site(db, operator, STUDY, code, code)
    team = {
        "bench.nurse": (Role.COORDINATOR, None),
        "bench.dm": (Role.DATA_MANAGER, None),
        **{f"bench.client{i}": (Role.COORDINATOR, None) for i in range(CLIENTS)},
    }
    for username, (role, site) in team.items():
        create_user(db, operator, username, PASSWORD, display_name=username)
        add_membership(db, operator, username, STUDY, role, site_code=site)
    nurse = operator  # the team's work, as the operator: every call checked and audited
    done = 0
    todo: list[tuple[str, str, date]] = []
    forms: list[tuple[str, str]] = []
    for i in range(n):
        start = today - timedelta(days=(i * 37) % 300)
        ctx = nurse.at(_at(start))
        code = register(db, ctx, STUDY, SITES[i % 2]).code
        consent(db, ctx, STUDY, code, on=start, form_version="1.0", obtained_by="dr.bench")
        save_form(db, ctx, STUDY, code, visit="SCR", form_id="VITALS", values=VITALS)
        record_visit(db, ctx, STUDY, code, "SCR", start)
        done += 1
        if i % 7 == 0:
            open_query(
                db,
                ctx,
                STUDY,
                code,
                visit="SCR",
                form_id="VITALS",
                item="VS/systolic_bp",
                text="Please confirm against the clinic chart.",
            )
        for k, (key, offset) in enumerate(plan[1:], start=1):
            day = start + timedelta(days=offset)
            if day >= today:
                break
            at = nurse.at(_at(day, 10))
            roll = (i * 13 + k * 7) % 10
            if roll < 7:
                if roll % 3 == 0:
                    save_form(db, at, STUDY, code, visit=key, form_id="VITALS", values=VITALS)
                else:
                    forms.append((code, key))
                record_visit(db, at, STUDY, code, key, day)
                done += 1
            elif roll == 7:
                miss_visit(db, at, STUDY, code, key, "did not come")
            else:
                todo.append((code, key, day))
    return Population(n, done, todo, forms)


# -- the server ---------------------------------------------------------------------------------


class Server:
    """``trialkit serve`` on 127.0.0.1 and a free port, as a separate process."""

    def __init__(self, url: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "TRIALKIT_SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT / "src")}
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trialkit", "serve", "--port", str(self.port), "--url", url],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.base + "/login", timeout=2)
                break
            except httpx.HTTPError as exc:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.log.seek(0)
                    output = self.log.read().decode()
                    raise RuntimeError("the server did not start:\n" + output) from exc
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.log.close()


def signed_in(base: str, username: str) -> tuple[httpx.Client, str]:
    """A client with its own session, and its CSRF token."""
    client = httpx.Client(base_url=base, timeout=120)
    client.get("/login")
    token = client.cookies["csrftoken"]
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrftoken": token},
        follow_redirects=False,
    )
    if r.status_code != 303:
        raise RuntimeError(f"could not sign in as {username}: {r.status_code}")
    return client, token


# -- the bare SQL of the matrix -----------------------------------------------------------------

# the participants of the study, as the service's queries select them (a subquery)
IDS = "SELECT p.id FROM participant p JOIN study st ON st.id = p.study_id WHERE st.code = '{study}'"
BARE = [
    "SELECT p.id, p.code, p.status, p.arm, p.protocol_version_id, s.code FROM participant p "
    "JOIN site s ON s.id = p.site_id JOIN study st ON st.id = p.study_id "
    "WHERE st.code = '{study}' ORDER BY p.code",
    "SELECT participant_id, anchor_id, at FROM anchor WHERE participant_id IN ({ids}) "
    "AND superseded_at IS NULL",
    "SELECT participant_id, visit_key, unscheduled_seq, status, on_date, planned FROM visit_record "
    "WHERE participant_id IN ({ids})",
    "SELECT id, participant_id, visit_key, form_id, status, version FROM form_instance "
    "WHERE participant_id IN ({ids}) AND instance_no = 1",
    "SELECT f.participant_id, f.visit_key, count(q.id) FROM data_query q JOIN form_instance f "
    "ON f.id = q.form_instance_id WHERE f.participant_id IN ({ids}) AND q.status != 'closed' "
    "GROUP BY f.participant_id, f.visit_key",
    "SELECT m.form_instance_id FROM sdv_mark m JOIN form_instance f ON f.id = m.form_instance_id "
    "WHERE f.participant_id IN ({ids}) AND m.item = '*' AND m.cleared_at IS NULL",
    "SELECT participant_id, scope, visit_key, form_instance_id FROM signature "
    "WHERE participant_id IN ({ids}) AND voided_at IS NULL",
    "SELECT l.scope, l.participant_id, l.form_instance_id FROM record_lock l "
    "JOIN study st ON st.id = l.study_id WHERE st.code = '{study}' AND l.unlocked_at IS NULL",
]


def bare_matrix(db: Database) -> int:
    """The rows the matrix reads, by bare SQL on the DBAPI cursor; returns how many."""
    rows = 0
    with db.engine.connect() as conn:
        cursor = conn.connection.cursor()
        ids = IDS.format(study=STUDY)
        for sql in BARE:
            cursor.execute(sql.format(ids=ids, study=STUDY))
            rows += len(cursor.fetchall())
        cursor.close()
    return rows


# -- the measurements ---------------------------------------------------------------------------


def time_matrix(
    db: Database, base: str, rounds: int, todo: list[tuple[str, str, date]]
) -> tuple[float, float, float, int, int]:
    """Median seconds of the page after a change (the kept matrix brought up to date), of the
    page again (the matrix kept), and of the bare SQL; the page's size and the rows read."""
    client, _ = signed_in(base, "bench.dm")
    nurse = authenticate(db, "bench.nurse", PASSWORD, datetime.now())
    cold, warm, bare = [], [], []
    size = rows = 0

    def page() -> float:
        nonlocal size
        start = time.perf_counter()
        r = client.get(f"/studies/{STUDY}")
        took = time.perf_counter() - start
        if r.status_code != 200:
            raise RuntimeError(f"the matrix answered {r.status_code}")
        size = len(r.content)
        return took

    for _ in range(rounds + 1):
        code, visit, day = todo.pop()
        record_visit(db, nurse, STUDY, code, visit, day)  # a change: the matrix is computed
        cold.append(page())
        warm.append(page())
        start = time.perf_counter()
        rows = bare_matrix(db)
        bare.append(time.perf_counter() - start)
    client.close()
    # the first round warms the server (templates, the protocol) and is left out
    return (
        statistics.median(cold[1:]),
        statistics.median(warm[1:]),
        statistics.median(bare[1:]),
        size,
        rows,
    )


def time_update(
    db: Database, rounds: int, todo: list[tuple[str, str, date]]
) -> tuple[float, float]:
    """In process, CPU time (``time.process_time``, steadier than the wall clock on a loaded
    machine): median seconds of ``status_matrix`` brought up to date after a change (a visit
    recorded: the kept matrix's one participant recomputed) and of ``fresh_matrix`` (the whole
    matrix computed from the records), as the data manager."""
    dm = authenticate(db, "bench.dm", PASSWORD, datetime.now())
    nurse = authenticate(db, "bench.nurse", PASSWORD, datetime.now())
    today = date.today()
    status_matrix(db, dm, STUDY, today)  # kept from here
    updated, fresh = [], []
    for _ in range(rounds):
        code, visit, day = todo.pop()
        record_visit(db, nurse, STUDY, code, visit, day)
        start = time.process_time()
        kept = status_matrix(db, dm, STUDY, today)
        updated.append(time.process_time() - start)
        start = time.process_time()
        again = fresh_matrix(db, dm, STUDY, today)
        fresh.append(time.process_time() - start)
        if kept != again:
            raise RuntimeError("the matrix brought up to date differs from the one computed")
    return statistics.median(updated), statistics.median(fresh)


def _form_fields(values: dict[str, str]) -> dict[str, str]:
    """The VITALS form as the data-entry page posts it (``v:<group>/<item>``)."""
    return {f"v:VS/{k}": v for k, v in values.items()} | {"v:VS/weight": ""}


class RawClient:
    """A keep-alive HTTP/1.1 client on the standard library's ``http.client``, with the cookies
    of a signed-in ``httpx.Client``: what a save costs the *server* is measured with a client
    that adds little of its own (httpx spends about a millisecond of the same process's CPU on
    each request, which a browser's user does not wait for from the server)."""

    def __init__(self, base: str, cookies: httpx.Cookies) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        self.cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())

    def post(self, path: str, body: bytes) -> int:
        self.conn.request(
            "POST",
            path,
            body=body,
            headers={"Cookie": self.cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = self.conn.getresponse()
        response.read()
        return response.status

    def close(self) -> None:
        self.conn.close()


class SocketClient:
    """Leaner still: the request's bytes written to a keep-alive socket and the answer's status
    line and ``Content-Length`` read back (``http.client`` spends about a quarter of a
    millisecond of CPU a request parsing headers with the email package); what is left is the
    server's time and the loopback's."""

    def __init__(self, base: str, cookies: httpx.Cookies) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.host = f"{host}:{port}"
        self.sock = socket.create_connection((host, int(port)), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        self.buffer = b""

    def post(self, path: str, body: bytes) -> int:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nCookie: {self.cookie}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.sock.sendall(head.encode("latin-1") + body)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._more()
        header, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = header.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(self.buffer) < length:
            self.buffer += self._more()
        self.buffer = self.buffer[length:]
        return status

    def _more(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise RuntimeError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds of process ``pid`` so far (Linux; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class SaveRates:
    raw: float  # saves a second over HTTP, by RawClient (http.client)
    socket: float  # by SocketClient
    httpx: float  # by httpx
    service: float  # through the service
    server_cpu: float | None  # the server's CPU seconds a save over HTTP (None: unknown)


def time_saves(db: Database, server: Server, todo: list[tuple[str, str]]) -> SaveRates:
    """Form saves per second over HTTP (the data-entry page's POST: session, CSRF, parsing, the
    validation, checks and scores of ``save_form``, the audit entries, the redirect), by lean
    clients (``RawClient``, ``SocketClient``) and by httpx, and through the service
    (``save_form``), alternating rounds of ROUND, each on a form not entered yet; and the
    server's CPU time a save over HTTP."""
    base = server.base
    client, token = signed_in(base, "bench.nurse")
    raw = RawClient(base, client.cookies)
    lean = SocketClient(base, client.cookies)
    # the service side: the same call in-process, as the same user (the same access checks)
    nurse = authenticate(db, "bench.nurse", PASSWORD, datetime.now())
    fields = {**_form_fields(VITALS), "csrftoken": token}
    body = urlencode(fields).encode()
    raw_time = socket_time = httpx_time = service_time = 0.0
    raw_n = socket_n = httpx_n = service_n = 0
    server_cpu: float | None = 0.0
    items = list(todo)
    size = max(1, min(ROUND, len(items) // 8))
    while len(items) >= 4 * size:
        batch, items = items[: 4 * size], items[4 * size :]
        before = cpu_seconds(server.proc.pid)
        start = time.perf_counter()
        for code, visit in batch[:size]:
            status = raw.post(f"/studies/{STUDY}/participants/{code}/forms/{visit}/VITALS", body)
            if status != 303:
                raise RuntimeError(f"an HTTP form save answered {status}")
        raw_time += time.perf_counter() - start
        raw_n += size
        after = cpu_seconds(server.proc.pid)
        if server_cpu is not None and before is not None and after is not None:
            server_cpu += after - before
        else:
            server_cpu = None
        start = time.perf_counter()
        for code, visit in batch[3 * size :]:
            status = lean.post(f"/studies/{STUDY}/participants/{code}/forms/{visit}/VITALS", body)
            if status != 303:
                raise RuntimeError(f"an HTTP form save answered {status}")
        socket_time += time.perf_counter() - start
        socket_n += size
        start = time.perf_counter()
        for code, visit in batch[size : 2 * size]:
            r = client.post(
                f"/studies/{STUDY}/participants/{code}/forms/{visit}/VITALS",
                data=fields,
                follow_redirects=False,
            )
            if r.status_code != 303:
                raise RuntimeError(f"an HTTP form save answered {r.status_code}")
        httpx_time += time.perf_counter() - start
        httpx_n += size
        start = time.perf_counter()
        for code, visit in batch[2 * size : 3 * size]:
            save_form(db, nurse, STUDY, code, visit=visit, form_id="VITALS", values=VITALS)
        service_time += time.perf_counter() - start
        service_n += size
    raw.close()
    lean.close()
    client.close()
    return SaveRates(
        raw_n / raw_time,
        socket_n / socket_time,
        httpx_n / httpx_time,
        service_n / service_time,
        None if server_cpu is None else server_cpu / raw_n,
    )


def concurrent_saves(db: Database, base: str, todo: list[tuple[str, str, date]]) -> str:
    """CLIENTS clients, each with its own session, record visits done at once."""
    share = len(todo) // CLIENTS
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    clients = [signed_in(base, f"bench.client{i}") for i in range(CLIENTS)]

    def work(i: int) -> None:
        client, token = clients[i]
        for code, visit, day in todo[i * share : (i + 1) * share]:
            try:
                r = client.post(
                    f"/studies/{STUDY}/participants/{code}/visits/{visit}/done",
                    data={"on": day.isoformat(), "csrftoken": token},
                    follow_redirects=False,
                )
                status = r.status_code
            except httpx.HTTPError as exc:
                status = 0
                with lock:
                    errors.append(repr(exc))
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    for client, _ in clients:
        client.close()
    sent = todo[: share * CLIENTS]
    ctx = Context.operator("bench.check", datetime.now())
    m = {r.participant: r for r in status_matrix(db, ctx, STUDY, date.today()).rows}
    lost = [(c, v) for c, v, _ in sent if m[c].cells[v].on_date is None]
    with db.read() as conn:
        audit = verify_all(conn)
    server_errors = sum(n for s, n in statuses.items() if s >= 500 or s == 0)
    verdict = "ok" if not lost and not server_errors and audit.ok else "FAILED"
    return (
        f"{len(sent)} saves by {CLIENTS} clients in {seconds:.1f} s "
        f"({len(sent) / seconds:.0f}/s): answers {dict(sorted(statuses.items()))}, "
        f"lost {len(lost)}, audit {'verified' if audit.ok else 'BROKEN'}: {verdict}"
        + (f"; errors: {errors[:3]}" if errors else "")
    )


def run(name: str, url: str, n: int, rounds: int) -> bool:
    db = Database.from_url(url)
    server = None
    try:
        today = date.today()
        start = time.perf_counter()
        pop = populate(db, n, today)
        built = time.perf_counter() - start
        cells = n * VISITS
        print(
            f"{name}: built {n} participants × {VISITS} visits ({cells} cells, "
            f"{pop.visits_done} visits done) through the services in {built:.1f} s"
        )
        server = Server(url)
        todo = pop.todo
        cold, warm, bare, size, rows = time_matrix(db, server.base, rounds, todo)
        print(
            f"  matrix over HTTP: after a change {cold * 1000:.1f} ms, kept {warm * 1000:.1f} ms "
            f"(a page of 50 of {n} rows, {size / 1e3:.0f} kB); bare SQL {bare * 1000:.1f} ms "
            f"({rows} rows); ratios {cold / bare:.2f} and {warm / bare:.2f}; goal <= 3 "
            f"{'met' if cold / bare <= 3 else 'missed'} after a change, "
            f"{'met' if warm / bare <= 3 else 'missed'} kept"
        )
        updated, fresh = time_update(db, rounds, todo)
        print(
            f"  in process (CPU time): the matrix brought up to date after a change "
            f"{updated * 1000:.1f} ms, computed afresh {fresh * 1000:.1f} ms"
        )
        rates = time_saves(db, server, pop.forms)
        save_ratio = rates.raw / rates.service
        cpu = (
            ""
            if rates.server_cpu is None
            else f"; the server process's CPU {rates.server_cpu * 1000:.2f} ms a save over HTTP, "
            f"a save through the service {1000 / rates.service:.2f} ms of wall time"
        )
        print(
            f"  form save over HTTP {rates.raw:8.0f}/s   through the service "
            f"{rates.service:8.0f}/s   ratio {save_ratio:5.2f}  goal >= 0.5 "
            f"{'met' if save_ratio >= 0.5 else 'MISSED'}   (by a bare socket "
            f"{rates.socket:.0f}/s, ratio {rates.socket / rates.service:.2f}; by httpx "
            f"{rates.httpx:.0f}/s, ratio {rates.httpx / rates.service:.2f}{cpu})"
        )
        outcome = concurrent_saves(db, server.base, todo)
        print(f"  concurrent: {outcome}")
        return "FAILED" not in outcome or name != "postgresql"
    finally:
        if server is not None:
            server.stop()
        db.dispose()


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--small"]
    small = len(args) < len(sys.argv) - 1 or os.environ.get("TRIALKIT_BENCH_SMALL") == "1"
    n = int(args[0]) if args else 24 if small else 500
    rounds = 1 if small else 7
    tmp = tempfile.TemporaryDirectory()
    targets: list[tuple[str, str, str | None]] = [
        ("sqlite", f"sqlite:///{Path(tmp.name) / 'bench.sqlite3'}", None)
    ]
    base = os.environ.get("TRIALKIT_TEST_DATABASE_URL")
    if base:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        sep = "&" if "?" in base else "?"
        targets.append(("postgresql", f"{base}{sep}options=-csearch_path%3D{schema}", schema))
    print(f"the web application: {n} participants × {VISITS} visits")
    ok = True
    for name, url, schema in targets:
        admin = sa.create_engine(base) if schema and base else None
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            ok = run(name, url, n, rounds) and ok
        finally:
            if admin is not None:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    if not base:
        print("postgresql: skipped (set TRIALKIT_TEST_DATABASE_URL to include it)")
    tmp.cleanup()
    if not ok:
        sys.exit("eight concurrent clients lost saves or got server errors on PostgreSQL")


if __name__ == "__main__":
    main()
