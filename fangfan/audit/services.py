"""Audit rows: written inside the caller's transaction, never on their own."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection

from fangfan.audit.models import AuditEvent, RegionVersion
from fangfan.regions.codes import full_code, is_digits, prefix_of


def _actor_name(actor) -> str:
    if actor is None:
        return "system"
    return getattr(actor, "username", str(actor))


def _region(code: str) -> str:
    """Events name a region by its 12-digit code; a prefix ("341225") becomes the region's code
    ("341225000000"), so range queries by scope treat every event alike."""
    return full_code(code) if code and len(code) < 12 and is_digits(code) else code


def version_region(code: str, actor=None) -> str:
    """The region whose cached results a write may change (RegionVersion.region): the prefix of
    the 12-digit code its audit row names; '' (every scope) for a row of no region or of an
    unreadable one, and for the shell (actor None): it acts with no scope, and its bulk writes
    may reach beyond the region their row names (an import moving a household to another
    county names only the new one; a department file matched over several counties, the county
    most of it matched)."""
    code = _region(code)
    if actor is None or not (is_digits(code) and len(code) == 12) or not code.strip("0"):
        return ""
    return prefix_of(code)


def _bump(regions: Iterable[str], at) -> None:
    """Count the writes into RegionVersion, in the caller's transaction (one statement; the
    regions in order, so that two transactions lock shared rows in the same order)."""
    regions = sorted(set(regions))
    if not regions:
        return
    q = connection.ops.quote_name
    table, region, writes, when = q(RegionVersion._meta.db_table), q("region"), q("writes"), q("at")
    at = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({region}, {writes}, {when}) VALUES {', '.join(['(%s, 1, %s)'] * len(regions))} "
            f"ON CONFLICT ({region}) DO UPDATE SET {writes} = {table}.{writes} + 1, {when} = excluded.{when}",
            [p for code in regions for p in (code, at)],
        )


def audit_record(
    *,
    actor,
    action: str,
    object_type: str,
    object_key: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    household_key: str = "",
    region_code: str = "",
    comment: str = "",
    batch: str = "",
) -> AuditEvent:
    event = AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=_actor_name(actor),
        action=action,
        object_type=object_type,
        object_key=str(object_key),
        household_key=household_key,
        region_code=_region(region_code),
        before=before,
        after=after,
        comment=comment,
        batch=batch,
    )
    _bump([version_region(region_code, actor)], event.at)
    return event


def audit_bulk(*, actor, rows: list[dict[str, Any]], batch: str = "", batch_size: int = 5000) -> int:
    """Many audit rows at once (imports, screening), same transaction as the data."""
    name = _actor_name(actor)
    actor_obj = actor if getattr(actor, "pk", None) else None
    events = [
        AuditEvent(actor=actor_obj, actor_name=name, batch=batch, **{**row, "region_code": _region(row.get("region_code", ""))})
        for row in rows
    ]
    AuditEvent.objects.bulk_create(events, batch_size=batch_size)
    if events:
        _bump({version_region(e.region_code, actor) for e in events}, events[-1].at)
    return len(events)


def personal_data_export_record(*, actor, what: str, rows: int, reason: str, region_code: str = "",
                                filters: dict | None = None) -> AuditEvent:
    """A list holding personal data left the system: who, which list, how many rows and why."""
    return audit_record(
        actor=actor, action="personal_data.export", object_type="export", object_key=what[:80],
        after={"rows": rows, **{k: v for k, v in (filters or {}).items() if v}},
        region_code=region_code or getattr(actor, "region_code", ""), comment=reason,
    )
