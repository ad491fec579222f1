"""Writes of the workflows app, in one place for callers (web, API, CLI, other apps).

Each function takes the acting user and keyword-only arguments, runs in a transaction and
writes its audit rows there; the work is done by the workflow modules."""
from __future__ import annotations

import datetime as dt

from django.db import transaction

from fangfan.accounts.models import Role
from fangfan.reports.campaigns import entry_window_guard
from fangfan.audit.services import audit_record
from fangfan.workflows import engine
from fangfan.workflows.attachments import attachment_store  # noqa: F401
from fangfan.workflows.assistance import contact_assign, measure_add, measure_status_set, plan_record  # noqa: F401
from fangfan.workflows import elimination as _elimination, identification as _identification
from fangfan.workflows import lowincome as _lowincome
from fangfan.workflows.elimination import removal_request, rollback_request  # noqa: F401
from fangfan.workflows.errors import NotAllowed, WorkflowError
from fangfan.workflows.identification import require_consent  # noqa: F401
from fangfan.workflows.models import Attachment, Case, HolidayEntry
from fangfan.workflows.visits import visit_record  # noqa: F401


def case_advance(
    *, actor, case_id: int, transition: str, seen_version: int, on: dt.date | None = None,
    comment: str = "", attachments=(), data: dict | None = None,
) -> Case:
    """Fire one transition of a case (see engine.fire)."""
    village = Case.objects.filter(pk=case_id).values_list("household__village_id", flat=True).first()
    entry_window_guard(actor=actor, region_code=village or "")  # W7: closed after a campaign's entry
    return engine.fire(case_id, transition, actor=actor, seen_version=seen_version, on=on, comment=comment,
                       attachments=attachments, data=data)


def case_step(
    *, actor, case_id: int, transition: str, seen_version: int, on: dt.date | None = None,
    comment: str = "", data: dict | None = None, files=(),
) -> Case:
    """Fire one transition with uploaded files: the files are stored and named in the event in
    the same transaction, so a refused step leaves no attachment row behind."""
    with transaction.atomic():
        case = Case.objects.select_related("household").filter(pk=case_id).first()
        if case is None:
            raise WorkflowError(f"案件 {case_id} 不存在")
        entry_window_guard(actor=actor, region_code=case.household.village_id)  # W7: closed after the entry
        ids = [attachment_store(actor=actor, household=case.household, file=f, case=case).pk for f in files]
        return engine.fire(case_id, transition, actor=actor, seen_version=seen_version, on=on, comment=comment,
                           attachments=ids, data=data)


def case_open_identification(
    *, actor, household, channel: str, on: dt.date, reason: str = "", consent: dict | None = None,
    green_channel_risk: str | None = None, files=(),
) -> Case:
    """W1 step 1 with its uploaded files (附件1 scans ...), in one transaction."""
    entry_window_guard(actor=actor, region_code=household.village_id)  # W7: closed after a campaign's entry
    with transaction.atomic():
        ids = [attachment_store(actor=actor, household=household, file=f).pk for f in files]
        case = identification_open(actor=actor, household=household, channel=channel, on=on, reason=reason,
                                   consent=consent, green_channel_risk=green_channel_risk, attachments=ids)
        Attachment.objects.filter(pk__in=ids).update(case=case)
    return case


def case_open_lowincome(
    *, actor, household, programme: str, on: dt.date, reason: str = "", member_ids=(),
    consent: dict | None = None, files=(),
) -> Case:
    """W5 step 1 (低保/特困 application) with its uploaded files, in one transaction."""
    entry_window_guard(actor=actor, region_code=household.village_id)  # W7: closed after a campaign's entry
    with transaction.atomic():
        ids = [attachment_store(actor=actor, household=household, file=f).pk for f in files]
        case = _lowincome.lowincome_apply(actor=actor, household=household, programme=programme, on=on,
                                          reason=reason, member_ids=member_ids, consent=consent, attachments=ids)
        Attachment.objects.filter(pk__in=ids).update(case=case)
    return case


def case_open_lowincome_review(*, actor, household, on: dt.date, reason: str = "", programme: str = "") -> Case:
    """Open the re-check of a household's 低保/特困 enrolment."""
    entry_window_guard(actor=actor, region_code=household.village_id)
    return _lowincome.lowincome_review_open(actor=actor, household=household, on=on, reason=reason,
                                            programme=programme)


def case_open_undo(*, actor, household, kind: str, on: dt.date, reason: str, files=()) -> Case:
    """风险消除回退 or 监测对象清退 request with its uploaded files, in one transaction."""
    request = {Case.Kind.ROLLBACK: rollback_request, Case.Kind.REMOVAL: removal_request}[kind]
    entry_window_guard(actor=actor, region_code=household.village_id)  # W7: closed after a campaign's entry
    with transaction.atomic():
        ids = [attachment_store(actor=actor, household=household, file=f).pk for f in files]
        case = request(actor=actor, household=household, on=on, reason=reason)
        if ids:
            Attachment.objects.filter(pk__in=ids).update(case=case)
            # The opening event names its files like any other step's.
            case.events.filter(transition="open").update(attachments=[str(i) for i in ids])
    return case


def elimination_propose(*, actor, household, on: dt.date, reason: str = "") -> Case:
    entry_window_guard(actor=actor, region_code=household.village_id)  # W7: closed after a campaign's entry
    return _elimination.elimination_propose(actor=actor, household=household, on=on, reason=reason)


def identification_open(*, actor, household, **kwargs) -> Case:
    entry_window_guard(actor=actor, region_code=household.village_id)  # W7: closed after a campaign's entry
    return _identification.identification_open(actor=actor, household=household, **kwargs)


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
