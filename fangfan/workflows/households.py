"""Writes of registry household fields done by cases (category, identified_on, eliminated_on,
declared_risks, extra marks), each with an audit row in the caller's transaction."""
from __future__ import annotations

import datetime as dt

from django.db.models import F
from django.utils import timezone

from fangfan.audit.services import audit_record
from fangfan.registry.models import Household
from fangfan.workflows.errors import ConcurrentEditError


def _plain(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def household_update(*, actor, household: Household, changes: dict, action: str, comment: str = "") -> Household:
    """Set `changes` on the household, bumping its version (optimistic lock on the row as read)."""
    fresh = Household.objects.get(pk=household.pk)
    before = {k: _plain(getattr(fresh, k)) for k in changes}
    updated = Household.objects.filter(pk=fresh.pk, version=fresh.version).update(
        **changes, version=F("version") + 1, updated_at=timezone.now()
    )
    if updated != 1:
        raise ConcurrentEditError(f"户 {fresh.household_number} 已被他人修改, 请刷新后重试")
    audit_record(
        actor=actor, action=action, object_type="household", object_key=fresh.household_number,
        before=before, after={k: _plain(v) for k, v in changes.items()},
        household_key=fresh.household_number, region_code=fresh.village_id, comment=comment,
    )
    fresh.refresh_from_db()
    return fresh


def split_codes(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        for sep in "、，,；":
            value = value.replace(sep, ";")
        return [v.strip() for v in value.split(";") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]
