"""What the firings pause: :func:`what_is_paused` and :class:`Pauses`.

Each action pauses one thing, whatever scope the rule counted in:

* ``pause_enrolment``: enrolment into the study.
* ``pause_dosing``: every dose of the study.
* ``pause_arm``: the dose group, i.e. enrolment into the arm and every dose given in it. The
  arms are the firing's target for scope ``arm``, and the arms of the counted events for scope
  ``study`` or ``participant``. A firing whose events name no arm (participants not yet
  allocated) pauses no arm and is listed in :attr:`Pauses.unplaced` for the board to see.
* ``stop_participant_dosing``: the further doses of the participant (the target for scope
  ``participant``; the participants of the counted events for scope ``study`` or ``arm``).

Every paused thing carries the ids of the rules responsible, in the order the rules fired.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from trialkit.safety.rules import Firing

__all__ = ["Pauses", "what_is_paused"]


def _merge(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(rule for group in groups for rule in group))


@dataclass(frozen=True)
class Pauses:
    """What is paused and by which rules (rule ids, in firing order, without repeats)."""

    enrolment: tuple[str, ...] = ()
    dosing: tuple[str, ...] = ()
    arms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    participants: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unplaced: tuple[str, ...] = ()

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    @property
    def enrolment_paused(self) -> bool:
        return bool(self.enrolment)

    @property
    def dosing_paused(self) -> bool:
        return bool(self.dosing)

    @property
    def anything(self) -> bool:
        """True when anything at all is paused."""
        return bool(self.enrolment or self.dosing or self.arms or self.participants)

    def enrolment_blocked_by(self, arm: str | None = None) -> tuple[str, ...]:
        """The rules that forbid enrolling now (into ``arm`` when given); empty: allowed."""
        return _merge(self.enrolment, self.arms.get(arm, ()) if arm is not None else ())

    def dosing_blocked_by(self, participant: str, arm: str | None) -> tuple[str, ...]:
        """The rules that forbid dosing ``participant`` (allocated to ``arm``); empty: allowed."""
        return _merge(
            self.dosing,
            self.arms.get(arm, ()) if arm is not None else (),
            self.participants.get(participant, ()),
        )


def what_is_paused(firings: Sequence[Firing]) -> Pauses:
    """The pauses the firings call for (see the module docstring for each action)."""
    enrolment: list[str] = []
    dosing: list[str] = []
    unplaced: list[str] = []
    arms: dict[str, list[str]] = {}
    participants: dict[str, list[str]] = {}
    for firing in firings:
        if firing.action == "pause_enrolment":
            enrolment.append(firing.rule_id)
        elif firing.action == "pause_dosing":
            dosing.append(firing.rule_id)
        elif firing.action == "pause_arm":
            targets = firing.arms
            if not targets:
                unplaced.append(firing.rule_id)
            for arm in targets:
                arms.setdefault(arm, []).append(firing.rule_id)
        else:
            for code in firing.participants:
                participants.setdefault(code, []).append(firing.rule_id)
    return Pauses(
        enrolment=_merge(enrolment),
        dosing=_merge(dosing),
        arms={arm: _merge(ids) for arm, ids in sorted(arms.items())},
        participants={code: _merge(ids) for code, ids in sorted(participants.items())},
        unplaced=_merge(unplaced),
    )
