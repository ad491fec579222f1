"""/api/v1/lowincome: the 低保/特困 section of a household, W5 openers (the steps are the common
/api/v1/cases/{id}/transitions/{name}) and the monthly payment lists. Scoped like the pages:
县民政局 builds and marks paid, 县乡村振兴局 / townships / supervisors read."""
from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from fangfan.accounts.models import Role
from fangfan.accounts.permissions import may_read_households, role_of
from fangfan.common.money import format_yuan
from fangfan.lowincome import payments, selectors
from fangfan.lowincome.models import PaymentList, Programme
from fangfan.lowincome.services import LowIncomeError, payment_list_mark_paid
from fangfan.registry import selectors as registry_selectors
from fangfan.workflows import lowincome as W5

router = Router(tags=["lowincome"])
PER_PAGE = 200


class ListOut(Schema):
    id: int
    township_code: str
    month: str
    state: str
    households: int
    total: str
    version: int
    paid_on: dt.date | None


def _list_out(p: PaymentList) -> dict:
    return {"id": p.pk, "township_code": p.township_code, "month": f"{p.month:%Y-%m}", "state": p.state,
            "households": p.households, "total": format_yuan(p.total), "version": p.version, "paid_on": p.paid_on}


class LineOut(Schema):
    household_number: str
    village_code: str
    programme: str
    kind: str
    for_month: str
    persons: int
    amount: str
    arithmetic: str


class ListPage(ListOut):
    count: int
    page: int
    pages: int
    lines: list[LineOut]


class BuildIn(Schema):
    month: str = Field(..., max_length=7, description="YYYY-MM")
    region: str = Field("", max_length=12, description="乡镇代码 (留空为本县)")


class PaidIn(Schema):
    seen_version: int = Field(..., ge=1)


class ApplyIn(Schema):
    programme: str = Field(..., max_length=20, description="dibao | single_person | tekun")
    reason: str = Field(..., max_length=2000)
    member_ids: list[int] = Field(default_factory=list, max_length=50)
    signer_name: str = Field("", max_length=60)


class ReviewIn(Schema):
    reason: str = Field("年度复核", max_length=2000)
    programme: str = Field("", max_length=20)


class CaseOut(Schema):
    id: int
    kind: str
    state: str
    version: int


def _reader(user) -> None:
    if not selectors.may_read_payments(user):
        raise PermissionDenied("本账号角色不能查看低保特困发放名单")


@router.get("/payments", response=list[ListOut], summary="发放名单 (本辖区)")
def payment_list_index(request, month: str = Query("", max_length=7)):
    _reader(request.auth)
    qs = selectors.payment_lists(actor=request.auth)
    if month:
        try:
            qs = qs.filter(month=payments.month_of(month))
        except LowIncomeError as exc:
            raise HttpError(422, str(exc)) from None
    return [_list_out(p) for p in qs[:500]]


@router.post("/payments", response=list[ListOut], summary="生成或重算某月发放名单 (县民政局)")
def payment_list_build(request, body: BuildIn):
    if role_of(request.auth) != Role.COUNTY_CA:
        raise PermissionDenied("发放名单由县民政局生成")
    try:
        built = payments.payment_lists_build(actor=request.auth, month=payments.month_of(body.month), region=body.region)
    except LowIncomeError as exc:
        raise HttpError(422, str(exc)) from None
    return [_list_out(p) for p in built]


@router.get("/payments/{list_id}", response=ListPage, summary="发放名单明细 (每笔附计算过程)")
def payment_list_detail(request, list_id: int, page: int = Query(1, ge=1, le=1_000_000)):
    _reader(request.auth)
    p = selectors.payment_lists(actor=request.auth).filter(pk=list_id).first()
    if p is None:
        raise Http404("无此发放名单或不在本账号的管辖范围内")
    paginator = Paginator(selectors.payment_lines(p), PER_PAGE)
    current = paginator.get_page(page)
    return {**_list_out(p), "count": paginator.count, "page": current.number, "pages": paginator.num_pages,
            "lines": [{"household_number": l.household.household_number, "village_code": l.village_code,
                       "programme": l.programme, "kind": l.kind, "for_month": f"{l.for_month:%Y-%m}",
                       "persons": l.persons, "amount": format_yuan(l.amount), "arithmetic": l.arithmetic}
                      for l in current.object_list]}


@router.post("/payments/{list_id}/paid", response=ListOut, summary="确认已发放 (县民政局; 此后不再改动)")
def payment_list_paid(request, list_id: int, body: PaidIn):
    if role_of(request.auth) != Role.COUNTY_CA:
        raise PermissionDenied("发放名单须由县民政局确认发放")
    if not selectors.payment_lists(actor=request.auth).filter(pk=list_id).exists():
        raise Http404("无此发放名单或不在本账号的管辖范围内")
    try:
        p = payment_list_mark_paid(actor=request.auth, payment_list_id=list_id, seen_version=body.seen_version,
                                   on=timezone.localdate())
    except LowIncomeError as exc:
        raise HttpError(409, str(exc)) from None
    return _list_out(p)


def _household(request, number: str):
    if not may_read_households(request.auth):
        raise Http404("无此户或不在管辖范围内")
    household = registry_selectors.households(actor=request.auth).filter(household_number=number).first()
    if household is None:
        raise Http404("无此户或不在管辖范围内")
    return household


@router.get("/households/{number}", summary="户的低保、特困情况 (类别及计算、应保未保、单人保候选、本月发放)")
def household_lowincome(request, number: str):
    household = _household(request, number)
    file = registry_selectors.household_file(actor=request.auth, household_number=number)
    li = selectors.household_lowincome(household=household, members=list(household.members.all()),
                                       result=file["result"], incomes=file["incomes"])
    return {
        "household_number": number, "low_income_class": li["class"] or "", "class_label": li["class_label"],
        "arithmetic": [s["text"] for s in li["steps"]], "dibao_unserved": li["unserved"],
        "warning_color": li["colour"] or "", "warning_reason": li["colour_reason"],
        "single_person_candidates": li["single_person"], "this_month": li["topup"] or [],
        "enrolments": [{"programme": x["e"].programme, "starts_on": x["e"].starts_on,
                        "phase_out_ends_on": x["e"].phase_out_ends_on, "exited_on": x["e"].exited_on,
                        "exit_reason": x["e"].exit_reason} for x in li["enrolments"]],
    }


@router.post("/households/{number}/apply", response={201: CaseOut}, summary="低保、特困申请 (村、乡镇)")
def apply(request, number: str, body: ApplyIn):
    household = _household(request, number)
    consent = {"signer_name": body.signer_name} if body.signer_name.strip() else None
    case = W5.lowincome_apply(actor=request.auth, household=household, programme=body.programme,
                              on=timezone.localdate(), reason=body.reason, member_ids=body.member_ids,
                              consent=consent)
    return Status(201, {"id": case.pk, "kind": case.kind, "state": case.state, "version": case.version})


@router.post("/households/{number}/review", response={201: CaseOut}, summary="低保、特困复核 (村、乡镇、县民政局)")
def review(request, number: str, body: ReviewIn):
    household = _household(request, number)
    if body.programme and body.programme not in Programme.values:
        raise HttpError(422, f"保障类别应为 {', '.join(Programme.values)}")
    case = W5.lowincome_review_open(actor=request.auth, household=household, on=timezone.localdate(),
                                    reason=body.reason, programme=body.programme)
    return Status(201, {"id": case.pk, "kind": case.kind, "state": case.state, "version": case.version})
