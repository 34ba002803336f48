"""Alembic migrations of the trialkit schema (run by :func:`trialkit.store.migrate.upgrade`)."""
