"""A hypothesis state machine drives the project API against the stage table (service/domain/stages.py).

Rules create projects, move them to any target (valid or not, on valid or invalid dates, with or without a
reason, with a current, stale or no If-Match), revert, cancel and void. A model predicts each answer from
TRANSITIONS alone: only table transitions are accepted, every refusal is the documented 4xx, nothing is ever a
5xx. At teardown every audited ``project.transitioned`` (from, to) is a pair of the table and the chain verifies.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from service.domain.stages import TRANSITIONS, Stage
from tests.reliability.support import P, assert_problem, audit_events, today_shanghai, verify

ALL_STAGES = list(Stage)
SIGNED_ON = today_shanghai() - timedelta(days=200)
DATES = {
    "ok": SIGNED_ON.isoformat(),  # equal to every earlier milestone: allowed
    "future": (today_shanghai() + timedelta(days=5)).isoformat(),
    "early": (SIGNED_ON - timedelta(days=10)).isoformat(),  # before the signing milestone
}
IF_MATCH = st.sampled_from(["none", "current", "current", "stale"])
ON = st.sampled_from(["ok", "ok", "ok", "future", "early"])
NEXT = {Stage.SIGNED: Stage.STARTED, Stage.STARTED: Stage.IN_PRODUCTION, Stage.IN_PRODUCTION: Stage.AT_CAPACITY}
TABLE_PAIRS = {(a.value, b.value) for a, targets in TRANSITIONS.items() for b in targets}


@dataclass
class Model:
    stage: Stage = Stage.SIGNED
    version: int = 1
    voided: bool = False
    moves: list[tuple[Stage, Stage]] = field(default_factory=list)  # un-reverted transitions, latest last


def run_machine(client, headers) -> Counter:  # noqa: ANN001
    """Run the machine; return how often each (from, to, expected status) of a transition request occurred."""
    outcomes: Counter = Counter()

    class StageMachine(RuleBasedStateMachine):
        projects = Bundle("projects")

        def __init__(self) -> None:
            super().__init__()
            self.model: dict[str, Model] = {}

        # ------------------------------------------------------------ helpers

        def _headers(self, pid: str, if_match: str) -> dict[str, str]:
            m = self.model[pid]
            if if_match == "current":
                return {**headers, "If-Match": f'"{m.version}"'}
            if if_match == "stale":
                return {**headers, "If-Match": f'"{m.version + 7}"'}
            return headers

        def _check(self, r, pid: str, expected: int) -> None:  # noqa: ANN001
            assert r.status_code < 500, r.text
            assert r.status_code == expected, (expected, r.status_code, r.text, self.model[pid])
            if expected >= 400:
                assert_problem(r, expected)
            else:
                self.model[pid].version += 1
                assert r.json()["version"] == self.model[pid].version
                assert r.headers["ETag"] == f'"{self.model[pid].version}"'

        def _refusal(self, pid: str, if_match: str) -> int | None:
            """What _load_for_write refuses before any rule: a stale If-Match (412), a voided project (409)."""
            if if_match == "stale":
                return 412
            if self.model[pid].voided:
                return 409
            return None

        def _move(self, pid: str, target: Stage, on: str, reason: str | None, if_match: str) -> None:
            m = self.model[pid]
            expected = self._refusal(pid, if_match)
            if expected is None:
                if target not in TRANSITIONS[m.stage]:
                    expected = 409
                elif target is Stage.CANCELLED and not reason:
                    expected = 422
                elif on != "ok":
                    expected = 422
                else:
                    expected = 200
            body = {"to": target.value, "on": DATES[on], **({"reason": reason} if reason else {})}
            r = client.post(f"{P}/{pid}/transitions", json=body, headers=self._headers(pid, if_match))
            self._check(r, pid, expected)
            if expected == 409 and not m.voided and if_match != "stale":
                problem = r.json()
                assert problem["type"] == "/problems/invalid-transition"
                assert sorted(problem.get("allowed", [])) == sorted(s.value for s in TRANSITIONS[m.stage])
            event(f"{m.stage.value} -> {target.value}: {expected}")
            outcomes[(m.stage.value, target.value, expected)] += 1
            if expected == 200:
                m.moves.append((m.stage, target))
                m.stage = target

        # ------------------------------------------------------------ rules

        @rule(target=projects)
        def create(self) -> str:
            r = client.post(P, headers=headers, json={
                "name": "状态机项目", "chain": "OPTICS", "district": "JA", "investor": "某公司",
                "planned_investment": "800", "milestones": {"signed": SIGNED_ON.isoformat()}})
            assert r.status_code == 201, r.text
            pid = r.json()["id"]
            self.model[pid] = Model()
            return pid

        @rule(pid=projects, to=st.sampled_from(ALL_STAGES), on=ON,
              reason=st.sampled_from([None, "项目方调整"]), if_match=IF_MATCH)
        def transition(self, pid: str, to: Stage, on: str, reason: str | None, if_match: str) -> None:
            self._move(pid, to, on, reason, if_match)

        @rule(pid=projects, on=ON, if_match=IF_MATCH)
        def advance(self, pid: str, on: str, if_match: str) -> None:
            """The next stage of the model (so runs reach the later stages); at a final stage, any target."""
            self._move(pid, NEXT.get(self.model[pid].stage, Stage.STARTED), on, None, if_match)

        @rule(pid=projects, on=ON, with_reason=st.booleans(), if_match=IF_MATCH)
        def cancel(self, pid: str, on: str, with_reason: bool, if_match: str) -> None:
            self._move(pid, Stage.CANCELLED, on, "投资方撤资" if with_reason else None, if_match)

        @rule(pid=projects, if_match=IF_MATCH)
        def revert(self, pid: str, if_match: str) -> None:
            m = self.model[pid]
            expected = self._refusal(pid, if_match) or (409 if not m.moves else 200)
            r = client.post(f"{P}/{pid}/transitions/revert", json={"reason": "录入错误"},
                            headers=self._headers(pid, if_match))
            self._check(r, pid, expected)
            if expected == 200:
                m.stage = m.moves.pop()[0]

        @rule(pid=projects, if_match=IF_MATCH)
        def void(self, pid: str, if_match: str) -> None:
            m = self.model[pid]
            expected = self._refusal(pid, if_match) or 200
            r = client.post(f"{P}/{pid}/void", json={"reason": "重复录入"}, headers=self._headers(pid, if_match))
            self._check(r, pid, expected)
            if expected == 200:
                m.voided = True

        # ------------------------------------------------------------ invariants

        @invariant()
        def api_agrees_with_the_model(self) -> None:
            for pid, m in self.model.items():
                p = client.get(f"{P}/{pid}", headers=headers).json()
                assert (Stage(p["stage"]), p["version"], p["voided"]) == (m.stage, m.version, m.voided), (p, m)

        def teardown(self) -> None:
            for pid, m in self.model.items():
                events = audit_events(client, headers, entity="project", entity_id=pid)
                moved = [e for e in events if e["action"] == "project.transitioned"]
                for e in moved:
                    pair = (e["data"]["before"]["stage"], e["data"]["after"]["stage"])
                    assert pair in TABLE_PAIRS, f"audited transition {pair} is not in the stage table"
                # One event per accepted write: created + every accepted change.
                assert len(events) == m.version, (len(events), m)
            verify(client, headers)

    run_state_machine_as_test(
        StageMachine,
        settings=settings(max_examples=25, stateful_step_count=20, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )
    return outcomes


def test_the_api_follows_the_stage_table(client, admin, reference):
    outcomes = run_machine(client, admin)
    # The runs were not vacuous: table moves were accepted (the last step included), others refused.
    accepted = {(a, b) for a, b, status in outcomes if status == 200}
    assert ("signed", "started") in accepted, outcomes
    assert {status for *_, status in outcomes} >= {200, 409, 412, 422}, outcomes
