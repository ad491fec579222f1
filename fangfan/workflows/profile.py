"""The profile values workflows read, in ONE place.

Parameters are data owned by fangfan.policy (ParameterSet: dated values by code prefix,
longest prefix wins); this module only reads them for a household's village code at a date.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from fangfan.workflows.calendar import Limit
from fangfan.workflows.errors import WorkflowError


def parameter_set():
    """The shipped YAML with the counties' own dated values from the database on top (cached,
    re-read when a value is set anywhere)."""
    from fangfan.screening.parameters import current_parameters

    return current_parameters()


def param(name: str, village_code: str, on: dt.date) -> Any:
    """The value of parameter `name` for a village at a date (None when the profile has none)."""
    return parameter_set().value(name, village_code, on)  # cached per database version


def _int(name: str, village_code: str, on: dt.date, default: int | None = None) -> int:
    value = param(name, village_code, on)
    if value is None:
        if default is None:
            raise WorkflowError(f"参数 {name} 未设置 (区划 {village_code}, {on})")
        return default
    return int(value)


def village_notice_days(village_code: str, on: dt.date) -> int:
    return _int("notice.village_days", village_code, on)


def township_notice_days(village_code: str, on: dt.date) -> int:
    return _int("notice.township_days", village_code, on, default=0)


def comparison_days(village_code: str, on: dt.date) -> int:
    return _int("comparison.days", village_code, on)


def plan_days(village_code: str, on: dt.date) -> int:
    return _int("assistance.plan_days", village_code, on)


def identification_limit(village_code: str, on: dt.date) -> Limit:
    """identification.time_limit: a mapping {days, kind} (kind calendar | working)."""
    value = param("identification.time_limit", village_code, on)
    if value is None:
        raise WorkflowError(f"参数 identification.time_limit 未设置 (区划 {village_code})")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Limit(int(value), "calendar")
    if isinstance(value, dict):
        return Limit(int(value["days"]), str(value.get("kind", "calendar")))
    return Limit(int(value.days), str(value.kind))


def visit_interval_months(kind: str, village_code: str, on: dt.date) -> int | None:
    """visits.<kind>_months (monitored / eliminated / lifted / marginal); None when not set."""
    value = param(f"visits.{kind}_months", village_code, on)
    return None if value is None else int(value)


def undo_approval_level(village_code: str, on: dt.date) -> str:
    """rollback.approval_level: who approves a rollback (风险消除回退) or removal (清退) — the
    county by default, the province in 营口 (篇二 五(三))."""
    return str(param("rollback.approval_level", village_code, on) or "county")
