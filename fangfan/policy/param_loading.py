"""Policy parameters, part 2 of 3: reading and validating values (fangfan.policy.params re-exports it).

The YAML tree (base.yaml declares every parameter with its national values; one <prefix>_<place>.yaml
per regional profile), what-if values typed on a command line, and layers of dated values kept as
data (the county values in the database) all go through the same strict checks here: a typo is an
error naming the file, parameter and value, never a silently ignored value. The result is plain data
(definitions and values by name and prefix); param_resolution.ParameterSet wraps and resolves it.
Pure Python + polars: no Django.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from fangfan.common.dates import DateError, parse_date
from fangfan.common.money import DECIMALS_REASON, MoneyError, fen_to_yuan, parse_yuan
from fangfan.policy.param_types import (
    _NEGATIVE_FIELDS,
    LEVELS,
    NATIONAL,
    RATIO_SCALE,
    UNITS,
    WHAT_IF_SOURCE,
    AwardTier,
    CampaignPhase,
    Definition,
    Follow,
    NegativeItem,
    ParameterError,
    ParamValue,
    TimeLimit,
    lookup_definition,
)
from fangfan.regions import codes as region_codes

Values = dict[str, dict[str, list[ParamValue]]]  # name → prefix → values (sorted by start in a set)


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


def read_directory(directory: Path) -> tuple[dict[str, Definition], dict[str, dict[str, list[ParamValue]]]]:
    """The definitions and the dated, prefixed values of every *.yaml file of `directory`, validated."""
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
    return definitions, values


# ------------------------------------------------------------------------------------------ sets of values
def check_follows(definitions: dict[str, Definition], values: Values) -> None:
    """Every {follow: …} names a defined parameter of the same unit, and no chain of follows loops."""
    edges: dict[str, set[str]] = {}
    for name, by_prefix in values.items():
        for items in by_prefix.values():
            for pv in items:
                if isinstance(pv.value, Follow):
                    _check_follow_target(definitions, name, pv.value, f"参数 {name}")
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


def _copy(values: Values) -> Values:
    return {name: {p: list(items) for p, items in by_prefix.items()} for name, by_prefix in values.items()}


def with_overrides(
    definitions: dict[str, Definition], values: Values, overrides: Iterable[tuple[str, str | None, object]]
) -> Values:
    """A copy of `values` where each what-if (name, prefix or None, value) replaces every dated value of
    `name` at that prefix by one value valid from date.min (see ParameterSet.with_overrides)."""
    values = _copy(values)
    for name, prefix, raw in overrides:
        definition = lookup_definition(definitions, name)
        key = NATIONAL if prefix in (None, "") else normalise_prefix(prefix)
        value = (
            parse_value_text(definition, raw)
            if isinstance(raw, str)
            else coerce_value(definition, raw, f"参数 {name} 的覆盖值")
        )
        values[name][key] = [ParamValue(name, key, dt.date.min, value, WHAT_IF_SOURCE)]
    return values


def with_layer(
    definitions: dict[str, Definition],
    values: Values,
    rows: Iterable[tuple[str, str, dt.date | str, object, str]],
    label: str,
    on_error: Callable[[ParameterError, tuple], None] | None,
) -> tuple[Values, int]:
    """A copy of `values` with the rows of a layer added, and how many were added
    (see ParameterSet.with_layer for the rules)."""
    values = _copy(values)
    count = 0
    for i, row in enumerate(rows, 1):
        try:
            parsed = layer_value(definitions, row, f"{label} 第{i}行")
        except ParameterError as exc:
            if on_error is None:
                raise
            on_error(exc, row)
            continue
        items = [pv for pv in values[parsed.name].get(parsed.prefix, []) if pv.start != parsed.start]
        items.append(parsed)
        values[parsed.name][parsed.prefix] = items
        count += 1
    return values, count


def layer_value(definitions: dict[str, Definition], row: Any, where: str) -> ParamValue:
    """One row (name, prefix, start, value, source) of a layer, checked like a value of a YAML file."""
    try:
        name, prefix, start, raw, source = row
    except (TypeError, ValueError):
        raise ParameterError(f"{where}: 应为 (name, prefix, start, value, source)") from None
    definition = lookup_definition(definitions, name)
    where = f"{where} 参数 {name}"
    key = check_prefix(prefix, where)
    day = _parse_date(start, where)
    if not isinstance(source, str) or not source.strip():
        raise ParameterError(f"{where}: 缺少文件依据(source)")
    value = parse_value_text(definition, raw) if isinstance(raw, str) else coerce_value(definition, raw, where)
    if isinstance(value, Follow):
        _check_follow_target(definitions, name, value, where)
    return ParamValue(name, key, day, value, source.strip())
