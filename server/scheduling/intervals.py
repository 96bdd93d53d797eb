"""Half-open UTC intervals [start, end) and the set operations schedules need.

Functions that return lists return them sorted, non-overlapping and non-touching (two
intervals that meet are merged), so membership is a binary search.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from server.scheduling.codec import instant_from_json, instant_to_json
from server.scheduling.errors import SchedulingError
from server.scheduling.localtime import as_utc

__all__ = ["Interval", "clip", "contains", "intersect", "merge", "subtract"]


@dataclass(frozen=True, order=True)
class Interval:
    """The instants t with start <= t < end, both aware and stored in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_utc(self.start))
        object.__setattr__(self, "end", as_utc(self.end))
        if self.end <= self.start:
            raise SchedulingError(
                f"interval must end after it starts: {self.start.isoformat()} "
                f"to {self.end.isoformat()}"
            )

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def __contains__(self, at: object) -> bool:
        return isinstance(at, datetime) and self.start <= as_utc(at) < self.end

    def to_dict(self) -> dict[str, Any]:
        return {"start": instant_to_json(self.start), "end": instant_to_json(self.end)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Interval:
        return cls(instant_from_json(data["start"]), instant_from_json(data["end"]))


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of `intervals`, sorted, overlapping and touching ones joined."""
    merged: list[Interval] = []
    for interval in sorted(intervals):
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The union of `intervals` restricted to [start, end)."""
    start, end = as_utc(start), as_utc(end)
    return [
        Interval(max(i.start, start), min(i.end, end))
        for i in merge(intervals)
        if i.end > start and i.start < end
    ]


def subtract(intervals: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """The instants in `intervals` and in none of `holes`."""
    cut = merge(holes)
    result: list[Interval] = []
    for interval in merge(intervals):
        cursor = interval.start
        for hole in cut:
            if hole.end <= cursor or hole.start >= interval.end:
                continue
            if hole.start > cursor:
                result.append(Interval(cursor, hole.start))
            cursor = max(cursor, hole.end)
        if cursor < interval.end:
            result.append(Interval(cursor, interval.end))
    return result


def intersect(left: Iterable[Interval], right: Iterable[Interval]) -> list[Interval]:
    """The instants in both `left` and `right`."""
    a, b = merge(left), merge(right)
    result: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i].start, b[j].start), min(a[i].end, b[j].end)
        if start < end:
            result.append(Interval(start, end))
        if a[i].end <= b[j].end:
            i += 1
        else:
            j += 1
    return merge(result)


def contains(intervals: list[Interval], at: datetime) -> bool:
    """Whether `at` lies in one of `intervals`, which must be merged (as `merge` returns)."""
    at = as_utc(at)
    index = bisect_right([i.start for i in intervals], at) - 1
    return index >= 0 and at < intervals[index].end
