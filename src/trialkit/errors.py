"""The exceptions trialkit raises, in one tree.

Every error a user can meet is a :class:`TrialkitError`. Its message names the thing, the bad
value and how to fix it; ``code`` is a stable identifier that the CLI and the API show and that
tests pin. Lower-level errors (YAML, SQL, lark) are translated at the edges with
``raise ... from exc`` so that nobody sees a traceback::

    TrialkitError
    ├── DefinitionError          a study definition is invalid or cannot be read
    │   └── ExpressionError      an eligibility expression does not parse or type-check
    ├── ValidationFailed         entered data break an item's rules or an instrument's inputs
    ├── ScheduleError            a calendar cannot be built (missing anchor, empty window)
    ├── DoseError                a dose rule cannot be applied (units, missing inputs)
    ├── ImportFailed             a registry record is malformed or truncated
    ├── NotFound                 a study, participant, form or user does not exist
    ├── ConflictError            a stale write: someone saved first; carries current values
    ├── TransitionError          a participant lifecycle step that is not allowed from here
    ├── LockedError              the record is locked against changes
    ├── AccessDenied             the user's role or site does not allow this
    └── StorageError             the database refused or could not be reached
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccessDenied",
    "ConflictError",
    "DefinitionError",
    "DoseError",
    "ExpressionError",
    "ImportFailed",
    "LockedError",
    "NotFound",
    "ScheduleError",
    "StorageError",
    "TransitionError",
    "TrialkitError",
    "ValidationFailed",
]


class TrialkitError(Exception):
    """Base of every trialkit error: a message, a stable code and an optional hint."""

    default_code = "TRIALKIT.E000"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """The error as the JSON error envelope's ``error`` member."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        return out


class DefinitionError(TrialkitError):
    """A study definition is invalid or cannot be read (file, line and path in the message)."""

    default_code = "DEF.E000"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        file: str | None = None,
        line: int | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint)
        self.file = file
        self.line = line
        self.path = path

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        loc = f" at {self.path}" if self.path else ""
        prefix = f"{where}{loc}: " if (where or loc) else ""
        return prefix + super().__str__()


class ExpressionError(DefinitionError):
    """An eligibility expression that does not parse or does not type-check."""

    default_code = "EXPR.E000"


class ValidationFailed(TrialkitError):
    """Entered values break their rules; ``errors`` maps a field path to its messages."""

    default_code = "VAL.E000"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint)
        self.errors = errors or {}

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.errors:
            out["errors"] = self.errors
        return out


class ScheduleError(TrialkitError):
    """A calendar cannot be built."""

    default_code = "SCHED.E000"


class DoseError(TrialkitError):
    """A dose rule cannot be applied."""

    default_code = "DOSE.E000"


class ImportFailed(TrialkitError):
    """A registry record is malformed or truncated; the message names the line or field."""

    default_code = "IMPORT.E000"


class NotFound(TrialkitError):
    """A thing that was asked for does not exist."""

    default_code = "NOTFOUND.E000"


class ConflictError(TrialkitError):
    """A stale write was refused; ``current`` carries what is stored now, nothing is lost."""

    default_code = "CONFLICT.E000"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        current: dict[str, Any] | None = None,
        current_version: int | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint)
        self.current = current or {}
        self.current_version = current_version


class TransitionError(TrialkitError):
    """A lifecycle transition that is not allowed from the current state."""

    default_code = "STATE.E000"


class LockedError(TrialkitError):
    """The record is locked against changes."""

    default_code = "LOCK.E000"


class AccessDenied(TrialkitError):
    """The user's role or site does not allow the action."""

    default_code = "AUTH.E000"


class StorageError(TrialkitError):
    """The database refused the operation or could not be reached."""

    default_code = "STORE.E000"
