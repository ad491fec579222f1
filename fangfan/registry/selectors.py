"""Reads of the registry, always scoped by the acting user's region."""
from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass

import polars as pl
from django.db.models import Count, Q, QuerySet

from fangfan.audit.models import AuditEvent
from fangfan.common.ids import mask
from fangfan.regions.scope import scope_queryset
from fangfan.registry.models import Household, ImportBatch, ImportSnapshot, Member


def households(*, actor) -> QuerySet[Household]:
    return scope_queryset(Household.objects.all(), actor, "village_id")


def members(*, actor) -> QuerySet[Member]:
    return scope_queryset(Member.objects.all(), actor, "household__village_id")


def household_list(*, actor, query: str = "") -> QuerySet[Household]:
    qs = households(actor=actor).select_related("village")
    query = query.strip()
    if query:
        qs = qs.filter(Q(household_number__startswith=query) | Q(village_id__startswith=query))
    return qs


def registry_summary(*, actor) -> dict[str, int]:
    qs = households(actor=actor)
    counts = qs.aggregate(
        households=Count("id"),
        lifted=Count("id", filter=Q(household_type="lifted")),
        monitored=Count("id", filter=~Q(category="") & Q(eliminated_on__isnull=True)),
        eliminated=Count("id", filter=~Q(category="") & Q(eliminated_on__isnull=False)),
    )
    counts["members"] = members(actor=actor).filter(status="normal").count()
    return counts


def _masked_json(data) -> str:
    if not data:
        return ""
    shown = {k: (mask(v) if k == "id_number" else v) for k, v in data.items()}
    return json.dumps(shown, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class CreationEntry:
    """A row of a household's history that an import created (read from the batch's snapshot),
    shown like an audit event."""

    at: dt.datetime
    actor_name: str
    action: str
    object_type: str
    object_key: str
    before_text: str
    after_text: str


# snapshot table → object type and key of its history rows (as the audit rows name them)
_SNAPSHOT_OBJECTS = {
    "households": ("household", lambda r: r["household_number"]),
    "members": ("member", lambda r: mask(r["id_number"])),
    "incomes": ("income", lambda r: f"{r['household_number']}:{r['year']}"),
    "measures": ("measure", lambda r: f"{r['household_number']}:{r['measure_code']}:{r['started_on']}"),
}


def snapshot_rows(*, batch: str, household_number: str) -> dict[str, list[dict]]:
    """The rows an import batch created for one household, by table: only the blobs whose run of
    household numbers holds it are read."""
    rows: dict[str, list[dict]] = {}
    blobs = ImportSnapshot.objects.filter(
        import_batch__batch=batch, first_household__lte=household_number, last_household__gte=household_number
    )
    for snap in blobs:
        frame = pl.read_parquet(io.BytesIO(bytes(snap.data))).filter(pl.col("household_number") == household_number)
        rows.setdefault(snap.table, []).extend(frame.to_dicts())
    return rows


def _creation_entries(household: Household) -> list[CreationEntry]:
    if not household.created_batch:
        return []
    batch = ImportBatch.objects.filter(batch=household.created_batch).first()
    if batch is None:
        return []
    found = snapshot_rows(batch=batch.batch, household_number=household.household_number)
    entries = []
    for table, (object_type, key) in _SNAPSHOT_OBJECTS.items():
        for row in found.get(table, ()):
            values = {k: v for k, v in row.items() if k != "household_number" or table == "households"}
            entries.append(CreationEntry(
                at=batch.at, actor_name=batch.actor_name, action=f"{object_type}.create", object_type=object_type,
                object_key=key(row), before_text="", after_text=_masked_json(values),
            ))
    return entries


def household_history(*, actor, household: Household) -> list[AuditEvent | CreationEntry]:
    """Creation (from the import snapshot, or the creation audit row) then every change."""
    events = list(AuditEvent.objects.filter(household_key=household.household_number).order_by("at", "id"))
    for event in events:
        event.before_text = _masked_json(event.before)
        event.after_text = _masked_json(event.after)
    return [*_creation_entries(household), *events]


def household_file(*, actor, household_number: str) -> dict | None:
    household = households(actor=actor).select_related("village").filter(household_number=household_number).first()
    if household is None:
        return None
    member_rows = list(household.members.all())
    for m in member_rows:
        m.masked_id = mask(m.id_number)
    return {
        "household": household,
        "members": member_rows,
        "incomes": list(household.incomes.all()),
        "measures": list(household.measures.all()),
        "history": household_history(actor=actor, household=household),
    }
