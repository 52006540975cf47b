"""Annual appraisal: components, weighted score, competition ranks, weight validation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.domain.appraisal import (
    COMPONENTS,
    DEFAULT_WEIGHTS,
    ChainInputs,
    competition_ranks,
    exact_components,
    score,
    validate_weights,
)
from service.domain.errors import InvalidInput

FULL = ChainInputs(
    has_approved_plan=True,
    indicator_completions=[1.0, 1.5],
    tasks_total=4,
    tasks_done_on_time=4,
    dispatch_on_time=12,
    problems_due=2,
    problems_resolved_on_time=2,
    inspection_scores={1: 100, 2: 100, 3: 100, 4: 100},
)


@pytest.mark.parametrize(
    ("inputs", "components"),
    [
        # no data at all: no approved plan → indicators and tasks 0; no problems → 1; nothing else
        (ChainInputs(), {"indicators": 0, "tasks": 0, "dispatch": 0, "problems": 1, "inspection": 0}),
        # an approved plan without tasks and indicators: tasks 1 (none to miss), indicators 0 (nothing achieved)
        (ChainInputs(has_approved_plan=True),
         {"indicators": 0, "tasks": 1, "dispatch": 0, "problems": 1, "inspection": 0}),
        # without an approved plan, plan figures are ignored
        (ChainInputs(indicator_completions=[1, 1], tasks_total=2, tasks_done_on_time=2),
         {"indicators": 0, "tasks": 0, "dispatch": 0, "problems": 1, "inspection": 0}),
        (FULL, {"indicators": 1, "tasks": 1, "dispatch": 1, "problems": 1, "inspection": 1}),
        # completion capped at 1 each (1.5 → 1), negative clamped to 0; 11/12 dispatch; one quarter missing
        (ChainInputs(has_approved_plan=True, indicator_completions=[1.5, 0.5, Decimal("0.25"), -0.2],
                     tasks_total=3, tasks_done_on_time=1, dispatch_on_time=11, problems_due=4,
                     problems_resolved_on_time=3, inspection_scores={1: 80, 2: 90, 4: Decimal("70.5")}),
         {"indicators": 0.4375, "tasks": 0.3333, "dispatch": 0.9167, "problems": 0.75, "inspection": 0.6013}),
    ],
)
def test_components(inputs, components):
    (ranking,) = score({"X": inputs})
    assert ranking.components.as_dict() == pytest.approx(components, abs=1e-12)
    assert all(0 <= v <= 1 for v in exact_components(inputs).values())


@pytest.mark.parametrize(
    ("inputs", "weights", "expected"),
    [
        (ChainInputs(), None, 15.0),  # problems only: 100 × 0.15
        (FULL, None, 100.0),
        (ChainInputs(dispatch_on_time=12), None, 30.0),
        (ChainInputs(dispatch_on_time=1), None, 16.25),  # 100 × 0.15 × 1/12 + 15
        (ChainInputs(dispatch_on_time=1, problems_due=1),  # 1.25 exactly; half-up stays 1.25
         None, 1.25),
        (ChainInputs(dispatch_on_time=7, problems_due=1),  # 100 × 0.15 × 7/12 = 8.75
         None, 8.75),
        (ChainInputs(dispatch_on_time=11, problems_due=1), None, 13.75),
        (ChainInputs(inspection_scores={1: 33}, problems_due=1), None, 1.24),  # 1.2375 → 1.24 (half up)
        (ChainInputs(has_approved_plan=True, indicator_completions=[2 / 3], problems_due=1),
         None, 41.67),  # 100 × (0.4 × 2/3 + 0.15 × 1 tasks)
        (ChainInputs(dispatch_on_time=12), {"indicators": 0, "tasks": 0, "dispatch": 1, "problems": 0,
                                            "inspection": 0}, 100.0),
        (ChainInputs(dispatch_on_time=6), {"indicators": 0.2, "tasks": 0.2, "dispatch": 0.2, "problems": 0.2,
                                           "inspection": 0.2}, 30.0),
    ],
)
def test_score(inputs, weights, expected):
    (ranking,) = score({"X": inputs}, weights)
    assert ranking.score == expected and ranking.rank == 1


def test_competition_ranks_with_ties_ordered_by_chain_code():
    inputs = {
        "ROBOT": ChainInputs(dispatch_on_time=12),  # 30
        "AUTO": ChainInputs(dispatch_on_time=12),  # 30: tie, listed before ROBOT
        "BIO": ChainInputs(dispatch_on_time=6),  # 22.5
        "CHIP": FULL,  # 100
        "EMPTY": ChainInputs(),  # 15
        "FOOD": ChainInputs(dispatch_on_time=6),  # 22.5
    }
    got = [(r.chain, r.score, r.rank) for r in score(inputs)]
    assert got == [
        ("CHIP", 100.0, 1),
        ("AUTO", 30.0, 2),
        ("ROBOT", 30.0, 2),
        ("BIO", 22.5, 4),
        ("FOOD", 22.5, 4),
        ("EMPTY", 15.0, 6),
    ]


def test_ranks_are_computed_on_the_rounded_score():
    # 33.333 and 33.3335 both display as 33.33: a displayed tie is a real tie (rank 1, 1, then 3).
    weights = {"indicators": 0, "tasks": 0, "dispatch": 0, "problems": 0, "inspection": 1}
    inputs = {
        "B": ChainInputs(problems_due=1, inspection_scores={1: Decimal("33.3335"), 2: Decimal("33.3335"),
                                                            3: Decimal("33.3335"), 4: Decimal("33.3335")}),
        "A": ChainInputs(problems_due=1, inspection_scores={1: Decimal("33.333"), 2: Decimal("33.333"),
                                                            3: Decimal("33.333"), 4: Decimal("33.333")}),
        "C": ChainInputs(problems_due=1),
    }
    got = [(r.chain, r.score, r.rank) for r in score(inputs, weights)]
    assert got == [("A", 33.33, 1), ("B", 33.33, 1), ("C", 0.0, 3)]


@pytest.mark.parametrize(
    ("scores", "ranks"),
    [([90, 90, 80], [1, 1, 3]), ([100, 90, 90, 90, 50], [1, 2, 2, 2, 5]), ([], []), ([5], [1]),
     ([70, 70, 70], [1, 1, 1])],
)
def test_competition_ranks(scores, ranks):
    assert competition_ranks(scores) == ranks


def test_default_weights_are_valid():
    assert validate_weights(DEFAULT_WEIGHTS) == {"indicators": 0.4, "tasks": 0.15, "dispatch": 0.15,
                                                 "problems": 0.15, "inspection": 0.15}
    assert tuple(DEFAULT_WEIGHTS) == COMPONENTS


GOOD = dict(DEFAULT_WEIGHTS)


@pytest.mark.parametrize(
    ("weights", "locs"),
    [
        ({k: v for k, v in GOOD.items() if k != "tasks"}, [["body", "tasks"]]),  # missing key
        ({**GOOD, "bonus": 0}, [["body", "bonus"]]),  # unknown key
        ({**GOOD, "indicators": 1.25, "tasks": -0.25}, [["body", "indicators"], ["body", "tasks"]]),  # range
        ({**GOOD, "indicators": 0.39}, [["body"]]),  # sums to 0.99
        ({**GOOD, "indicators": 0.41}, [["body"]]),  # sums to 1.01
        ({**GOOD, "dispatch": "0.15"}, [["body", "dispatch"]]),  # not a number
        ({**GOOD, "dispatch": True}, [["body", "dispatch"]]),
        ({**GOOD, "dispatch": float("nan")}, [["body", "dispatch"]]),
        ([0.4, 0.15, 0.15, 0.15, 0.15], [["body"]]),
    ],
)
def test_validate_weights_rejects(weights, locs):
    with pytest.raises(InvalidInput) as err:
        validate_weights(weights)
    assert [e["loc"] for e in err.value.errors] == locs


@pytest.mark.parametrize(
    "weights",
    [
        GOOD,
        {"indicators": 1, "tasks": 0, "dispatch": 0, "problems": 0, "inspection": 0},
        {"indicators": 0.1, "tasks": 0.2, "dispatch": 0.3, "problems": 0.2, "inspection": 0.2},  # float sum 0.999…
        {k: Decimal("0.2") for k in COMPONENTS},
        {k: 1 / 3 if k in ("tasks", "dispatch", "problems") else 0 for k in COMPONENTS},  # within 1e-9
    ],
)
def test_validate_weights_accepts(weights):
    assert set(validate_weights(weights)) == set(COMPONENTS)


def test_score_validates_weights():
    with pytest.raises(InvalidInput):
        score({"X": ChainInputs()}, {**GOOD, "indicators": 0.39})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tasks_total": 1, "tasks_done_on_time": 2},
        {"dispatch_on_time": 13},
        {"problems_due": 1, "problems_resolved_on_time": 2},
        {"inspection_scores": {5: 80}},
        {"inspection_scores": {1: 101}},
    ],
)
def test_inputs_reject_impossible_counts(kwargs):
    with pytest.raises(ValueError):
        ChainInputs(**kwargs)
