"""Writes of the workflows app, in one place for callers (web, API, CLI, other apps).

Each function takes the acting user and keyword-only arguments, runs in a transaction and
writes its audit rows there; the work is done by the workflow modules."""
from __future__ import annotations

import datetime as dt

from django.db import transaction

from fangfan.accounts.models import Role
from fangfan.audit.services import audit_record
from fangfan.workflows import engine
from fangfan.workflows.assistance import contact_assign, measure_add, measure_status_set, plan_record  # noqa: F401
from fangfan.workflows.elimination import elimination_propose, removal_request, rollback_request  # noqa: F401
from fangfan.workflows.errors import NotAllowed
from fangfan.workflows.identification import identification_open, require_consent  # noqa: F401
from fangfan.workflows.models import Case, HolidayEntry
from fangfan.workflows.visits import visit_record  # noqa: F401


def case_advance(
    *, actor, case_id: int, transition: str, seen_version: int, on: dt.date | None = None,
    comment: str = "", attachments=(), data: dict | None = None,
) -> Case:
    """Fire one transition of a case (see engine.fire)."""
    return engine.fire(case_id, transition, actor=actor, seen_version=seen_version, on=on, comment=comment,
                       attachments=attachments, data=data)


def holiday_set(*, actor, region_prefix: str, date: dt.date, is_workday: bool, note: str = "") -> HolidayEntry:
    """Enter or change one day of the holiday table (county staff for their county; province for theirs)."""
    if actor is None or actor.role not in (Role.COUNTY_RR, Role.COUNTY_CA, Role.CITY, Role.PROVINCE):
        raise NotAllowed("节假日安排须由县级及以上账号录入")
    own = actor.region_prefix
    if not region_prefix.startswith(own):
        raise NotAllowed(f"只能录入本辖区 ({own}) 的节假日安排")
    with transaction.atomic():
        entry, created = HolidayEntry.objects.update_or_create(
            region_prefix=region_prefix, date=date, defaults={"is_workday": is_workday, "note": note}
        )
        audit_record(
            actor=actor, action="holiday.set", object_type="holiday", object_key=f"{region_prefix}:{date}",
            after={"is_workday": is_workday, "note": note, "created": created}, region_code=region_prefix,
        )
    return entry
