"""The shopper's reading of an instant: weekday and time in their zone and language."""

from __future__ import annotations

import pytest

from server.scheduling.display import format_local
from server.scheduling.errors import SchedulingError
from server.scheduling.localtime import zone
from tests.scheduling.support import utc

# Monday 2026-03-09 01:00 UTC: Li Wei's shift start, 09:00 in Shanghai.
START = utc(2026, 3, 9, 1)


@pytest.mark.parametrize(
    ("tz", "language", "text"),
    [
        ("Asia/Shanghai", "en", "Monday 09:00"),
        ("America/New_York", "en-US", "Sunday 21:00"),
        ("Europe/Berlin", "de", "Montag 02:00"),
        ("Asia/Riyadh", "ar", "الاثنين 04:00"),
        ("America/Sao_Paulo", "pt-BR", "domingo 22:00"),
        ("Asia/Tokyo", "ja", "月曜日 10:00"),
        ("Asia/Shanghai", "zh-Hans", "星期一 09:00"),
        ("America/Mexico_City", "es", "domingo 19:00"),
        ("Asia/Kathmandu", "ne", "Monday 06:45"),  # no Nepali names here: English
    ],
)
def test_format_local(tz: str, language: str, text: str) -> None:
    assert format_local(START, tz, language) == text


def test_format_local_with_a_date_and_a_zone_object() -> None:
    new_york = zone("America/New_York")
    assert format_local(START, new_york, with_date=True) == "Sunday 2026-03-08 21:00"
    # A week earlier, before the US clocks changed, the same Shanghai 09:00 is 20:00.
    assert format_local(utc(2026, 3, 2, 1), new_york) == "Sunday 20:00"


def test_format_local_refuses_naive_instants() -> None:
    with pytest.raises(SchedulingError):
        format_local(START.replace(tzinfo=None), "UTC")
