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
from decimal import Decimal

import polars as pl

from fangfan.common import codes as C
from fangfan.common.ids import plain_integers
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


_CENT = pl.lit(Decimal("0.01"), dtype=pl.Decimal(3, 2))


def yuan_amount(expr: pl.Expr) -> pl.Expr:
    """Int64 fen → Decimal(38, 2) yuan, exact (written by the CSV writer as '1234.50')."""
    return expr.cast(pl.Decimal(38, 0)) * _CENT


def yuan_text(expr: pl.Expr) -> pl.Expr:
    """Int64 fen → '1234.50' (empty when null). Formatting the exact Decimal is several times
    faster than assembling the text from integer parts."""
    return yuan_amount(expr).cast(pl.String).fill_null("")


# ---------------------------------------------------------------------------------------
# Canonical tables → conformed frames
# ---------------------------------------------------------------------------------------

_KIND_DTYPE = CANONICAL_DTYPES


def _default_lit(col, dtype) -> pl.Expr:
    if col.kind == "multi":
        return pl.lit(list(col.default or ()), dtype=dtype)
    return pl.lit(col.default, dtype=dtype)


def _conform_exprs(table: Table, names: tuple[str, ...]) -> tuple[pl.Expr, ...]:
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
    if HOUSEHOLD_KEY in names:  # the integer key the reader found already (with_household_keys)
        exprs.append(pl.col(HOUSEHOLD_KEY))
    return tuple(exprs)


# Expressions are immutable: built once per (table, present columns), not per evaluation.
_CONFORM_EXPRS: dict[tuple[str, tuple[str, ...]], tuple[pl.Expr, ...]] = {}


def conform(frame: pl.DataFrame | pl.LazyFrame | None, table: Table) -> pl.LazyFrame:
    """Cast to the canonical dtypes, add missing columns, fill defaults of empty cells (so
    hand-made frames with only some columns are evaluated like files)."""
    if frame is None:
        frame = pl.DataFrame(schema={c.key: _KIND_DTYPE[c.kind] for c in table.columns})
    lf = frame.lazy()
    names = tuple(frame.columns) if isinstance(frame, pl.DataFrame) else tuple(lf.collect_schema().names())
    key = (table.name, names)
    exprs = _CONFORM_EXPRS.get(key)
    if exprs is None:
        exprs = _CONFORM_EXPRS[key] = _conform_exprs(table, names)
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


# Member facts: household fact → (per-member truth, how members combine). Only 正常 members count.
def _member_fact_definitions() -> dict[str, tuple[pl.Expr, str]]:
    c = pl.col
    return {
        "any_serious_illness": (_serious_illness(), "any"),
        "any_severe_disability": (_severe_disability(), "any"),
        "any_dropout": ((c("schooling") == "dropout").fill_null(False), "any"),
        "any_uninsured": (~c("medical_insurance").fill_null(True), "any"),
        "all_no_labor": (c("labor").is_in(list(C.NO_LABOR)).fill_null(False), "all"),
        "any_able_labor": (c("labor").is_in(list(C.ABLE_LABOR)).fill_null(False), "any"),
        "any_dibao": (c("dibao").fill_null(False), "any"),
        "any_tekun": (c("tekun").fill_null(False), "any"),
        "any_nl_public_payroll": (c("nl_public_payroll").fill_null(False), "any"),
        "any_nl_village_head": (c("nl_village_head").fill_null(False), "any"),
    }


MEMBER_FACTS = ("household_size", *_member_fact_definitions())

INCOME_FIELDS = tuple(c.key for c in TABLES["incomes"].columns if c.kind == "money")


def _normal(members: pl.LazyFrame) -> pl.LazyFrame:
    return members.filter(pl.col("status").fill_null("normal") == "normal")


def member_facts(members: pl.LazyFrame, key: str = "household_id") -> pl.LazyFrame:
    """One group_by pass over the 正常 members: household_size and the MEMBER_FACTS booleans.
    The facts are the bits of one UInt16 per member, combined by a bitwise or ('any': some
    member has it) and a bitwise and ('all': every member has it): two aggregations instead of
    one per fact (1M households: about a quarter less CPU). key: the column naming the household
    (household_id, or HOUSEHOLD_KEY, added by with_household_key)."""
    definitions = _member_fact_definitions()
    bits = pl.sum_horizontal(
        [truth.cast(pl.UInt16) * (1 << i) for i, (truth, _) in enumerate(definitions.values())]
    ).cast(pl.UInt16)
    aggregated = _normal(members).select(key, bits.alias("__facts")).group_by(key).agg(
        pl.len().cast(pl.Int64).alias("household_size"),
        pl.col("__facts").bitwise_or().alias("__any"),
        pl.col("__facts").bitwise_and().alias("__all"),
    )
    return aggregated.select(
        key,
        "household_size",
        *[
            ((pl.col("__any" if how == "any" else "__all") & (1 << i)) != 0).alias(name)
            for i, (name, (_, how)) in enumerate(definitions.items())
        ],
    )


def special_members(members: pl.LazyFrame, key: str = "household_id") -> pl.LazyFrame:
    """Per household, the ID numbers of its 正常 members with a severe disability or a serious
    illness (single-person dibao candidates), in file order joined by ";". Only those few
    members are grouped, not the whole table."""
    special = _normal(members).filter(_severe_disability() | _serious_illness())
    return special.sort("_row").group_by(key, maintain_order=True).agg(
        pl.col("id_number").str.join(";").alias("special_member_ids")
    )


def _in_household_order(frame: pl.DataFrame | pl.LazyFrame | None) -> bool:
    """Rows grouped by ascending household_id and in file order (as files and database exports
    usually are): then the rows of one household are adjacent and the first is the earliest."""
    if not isinstance(frame, pl.DataFrame) or "household_id" not in frame.columns:
        return False
    ids = frame.get_column("household_id")
    if ids.dtype != pl.String or ids.null_count() or not ids.is_sorted():
        return False
    return "_row" not in frame.columns or frame.get_column("_row").is_sorted()


def income_rows(
    incomes: pl.LazyFrame, year: int | None, *, in_household_order: bool = False, key: str = "household_id"
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The evaluated year's income row and the previous year's net income per household (the
    first row in file order when a household has several for one year). in_household_order:
    the rows are known to be grouped by household in file order (_in_household_order), so the
    first of each household is found by comparing neighbours instead of hashing."""
    year_value = -1 if year is None else year

    def of_year(value: int) -> pl.LazyFrame:
        rows = incomes.filter(pl.col("year") == value)
        if in_household_order:
            return rows.filter(pl.col(key).ne_missing(pl.col(key).shift(1)))
        return rows.sort("_row").unique(subset=[key], keep="first", maintain_order=True)

    current = of_year(year_value).select(key, pl.lit(True).alias("has_income"), *INCOME_FIELDS)
    prev_net = (
        pl.col("wage") + pl.col("business_income") - pl.col("business_cost") + pl.col("property_income") + pl.col("transfer_income")
    )
    previous = of_year(year_value - 1).select(key, prev_net.alias("prev_net_income"))
    return current, previous


def measure_facts(measures: pl.LazyFrame, key: str = "household_id") -> pl.LazyFrame:
    done = measures.filter(pl.col("status") == "done")
    return done.group_by(key).agg(
        pl.len().cast(pl.Int64).alias("done_measures"),
        pl.col("started_on").min().alias("first_done_started_on"),
    )


def _households_in_order(households: pl.DataFrame | pl.LazyFrame | None) -> pl.LazyFrame:
    """Households conformed and ordered by household_id: the result's order. Files and the
    database are usually already in that order, so the sort is skipped when it would be a
    no-op."""
    lf = conform(households, TABLES["households"])
    if isinstance(households, pl.DataFrame) and "household_id" in households.columns:
        ids = households.get_column("household_id")
        if ids.dtype == pl.String and ids.is_sorted():
            return lf
    return lf.sort("household_id", maintain_order=True)


# The households' integer key (see integer_household_ids): grouping and joining by Int64 hashes
# much faster than by the 13-character household_id text (1M: about 0.7 s of CPU less).
HOUSEHOLD_KEY = "_household_key"
_KEYED_TABLES = ("households", "members", "incomes", "measures")


def with_household_keys(tables: dict[str, pl.DataFrame], keys: dict[str, pl.Series] | None) -> dict[str, pl.DataFrame]:
    """The tables with HOUSEHOLD_KEY added from `keys` (each table's household_id as Int64, in
    row order, for every keyed table: the interchange reader's ReadResult.household_keys), so
    that the rules use them instead of parsing the IDs again; the tables as they are when
    `keys` is None or does not cover every keyed table."""
    present = [name for name in _KEYED_TABLES if tables.get(name) is not None]
    if not keys or any(name not in keys or keys[name].len() != tables[name].height for name in present):
        return tables
    return {
        name: frame.with_columns(_flagged(keys[name]).alias(HOUSEHOLD_KEY)) if name in present else frame
        for name, frame in tables.items()
    }


def _flagged(key: pl.Series) -> pl.Series:
    """The key marked as sorted when it is (files usually list households in order): Polars then
    joins it to a sorted right side by merging instead of hashing (1M households: the household
    frame's joins take about half the CPU)."""
    if key.null_count() == 0 and key.is_sorted():
        return key.set_sorted()
    return key


def keys_sorted(tables: dict[str, pl.DataFrame]) -> bool:
    """The households' HOUSEHOLD_KEY is marked sorted (with_household_keys): a right side sorted
    by the key is then merged, not hashed."""
    households = tables.get("households")
    return (
        isinstance(households, pl.DataFrame)
        and HOUSEHOLD_KEY in households.columns
        and households.get_column(HOUSEHOLD_KEY).flags["SORTED_ASC"]
    )


def _keyed(tables: dict[str, pl.DataFrame]) -> bool:
    """Every keyed table carries HOUSEHOLD_KEY as Int64 (with_household_keys)."""
    frames = [tables.get(name) for name in _KEYED_TABLES if tables.get(name) is not None]
    return bool(frames) and all(
        isinstance(frame, pl.DataFrame) and frame.schema.get(HOUSEHOLD_KEY) == pl.Int64 for frame in frames
    )


def integer_household_ids(tables: dict[str, pl.DataFrame]) -> bool:
    """True when every household_id of every table is a plain integer (ids.plain_integers):
    then the integers can stand in for the text as keys."""
    for name in _KEYED_TABLES:
        frame = tables.get(name)
        if frame is None:
            continue
        if not isinstance(frame, pl.DataFrame) or "household_id" not in frame.columns:
            return False
        column = frame.get_column("household_id")
        if column.dtype != pl.String or plain_integers(column) is None:
            return False
    return True


def with_household_key(frame: pl.LazyFrame, key: str) -> pl.LazyFrame:
    if key == "household_id" or key in frame.collect_schema().names():
        return frame
    return frame.with_columns(pl.col("household_id").cast(pl.Int64, strict=False).alias(key))


def household_key(tables: dict[str, pl.DataFrame]) -> str:
    """The column the household frame groups and joins by: HOUSEHOLD_KEY when the IDs are
    integers (integer_household_ids), else household_id itself."""
    return HOUSEHOLD_KEY if _keyed(tables) or integer_household_ids(tables) else "household_id"


def household_frame(
    tables: dict[str, pl.DataFrame],
    *,
    year: int | None,
    as_of: dt.date,
    members: pl.DataFrame | None = None,
    key: str | None = None,
) -> pl.LazyFrame:
    """One row per household, ordered by household_id, with its member, income and measure
    facts (no parameters yet). members: member_facts already collected (see
    evaluate.evaluate_tables) by `key` (household_key(tables)), else computed in this plan."""
    if key is None:
        key = household_key(tables)
    households = with_household_key(_households_in_order(tables.get("households")), key)
    member_rows = with_household_key(conform(tables.get("members"), TABLES["members"]), key)
    facts = member_facts(member_rows, key) if members is None else members.lazy()
    incomes = with_household_key(conform(tables.get("incomes"), TABLES["incomes"]), key)
    measures = with_household_key(conform(tables.get("measures"), TABLES["measures"]), key)
    current, previous = income_rows(
        incomes, year, in_household_order=_in_household_order(tables.get("incomes")), key=key
    )
    lf = households.rename({"_row": "_household_row"})
    for right in (facts, special_members(member_rows, key), current, previous, measure_facts(measures, key)):
        lf = lf.join(right, on=key, how="left", maintain_order="left")
    if key != "household_id":
        lf = lf.drop(key)
    return lf.with_columns(_HOUSEHOLD_FILLS).with_columns(
        pl.lit(as_of, dtype=pl.Date).alias("as_of"), pl.lit(year, dtype=pl.Int64).alias("year")
    )


_HOUSEHOLD_FILLS = (
    pl.col("household_size").fill_null(0),
    *[pl.col(c).fill_null(False) for c in MEMBER_FACTS if c != "household_size"],
    pl.col("special_member_ids").fill_null(""),
    pl.col("has_income").fill_null(False),
    pl.col("done_measures").fill_null(0),
)


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
    ParamSpec("p_visits_marginal", "visits.marginal_months", "months"),
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
    frame = resolved.select(exprs)
    # Which items apply, one Boolean per item, on the small per-village table rather than a
    # list lookup per household.
    frame = frame.with_columns(
        pl.col("p_negative_items").list.contains(item).fill_null(False).alias(negative_item_column(item))
        for item in definitions
    )
    return ParamTable(frame, definitions)


def negative_item_column(item_id: str) -> str:
    """The parameter column telling whether negative-list item `item_id` applies (Boolean)."""
    return f"p_negative_item__{item_id}"


def with_parameters(lf: pl.LazyFrame, table: ParamTable) -> pl.LazyFrame:
    return lf.join(table.frame.lazy(), on="village_code", how="left", maintain_order="left")
