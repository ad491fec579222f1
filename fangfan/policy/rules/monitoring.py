"""Monitoring (防止返贫致贫监测): M1 below line, M2 hardship, M3 candidate category,
M4 whole household without labour, M5 detected risks, M6 negative list."""
from __future__ import annotations

import functools

import polars as pl

from fangfan.common import codes as C
from fangfan.policy.frame import PPM, negative_item_column

COLUMNS = (
    "below_line",
    "hardship_rigid",
    "hardship_drop",
    "hardship",
    "candidate_category",
    "whole_household_no_labor",
    "detected_risks",
    "negative_list_hits",
)

# Negative-list items (profiles.md): item id → the nl_* facts of which any one is a hit.
# Member facts are "any 正常 member" (any_nl_*); household facts are the nl_* columns.
NEGATIVE_ITEMS: dict[str, tuple[str, ...]] = {
    "S1": ("any_nl_public_payroll", "nl_company"),
    "S2": ("nl_luxury_property", "nl_machinery", "nl_large_deposits"),
    "S3": ("nl_wealthy_supporter",),
    "S4": ("nl_misconduct",),
    "S5": ("nl_idle",),
    "S6": ("nl_refuses_check",),
    "S7": ("nl_absent",),
    "N1": ("any_nl_public_payroll",),
    "N2": ("any_nl_village_head",),
    "N3": ("nl_town_house",),
    "N4": ("nl_car", "nl_machinery"),
    "N5": ("nl_company", "nl_employs_others"),
    "N6": ("nl_costly_school",),
}


def _detected(code: str) -> pl.Expr | None:
    c = pl.col
    return {
        "R01": c("any_serious_illness"),
        "R03": c("any_severe_disability"),
        "R02": c("any_dropout"),
        "R10": c("any_dropout"),
        "R08": ~c("any_able_labor"),
        "R09": ~c("housing_safe").fill_null(True),
        "R12": ~c("water_safe").fill_null(True),
        "R11": c("any_uninsured"),
    }.get(code)


def negative_hit(fields: tuple[str, ...]) -> pl.Expr:
    expr = pl.lit(False)
    for fact in fields:
        expr = expr | pl.col(fact).fill_null(False)
    return expr


def apply(lf: pl.LazyFrame, negative_items: dict[str, tuple[str, ...]] | None = None) -> pl.LazyFrame:
    """negative_items: item id → fact columns, as the parameter data defines them (default:
    the spec's S and N lists); which items apply to a household is its parameters'
    negative_list (one Boolean column per item, see frame.negative_item_column)."""
    negative_items = NEGATIVE_ITEMS if negative_items is None else negative_items
    for stage in stages(tuple(sorted(negative_items.items()))):
        lf = lf.with_columns(stage)
    return lf


def income_drop() -> pl.Expr:
    """M2(b): net income below (1 − hardship.income_drop_ratio) × the previous year's (ratio in ppm,
    money in fen: exact). Also what a visit's estimate is checked against (workflows)."""
    c = pl.col
    return (
        c("prev_net_income").is_not_null() & (c("net_income") * PPM < (PPM - c("p_drop_ratio")) * c("prev_net_income"))
    ).fill_null(False)


@functools.cache
def stages(negative_items: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[tuple[pl.Expr, ...], ...]:
    """The family's columns as with_columns stages (each reads the ones before); built once per
    set of negative-list item definitions."""
    c = pl.col
    # M2(a) base: previous-year net income, or the current year's when there is no previous row.
    base = pl.coalesce(c("prev_net_income"), c("net_income"))
    lines = (
        (c("per_capita_income") < c("p_income_line")).fill_null(False).alias("below_line"),
        (c("rigid_expense") * PPM > c("p_rigid_ratio") * base).fill_null(False).alias("hardship_rigid"),
        income_drop().alias("hardship_drop"),
        (c("all_no_labor") & (c("household_size") > 0)).alias("whole_household_no_labor"),
    )
    hardship = ((c("hardship_rigid") | c("hardship_drop")).alias("hardship"),)
    risk_parts = []
    declared = c("declared_risks").fill_null(pl.lit([], dtype=pl.List(pl.String)))
    for code in C.RISK.codes:
        cond = declared.list.contains(code)
        detected = _detected(code)
        if detected is not None:
            cond = cond | detected.fill_null(False)
        risk_parts.append(pl.when(cond).then(pl.lit(code)))
    nl_parts = [
        pl.when(c(negative_item_column(item)).fill_null(False) & negative_hit(fields)).then(pl.lit(item))
        for item, fields in sorted(negative_items, key=lambda kv: _item_order(kv[0]))
    ]
    outcome = (
        pl.when(c("below_line") & (c("household_type") == "lifted"))
        .then(pl.lit("unstable_lifted"))
        .when(c("below_line") & (c("household_type") == "ordinary"))
        .then(pl.lit("marginal"))
        .when(~c("below_line") & c("hardship"))
        .then(pl.lit("sudden_hardship"))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("candidate_category"),
        _joined_codes(risk_parts).alias("detected_risks"),
        # No items (e.g. no households, so no parameters resolved): no hits.
        _joined_codes(nl_parts).alias("negative_list_hits"),
    )
    return lines, hardship, outcome


def _joined_codes(parts: list[pl.Expr]) -> pl.Expr:
    """The codes whose condition holds, joined by ';' ('' for none)."""
    if not parts:
        return pl.lit("", dtype=pl.String)
    return pl.concat_str(parts, separator=";", ignore_nulls=True).fill_null("")


def _item_order(item_id: str) -> tuple[str, int, str]:
    digits = "".join(ch for ch in item_id if ch.isdigit())
    return (item_id.rstrip("0123456789"), int(digits) if digits else 0, item_id)
