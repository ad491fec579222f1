"""Dates: the one syntax of a typed or imported date, and calendar helpers (pure Python + Polars).

One syntax (data.md: "Dates as YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or Excel serial dates"), the
one the interchange reader has always accepted. `parse_date` (one text) and `date_expr` (a
Polars column) give the same answers:

- spaces (fangfan.common.text) around the text are ignored, and so is a time of day after a
  space or a T (`2026-03-02 00:00:00`, `2026-03-02T08:30`), as spreadsheets write them;
- ASCII digits only; year four digits, month and day one or two:
  YYYY-M-D, YYYY/M/D, YYYY.M.D (the separators -, / and . are interchangeable),
  YYYY年M月D日 (the 日 may be left out), YYYYMMDD;
- an Excel serial day number of five digits, optionally with a fraction (the time):
  45000 = 2023-03-15; four digits are a year, not a serial;
- the date must lie within 1900-01-01 .. 2100-12-31.

The reasons: 无法识别的日期(应为…) when the text has none of these shapes or its month is not
1-12 or its day not 1-31, 日期超出范围(1900-2100年), 日期不存在 (2026-02-30).
"""
from __future__ import annotations

import calendar
import datetime as dt

import polars as pl

from fangfan.common.text import SPACE_CHARS, python_pattern, strip

EXCEL_EPOCH = dt.date(1899, 12, 30)
MIN_DATE, MAX_DATE = dt.date(1900, 1, 1), dt.date(2100, 12, 31)
DATE_FORMATS = "YYYY-MM-DD、YYYY/MM/DD、YYYYMMDD或Excel日期"

UNREADABLE_REASON = f"无法识别的日期(应为{DATE_FORMATS})"
RANGE_REASON = "日期超出范围(1900-2100年)"
MISSING_REASON = "日期不存在"

TIME = r"[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$"
COMPACT = r"^([0-9]{4})([0-9]{2})([0-9]{2})$"
CHINESE = r"^([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日?$"
SEPARATOR = r"[/.]"
DASHED = r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$"
SERIAL = r"^([0-9]{5})(\.[0-9]+)?$"

_TIME, _COMPACT, _CHINESE = python_pattern(TIME), python_pattern(COMPACT), python_pattern(CHINESE)
_SEPARATOR, _DASHED, _SERIAL = python_pattern(SEPARATOR), python_pattern(DASHED), python_pattern(SERIAL)


class DateError(ValueError):
    """`reason` is the reason alone (as the reader reports it beside the cell)."""

    def __init__(self, reason: str, text: object = None):
        super().__init__(reason if text is None else f"{reason}: {text!r}")
        self.reason = reason


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months, clamped to the month's end (01-31 + 1 month = 02-28/29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def parse_date(text: str) -> dt.date:
    """'2026/3/2', '20260302', '2026年3月2日', '46083' … → date; DateError (with .reason) else."""
    value = _TIME.sub("", strip(text), count=1)
    dashed = _SEPARATOR.sub("-", _CHINESE.sub(r"\1-\2-\3", _COMPACT.sub(r"\1-\2-\3", value, count=1), count=1))
    match = _DASHED.match(dashed)
    if match:
        year, month, day = (int(g) for g in match.groups())
        if not (1 <= month <= 12 and 1 <= day <= 31):
            raise DateError(UNREADABLE_REASON, text)
        if not MIN_DATE.year <= year <= MAX_DATE.year:
            raise DateError(RANGE_REASON, text)
        if day > calendar.monthrange(year, month)[1]:
            raise DateError(MISSING_REASON, text)
        return dt.date(year, month, day)
    match = _SERIAL.match(value)
    if match:
        day = EXCEL_EPOCH + dt.timedelta(days=int(match.group(1)))
        if day > MAX_DATE:  # five digits are at least 1927-05-18
            raise DateError(RANGE_REASON, text)
        return day
    raise DateError(UNREADABLE_REASON, text)


def date_expr(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The Polars twin of parse_date on a String column: (Date, reason String), both null where
    `raw` is null; the date is null exactly where the reason is not."""
    value = raw.str.strip_chars(SPACE_CHARS).str.replace(TIME, "")
    dashed = (
        value.str.replace(COMPACT, "$1-$2-$3").str.replace(CHINESE, "$1-$2-$3").str.replace_all(SEPARATOR, "-")
    )
    parts = dashed.str.extract_groups(DASHED)
    year, month, day = (parts.struct.field(str(i)).cast(pl.Int32) for i in (1, 2, 3))
    shaped = month.is_between(1, 12) & day.is_between(1, 31)  # null when not dashed
    in_range = year.is_between(MIN_DATE.year, MAX_DATE.year)
    calendar_day = pl.when(shaped & in_range).then(dashed.str.strptime(pl.Date, "%Y-%m-%d", strict=False))
    serial = value.str.extract(SERIAL, 1).cast(pl.Int64)
    serial_day = pl.lit(EXCEL_EPOCH) + pl.duration(days=serial)
    parsed = pl.coalesce(calendar_day, pl.when(serial_day <= MAX_DATE).then(serial_day))
    reason = (
        pl.when(raw.is_null()).then(pl.lit(None, dtype=pl.String))
        .when(shaped.fill_null(False)).then(
            pl.when(~in_range).then(pl.lit(RANGE_REASON)).when(calendar_day.is_null()).then(pl.lit(MISSING_REASON))
        )
        .when(serial.is_not_null()).then(pl.when(parsed.is_null()).then(pl.lit(RANGE_REASON)))
        .otherwise(pl.lit(UNREADABLE_REASON))
    )
    return parsed, reason
