"""Screening: evaluate the database's registry at an as-of date and store the results.

The rules never know where the frame came from: the registry is read as the same canonical
frames a file import produces (registry.dbframes), evaluated by policy.evaluate, and only
the rows whose result changed are written — re-running with the same inputs changes nothing."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass, field

import polars as pl
from django.db import transaction

from fangfan.audit.services import audit_record
from fangfan.policy.evaluate import OUTPUT_COLUMNS, evaluate_tables
from fangfan.regions.scope import code_range_sql, prefix_for
from fangfan.registry import dbframes
from fangfan.registry.bulk import bulk_insert, diff_frames, fetch_frame, update_rows
from fangfan.registry.progress import Progress
from fangfan.screening.models import ParameterVersionSet, ScreeningRun

# Stored result columns: the evaluate contract's (typed; strings '' for none) and the income year.
RESULT_FIELDS = ("year",) + tuple(c for c in OUTPUT_COLUMNS if c not in ("household_id", "village_code"))
_STRING_FIELDS = ("candidate_category", "detected_risks", "negative_list_hits", "elimination", "elimination_failed",
                  "warning_color", "low_income_class", "single_person_dibao", "explanation")


@dataclass
class ScreeningSummary:
    as_of: dt.date
    households: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    run_id: int | None = None
    seconds: float = 0.0
    counts: dict = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _region_prefix(actor, region: str) -> str:
    scope = "" if actor is None else prefix_for(actor)
    if scope is None:
        raise PermissionError("无权筛查")
    wanted = region.rstrip("0") if len(region) == 12 else region
    if wanted and scope and not wanted.startswith(scope):
        raise PermissionError("所选区划不在本账号的管辖范围内")
    return wanted or scope


def _parameter_sets(params, codes: list[str], as_of: dt.date) -> pl.DataFrame:
    """village_code → ParameterVersionSet id (one set per distinct resolution, not per household)."""
    rows = []
    cache: dict[str, int] = {}
    for code in codes:
        versions = params.versions(code, as_of)
        digest = hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()
        if digest not in cache:
            cache[digest] = ParameterVersionSet.objects.get_or_create(digest=digest, defaults={"versions": versions})[0].pk
        rows.append((code, cache[digest]))
    return pl.DataFrame(rows, schema={"village_code": pl.String, "parameters_id": pl.Int64}, orient="row")


def _stored(prefix: str, as_of: dt.date) -> pl.DataFrame:
    sql, bounds = code_range_sql("h.village_code", prefix)
    where = f" AND {sql}" if sql else ""
    params = [as_of, *bounds]
    schema = {"id": pl.Int64, "household_id": pl.Int64, "parameters_id": pl.Int64, "visit_due_on": pl.Date,
              **{f: pl.String for f in _STRING_FIELDS}}
    for f in ("below_line", "hardship", "whole_household_no_labor", "dibao_unserved", "visit_overdue"):
        schema[f] = pl.Boolean
    for f in ("year", "household_size", "net_income", "monitoring_income", "per_capita_income", "income_line",
              "per_capita_dibao_income"):
        schema[f] = pl.Int64
    cols = ", ".join(f"r.{c}" for c in ("id", "household_id", "parameters_id", *RESULT_FIELDS))
    return fetch_frame(
        f"SELECT {cols} FROM screening_screeningresult r JOIN registry_household h ON h.id = r.household_id "
        f"WHERE r.as_of = %s{where}",
        params,
        schema,
    )


def _counties(prefix: str) -> list[str]:
    """The parts a screening of `prefix` runs in: the counties (6 digits) with households under it,
    or the prefix itself when it lies within one county."""
    if len(prefix) >= 6:
        return [prefix]
    sql, bounds = code_range_sql("village_code", prefix)
    rows = fetch_frame(
        "SELECT DISTINCT substr(village_code, 1, 6) AS county FROM registry_household" + (f" WHERE {sql}" if sql else ""),
        bounds, {"county": pl.String},
    )
    return sorted(rows.get_column("county").to_list())


def _latest_year(prefix: str) -> int | None:
    """The latest income year of the whole scope (rules.md: the default year)."""
    sql, bounds = code_range_sql("h.village_code", prefix)
    rows = fetch_frame(
        "SELECT max(i.year) AS year FROM registry_incomeyear i JOIN registry_household h ON h.id = i.household_id"
        + (f" WHERE {sql}" if sql else ""),
        bounds, {"year": pl.Int64},
    )
    return rows.get_column("year")[0] if rows.height else None


def screening_run(
    *, actor, as_of: dt.date, year: int | None = None, region: str = "", params=None, progress: bool = False
) -> ScreeningSummary:
    """Evaluate every household of the region (within the actor's scope) at `as_of` and store the
    results with the parameter versions used.

    A scope of several counties (a city, a province, the nation) is screened county by county,
    each in its own transaction: memory is that of the largest county, and a run stopped half
    way keeps whole counties (running it again completes it and changes nothing else). The
    default income year is the latest of the whole scope, as for one evaluation of all of it."""
    started = time.perf_counter()
    if params is None:
        from fangfan.policy.params import ParameterSet

        params = ParameterSet.load()
    prefix = _region_prefix(actor, region)
    bar = Progress(enabled=progress)
    summary = ScreeningSummary(as_of=as_of)
    if year is None:
        year = _latest_year(prefix)
    run: list[ScreeningRun] = []  # created with the first change
    counties = _counties(prefix)
    for index, county in enumerate(counties):
        label = f"{county}({index + 1}/{len(counties)})" if len(counties) > 1 else ""
        _screen_part(actor=actor, as_of=as_of, year=year, prefix=county, params=params, bar=bar, summary=summary,
                     run=run, label=label, scope=prefix)
    if run:
        run[0].summary = {"households": summary.households, "created": summary.created, "updated": summary.updated}
        run[0].save(update_fields=["summary"])
    summary.seconds = time.perf_counter() - started
    return summary


def _screen_part(*, actor, as_of, year, prefix, params, bar, summary: ScreeningSummary, run: list, label: str,
                 scope: str) -> None:
    """Evaluate and store one county (or the whole scope when it is within one county)."""
    with bar.step(f"读取户档案 {label}".strip()):
        tables = dbframes.read_tables(prefix)
    if tables["households"].height == 0:
        return
    with bar.step(f"评估 {tables['households'].height} 户 {label}".strip()):
        results = evaluate_tables(tables, as_of=as_of, year=year, params=params)
    tables.clear()
    summary.households += results.height
    for column in ("candidate_category", "warning_color", "low_income_class"):
        counts = summary.counts.setdefault(column, {})
        for value, n in results.group_by(column).len().iter_rows():
            counts[value] = counts.get(value, 0) + n
    with transaction.atomic():
        sql, bounds = code_range_sql("village_code", prefix)
        pks = fetch_frame(
            "SELECT id AS household_pk, household_number AS household_id FROM registry_household"
            + (f" WHERE {sql}" if sql else ""),
            bounds,
            {"household_pk": pl.Int64, "household_id": pl.String},
        )
        sets = _parameter_sets(params, results["village_code"].unique().sort().to_list(), as_of)
        new = (
            results.join(pks, on="household_id")
            .join(sets, on="village_code")
            .select(
                pl.col("household_pk").alias("household_id"),
                "parameters_id",
                *[pl.col(f).fill_null("") if f in _STRING_FIELDS else pl.col(f) for f in RESULT_FIELDS],
            )
        )
        old = _stored(prefix, as_of)
        compare = ["parameters_id", *RESULT_FIELDS]
        inserts, updates, unchanged = diff_frames(new, old, ["household_id"], compare)
        summary.unchanged += unchanged
        summary.created += inserts.height
        summary.updated += updates.height
        if inserts.height == 0 and updates.height == 0:
            return
        if not run:
            run.append(ScreeningRun.objects.create(
                actor_name=getattr(actor, "username", "system"), as_of=as_of, year=year, region_prefix=scope,
                summary={},
            ))
            summary.run_id = run[0].pk
        run_id = run[0].pk
        with bar.step(f"写入结果 {inserts.height} 新增 / {updates.height} 修改 {label}".strip()):
            bulk_insert(
                "screening_screeningresult",
                inserts.with_columns(pl.lit(as_of).alias("as_of"), pl.lit(run_id, dtype=pl.Int64).alias("run_id")),
            )
            update_rows(
                "screening_screeningresult",
                updates.select([*compare, pl.lit(run_id, dtype=pl.Int64).alias("run_id"), "id"]),
            )
        audit_record(
            actor=actor,
            action="screening.run",
            object_type="screening_run",
            object_key=str(run_id),
            region_code=prefix,
            after={"as_of": as_of.isoformat(), "households": results.height,
                   "created": inserts.height, "updated": updates.height},
        )
