"""What every export shares: its result, the progress callback, and the error it raises."""

from __future__ import annotations

import contextlib
import importlib
import marshal
import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from trialkit.errors import ValidationFailed

__all__ = [
    "ExportError",
    "ExportResult",
    "Local",
    "Progress",
    "Worker",
    "no_progress",
    "workers",
]

#: Called with (form instances done, form instances in all) while an export reads.
Progress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """The progress callback that shows nothing."""


class ExportError(ValidationFailed):
    """An export that cannot be written (an unknown format, an output that is not a folder)."""


@dataclass
class ExportResult:
    """The files one export wrote and what they hold (counts only: no participant ids)."""

    format: str
    files: list[Path] = field(default_factory=list)
    participants: int = 0
    values: int = 0
    notes: list[str] = field(default_factory=list)


_JOIN_SECONDS = 30.0  # how long a worker told to stop is waited for before it is killed


def workers() -> bool:
    """Whether exports hand their writing to a worker process (:class:`Worker`): only when
    asked (``TRIALKIT_EXPORT_WORKERS=1``), and on POSIX systems (the pipes are passed to it
    by number). Off by default: on the shared two-core machine of benchmarks/README.md the
    worker cost more CPU (the values pickled across, a second interpreter) than the overlap
    gave back, and the export took longer by the wall clock too."""
    return os.name == "posix" and os.environ.get("TRIALKIT_EXPORT_WORKERS", "0") == "1"


class _Pipe:
    """Messages over a pair of pipe ends (one each way), each a kind byte, a length and the
    pickled (``p``) or marshalled (``m``: texts, numbers, None, tuples and lists only, four
    times faster to write) message."""

    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self._reader = reader
        self._writer = writer

    def send(self, message: Any, *, plain: bool = False) -> None:
        data = marshal.dumps(message) if plain else pickle.dumps(message, protocol=5)
        self._writer.write((b"m" if plain else b"p") + len(data).to_bytes(8, "little"))
        self._writer.write(data)
        self._writer.flush()

    def recv(self) -> Any:
        head = self._reader.read(9)
        size = int.from_bytes(head[1:], "little") if len(head) == 9 else 0
        data = self._reader.read(size) if size else b""
        if not size or len(data) != size:
            raise EOFError("the other end closed the pipe")
        return marshal.loads(data) if head[:1] == b"m" else pickle.loads(data)

    def close(self) -> None:
        for end in (self._writer, self._reader):
            with contextlib.suppress(OSError):  # a broken pipe's buffered bytes: no reader
                end.close()


def serve(reader_fd: int, writer_fd: int) -> None:
    """A worker process's loop (see :class:`Worker`): make the object the first message
    names, ``(module:name, args)``; then call its methods, ``(method, args, answer)``,
    answering ``("done", value)`` when asked; on any error answer ``("failed", exception)``
    and end. The end of the pipe (the export gave up) ends it, the object's ``close`` called."""
    conn = _Pipe(open(reader_fd, "rb"), open(writer_fd, "wb"))  # noqa: SIM115 (closed below)
    target: Any = None
    try:
        where, args = conn.recv()
        module, _, name = where.partition(":")
        target = getattr(importlib.import_module(module), name)(*args)
        while True:
            method, args, answer = conn.recv()
            value = getattr(target, method)(*args)
            if answer:
                conn.send(("done", value))
    except EOFError:
        pass
    except BaseException as exc:  # the export's error: it raises it
        try:
            conn.send(("failed", exc))
        except Exception:  # an exception that does not pickle: its text
            conn.send(("failed", RuntimeError("".join(traceback.format_exception(exc)))))
    finally:
        if target is not None and hasattr(target, "close"):
            target.close()
        conn.close()


class Worker:
    """An object made and run in a worker process, fed through a pipe: the export calls its
    methods (without waiting, except :meth:`ask`), so the worker's share of an export
    overlaps the read. The worker is a new interpreter (``python -c``, this trialkit first
    on its path): nothing of this process is copied into it (no connection, no thread) and
    the caller's main module is not run again, as ``multiprocessing``'s spawn would. The pipe
    holds at most its buffer: when the worker falls behind, the export waits (memory stays
    bounded). An error in the worker is raised by the export's next call; a worker that
    ended without saying why raises :class:`ExportError` (``EXPORT.E006``)."""

    def __init__(self, target: str, *args: Any) -> None:
        from_parent, to_child = os.pipe()  # (read end, write end)
        from_child, to_parent = os.pipe()
        package = str(Path(__file__).resolve().parents[2])  # the folder holding trialkit
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package, env.get("PYTHONPATH")]))
        code = (
            "import sys; from trialkit.exports.base import serve; "
            "serve(int(sys.argv[1]), int(sys.argv[2]))"
        )
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", code, str(from_parent), str(to_parent)],
                pass_fds=(from_parent, to_parent),
                env=env,
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            for fd in (to_child, from_child):
                os.close(fd)
            raise
        finally:
            os.close(from_parent)
            os.close(to_parent)
        self._conn = _Pipe(open(from_child, "rb"), open(to_child, "wb"))  # noqa: SIM115
        self._send((target, args))

    def call(self, method: str, *args: Any) -> None:
        """Call ``method`` in the worker (arguments pickled); do not wait for it."""
        self._send((method, args, False))

    def call_marshal(self, method: str, *args: Any) -> None:
        """:meth:`call` with arguments of texts, numbers, None, tuples and lists (marshalled)."""
        self._send((method, args, False), plain=True)

    def ask(self, method: str, *args: Any) -> Any:
        """Call ``method`` in the worker and wait for what it returns (or raise its error)."""
        self._send((method, args, True))
        return self._answer()

    def close(self) -> None:
        """End the worker (what it was not asked to finish is dropped) and wait for it."""
        self._conn.close()
        try:
            self._process.wait(_JOIN_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _send(self, message: Any, *, plain: bool = False) -> None:
        try:
            self._conn.send(message, plain=plain)
        except OSError:  # the worker ended: it says why, if it could
            self._answer()
            raise

    def _answer(self) -> Any:
        try:
            status, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            try:
                code = self._process.wait(_JOIN_SECONDS)
            except subprocess.TimeoutExpired:
                code = None
            raise ExportError(
                f"the export's worker process ended unexpectedly (exit code {code})",
                code="EXPORT.E006",
                hint="see the process's error output; the export can be run again",
            ) from exc
        if status == "failed":
            raise value
        return value


class Local:
    """A :class:`Worker`'s calls made on an object in this process (the same results)."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def call(self, method: str, *args: Any) -> None:
        getattr(self._target, method)(*args)

    def call_marshal(self, method: str, *args: Any) -> None:
        getattr(self._target, method)(*args)

    def ask(self, method: str, *args: Any) -> Any:
        return getattr(self._target, method)(*args)

    def close(self) -> None:
        if hasattr(self._target, "close"):
            self._target.close()
