"""The web application (the study workspace): see ``docs/web.md``.

:func:`create_app` gives the ASGI application for :class:`Settings`; ``trialkit serve`` runs
it with uvicorn.
"""

from trialkit.web.app import create_app
from trialkit.web.settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError", "create_app"]
