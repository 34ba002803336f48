"""The web application's settings: a pydantic model read from the environment.

==============================  =============================================================
variable                        meaning
==============================  =============================================================
``TRIALKIT_DATABASE_URL``       the database (default ``sqlite:///./trialkit.sqlite3``)
``TRIALKIT_SECRET_KEY``         signs the CSRF cookie; required outside demo mode, at least
                                32 characters (``python -c "import secrets;
                                print(secrets.token_urlsafe(32))"``)
``TRIALKIT_IDLE_MINUTES``       a session ends after this much inactivity (default 30)
``TRIALKIT_SESSION_HOURS``      a session ends this long after sign-in whatever (default 12)
``TRIALKIT_WARN_MINUTES``       the page warns this long before the idle timeout (default 2)
``TRIALKIT_LANGUAGE``           the language before anyone signs in: ``en`` or ``fa``
``TRIALKIT_SECURE_COOKIES``     ``1``/``0``: mark cookies Secure; default: unless the host is
                                a loopback address (127.0.0.1, ::1, localhost)
``TRIALKIT_LOGIN_ATTEMPTS``     sign-in attempts per client address per window (default 60;
                                0: no limit), :mod:`trialkit.web.ratelimit`
``TRIALKIT_LOGIN_WINDOW_SECONDS``  that window (default 300)
``TRIALKIT_TOKEN_REQUESTS``     requests per API or REDCap token per window (default 600; 0: no
                                limit)
``TRIALKIT_TOKEN_WINDOW_SECONDS``  that window (default 60)
==============================  =============================================================

Outside demo mode nothing is defaulted that protects data: a missing or short secret refuses to
start (:class:`SettingsError`, one line naming the variable and the fix).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trialkit.errors import TrialkitError

__all__ = ["ENV", "SECRET_ENV", "Settings", "SettingsError", "is_loopback"]

SECRET_ENV = "TRIALKIT_SECRET_KEY"
MIN_SECRET = 32
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
#: The environment variable of each setting read from the environment (docs/web.md, Settings).
ENV = {
    "database_url": "TRIALKIT_DATABASE_URL",
    "secret_key": SECRET_ENV,
    "idle_minutes": "TRIALKIT_IDLE_MINUTES",
    "session_hours": "TRIALKIT_SESSION_HOURS",
    "warn_minutes": "TRIALKIT_WARN_MINUTES",
    "language": "TRIALKIT_LANGUAGE",
    "secure_cookies": "TRIALKIT_SECURE_COOKIES",
    "login_attempts": "TRIALKIT_LOGIN_ATTEMPTS",
    "login_window_seconds": "TRIALKIT_LOGIN_WINDOW_SECONDS",
    "token_requests": "TRIALKIT_TOKEN_REQUESTS",
    "token_window_seconds": "TRIALKIT_TOKEN_WINDOW_SECONDS",
}
#: The settings read as they are given (the rest are handled one by one in ``from_env``).
_PLAIN = (
    "idle_minutes",
    "session_hours",
    "warn_minutes",
    "language",
    "login_attempts",
    "login_window_seconds",
    "token_requests",
    "token_window_seconds",
)


class SettingsError(TrialkitError):
    default_code = "WEB.E100"


def is_loopback(host: str) -> bool:
    return host in _LOOPBACK or host.startswith("127.")


class Settings(BaseModel):
    """How the web application runs (see the module docstring for the variables)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str | None = None
    secret_key: str = Field(min_length=MIN_SECRET, repr=False)
    demo: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_hours: int = Field(default=12, ge=1, le=7 * 24)
    warn_minutes: int = Field(default=2, ge=0, le=60)
    language: str = Field(default="en", pattern="^(en|fa)$")
    secure_cookies: bool | None = None
    login_attempts: int = Field(default=60, ge=0, le=1_000_000)
    login_window_seconds: int = Field(default=300, ge=1, le=86_400)
    token_requests: int = Field(default=600, ge=0, le=1_000_000)
    token_window_seconds: int = Field(default=60, ge=1, le=86_400)

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.idle_minutes)

    @property
    def lifetime(self) -> timedelta:
        return timedelta(hours=self.session_hours)

    @property
    def secure(self) -> bool:
        """Whether cookies are marked Secure (HTTPS only)."""
        if self.secure_cookies is not None:
            return self.secure_cookies
        return not is_loopback(self.host)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        demo: bool = False,
        host: str | None = None,
        port: int | None = None,
        database_url: str | None = None,
    ) -> Settings:
        """The settings from ``env`` (default ``os.environ``) and the command line's options.

        Demo mode makes a random secret for this run when none is configured; otherwise a
        missing or short secret is refused.
        """
        env = os.environ if env is None else env
        secret = env.get(SECRET_ENV, "")
        if not secret:
            if not demo:
                raise SettingsError(
                    f"{SECRET_ENV} is not set: the web application will not start without a "
                    "secret outside demo mode",
                    hint=f"set {SECRET_ENV} to {MIN_SECRET}+ random characters, e.g. python -c "
                    '"import secrets; print(secrets.token_urlsafe(32))"; or run '
                    "`trialkit serve --demo` to try it",
                )
            secret = secrets.token_urlsafe(32)
        elif len(secret) < MIN_SECRET:
            raise SettingsError(
                f"{SECRET_ENV} has {len(secret)} characters; it needs at least {MIN_SECRET}",
                hint='make one with python -c "import secrets; print(secrets.token_urlsafe(32))"',
            )
        values: dict[str, object] = {
            "secret_key": secret,
            "demo": demo,
            "database_url": database_url or env.get("TRIALKIT_DATABASE_URL") or None,
        }
        if host is not None:
            values["host"] = host
        if port is not None:
            values["port"] = port
        for name in _PLAIN:
            if env.get(ENV[name]):
                values[name] = env[ENV[name]]
        if env.get("TRIALKIT_SECURE_COOKIES"):
            values["secure_cookies"] = env["TRIALKIT_SECURE_COOKIES"] not in ("0", "false", "no")
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "settings"
            var = {**ENV, "port": "--port"}.get(field, field)
            raise SettingsError(
                f"{var}: {first['msg']} (got {first.get('input')!r})",
                hint="see docs/web.md, Settings",
            ) from exc
        if demo and not is_loopback(settings.host):
            raise SettingsError(
                f"demo mode serves on this machine only; --host {settings.host!r} is not a "
                "loopback address",
                hint="use --host 127.0.0.1, or configure a real deployment without --demo",
            )
        return settings
