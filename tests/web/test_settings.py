"""Settings from the environment: no secret defaulted outside demo mode."""

from __future__ import annotations

import pytest

from trialkit.web.settings import Settings, SettingsError

GOOD = "k" * 40


def test_a_secret_is_required_outside_demo_mode() -> None:
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({})
    assert "TRIALKIT_SECRET_KEY is not set" in exc.value.message
    assert "token_urlsafe" in str(exc.value)
    with pytest.raises(SettingsError) as short:
        Settings.from_env({"TRIALKIT_SECRET_KEY": "short"})
    assert "has 5 characters; it needs at least 32" in short.value.message


def test_demo_mode_makes_a_secret_for_the_run_and_stays_local() -> None:
    a, b = Settings.from_env({}, demo=True), Settings.from_env({}, demo=True)
    assert a.secret_key != b.secret_key
    assert len(a.secret_key) >= 32
    assert GOOD not in repr(Settings.from_env({"TRIALKIT_SECRET_KEY": GOOD}))
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({}, demo=True, host="0.0.0.0")
    assert "loopback" in exc.value.message


def test_values_from_the_environment_are_checked() -> None:
    s = Settings.from_env(
        {
            "TRIALKIT_SECRET_KEY": GOOD,
            "TRIALKIT_IDLE_MINUTES": "15",
            "TRIALKIT_LANGUAGE": "fa",
            "TRIALKIT_DATABASE_URL": "sqlite:///x.sqlite3",
        },
        host="10.0.0.5",
    )
    assert (s.idle_minutes, s.language, s.database_url) == (15, "fa", "sqlite:///x.sqlite3")
    assert s.secure  # not a loopback address: cookies are Secure
    assert not Settings.from_env({"TRIALKIT_SECRET_KEY": GOOD}).secure
    with pytest.raises(SettingsError) as exc:
        Settings.from_env({"TRIALKIT_SECRET_KEY": GOOD, "TRIALKIT_IDLE_MINUTES": "soon"})
    assert "TRIALKIT_IDLE_MINUTES" in exc.value.message
    assert "'soon'" in exc.value.message
    with pytest.raises(SettingsError):
        Settings.from_env({"TRIALKIT_SECRET_KEY": GOOD, "TRIALKIT_LANGUAGE": "de"})
