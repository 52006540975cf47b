"""Reference data: departments, districts, chains."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.tables import Chain, Department, District


class ReferenceRepo:
    def __init__(self, session: Session):
        self.session = session

    def department(self, code: str) -> Department | None:
        return self.session.get(Department, code)

    def district(self, code: str) -> District | None:
        return self.session.get(District, code)

    def chain(self, code: str, *, for_update: bool = False) -> Chain | None:
        return self.session.get(Chain, code, with_for_update=for_update or None)

    def add(self, row: Department | District | Chain) -> None:
        self.session.add(row)
        self.session.flush()

    def page(self, model: type[Department] | type[District] | type[Chain], *, after: str | None, limit: int) -> list[Any]:
        stmt = select(model).order_by(model.code).limit(limit)
        if after is not None:
            stmt = stmt.where(model.code > after)
        return list(self.session.scalars(stmt))
