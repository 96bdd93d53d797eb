"""Instants as shoppers read them: "Monday 09:00" in their own zone and language.

The weekday is named in the shopper's language when known (en, zh, es, de, ar, pt, ja,
fr), else in English; the time is 24-hour "HH:MM" with Latin digits in every language.
Beyond six days ahead a weekday alone is ambiguous: pass `with_date` to add the ISO date.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from server.scheduling.agents import primary_language
from server.scheduling.localtime import Weekday, as_utc, zone

__all__ = ["WEEKDAY_NAMES", "format_local", "weekday_name"]

WEEKDAY_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "ar": ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"),
    "pt": (
        "segunda-feira",
        "terça-feira",
        "quarta-feira",
        "quinta-feira",
        "sexta-feira",
        "sábado",
        "domingo",
    ),
    "ja": ("月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日", "日曜日"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}


def weekday_name(day: Weekday, language: str = "en") -> str:
    """`day` named in `language` (English when the language is not known here)."""
    names = WEEKDAY_NAMES.get(primary_language(language), WEEKDAY_NAMES["en"])
    return names[day]


def format_local(
    at_utc: datetime, tz: str | ZoneInfo, locale_lang: str = "en", *, with_date: bool = False
) -> str:
    """`at` as "Monday 09:00" (or "Monday 2026-03-09 09:00") in zone `tz`."""
    local = as_utc(at_utc).astimezone(zone(tz) if isinstance(tz, str) else tz)
    weekday = weekday_name(Weekday.of(local.date()), locale_lang)
    clock = local.strftime("%H:%M")
    return f"{weekday} {local.date().isoformat()} {clock}" if with_date else f"{weekday} {clock}"
