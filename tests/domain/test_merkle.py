"""The Merkle tree's proofs (SPEC §6, RFC 9162 §2.1) against a plain recursive definition of the tree."""

from __future__ import annotations

from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain import merkle


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(sha256(str(i).encode()).digest()) for i in range(n)]


# ---------------------------------------------------------------- the reference, straight from RFC 9162 §2.1.1-2.1.4


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [mth(d)]
    k = _k(len(d))
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    return subproof(m, d, True)


# ---------------------------------------------------------------- the stored form: every perfect node of a tree


def _nodes(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    f = merkle.Frontier()
    out: dict[tuple[int, int], bytes] = {}
    for leaf in leaves:
        f.append(leaf)
        out.update({(level, index): h for level, index, h in f.completed})
    return out


def _inclusion(index: int, size: int, nodes) -> list[bytes]:
    return merkle.prove(merkle.inclusion_ranges(index, size), nodes)


def _consistency(first: int, second: int, nodes) -> list[bytes]:
    return merkle.prove(merkle.consistency_ranges(first, second), nodes)


LEAVES = _leaves(1100)
NODES = _nodes(LEAVES)
SIZES = [*range(1, 65), 127, 128, 129, 1000, 1023, 1024, 1025, 1100]


@pytest.mark.parametrize("size", SIZES)
def test_roots_inclusion_and_consistency_match_the_recursive_definition(size):
    d = LEAVES[:size]
    root = mth(d)
    assert merkle.root_of(d) == root == merkle.range_hash(0, size, NODES)
    indices = range(size) if size <= 64 else [0, 1, size // 3, size // 2, size - 2, size - 1]
    for m in indices:
        assert _inclusion(m, size, NODES) == path(m, d)
        assert merkle.verify_inclusion(d[m], m, size, path(m, d), root)
    firsts = range(1, size + 1) if size <= 64 else [1, 2, 63, 64, size // 2, size - 1, size]
    for m in firsts:
        assert _consistency(m, size, NODES) == proof(m, d), (m, size)
        assert merkle.verify_consistency(m, size, mth(d[:m]), root, proof(m, d))


def test_completed_nodes_ask_only_for_left_siblings():
    stored: dict[tuple[int, int], bytes] = {}
    for i, leaf in enumerate(LEAVES[:300]):
        assert {(lv, ix) for lv, ix in merkle.left_siblings(i)} <= set(stored)
        for level, index, h in merkle.completed_nodes(i, leaf, lambda lv, ix: stored[(lv, ix)]):
            stored[(level, index)] = h
    assert stored == _nodes(LEAVES[:300])


def test_empty_tree_and_bad_arguments():
    assert merkle.root_of([]) == sha256(b"").digest()
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(3, 3)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(0, 3)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(4, 3)
    assert not merkle.verify_inclusion(LEAVES[0], 1, 1, [], LEAVES[0])
    assert merkle.verify_consistency(5, 5, mth(LEAVES[:5]), mth(LEAVES[:5]), [])
    assert not merkle.verify_consistency(5, 5, mth(LEAVES[:5]), mth(LEAVES[:5]), [LEAVES[0]])


def test_tree_head_message_is_canonical_json():
    msg = merkle.tree_head_message(size=3, root="ab", signed_at="2026-12-05T01:00:00Z", key_id="cd")
    assert msg == b'{"key_id":"cd","root":"ab","signed_at":"2026-12-05T01:00:00Z","size":3}'


# ---------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_inclusion_proof_verifies_and_no_other_leaf_or_size_does(data):
    size = data.draw(st.integers(1, 1100))
    m = data.draw(st.integers(0, size - 1))
    root = merkle.range_hash(0, size, NODES)
    p = _inclusion(m, size, NODES)
    assert merkle.verify_inclusion(LEAVES[m], m, size, p, root)
    other = data.draw(st.integers(0, 1099).filter(lambda i: i != m))
    assert not merkle.verify_inclusion(LEAVES[other], m, size, p, root)
    if other < size:
        assert not merkle.verify_inclusion(LEAVES[m], other, size, p, root)
    other_size = data.draw(st.integers(1, 1100).filter(lambda s: s != size))
    # (The root alone does not bind the size, e.g. leaf 0 of 129 and of 130 take the same path shape: a signed
    # head binds the two, so the claim checked is always against the root of the size claimed.)
    assert not merkle.verify_inclusion(LEAVES[m], m, other_size, p, merkle.range_hash(0, other_size, NODES))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_consistency_proof_verifies_and_none_for_another_size_or_tree(data):
    second = data.draw(st.integers(1, 1100))
    first = data.draw(st.integers(1, second))
    r1, r2 = merkle.range_hash(0, first, NODES), merkle.range_hash(0, second, NODES)
    p = _consistency(first, second, NODES)
    assert merkle.verify_consistency(first, second, r1, r2, p)
    other = data.draw(st.integers(1, second).filter(lambda s: s != first))
    assert not merkle.verify_consistency(other, second, merkle.range_hash(0, other, NODES), r2, p)
    assert not merkle.verify_consistency(other, second, r1, r2, p)
    # A first tree that differs in one leaf is not consistent with the second.
    changed = list(LEAVES[:first])
    victim = data.draw(st.integers(0, first - 1))
    changed[victim] = merkle.leaf_hash(b"forged")
    assert not merkle.verify_consistency(first, second, merkle.root_of(changed), r2, p)


@pytest.mark.parametrize("size", [1, 2, 7, 64, 100, 1100])
def test_first_changed_leaf_descends_the_trusted_nodes(size):
    root = mth(LEAVES[:size])
    fetch = lambda nodes: {n: NODES[n] for n in nodes if n in NODES}  # noqa: E731
    assert merkle.first_changed_leaf(LEAVES[:size], root, fetch) is None  # nothing changed
    for victim in {0, size // 2, size - 1}:
        changed = list(LEAVES[:size])
        for i in range(victim, size):  # the victim and (its chain recomputed) every later one
            changed[i] = merkle.leaf_hash(b"forged" + bytes([i % 256]))
        assert merkle.first_changed_leaf(changed, root, fetch) == victim
    # Stored nodes rewritten as well: nothing to trust.
    forged_nodes = _nodes([merkle.leaf_hash(b"x")] * size)
    assert merkle.first_changed_leaf(LEAVES[:size], root, lambda ns: {n: forged_nodes[n] for n in ns}) is None
