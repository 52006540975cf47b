"""Annual appraisal (年度考核比拼, SPEC §4): five components in 0–1, a weighted score 0–100, competition ranks.

Components of a chain for a year:

- ``indicators`` — mean completion of the approved plan's indicators, each clamped to 0–1 (a zero target
  counts as met: pass completion 1, as ``plans.completion`` does). 0 without an approved plan, and 0 for an
  approved plan without indicators (an empty plan earns nothing; the spec is silent on that case).
- ``tasks`` — share of the approved plan's tasks done by their due date; 1 when the plan has none; 0 without
  an approved plan.
- ``dispatch`` — monthly reports submitted on time, out of 12.
- ``problems`` — share of the problems due in the year that were resolved by their due date; 1 when none.
- ``inspection`` — mean of the four quarterly scores / 100; a missing quarter counts 0.

Score = 100 × Σ weight × component. Arithmetic is exact (``fractions.Fraction``; a float weight counts as the
decimal it prints as, so 0.15 is exactly 15/100); the score is rounded half-up to 2 decimals and ranks are
computed on the rounded score, so a displayed tie is a real tie. Ranks are competition ranks (1, 1, 3); tied
chains are listed by chain code. Components are reported rounded to 4 decimals.

The inputs are plain counts so a use case can fill them from SQL aggregates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from numbers import Real
from types import MappingProxyType
from typing import Any

from service.domain.errors import InvalidInput

COMPONENTS: tuple[str, ...] = ("indicators", "tasks", "dispatch", "problems", "inspection")
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"indicators": 0.40, "tasks": 0.15, "dispatch": 0.15, "problems": 0.15, "inspection": 0.15}
)
WEIGHT_SUM_TOLERANCE = 1e-9
MONTHS = 12
QUARTERS = (1, 2, 3, 4)
SCORE_DECIMALS = 2
COMPONENT_DECIMALS = 4

Number = int | float | Decimal | Fraction


def _exact(x: Number) -> Fraction:
    """An exact rational; a float counts as the shortest decimal that prints it (0.15 → 15/100)."""
    if isinstance(x, bool):
        raise TypeError("a boolean is not a number here")
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError(f"{x} is not a finite number")
        return Fraction(repr(x))
    return Fraction(x)


def _round_half_up(x: Fraction, decimals: int) -> float:
    scale = 10**decimals
    units = math.floor(x * scale + Fraction(1, 2)) if x >= 0 else -math.floor(-x * scale + Fraction(1, 2))
    return float(Decimal(units).scaleb(-decimals))


@dataclass(frozen=True, slots=True)
class ChainInputs:
    """What a chain did in the year, as counts a use case reads from the database."""

    has_approved_plan: bool = False
    indicator_completions: Sequence[Number] = ()  # actual / target per indicator, uncapped (zero target → 1)
    tasks_total: int = 0
    tasks_done_on_time: int = 0
    dispatch_on_time: int = 0  # monthly reports submitted by their due date, 0–12
    problems_due: int = 0  # problems whose due date falls in the year
    problems_resolved_on_time: int = 0
    inspection_scores: Mapping[int, Number] = field(default_factory=dict)  # quarter 1–4 → score 0–100

    def __post_init__(self) -> None:
        object.__setattr__(self, "indicator_completions", tuple(self.indicator_completions))
        object.__setattr__(self, "inspection_scores", MappingProxyType(dict(self.inspection_scores)))
        checks = [
            (0 <= self.tasks_done_on_time <= self.tasks_total, "need 0 ≤ tasks_done_on_time ≤ tasks_total"),
            (0 <= self.dispatch_on_time <= MONTHS, "need 0 ≤ dispatch_on_time ≤ 12"),
            (
                0 <= self.problems_resolved_on_time <= self.problems_due,
                "need 0 ≤ problems_resolved_on_time ≤ problems_due",
            ),
            (set(self.inspection_scores) <= set(QUARTERS), "inspection quarters are 1–4"),
            (all(0 <= _exact(s) <= 100 for s in self.inspection_scores.values()), "inspection scores are 0–100"),
        ]
        broken = [msg for ok, msg in checks if not ok]
        if broken:
            raise ValueError("Invalid appraisal inputs: " + "; ".join(broken))


@dataclass(frozen=True, slots=True)
class Components:
    indicators: float
    tasks: float
    dispatch: float
    problems: float
    inspection: float

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in COMPONENTS}


@dataclass(frozen=True, slots=True)
class Ranking:
    chain: str
    score: float  # 0–100, 2 decimals
    rank: int  # competition rank on the rounded score
    components: Components


def exact_components(inputs: ChainInputs) -> dict[str, Fraction]:
    """The five components of one chain, exact, each in 0–1."""
    if inputs.has_approved_plan and inputs.indicator_completions:
        capped = [min(max(_exact(c), Fraction(0)), Fraction(1)) for c in inputs.indicator_completions]
        indicators = sum(capped, Fraction(0)) / len(capped)
    else:
        indicators = Fraction(0)
    if not inputs.has_approved_plan:
        tasks = Fraction(0)
    elif inputs.tasks_total == 0:
        tasks = Fraction(1)
    else:
        tasks = Fraction(inputs.tasks_done_on_time, inputs.tasks_total)
    dispatch = Fraction(inputs.dispatch_on_time, MONTHS)
    problems = (
        Fraction(1) if inputs.problems_due == 0 else Fraction(inputs.problems_resolved_on_time, inputs.problems_due)
    )
    scores = sum((_exact(inputs.inspection_scores.get(q, 0)) for q in QUARTERS), Fraction(0))
    inspection = scores / (100 * len(QUARTERS))
    return {
        "indicators": indicators,
        "tasks": tasks,
        "dispatch": dispatch,
        "problems": problems,
        "inspection": inspection,
    }


def validate_weights(weights: Any, *, loc: Sequence[str | int] = ("body",)) -> dict[str, float]:
    """Check the five weights (each 0–1, summing to 1 within 1e-9); return them as floats in component order.

    Raises InvalidInput listing every problem, at ``[*loc, key]`` (or ``loc`` itself for the sum).
    """
    if not isinstance(weights, Mapping):
        raise InvalidInput.at(list(loc), "Weights must be an object with the keys " + ", ".join(COMPONENTS) + ".")
    errors: list[dict[str, Any]] = []
    for key in COMPONENTS:
        if key not in weights:
            errors.append({"loc": [*loc, key], "msg": f"The weight '{key}' is required."})
    for key in weights:
        if key not in COMPONENTS:
            errors.append({
                "loc": [*loc, str(key)],
                "msg": f"'{key}' is not a component; use {', '.join(COMPONENTS)}.",
            })
    values: dict[str, float] = {}
    for key in COMPONENTS:
        if key not in weights:
            continue
        value = weights[key]
        if isinstance(value, bool) or not isinstance(value, Real | Decimal):
            errors.append({"loc": [*loc, key], "msg": f"The weight '{key}' must be a number."})
            continue
        number = float(value)
        if not (math.isfinite(number) and 0 <= number <= 1):
            errors.append({"loc": [*loc, key], "msg": f"The weight '{key}' is {value}; weights lie in 0–1."})
            continue
        values[key] = number
    if not errors:
        total = math.fsum(values.values())
        if abs(total - 1) > WEIGHT_SUM_TOLERANCE:
            errors.append({"loc": list(loc), "msg": f"The weights sum to {total:.10g}; they must sum to 1."})
    if errors:
        raise InvalidInput("; ".join(e["msg"] for e in errors), errors=errors)
    return {key: values[key] for key in COMPONENTS}


def competition_ranks(scores: Sequence[Number]) -> list[int]:
    """Rank = 1 + the number of strictly better scores (1, 1, 3)."""
    return [1 + sum(1 for other in scores if other > s) for s in scores]


def score(inputs: Mapping[str, ChainInputs], weights: Mapping[str, Number] | None = None) -> list[Ranking]:
    """Score and rank every chain; best first, ties by chain code."""
    checked = validate_weights(DEFAULT_WEIGHTS if weights is None else weights)
    exact_weights = {k: _exact(w) for k, w in checked.items()}
    rows = []
    for chain, chain_inputs in inputs.items():
        parts = exact_components(chain_inputs)
        total = 100 * sum((exact_weights[k] * parts[k] for k in COMPONENTS), Fraction(0))
        components = Components(**{k: _round_half_up(parts[k], COMPONENT_DECIMALS) for k in COMPONENTS})
        rows.append((chain, _round_half_up(total, SCORE_DECIMALS), components))
    rows.sort(key=lambda row: (-row[1], row[0]))
    ranks = competition_ranks([row[1] for row in rows])
    return [
        Ranking(chain, total, rank, components)
        for (chain, total, components), rank in zip(rows, ranks, strict=True)
    ]
