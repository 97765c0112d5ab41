"""Who is asking: the role and identity a request acts with, taken from its token or API key."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Role(enum.Enum):
    """What a caller may see and do (see README "Security")."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


@dataclass(frozen=True)
class Viewer:
    """The identity of one request; every data path restricts its rows through it.

    `subject` is the token's `sub` (for supervisors also the assessor id written on assessments),
    `agent_id` the agent an agent token speaks for, `team_ids` the teams a supervisor manages.
    `show_contacts` lets agents see customers' phone and e-mail (a setting, off by default).
    """

    role: Role
    subject: str
    agent_id: str | None = None
    team_ids: frozenset[str] = field(default_factory=frozenset)
    show_contacts: bool = False

    @classmethod
    def system(cls) -> Viewer:
        """The in-process caller (CLI, tests, auth switched off on loopback): sees everything.

        Say it explicitly where it is meant; no function falls back to it when a viewer is
        missing (README "Security").
        """
        return cls(Role.ADMIN, "system")

    @classmethod
    def nobody(cls) -> Viewer:
        """A request that reached a data path without an identity: sees no scoped row at all.

        An agent speaking for no agent: every row rule answers false for it (`resolvers/scope.py`),
        so a misconfiguration fails closed instead of falling back to an admin.
        """
        return cls(Role.AGENT, "anonymous")

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def restricted(self) -> bool:
        """Whether some rows may be hidden from this viewer."""
        return self.role is not Role.ADMIN
