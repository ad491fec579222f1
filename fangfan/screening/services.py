"""Screening: evaluate the database's registry at an as-of date and store the results.

The rules never know where the frame came from: the registry is read as the same canonical
frames a file import produces (registry.dbframes), evaluated by policy.evaluate, and only
the rows whose result changed are written — re-running with the same inputs changes nothing."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import polars as pl
from django.db import connection, connections, transaction

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
        from fangfan.screening.parameters import current_parameters

        params = current_parameters()
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


def _read_in_thread(prefix: str, names: tuple[str, ...]) -> dict[str, pl.DataFrame]:
    try:
        return dbframes.read_tables(prefix, tables=names)
    finally:
        connections.close_all()  # this thread's own connection


def _read_registry(prefix: str) -> dict[str, pl.DataFrame]:
    """dbframes.read_tables(prefix); on PostgreSQL outside a transaction the members (the biggest
    table) are read on a second connection meanwhile: the server formats the rows of both queries
    on both cores (100k households: about 20 % faster). Inside a transaction a second connection
    would not see its uncommitted rows, so everything is read on the one connection. Either way
    each table is one query, as before (autocommit: each its own snapshot)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return dbframes.read_tables(prefix)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="screen-read") as pool:
        members = pool.submit(_read_in_thread, prefix, ("members",))
        tables = dbframes.read_tables(prefix, tables=tuple(n for n in dbframes.TABLE_NAMES if n != "members"))
        tables["members"] = members.result()["members"]
    return {name: tables[name] for name in dbframes.TABLE_NAMES}


def _screen_part(*, actor, as_of, year, prefix, params, bar, summary: ScreeningSummary, run: list, label: str,
                 scope: str) -> None:
    """Evaluate and store one county (or the whole scope when it is within one county)."""
    with bar.step(f"读取户档案 {label}".strip()):
        tables = _read_registry(prefix)
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


# ------------------------------------------------------------------------------------------ county parameters
CLASS_ZH = {"tekun": "特困", "dibao": "低保", "dibao_eligible": "符合低保条件", "dibao_marginal": "低保边缘",
            "expense_hardship": "支出型困难", None: "无"}
CATEGORY_ZH = {"unstable_lifted": "脱贫不稳定户", "marginal": "边缘易致贫户", "sudden_hardship": "突发严重困难户", None: "无"}
PREVIEW_EXAMPLES = 3
# Dates the rules can work with (date arithmetic near 9999-12-31 would overflow).
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


@dataclass
class _Checked:
    name: str
    prefix: str
    start: dt.date
    value_text: str
    layer: tuple


def _field_error(field: str, message: str):
    from django.core.exceptions import ValidationError

    return ValidationError({field: [message]})


def _check_parameter_input(*, actor, name, region_prefix, start, value_text) -> _Checked:
    """Role, region and value checks shared by the preview and the save (Chinese messages by field)."""
    from django.core.exceptions import PermissionDenied

    from fangfan.accounts.permissions import may_set_parameter
    from fangfan.policy.params import ParameterError, normalise_prefix
    from fangfan.regions.scope import region_prefix_for
    from fangfan.screening.parameters import current_parameters

    name = (name or "").strip()
    params = current_parameters()
    if name not in params.definitions:
        raise _field_error("name", f"没有参数 {name!r}" if name else "请选择参数")
    if not may_set_parameter(actor, name):
        raise PermissionDenied(
            "dibao.* 参数由县民政局设置" if name.startswith("dibao.") else "该参数由县乡村振兴局设置(县民政局只设置 dibao.* 参数)"
        )
    own = region_prefix_for(actor)
    if not own or len(own) < 6:
        raise PermissionDenied("本账号没有所属的县,不能设置县级参数")
    try:
        prefix = normalise_prefix(str(region_prefix or own).strip())
    except ParameterError as exc:
        raise _field_error("region_prefix", str(exc)) from None
    if len(prefix) < 6 or not prefix.startswith(own[:6]):
        raise _field_error("region_prefix", f"只能设置本县({own[:6]})及其乡镇、村的参数")
    if not isinstance(start, dt.date):
        raise _field_error("start", "请填写起始日期(YYYY-MM-DD)")
    if not FIRST_DAY <= start <= LAST_DAY:
        raise _field_error("start", f"起始日期应在 {FIRST_DAY} 至 {LAST_DAY} 之间")
    text = (value_text or "").strip()
    if not text:
        raise _field_error("value_text", "请填写取值(要表示“未设定”请写 null)")
    row = (name, prefix, start, text, "预览")
    try:
        params.with_layer([row], "取值")
    except ParameterError as exc:
        raise _field_error("value_text", str(exc)) from None
    return _Checked(name, prefix, start, text, row)


def county_parameter_set(*, actor, name: str, region_prefix: str, start: dt.date, value_text: str, document: str):
    """Store a county's dated value (a new row; an active row of the same name, prefix and start is
    marked superseded by it), audited with the value in force before and the new one."""
    from fangfan.screening.models import CountyParameter
    from fangfan.screening.parameters import current_parameters

    checked = _check_parameter_input(actor=actor, name=name, region_prefix=region_prefix, start=start,
                                     value_text=value_text)
    document = (document or "").strip()
    if not document:
        raise _field_error("document", "请填写文件依据(文件名称和文号)")
    if len(document) > 300:
        raise _field_error("document", "文件依据最多 300 字")
    if any(ord(ch) < 32 for ch in document):
        raise _field_error("document", "文件依据不能含控制字符或换行")
    params = current_parameters()
    before = params.get(checked.name, checked.prefix, checked.start)
    with transaction.atomic():
        same = list(
            CountyParameter.objects.select_for_update().filter(
                name=checked.name, region_prefix=checked.prefix, start=checked.start,
                superseded_by__isnull=True, withdrawn_at__isnull=True,
            )
        )
        row = CountyParameter.objects.create(
            name=checked.name, region_prefix=checked.prefix, start=checked.start, value_text=checked.value_text,
            document=document, set_by=actor,
        )
        CountyParameter.objects.filter(pk__in=[r.pk for r in same]).update(superseded_by=row)
        audit_record(
            actor=actor,
            action="parameter.set",
            object_type="county_parameter",
            object_key=str(row.pk),
            region_code=checked.prefix,
            before=None if before is None else {
                "name": checked.name, "value": _plain_value(before.value), "prefix": before.prefix,
                "start": before.start.isoformat(), "source": before.source,
                "corrected_rows": [r.pk for r in same],
            },
            after={"name": checked.name, "value": checked.value_text, "prefix": checked.prefix,
                   "start": checked.start.isoformat(), "document": document},
        )
    return row


def county_parameter_withdraw(*, actor, pk: int, reason: str):
    """Withdraw an active value (it stays in the history, stamped)."""
    from django.http import Http404
    from django.utils import timezone

    from fangfan.accounts.permissions import may_set_parameter, require
    from fangfan.regions.scope import region_prefix_for
    from fangfan.screening.models import CountyParameter

    reason = (reason or "").strip()
    if not reason:
        raise _field_error("reason", "请填写撤回原因")
    own = region_prefix_for(actor)
    with transaction.atomic():
        row = CountyParameter.objects.select_for_update().filter(pk=pk).first()
        if row is None or not own or not row.region_prefix.startswith(own):
            raise Http404("没有这条参数记录")
        require(may_set_parameter(actor, row.name), "无权撤回该参数")
        if not row.active:
            raise _field_error("reason", "该记录已被更正或撤回")
        row.withdrawn_at, row.withdrawn_by, row.withdraw_reason = timezone.now(), actor, reason[:300]
        row.save(update_fields=["withdrawn_at", "withdrawn_by", "withdraw_reason"])
        audit_record(actor=actor, action="parameter.withdraw", object_type="county_parameter", object_key=str(row.pk),
                     region_code=row.region_prefix, before={"name": row.name, "value": row.value_text,
                                                           "start": row.start.isoformat()},
                     after=None, comment=reason)
    return row


def _plain_value(value):
    from fangfan.policy.params import _plain

    return _plain(value)


@dataclass
class ParameterPreview:
    name: str
    prefix: str
    start: dt.date
    value_text: str
    as_of: dt.date
    households: int
    villages: list[dict]  # village_code, village_name, households, category_changed, class_changed, …, examples
    total: dict
    transitions: list[str]


def county_parameter_preview(*, actor, name: str, region_prefix: str, start: dt.date, value_text: str,
                             as_of: dt.date | None = None) -> ParameterPreview:
    """What-if before saving: the households of the region evaluated with the parameters in force
    and with the new value, compared by village (candidate category, low-income class, warning
    colour, elimination), with a few example households per village."""
    from fangfan.policy.whatif import compare
    from fangfan.regions.models import Region
    from fangfan.screening.parameters import current_parameters

    checked = _check_parameter_input(actor=actor, name=name, region_prefix=region_prefix, start=start,
                                     value_text=value_text)
    if as_of is None:
        as_of = max(checked.start, dt.date.today())
    if not FIRST_DAY <= as_of <= LAST_DAY:
        raise _field_error("as_of", f"评估日期应在 {FIRST_DAY} 至 {LAST_DAY} 之间")
    base = current_parameters()
    changed = base.with_layer([checked.layer], "预览")
    tables = dbframes.read_tables(checked.prefix)
    preview = ParameterPreview(checked.name, checked.prefix, checked.start, checked.value_text, as_of,
                               tables["households"].height, [], {}, [])
    if tables["households"].height == 0:
        return preview
    before = evaluate_tables(tables, as_of=as_of, params=base)
    after = evaluate_tables(tables, as_of=as_of, params=changed)
    comparison = compare(before, after)
    fields = ("candidate_category", "low_income_class", "warning_color", "elimination")
    joined = before.select("household_id", "village_code", *fields).join(
        after.select("household_id", *[pl.col(f).alias(f"{f}__after") for f in fields]), on="household_id"
    )
    changed_rows = joined.filter(
        pl.any_horizontal([pl.col(f).fill_null("") != pl.col(f"{f}__after").fill_null("") for f in fields])
    )
    examples: dict[str, list[dict]] = {}
    for row in changed_rows.iter_rows(named=True):
        items = examples.setdefault(row["village_code"], [])
        if len(items) < PREVIEW_EXAMPLES:
            items.append({
                "household_id": row["household_id"],
                "category_before": CATEGORY_ZH.get(row["candidate_category"], row["candidate_category"]),
                "category_after": CATEGORY_ZH.get(row["candidate_category__after"], row["candidate_category__after"]),
                "class_before": CLASS_ZH.get(row["low_income_class"], row["low_income_class"]),
                "class_after": CLASS_ZH.get(row["low_income_class__after"], row["low_income_class__after"]),
                "warning_before": row["warning_color"] or "无",
                "warning_after": row["warning_color__after"] or "无",
            })
    villages = comparison.by_area.filter(pl.col("level") == "village")
    names = dict(Region.objects.filter(code__in=villages["code"].to_list()).values_list("code", "name"))
    for row in villages.iter_rows(named=True):
        preview.villages.append({
            "village_code": row["code"],
            "village_name": names.get(row["code"], ""),
            "households": row["households"],
            "category_changed": row["candidate_category_changed"],
            "class_changed": row["low_income_class_changed"],
            "warning_changed": row["warning_color_changed"],
            "elimination_changed": row["elimination_changed"],
            "any_changed": row["any_changed"],
            "examples": examples.get(row["code"], []),
        })
    total = comparison.by_area.filter(pl.col("level") == "total").row(0, named=True)
    preview.total = {
        "households": total["households"], "category_changed": total["candidate_category_changed"],
        "class_changed": total["low_income_class_changed"], "warning_changed": total["warning_color_changed"],
        "elimination_changed": total["elimination_changed"], "any_changed": total["any_changed"],
    }
    preview.transitions = comparison.transition_lines()
    return preview
