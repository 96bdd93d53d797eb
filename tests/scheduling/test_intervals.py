"""Interval set operations against brute force over a grid of minutes."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.scheduling.errors import SchedulingError
from server.scheduling.intervals import Interval, clip, contains, intersect, merge, subtract
from tests.scheduling.support import utc

ORIGIN = utc(2026, 1, 1)
GRID = 200


def at(minute: int) -> timedelta:
    return timedelta(minutes=minute)


spans = st.lists(
    st.tuples(st.integers(0, GRID - 1), st.integers(1, 40)).map(
        lambda p: Interval(ORIGIN + at(p[0]), ORIGIN + at(p[0] + p[1]))
    ),
    max_size=8,
)


def minutes(intervals: list[Interval]) -> set[int]:
    return {m for m in range(-10, GRID + 50) if any(ORIGIN + at(m) in i for i in intervals)}


def assert_normal(intervals: list[Interval]) -> None:
    for before, after in pairwise(intervals):
        assert before.end < after.start


@settings(max_examples=200, deadline=None)
@given(spans, spans, st.integers(0, GRID), st.integers(0, GRID))
def test_set_operations_match_brute_force(
    left: list[Interval], right: list[Interval], a: int, b: int
) -> None:
    start, end = min(a, b), max(a, b) + 1
    for result, expected in (
        (merge(left), minutes(left)),
        (subtract(left, right), minutes(left) - minutes(right)),
        (intersect(left, right), minutes(left) & minutes(right)),
        (clip(left, ORIGIN + at(start), ORIGIN + at(end)), minutes(left) & set(range(start, end))),
    ):
        assert_normal(result)
        assert minutes(result) == expected
    merged = merge(left)
    assert {m for m in range(-10, GRID + 50) if contains(merged, ORIGIN + at(m))} == minutes(left)


def test_intervals_are_half_open_utc_and_round_trip() -> None:
    interval = Interval(utc(2026, 3, 8, 7), utc(2026, 3, 8, 15))
    assert utc(2026, 3, 8, 7) in interval and utc(2026, 3, 8, 15) not in interval
    assert Interval.from_dict(interval.to_dict()) == interval
    assert interval.to_dict() == {"start": "2026-03-08T07:00:00Z", "end": "2026-03-08T15:00:00Z"}
    with pytest.raises(SchedulingError):
        Interval(utc(2026, 1, 2), utc(2026, 1, 1))
    with pytest.raises(SchedulingError):
        Interval(utc(2026, 1, 1).replace(tzinfo=None), utc(2026, 1, 2))
