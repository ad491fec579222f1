"""Policy parameters as data: load the YAML tree, validate it strictly, resolve by code prefix and date.

Layout (fangfan/policy/parameters/):
  base.yaml            declares every parameter once (unit, Chinese description) with its national values;
  <prefix>_<place>.yaml one file per regional profile of profiles.md: `profile: {prefix, place, source}` and
                       `values: {name: [ {start, value, source?, prefix?, note?}, ... ]}`.
Definitions live in one place so a profile can only set parameters that exist (a typo is an error, not a
silently ignored value), and each profile file is the whole of one place's policy, reviewable on its own.

Resolution: a value applies to every code that starts with its prefix ('' = national). For a code and an
as-of date, the value used is the one with the LONGEST matching prefix that has a value with start ≤ as-of;
within that prefix, the latest such start. `{follow: other.name}` is resolved for the same code and date
(elimination.income_line follows monitoring.income_line unless a profile sets its own). `null` is a real
value meaning "none" (e.g. no 低保 line): get() returns it with its source; value() returns the default.

Money is Decimal yuan (two places) in the Python API and Int64 fen in frames. Pure Python + polars: no Django.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

import polars as pl
import yaml

from fangfan.common.codes import HOUSEHOLD_NEGATIVE_FIELDS, MEMBER_NEGATIVE_FIELDS
from fangfan.common.dates import DateError, parse_date
from fangfan.common.money import DECIMALS_REASON, MoneyError, fen_to_yuan, parse_yuan
from fangfan.regions import codes as region_codes

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


# ------------------------------------------------------------------------------------------ YAML loading
class _Loader(yaml.SafeLoader):
    """Safe YAML where dates stay text (parsed strictly here), floats are exact Decimals and
    duplicate keys are errors."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise yaml.constructor.ConstructorError(None, None, f"不是数字: {text!r}", node.start_mark) from exc
    if not number.is_finite():
        raise yaml.constructor.ConstructorError(None, None, f"不是有限数字: {text!r}", node.start_mark)
    return number


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    result: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"重复的键 {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_ITEM_ID = re.compile(r"^[A-Z][0-9]+$")


def _parse_date(raw: Any, where: str) -> dt.date:
    # Parameter files are written by us, in ISO form only (YAML reads an unquoted one as a
    # date); a quoted one is read by the one date parser of fangfan.common.dates.
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    if not isinstance(raw, str) or not _DATE.match(raw):
        raise ParameterError(f"{where}: start 必须是 YYYY-MM-DD 日期,得到 {raw!r}")
    try:
        return parse_date(raw)
    except DateError as exc:
        raise ParameterError(f"{where}: {exc}") from None


def check_prefix(raw: Any, where: str) -> str:
    """A value's prefix as written in a file (fangfan.regions.codes.check_prefix); None or "" is national."""
    if raw is None or raw == "":
        return NATIONAL
    try:
        return region_codes.check_prefix(raw)
    except region_codes.PrefixError as exc:
        raise ParameterError(f"{where}: prefix {exc}") from None


def normalise_prefix(code: str) -> str:
    """A region code as users type it (430000, 210800000000, 2108, 341225103) → its prefix (43, 2108, …)."""
    try:
        return region_codes.normalise_prefix(code)
    except region_codes.PrefixError as exc:
        raise ParameterError(str(exc)) from None


def _check_code(region_code: Any) -> str:
    if not region_codes.is_digits(region_code) or len(region_code) not in PREFIX_LENGTHS:
        raise ParameterError(f"区划代码必须是 2、4、6、9 或 12 位数字,得到 {region_code!r}")
    return region_code


def _money(raw: Any, where: str) -> Decimal:
    # Numbers from YAML (int, or Decimal for a float) and quoted text alike go through the one
    # amount parser of fangfan.common.money.
    if isinstance(raw, bool) or not isinstance(raw, (int, Decimal, str)):
        raise ParameterError(f"{where}: 金额必须是数字(元),得到 {raw!r}")
    # A Decimal from YAML may carry zeros beyond two places (7260.000): they change nothing.
    text = format(raw.normalize(), "f") if isinstance(raw, Decimal) and raw.is_finite() else str(raw)
    try:
        fen = parse_yuan(text)
    except MoneyError as exc:
        if exc.reason == DECIMALS_REASON:
            raise ParameterError(f"{where}: 金额最多两位小数,得到 {raw!r}") from None
        raise ParameterError(f"{where}: 金额必须是数字(元),得到 {raw!r}") from None
    if fen < 0:
        raise ParameterError(f"{where}: 金额必须是非负数,得到 {raw!r}")
    return fen_to_yuan(fen)


def _ratio(raw: Any, where: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (int, Decimal, str)):
        raise ParameterError(f"{where}: 比例必须是数字,得到 {raw!r}")
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ParameterError(f"{where}: 比例必须是数字,得到 {raw!r}") from None
    if not number.is_finite() or number < 0:
        raise ParameterError(f"{where}: 比例必须是非负数,得到 {raw!r}")
    if number != number.quantize(Decimal(1).scaleb(-RATIO_SCALE)):
        raise ParameterError(f"{where}: 比例最多 {RATIO_SCALE} 位小数,得到 {raw!r}")
    return number


def _int(raw: Any, where: str) -> int:
    if isinstance(raw, bool):
        raise ParameterError(f"{where}: 必须是非负整数,得到 {raw!r}")
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, Decimal) and raw == raw.to_integral_value():
        raw = int(raw)
    if not isinstance(raw, int) or raw < 0:
        raise ParameterError(f"{where}: 必须是非负整数,得到 {raw!r}")
    return raw


def _mapping(raw: Any, where: str, required: set[str], optional: set[str] = frozenset()) -> dict:
    if not isinstance(raw, dict):
        raise ParameterError(f"{where}: 必须是映射 {{{', '.join(sorted(required))}}},得到 {raw!r}")
    unknown = set(raw) - required - set(optional)
    if unknown:
        raise ParameterError(f"{where}: 未知的键 {sorted(map(str, unknown))}(允许: {sorted(required | set(optional))})")
    missing = required - set(raw)
    if missing:
        raise ParameterError(f"{where}: 缺少键 {sorted(missing)}")
    return raw


def _month_day(raw: Any, where: str) -> str:
    match = _MONTH_DAY.match(raw) if isinstance(raw, str) else None
    if not match:
        raise ParameterError(f"{where}: 必须是 \"MM-DD\" 月日,得到 {raw!r}")
    try:
        dt.date(2000, int(match[1]), int(match[2]))  # 2000 is a leap year: 02-29 is a valid month-day
    except ValueError:
        raise ParameterError(f"{where}: 月日不存在: {raw!r}") from None
    return raw


def coerce_value(definition: Definition, raw: Any, where: str) -> Any:
    """A raw YAML/Python value → the typed value of the parameter's unit (or None / Follow)."""
    if raw is None:
        return None
    if isinstance(raw, dict) and set(raw) == {"follow"}:
        target = raw["follow"]
        if not isinstance(target, str) or not _NAME.match(target):
            raise ParameterError(f"{where}: follow 必须是参数名,得到 {target!r}")
        return Follow(target)
    kind = definition.kind
    if kind == "money":
        return _money(raw, where)
    if kind == "ratio":
        return _ratio(raw, where)
    if kind == "int":
        return _int(raw, where)
    if kind == "month_day":
        return _month_day(raw, where)
    if kind == "level":
        if raw not in LEVELS:
            raise ParameterError(f"{where}: 层级必须是 {', '.join(LEVELS)} 之一,得到 {raw!r}")
        return raw
    if kind == "time_limit":
        spec = _mapping(raw, where, {"days", "kind"})
        if spec["kind"] not in ("calendar", "working"):
            raise ParameterError(f"{where}: kind 必须是 calendar 或 working,得到 {spec['kind']!r}")
        days = _int(spec["days"], f"{where} days")
        if days == 0:
            raise ParameterError(f"{where}: days 必须大于 0")
        return TimeLimit(days, spec["kind"])
    if kind == "negative_list":
        if not isinstance(raw, list) or not raw:
            raise ParameterError(f"{where}: 负面清单必须是非空列表,得到 {raw!r}")
        items, seen = [], set()
        for i, item in enumerate(raw, 1):
            spec = _mapping(item, f"{where} 第{i}项", {"id", "fields"}, {"label"})
            if not isinstance(spec["id"], str) or not _ITEM_ID.match(spec["id"]):
                raise ParameterError(f"{where} 第{i}项: id 必须形如 S1、N2,得到 {spec['id']!r}")
            if spec["id"] in seen:
                raise ParameterError(f"{where} 第{i}项: 重复的 id {spec['id']}")
            seen.add(spec["id"])
            fields = spec["fields"]
            if not isinstance(fields, list) or not fields:
                raise ParameterError(f"{where} 第{i}项: fields 必须是非空列表")
            bad = [f for f in fields if f not in _NEGATIVE_FIELDS]
            if bad:
                raise ParameterError(f"{where} 第{i}项: 未知的负面清单字段 {bad}(可用: {sorted(_NEGATIVE_FIELDS)})")
            items.append(NegativeItem(spec["id"], str(spec.get("label", "")), tuple(fields)))
        return tuple(items)
    if kind == "award_tiers":
        if not isinstance(raw, list) or not raw:
            raise ParameterError(f"{where}: 档次必须是非空列表")
        tiers = []
        for i, item in enumerate(raw, 1):
            spec = _mapping(item, f"{where} 第{i}档", {"min_persons", "amount"})
            tiers.append(
                AwardTier(_int(spec["min_persons"], f"{where} 第{i}档 min_persons"), _money(spec["amount"], f"{where} 第{i}档 amount"))
            )
        persons = [t.min_persons for t in tiers]
        if persons != sorted(set(persons)) or persons[0] == 0:
            raise ParameterError(f"{where}: 各档 min_persons 必须大于 0 且严格递增,得到 {persons}")
        return tuple(tiers)
    if kind == "campaign_phases":
        if not isinstance(raw, list) or not raw:
            raise ParameterError(f"{where}: 阶段必须是非空列表")
        phases = []
        for i, item in enumerate(raw, 1):
            spec = _mapping(item, f"{where} 第{i}阶段", {"phase", "due"}, {"label", "time"})
            time = spec.get("time")
            if time is not None and (not isinstance(time, str) or not _TIME.match(time)):
                raise ParameterError(f"{where} 第{i}阶段: time 必须是 \"HH:MM\",得到 {time!r}")
            phases.append(
                CampaignPhase(str(spec["phase"]), str(spec.get("label", "")), _month_day(spec["due"], f"{where} 第{i}阶段 due"), time)
            )
        return tuple(phases)
    raise AssertionError(kind)  # pragma: no cover — UNITS and this function list the same kinds


def parse_value_text(definition: Definition, text: str) -> Any:
    """A what-if value typed on a command line (`--set name=7000`) → the typed value."""
    cleaned = text.strip()
    where = f"参数 {definition.name} 的取值"
    if cleaned.lower() in ("null", "none", "无", ""):
        return None
    if cleaned.startswith("follow:"):
        return coerce_value(definition, {"follow": cleaned[len("follow:"):].strip()}, where)
    kind = definition.kind
    if kind == "time_limit":
        match = re.fullmatch(r"(\d+)\s*(calendar|working|日|天|自然日|工作日|个工作日)?", cleaned)
        if not match:
            raise ParameterError(f"{where}: 应写作 \"15 calendar\" 或 \"20 working\",得到 {text!r}")
        kind_text = match[2] or "calendar"
        return coerce_value(
            definition, {"days": int(match[1]), "kind": "working" if "工作" in kind_text or kind_text == "working" else "calendar"}, where
        )
    if kind in ("money", "ratio", "int", "month_day", "level"):
        return coerce_value(definition, cleaned.replace(",", ""), where)
    try:
        raw = yaml.load(cleaned, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ParameterError(f"{where}: 无法解析 {text!r}: {exc}") from None
    return coerce_value(definition, raw, where)


def parse_override(text: str) -> tuple[str, str | None, str]:
    """'NAME=VALUE' or 'PREFIX:NAME=VALUE' (PREFIX a region code such as 430000) → (name, prefix, value)."""
    if "=" not in text:
        raise ParameterError(f"覆盖应写作 NAME=VALUE 或 PREFIX:NAME=VALUE,得到 {text!r}")
    left, value = text.split("=", 1)
    prefix: str | None = None
    if ":" in left:
        prefix, left = (part.strip() for part in left.split(":", 1))
        normalise_prefix(prefix)
    name = left.strip()
    if not name:
        raise ParameterError(f"覆盖缺少参数名: {text!r}")
    return name, prefix, value.strip()


_VALUE_KEYS_REQUIRED = {"start", "value"}
_VALUE_KEYS_OPTIONAL = {"source", "prefix", "note"}
_DEFINITION_KEYS = {"unit", "description", "values"}


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path.name}: YAML 格式错误: {exc}") from None
    except UnicodeDecodeError:
        raise ParameterError(f"{path.name}: 文件不是 UTF-8 编码") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{path.name}: 顶层必须是映射(parameters: 或 profile: + values:)")
    return data


def _check_follow_target(definitions: dict[str, Definition], name: str, follow: Follow, where: str) -> None:
    target = definitions.get(follow.target)
    if target is None:
        raise ParameterError(f"{where}: follow 的目标 {follow.target!r} 不是已定义的参数")
    if target.unit != definitions[name].unit:
        raise ParameterError(f"{where}: follow 的目标 {follow.target} 单位 {target.unit} 与本参数 {definitions[name].unit} 不同")


def _read_values(
    path: Path, name: str, definitions: dict[str, Definition], raw_values: Any, default_prefix: str, default_source: str | None
) -> list[ParamValue]:
    definition = definitions[name]
    if not isinstance(raw_values, list):
        raise ParameterError(f"{path.name}: 参数 {name} 的 values 必须是列表")
    result = []
    for i, raw in enumerate(raw_values, 1):
        where = f"{path.name}: 参数 {name} 第{i}个值"
        if not isinstance(raw, dict):
            raise ParameterError(f"{where}: 必须是映射 {{start, value, source}}")
        unknown = set(raw) - _VALUE_KEYS_REQUIRED - _VALUE_KEYS_OPTIONAL
        if unknown:
            raise ParameterError(
                f"{where}: 未知的键 {sorted(map(str, unknown))}(允许: start, value, source, prefix, note)"
            )
        missing = _VALUE_KEYS_REQUIRED - set(raw)
        if missing:
            raise ParameterError(f"{where}: 缺少键 {sorted(missing)}")
        start = _parse_date(raw["start"], where)
        prefix = check_prefix(raw["prefix"], where) if "prefix" in raw else default_prefix
        source = raw.get("source", default_source)
        if not isinstance(source, str) or not source.strip():
            raise ParameterError(f"{where}: 缺少 source(篇N 或 fangfan default)")
        if prefix and default_prefix and not prefix.startswith(default_prefix):
            raise ParameterError(f"{where}: prefix {prefix} 不在本文件地区 {default_prefix} 之内")
        note = raw.get("note", "")
        value = coerce_value(definition, raw["value"], where)
        if isinstance(value, Follow):
            _check_follow_target(definitions, name, value, where)
        result.append(ParamValue(name, prefix, start, value, source.strip(), note=str(note or "")))
    return result


def _load_directory(directory: Path) -> "ParameterSet":
    if not directory.is_dir():
        raise ParameterError(f"参数目录不存在: {directory}")
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ParameterError(f"参数目录中没有 *.yaml 文件: {directory}")
    documents = [(path, _read_yaml(path)) for path in files]
    definitions: dict[str, Definition] = {}
    pending: list[tuple[Path, str, Any, str, str | None]] = []
    for path, data in documents:
        unknown = set(data) - {"parameters", "profile", "values"}
        if unknown:
            raise ParameterError(f"{path.name}: 未知的顶层键 {sorted(map(str, unknown))}(允许: parameters, profile, values)")
        if "parameters" in data:
            if {"profile", "values"} & set(data):
                raise ParameterError(f"{path.name}: parameters 文件不能同时含 profile/values")
            block = data["parameters"]
            if not isinstance(block, dict):
                raise ParameterError(f"{path.name}: parameters 必须是映射")
            for name, spec in block.items():
                where = f"{path.name}: 参数 {name}"
                if not isinstance(name, str) or not _NAME.match(name):
                    raise ParameterError(f"{where}: 参数名必须是小写点分名(如 monitoring.income_line)")
                if name in definitions:
                    raise ParameterError(f"{where}: 重复定义")
                spec = _mapping(spec, where, {"unit", "description", "values"})
                if spec["unit"] not in UNITS:
                    raise ParameterError(f"{where}: 未知的单位 {spec['unit']!r}(可用: {', '.join(UNITS)})")
                if not isinstance(spec["description"], str) or not spec["description"].strip():
                    raise ParameterError(f"{where}: description 不能为空")
                definitions[name] = Definition(name, spec["unit"], spec["description"].strip())
                pending.append((path, name, spec["values"], NATIONAL, None))
        else:
            if set(data) != {"profile", "values"}:
                raise ParameterError(f"{path.name}: 地区文件必须含 profile 和 values 两个键")
            profile = _mapping(data["profile"], f"{path.name}: profile", {"prefix", "place", "source"})
            prefix = check_prefix(profile["prefix"], f"{path.name}: profile")
            if prefix == NATIONAL:
                raise ParameterError(f"{path.name}: profile 的 prefix 不能为空(全国值写在 parameters 文件中)")
            if not isinstance(data["values"], dict):
                raise ParameterError(f"{path.name}: values 必须是映射 参数名 → 值列表")
            for name, raw_values in data["values"].items():
                pending.append((path, name, raw_values, prefix, str(profile["source"])))
    if not definitions:
        raise ParameterError(f"{directory}: 没有任何文件定义 parameters")
    values: dict[str, dict[str, list[ParamValue]]] = {name: {} for name in definitions}
    origin: dict[tuple[str, str, dt.date], str] = {}
    for path, name, raw_values, prefix, source in pending:
        if name not in definitions:
            raise ParameterError(f"{path.name}: 未知参数 {name!r}(参数须先在 base.yaml 中定义)")
        for pv in _read_values(path, name, definitions, raw_values, prefix, source):
            key = (name, pv.prefix, pv.start)
            if key in origin:
                raise ParameterError(
                    f"{path.name}: 参数 {name} 在 prefix {pv.prefix or '全国'} 的 start {pv.start} 重复"
                    f"(已在 {origin[key]} 中给出)"
                )
            origin[key] = path.name
            values[name].setdefault(pv.prefix, []).append(pv)
    return ParameterSet(definitions, values, str(directory))


@lru_cache(maxsize=8)
def _load_cached(directory: str) -> "ParameterSet":
    return _load_directory(Path(directory))


# ------------------------------------------------------------------------------------------ the set
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


class ParameterSet:
    """All parameters with their dated, prefixed values. Immutable; what-ifs return a new set."""

    def __init__(self, definitions: dict[str, Definition], values: dict[str, dict[str, list[ParamValue]]], origin: str):
        self.definitions = definitions
        self.origin = origin
        self._values = {
            name: {prefix: sorted(items, key=lambda pv: pv.start) for prefix, items in by_prefix.items()}
            for name, by_prefix in values.items()
        }
        self._check_follows()

    # -------------------------------------------------------------- construction
    @classmethod
    def load(cls, directory: Path | None = None) -> "ParameterSet":
        """The shipped YAML (default) or the YAML files of `directory`; cached per directory."""
        return _load_cached(str(Path(directory or DEFAULT_DIRECTORY).resolve()))

    def _check_follows(self) -> None:
        edges: dict[str, set[str]] = {}
        for name, by_prefix in self._values.items():
            for items in by_prefix.values():
                for pv in items:
                    if isinstance(pv.value, Follow):
                        _check_follow_target(self.definitions, name, pv.value, f"参数 {name}")
                        edges.setdefault(name, set()).add(pv.value.target)
        # A follow chain must end: depth-first search for a cycle through the follow edges.
        done: set[str] = set()

        def visit(name: str, path: list[str]) -> None:
            if name in path:
                raise ParameterError(f"参数 {path[0]}: follow 形成循环 {' → '.join(path + [name])}")
            if name in done:
                return
            for target in sorted(edges.get(name, ())):
                visit(target, path + [name])
            done.add(name)

        for name in sorted(edges):
            visit(name, [])

    def with_overrides(self, overrides: Iterable[tuple[str, str | None, object]]) -> "ParameterSet":
        """What-if: each (name, prefix or None, value) replaces every dated value of `name` at that prefix
        by one value valid from date.min. A prefix may be written as a region code (430000 → 43); a text
        value is parsed by the parameter's unit ('7000', '1.5', '20 working', 'null', 'follow:x.y')."""
        values = {name: {p: list(items) for p, items in by_prefix.items()} for name, by_prefix in self._values.items()}
        for name, prefix, raw in overrides:
            definition = self.definition(name)
            key = NATIONAL if prefix in (None, "") else normalise_prefix(prefix)
            value = (
                parse_value_text(definition, raw)
                if isinstance(raw, str)
                else coerce_value(definition, raw, f"参数 {name} 的覆盖值")
            )
            values[name][key] = [ParamValue(name, key, dt.date.min, value, WHAT_IF_SOURCE)]
        return ParameterSet(self.definitions, values, self.origin + " + what-if")

    def with_layer(
        self,
        rows: Iterable[tuple[str, str, dt.date | str, object, str]],
        label: str = "layer",
        on_error: Callable[[ParameterError, tuple], None] | None = None,
    ) -> "ParameterSet":
        """A layer of dated values given as data (the county values kept in the database): each row
        (name, prefix, start, value, source) is validated like a YAML value (same prefix rule, same
        coerce_value; a text value is parsed like a what-if value) and added to the tree. A row with
        the same name, prefix and start as a shipped value replaces it; among rows of the same key
        the later one wins (a correction). Dates after it keep applying by the prefix-and-date rule.
        With `on_error`, an invalid row is reported to it and left out instead of failing the whole
        set (a stored value that a later release no longer accepts must not stop every reader)."""
        values = {name: {p: list(items) for p, items in by_prefix.items()} for name, by_prefix in self._values.items()}
        count = 0
        for i, row in enumerate(rows, 1):
            try:
                parsed = self._layer_value(row, f"{label} 第{i}行")
            except ParameterError as exc:
                if on_error is None:
                    raise
                on_error(exc, row)
                continue
            items = [pv for pv in values[parsed.name].get(parsed.prefix, []) if pv.start != parsed.start]
            items.append(parsed)
            values[parsed.name][parsed.prefix] = items
            count += 1
        if not count:
            return self
        return ParameterSet(self.definitions, values, f"{self.origin} + {label}")

    def _layer_value(self, row: Any, where: str) -> ParamValue:
        try:
            name, prefix, start, raw, source = row
        except (TypeError, ValueError):
            raise ParameterError(f"{where}: 应为 (name, prefix, start, value, source)") from None
        definition = self.definition(name)
        where = f"{where} 参数 {name}"
        key = check_prefix(prefix, where)
        day = _parse_date(start, where)
        if not isinstance(source, str) or not source.strip():
            raise ParameterError(f"{where}: 缺少文件依据(source)")
        value = parse_value_text(definition, raw) if isinstance(raw, str) else coerce_value(definition, raw, where)
        if isinstance(value, Follow):
            _check_follow_target(self.definitions, name, value, where)
        return ParamValue(name, key, day, value, source.strip())

    # -------------------------------------------------------------- lookups
    def names(self) -> list[str]:
        return sorted(self.definitions)

    def definition(self, name: str) -> Definition:
        try:
            return self.definitions[name]
        except KeyError:
            raise ParameterError(f"未知参数 {name!r}") from None

    def scalar_names(self) -> list[str]:
        return [n for n in self.names() if self.definitions[n].kind in SCALAR_KINDS]

    def _raw(self, name: str, region_code: str, on: dt.date) -> ParamValue | None:
        self.definition(name)
        code = _check_code(region_code)
        if not isinstance(on, dt.date):
            raise ParameterError(f"日期必须是 date,得到 {on!r}")
        by_prefix = self._values[name]
        for length in (12, 9, 6, 4, 2, 0):
            if length > len(code):
                continue
            items = by_prefix.get(code[:length])
            if not items:
                continue
            found = None
            for pv in items:  # sorted by start
                if pv.start <= on:
                    found = pv
                else:
                    break
            if found is not None:
                return found
        return None

    def get(self, name: str, region_code: str, on: dt.date) -> ParamValue | None:
        """The value of `name` for a code (12 digits or any prefix) at a date; None when there is none.
        A followed value comes back under `name`, with the prefix, start and value actually used and
        `via` naming the parameter read."""
        raw = self._raw(name, region_code, on)
        if raw is None or not isinstance(raw.value, Follow):
            return raw
        target = self.get(raw.value.target, region_code, on)
        if target is None:
            return None
        return ParamValue(
            name,
            target.prefix,
            target.start,
            target.value,
            f"{raw.source} → {raw.value.target}: {target.source}",
            via=target.via or target.name,
            note=target.note,
        )

    def value(self, name: str, region_code: str, on: dt.date, default: Any = None) -> Any:
        """The plain value; `default` when there is no value or the value is null (none)."""
        found = self.get(name, region_code, on)
        return default if found is None or found.value is None else found.value

    def for_region(self, region_code: str, on: dt.date) -> dict[str, ParamValue]:
        """Every parameter that has a value for the code at the date."""
        result = {}
        for name in self.names():
            found = self.get(name, region_code, on)
            if found is not None:
                result[name] = found
        return result

    def versions(self, region_code: str, on: dt.date) -> dict[str, str]:
        """name → 'prefix@start' of each value used ('national@2020-01-01'): stored with results."""
        return {name: pv.version for name, pv in self.for_region(region_code, on).items()}

    def describe(self, region_code: str, on: dt.date) -> list[dict[str, Any]]:
        """Rows for printing: name, value (text), unit, prefix, start, source, description, plus the raw
        value (JSON-friendly) under 'data'. Parameters without a value are listed with value '—'."""
        resolved = self.for_region(region_code, on)
        rows = []
        for name in self.names():
            definition = self.definitions[name]
            pv = resolved.get(name)
            rows.append(
                {
                    "name": name,
                    "value": "—" if pv is None else _format_value(definition, pv.value),
                    "unit": definition.unit,
                    "unit_zh": UNITS[definition.unit].zh,
                    "prefix": "" if pv is None else (pv.prefix or "全国"),
                    "prefix_code": None if pv is None else pv.prefix,
                    "start": "" if pv is None else ("(what-if)" if pv.start == dt.date.min else pv.start.isoformat()),
                    "source": "" if pv is None else pv.source,
                    "description": definition.description,
                    "data": None if pv is None else _plain(pv.value),
                }
            )
        return rows

    # -------------------------------------------------------------- bulk resolution
    def _winners(self, on: dt.date) -> tuple[pl.DataFrame, list[ParamValue]]:
        """(name, prefix, vid) for the latest start ≤ on of each (name, prefix), and the values by vid."""
        names, prefixes, vids = [], [], []
        by_vid: list[ParamValue] = []
        for name, by_prefix in self._values.items():
            for prefix, items in by_prefix.items():
                found = None
                for pv in items:
                    if pv.start <= on:
                        found = pv
                    else:
                        break
                if found is not None:
                    names.append(name)
                    prefixes.append(prefix)
                    vids.append(len(by_vid))
                    by_vid.append(found)
        table = pl.DataFrame(
            {"name": names, "prefix": prefixes, "vid": vids},
            schema={"name": pl.String, "prefix": pl.String, "vid": pl.Int64},
        )
        return table, by_vid

    def resolve_frame(
        self, codes: pl.Series | list[str], on: dt.date, names: list[str] | None = None
    ) -> pl.DataFrame:
        """Bulk resolution for the rules engine: one row per DISTINCT input code (12 digits or a prefix).

        Columns: `village_code`, then per parameter `<name>` and `<name>__source` (String, e.g.
        "篇二 (一)2② … / 2108 / 2023-01-01"; followed values read "… → monitoring.income_line: …").
        Value dtypes by unit kind:
          money → Int64 fen (exact; 6000 元 = 600000);
          ratio → pl.Decimal(18, 6) (RATIO_DTYPE): exact, and polars multiplies Int64 × Decimal exactly,
                  so `pl.col("fen") < pl.col("dibao.marginal_multiplier") * pl.col("line_fen")` has no float;
          int (days, months, years, counts) → Int64;  month_day, level → String;
          time_limit → Struct{days: Int64, kind: String};
          negative_list → List(Struct{id, label: String, fields: List(String)});
          award_tiers → List(Struct{min_persons: Int64, amount: Int64 fen});
          campaign_phases → List(Struct{phase, label, due, time: String}).
        Null where a code has no value or the value is null ("none", e.g. no 低保 line outside 安康).

        Implementation (design.md): a small table (name, prefix, vid) of the values in force at `on` is joined
        on each code's prefixes of 0/2/4/6/9/12 digits; per (code, name) the longest prefix wins; follows are
        then replaced by their target's winner, and vids are mapped to values — all vectorised."""
        wanted = self.names() if names is None else list(names)
        for name in wanted:
            self.definition(name)
        series = codes if isinstance(codes, pl.Series) else pl.Series(list(codes), dtype=pl.String)
        frame = pl.DataFrame({"village_code": series.cast(pl.String)}).unique(maintain_order=True)
        bad = frame.filter(
            pl.col("village_code").is_null()
            | ~pl.col("village_code").str.contains(r"^[0-9]+$")
            | ~pl.col("village_code").str.len_chars().is_in(list(PREFIX_LENGTHS))
        )
        if bad.height:
            raise ParameterError(
                f"区划代码必须是 2、4、6、9 或 12 位数字: {bad['village_code'].head(5).to_list()}"
                + (f" 等 {bad.height} 个" if bad.height > 5 else "")
            )
        table, by_vid = self._winners(on)
        # Codes that share the same set of prefixes-with-values resolve identically: resolve one
        # representative per such key, then join back (a million codes → a handful of keys).
        present = set(table["prefix"].to_list())
        code = pl.col("village_code")
        key = pl.concat_str(
            [
                pl.when((code.str.len_chars() >= length) & code.str.slice(0, length).is_in(sorted(present)))
                .then(code.str.slice(0, length))
                .otherwise(pl.lit(""))
                for length in PREFIX_LENGTHS
            ],
            separator="|",
        ).alias("__key")
        keyed = frame.with_columns(key)
        representatives = keyed.group_by("__key", maintain_order=True).agg(pl.col("village_code").first())
        resolved = self._resolve_codes(representatives.select("village_code"), table, by_vid, wanted)
        resolved = representatives.select("__key", "village_code").join(resolved, on="village_code").drop("village_code")
        return keyed.join(resolved, on="__key", how="left", maintain_order="left").drop("__key")

    def _resolve_codes(
        self, frame: pl.DataFrame, table: pl.DataFrame, by_vid: list[ParamValue], wanted: list[str]
    ) -> pl.DataFrame:
        # Follow targets are resolved too, even when not asked for.
        needed = list(wanted)
        for name in needed:
            for items in self._values[name].values():
                for pv in items:
                    if isinstance(pv.value, Follow) and pv.value.target not in needed:
                        needed.append(pv.value.target)
        table = table.filter(pl.col("name").is_in(needed))
        candidates = pl.concat(
            [
                frame.filter(pl.col("village_code").str.len_chars() >= length).with_columns(
                    prefix=pl.col("village_code").str.slice(0, length), plen=pl.lit(length, dtype=pl.Int8)
                )
                for length in (0, *PREFIX_LENGTHS)
            ]
        )
        winners = (
            candidates.join(table, on="prefix", how="inner")
            .sort("plen", descending=True)
            .unique(subset=["village_code", "name"], keep="first")
        )
        wide = frame.join(
            winners.pivot(on="name", index="village_code", values="vid") if winners.height else frame,
            on="village_code",
            how="left",
        )
        for name in needed:
            if name not in wide.columns:
                wide = wide.with_columns(pl.lit(None, dtype=pl.Int64).alias(name))
        # Replace follow vids by their target's vid, targets first; keep the follow's own source text.
        follow_vids = {i: pv for i, pv in enumerate(by_vid) if isinstance(pv.value, Follow)}
        resolved: set[str] = set()

        def resolve(name: str) -> None:
            if name in resolved:
                return
            resolved.add(name)
            mine = {i: pv for i, pv in follow_vids.items() if pv.name == name}
            for pv in mine.values():
                resolve(pv.value.target)
            nonlocal wide
            src = pl.col(name).replace_strict(
                list(range(len(by_vid))),
                [pv.explanation for pv in by_vid],
                default=None,
                return_dtype=pl.String,
            )
            if mine:
                expr_vid = pl.col(name)
                expr_src = src
                for i, pv in mine.items():
                    expr_vid = pl.when(pl.col(name) == i).then(pl.col(pv.value.target)).otherwise(expr_vid)
                    expr_src = (
                        pl.when(pl.col(name) == i)
                        .then(pl.lit(f"{pv.source} → {pv.value.target}: ") + pl.col(f"{pv.value.target}__source"))
                        .otherwise(expr_src)
                    )
                wide = wide.with_columns(expr_src.alias(f"{name}__source")).with_columns(expr_vid.alias(name))
            else:
                wide = wide.with_columns(src.alias(f"{name}__source"))

        for name in needed:
            resolve(name)
        out = [pl.col("village_code")]
        for name in wanted:
            if self.definitions[name].kind in _NESTED:
                # replace_strict cannot map to nested dtypes in polars 2.1: join a (vid → value) lookup instead.
                wide = wide.join(self._nested_lookup(name, by_vid), on=name, how="left")
                out.append(pl.col(f"{name}__value").alias(name))
            else:
                out.append(self._value_expr(name, by_vid).alias(name))
            out.append(pl.col(f"{name}__source"))
        return wide.select(out)

    def _nested_lookup(self, name: str, by_vid: list[ParamValue]) -> pl.DataFrame:
        definition = self.definitions[name]
        dtype, convert = _NESTED[definition.kind]
        rows = [
            (i, convert(pv.value))
            for i, pv in enumerate(by_vid)
            if self.definitions[pv.name].unit == definition.unit and pv.value is not None
            and not isinstance(pv.value, Follow)
        ]
        return pl.DataFrame(
            {name: [i for i, _ in rows], f"{name}__value": [v for _, v in rows]},
            schema={name: pl.Int64, f"{name}__value": dtype},
        )

    def _value_expr(self, name: str, by_vid: list[ParamValue]) -> pl.Expr:
        definition = self.definitions[name]
        kind = definition.kind
        # After follow resolution a column holds vids of this parameter or of same-unit targets.
        relevant = [(i, pv.value) for i, pv in enumerate(by_vid) if self.definitions[pv.name].unit == definition.unit]
        old = [i for i, _ in relevant]
        if kind == "money":
            new = [yuan_to_fen(v) if isinstance(v, Decimal) else None for _, v in relevant]
            return pl.col(name).replace_strict(old, new, default=None, return_dtype=pl.Int64)
        if kind == "int":
            new = [v if isinstance(v, int) and not isinstance(v, bool) else None for _, v in relevant]
            return pl.col(name).replace_strict(old, new, default=None, return_dtype=pl.Int64)
        if kind == "ratio":
            new = [v if isinstance(v, Decimal) else None for _, v in relevant]
            return pl.col(name).replace_strict(old, pl.Series(new, dtype=RATIO_DTYPE), default=None, return_dtype=RATIO_DTYPE)
        if kind in ("month_day", "level"):
            new = [v if isinstance(v, str) else None for _, v in relevant]
            return pl.col(name).replace_strict(old, new, default=None, return_dtype=pl.String)
        raise AssertionError(kind)  # pragma: no cover — nested kinds go through _nested_lookup


_NESTED = {
    "time_limit": (
        pl.Struct({"days": pl.Int64, "kind": pl.String}),
        lambda v: {"days": v.days, "kind": v.kind},
    ),
    "negative_list": (
        pl.List(pl.Struct({"id": pl.String, "label": pl.String, "fields": pl.List(pl.String)})),
        lambda v: [{"id": i.id, "label": i.label, "fields": list(i.fields)} for i in v],
    ),
    "award_tiers": (
        pl.List(pl.Struct({"min_persons": pl.Int64, "amount": pl.Int64})),
        lambda v: [{"min_persons": t.min_persons, "amount": int(t.amount * 100)} for t in v],
    ),
    "campaign_phases": (
        pl.List(pl.Struct({"phase": pl.String, "label": pl.String, "due": pl.String, "time": pl.String})),
        lambda v: [{"phase": p.phase, "label": p.label, "due": p.due, "time": p.time} for p in v],
    ),
}


def yuan_to_fen(amount: Decimal) -> int:
    """A parameter's Decimal yuan → integer fen (parameters have at most two decimals: exact)."""
    return int(amount * 100)


__all__ = [
    "AwardTier",
    "CampaignPhase",
    "Definition",
    "Follow",
    "NegativeItem",
    "ParamValue",
    "ParameterError",
    "ParameterSet",
    "RATIO_DTYPE",
    "TimeLimit",
    "UNITS",
    "normalise_prefix",
    "parse_override",
    "parse_value_text",
]
