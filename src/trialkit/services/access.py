"""Who may do what, where: roles, permissions, grants and the one check every service makes.

A user acts in a study through **memberships**: a role in the study, at one site or at every
site of the study, optionally *unblinded*. A :class:`Principal` carries the user's grants for
the duration of one service call (they are read from the database when the user logs in or
presents an API token). Every service calls :func:`require` (or :func:`visible_sites`) before
it reads or changes anything, so the rules below hold for the web application, the API and the
CLI alike.

=======================  ====================================================================
role                     may
=======================  ====================================================================
administrator            manage the study: sites and memberships; read its records
principal_investigator   everything an investigator may, and sign a participant's casebook
investigator             enter data, enrol and allocate, open and answer queries, sign forms
                         and visits
coordinator              enter data, enrol and allocate, answer queries
data_manager             read, open and close queries, lock and unlock, analyse and export
monitor                  read, open and close queries, mark source data verified
safety_board             read, decide on safety (open a cohort, lift a pause), analyse; always
                         sees allocations
statistician             read, analyse and export
pharmacist               read, prepare the dose of a participant's dosing event (the amount or
                         kit); always sees allocations
read_only                read
=======================  ====================================================================

**Sites.** A membership at a site reaches that site's participants only; one without a site
reaches all of the study's sites. **Blinding.** In a masked study (``design.masking.level``
other than ``none``) only the safety board and memberships marked ``unblinded`` see which arm
a participant was allocated to; everyone else sees ``None``. The pharmacist always sees
allocations: it prepares each dose for the participant's arm, and the blinded roles then record
the kit they gave (docs/access.md, "Blinded dosing"). An open-label study hides nothing.

Platform administrators (``is_admin`` users) create users, load studies and grant the first
memberships; they reach a study's participants only through a membership like anyone else. The
**operator** principal is the trusted local process (the ``trialkit`` CLI run by whoever holds
the database credentials, and ``make demo``); the web application never builds one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from trialkit.errors import AccessDenied

__all__ = [
    "OPERATOR",
    "ROLE_PERMISSIONS",
    "UNBLINDED_ROLES",
    "Grant",
    "Permission",
    "Principal",
    "Role",
    "require",
    "require_admin",
    "sees_allocation",
    "visible_sites",
]


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    PRINCIPAL_INVESTIGATOR = "principal_investigator"
    INVESTIGATOR = "investigator"
    COORDINATOR = "coordinator"
    DATA_MANAGER = "data_manager"
    MONITOR = "monitor"
    SAFETY_BOARD = "safety_board"
    STATISTICIAN = "statistician"
    READ_ONLY = "read_only"
    PHARMACIST = "pharmacist"


class Permission(StrEnum):
    """What a service call needs; the values read well in an error message."""

    MANAGE_STUDY = "manage the study's sites and memberships"
    READ = "read participants' records"
    WRITE = "enter or change participants' data"
    ENROL = "register, consent, enrol and change the status of participants"
    ALLOCATE = "allocate participants"
    OPEN_QUERY = "open data queries"
    ANSWER_QUERY = "answer data queries"
    CLOSE_QUERY = "close and re-open data queries"
    VERIFY = "mark source data verified"
    SIGN = "sign forms and visits"
    SIGN_CASEBOOK = "sign a participant's casebook"
    LOCK = "lock and unlock records"
    SAFETY_DECISION = "record safety decisions"
    ANALYSE = "analyse and export the study's data"
    PREPARE_DOSE = "prepare doses for the participants' arms (unblinded)"


_P = Permission
_ENTRY = {_P.READ, _P.WRITE, _P.ENROL, _P.ALLOCATE, _P.ANSWER_QUERY}

#: The permissions of each role (the table in this module's docstring).
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMINISTRATOR: frozenset({_P.MANAGE_STUDY, _P.READ}),
    Role.PRINCIPAL_INVESTIGATOR: frozenset(_ENTRY | {_P.OPEN_QUERY, _P.SIGN, _P.SIGN_CASEBOOK}),
    Role.INVESTIGATOR: frozenset(_ENTRY | {_P.OPEN_QUERY, _P.SIGN}),
    Role.COORDINATOR: frozenset(_ENTRY),
    Role.DATA_MANAGER: frozenset({_P.READ, _P.OPEN_QUERY, _P.CLOSE_QUERY, _P.LOCK, _P.ANALYSE}),
    Role.MONITOR: frozenset({_P.READ, _P.OPEN_QUERY, _P.CLOSE_QUERY, _P.VERIFY}),
    Role.SAFETY_BOARD: frozenset({_P.READ, _P.SAFETY_DECISION, _P.ANALYSE}),
    Role.STATISTICIAN: frozenset({_P.READ, _P.ANALYSE}),
    Role.READ_ONLY: frozenset({_P.READ}),
    Role.PHARMACIST: frozenset({_P.READ, _P.PREPARE_DOSE}),
}

#: Roles that see every allocation of a masked study, whatever their membership says.
UNBLINDED_ROLES = frozenset({Role.SAFETY_BOARD, Role.PHARMACIST})


@dataclass(frozen=True)
class Grant:
    """One membership: ``role`` in ``study`` at ``site`` (``None``: every site of the study),
    in force from ``starts`` (when it was granted; None when not known)."""

    study: str
    role: Role
    site: str | None = None
    unblinded: bool = False
    starts: datetime | None = field(default=None, compare=False)

    def __str__(self) -> str:
        where = f"at site {self.site}" if self.site else "at every site"
        blind = ", unblinded" if self.unblinded else ""
        return f"{self.role.value} {where}{blind}"


@dataclass(frozen=True)
class Principal:
    """Who acts: a user with their grants, or the trusted local operator."""

    username: str
    user_id: int | None = None
    is_admin: bool = False
    grants: tuple[Grant, ...] = ()
    operator: bool = False
    display_name: str = field(default="", compare=False)
    #: Memberships that start after the context's time: they give nothing yet, but a refusal
    #: says when they start.
    upcoming: tuple[Grant, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not self.username.strip():
            raise ValueError("a principal needs a user name")

    def grants_in(self, study: str) -> list[Grant]:
        return [g for g in self.grants if g.study == study]

    def at(self, as_of: datetime) -> Principal:
        """The principal at ``as_of``: a membership that starts later gives nothing yet."""
        every = (*self.grants, *self.upcoming)
        now = tuple(g for g in every if g.starts is None or g.starts <= as_of)
        later = tuple(g for g in every if g.starts is not None and g.starts > as_of)
        if now == self.grants and later == self.upcoming:
            return self
        return replace(self, grants=now, upcoming=later)

    def can(self, permission: Permission, study: str, site: str | None = None) -> bool:
        """Whether a grant gives ``permission`` in ``study`` at ``site`` (None: at every site)."""
        if self.operator:
            return True
        return any(
            permission in ROLE_PERMISSIONS[g.role] and (g.site is None or g.site == site)
            for g in self.grants_in(study)
        )


#: Name of the operator principal's role in messages and the audit trail.
OPERATOR = "operator"


def _describe(principal: Principal, study: str) -> str:
    grants = principal.grants_in(study)
    if not grants:
        later = sorted(
            (g for g in principal.upcoming if g.study == study and g.starts is not None),
            key=lambda g: g.starts or datetime.min,
        )
        if later:
            first = later[0]
            assert first.starts is not None
            return (
                f"user {principal.username!r} has no role in study {study} yet: their "
                f"membership as {first} starts {first.starts:%Y-%m-%d %H:%M}"
            )
        return f"user {principal.username!r} has no role in study {study}"
    roles = "; ".join(str(g) for g in grants)
    return f"user {principal.username!r} is {roles} in study {study}"


def require(principal: Principal, permission: Permission, study: str, site: str | None) -> None:
    """Refuse unless ``principal`` may ``permission`` in ``study`` at ``site``.

    ``site`` None asks for the permission at every site of the study (e.g. a study-wide
    analysis): only a grant without a site gives it.
    """
    if principal.can(permission, study, site):
        return
    where = f"at site {site}" if site else "at every site"
    raise AccessDenied(
        f"{_describe(principal, study)}, which does not allow them to {permission.value} {where}",
        code="AUTH.E010",
        hint="ask the study's administrator for a membership that gives this permission",
    )


def require_admin(principal: Principal, what: str) -> None:
    """Refuse unless ``principal`` is a platform administrator (or the operator)."""
    if principal.operator or principal.is_admin:
        return
    raise AccessDenied(
        f"user {principal.username!r} is not a platform administrator and may not {what}",
        code="AUTH.E011",
        hint="ask a platform administrator",
    )


def visible_sites(
    principal: Principal, permission: Permission, study: str
) -> frozenset[str] | None:
    """The sites where ``principal`` has ``permission`` (None: every site); refuses if none."""
    if principal.can(permission, study, None):
        return None
    sites = frozenset(
        g.site
        for g in principal.grants_in(study)
        if g.site is not None and permission in ROLE_PERMISSIONS[g.role]
    )
    if not sites:
        require(principal, permission, study, None)  # raises with the explanation
    return sites


def sees_allocation(principal: Principal, study: str, masked: bool, site: str | None) -> bool:
    """Whether ``principal`` may see a participant's arm in ``study`` (at ``site``)."""
    if not masked or principal.operator:
        return True
    return any(
        (g.unblinded or g.role in UNBLINDED_ROLES) and (g.site is None or g.site == site)
        for g in _reading(principal.grants_in(study))
    )


def _reading(grants: Iterable[Grant]) -> Iterable[Grant]:
    return (g for g in grants if Permission.READ in ROLE_PERMISSIONS[g.role])
