"""Matching a feed's rows to the registry and raising its warnings (W6 steps 1-2) inside the
import's transaction: the registered persons of the feed's IDs are read in bulk through
Member.id_number's unique index (never a scan), handed with the typed rows to the one rule
definition (fangfan.policy.warnings.feed_warnings) and the new warnings stored with their
evidence rows. Called by services.feed_import only."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from fangfan.departments.feeds import SPECS, VILLAGE, feed_frame
from fangfan.departments.models import DeptWarning, FeedRow
from fangfan.policy.warnings import KINDS, PEOPLE_SCHEMA, Thresholds, feed_warnings
from fangfan.regions.scope import code_range_q
from fangfan.registry.models import Household, Member

# Rows per IN (...) query: under SQLite's host-parameter limit with room for the scope's bounds.
CHUNK = 900

_PEOPLE_FIELDS = (
    "id_number", "id", "household_id", "household__household_number", "name", "household__village_id", "status",
    "disability_grade", "disability_kind", "nl_public_payroll", "household__housing_safe", "household__category",
    "household__eliminated_on", "household__nl_car", "household__nl_town_house", "household__nl_company",
    "household__nl_large_deposits",
)


class People:
    """The registered persons of a set of IDs: the rules' frame and the database keys."""

    def __init__(self, rows: list[tuple]):
        self.ids: dict[str, tuple[int, int]] = {r[0]: (r[2], r[1]) for r in rows}  # id → (household pk, member pk)
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
    for start in range(0, len(keys), CHUNK):
        rows.extend(Member.objects.filter(scope, id_number__in=keys[start : start + CHUNK]).values_list(*_PEOPLE_FIELDS))
    return People(rows)


def villages_of(keys: Iterable[str], county: str) -> set[str]:
    keys = sorted(set(keys))
    scope = code_range_q("village_id", county)
    found: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        found.update(Household.objects.filter(scope, village_id__in=keys[start : start + CHUNK])
                     .values_list("village_id", flat=True).distinct())
    return found


def _history(department: str, keys: list[str], exclude_batch: int) -> list[tuple[str, str, dict]]:
    """Earlier rows of the same persons (医保 adds a year's costs up across monthly files)."""
    out: list[tuple[str, str, dict]] = []
    for start in range(0, len(keys), CHUNK):
        out.extend(FeedRow.objects.filter(department=department, id_number__in=keys[start : start + CHUNK])
                   .exclude(batch_id=exclude_batch).values_list("row_key", "id_number", "values"))
    return out


def raise_warnings(*, batch, rows: list[FeedRow], people: People | None, villages: set[str],
                   params, today: dt.date) -> int:
    """Store the warnings the batch's new rows raise that no earlier batch raised; returns how many."""
    department = batch.department
    records = [(r.row_key, r.village_code if SPECS[department].key == VILLAGE else r.id_number, r.values)
               for r in rows if r.matched]
    if not records:
        return 0
    if department == "医保":
        records += _history(department, sorted({r[1] for r in records}), batch.pk)
    frame = feed_frame(department, records)
    thresholds = Thresholds.resolve(params, batch.county or _any_county(people, villages), today)
    found = feed_warnings(department, frame, people.frame if people else pl.DataFrame(schema=PEOPLE_SCHEMA),
                          pl.Series(sorted(villages), dtype=pl.String), thresholds)
    if found.is_empty():
        return 0
    keys = found["warning_key"].to_list()
    existing: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        existing.update(DeptWarning.objects.filter(key__in=keys[start : start + CHUNK]).values_list("key", flat=True))
    found = found.filter(~pl.col("warning_key").is_in(list(existing)))
    if found.is_empty():
        return 0
    row_pk = {r.row_key: r.pk for r in rows}
    missing = {k for ks in found["row_keys"].to_list() for k in ks if k not in row_pk}
    for start in range(0, len(sorted(missing)), CHUNK):  # evidence from earlier batches (医保 year totals)
        chunk = sorted(missing)[start : start + CHUNK]
        row_pk.update(FeedRow.objects.filter(department=department, row_key__in=chunk).values_list("row_key", "id"))
    monitored = dict(zip(people.frame["household"], people.frame["monitored"])) if people else {}
    created = []
    for w in found.iter_rows(named=True):
        kind = KINDS[w["kind"]]
        household_pk = people.household_pk.get(w["household"]) if people and w["household"] else None
        member_pk = people.ids[w["id_number"]][1] if people and w["id_number"] in people.ids else None
        village = w["village_code"]
        created.append(DeptWarning(
            key=w["warning_key"], department=department, kind=kind.code, action=kind.action,
            risk_codes=";".join(kind.risks), urgent=kind.urgent, detail=w["detail"][:300], batch=batch,
            household_id=household_pk, member_id=member_pk, village_code=village, township_code=village[:9],
            county=village[:6], event_on=w["event_on"], raised_on=today,
            deadline=today + dt.timedelta(days=thresholds.verify_days),
            monitored_when_raised=bool(monitored.get(w["household"], False)),
        ))
    DeptWarning.objects.bulk_create(created, batch_size=500)
    stored = dict(DeptWarning.objects.filter(batch=batch).values_list("key", "id"))
    through = DeptWarning.evidence.through
    through.objects.bulk_create(
        [through(deptwarning_id=stored[w["warning_key"]], feedrow_id=row_pk[k])
         for w in found.iter_rows(named=True) for k in w["row_keys"] if k in row_pk],
        batch_size=2000,
    )
    return len(created)


def _any_county(people: People | None, villages: set[str]) -> str:
    if people is not None and people.frame.height:
        return people.frame["village_code"][0][:6]
    return next(iter(sorted(villages)), "000000")[:6]
