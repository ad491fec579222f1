"""Date helpers shared by rules and workflows (pure Python)."""
from __future__ import annotations

import calendar
import datetime as dt
import re


_EXCEL_EPOCH = dt.date(1899, 12, 30)


class DateError(ValueError):
    pass


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months, clamped to the month's end (01-31 + 1 month = 02-28/29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)


def parse_date(text: str) -> dt.date:
    """YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD, or an Excel serial date (e.g. 45000)."""
    value = text.strip()
    if value.endswith(" 00:00:00"):
        value = value[: -len(" 00:00:00")]
    for pattern in _PATTERNS:
        match = pattern.match(value)
        if match:
            try:
                return dt.date(*(int(g) for g in match.groups()))
            except ValueError as exc:
                raise DateError(f"日期不存在: {text!r}") from exc
    if re.fullmatch(r"\d{1,5}(\.0+)?", value):
        serial = int(float(value))
        if 1 <= serial <= 2958465 and not re.fullmatch(r"\d{8}", value):
            return _EXCEL_EPOCH + dt.timedelta(days=serial)
    raise DateError(f"无法识别的日期: {text!r}")
