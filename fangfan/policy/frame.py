"""The household frame: one row per household, built from the canonical typed tables
(fangfan.common.tables) — the same function serves interchange files and the database.

Members are aggregated to household facts (only members with status 正常 count), the income
row of the evaluated year and of the year before are joined, measures are aggregated, and
the household's parameters (resolved by village-code prefix at the as-of date) are attached
as ``p_*`` columns. Pure Polars, lazy, no Django.

Internal representations: money is Int64 fen; ratios and multipliers are Int64 parts per
million (ppm), so every comparison is exact integer arithmetic.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from fangfan.common import codes as C
from fangfan.common.tables import CANONICAL_DTYPES, TABLES, Table

PPM = 1_000_000

# ---------------------------------------------------------------------------------------
# Exact helpers
# ---------------------------------------------------------------------------------------


def div_half_up(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """Integer division rounded half-up, ties away from zero (as Decimal ROUND_HALF_UP does,
    also for negative numerators: -0.5 → -1). Denominator must be > 0; 0 or null gives null."""
    num = numerator.cast(pl.Int64)
    den = denominator.cast(pl.Int64)
    magnitude = (num.abs() * 2 + den) // (den * 2)
    return (
        pl.when(den.is_null() | (den <= 0) | num.is_null())
        .then(pl.lit(None, dtype=pl.Int64))
        .when(num < 0)
        .then(-magnitude)
        .otherwise(magnitude)
    )


def yuan_text(expr: pl.Expr) -> pl.Expr:
    """Int64 fen → '1234.50' (empty when null)."""
    a = expr.abs()
    sign = pl.when(expr < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    text = pl.concat_str([sign, (a // 100).cast(pl.String), pl.lit("."), (a % 100).cast(pl.String).str.zfill(2)])
    return pl.when(expr.is_null()).then(pl.lit("")).otherwise(text)


# ---------------------------------------------------------------------------------------
# Canonical tables → conformed frames
# ---------------------------------------------------------------------------------------

_KIND_DTYPE = CANONICAL_DTYPES


def _default_lit(col, dtype) -> pl.Expr:
    if col.kind == "multi":
        return pl.lit(list(col.default or ()), dtype=dtype)
    return pl.lit(col.default, dtype=dtype)


def conform(frame: pl.DataFrame | pl.LazyFrame | None, table: Table) -> pl.LazyFrame:
    """Cast to the canonical dtypes, add missing columns, fill defaults of empty cells (so
    hand-made frames with only some columns are evaluated like files)."""
    if frame is None:
        frame = pl.DataFrame(schema={c.key: _KIND_DTYPE[c.kind] for c in table.columns})
    lf = frame.lazy()
    names = lf.collect_schema().names()
    exprs = []
    for col in table.columns:
        dtype = _KIND_DTYPE[col.kind]
        if col.key in names:
            e = pl.col(col.key).cast(dtype)
            if col.default is not None:
                e = e.fill_null(_default_lit(col, dtype))
        else:
            e = _default_lit(col, dtype)
        exprs.append(e.alias(col.key))
    if "_row" in names:
        exprs.append(pl.col("_row").cast(pl.Int64))
    else:
        exprs.append(pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"))
    return lf.select(exprs)


def latest_year(tables: dict[str, pl.DataFrame]) -> int | None:
    incomes = tables.get("incomes")
    if incomes is None or incomes.height == 0:
        return None
    value = incomes.get_column("year").cast(pl.Int64).max()
    return int(value) if value is not None else None


# ---------------------------------------------------------------------------------------
# Household frame
# ---------------------------------------------------------------------------------------

# Severe disability for R03 and single-person dibao: 一级/二级, or 三级 智力/精神.
def _severe_disability() -> pl.Expr:
    grade = pl.col("disability_grade")
    return (grade.is_in(["1", "2"]) | ((grade == "3") & pl.col("disability_kind").is_in(["intellectual", "mental"]))).fill_null(False)


def _serious_illness() -> pl.Expr:
    return pl.col("health").list.contains("serious_illness").fill_null(False)


MEMBER_FACTS = (
    "household_size",
    "any_serious_illness",
    "any_severe_disability",
    "any_dropout",
    "any_uninsured",
    "all_no_labor",
    "any_able_labor",
    "any_dibao",
    "any_tekun",
    "any_nl_public_payroll",
    "any_nl_village_head",
)

INCOME_FIELDS = tuple(c.key for c in TABLES["incomes"].columns if c.kind == "money")


def member_facts(members: pl.LazyFrame) -> pl.LazyFrame:
    normal = members.filter(pl.col("status").fill_null("normal") == "normal").sort("_row")
    special = _severe_disability() | _serious_illness()
    return normal.group_by("household_id").agg(
        pl.len().cast(pl.Int64).alias("household_size"),
        _serious_illness().any().alias("any_serious_illness"),
        _severe_disability().any().alias("any_severe_disability"),
        (pl.col("schooling") == "dropout").fill_null(False).any().alias("any_dropout"),
        (~pl.col("medical_insurance").fill_null(True)).any().alias("any_uninsured"),
        pl.col("labor").is_in(list(C.NO_LABOR)).fill_null(False).all().alias("all_no_labor"),
        pl.col("labor").is_in(list(C.ABLE_LABOR)).fill_null(False).any().alias("any_able_labor"),
        pl.col("dibao").fill_null(False).any().alias("any_dibao"),
        pl.col("tekun").fill_null(False).any().alias("any_tekun"),
        pl.col("nl_public_payroll").fill_null(False).any().alias("any_nl_public_payroll"),
        pl.col("nl_village_head").fill_null(False).any().alias("any_nl_village_head"),
        pl.col("id_number").filter(special).alias("special_member_ids"),
    )


def income_rows(incomes: pl.LazyFrame, year: int | None) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    year_value = -1 if year is None else year
    incomes = incomes.sort("_row").unique(subset=["household_id", "year"], keep="first", maintain_order=True)
    current = incomes.filter(pl.col("year") == year_value).select(
        "household_id", pl.lit(True).alias("has_income"), *INCOME_FIELDS, "decline_reasons"
    )
    prev_net = (
        pl.col("wage") + pl.col("business_income") - pl.col("business_cost") + pl.col("property_income") + pl.col("transfer_income")
    )
    previous = incomes.filter(pl.col("year") == year_value - 1).select(
        "household_id", prev_net.alias("prev_net_income")
    )
    return current, previous


def measure_facts(measures: pl.LazyFrame) -> pl.LazyFrame:
    done = measures.filter(pl.col("status") == "done")
    return done.group_by("household_id").agg(
        pl.len().cast(pl.Int64).alias("done_measures"),
        pl.col("started_on").min().alias("first_done_started_on"),
    )


def household_frame(tables: dict[str, pl.DataFrame], *, year: int | None, as_of: dt.date) -> pl.LazyFrame:
    """One row per household with its member, income and measure facts (no parameters yet)."""
    households = conform(tables.get("households"), TABLES["households"])
    members = conform(tables.get("members"), TABLES["members"])
    incomes = conform(tables.get("incomes"), TABLES["incomes"])
    measures = conform(tables.get("measures"), TABLES["measures"])
    current, previous = income_rows(incomes, year)
    lf = (
        households.rename({"_row": "_household_row"})
        .join(member_facts(members), on="household_id", how="left")
        .join(current, on="household_id", how="left")
        .join(previous, on="household_id", how="left")
        .join(measure_facts(measures), on="household_id", how="left")
    )
    fills = [pl.col("household_size").fill_null(0)]
    fills += [pl.col(c).fill_null(False) for c in MEMBER_FACTS if c != "household_size"]
    fills += [
        pl.col("has_income").fill_null(False),
        pl.col("done_measures").fill_null(0),
        pl.col("special_member_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        pl.lit(as_of, dtype=pl.Date).alias("as_of"),
        pl.lit(year, dtype=pl.Int64).alias("year"),
    ]
    return lf.with_columns(fills)


# ---------------------------------------------------------------------------------------
# Parameters → p_* columns
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamSpec:
    column: str  # internal column, p_*
    name: str  # parameter name in the parameter data
    kind: str  # money (→ fen) | ratio (→ ppm) | months (→ int) | items (→ list of item ids)


PARAM_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("p_income_line", "monitoring.income_line", "money"),
    ParamSpec("p_rigid_ratio", "hardship.rigid_expense_ratio", "ratio"),
    ParamSpec("p_drop_ratio", "hardship.income_drop_ratio", "ratio"),
    ParamSpec("p_negative_items", "negative_list", "items"),
    ParamSpec("p_elim_line", "elimination.income_line", "money"),
    ParamSpec("p_min_months_monitored", "elimination.min_months_monitored", "months"),
    ParamSpec("p_min_months_assisted", "elimination.min_months_assisted", "months"),
    ParamSpec("p_dibao_line", "dibao.line_rural_year", "money"),
    ParamSpec("p_marginal_mult", "dibao.marginal_multiplier", "ratio"),
    ParamSpec("p_expense_mult", "dibao.expense_hardship_line_multiplier", "ratio"),
    ParamSpec("p_employment_cost_rate", "dibao.employment_cost_rate", "ratio"),
    ParamSpec("p_orange_mult", "warning.orange_multiplier", "ratio"),
    ParamSpec("p_local_disposable", "local.disposable_income_per_capita", "money"),
    ParamSpec("p_visits_monitored", "visits.monitored_months", "months"),
    ParamSpec("p_visits_eliminated", "visits.eliminated_months", "months"),
    ParamSpec("p_visits_lifted", "visits.lifted_months", "months"),
)
PARAM_BY_COLUMN = {s.column: s for s in PARAM_SPECS}
PARAM_BY_NAME = {s.name: s for s in PARAM_SPECS}

_PARAM_DTYPE = {"money": pl.Int64, "ratio": pl.Int64, "months": pl.Int64, "items": pl.List(pl.String)}


@dataclass(frozen=True)
class ParamTable:
    """The resolved parameters: one row per village code (village_code, every p_* column and
    p_*__source: prefix, start date and 篇 source), plus the negative-list item definitions
    (item id → frame columns whose truth is a hit) found among them."""

    frame: pl.DataFrame
    negative_items: dict[str, tuple[str, ...]]


def parameter_frame(params, codes: list[str], on: dt.date) -> ParamTable:
    """Resolve the engine's parameters for the distinct village codes in bulk
    (ParameterSet.resolve_frame: money Int64 fen, ratios Decimal(18, 6), months Int64,
    negative_list List(Struct{id, label, fields})) and convert ratios to Int64 ppm."""
    resolved = params.resolve_frame(sorted(set(codes)), on, names=[s.name for s in PARAM_SPECS])
    exprs = [pl.col("village_code")]
    for spec in PARAM_SPECS:
        col = pl.col(spec.name)
        if spec.kind == "ratio":
            col = (col * PPM).cast(pl.Int64)
        elif spec.kind == "items":
            col = col.list.eval(pl.element().struct.field("id"))
        else:
            col = col.cast(pl.Int64)
        exprs += [col.alias(spec.column), pl.col(f"{spec.name}__source").alias(f"{spec.column}__source")]
    definitions: dict[str, tuple[str, ...]] = {}
    items = resolved.select(pl.col("negative_list").explode().drop_nulls().unique(maintain_order=True))
    for item in items.get_column("negative_list").to_list():
        fields = item.get("fields")
        if fields is None:
            from fangfan.policy.rules.monitoring import NEGATIVE_ITEMS

            definitions.setdefault(item["id"], NEGATIVE_ITEMS.get(item["id"], ()))
        else:
            # Member facts count when any 正常 member has them (frame column any_<field>).
            definitions.setdefault(
                item["id"], tuple(f"any_{f}" if f in C.MEMBER_NEGATIVE_FIELDS else f for f in fields)
            )
    return ParamTable(resolved.select(exprs), definitions)


def with_parameters(lf: pl.LazyFrame, table: ParamTable) -> pl.LazyFrame:
    return lf.join(table.frame.lazy(), on="village_code", how="left")
