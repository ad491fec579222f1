"""Risk elimination (风险消除; 篇九 五(一), 篇二 (二)(三)): E1-E6 and tracking (跟踪关注)."""
from __future__ import annotations

import functools

import polars as pl

COLUMNS = ("monitored", "eliminated", "rule_E1", "rule_E2", "rule_E3", "rule_E4", "rule_E5", "rule_E6",
           "elimination", "elimination_failed")
RULE_IDS = ("E1", "E2", "E3", "E4", "E5", "E6")


def months_after(day: pl.Expr, months: pl.Expr) -> pl.Expr:
    """day + N calendar months, clamped to the month's end (Polars 'mo' offsets clamp)."""
    return day.dt.offset_by(pl.format("{}mo", months.cast(pl.Int64)))


@functools.cache
def stages() -> tuple[tuple[pl.Expr, ...], ...]:
    """The family's columns as with_columns stages (each reads the ones before); built once."""
    c = pl.col
    status = (
        c("eliminated_on").is_not_null().alias("eliminated"),
        (c("category").is_not_null() & c("eliminated_on").is_null()).alias("monitored"),
    )
    conditions = (
        (c("done_measures") > 0).alias("rule_E1"),
        (
            c("housing_safe").fill_null(False)
            & c("water_safe").fill_null(False)
            & ~c("any_dropout")
            & ~c("any_uninsured")
        ).alias("rule_E2"),
        ((c("per_capita_income") >= c("p_elim_line")).fill_null(False) & ~c("hardship_drop")).alias("rule_E3"),
        (~c("hardship_rigid")).alias("rule_E4"),
        (~c("whole_household_no_labor")).alias("rule_E5"),
        (c("as_of") >= months_after(c("identified_on"), c("p_min_months_monitored").fill_null(0)))
        .fill_null(False)
        .alias("rule_E6"),
    )
    all_hold = pl.all_horizontal([c(f"rule_{r}") for r in RULE_IDS])
    assisted_long_enough = pl.when(c("p_min_months_assisted").is_null()).then(pl.lit(True)).otherwise(
        (c("as_of") >= months_after(c("first_done_started_on"), c("p_min_months_assisted"))).fill_null(False)
    )
    failed = pl.concat_str(
        [pl.when(~c(f"rule_{r}")).then(pl.lit(r)) for r in RULE_IDS], separator=";", ignore_nulls=True
    ).fill_null("")
    outcome = (
        pl.when(~c("monitored"))
        .then(pl.lit(None, dtype=pl.String))
        .when(all_hold & assisted_long_enough)
        .then(pl.lit("eligible"))
        .when(all_hold)
        .then(pl.lit("tracking"))
        .otherwise(pl.lit("not_eligible"))
        .alias("elimination"),
        pl.when(c("monitored") & ~all_hold).then(failed).otherwise(pl.lit("")).alias("elimination_failed"),
    )
    return status, conditions, outcome


def apply(lf: pl.LazyFrame) -> pl.LazyFrame:
    for stage in stages():
        lf = lf.with_columns(stage)
    return lf
