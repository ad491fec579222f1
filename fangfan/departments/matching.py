"""Matching a feed's rows to the registry and raising its warnings (W6 steps 1-2) inside the
import's transaction: the registered persons of the feed's IDs are read in bulk through
Member.id_index's unique index (never a scan), handed with the typed rows to the one rule
definition (fangfan.policy.warnings.feed_warnings) and the new warnings stored with their
evidence rows. Called by services.feed_import only.

Matching is on the blind index (fangfan.common.pii): a line's key is its ID's index (feeds.read_feed
indexes each file once, or the department sent it); no ID is decrypted here."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable

import polars as pl
from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from fangfan.departments.feeds import SPECS, VILLAGE, feed_frame
from fangfan.departments.models import DeptWarning, FeedBatch, FeedRow
from fangfan.policy.warnings import KINDS, PEOPLE_SCHEMA, Thresholds, feed_warnings
from fangfan.regions.scope import code_range_q
from fangfan.registry.bulk import bulk_insert
from fangfan.registry.models import Household, Member

# Rows per IN (...) query: under SQLite's host-parameter limit with room for the scope's bounds.
CHUNK = 900
BIG_CHUNK = 10_000
# FeedRow.values as stored (the JSON text the ORM would write, Chinese kept as is).
encode_values = json.JSONEncoder(ensure_ascii=False).encode


def chunk_size() -> int:
    """Keys per IN (...) query: a county's 250,000 feed rows in 25 queries rather than 280, where
    the database allows it (SQLite's limit is a compile-time option: 999 before 3.32, 32766 or
    more since; read from the connection)."""
    if connection.vendor != "sqlite":
        return BIG_CHUNK
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(CHUNK, min(BIG_CHUNK, limit - 100))


def key_filters(model, field: str, keys: list[str]):
    """One filter per query selecting the rows of `model` whose `field` is one of `keys`: on
    PostgreSQL a single `= ANY(array)` (one parameter, the same index as IN; measured 2-4x faster
    than 10,000 placeholders compiled and bound), elsewhere IN lists of chunk_size() keys."""
    if not keys:
        return
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        column = f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(field).column)}"
        yield RawSQL(f"{column} = ANY(%s)", (list(keys),), output_field=BooleanField())
        return
    size = chunk_size()
    for start in range(0, len(keys), size):
        yield Q(**{f"{field}__in": keys[start : start + size]})


def insert_frame(model, frame: pl.DataFrame) -> int:
    """bulk_insert (COPY / executemany) of a frame of `model` rows named by database column; the
    columns it lacks take their field's default (auto_now_add: now), as the ORM would give them.
    A model instance per row (bulk_create) costs ~10x more for a county's feed."""
    if frame.height == 0:
        return 0
    fill = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in frame.columns:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = timezone.now()
        else:
            value = field.get_default()
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        fill.append(pl.lit(value).alias(field.column))
    return bulk_insert(model._meta.db_table, frame.with_columns(fill) if fill else frame)

_PEOPLE_FIELDS = (
    "id_index", "id", "household_id", "household__household_number", "name", "household__village_id", "status",
    "disability_grade", "disability_kind", "nl_public_payroll", "household__housing_safe", "household__category",
    "household__eliminated_on", "household__nl_car", "household__nl_town_house", "household__nl_company",
    "household__nl_large_deposits",
)


class People:
    """The registered persons of a set of IDs: the rules' frame and the database keys."""

    def __init__(self, rows: list[tuple]):
        self.ids: dict[str, tuple[int, int]] = {r[0]: (r[2], r[1]) for r in rows}  # index → (household pk, member pk)
        self.household_pk: dict[str, int] = {r[3]: r[2] for r in rows}
        self.frame = pl.DataFrame(
            {
                "id_number": [r[0] for r in rows], "household": [r[3] for r in rows], "member_name": [r[4] for r in rows],
                "village_code": [r[5] for r in rows], "status": [r[6] for r in rows],
                "disability_grade": [r[7] for r in rows], "disability_kind": [r[8] for r in rows],
                "nl_public_payroll": [r[9] for r in rows], "housing_safe": [r[10] for r in rows],
                "monitored": [bool(r[11]) and r[12] is None for r in rows],
                "nl_car": [r[13] for r in rows], "nl_town_house": [r[14] for r in rows],
                "nl_company": [r[15] for r in rows], "nl_large_deposits": [r[16] for r in rows],
            },
            schema=PEOPLE_SCHEMA,
        )


def people_of(keys: Iterable[str], county: str) -> People:
    keys = sorted(set(keys))
    scope = code_range_q("household__village_id", county)
    rows: list[tuple] = []
    for match in key_filters(Member, "id_index", keys):
        rows.extend(Member.objects.filter(match, scope).values_list(*_PEOPLE_FIELDS))
    return People(rows)


def villages_of(keys: Iterable[str], county: str) -> set[str]:
    keys = sorted(set(keys))
    scope = code_range_q("village_id", county)
    found: set[str] = set()
    size = chunk_size()
    for start in range(0, len(keys), size):
        found.update(Household.objects.filter(scope, village_id__in=keys[start : start + size])
                     .values_list("village_id", flat=True).distinct())
    return found


def _history(department: str, keys: list[str], exclude_batch: int) -> list[tuple[str, str, dict]]:
    """Earlier rows of the same persons (医保 adds a year's costs up across monthly files)."""
    if not FeedBatch.objects.filter(department=department).exclude(pk=exclude_batch).exists():
        return []
    out: list[tuple[str, str, dict]] = []
    for match in key_filters(FeedRow, "id_index", keys):
        # By the ID's index alone, the department and batch checked here: with `department = %s` in
        # the query SQLite walks the (department, row_key) index instead, every row of the department.
        rows = FeedRow.objects.filter(match).values_list("department", "batch_id", "row_key", "id_index", "values")
        out.extend((r[2], r[3], r[4]) for r in rows if r[0] == department and r[1] != exclude_batch)
    return out


def raise_warnings(*, batch, records: list[tuple[str, str, dict]], people: People | None, villages: set[str],
                   params, today: dt.date) -> int:
    """Store the warnings that the batch's new matched rows (row_key, matching key, values) raise
    and no earlier batch raised; returns how many."""
    department = batch.department
    if not records:
        return 0
    if department == "医保":
        records = records + _history(department, sorted({r[1] for r in records}), batch.pk)
    frame = feed_frame(department, records)
    thresholds = Thresholds.resolve(params, batch.county or _any_county(people, villages), today)
    found = feed_warnings(department, frame, people.frame if people else pl.DataFrame(schema=PEOPLE_SCHEMA),
                          pl.Series(sorted(villages), dtype=pl.String), thresholds)
    if found.is_empty():
        return 0
    keys = found["warning_key"].to_list()
    existing: set[str] = set()
    for match in key_filters(DeptWarning, "key", keys):
        existing.update(DeptWarning.objects.filter(match).values_list("key", flat=True))
    found = found.filter(~pl.col("warning_key").is_in(list(existing)))
    if found.is_empty():
        return 0
    # The evidence rows' ids, this batch's and earlier ones' (医保 year totals), by the unique index.
    wanted = sorted({k for ks in found["row_keys"].to_list() for k in ks})
    row_pk: dict[str, int] = {}
    for match in key_filters(FeedRow, "row_key", wanted):
        row_pk.update(FeedRow.objects.filter(match, department=department).values_list("row_key", "id"))
    monitored = dict(zip(people.frame["household"], people.frame["monitored"])) if people else {}
    warnings = []
    for w in found.iter_rows(named=True):
        kind = KINDS[w["kind"]]
        household_pk = people.household_pk.get(w["household"]) if people and w["household"] else None
        member_pk = people.ids[w["id_number"]][1] if people and w["id_number"] in people.ids else None
        village = w["village_code"]
        warnings.append((
            w["warning_key"], department, kind.code, kind.action, ";".join(kind.risks), kind.urgent,
            w["detail"][:300], batch.pk, household_pk, member_pk, village, village[:9], village[:6], w["event_on"],
            bool(monitored.get(w["household"], False)),
        ))
    deadline = today + dt.timedelta(days=thresholds.verify_days)
    insert_frame(DeptWarning, pl.DataFrame(warnings, orient="row", schema={
        "key": pl.String, "department": pl.String, "kind": pl.String, "action": pl.String, "risk_codes": pl.String,
        "urgent": pl.Boolean, "detail": pl.String, "batch_id": pl.Int64, "household_id": pl.Int64,
        "member_id": pl.Int64, "village_code": pl.String, "township_code": pl.String, "county": pl.String,
        "event_on": pl.Date, "monitored_when_raised": pl.Boolean,
    }).with_columns(pl.lit(today).alias("raised_on"), pl.lit(deadline).alias("deadline")))
    stored = dict(DeptWarning.objects.filter(batch=batch).values_list("key", "id"))
    through = DeptWarning.evidence.through
    insert_frame(through, pl.DataFrame(
        [(stored[w["warning_key"]], row_pk[k]) for w in found.iter_rows(named=True) for k in w["row_keys"] if k in row_pk],
        orient="row", schema={"deptwarning_id": pl.Int64, "feedrow_id": pl.Int64},
    ))
    return len(warnings)


def _any_county(people: People | None, villages: set[str]) -> str:
    if people is not None and people.frame.height:
        return people.frame["village_code"][0][:6]
    return next(iter(sorted(villages)), "000000")[:6]
