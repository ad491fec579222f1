"""Income accounting (收支核算口径): I1-I5. Adds net_income, monitoring_income,
per_capita_income, dibao_income, per_capita_dibao_income, rigid_expense (all Int64 fen)."""
from __future__ import annotations

import functools

import polars as pl

from fangfan.policy.frame import PPM, div_half_up

COLUMNS = (
    "net_income",
    "monitoring_income",
    "per_capita_income",
    "dibao_income",
    "per_capita_dibao_income",
    "rigid_expense",
    "expense_per_capita",
)

_DIBAO_EXCLUDED = (
    "basic_pension",
    "veteran_benefits",
    "disability_allowances",
    "guaranteed_dividend",
    "dibao_payment",
    "tekun_payment",
)


def net_income() -> pl.Expr:
    """I1: 纯收入 = 工资性 + 生产经营性(收入 − 费用) + 财产性 + 转移性 (fen)."""
    c = pl.col
    return c("wage") + (c("business_income") - c("business_cost")) + c("property_income") + c("transfer_income")


@functools.cache
def stages() -> tuple[tuple[pl.Expr, ...], ...]:
    """The family's columns as with_columns stages (each reads the ones before); built once."""
    c = pl.col
    accounts = (
        net_income().alias("net_income"),
        (c("compliant_oop") + c("education_expense") + c("other_rigid_expense")).alias("rigid_expense"),
    )
    # I4 in millionths of a fen: the employment cost deduction (rate × wage) may not be a
    # whole fen, and rounding happens only once, on the per-capita amount.
    excluded = c("net_income")
    for name in _DIBAO_EXCLUDED:
        excluded = excluded - c(name)
    dibao_micro = excluded * PPM - c("p_employment_cost_rate").fill_null(0) * c("wage")
    size = c("household_size")
    derived = (
        (c("net_income") + c("insurance_claims") - c("compliant_oop")).alias("monitoring_income"),
        dibao_micro.alias("_dibao_income_micro"),
    )
    per_capita = (
        div_half_up(c("monitoring_income"), size).alias("per_capita_income"),
        div_half_up(c("_dibao_income_micro"), pl.lit(PPM, dtype=pl.Int64)).alias("dibao_income"),
        div_half_up(c("_dibao_income_micro"), size * PPM).alias("per_capita_dibao_income"),
        div_half_up(c("_dibao_income_micro") - c("rigid_expense") * PPM, size * PPM).alias("expense_per_capita"),
    )
    return accounts, derived, per_capita


def apply(lf: pl.LazyFrame) -> pl.LazyFrame:
    for stage in stages():
        lf = lf.with_columns(stage)
    return lf
