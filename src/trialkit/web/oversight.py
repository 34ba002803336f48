"""What the data-entry page shows and offers for oversight: the form's queries, its source data
verification, the signatures that cover it and the locks that hold it.

:func:`form_oversight` is a handful of service calls with the request's context (the services
check role and site); it decides nothing, it gathers what the form page shows and which actions
the user's role allows there (the services refuse them anyway when it does not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from trialkit.services import Permission
from trialkit.services.form_views import FormView, form_history
from trialkit.services.locks import Lock, locks
from trialkit.services.monitoring import CHANGED, FormSdv, sdv_status
from trialkit.services.queries import DataQuery, list_queries
from trialkit.services.signatures import Signature, signatures
from trialkit.store import Database
from trialkit.web.pages import User

__all__ = ["MEANINGS", "FormOversight", "covers", "form_oversight", "holds"]

#: The stated meanings a signer chooses from (stored as written; shown translated).
MEANINGS = (
    "I confirm that I reviewed these data and they are accurate",
    "I approve these data as the investigator responsible for them",
)


@dataclass(frozen=True)
class FormOversight:
    """The oversight parts of one form page."""

    queries: tuple[DataQuery, ...] = ()
    sdv: FormSdv | None = None
    change_reasons: dict[datetime, str | None] = field(default_factory=dict)
    signatures: tuple[Signature, ...] = ()
    locks: tuple[Lock, ...] = ()
    may_open_query: bool = False
    may_verify: bool = False
    may_sign: bool = False
    may_sign_casebook: bool = False
    may_lock: bool = False

    @property
    def form_lock(self) -> Lock | None:
        return next((lk for lk in self.locks if lk.scope == "form"), None)


def covers(s: Signature, visit: str, form_id: str, instance_no: int) -> bool:
    """Whether signature ``s`` covers the form ``form_id`` (instance) at ``visit``."""
    if s.scope == "casebook":
        return True
    if s.scope == "visit":
        return s.visit == visit
    return (s.visit, s.form_id, s.instance_no) == (visit, form_id, instance_no)


def holds(lk: Lock, participant: str, visit: str, form_id: str, instance_no: int) -> bool:
    """Whether lock ``lk`` holds the form ``form_id`` (instance) of ``participant`` at ``visit``."""
    if lk.scope == "study":
        return True
    if lk.participant != participant:
        return False
    return lk.scope == "participant" or (lk.visit, lk.form_id, lk.instance_no or 1) == (
        visit,
        form_id,
        instance_no,
    )


def form_oversight(db: Database, user: User, view: FormView) -> FormOversight:
    """The queries, SDV, signatures and locks of the form of ``view``, as ``user`` may see them."""
    ctx, p = user.ctx, view.participant
    form_id, visit, n = view.form.id, view.visit, view.instance_no

    def can(permission: Permission) -> bool:
        return ctx.principal.can(permission, p.study, p.site)

    entered = view.record is not None and view.record.status == "entered"
    queries: tuple[DataQuery, ...] = ()
    sdv = None
    reasons: dict[datetime, str | None] = {}
    if entered:
        queries = tuple(
            q
            for q in list_queries(
                db, ctx, p.study, status=None, participant=p.code, form_id=form_id
            )
            if (q.visit, q.instance_no) == (visit, n)
        )
        sdv = sdv_status(db, ctx, p.study, p.code, visit=visit, form_id=form_id, instance_no=n)
        states = [sdv.form, *sdv.items.values()]
        if any(s.state == CHANGED for s in states):
            saves = form_history(db, ctx, p.study, p.code, visit=visit, form_id=form_id)
            reasons = {s.at: s.reason for s in saves}
    sigs = tuple(s for s in signatures(db, ctx, p.study, p.code) if covers(s, visit, form_id, n))
    held = tuple(lk for lk in locks(db, ctx, p.study) if holds(lk, p.code, visit, form_id, n))
    return FormOversight(
        queries,
        sdv,
        reasons,
        sigs,
        held,
        may_open_query=entered and can(Permission.OPEN_QUERY),
        may_verify=entered and can(Permission.VERIFY),
        may_sign=entered and can(Permission.SIGN) and not ctx.principal.operator,
        may_sign_casebook=can(Permission.SIGN_CASEBOOK) and not ctx.principal.operator,
        may_lock=view.record is not None and can(Permission.LOCK),
    )
