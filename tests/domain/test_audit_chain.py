import hashlib
import json
from hypothesis import given
from hypothesis import strategies as st

from service.domain.audit_chain import GENESIS, ChainedEvent, canonical_json, link, payload, verify

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


def _event(seq: int, prev: str, data: object = None, **kw) -> ChainedEvent:
    base = dict(seq=seq, at="2026-11-24T10:00:00.000000Z", actor_name="张三", actor_role="admin", request_id="r1",
                action="project.created", entity="project", entity_id="P1",
                data=canonical_json({"before": None, "after": data}), prev_hash=prev)
    base.update(kw)
    return ChainedEvent(**base)


@given(data=json_values, request_id=st.none() | st.text(max_size=20), name=st.text(max_size=20))
def test_payload_is_the_canonical_json_of_every_field_but_hash(data, request_id, name):
    e = _event(7, GENESIS, data, request_id=request_id, actor_name=name)
    expected = canonical_json({
        "seq": 7, "at": e.at, "actor": {"name": name, "role": "admin"}, "request_id": request_id,
        "action": e.action, "entity": e.entity, "entity_id": e.entity_id, "data": json.loads(e.data),
        "prev_hash": GENESIS,
    })
    assert payload(e) == expected
    assert link(e) == hashlib.sha256(expected.encode()).hexdigest()


def _pairs(n: int) -> list[tuple[ChainedEvent, str]]:
    out, prev = [], GENESIS
    for seq in range(1, n + 1):
        e = _event(seq, prev, {"n": seq})
        prev = link(e)
        out.append((e, prev))
    return out


def test_verify_accepts_an_intact_chain():
    rows = _pairs(5)
    result = verify((*e, h) for e, h in rows)
    assert result.ok and result.events == 5 and result.head == rows[-1][1]


def test_verify_names_a_changed_event():
    rows = _pairs(5)
    rows[2] = (rows[2][0]._replace(data=canonical_json({"before": None, "after": {"n": 99}})), rows[2][1])
    assert verify((*e, h) for e, h in rows).first_bad_seq == 3


def test_verify_names_a_deleted_event():
    rows = _pairs(5)
    del rows[1]
    assert verify((*e, h) for e, h in rows).first_bad_seq == 2


def test_verify_names_a_reordered_event():
    rows = _pairs(5)
    rows[1], rows[2] = rows[2], rows[1]
    assert verify((*e, h) for e, h in rows).first_bad_seq == 2


def test_verify_names_a_rehashed_event_by_its_successor():
    """Rewriting an event and its own hash still breaks the next event's prev_hash."""
    rows = _pairs(5)
    forged = rows[2][0]._replace(data=canonical_json({"before": None, "after": {"n": 99}}))
    rows[2] = (forged, link(forged))
    assert verify((*e, h) for e, h in rows).first_bad_seq == 4
