"""Projects are serialised straight from their rows (``project_json`` + orjson, no model in between): the
bytes must be exactly those of the documented ``ProjectRead`` model, for Core rows and ORM objects alike."""

from __future__ import annotations

import orjson
import pytest

from service.db.engine import transaction
from service.db.projects import ProjectQueries
from service.db.raw import reader
from service.db.tables import Project
from service.schemas.projects import ProjectRead, project_json
from tests.api.conftest import P


def _model_bytes(document: dict) -> bytes:
    model = ProjectRead.model_validate(document)
    return model.__pydantic_serializer__.to_json(model)


@pytest.fixture
def varied(client, admin, reference, new_project, move, execute_sql) -> list[str]:
    plain = new_project(planned_investment="0")
    keyed = new_project(external_ref="ZS-7", is_key=True, planned_investment="12500.5", investor="某\"引号\"公司")
    big = new_project(planned_investment="99999999.99", stage="in_production",
                      milestones={"signed": "2025-01-02", "started": "2025-03-04", "in_production": "2025-06-30"})
    moved = new_project()
    assert move(moved["id"], "started", "2026-02-01").status_code == 200
    cancelled = new_project()
    assert move(cancelled["id"], "cancelled", "2026-02-01", reason="投资方撤回").status_code == 200
    voided = new_project()
    r = client.post(f"{P}/{voided['id']}/void", json={"reason": "重复录入"}, headers=admin)
    assert r.status_code == 200, r.text
    # A timestamp on a whole second (no microseconds), as a row written by another tool may hold.
    execute_sql("UPDATE project SET created_at = '2026-03-01 08:00:00' WHERE id = :id", id=plain["id"])
    return [p["id"] for p in (plain, keyed, big, moved, cancelled, voided)]


def test_project_json_is_the_models_serialisation(app, sessions, varied):
    with transaction(sessions, write=False) as session, reader(app.state.db.engine) as r:
        for project_id in varied:
            for row in (ProjectQueries(r).row(project_id), session.get(Project, project_id)):  # record, ORM object
                document = project_json(row)
                assert orjson.dumps(document, option=orjson.OPT_UTC_Z) == _model_bytes(document)


def test_answers_are_valid_project_reads(client, admin, varied):
    for project_id in varied:
        r = client.get(f"{P}/{project_id}", headers=admin, params={"include_voided": "true"})
        assert r.status_code == 200, r.text
        assert r.content == _model_bytes(r.json())
    page = client.get(P, headers=admin, params={"include_voided": "true"})
    assert page.status_code == 200
    assert [p["id"] for p in page.json()["items"]] == varied
    for item in page.json()["items"]:
        assert orjson.dumps(item) == _model_bytes(item)
