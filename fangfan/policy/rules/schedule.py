"""Schedules (篇八 (一), 篇十一): S1 visit due date and overdue flag."""
from __future__ import annotations

import functools

import polars as pl

from fangfan.policy.rules.elimination import months_after

COLUMNS = ("visit_interval_months", "visit_due_on", "visit_overdue")


@functools.cache
def stages() -> tuple[tuple[pl.Expr, ...], ...]:
    """The family's columns as with_columns stages (each reads the ones before); built once."""
    c = pl.col
    lifted_unmonitored = (c("household_type") == "lifted") & c("category").is_null() & ~c("eliminated")
    interval = (
        # 篇十一: a marginal household's contact visits at its own interval where the profile sets one.
        pl.when(c("monitored") & (c("category") == "marginal") & c("p_visits_marginal").is_not_null())
        .then(c("p_visits_marginal"))
        .when(c("monitored"))
        .then(c("p_visits_monitored"))
        .when(c("eliminated"))
        .then(c("p_visits_eliminated"))
        .when(lifted_unmonitored)
        .then(c("p_visits_lifted"))
        .otherwise(pl.lit(None, dtype=pl.Int64))
        .alias("visit_interval_months"),
    )
    # With no visit on record the interval counts from identified_on (monitored) or
    # eliminated_on (eliminated); with neither the household is due on the as-of date.
    start = pl.coalesce(
        c("last_visit_on"),
        pl.when(c("monitored")).then(c("identified_on")).when(c("eliminated")).then(c("eliminated_on")),
    )
    due = pl.coalesce(months_after(start, c("visit_interval_months")), c("as_of"))
    due_on = (
        pl.when(c("visit_interval_months").is_null()).then(pl.lit(None, dtype=pl.Date)).otherwise(due).alias("visit_due_on"),
    )
    overdue = ((c("as_of") > c("visit_due_on")).fill_null(False).alias("visit_overdue"),)
    return interval, due_on, overdue


def apply(lf: pl.LazyFrame) -> pl.LazyFrame:
    for stage in stages():
        lf = lf.with_columns(stage)
    return lf
