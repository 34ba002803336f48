"""The REDCap-style record export (``content=record``, flat CSV) of 10,000 participants x 10
visits x 20 items, against the bare SQL read of the same values.

The data are bench_export.py's (the IBD exosome study, VITALS 4 items and LABS 16 items at each
of ten visits, 2,000,000 values), with the visits renamed to the study's ten scheduled visits
(SCR ... FU90) so that every value has a REDCap event. Then, each in a child process of its own
(its own peak RSS), in the same run:

* ``bare``: one streamed ``SELECT`` of the form rows and the JSON decoding of every value
  (bench_export.py's baseline);
* ``redcap``: the endpoint's response for ``content=record&format=csv&type=flat`` (the
  ``StreamingResponse`` of :func:`trialkit.web.redcap.records.export_records`, whose rows
  :func:`trialkit.web.redcap.stream.flat_rows` reads, consumed chunk by
  chunk as the server sends it), counting the non-empty value cells of each CSV line;
* ``idle``: imports and opens the database, reads nothing (the floor of the peaks).

It prints values per second, the rate as a share of the bare rate (goal: at least one half)
and the peak RSS over the idle child's (goal: bounded, one visit of one participant held).

    python benchmarks/bench_redcap_export.py [PARTICIPANTS] [--small]

``--small`` (or ``TRIALKIT_BENCH_SMALL=1``) uses 100 participants.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from bench_export import STUDY, T0, VISITS, _cpu, _peak_mb, build  # noqa: E402
from trialkit.services import Context  # noqa: E402
from trialkit.store import Database, canonical  # noqa: E402
from trialkit.store.tables import form_instance, participant, visit_record  # noqa: E402

#: bench_export's visit keys V01..V10 as the study's ten scheduled visits
SCHEDULED = ("SCR", "V_D1", "V_D2", "V_D3", "V_D10", "V_D21", "FU7", "FU30", "FU60", "FU90")


def rename_visits(url: str) -> None:
    db = Database.from_url(url)
    with db.engine.begin() as conn:
        for n, key in enumerate(SCHEDULED[:VISITS], start=1):
            for table in (form_instance, visit_record):
                conn.execute(
                    table.update().where(table.c.visit_key == f"V{n:02d}").values(visit_key=key)
                )
    db.dispose()


async def _consume(response: Any) -> int:
    values = 0
    other: list[int] | None = None
    async for chunk in response.body_iterator:
        text = chunk if isinstance(chunk, str) else chunk.decode()
        for line in text.splitlines():
            cells = line.split(",")
            if other is None:  # the header: record/event/repeat and status columns are not values
                other = [i for i, c in enumerate(cells) if i < 4 or c.endswith("_complete")]
                continue
            # the non-empty cells, less those of the other columns (a count at C speed, so
            # the client's own work weighs little in the export's time)
            values += len(cells) - cells.count("") - sum(1 for i in other if cells[i])
    return values


def child(variant: str, url: str) -> dict[str, Any]:
    from starlette.datastructures import FormData

    from trialkit.services.definitions import readable_study
    from trialkit.web.redcap.mapping import ProjectMap
    from trialkit.web.redcap.records import export_records

    db = Database.from_url(url)
    ctx = Context.operator("bench", T0)
    values = 0
    started, cpu = time.perf_counter(), _cpu()
    if variant == "bare":
        with db.read() as conn:
            rows = conn.execution_options(stream_results=True, yield_per=500).execute(
                sa.select(
                    participant.c.code,
                    form_instance.c.visit_key,
                    form_instance.c.form_id,
                    form_instance.c.data,
                )
                .join(participant, participant.c.id == form_instance.c.participant_id)
                .order_by(participant.c.code, form_instance.c.visit_key, form_instance.c.form_id)
            )
            for r in rows:
                for group in canonical.loads(r.data).values():
                    for entry in group.values():
                        if entry.get("value") is not None:
                            values += 1
    elif variant == "redcap":
        pm = ProjectMap(readable_study(db, ctx, STUDY))
        form = FormData([("content", "record"), ("format", "csv"), ("type", "flat")])
        values = asyncio.run(_consume(export_records(db, ctx, STUDY, pm, form, "csv")))
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    db.dispose()
    return {
        "variant": variant,
        "values": values,
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": _peak_mb(),
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
        return
    small = "--small" in sys.argv or os.environ.get("TRIALKIT_BENCH_SMALL") == "1"
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    participants = 100 if small else int(numbers[0]) if numbers else 10_000
    with tempfile.TemporaryDirectory(prefix="trialkit-bench-redcap-") as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        started = time.perf_counter()
        build(url, participants)
        rename_visits(url)
        print(
            f"built {participants} participants x {VISITS} visits x 20 items "
            f"in {time.perf_counter() - started:.1f} s"
        )
        results = {}
        for variant in ("idle", "bare", "redcap"):
            done = subprocess.run(
                [sys.executable, __file__, "--child", variant, url],
                capture_output=True,
                text=True,
                check=True,
            )
            results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
    bare, idle = results["bare"], results["idle"]["peak_mb"]
    print(
        f"{'variant':<8} {'values':>10} {'seconds':>8} {'values/s':>10} {'x bare':>7} "
        f"{'cpu s':>7} {'x bare':>7} {'peak MB':>8} {'over idle':>9}"
    )
    for variant in ("bare", "redcap"):
        r = results[variant]
        rate = r["values"] / r["seconds"] if r["seconds"] else 0.0
        share = rate / (bare["values"] / bare["seconds"]) if bare["seconds"] else 0.0
        # the same share by CPU time (the child's, all its threads): on a loaded machine the
        # wall clock measures the other processes as much as this one
        cpu_share = bare["cpu"] / r["cpu"] * r["values"] / bare["values"] if r["cpu"] else 0.0
        print(
            f"{variant:<8} {r['values']:>10} {r['seconds']:>8.2f} {rate:>10.0f} {share:>7.2f} "
            f"{r['cpu']:>7.2f} {cpu_share:>7.2f} {r['peak_mb']:>8.0f} {r['peak_mb'] - idle:>9.0f}"
        )
    if results["redcap"]["values"] != bare["values"]:
        raise SystemExit(
            f"the REDCap export wrote {results['redcap']['values']} values, the bare read "
            f"found {bare['values']}"
        )


if __name__ == "__main__":
    main()
