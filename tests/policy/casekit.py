"""Readable rule cases (tests/policy/cases/*.yaml) → canonical frames → evaluated text rows.

A case:
  name: what the user sees
  source: 篇N
  as_of: 2026-05-01          # evaluation date
  year: 2025                 # optional: the income year (default: latest present)
  set: ["NAME=VALUE", "PREFIX:NAME=VALUE"]   # optional what-if overrides
  household: {village_code: …, household_type: 一般农户, category: …, identified_on: …, …}
  members:   [ {labor: 普通劳动力, health: [患有大病], status: 死亡, …}, … ]   (default: one 普通劳动力)
  incomes:   {2025: {wage: 6000, …}, 2024: {…}}   money in yuan
  measures:  [ {code: M05, started_on: 2026-03-05, status: 已落实} ]
  expect:    {column: value as the evaluate contract writes it (text)}
Values may be given as Chinese labels (as in the files) or as codes; money in yuan.
"""
from __future__ import annotations

import datetime as dt
import zlib
from decimal import Decimal
from pathlib import Path

import polars as pl
import yaml

from fangfan.common.ids import check_digit
from fangfan.common.tables import TABLES
from fangfan.policy.frame import _KIND_DTYPE

CASES_DIR = Path(__file__).parent / "cases"
DEFAULT_VILLAGE = "341225103208"


def id_number(n: int) -> str:
    first17 = f"341225{1960 + n % 40}0101{n % 1000:03d}"
    return first17 + check_digit(first17)


def _value(col, raw):
    if raw is None:
        return None
    if col.kind == "code":
        code = col.codelist.normalise(str(raw))
        assert code is not None, f"{col.key}: unknown value {raw!r}"
        return code
    if col.kind == "multi":
        items = raw if isinstance(raw, list) else [s for s in str(raw).replace("；", ";").split(";") if s]
        codes = [col.codelist.normalise(str(i)) for i in items]
        assert None not in codes, f"{col.key}: unknown value in {raw!r}"
        order = col.codelist.order()
        return sorted(set(codes), key=order.__getitem__)
    if col.kind == "bool":
        if isinstance(raw, bool):
            return raw
        return {"是": True, "否": False}[str(raw)]
    if col.kind == "date":
        return raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw))
    if col.kind == "money":
        return int(Decimal(str(raw)) * 100)
    if col.kind in ("int", "year"):
        return int(raw)
    return str(raw)


def _frame(table_name: str, rows: list[dict]) -> pl.DataFrame:
    table = TABLES[table_name]
    data = {}
    for col in table.columns:
        values = []
        for row in rows:
            raw = row.get(col.key)
            v = _value(col, raw)
            if v is None and col.default is not None:
                v = list(col.default) if col.kind == "multi" else col.default
            values.append(v)
        data[col.key] = values
    schema = {c.key: _KIND_DTYPE[c.kind] for c in table.columns}
    frame = pl.DataFrame(data, schema=schema)
    return frame.with_columns(pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("_row"))


def case_tables(case: dict, household_id: str = "H1") -> dict[str, list[dict]]:
    """One case → rows per table (not yet frames, so several cases can be batched)."""
    hh = {"household_id": household_id, "village_code": DEFAULT_VILLAGE, "household_type": "一般农户",
          "housing_safe": True, "water_safe": True}
    hh.update(case.get("household") or {})
    hh["household_id"] = household_id
    members = []
    for i, m in enumerate(case.get("members") or [{}]):
        row = {"name": f"成员{i + 1}", "relation": "户主" if i == 0 else "之子", "labor": "普通劳动力"}
        row.update(m or {})
        row["household_id"] = household_id
        row.setdefault("id_number", id_number(zlib.crc32(household_id.encode()) * 7 + i))
        members.append(row)
    incomes = []
    for year, values in (case.get("incomes") or {}).items():
        row = dict(values or {})
        row.update(household_id=household_id, year=int(year))
        incomes.append(row)
    measures = []
    for m in case.get("measures") or []:
        row = {"measure_code": m.get("code", "M01"), "started_on": m["started_on"], "status": m.get("status", "已落实"),
               "household_id": household_id}
        measures.append(row)
    return {"households": [hh], "members": members, "incomes": incomes, "measures": measures}


def frames(rows: dict[str, list[dict]]) -> dict[str, pl.DataFrame]:
    return {name: _frame(name, table_rows) for name, table_rows in rows.items()}


def merge(parts: list[dict[str, list[dict]]]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {"households": [], "members": [], "incomes": [], "measures": []}
    for part in parts:
        for name, rows in part.items():
            out[name].extend(rows)
    return out


def parse_overrides(texts: list[str] | None) -> list[tuple[str, str | None, str]]:
    out = []
    for text in texts or []:
        left, value = text.split("=", 1)
        prefix, _, name = left.rpartition(":")
        out.append((name, prefix or None, value))
    return out


def load_cases(family: str) -> list[dict]:
    cases = yaml.safe_load((CASES_DIR / f"{family}.yaml").read_text(encoding="utf-8"))
    for case in cases:
        assert {"name", "source", "as_of", "expect"} <= case.keys(), case.get("name")
        case["family"] = family
    return cases


# The rule families evaluated per household (other case files in the folder, e.g. calc.yaml,
# belong to other tests).
FAMILIES = ("income", "monitoring", "elimination", "warning", "lowincome", "schedule")


def all_cases() -> list[dict]:
    return [case for family in FAMILIES for case in load_cases(family)]
