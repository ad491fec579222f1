"""Cases, plans and visits over JSON (/api/v1/cases/...): the same selectors, forms and
services as the pages, so the API refuses what the pages refuse with the same Chinese reasons.
Outside the token user's region a case or household is 404; a step this role may not take
403; a failed guard 400 with its reason; a stale version 409; bad data 422."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import AfterValidator, Field, StringConstraints

from fangfan.accounts.permissions import may_work_cases
from fangfan.common import codes as C
from fangfan.common.money import format_yuan
from fangfan.regions import codes as region_codes
from fangfan.registry import selectors as registry_selectors
from fangfan.workflows import assistance, engine, forms as F, identification, notices, selectors, services
from fangfan.workflows.errors import NotAllowed, WorkflowError
from fangfan.workflows.households import split_codes
from fangfan.workflows.models import AssistancePlan, Case, Visit

router = Router(tags=["cases"])


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it as bad input instead of failing at the database.
    if "\x00" in value:
        raise ValueError("不能包含空字符")
    return value


Text = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_nul)]
Short = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)]


# ---- helpers ---------------------------------------------------------------------------------

def _actor(request):
    user = request.auth
    if not may_work_cases(user):
        raise NotAllowed("本账号角色不办理案件")
    return user


def _case(request, case_id: int) -> Case:
    case = selectors.cases(actor=_actor(request)).filter(pk=case_id).first()
    if case is None:
        raise Http404(f"案件 {case_id} 不存在或不在本账号的管辖范围内")
    return case


def _household(request, number: str):
    actor = _actor(request)
    household = None
    if "\x00" not in number:
        household = registry_selectors.households(actor=actor).filter(household_number=number).first()
    if household is None:
        raise Http404(f"户 {number} 不存在或不在本账号的管辖范围内")
    return household


def _business_day(on: dt.date | None) -> dt.date:
    today = timezone.localdate()
    if on is None:
        return today
    if on > today or on < today - dt.timedelta(days=366):
        raise HttpError(422, "业务日期 on 须在今天及之前一年内")
    return on


def _case_out(case: Case) -> dict:
    return {
        "id": case.pk, "kind": case.kind, "kind_label": case.get_kind_display(),
        "household_number": case.household.household_number, "village_code": case.village_code,
        "state": case.state, "state_label": selectors.state_label(case), "version": case.version,
        "channel": case.channel, "green_channel": case.green_channel, "reason": case.reason,
        "opened_on": case.opened_on, "closed_on": case.closed_on,
    }


def _form_problems(form) -> dict:
    return {"detail": "数据有误: " + F.error_text(form),
            "problems": [{"where": k, "message": "; ".join(v)} for k, v in form.errors.items()]}


# ---- schemas ---------------------------------------------------------------------------------

class CaseOut(Schema):
    id: int
    kind: str
    kind_label: str
    household_number: str
    village_code: str
    state: str
    state_label: str
    version: int
    channel: str
    green_channel: bool
    reason: str
    opened_on: dt.date
    closed_on: dt.date | None = None


class CaseListOut(Schema):
    count: int
    items: list[CaseOut]


class OpenIn(Schema):
    household_number: Short
    channel: Short = Field(description="来源渠道: " + "、".join(identification.CHANNELS.values()))
    reason: Text = ""
    consent_signer: Short | None = Field(None, description="已签署附件1时的签署人")
    consent_signed_on: dt.date | None = None
    green_channel_risk: Short | None = Field(None, description="R01、R04 或 R05")
    on: dt.date | None = None


class StepIn(Schema):
    seen_version: int = Field(ge=1, le=2_147_483_647, description="办理人看到的案件版本")
    comment: Text = ""
    data: dict[str, Any] = Field(default_factory=dict, description="本步骤的记录, 字段见 GET .../transitions")
    on: dt.date | None = Field(None, description="业务日期, 默认今天")


class MeasureIn(Schema):
    measure_code: Short
    started_on: dt.date | None = None
    status: Short = "planned"
    responsible_unit: Short = ""
    content: Text = ""


class PlanIn(Schema):
    measures: list[MeasureIn] = Field(max_length=30)
    note: Text = ""
    on: dt.date | None = None


class VisitIn(Schema):
    visited_on: dt.date
    method: Short = Field(description="home/phone/wechat 或 入户/电话/微信")
    visitors: Short
    findings: Text = ""
    net_income_yuan: Short | None = Field(None, description="家庭年纯收入预估, 元, 最多两位小数")
    new_risks: list[Short] = Field(default_factory=list, max_length=20)


# ---- plans and visits (before /{case_id} so their paths are not read as ids) -------------------

def _plan_out(household) -> dict:
    contact = assistance.contact_current(household)
    return {
        "household_number": household.household_number,
        "due_on": assistance.plan_due_on(household),
        "contact": {"cadre_name": contact.cadre_name, "phone": contact.phone, "unit": contact.unit,
                    "assigned_on": contact.assigned_on} if contact else None,
        "suggested_measures": assistance.suggest_measures(household),
        "plans": [{"id": p.pk, "made_on": p.made_on, "note": p.note}
                  for p in AssistancePlan.objects.filter(household=household)],
        "measures": [{"id": m.pk, "measure_code": m.measure_code, "measure": C.MEASURE.label(m.measure_code)
                      if m.measure_code in C.MEASURE.codes else m.measure_code,
                      "started_on": m.started_on, "status": m.status, "responsible_unit": m.responsible_unit,
                      "plan": (m.extra or {}).get("plan")} for m in household.measures.all()],
    }


@router.get("/plans/{household_number}", summary="帮扶计划、建议措施和联系人")
def plan_get(request, household_number: str):
    return _plan_out(_household(request, household_number))


@router.post("/plans/{household_number}", summary="制定帮扶计划", response={201: dict})
def plan_post(request, household_number: str, body: PlanIn):
    household = _household(request, household_number)
    on = _business_day(body.on)
    plan = services.plan_record(
        actor=request.auth, household=household, on=on, note=body.note,
        measures=[{"measure_code": m.measure_code, "started_on": m.started_on or on, "status": m.status,
                   "responsible_unit": m.responsible_unit, "content": m.content} for m in body.measures],
    )
    return Status(201, {"plan": plan.pk, **_plan_out(household)})


def _visit_out(v: Visit) -> dict:
    return {"id": v.pk, "visited_on": v.visited_on, "method": v.method, "method_label": v.get_method_display(),
            "visitors": v.visitors, "findings": v.findings,
            "net_income_yuan": format_yuan(v.net_income) if v.net_income is not None else None,
            "new_risks": split_codes(v.new_risks), "warning": v.warning, "raised_case": v.raised_case_id}


@router.get("/visits/{household_number}", summary="回访记录")
def visit_get(request, household_number: str):
    household = _household(request, household_number)
    return {"household_number": household.household_number,
            "visits": [_visit_out(v) for v in Visit.objects.filter(household=household)]}


@router.post("/visits/{household_number}", summary="记录回访 (新风险或收入大幅缩减时发起案件或预警)",
             response={201: dict, 422: dict})
def visit_post(request, household_number: str, body: VisitIn):
    household = _household(request, household_number)
    form = F.VisitForm(data=F.MultiValueDict({
        "visited_on": [body.visited_on.isoformat()], "method": [F.METHOD_CODE.get(body.method, body.method)],
        "visitors": [body.visitors], "findings": [body.findings], "net_income": [body.net_income_yuan or ""],
        "new_risks": list(body.new_risks),
    }))
    if not form.is_valid():
        return Status(422, _form_problems(form))
    d = form.cleaned_data
    visit = services.visit_record(actor=request.auth, household=household, visited_on=d["visited_on"],
                                  method=d["method"], visitors=d["visitors"], findings=d["findings"],
                                  net_income=d["net_income"], new_risks=d["new_risks"])
    return Status(201, _visit_out(visit))


# ---- cases -----------------------------------------------------------------------------------

@router.get("/", response=CaseListOut, summary="案件列表 (本账号辖区)")
def case_list(
    request,
    state: str = "",
    kind: str = "",
    village: str = Query("", description="村 (或乡镇、县) 区划代码"),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
):
    actor = _actor(request)
    kind = kind if kind in Case.Kind.values else ""
    if state and not any(state in wf.states for wf in F.all_workflows()):
        return {"count": 0, "items": []}
    if village and not (region_codes.is_digits(village) and len(village) <= 12):
        raise HttpError(422, "village 须为区划代码 (数字)")
    qs = selectors.case_list(actor=actor, state=state, kind=kind, region=village)
    return {"count": qs.count(), "items": [_case_out(c) for c in qs[offset:offset + limit]]}


@router.post("/", response={201: CaseOut}, summary="发起识别纳入")
def case_open(request, body: OpenIn):
    household = _household(request, body.household_number)
    consent = None
    if body.consent_signer:
        consent = {"signer_name": body.consent_signer, "signed_on": body.consent_signed_on}
    case = services.case_open_identification(
        actor=request.auth, household=household, channel=body.channel, on=_business_day(body.on),
        reason=body.reason, consent=consent, green_channel_risk=body.green_channel_risk or None,
    )
    return Status(201, _case_out(case))


@router.get("/{int:case_id}", summary="案件及其办理记录")
def case_get(request, case_id: int):
    case = _case(request, case_id)
    out = _case_out(case)
    out["data"] = case.data
    out["events"] = [
        {"transition": e.transition, "label": e.label, "from_state": e.from_state, "to_state": e.to_state,
         "actor": e.actor_name, "effective_on": e.effective_on, "at": e.at, "comment": e.comment,
         "attachments": e.attachments, "payload": e.payload, "version": e.version}
        for e in case.events.all()
    ]
    out["notices"] = [
        {"id": n.pk, "level": n.level, "starts_on": n.starts_on, "days": n.days, "last_day": notices.last_day(n),
         "closable_from": notices.closable_from(n), "closed_on": n.closed_on, "cancelled": n.cancelled,
         "proposal": n.proposal, "reason": n.reason}
        for n in case.notices.all()
    ]
    out["objections"] = [
        {"id": o.pk, "raised_on": o.raised_on, "raised_by": o.raised_by, "content": o.content,
         "investigation": o.investigation, "answer": o.answer, "outcome": o.outcome, "answered_on": o.answered_on}
        for o in case.objections.all()
    ]
    if case.kind == Case.Kind.IDENTIFICATION:
        out["deadline"] = identification.deadline_status(case, timezone.localdate())
    return out


@router.get("/{int:case_id}/transitions", summary="本账号当前可办理的操作 (含暂不可办理的原因和所需字段)")
def case_transitions(request, case_id: int):
    case = _case(request, case_id)
    return {
        "case": case.pk, "state": case.state, "version": case.version,
        "transitions": [
            {"name": t.name, "label": t.label, "enabled": not reasons, "blocked_reasons": reasons,
             "needs_comment": t.needs_comment, "requires": list(t.requires),
             "fields": F.field_description(case, t)}
            for t, reasons in engine.available(case, request.auth, timezone.localdate())
        ],
    }


@router.post("/{int:case_id}/transitions/{name}", response={200: CaseOut, 422: dict},
             summary="办理一步 (seen_version 须为办理人看到的版本)")
def case_advance(request, case_id: int, name: str, body: StepIn):
    case = _case(request, case_id)
    try:
        t = engine.workflow_for(case.kind).transition(name)
    except WorkflowError as exc:
        raise Http404(str(exc)) from None
    try:
        data = F.api_form_data(t, case, body.data)
    except DjangoValidationError as exc:
        return Status(422, {"detail": "数据有误: " + "; ".join(exc.messages)})
    data.setlist("seen_version", [str(body.seen_version)])
    data.setlist("comment", [body.comment])
    form = F.transition_form(t, case, data=data, files=None)
    if not form.is_valid():
        return Status(422, _form_problems(form))
    updated = services.case_step(actor=request.auth, case_id=case.pk, transition=name,
                                 seen_version=body.seen_version, on=_business_day(body.on), comment=body.comment,
                                 data=form.payload())
    updated.household = case.household
    return Status(200, _case_out(updated))
