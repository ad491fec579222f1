"""部门数据 (workflows.md W6): the 县行业部门's upload page and batch list, and the county's list
of IDs found in no household (未登记在册) with its XLSX export. Thin: fangfan.departments
services and selectors check the role again."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import path, reverse

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.accounts.permissions import may_view_full_id, role_of
from fangfan.audit.services import personal_data_export_record
from fangfan.departments import selectors
from fangfan.departments.services import FeedRejected, feed_import, unregistered_id_view
from fangfan.web.views.common import paginate, xlsx_response

MAX_UPLOAD = 200 << 20
UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")  # what feeds.read_feed reads


class UploadForm(forms.Form):
    file = forms.FileField(label="数据文件", help_text="CSV(UTF-8 或 GB18030)或 XLSX; 表头含“证件号码”(水利为“村代码”)。"
                           "证件号码列可填身份证号, 也可填县里提供密钥算出的加密索引(32位十六进制, 见本页说明)")
    period = forms.CharField(label="数据期", max_length=10, required=False,
                             help_text="YYYY-MM, 如 2026-03; 不填则取文件名中的年月, 否则为本月")


@login_required
def upload(request):
    user = request.user
    if role_of(user) != Role.COUNTY_DEPT:
        raise PermissionDenied("只有县行业部门可以上传部门数据")
    form = UploadForm(request.POST or None, request.FILES or None)
    problems = []
    error = ""
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        if upload_file.size > MAX_UPLOAD:
            error = f"文件过大(上限 {MAX_UPLOAD >> 20} MB)"
        else:
            # The reader goes by the suffix; any other name (too long, odd characters) gets one it
            # refuses in Chinese ("不支持的文件类型"), naming the upload as sent.
            suffix = Path(upload_file.name).suffix.lower()
            suffix = suffix if suffix in UPLOAD_SUFFIXES else ".bin"
            fd, tmp = tempfile.mkstemp(prefix="fangfan-upload-", suffix=suffix)
            target = Path(tmp)
            try:  # the copy holds personal data: removed however the import ends
                with os.fdopen(fd, "wb") as out:
                    for chunk in upload_file.chunks():
                        out.write(chunk)
                summary = feed_import(actor=user, department=user.department, path=target,
                                      period=form.cleaned_data["period"] or None, name=Path(upload_file.name).name)
            except FeedRejected as exc:
                error, problems = str(exc), exc.problems
            else:
                messages.success(request, str(summary))
                return redirect(reverse("departments-batches"))
            finally:
                target.unlink(missing_ok=True)
    return render(request, "web/departments/upload.html", {
        "form": form, "problems": problems, "error": error, "department": user.department,
    })


@login_required
def batches(request):
    department = request.GET.get("department", "").strip()
    qs = selectors.batch_list(actor=request.user, department=department if department in DEPARTMENTS else "")
    context = paginate(request, qs)
    return render(request, "web/departments/batches.html", {
        **context, "department": department, "departments": DEPARTMENTS,
        "is_department": role_of(request.user) == Role.COUNTY_DEPT,
    })


@login_required
def unregistered(request):
    """Masked for everyone; the roles that may see full IDs see them after giving a reason (the
    page, `show=full`) or exporting with one, each logged in the personal-data log."""
    department = request.GET.get("department", "").strip()
    department = department if department in DEPARTMENTS else ""
    entries = selectors.unregistered(actor=request.user, department=department)
    may_full = may_view_full_id(request.user)
    reason = request.GET.get("reason", "").strip()[:200]
    error = ""
    if request.GET.get("format") == "xlsx":
        if may_full and not reason:
            error = "导出完整证件号码须写明用途(将记入个人信息访问记录)"
        else:
            numbers = selectors.unregistered_numbers(entries, full=may_full)
            columns = ["证件号码", "来源部门", "数据行数", "最早数据期", "最近数据期"]
            rows = [(number, "、".join(e.departments), e.rows, e.first_period, e.last_period)
                    for number, e in zip(numbers, entries)]
            with transaction.atomic():
                personal_data_export_record(actor=request.user, what="unregistered", rows=len(rows), reason=reason,
                                            filters={"department": department, "full_ids": may_full})
            return xlsx_response("未登记在册人员(部门数据中有、登记库中无)", columns, rows, "未登记在册人员.xlsx")
    full = False
    if may_full and request.GET.get("show") == "full":
        try:
            unregistered_id_view(actor=request.user, department=department, rows=len(entries), reason=reason)
            full = True
        except ValueError as exc:
            error = str(exc)
    context = paginate(request, entries)
    page = list(context["page"].object_list)
    shown = list(zip(selectors.unregistered_numbers(page, full=full), page))  # only this page's opened
    return render(request, "web/departments/unregistered.html", {
        **context, "shown": shown, "department": department, "departments": DEPARTMENTS, "total": len(entries),
        "may_full": may_full, "full": full, "reason": reason, "error": error,
    })


urlpatterns = [
    path("departments/upload/", upload, name="departments-upload"),
    path("departments/batches/", batches, name="departments-batches"),
    path("departments/unregistered/", unregistered, name="departments-unregistered"),
]
