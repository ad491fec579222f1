"""Policy parameters, part 1 of 3: the value types, units and errors (fangfan.policy.params re-exports them).

A parameter is declared once (Definition: name, unit, description) and has dated, prefixed values
(ParamValue). Its unit's kind says what a value is: Decimal yuan (money), Decimal (ratio), int, text
(month_day, level) or one of the small frozen types below. Loading builds these (param_loading); the
set resolves them by code prefix and date (param_resolution). Pure Python + polars: no Django.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from fangfan.common.codes import HOUSEHOLD_NEGATIVE_FIELDS, MEMBER_NEGATIVE_FIELDS
from fangfan.regions import codes as region_codes

# The shipped YAML tree sits next to the policy modules (fangfan/policy/parameters/).
DEFAULT_DIRECTORY = Path(__file__).parent / "parameters"
PREFIX_LENGTHS = region_codes.PREFIX_LENGTHS
# Ratios in frames: exact decimals with this many places (values with more places are rejected on load).
RATIO_SCALE = 6
RATIO_DTYPE = pl.Decimal(precision=18, scale=RATIO_SCALE)
NATIONAL = ""
WHAT_IF_SOURCE = "what-if 覆盖"


class ParameterError(ValueError):
    pass


# ------------------------------------------------------------------------------------------ value types
@dataclass(frozen=True)
class Follow:
    """The value of another parameter, resolved for the same code and date."""

    target: str


@dataclass(frozen=True)
class TimeLimit:
    days: int
    kind: str  # calendar | working

    def __str__(self) -> str:
        return f"{self.days} {'个工作日' if self.kind == 'working' else '日(自然日)'}"


@dataclass(frozen=True)
class NegativeItem:
    id: str
    label: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class AwardTier:
    min_persons: int
    amount: Decimal


@dataclass(frozen=True)
class CampaignPhase:
    phase: str
    label: str
    due: str  # MM-DD
    time: str | None = None  # HH:MM, when the deadline has a time of day


@dataclass(frozen=True)
class Unit:
    name: str
    kind: str  # money | ratio | int | time_limit | negative_list | award_tiers | month_day | level | campaign_phases
    zh: str


UNITS: dict[str, Unit] = {
    u.name: u
    for u in (
        Unit("yuan_per_person_year", "money", "元/人·年"),
        Unit("yuan_per_person_month", "money", "元/人·月"),
        Unit("yuan_per_household", "money", "元/户"),
        Unit("yuan_per_household_month", "money", "元/户·月"),
        Unit("yuan_per_person", "money", "元/人"),
        Unit("yuan", "money", "元"),
        Unit("ratio", "ratio", "比例/倍数"),
        Unit("days", "int", "日"),
        Unit("working_days", "int", "工作日"),
        Unit("months", "int", "月"),
        Unit("years", "int", "周岁"),
        Unit("count", "int", "次"),
        Unit("households", "int", "户"),
        Unit("persons", "int", "人"),
        Unit("time_limit", "time_limit", "时限"),
        Unit("negative_list", "negative_list", "清单"),
        Unit("award_tiers", "award_tiers", "档次"),
        Unit("month_day", "month_day", "月-日"),
        Unit("level", "level", "层级"),
        Unit("campaign_phases", "campaign_phases", "阶段"),
    )
}
LEVELS = ("province", "city", "county", "township", "village")
SCALAR_KINDS = ("money", "ratio", "int", "month_day", "level")
_NEGATIVE_FIELDS = frozenset(HOUSEHOLD_NEGATIVE_FIELDS) | frozenset(MEMBER_NEGATIVE_FIELDS)


@dataclass(frozen=True)
class Definition:
    name: str
    unit: str
    description: str

    @property
    def kind(self) -> str:
        return UNITS[self.unit].kind


@dataclass(frozen=True)
class ParamValue:
    name: str
    prefix: str  # '' = national
    start: dt.date
    value: Any
    source: str
    # Set when the value was reached through {follow: …}: the parameter actually read.
    via: str | None = None
    note: str = ""

    @property
    def version(self) -> str:
        return f"{self.prefix or 'national'}@{self.start.isoformat()}"

    @property
    def explanation(self) -> str:
        """'篇二 / 2108 / 2023-01-01' — what a rule result cites."""
        return f"{self.source} / {self.prefix or '全国'} / {self.start.isoformat()}"


# ------------------------------------------------------------------------------------------ printing
def _format_value(definition: Definition, value: Any) -> str:
    if value is None:
        return "无"
    kind = definition.kind
    if kind == "money":
        return f"{value:.2f}"
    if kind == "ratio":
        return format(value.normalize(), "f") if value != 0 else "0"
    if kind == "negative_list":
        return "; ".join(f"{item.id} {item.label}({'|'.join(item.fields)})" for item in value)
    if kind == "award_tiers":
        return "; ".join(f"≥{t.min_persons}人: {t.amount:.2f}" for t in value)
    if kind == "campaign_phases":
        return "; ".join(f"{p.label or p.phase} {p.due}{' ' + p.time if p.time else ''}" for p in value)
    return str(value)


def _plain(value: Any) -> Any:
    """JSON/YAML-friendly form of a typed value (Decimal as text, dataclasses as dicts)."""
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, (TimeLimit, NegativeItem, AwardTier, CampaignPhase)):
        return {k: _plain(v) for k, v in value.__dict__.items()}
    if isinstance(value, Follow):
        return {"follow": value.target}
    return str(value)


def yuan_to_fen(amount: Decimal) -> int:
    """A parameter's Decimal yuan → integer fen (parameters have at most two decimals: exact)."""
    return int(amount * 100)


def lookup_definition(definitions: dict[str, Definition], name: str) -> Definition:
    """The definition of `name`; a clear error for a name no file declares."""
    try:
        return definitions[name]
    except KeyError:
        raise ParameterError(f"未知参数 {name!r}") from None
