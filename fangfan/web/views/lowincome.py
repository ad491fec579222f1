"""低保/特困 pages (issue 12): the openers of W5 cases (application, re-check), the monthly payment
lists per township (build and mark paid: 县民政局; read: 县乡村振兴局, townships, supervisors) with
their XLSX and CSV. The case pages themselves are the common ones (/cases/<id>/). Thin: writes go
through fangfan.lowincome.services / payments and fangfan.workflows.lowincome."""
from __future__ import annotations

import csv
import io
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from fangfan.accounts.models import Role
from fangfan.accounts.permissions import role_of
from fangfan.audit.services import audit_record
from fangfan.common.ids import mask
from fangfan.common.money import format_yuan
from fangfan.common.safe import safe_row
from fangfan.lowincome import payments, selectors
from fangfan.lowincome.models import Enrolment, PaymentList, Programme
from fangfan.lowincome.services import LowIncomeError, payment_list_mark_paid
from fangfan.registry import selectors as registry_selectors
from fangfan.web.views.common import Sheet, paginate, xlsx_sheets
from fangfan.workflows import lowincome as W5
from fangfan.workflows.attachments import attachment_store
from fangfan.workflows.errors import WorkflowError
from fangfan.workflows.forms import DayField, UploadMixin
from fangfan.workflows.models import Attachment, Case

APPLY_ROLES = (Role.VILLAGE, Role.TOWNSHIP)
REVIEW_ROLES = (Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_CA)


def household_actions(user, household) -> list[tuple[str, str]]:
    """The W5 openers on the household file for this user."""
    role = role_of(user)
    n = household.household_number
    out = []
    if role in APPLY_ROLES:
        out.append(("申请低保/特困", f"/lowincome/apply/{n}/"))
    if role in REVIEW_ROLES and Enrolment.objects.filter(household=household, exited_on__isnull=True).exists():
        out.append(("低保特困复核", f"/lowincome/review/{n}/"))
    return out


def _household(request, number: str, roles):
    if role_of(request.user) not in roles:
        raise PermissionDenied("本账号角色不能发起该类案件")
    household = (registry_selectors.households(actor=request.user).select_related("village")
                 .filter(household_number=number).first())
    if household is None:
        raise Http404("无此户或不在本账号的管辖范围内")
    return household


def _summary(household) -> dict:
    head = household.members.filter(relation="head", status="normal").first()
    return {"household": household, "head_name": head.name if head else ""}


class ApplyForm(UploadMixin):
    programme = forms.ChoiceField(label="申请类别", choices=(("", "请选择"), *W5.PROGRAMMES.items()))
    member_ids = forms.MultipleChoiceField(label="申请纳入的成员 (单人保、特困必选)", required=False,
                                           widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(label="申请事由", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    signer_name = forms.CharField(label="承诺授权书 (附件1) 签署人", required=False, max_length=60,
                                  help_text="已签署附件1时填写; 未签署的, 家庭经济状况核对前须补签")
    signed_on = DayField(label="签署日期", required=False)
    field_order = ["programme", "member_ids", "reason", "signer_name", "signed_on", "attachments"]

    def __init__(self, *args, household=None, **kwargs):
        super().__init__(*args, **kwargs)
        normal = household.members.filter(status="normal").order_by("id")
        self.fields["member_ids"].choices = [(str(m.pk), f"{m.name} {mask(m.id_number)}") for m in normal]


@login_required
@require_http_methods(["GET", "POST"])
def apply_page(request, number: str):
    household = _household(request, number, APPLY_ROLES)
    form = ApplyForm(request.POST or None, request.FILES or None, household=household)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        consent = {"signer_name": d["signer_name"], "signed_on": d["signed_on"]} if d["signer_name"] else None
        try:
            with transaction.atomic():
                ids = [attachment_store(actor=request.user, household=household, file=f).pk
                       for f in d["attachments"]]
                case = W5.lowincome_apply(actor=request.user, household=household, programme=d["programme"],
                                          on=timezone.localdate(), reason=d["reason"], member_ids=d["member_ids"],
                                          consent=consent, attachments=ids)
                Attachment.objects.filter(pk__in=ids).update(case=case)
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"已受理低保特困申请, 案件 {case.pk}")
            return redirect(f"/cases/{case.pk}/")
    return render(request, "web/cases/open.html", {
        "title": "低保、特困申请", "form": form, **_summary(household),
        "open_cases": Case.objects.filter(household=household, closed_on__isnull=True)})


class ReviewForm(forms.Form):
    programme = forms.ChoiceField(label="复核的保障类别", required=False,
                                  choices=(("", "(该户唯一的保障)"), *Programme.choices))
    reason = forms.CharField(label="复核事由", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                             initial="年度复核")


@login_required
@require_http_methods(["GET", "POST"])
def review_page(request, number: str):
    household = _household(request, number, REVIEW_ROLES)
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = W5.lowincome_review_open(actor=request.user, household=household, on=timezone.localdate(),
                                            reason=form.cleaned_data["reason"],
                                            programme=form.cleaned_data["programme"])
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"已发起低保特困复核, 案件 {case.pk}")
            return redirect(f"/cases/{case.pk}/")
    return render(request, "web/cases/open.html", {
        "title": "低保、特困复核", "form": form, **_summary(household),
        "open_cases": Case.objects.filter(household=household, closed_on__isnull=True)})


# ---- payment lists -------------------------------------------------------------------------------

def _require_reader(user) -> None:
    if not selectors.may_read_payments(user):
        raise PermissionDenied("本账号角色不能查看低保特困发放名单")


@login_required
@require_http_methods(["GET", "POST"])
def payment_index(request):
    _require_reader(request.user)
    acts = role_of(request.user) == Role.COUNTY_CA
    if request.method == "POST":
        if not acts:
            raise PermissionDenied("发放名单由县民政局生成")
        try:
            month = payments.month_of(request.POST.get("month", ""))
            built = payments.payment_lists_build(actor=request.user, month=month,
                                                 region=request.POST.get("region", "").strip())
        except LowIncomeError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"已生成 {month:%Y年%m月} 发放名单 {len(built)} 份 (已发放的月份不再改动)")
        return redirect("/lowincome/")
    qs = selectors.payment_lists(actor=request.user)
    ctx = paginate(request, qs)
    return render(request, "web/lowincome/index.html", {**ctx, "acts": acts,
                                                          "this_month": timezone.localdate().strftime("%Y-%m")})


COLUMNS = ("序号", "村", "户编号", "户主", "证件号码", "保障类别", "类型", "所属月份", "保障人数", "金额(元)", "计算过程")


def _rows(payment_list: PaymentList):
    lines = list(selectors.payment_lines(payment_list))
    heads = registry_selectors.head_names([l.household_id for l in lines])
    from fangfan.registry.models import Member

    ids = dict(Member.objects.filter(household_id__in={l.household_id for l in lines}, relation="head")
               .values_list("household_id", "id_number"))
    for i, l in enumerate(lines, start=1):
        yield (i, l.household.village.name or l.village_code, l.household.household_number, heads.get(l.household_id, ""),
               mask(ids.get(l.household_id, "")), Programme(l.programme).label, l.get_kind_display(),
               f"{l.for_month:%Y-%m}", l.persons, format_yuan(l.amount), l.arithmetic)


def _list(request, list_id: int) -> PaymentList:
    _require_reader(request.user)
    found = selectors.payment_lists(actor=request.user).filter(pk=list_id).first()
    if found is None:
        raise Http404("无此发放名单或不在本账号的管辖范围内")
    return found


def _title(p: PaymentList) -> str:
    from fangfan.regions.models import Region

    name = Region.objects.filter(code=p.township_code.ljust(12, "0")).values_list("name", flat=True).first()
    return f"{name or p.township_code} {p.month:%Y年%m月} 低保、特困供养金发放名单"


@login_required
@require_http_methods(["GET"])
def payment_detail(request, list_id: int):
    p = _list(request, list_id)
    fmt = request.GET.get("format", "")
    if fmt in ("xlsx", "csv"):
        rows = list(_rows(p))
        audit_record(actor=request.user, action="lowincome.export", object_type="payment_list", object_key=str(p.pk),
                     after={"rows": len(rows), "format": fmt}, region_code=p.township_code)
        name = f"低保特困发放名单-{p.township_code}-{p.month:%Y%m}.{fmt}"
        if fmt == "xlsx":
            state = "已发放" if p.state == PaymentList.State.PAID else "待发放"
            note = f"合计 {p.households} 户 {format_yuan(p.total)} 元; 状态: {state}; 生成 {timezone.localtime(p.generated_at):%Y-%m-%d %H:%M}"
            body = xlsx_sheets([Sheet(_title(p), COLUMNS, rows, name="发放名单", note=note)])
            response = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        else:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(COLUMNS)
            for row in rows:
                writer.writerow(safe_row(row))
            response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        return response
    ctx = paginate(request, list(_rows(p)))
    return render(request, "web/lowincome/detail.html", {
        **ctx, "p": p, "title": _title(p), "columns": COLUMNS,
        "acts": role_of(request.user) == Role.COUNTY_CA and p.state == PaymentList.State.DRAFT})


@login_required
@require_POST
def payment_paid(request, list_id: int):
    p = _list(request, list_id)
    if role_of(request.user) != Role.COUNTY_CA:
        raise PermissionDenied("发放名单须由县民政局确认发放")
    try:
        payment_list_mark_paid(actor=request.user, payment_list_id=p.pk,
                               seen_version=int(request.POST.get("seen_version", "0") or 0), on=timezone.localdate())
    except (LowIncomeError, ValueError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已确认 {p.month:%Y年%m月} 发放; 之后的变化以更正行计入下月名单")
    return redirect(f"/lowincome/payments/{p.pk}/")


urlpatterns: list = [
    path("lowincome/", payment_index, name="lowincome_index"),
    path("lowincome/payments/<int:list_id>/", payment_detail, name="lowincome_payment"),
    path("lowincome/payments/<int:list_id>/paid/", payment_paid, name="lowincome_payment_paid"),
    path("lowincome/apply/<str:number>/", apply_page, name="lowincome_apply"),
    path("lowincome/review/<str:number>/", review_page, name="lowincome_review"),
]
