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
from fangfan.lowincome import colours, payments, reporting, selectors, tempaid
from fangfan.lowincome.models import PaymentList, Programme
from fangfan.lowincome.services import LowIncomeError, payment_list_mark_paid
from fangfan.registry import selectors as registry_selectors
from fangfan.workflows import lowincome as W5
from fangfan.workflows import services as wf_services

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
    case = wf_services.case_open_lowincome(actor=request.auth, household=household, programme=body.programme,
                                           on=timezone.localdate(), reason=body.reason, member_ids=body.member_ids,
                                           consent=consent)
    return Status(201, {"id": case.pk, "kind": case.kind, "state": case.state, "version": case.version})


@router.post("/households/{number}/review", response={201: CaseOut}, summary="低保、特困复核 (村、乡镇、县民政局)")
def review(request, number: str, body: ReviewIn):
    household = _household(request, number)
    if body.programme and body.programme not in Programme.values:
        raise HttpError(422, f"保障类别应为 {', '.join(Programme.values)}")
    case = wf_services.case_open_lowincome_review(actor=request.auth, household=household,
                                                  on=timezone.localdate(), reason=body.reason,
                                                  programme=body.programme)
    return Status(201, {"id": case.pk, "kind": case.kind, "state": case.state, "version": case.version})


# ---- 临时救助 -------------------------------------------------------------------------------------

class TempAidIn(Schema):
    cause: str = Field(..., max_length=20, description="illness | accident | disaster | public_event | education | living | other")
    amount: str = Field(..., max_length=20, description="元, 如 1200.00")
    reason: str = Field(..., max_length=2000)
    urgent: bool = Field(False, description="先行救助 (乡镇账号; 金额不超过 dibao.temp_aid_urgent_limit)")


class TempAidActIn(Schema):
    approve: bool = True
    comment: str = Field("", max_length=2000)
    seen_version: int | None = Field(None, ge=1)


class TempAidPapersIn(Schema):
    note: str = Field(..., max_length=2000)
    seen_version: int | None = Field(None, ge=1)


class TempAidOut(Schema):
    id: int
    household_number: str
    cause: str
    cause_label: str
    reason: str
    amount: str
    urgent: bool
    state: str
    level: str
    level_arithmetic: str
    applied_on: dt.date
    paid_on: dt.date | None
    papers_due_on: dt.date | None
    papers_on: dt.date | None
    version: int


def _aid_out(a) -> dict:
    return {"id": a.pk, "household_number": a.household.household_number, "cause": a.cause, "cause_label": a.cause_label,
            "reason": a.reason, "amount": format_yuan(a.amount), "urgent": a.urgent, "state": a.state,
            "level": a.level, "level_arithmetic": a.level_arithmetic, "applied_on": a.applied_on,
            "paid_on": a.paid_on, "papers_due_on": a.papers_due_on, "papers_on": a.papers_on, "version": a.version}


def _aid(request, aid_id: int):
    aid = selectors.temp_aids(actor=request.auth).filter(pk=aid_id).first()
    if aid is None:
        raise Http404("无此临时救助记录或不在本账号的管辖范围内")
    return aid


@router.get("/temp-aid", response=list[TempAidOut], summary="临时救助 (本辖区)")
def temp_aid_index(request, state: str = Query("", max_length=12)):
    qs = selectors.temp_aids(actor=request.auth)
    if state:
        qs = qs.filter(state=state)
    return [_aid_out(a) for a in qs[:500]]


@router.post("/households/{number}/temp-aid", response={201: TempAidOut}, summary="临时救助申请 (村、乡镇; 先行救助: 乡镇)")
def temp_aid_apply(request, number: str, body: TempAidIn):
    from fangfan.common.money import MoneyError, parse_yuan

    household = _household(request, number)
    try:
        amount = parse_yuan(body.amount)
        aid = tempaid.temp_aid_apply(actor=request.auth, household=household, cause=body.cause, amount=amount,
                                     reason=body.reason, on=timezone.localdate(), urgent=body.urgent)
    except MoneyError as exc:
        raise HttpError(422, f"救助金额不是有效金额 ({exc.reason})") from None
    except LowIncomeError as exc:
        raise HttpError(422, str(exc)) from None
    return Status(201, _aid_out(aid))


@router.get("/temp-aid/{aid_id}", response=TempAidOut, summary="临时救助明细 (含审批层级依据)")
def temp_aid_detail(request, aid_id: int):
    return _aid_out(_aid(request, aid_id))


def _act(request, aid_id: int, fn, **kwargs):
    aid = _aid(request, aid_id)
    try:
        aid = fn(actor=request.auth, aid_id=aid.pk, on=timezone.localdate(), **kwargs)
    except LowIncomeError as exc:
        raise HttpError(409, str(exc)) from None
    return _aid_out(aid)


@router.post("/temp-aid/{aid_id}/review", response=TempAidOut, summary="乡镇审核 (限额内即审批; 超过的报县民政局)")
def temp_aid_review(request, aid_id: int, body: TempAidActIn):
    return _act(request, aid_id, tempaid.temp_aid_review, approve=body.approve, comment=body.comment,
                seen_version=body.seen_version)


@router.post("/temp-aid/{aid_id}/decide", response=TempAidOut, summary="县民政局审批 (超过乡镇限额的)")
def temp_aid_decide(request, aid_id: int, body: TempAidActIn):
    return _act(request, aid_id, tempaid.temp_aid_decide, approve=body.approve, comment=body.comment,
                seen_version=body.seen_version)


@router.post("/temp-aid/{aid_id}/papers", response=TempAidOut, summary="先行救助后补齐材料 (村、乡镇)")
def temp_aid_papers(request, aid_id: int, body: TempAidPapersIn):
    return _act(request, aid_id, tempaid.temp_aid_papers, note=body.note, seen_version=body.seen_version)


# ---- 村级零报告, 乡镇遍访 ---------------------------------------------------------------------------

class ZeroIn(Schema):
    month: str = Field(..., max_length=7, description="YYYY-MM")
    deaths: list[str] = Field(default_factory=list, max_length=200)
    wrongly_included: list[str] = Field(default_factory=list, max_length=200)
    missed: list[str] = Field(default_factory=list, max_length=200)
    nothing: bool = Field(False, description="本月无上报事项 (三项均为空时必须为 true)")


class VisitIn(Schema):
    visited_on: dt.date
    visitors: str = Field(..., max_length=200)
    findings: str = Field(..., max_length=5000)


def _townships(rows) -> list[dict]:
    return [{"township_code": t.code, "name": t.name, "required": t.required, "done": t.done,
             "missing": [list(map(str, m)) for m in t.missing]} for t in rows]


@router.get("/zero-reports", summary="村级零报告: 各乡镇应报、已报与缺报的村 (某月)")
def zero_report_index(request, month: str = Query("", max_length=7)):
    try:
        m = payments.month_of(month) if month else timezone.localdate().replace(day=1)
    except LowIncomeError as exc:
        raise HttpError(422, str(exc)) from None
    return {"month": f"{m:%Y-%m}", "townships": _townships(reporting.zero_report_status(actor=request.auth, month=m))}


@router.post("/zero-reports/{village_code}", summary="上报村级零报告 (村、乡镇; 无事项也须上报 nothing=true)")
def zero_report_post(request, village_code: str, body: ZeroIn):
    from fangfan.regions.scope import in_scope

    if role_of(request.auth) not in reporting.READERS or not in_scope(request.auth, village_code):
        raise Http404("无此村或不在本账号的管辖范围内")
    try:
        report = reporting.zero_report_submit(actor=request.auth, village_code=village_code,
                                              month=payments.month_of(body.month), deaths=body.deaths,
                                              wrongly_included=body.wrongly_included, missed=body.missed,
                                              nothing=body.nothing, on=timezone.localdate())
    except LowIncomeError as exc:
        raise HttpError(422, str(exc)) from None
    return {"id": report.pk, "village_code": village_code, "month": f"{report.month:%Y-%m}", "nothing": report.nothing,
            "version": report.version}


@router.get("/dibao-visits", summary="乡镇遍访: 各乡镇本周期尚未遍访的低保户")
def dibao_visit_index(request, on: dt.date | None = None):
    on = on or timezone.localdate()
    return {"on": on, "townships": _townships(reporting.visit_status(actor=request.auth, on=on))}


@router.post("/households/{number}/dibao-visits", response={201: dict}, summary="登记乡镇遍访 (乡镇)")
def dibao_visit_post(request, number: str, body: VisitIn):
    household = _household(request, number)
    try:
        visit = reporting.dibao_visit_record(actor=request.auth, household=household, visited_on=body.visited_on,
                                             visitors=body.visitors, findings=body.findings, on=timezone.localdate())
    except LowIncomeError as exc:
        raise HttpError(422, str(exc)) from None
    return Status(201, {"id": visit.pk, "visited_on": str(visit.visited_on)})


# ---- 三色预警 ------------------------------------------------------------------------------------

class ColourRow(Schema):
    household_number: str
    head: str
    village_code: str
    village: str
    township_code: str
    colour: str
    reason: str
    as_of: dt.date
    per_capita_dibao_income: str | None


class ColourPage(Schema):
    month: str
    months: list[str]
    counts: dict[str, int]
    screened: int
    count: int
    page: int
    pages: int
    households: list[ColourRow]


class TransitionCell(Schema):
    from_: str = Field(..., alias="from")
    to: str
    count: int
    households: list[str] | None


class Transitions(Schema):
    from_: str = Field(..., alias="from")
    to: str
    states: list[str]
    matrix: list[list[int]]
    cells: list[TransitionCell]


def _colour_reader(user) -> None:
    if not colours.may_read(user):
        raise PermissionDenied("本账号角色不能查看三色预警")


@router.get("/colours", response=ColourPage, by_alias=True,
            summary="三色预警名单: 某月红、橙、黄色户及原因 (每户取当月最近一次筛查结果)")
def colour_list(request, month: str = Query("", max_length=7, description="YYYY-MM, 默认最近有结果的月份"),
                colour: str = Query("", max_length=6, description="red | orange | yellow"),
                township: str = Query("", max_length=12), page: int = Query(1, ge=1, le=1_000_000)):
    _colour_reader(request.auth)
    try:
        months = colours.colour_months(actor=request.auth, township=township)
        m = payments.month_of(month) if month else (months[0] if months else timezone.localdate().replace(day=1))
        lists = colours.colour_lists(actor=request.auth, month=m, colour=colour, township=township)
    except LowIncomeError as exc:
        raise HttpError(422, str(exc)) from None
    current = Paginator(lists["rows"], PER_PAGE).get_page(page)
    return {"month": f"{m:%Y-%m}", "months": [f"{x:%Y-%m}" for x in months], "counts": lists["counts"],
            "screened": lists["screened"], "count": current.paginator.count, "page": current.number,
            "pages": current.paginator.num_pages,
            "households": [{"household_number": r["number"], "head": r["head"], "village_code": r["village_code"],
                            "village": r["village"], "township_code": r["township_code"], "colour": r["colour"],
                            "reason": r["reason"], "as_of": r["as_of"], "per_capita_dibao_income": r["pcd_yuan"]}
                           for r in current.object_list]}


@router.get("/colours/transitions", response=Transitions, by_alias=True,
            summary="三色预警转移: 两个月之间各颜色 (含无) 之间转移的户数及户编号 (无→无 只计户数)")
def colour_transition_matrix(request, from_: str = Query("", alias="from", max_length=7,
                                                        description="YYYY-MM, 默认 to 之前最近有结果的月份"),
                             to: str = Query("", max_length=7, description="YYYY-MM, 默认最近有结果的月份"),
                             township: str = Query("", max_length=12)):
    _colour_reader(request.auth)
    try:
        months = colours.colour_months(actor=request.auth, township=township) if not (from_ and to) else []
        second = payments.month_of(to) if to else (months[0] if months else None)
        first = payments.month_of(from_) if from_ else next((m for m in months if second and m < second), None)
        if first is None or second is None:
            raise LowIncomeError("没有可比较的两个月份: 请用 from、to (YYYY-MM) 指定, 或先完成两个月的筛查")
        t = colours.colour_transitions(actor=request.auth, first=first, second=second, township=township)
    except LowIncomeError as exc:
        raise HttpError(422, str(exc)) from None
    return {"from": f"{t['from']:%Y-%m}", "to": f"{t['to']:%Y-%m}", "states": list(t["states"]), "matrix": t["matrix"],
            "cells": t["cells"]}
