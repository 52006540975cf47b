"""Issue 19, point 5: digits, dates and invisible characters. Each finding replayed; each refusal asserted."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.conftest import P, assert_validation, project_body


@pytest.mark.parametrize("amount", ["١٢٣", "１２３", "12\u200b3"])  # Arabic-Indic, full-width, a zero-width inside
def test_amounts_take_ascii_digits_only(client, admin, reference, unchanged, amount):
    with unchanged():
        assert_validation(client.post(P, json=project_body(planned_investment=amount), headers=admin),
                          "body", "planned_investment")


@pytest.mark.parametrize("day", ["2026-11-01T00:00:00Z", "2026-11-01T00:00:00", "20261101", "2026-1-1", 1793491200])
def test_dates_are_exactly_yyyy_mm_dd(client, admin, reference, unchanged, day):
    with unchanged():
        r = client.post(P, json=project_body(milestones={"signed": day}), headers=admin)
    assert_validation(r, "body", "milestones", "signed")


@pytest.mark.parametrize("name", ["esc\x1b[31m", "evil\u202egnp.exe", "zero\u200bwidth", "\u200b=1+1"])
def test_names_refuse_controls_and_invisible_characters(client, admin, reference, unchanged, name):
    with unchanged():
        assert_validation(client.post(P, json=project_body(name=name), headers=admin), "body", "name")


def test_export_guards_a_formula_behind_a_zero_width_character(client, admin, new_project, execute_sql):
    """A value stored before the text rules (or by any other way in) is still guarded on the way out."""
    project = new_project()
    execute_sql("UPDATE project SET name = :name WHERE id = :id", name="\u200b=1+1", id=project["id"])
    r = client.get("/api/v1/ledger", params={"period": project["milestones"]["signed"][:4], "format": "csv"},
                   headers=admin)
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    id_at, name_at = rows[0].index("项目编号"), rows[0].index("项目名称")
    names = [row[name_at] for row in rows[1:] if len(row) > id_at and row[id_at] == project["id"]]
    assert names == ["'\u200b=1+1"]


@pytest.mark.parametrize("cursor", ["WyJhYmMiXQ==", "abc", "-1", "9" * 40])
def test_a_cursor_this_list_never_issued_is_422_not_500(client, admin, new_project, cursor):
    """The pen test's ``?cursor=WyJhYmMiXQ==`` on a project's history answered 500."""
    project = new_project()
    r = client.get(f"{P}/{project['id']}/history", params={"cursor": cursor}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["query", "cursor"]
