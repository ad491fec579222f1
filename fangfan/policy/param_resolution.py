"""Policy parameters, part 3 of 3: the set and its resolution (fangfan.policy.params re-exports it).

A value applies to every code that starts with its prefix ('' = national). For a code and an as-of
date, the value used is the one with the LONGEST matching prefix that has a value with start ≤ as-of;
within that prefix, the latest such start. `{follow: other.name}` is resolved for the same code and
date. One code at a time (get/value/for_region/describe) or a whole column of codes at once
(resolve_frame, for the rules engine). Reading and checking values is param_loading's part.
Pure Python + polars: no Django.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

import polars as pl

from fangfan.policy import param_loading as loading
from fangfan.policy.param_types import (
    DEFAULT_DIRECTORY,
    PREFIX_LENGTHS,
    RATIO_DTYPE,
    SCALAR_KINDS,
    UNITS,
    Definition,
    Follow,
    ParameterError,
    ParamValue,
    _format_value,
    _plain,
    lookup_definition,
    yuan_to_fen,
)
from fangfan.regions import codes as region_codes


def _check_code(region_code: Any) -> str:
    if not region_codes.is_digits(region_code) or len(region_code) not in PREFIX_LENGTHS:
        raise ParameterError(f"区划代码必须是 2、4、6、9 或 12 位数字,得到 {region_code!r}")
    return region_code


class ParameterSet:
    """All parameters with their dated, prefixed values. Immutable; what-ifs return a new set."""

    def __init__(self, definitions: dict[str, Definition], values: dict[str, dict[str, list[ParamValue]]], origin: str):
        self.definitions = definitions
        self.origin = origin
        self._values = {
            name: {prefix: sorted(items, key=lambda pv: pv.start) for prefix, items in by_prefix.items()}
            for name, by_prefix in values.items()
        }
        loading.check_follows(self.definitions, self._values)

    # -------------------------------------------------------------- construction
    @classmethod
    def load(cls, directory: Path | None = None) -> "ParameterSet":
        """The shipped YAML (default) or the YAML files of `directory`; cached per directory."""
        return _load_cached(str(Path(directory or DEFAULT_DIRECTORY).resolve()))

    def with_overrides(self, overrides: Iterable[tuple[str, str | None, object]]) -> "ParameterSet":
        """What-if: each (name, prefix or None, value) replaces every dated value of `name` at that prefix
        by one value valid from date.min. A prefix may be written as a region code (430000 → 43); a text
        value is parsed by the parameter's unit ('7000', '1.5', '20 working', 'null', 'follow:x.y')."""
        values = loading.with_overrides(self.definitions, self._values, overrides)
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
        values, count = loading.with_layer(self.definitions, self._values, rows, label, on_error)
        if not count:
            return self
        return ParameterSet(self.definitions, values, f"{self.origin} + {label}")

    # -------------------------------------------------------------- lookups
    def names(self) -> list[str]:
        return sorted(self.definitions)

    def definition(self, name: str) -> Definition:
        return lookup_definition(self.definitions, name)

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


@lru_cache(maxsize=8)
def _load_cached(directory: str) -> ParameterSet:
    # One set per directory: loading validates every file, and the set is immutable.
    definitions, values = loading.read_directory(Path(directory))
    return ParameterSet(definitions, values, directory)
