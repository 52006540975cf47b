"""Who may write what (SPEC §1): roles, chain scope, and the checks use cases call."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from service.domain.errors import Forbidden


class Role(StrEnum):
    ADMIN = "admin"
    DEPARTMENT = "department"
    INTEGRATION = "integration"
    AUDITOR = "auditor"
    VIEWER = "viewer"


#: Who reads the audit history (``/audit/*`` and the audit page): the city office and the auditors.
AUDIT_READERS = (Role.ADMIN, Role.AUDITOR)


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    role: Role
    chains: frozenset[str] = field(default_factory=frozenset)
    token_id: int | None = None

    def require(self, *roles: Role, action: str) -> None:
        """Raise Forbidden unless the actor has one of ``roles``."""
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"Role '{self.role}' may not {action}; allowed: {allowed}.", role=self.role.value)

    def require_chain(self, chain: str, *, action: str) -> None:
        """Department tokens write only for the chains they are scoped to; admins write everywhere."""
        if self.role is Role.ADMIN:
            return
        if self.role is Role.DEPARTMENT and chain in self.chains:
            return
        if self.role is Role.DEPARTMENT:
            raise Forbidden(
                f"This department token is scoped to {sorted(self.chains)}; it may not {action} for chain '{chain}'.",
                chain=chain,
            )
        raise Forbidden(f"Role '{self.role}' may not {action}.", role=self.role.value)

    def may_write(self, chain: str) -> bool:
        """May the actor write for ``chain`` (move its projects, fill its dispatches)? As ``require_chain`` decides."""
        return self.role is Role.ADMIN or (self.role is Role.DEPARTMENT and chain in self.chains)

    def require_chains(self, chains: Iterable[str], *, action: str) -> None:
        for chain in chains:
            self.require_chain(chain, action=action)


#: The system itself (CLI seeding, migrations) as an audited actor.
SYSTEM = Actor(name="system", role=Role.ADMIN)
