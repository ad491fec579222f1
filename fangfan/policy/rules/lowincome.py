"""Low-income population (低收入人口; 篇三, 篇五, 篇六, 篇十四): three-colour warning,
dibao_unserved (应保未保), low-income class, single-person dibao candidates."""
from __future__ import annotations

import functools

import polars as pl

from fangfan.policy.frame import PPM

COLUMNS = ("has_dibao_line", "in_assistance", "warn_red", "warn_orange", "warn_yellow", "warning_color",
           "dibao_unserved", "low_income_class", "single_person_dibao")


@functools.cache
def stages() -> tuple[tuple[pl.Expr, ...], ...]:
    """The family's columns as with_columns stages (each reads the ones before); built once."""
    c = pl.col
    line = c("p_dibao_line")
    pcd = c("per_capita_dibao_income")
    status = (
        line.is_not_null().alias("has_dibao_line"),
        (c("any_dibao") | c("any_tekun")).alias("in_assistance"),
    )
    open_ = c("has_dibao_line") & ~c("in_assistance")
    at_or_above = (pcd >= line).fill_null(False)
    warnings = (
        (open_ & c("hardship") & at_or_above).alias("warn_red"),
        (open_ & at_or_above & (pcd * PPM < c("p_orange_mult") * line).fill_null(False)).alias("warn_orange"),
        (open_ & (c("monitored") | c("former_dibao_tekun").fill_null(False))).alias("warn_yellow"),
        (open_ & (pcd < line).fill_null(False)).alias("dibao_unserved"),
    )
    has_line = c("has_dibao_line")
    expense = (
        (pcd < c("p_local_disposable")).fill_null(False)
        & (c("expense_per_capita") * PPM < c("p_expense_mult") * line).fill_null(False)
    )
    classes = (
        pl.when(c("warn_red"))
        .then(pl.lit("red"))
        .when(c("warn_orange"))
        .then(pl.lit("orange"))
        .when(c("warn_yellow"))
        .then(pl.lit("yellow"))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("warning_color"),
        pl.when(c("any_tekun"))
        .then(pl.lit("tekun"))
        .when(c("any_dibao"))
        .then(pl.lit("dibao"))
        .when(has_line & (pcd < line).fill_null(False))
        .then(pl.lit("dibao_eligible"))
        .when(has_line & (pcd * PPM < c("p_marginal_mult") * line).fill_null(False))
        .then(pl.lit("dibao_marginal"))
        .when(has_line & expense)
        .then(pl.lit("expense_hardship"))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("low_income_class"),
    )
    # special_member_ids: the 正常 members with a severe disability or serious illness (frame).
    single_person = (
        pl.when(c("low_income_class") == "dibao_marginal")
        .then(c("special_member_ids"))
        .otherwise(pl.lit(""))
        .fill_null("")
        .alias("single_person_dibao"),
    )
    return status, warnings, classes, single_person


def apply(lf: pl.LazyFrame) -> pl.LazyFrame:
    for stage in stages():
        lf = lf.with_columns(stage)
    return lf
