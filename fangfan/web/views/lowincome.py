"""低保/特困 pages (issue 12): the openers of W5 cases (application, re-check), the monthly payment
lists per township (build and mark paid: 县民政局; read: 县乡村振兴局, townships, supervisors) with
their XLSX and CSV. The case pages themselves are the common ones (/cases/<id>/). Thin: writes go
through fangfan.lowincome.services / payments and fangfan.workflows.lowincome."""
from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from fangfan.accounts.models import Role
from fangfan.accounts.permissions import role_of
from fangfan.audit.services import audit_record
from fangfan.common import pii
from fangfan.common.ids import mask
from fangfan.common.money import format_yuan
from fangfan.common.safe import safe_row
from fangfan.lowincome import colours, payments, reporting, selectors, tempaid
from fangfan.lowincome.models import Enrolment, PaymentList, Programme
from fangfan.lowincome.services import LowIncomeError, payment_list_mark_paid
from fangfan.registry import selectors as registry_selectors
from fangfan.web.views.common import Sheet, paginate, xlsx_sheets
from fangfan.workflows import lowincome as W5
from fangfan.workflows import services as wf_services
from fangfan.workflows.errors import WorkflowError
from fangfan.workflows.forms import DayField, UploadMixin
from fangfan.workflows.models import Case

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
    if role in tempaid.APPLY_ROLES:
        out.append(("临时救助", f"/lowincome/temp/apply/{n}/"))
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
            case = wf_services.case_open_lowincome(
                actor=request.user, household=household, programme=d["programme"], on=timezone.localdate(),
                reason=d["reason"], member_ids=d["member_ids"], consent=consent, files=d["attachments"])
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
            case = wf_services.case_open_lowincome_review(
                actor=request.user, household=household, on=timezone.localdate(),
                reason=form.cleaned_data["reason"], programme=form.cleaned_data["programme"])
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

    heads_ids = list(Member.objects.filter(household_id__in={l.household_id for l in lines}, relation="head")
                     .values_list("household_id", "id_cipher"))
    # Shown masked (list and export alike): decrypted in one pass for the list's heads.
    plain = pii.keyring().decrypt_all([c for _, c in heads_ids], pii.ID_FIELD)
    ids = {hid: number for (hid, _), number in zip(heads_ids, plain)}
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


# ---- 临时救助 -------------------------------------------------------------------------------------

class TempAidForm(forms.Form):
    cause = forms.ChoiceField(label="救助事由类别", choices=(("", "请选择"), *tempaid.CAUSES.items()))
    amount = forms.CharField(label="救助金额(元)", max_length=20)
    reason = forms.CharField(label="救助事由 (遭遇的困难及金额依据)", widget=forms.Textarea(attrs={"rows": 3}),
                             max_length=2000)
    urgent = forms.BooleanField(label="先行救助 (乡镇从备用金当即发放, 事后补齐材料)", required=False)

    def clean_amount(self):
        from fangfan.common.money import MoneyError, parse_yuan

        try:
            return parse_yuan(self.cleaned_data["amount"])
        except MoneyError as exc:
            raise forms.ValidationError(f"救助金额不是有效金额 ({exc.reason})") from None


@login_required
@require_http_methods(["GET", "POST"])
def temp_apply_page(request, number: str):
    household = _household(request, number, tempaid.APPLY_ROLES)
    form = TempAidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            aid = tempaid.temp_aid_apply(actor=request.user, household=household, cause=d["cause"], amount=d["amount"],
                                         reason=d["reason"], on=timezone.localdate(), urgent=d["urgent"])
        except LowIncomeError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"已登记临时救助 {aid.pk}: {aid.level_arithmetic}")
            return redirect(f"/lowincome/temp/{aid.pk}/")
    return render(request, "web/cases/open.html", {
        "title": "临时救助申请", "form": form, **_summary(household),
        "open_cases": Case.objects.filter(household=household, closed_on__isnull=True)})


@login_required
@require_http_methods(["GET"])
def temp_index(request):
    from fangfan.lowincome.models import TempAid

    qs = selectors.temp_aids(actor=request.user)
    if role_of(request.user) not in selectors.TEMP_AID_READERS:
        raise PermissionDenied("本账号角色不能查看临时救助")
    state = request.GET.get("state", "")
    if state in TempAid.State.values:
        qs = qs.filter(state=state)
    return render(request, "web/lowincome/temp_index.html", {
        **paginate(request, qs), "states": TempAid.State.choices, "state": state, "today": timezone.localdate()})


def _aid(request, aid_id: int):
    aid = selectors.temp_aids(actor=request.user).filter(pk=aid_id).first()
    if aid is None:
        raise Http404("无此临时救助记录或不在本账号的管辖范围内")
    return aid


@login_required
@require_http_methods(["GET"])
def temp_detail(request, aid_id: int):
    aid = _aid(request, aid_id)
    others = selectors.temp_aids(actor=request.user).filter(household=aid.household).exclude(pk=aid.pk)
    return render(request, "web/lowincome/temp_detail.html", {
        "a": aid, "cause_label": aid.cause_label, "head_name": _summary(aid.household)["head_name"],
        "actions": selectors.temp_aid_actions(request.user, aid), "others": others})


@login_required
@require_POST
def temp_act(request, aid_id: int):
    aid = _aid(request, aid_id)
    action = request.POST.get("action", "")
    allowed = dict(selectors.temp_aid_actions(request.user, aid))
    if action not in allowed:
        raise PermissionDenied("本账号不能在此环节办理该临时救助")
    comment = request.POST.get("comment", "")[:2000]
    try:
        seen = int(request.POST.get("seen_version", "") or 0) or None
    except ValueError:
        seen = None
    on = timezone.localdate()
    try:
        if action.startswith("review_"):
            tempaid.temp_aid_review(actor=request.user, aid_id=aid.pk, approve=action == "review_approve",
                                    comment=comment, on=on, seen_version=seen)
        elif action.startswith("decide_"):
            tempaid.temp_aid_decide(actor=request.user, aid_id=aid.pk, approve=action == "decide_approve",
                                    comment=comment, on=on, seen_version=seen)
        else:
            tempaid.temp_aid_papers(actor=request.user, aid_id=aid.pk, note=comment, on=on, seen_version=seen)
    except LowIncomeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"已办理: {allowed[action]}")
    return redirect(f"/lowincome/temp/{aid.pk}/")


# ---- 村级零报告, 乡镇遍访 ---------------------------------------------------------------------------

def _month_param(request):
    try:
        return payments.month_of(request.GET.get("month", "") or timezone.localdate().strftime("%Y-%m"))
    except LowIncomeError:
        return timezone.localdate().replace(day=1)


@login_required
@require_http_methods(["GET"])
def zero_index(request):
    if role_of(request.user) not in reporting.READERS:
        raise PermissionDenied("本账号角色不能查看村级零报告")
    month = _month_param(request)
    return render(request, "web/lowincome/zero.html", {
        "title": f"村级零报告 {month:%Y年%m月}", "townships": reporting.zero_report_status(actor=request.user, month=month),
        "kind": "zero", "kind_label": "零报告", "period_label": "月份", "period_name": "month", "period_type": "month",
        "period_value": f"{month:%Y-%m}",
        "note": "各村每月上报死亡人员、疑似错保、疑似漏保; 没有的也须上报「本月无上报事项」(篇四)。点村名上报或查看。"})


class ZeroForm(forms.Form):
    month = forms.CharField(label="月份 (YYYY-MM)", max_length=7)
    deaths = forms.CharField(label="死亡人员 (每行一人: 姓名 证件号码 情况)", required=False, max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 3}))
    wrongly_included = forms.CharField(label="疑似错保 (每行一户或一人)", required=False, max_length=5000,
                                       widget=forms.Textarea(attrs={"rows": 3}))
    missed = forms.CharField(label="疑似漏保 (每行一户或一人)", required=False, max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 3}))
    nothing = forms.BooleanField(label="本月无上报事项 (零报告)", required=False)


@login_required
@require_http_methods(["GET", "POST"])
def zero_village(request, village_code: str):
    from fangfan.regions.models import Region
    from fangfan.regions.scope import in_scope

    if role_of(request.user) not in reporting.READERS or not in_scope(request.user, village_code):
        raise Http404("无此村或不在本账号的管辖范围内")
    village = Region.objects.filter(code=village_code, level="village").first()
    if village is None:
        raise Http404("无此村或不在本账号的管辖范围内")
    month = _month_param(request)
    form = ZeroForm(request.POST or None, initial={"month": f"{month:%Y-%m}"})
    if request.method == "POST":
        if role_of(request.user) not in reporting.REPORT_ROLES:
            raise PermissionDenied("村级零报告由村(或所属乡镇)上报")
        if form.is_valid():
            d = form.cleaned_data
            try:
                month = payments.month_of(d["month"])
                reporting.zero_report_submit(actor=request.user, village_code=village_code, month=month,
                                             deaths=d["deaths"], wrongly_included=d["wrongly_included"],
                                             missed=d["missed"], nothing=d["nothing"], on=timezone.localdate())
            except LowIncomeError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"已上报 {village.name or village_code} {month:%Y年%m月} 零报告")
                return redirect(f"/lowincome/zero/?month={month:%Y-%m}")
    report = reporting.zero_reports(actor=request.user).filter(village_code=village_code, month=month).first()
    return render(request, "web/lowincome/zero_form.html", {
        "title": f"{village.name or village_code} {month:%Y年%m月} 村级零报告", "form": form, "report": report})


@login_required
@require_http_methods(["GET"])
def visit_index(request):
    if role_of(request.user) not in reporting.READERS:
        raise PermissionDenied("本账号角色不能查看乡镇遍访")
    try:
        on = dt.date.fromisoformat(request.GET.get("on", ""))
    except ValueError:
        on = timezone.localdate()
    return render(request, "web/lowincome/zero.html", {
        "title": f"乡镇遍访低保户 (截至 {on:%Y-%m-%d})", "townships": reporting.visit_status(actor=request.user, on=on),
        "kind": "visit", "kind_label": "遍访", "period_label": "截至日期", "period_name": "on", "period_type": "date",
        "period_value": f"{on:%Y-%m-%d}",
        "note": "乡镇按县级参数 dibao.township_visit_months 的周期 (尚义: 每季度) 对每户低保户户户见面; 列出本周期尚未遍访的户。"})


class VisitForm(forms.Form):
    visited_on = DayField(label="遍访日期")
    visitors = forms.CharField(label="遍访人员", max_length=200)
    findings = forms.CharField(label="核实情况 (收入核查、渐退、单人户、意外变故等)", max_length=5000,
                               widget=forms.Textarea(attrs={"rows": 4}))


@login_required
@require_http_methods(["GET", "POST"])
def visit_household(request, number: str):
    household = _household(request, number, reporting.VISIT_ROLES)
    form = VisitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            reporting.dibao_visit_record(actor=request.user, household=household, visited_on=d["visited_on"],
                                         visitors=d["visitors"], findings=d["findings"], on=timezone.localdate())
        except LowIncomeError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"已登记户 {number} 的乡镇遍访")
            return redirect("/lowincome/visits/")
    return render(request, "web/cases/open.html", {
        "title": "乡镇遍访低保户", "form": form, **_summary(household),
        "open_cases": Case.objects.filter(household=household, closed_on__isnull=True)})


# ---- 三色预警 ------------------------------------------------------------------------------------

LIST_COLUMNS = ("序号", "颜色", "乡镇", "村", "户编号", "户主", "低保口径人均收入(元)", "预警原因", "筛查日期")


def _month_or_none(text: str):
    return payments.month_of(text) if text else None


@login_required
@require_http_methods(["GET"])
def colour_index(request):
    """Red, orange and yellow lists of a month with their reasons, the counts month by month and the
    transitions between two months (篇十四 (一)). Reads only; the household file is one click away."""
    if not colours.may_read(request.user):
        raise PermissionDenied("本账号角色不能查看三色预警 (县民政局、县乡村振兴局、乡镇及市省督查可查看)")
    g = request.GET
    township, colour = g.get("township", "").strip(), g.get("colour", "")
    try:
        colours.scope_prefix(request.user, township)
        if colour and colour not in colours.COLOURS:
            raise LowIncomeError(f"颜色 {colour!r} 无效: 应为红色、橙色或黄色")
        months = colours.colour_months(actor=request.user, township=township)
        month = _month_or_none(g.get("month", "")) or (months[0] if months else timezone.localdate().replace(day=1))
        second = _month_or_none(g.get("to", "")) or month
        first = _month_or_none(g.get("from", "")) or next((m for m in months if m < second), None)
        lists = colours.colour_lists(actor=request.user, month=month, colour=colour, township=township)
        transitions = None
        if first is not None and first != second:
            transitions = colours.colour_transitions(actor=request.user, first=first, second=second,
                                                     township=township)
    except LowIncomeError as exc:
        messages.error(request, str(exc))
        return redirect("/lowincome/colours/")
    cell = g.get("cell", "")
    cell_rows = None
    if transitions is not None and "-" in cell:
        f, t = cell.split("-", 1)
        found = next((c for c in transitions["cells"] if c["from"] == f and c["to"] == t), None)
        cell_rows = found["households"] if found is not None else None
    if g.get("format") == "xlsx":
        return _colour_xlsx(request, lists, transitions, township)
    series = colours.colour_by_month(actor=request.user, months=months[:12], township=township)
    rows = [{**r, "i": i} for i, r in enumerate(lists["rows"], start=1)]
    matrix = None
    if transitions is not None:
        by = {(c["from"], c["to"]): c for c in transitions["cells"]}
        matrix = [{"state": f, "label": colours.LABEL[f],
                   "cells": [{"to": t, "count": by[(f, t)]["count"], "listed": by[(f, t)]["households"] is not None}
                             for t in colours.STATES]} for f in colours.STATES]
    return render(request, "web/lowincome/colours.html", {
        **paginate(request, rows), "lists": lists, "month": month, "months": months, "colour": colour,
        "township": township, "colour_choices": [(c, colours.LABEL[c]) for c in colours.COLOURS],
        "first": first, "second": second, "matrix": matrix, "states": [(s, colours.LABEL[s]) for s in colours.STATES],
        "cell": cell, "cell_label": "→".join(colours.LABEL.get(x, x) for x in cell.split("-", 1)) if cell_rows is not None else "",
        "cell_rows": cell_rows, "series": list(reversed(series)), "labels": colours.LABEL})


def _colour_xlsx(request, lists: dict, transitions: dict | None, township: str) -> HttpResponse:
    month = lists["month"]
    rows = [(i, r["colour_label"], r["township"] or r["township_code"], r["village"] or r["village_code"], r["number"],
             r["head"], r["pcd_yuan"] or "", r["reason"], f"{r['as_of']:%Y-%m-%d}")
            for i, r in enumerate(lists["rows"], start=1)]
    counts = lists["counts"]
    sheets = [Sheet(f"{month:%Y年%m月} 三色预警名单", LIST_COLUMNS, rows, name="预警名单",
                    note=f"红色 {counts['red']} 户, 橙色 {counts['orange']} 户, 黄色 {counts['yellow']} 户; "
                         f"本月有筛查结果 {lists['screened']} 户; 每户取当月最近一次筛查结果")]
    if transitions is not None:
        head = ("上月 ＼ 本月", *(colours.LABEL[s] for s in colours.STATES))
        body = [(colours.LABEL[f], *row) for f, row in zip(colours.STATES, transitions["matrix"])]
        sheets.append(Sheet(f"三色预警转移 {transitions['from']:%Y-%m} → {transitions['to']:%Y-%m}", head, body,
                            name="转移矩阵", note="某月无筛查结果的户按「无」计; 无→无 只计户数"))
        moved = [(colours.LABEL[c["from"]], colours.LABEL[c["to"]], c["count"], "、".join(c["households"]))
                 for c in transitions["cells"] if c["households"]]
        sheets.append(Sheet("转移户清单", ("上月", "本月", "户数", "户编号"), moved, name="转移户"))
    audit_record(actor=request.user, action="lowincome.export", object_type="colour_list", object_key=f"{month:%Y-%m}",
                 after={"rows": len(rows), "format": "xlsx", "township": township})
    response = HttpResponse(xlsx_sheets(sheets),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    name = f"三色预警-{month:%Y%m}.xlsx"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


urlpatterns: list = [
    path("lowincome/colours/", colour_index, name="lowincome_colours"),
    path("lowincome/zero/", zero_index, name="lowincome_zero"),
    path("lowincome/zero/<str:village_code>/", zero_village, name="lowincome_zero_village"),
    path("lowincome/visits/", visit_index, name="lowincome_visits"),
    path("lowincome/visits/<str:number>/", visit_household, name="lowincome_visit"),
    path("lowincome/temp/", temp_index, name="lowincome_temp"),
    path("lowincome/temp/<int:aid_id>/", temp_detail, name="lowincome_temp_detail"),
    path("lowincome/temp/<int:aid_id>/act/", temp_act, name="lowincome_temp_act"),
    path("lowincome/temp/apply/<str:number>/", temp_apply_page, name="lowincome_temp_apply"),
    path("lowincome/", payment_index, name="lowincome_index"),
    path("lowincome/payments/<int:list_id>/", payment_detail, name="lowincome_payment"),
    path("lowincome/payments/<int:list_id>/paid/", payment_paid, name="lowincome_payment_paid"),
    path("lowincome/apply/<str:number>/", apply_page, name="lowincome_apply"),
    path("lowincome/review/<str:number>/", review_page, name="lowincome_review"),
]
