"""Reference data: departments, districts, chains."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, bindparam, select
from sqlalchemy.orm import Session

from service.db.raw import session_reader
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
        """A page in code order, as read-only records of the table's columns (attributes as the model's): every
        page of the web and the API's lists read these, and ORM instances cost about 60 µs each to build."""
        table = model.__table__

        def build() -> Any:
            stmt = select(*table.columns).order_by(table.c.code).limit(bindparam("limit", type_=Integer))
            return stmt if after is None else stmt.where(table.c.code > bindparam("after"))

        values: dict[str, Any] = {"limit": limit} if after is None else {"limit": limit, "after": after}
        return session_reader(self.session).all(("reference.page", table.name, after is not None), build, **values)
