"""Calendar-day and working-day arithmetic (rules.md S2-S4).

Working days follow the official holiday calendar including make-up working days (调休):
the chinesecalendar library for the years it knows (2004-2026), and the county-editable
HolidayEntry table for others (and to override the library where a county decides so).
A deadline that cannot be computed raises CalendarUnknown with a message the user can act
on ("无法计算: 2027年节假日安排未录入") — never a guess."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import chinese_calendar

from fangfan.workflows.errors import WorkflowError

_MAX_SPAN_DAYS = 3660  # no limit in the spec is longer than a few months; stop runaway loops


class CalendarUnknown(WorkflowError):
    pass


@dataclass(frozen=True)
class Limit:
    """A time limit: `days` calendar days or `days` working days."""

    days: int
    kind: str  # "calendar" | "working"

    def __post_init__(self):
        if self.kind not in ("calendar", "working"):
            raise ValueError(f"unknown limit kind {self.kind!r}")

    @property
    def label(self) -> str:
        return f"{self.days}个{'工作日' if self.kind == 'working' else '自然日'}"


class WorkCalendar:
    """Working days for one village code (the county's HolidayEntry rows apply by prefix)."""

    def __init__(self, village_code: str = ""):
        self.village_code = village_code
        self._entries: dict[int, dict[dt.date, bool]] = {}

    def _year_entries(self, year: int) -> dict[dt.date, bool]:
        if year not in self._entries:
            from fangfan.workflows.models import HolidayEntry

            prefixes = [""] + [self.village_code[:n] for n in (2, 4, 6, 9, 12) if len(self.village_code) >= n]
            rows = HolidayEntry.objects.filter(
                region_prefix__in=prefixes, date__year=year
            ).values_list("region_prefix", "date", "is_workday")
            best: dict[dt.date, tuple[int, bool]] = {}
            for prefix, day, is_workday in rows:
                if day not in best or len(prefix) > best[day][0]:
                    best[day] = (len(prefix), is_workday)
            self._entries[year] = {day: flag for day, (_, flag) in best.items()}
        return self._entries[year]

    def is_workday(self, day: dt.date) -> bool:
        entries = self._year_entries(day.year)
        if day in entries:
            return entries[day]
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if entries:
                # The county entered this year's arrangement: what it did not list is an
                # ordinary weekday or weekend.
                return day.weekday() < 5
            raise CalendarUnknown(f"无法计算: {day.year}年节假日安排未录入") from None

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The `days`-th working day after `start` (start itself not counted)."""
        day, counted = start, 0
        for _ in range(_MAX_SPAN_DAYS):
            if counted >= days:
                return day
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        raise CalendarUnknown("无法计算: 期限超出可计算范围")

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_workday(day)
        return count

    def deadline(self, start: dt.date, limit: Limit) -> dt.date:
        """The last day on which the step is still in time."""
        if limit.kind == "calendar":
            return start + dt.timedelta(days=limit.days)
        return self.add_working_days(start, limit.days)


def notice_last_day(starts_on: dt.date, days: int) -> dt.date:
    """S4: a notice that starts on D runs through D+N−1."""
    return starts_on + dt.timedelta(days=days - 1)


def notice_closable_from(starts_on: dt.date, days: int) -> dt.date:
    """S4: ... and may be closed from D+N."""
    return starts_on + dt.timedelta(days=days)
