"""Optimistic concurrency (SPEC §1): a resource's integer ``version`` and the ``If-Match`` that names it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IfMatch:
    """The entity tags of an ``If-Match`` header (RFC 9110 §13.1.1): ``*`` matches any current version, a list
    matches when one of its tags is the current version. A tag that names no version (``"abc"``) matches none."""

    versions: frozenset[int]
    any: bool = False

    def matches(self, current: int) -> bool:
        return self.any or current in self.versions

    def __str__(self) -> str:
        return "*" if self.any else ", ".join(f'"{v}"' for v in sorted(self.versions)) or "(no version)"
