"""The Merkle tree over the audit events (SPEC §6, RFC 9162 §2.1), as pure functions.

Leaves are the events in ``seq`` order: leaf ``i`` (0-based) is event ``seq = i + 1``, and its hash is
``SHA-256(0x00 ‖ event hash bytes)``; a node is ``SHA-256(0x01 ‖ left ‖ right)``. The tree of size ``n`` is
RFC 9162's MTH over the first ``n`` leaves: split at the largest power of two smaller than ``n``.

Storage keeps the roots of *perfect* subtrees: node ``(level, index)`` is the root of leaves
``[index·2^level, (index+1)·2^level)``. Every subtree RFC 9162's proofs name is a range ``[start, end)`` whose
start is a multiple of a power of two at least as large as the range's left part, so it is the hash of a few
perfect nodes (``perfect_nodes``), combined right to left (``range_hash``). The proofs are computed in two
steps, so storage can read every node it needs in one query: ``inclusion_ranges`` / ``consistency_ranges``
name the ranges, ``perfect_nodes`` the stored nodes behind them, and ``range_hash`` turns them into hashes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from hashlib import sha256

Node = tuple[int, int]  # (level, index)


def leaf_hash(event_hash: bytes) -> bytes:
    return sha256(b"\x00" + event_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = sha256(b"").digest()  # RFC 9162: the hash of an empty list


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# ---------------------------------------------------------------- ranges and perfect nodes


def perfect_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees whose roots make up MTH(leaves[start:end]), left to right.

    ``start`` must be aligned as RFC 9162's subtrees are (a multiple of the largest power of two below the
    range's size, or of its size when that is a power of two)."""
    out: list[Node] = []
    while start < end:
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            out.append((n.bit_length() - 1, start // n))
            break
        k = _split(n)
        if start % k:
            raise ValueError(f"range [{start}, {end}) is not a subtree of an RFC 9162 tree")
        out.append((k.bit_length() - 1, start // k))
        start += k
    return out


def range_hash(start: int, end: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH(leaves[start:end]) from the stored perfect nodes (``perfect_nodes(start, end)`` must be in ``nodes``)."""
    if start == end:
        return EMPTY_ROOT
    parts = [nodes[node] for node in perfect_nodes(start, end)]
    acc = parts[-1]
    for part in reversed(parts[:-1]):
        acc = node_hash(part, acc)
    return acc


def needed_nodes(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    return {node for start, end in ranges for node in perfect_nodes(start, end)}


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The subtrees of RFC 9162 §2.1.3.1 PATH(index, D[0:size]), leaf side first."""
    if not 0 <= index < size:
        raise ValueError("the leaf index must be below the tree size")
    out: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
    out.reverse()
    return out


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The subtrees of RFC 9162 §2.1.4.1 PROOF(first, D[0:second]), in the proof's order."""
    if not 0 < first <= second:
        raise ValueError("a consistency proof needs 0 < first <= second")
    if first == second:
        return []
    out: list[tuple[int, int]] = []
    start, end, m, whole = 0, second, first, True  # SUBPROOF(m, D[start:end], whole)
    while True:
        n = end - start
        if m == n:
            if not whole:
                out.append((start, end))
            break
        k = _split(n)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start, m, whole = start + k, m - k, False
    out.reverse()
    return out


def prove(ranges: Sequence[tuple[int, int]], nodes: Mapping[Node, bytes]) -> list[bytes]:
    return [range_hash(start, end, nodes) for start, end in ranges]


# ---------------------------------------------------------------- in memory (tests, exports, the verifier)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, iteratively (the stack of perfect subtree roots)."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


class Frontier:
    """The right edge of a growing tree: the roots of its perfect subtrees, largest first. Appending a leaf is
    adding one to a binary counter; ``root()`` folds them right to left. ``completed`` lists the perfect nodes
    the last ``append`` finished, as ``(level, index, hash)`` (what storage keeps)."""

    __slots__ = ("size", "stack", "completed")

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[bytes] = []
        self.completed: list[tuple[int, int, bytes]] = []

    def append(self, leaf: bytes) -> None:
        index = self.size
        self.completed = [(0, index, leaf)]
        acc, level = leaf, 0
        while (index >> level) & 1:
            acc = node_hash(self.stack.pop(), acc)
            level += 1
            self.completed.append((level, index >> level, acc))
        self.stack.append(acc)
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        acc = self.stack[-1]
        for part in reversed(self.stack[:-1]):
            acc = node_hash(part, acc)
        return acc


def completed_nodes(index: int, leaf: bytes, left_of: Callable[[int, int], bytes]) -> list[tuple[int, int, bytes]]:
    """The perfect nodes that appending leaf ``index`` completes, ``(level, index, hash)``, the leaf first.
    ``left_of(level, index)`` gives a stored node (each one asked for is a left sibling, already stored)."""
    out = [(0, index, leaf)]
    acc, level = leaf, 0
    while (index >> level) & 1:
        acc = node_hash(left_of(level, (index >> level) - 1), acc)
        level += 1
        out.append((level, index >> level, acc))
    return out


def left_siblings(index: int) -> list[Node]:
    """The stored nodes ``completed_nodes(index, …)`` asks for."""
    out, level = [], 0
    while (index >> level) & 1:
        out.append((level, (index >> level) - 1))
        level += 1
    return out


# ---------------------------------------------------------------- verification (RFC 9162 §2.1.3.2, §2.1.4.2)


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root is the proof's implicit first node
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


# ---------------------------------------------------------------- signed tree heads


def tree_head_message(*, size: int, root: str, signed_at: str, key_id: str) -> bytes:
    """The bytes an Ed25519 tree head signature covers (SPEC §6)."""
    return json.dumps({"size": size, "root": root, "signed_at": signed_at, "key_id": key_id},
                      sort_keys=True, separators=(",", ":")).encode("utf-8")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ---------------------------------------------------------------- finding a rewritten event


def first_changed_leaf(leaves: Sequence[bytes], root: bytes,
                       fetch: Callable[[list[Node]], Mapping[Node, bytes]]) -> int | None:
    """The index of the first of ``leaves`` (recomputed from the events) that is not the leaf the signed ``root``
    was computed over, found by descending the stored perfect nodes (``fetch`` reads them) from the root: a stored
    node is trusted only when it hashes up to the signed root. ``None`` when the stored nodes do not reproduce the
    root (they were rewritten too); the start of the smallest trusted subtree when they stop agreeing below it."""
    size = len(leaves)
    top = perfect_nodes(0, size)
    stored = fetch(top)
    if any(node not in stored for node in top) or range_hash(0, size, stored) != root:
        return None
    for level, idx in top:
        start, end = idx << level, (idx + 1) << level
        trusted = stored[(level, idx)]
        if root_of(leaves[start:end]) == trusted:
            continue
        while level > 0:
            left, right = (level - 1, 2 * idx), (level - 1, 2 * idx + 1)
            children = fetch([left, right])
            if left not in children or right not in children or node_hash(children[left], children[right]) != trusted:
                return idx << level
            mid = (2 * idx + 1) << (level - 1)
            if root_of(leaves[idx << level:mid]) != children[left]:
                level, idx, trusted = left[0], left[1], children[left]
            else:
                level, idx, trusted = right[0], right[1], children[right]
        return idx
    return None  # every leaf matches: the root differs only because a stored node does (not the events)
