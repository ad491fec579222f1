"""Department warnings over JSON (/api/v1/warnings/..., workflows.md W6): the same selectors,
forms and services as the pages (fangfan.web.views.warnings), so the API shows and refuses what
the pages do with the same Chinese reasons. Outside the token user's scope a warning is 404; a
step this role may not take 403; a refused step 400; a stale seen_version 409; bad data 422.
ID numbers are always masked; household numbers and names only for roles that read household
files (never a 县行业部门)."""
from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import AfterValidator, StringConstraints

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.accounts.permissions import role_of
from fangfan.departments import selectors
from fangfan.departments.forms import AnswerForm, ReferForm, VerifyForm, evidence_values, list_filters, warning_rows
from fangfan.departments.models import REFERRAL_LABELS, DeptWarning
from fangfan.departments.services import PASS_ROLES, VERIFY_ROLES, WarningRefused, WarningStale, referral_answer
from fangfan.departments.services import warning_pass, warning_refer, warning_verify

router = Router(tags=["warnings"])
PER_PAGE = 50

LIST_ROLES = frozenset({*selectors.WARNING_READERS, Role.COUNTY_DEPT})
OVERVIEW_ROLES = frozenset({Role.COUNTY_RR, Role.COUNTY_CA, Role.CITY, Role.PROVINCE})
FEEDBACK_ROLES = frozenset({Role.COUNTY_DEPT, *OVERVIEW_ROLES})


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("不能包含空字符")
    return value


Text = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_nul)]
Short = Annotated[str, StringConstraints(max_length=300), AfterValidator(_no_nul)]


def _require(request, roles, what: str):
    user = request.auth
    if role_of(user) not in roles:
        raise PermissionDenied(f"本账号的角色不能查看{what}")
    return user


def _warning(request, warning_id: int) -> DeptWarning:
    return selectors.warning_get(actor=_require(request, LIST_ROLES, "部门预警"), warning_id=warning_id)


def _problems(form) -> dict:
    parts, problems = [], []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else "表单"
        parts.append(f"{label}: {'; '.join(errors)}")
        problems.append({"where": name if name != "__all__" else "", "message": "; ".join(errors)})
    return {"detail": "数据有误: " + "; ".join(parts), "problems": problems}


def _refused(exc: WarningRefused):
    """400 with the service's reason; 409 when the warning changed since the version seen."""
    return HttpError(409 if isinstance(exc, WarningStale) else 400, str(exc))


# ---- schemas ---------------------------------------------------------------------------------

class WarningRow(Schema):
    id: int
    urgent: bool
    department: str
    kind: str
    kind_label: str
    detail: str
    village_code: str
    village: str
    household_number: str = Field(description="户编号 (不能查阅农户档案的角色为空)")
    member_name: str = Field(description="成员姓名 (不能查阅农户档案的角色为空)")
    id_number: str = Field(description="证件号码 (脱敏)")
    state: str
    state_label: str
    raised_on: dt.date
    deadline: dt.date
    overdue: bool
    outcome: str
    outcome_label: str
    verified_on: dt.date | None = None
    case_id: int | None = None


class WarningPage(Schema):
    count: int
    page: int
    pages: int
    items: list[WarningRow]


class ListFilters(Schema):
    state: str = Field("", max_length=20, description="township 已交办乡镇 / village 已转村核查 / verified 已核查")
    department: str = Field("", max_length=20, description="部门: " + "、".join(DEPARTMENTS))
    kind: str = Field("", max_length=30, description="预警类型代码")
    outcome: str = Field("", max_length=30, description="核查结果: " + "、".join(DeptWarning.Outcome.values))
    urgent: bool = False
    overdue: bool = False
    region: str = Field("", max_length=12, description="乡镇或村区划代码 (前缀)")
    page: int = Field(1, ge=1, le=100000)


class EvidenceOut(Schema):
    file: str
    period: str
    row: int
    values: dict[str, str]


class ReferralOut(Schema):
    id: int
    warning_id: int
    to_department: str
    to_department_label: str
    reason: str
    referred_on: dt.date
    answer: str
    answered_on: dt.date | None = None
    may_answer: bool


class WarningOut(WarningRow):
    version: int
    action: str = Field(description="risk 风险 / negative 负面清单 / status 人员状态 / attention 关注 / grant 补助")
    risk_codes: list[str]
    event_on: dt.date | None = None
    township_code: str
    passed_on: dt.date | None = None
    outcome_note: str
    status_applied: bool
    dibao_suspected: bool
    evidence: list[EvidenceOut]
    referrals: list[ReferralOut]
    actions: list[str] = Field(description="本账号现在可办理的操作: pass / verify / refer")


class PassIn(Schema):
    seen_version: int | None = Field(None, ge=1, le=2_147_483_647, description="办理人看到的预警版本")
    note: Text = ""


class VerifyIn(Schema):
    outcome: str = Field(max_length=30, description="enrolled 纳入监测 / already_monitored 已是监测对象 / "
                                                    "no_risk 无风险 / not_eligible 不符合")
    note: Text
    confirm_status: bool | None = Field(None, description="死亡/迁出预警: 属实 true (变更人员状态), 不属实 false")
    seen_version: int | None = Field(None, ge=1, le=2_147_483_647)


class ReferIn(Schema):
    to_department: str = Field(max_length=20, description="转介部门: " + "、".join(REFERRAL_LABELS))
    reason: Short


class AnswerIn(Schema):
    answer: Text


class TallyOut(Schema):
    key: str
    label: str
    total: int
    open: int
    overdue: int
    outcomes: dict[str, int]


class OverviewOut(Schema):
    as_of: dt.date
    department: list[TallyOut]
    kind: list[TallyOut]
    township: list[TallyOut]
    village: list[TallyOut] = Field(description="有逾期未核查预警的村")


class FeedbackRow(Schema):
    id: int
    department: str
    kind: str
    id_number: str
    village_code: str
    evidence: str
    raised_on: dt.date
    deadline: dt.date
    state: str
    outcome: str
    verified_on: dt.date | None = None
    note: str


class FeedbackPage(Schema):
    department: str
    count: int
    page: int
    pages: int
    rows: list[FeedbackRow]


class ReferralPage(Schema):
    count: int
    page: int
    pages: int
    items: list[ReferralOut]


# ---- helpers ---------------------------------------------------------------------------------

def _actions(user, warning: DeptWarning) -> list[str]:
    role = role_of(user)
    out = []
    if role in PASS_ROLES and warning.state == DeptWarning.State.TOWNSHIP:
        out.append("pass")
    if role in VERIFY_ROLES and warning.state != DeptWarning.State.VERIFIED:
        out.append("verify")
    if role in VERIFY_ROLES:
        out.append("refer")
    return out


def _referral_out(user, r) -> dict:
    return {"id": r.pk, "warning_id": r.warning_id, "to_department": r.to_department,
            "to_department_label": REFERRAL_LABELS.get(r.to_department, r.to_department), "reason": r.reason,
            "referred_on": r.referred_on, "answer": r.answer, "answered_on": r.answered_on,
            "may_answer": r.answered_on is None and selectors.may_answer_referral(user, r)}


def _warning_out(user, warning: DeptWarning) -> dict:
    row = warning_rows([warning], user, timezone.localdate())[0]
    evidence = [
        {"file": e.batch.file_name, "period": e.batch.period, "row": e.row_number,
         "values": {k: str(v) for k, v in evidence_values(e)}}
        for e in warning.evidence.select_related("batch").order_by("batch_id", "row_number")
    ]
    return {
        **row, "version": warning.version, "action": warning.action,
        "risk_codes": [r for r in warning.risk_codes.split(";") if r], "event_on": warning.event_on,
        "township_code": warning.township_code, "passed_on": warning.passed_on,
        "outcome_note": warning.outcome_note, "status_applied": warning.status_applied,
        "dibao_suspected": warning.dibao_suspected, "evidence": evidence,
        "referrals": [_referral_out(user, r) for r in warning.referrals.all()],
        "actions": _actions(user, warning),
    }


def _page(items, number: int) -> tuple[Paginator, object]:
    paginator = Paginator(items, PER_PAGE)
    return paginator, paginator.get_page(number)


# ---- lists (before /{warning_id} so their paths are not read as ids) ------------------------------

@router.get("/", response=WarningPage, summary="部门预警列表 (本账号范围; 紧急在前, 再按核查期限)")
def warning_list(request, filters: Query[ListFilters]):
    user = _require(request, LIST_ROLES, "部门预警")
    today = timezone.localdate()
    wanted, _error = list_filters(filters.model_dump())
    paginator, page = _page(selectors.warning_list(actor=user, today=today, **wanted), filters.page)
    return {"count": paginator.count, "page": page.number, "pages": paginator.num_pages,
            "items": warning_rows(page.object_list, user, today)}


@router.get("/overview", response=OverviewOut, summary="预警总览: 按部门、类型、乡镇及逾期的村统计")
def overview(request):
    user = _require(request, OVERVIEW_ROLES, "部门预警总览")
    today = timezone.localdate()
    tallies = selectors.warning_overview(actor=user, today=today)
    return {"as_of": today, **{k: [t.__dict__ for t in v] for k, v in tallies.items()}}


@router.get("/feedback", response=FeedbackPage, summary="结果反馈: 部门的预警及其核查结果 (县行业部门只看本部门)")
def feedback(request, department: str = Query("", max_length=20), page: int = Query(1, ge=1, le=100000)):
    user = _require(request, FEEDBACK_ROLES, "结果反馈")
    if role_of(user) == Role.COUNTY_DEPT:
        department = user.department
    elif department not in DEPARTMENTS:
        department = ""
    rows = selectors.feedback_rows(actor=user, department=department)
    paginator, current = _page(rows, page)
    return {"department": department, "count": paginator.count, "page": current.number,
            "pages": paginator.num_pages, "rows": list(current.object_list)}


@router.get("/referrals", response=ReferralPage, summary="转介事项 (部门答复本部门的, 县民政局答复民政的)")
def referral_list(request, open_only: bool = False, page: int = Query(1, ge=1, le=100000)):
    user = _require(request, LIST_ROLES, "转介事项")
    paginator, current = _page(selectors.referral_list(actor=user, open_only=open_only), page)
    return {"count": paginator.count, "page": current.number, "pages": paginator.num_pages,
            "items": [_referral_out(user, r) for r in current.object_list]}


@router.post("/referrals/{int:referral_id}/answer", response={200: ReferralOut, 422: dict},
             summary="答复转介事项")
def referral_answer_post(request, referral_id: int, body: AnswerIn):
    user = _require(request, LIST_ROLES, "转介事项")
    referral = selectors.referral_list(actor=user).filter(pk=referral_id).first()
    if referral is None:
        raise Http404("转介事项不存在或不在本账号的范围内")
    if not selectors.may_answer_referral(user, referral):
        raise PermissionDenied("该转介事项不由本账号答复")
    form = AnswerForm(MultiValueDict({"answer": [body.answer]}))
    if not form.is_valid():
        return Status(422, _problems(form))
    try:
        done = referral_answer(actor=user, referral_id=referral.pk, answer=form.cleaned_data["answer"])
    except WarningRefused as exc:
        raise HttpError(400, str(exc)) from None
    return Status(200, _referral_out(user, done))


# ---- one warning -------------------------------------------------------------------------------

@router.get("/{int:warning_id}", response=WarningOut, summary="一条预警: 依据数据、核查结果、转介与可办理的操作")
def warning_get(request, warning_id: int):
    warning = _warning(request, warning_id)
    return _warning_out(request.auth, warning)


@router.post("/{int:warning_id}/pass", response={200: WarningOut, 422: dict}, summary="乡镇转交村核查")
def warning_pass_post(request, warning_id: int, body: PassIn):
    warning = _warning(request, warning_id)
    if role_of(request.auth) not in PASS_ROLES:
        raise PermissionDenied("只有乡镇和县乡村振兴局可以把预警转交村核查")
    try:
        warning_pass(actor=request.auth, warning_id=warning.pk, note=body.note, seen_version=body.seen_version)
    except WarningRefused as exc:
        raise _refused(exc) from None
    return Status(200, _warning_out(request.auth, _warning(request, warning_id)))


_VERIFY_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": VerifyIn.model_json_schema()},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["outcome", "note"],
            "properties": {
                "outcome": {"type": "string"}, "note": {"type": "string"},
                "confirm_status": {"type": "string", "description": "true/false (死亡、迁出预警必填)"},
                "seen_version": {"type": "integer"},
                "file": {"type": "string", "format": "binary", "description": "照片或扫描件 (JPG、PNG、PDF)"},
            },
        }},
    },
}
_TRUE = ("true", "1", "yes", "on", "是")
_FALSE = ("false", "0", "no", "off", "否")


def _verify_data(request) -> tuple[MultiValueDict, MultiValueDict]:
    """The verify request's fields as the page's form reads them (JSON or multipart)."""
    if request.content_type == "multipart/form-data":
        data, files = request.POST.copy(), request.FILES
        raw = data.get("confirm_status")
    else:
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise HttpError(422, "请求体须为 JSON 对象或 multipart/form-data 表单") from None
        if not isinstance(body, dict):
            raise HttpError(422, "请求体须为 JSON 对象")
        try:
            parsed = VerifyIn(**body)
        except Exception as exc:  # noqa: BLE001 - pydantic's error, told in Chinese below
            raise HttpError(422, f"请求数据有误: outcome 与 note 必填, confirm_status 为 true/false, "
                                 f"seen_version 为正整数 ({type(exc).__name__})") from None
        data = MultiValueDict({"outcome": [parsed.outcome], "note": [parsed.note],
                               "seen_version": [str(parsed.seen_version or "")]})
        raw = parsed.confirm_status
        files = MultiValueDict()
    if isinstance(raw, bool):
        data.setlist("confirm_status", ["yes" if raw else "no"])
    elif raw is not None and str(raw).strip().lower() in _TRUE:
        data.setlist("confirm_status", ["yes"])
    elif raw is not None and str(raw).strip().lower() in _FALSE:
        data.setlist("confirm_status", ["no"])
    elif raw not in (None, ""):
        data.setlist("confirm_status", ["?"])  # the form says what is expected
    return data, files


@router.post("/{int:warning_id}/verify", response={200: WarningOut, 422: dict}, openapi_extra={"requestBody": _VERIFY_BODY},
             summary="入户核查结果 (JSON, 或带照片/扫描件的 multipart 表单)")
def warning_verify_post(request, warning_id: int):
    warning = _warning(request, warning_id)
    if role_of(request.auth) not in VERIFY_ROLES:
        raise PermissionDenied("只有村、乡镇和县乡村振兴局可以录入入户核查结果")
    data, files = _verify_data(request)
    form = VerifyForm(data, files, warning=warning)
    if not form.is_valid():
        return Status(422, _problems(form))
    d = form.cleaned_data
    try:
        warning_verify(actor=request.auth, warning_id=warning.pk, outcome=d["outcome"], note=d["note"],
                       file=d.get("file") or None, confirm_status=form.confirm(), seen_version=d["seen_version"])
    except WarningRefused as exc:
        raise _refused(exc) from None
    return Status(200, _warning_out(request.auth, _warning(request, warning_id)))


@router.post("/{int:warning_id}/refer", response={201: ReferralOut, 422: dict}, summary="转介 (医保、教育、住建、人社、应急、司法、民政)")
def warning_refer_post(request, warning_id: int, body: ReferIn):
    warning = _warning(request, warning_id)
    if role_of(request.auth) not in VERIFY_ROLES:
        raise PermissionDenied("只有村、乡镇和县乡村振兴局可以转介预警")
    form = ReferForm(MultiValueDict({"to_department": [body.to_department], "reason": [body.reason]}))
    if not form.is_valid():
        return Status(422, _problems(form))
    try:
        referral = warning_refer(actor=request.auth, warning_id=warning.pk,
                                 to_department=form.cleaned_data["to_department"], reason=form.cleaned_data["reason"])
    except WarningRefused as exc:
        raise HttpError(400, str(exc)) from None
    return Status(201, _referral_out(request.auth, referral))

