"""The parts of the participant page that the adverse-event and dosing routes add: what the
study's stopping rules pause now, the participant's adverse events, and the dosing timeline.

Each panel is one or two service calls with the request's context; the services check role and
site, and hide every arm from a blinded user of a masked study (:func:`pause_lines` words a pause
from what the service shows, so it names no arm the service hid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trialkit.services import Permission
from trialkit.services.adverse_events import AdverseEvent, list_adverse_events
from trialkit.services.doses import DoseTimeline, dose_timeline
from trialkit.services.safety import PauseRecord, active_pauses
from trialkit.store import Database
from trialkit.web.i18n import Translator
from trialkit.web.pages import User

__all__ = ["PauseLine", "participant_panels", "pause_lines"]

#: What a blinded reader sees in place of a paused arm (as :mod:`trialkit.services.safety`).
BLINDED_ARM = "(blinded)"


@dataclass(frozen=True)
class PauseLine:
    """One active pause in words: the rule, its text (the protocol's wording), when it fired,
    and what it stops, each a sentence of the user's language."""

    id: int
    rule_id: str
    text: str
    fired_at: Any
    stops: tuple[str, ...]
    affects_participant: bool


def pause_lines(
    pauses: tuple[PauseRecord, ...] | list[PauseRecord],
    _: Translator,
    *,
    participant: str | None = None,
    arm: str | None = None,
) -> list[PauseLine]:
    """The active pauses among ``pauses`` in the user's words; ``affects_participant``: it
    stops enrolment or dosing of ``participant`` (in ``arm``, when the user may see it)."""
    out = []
    for r in pauses:
        if r.status != "active":
            continue
        what = r.trigger.get("pauses", {})
        stops: list[str] = []
        touches = False
        if what.get("enrolment"):
            stops.append(_("Enrolment into the study is paused."))
        if what.get("dosing"):
            stops.append(_("Dosing is paused in the whole study."))
            touches = True
        for paused in what.get("arms", []):
            if paused == BLINDED_ARM:
                stops.append(
                    _(
                        "A dose group is paused: no one is enrolled into it or dosed in it "
                        "(which one is not shown to blinded roles)."
                    )
                )
            else:
                stops.append(
                    _(
                        "Dose group {arm} is paused: no one is enrolled into it or dosed in it.",
                        arm=paused,
                    )
                )
                touches = touches or paused == arm
        if participant is not None and participant in what.get("participants", []):
            stops.append(_("Dosing of this participant is stopped."))
            touches = True
        if not stops:
            continue  # another participant's own stop: not this page's business
        text = str(r.trigger.get("text", ""))
        out.append(PauseLine(r.id, r.rule_id, text, r.fired_at, tuple(stops), touches))
    return out


def participant_panels(
    db: Database, user: User, study: str, code: str, site: str, arm: str | None
) -> dict[str, Any]:
    """The template values of the safety, adverse-event and dosing panels."""
    ctx = user.ctx
    events: list[AdverseEvent] = list_adverse_events(db, ctx, study, code)
    timeline: DoseTimeline = dose_timeline(db, ctx, study, code)
    principal = ctx.principal
    return {
        "pauses": pause_lines(
            active_pauses(db, ctx, study, site), user._, participant=code, arm=arm
        ),
        "aes": events,
        "timeline": timeline,
        "may_prepare": principal.can(Permission.PREPARE_DOSE, study, site),
    }
