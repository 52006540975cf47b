"""API tokens (SPEC §1, issue 19): what an admin sends to create one and what the API shows of them."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from service.domain.access import Role
from service.schemas.common import Code, Day, Input, ShortText


class TokenCreate(Input):
    name: ShortText = Field(description="Who holds the token (shown in the audit log as the actor).",
                            examples=["招商局对接系统"])
    role: Role = Field(description="admin | department | integration | auditor | viewer.")
    chains: list[Code] = Field(default_factory=list, max_length=100,
                               description="Chain codes a `department` token writes for (at least one); other "
                               "roles take none.")
    expires_on: Day | None = Field(default=None, description="The last day (service time zone) the token works: "
                                   "it expires at the following midnight. Today or later. Default: "
                                   "`LEDGER_TOKEN_TTL_DAYS` (365) days after creation.")
    never_expires: bool = Field(default=False, description="`true`: the token never expires (`expires_at: null`). "
                                "Not with `expires_on`.")


class TokenRead(BaseModel):
    id: int
    name: str
    role: str
    chains: list[str]
    created_at: datetime
    expires_at: datetime | None = Field(description="When the token stops working; null: never.")
    last_used_on: date | None = Field(description="The last day (service time zone) the token was used; "
                                      "recorded once a day.")
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    secret: str | None = Field(description="The token itself, shown in this answer only (`cl_<random>`); only "
                               "its SHA-256 is stored. An Idempotency-Key replay answers `null`.")


def _fields(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "role": row.role, "chains": json.loads(row.chains),
            "created_at": row.created_at, "expires_at": row.expires_at, "last_used_on": row.last_used_on,
            "revoked_at": row.revoked_at}


def token_read(row: Any) -> TokenRead:
    return TokenRead(**_fields(row))


def token_created(row: Any, *, secret: str | None) -> TokenCreated:
    """The answer to a create: with the secret, or (``secret=None``) as stored for Idempotency-Key replays."""
    return TokenCreated(**_fields(row), secret=secret)
