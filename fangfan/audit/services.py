"""Audit rows: written inside the caller's transaction, never on their own."""
from __future__ import annotations

from typing import Any

from fangfan.audit.models import AuditEvent
from fangfan.regions.codes import full_code, is_digits


def _actor_name(actor) -> str:
    if actor is None:
        return "system"
    return getattr(actor, "username", str(actor))


def _region(code: str) -> str:
    """Events name a region by its 12-digit code; a prefix ("341225") becomes the region's code
    ("341225000000"), so range queries by scope treat every event alike."""
    return full_code(code) if code and len(code) < 12 and is_digits(code) else code


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
    return AuditEvent.objects.create(
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


def audit_bulk(*, actor, rows: list[dict[str, Any]], batch: str = "", batch_size: int = 5000) -> int:
    """Many audit rows at once (imports, screening), same transaction as the data."""
    name = _actor_name(actor)
    actor_obj = actor if getattr(actor, "pk", None) else None
    events = [
        AuditEvent(actor=actor_obj, actor_name=name, batch=batch, **{**row, "region_code": _region(row.get("region_code", ""))})
        for row in rows
    ]
    AuditEvent.objects.bulk_create(events, batch_size=batch_size)
    return len(events)


def personal_data_export_record(*, actor, what: str, rows: int, reason: str, region_code: str = "",
                                filters: dict | None = None) -> AuditEvent:
    """A list holding personal data left the system: who, which list, how many rows and why."""
    return audit_record(
        actor=actor, action="personal_data.export", object_type="export", object_key=what[:80],
        after={"rows": rows, **{k: v for k, v in (filters or {}).items() if v}},
        region_code=region_code or getattr(actor, "region_code", ""), comment=reason,
    )
