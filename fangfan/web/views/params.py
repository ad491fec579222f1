"""县级参数: the parameters in force for a county at a date, the county's own dated values (set
with the document they come from, after a what-if preview), and their history.

县乡村振兴局 sets monitoring and other values, 县民政局 the dibao.* family; 市/省 read only.
Thin: selectors in fangfan.screening.parameters, writes in fangfan.screening.services."""
from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from fangfan.accounts.models import Role
from fangfan.accounts.permissions import may_set_parameter
from fangfan.screening import services
from fangfan.screening.parameters import (
    DIBAO_LINE,
    READER_ROLES,
    current_parameters,
    parameter_history,
    parameters_in_force,
)
from fangfan.web.views.common import paginate

READERS = READER_ROLES  # the selector enforces it too (page and API alike)
SETTERS = (Role.COUNTY_RR, Role.COUNTY_CA)


class ParameterForm(forms.Form):
    name = forms.ChoiceField(label="参数")
    region_prefix = forms.CharField(label="区划代码", max_length=12, help_text="本县 6 位代码,或本县的乡镇(9 位)、村(12 位)代码")
    start = forms.DateField(label="起始日期", widget=forms.DateInput(attrs={"type": "date"}))
    value_text = forms.CharField(label="取值", max_length=2000,
                                 help_text="金额以元为单位(如 5280);时限写作 “15 calendar” 或 “20 working”;null 表示未设定")
    document = forms.CharField(label="文件依据", max_length=300, required=False,
                               help_text="文件名称和文号,保存时必填")
    as_of = forms.DateField(label="预览评估日期", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="默认: 起始日期与今天中较晚者")

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        params = current_parameters()
        self.fields["name"].choices = [
            (name, f"{name} — {params.definitions[name].description}")
            for name in params.names()
            if may_set_parameter(actor, name)
        ]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "region_prefix": data["region_prefix"], "start": data["start"],
                "value_text": data["value_text"]}

    def add_service_errors(self, error: ValidationError) -> None:
        for field, errors in error.message_dict.items():
            self.add_error(field if field in self.fields else None, errors)


def _preview_key(form: ParameterForm) -> str:
    data = form.cleaned_data
    return "|".join(str(data.get(k) or "") for k in ("name", "region_prefix", "start", "value_text"))


def _require_reader(request) -> None:
    if request.user.role not in READERS:
        raise PermissionDenied("县级参数页面仅供县乡村振兴局、县民政局和市、省督查使用")


def _on(request) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return dt.date.today()


def _page(request, form: ParameterForm | None = None, preview=None, status: int = 200):
    on = _on(request)
    region = request.GET.get("region", "").strip() or None
    shown = parameters_in_force(actor=request.user, region=region, on=on)
    may_set = request.user.role in SETTERS
    if may_set and form is None:
        form = ParameterForm(actor=request.user, initial={"region_prefix": shown.region[:6], "start": on})
    history = paginate(request, parameter_history(actor=request.user, region=region))
    for row in history["page"].object_list:
        row.may_withdraw = may_set and row.active and may_set_parameter(request.user, row.name)
    return render(
        request,
        "web/params/index.html",
        {
            "shown": shown,
            "region_arg": region or "",
            "dibao_line": DIBAO_LINE,
            "is_civil": request.user.role == Role.COUNTY_CA,
            "may_set": may_set,
            "form": form if may_set else None,
            "preview": preview,
            "preview_key": _preview_key(form) if preview else "",
            **history,
        },
        status=status,
    )


@login_required
def parameter_index(request):
    _require_reader(request)
    return _page(request)


@login_required
@require_POST
def parameter_preview(request):
    """HTMX: the what-if table by village for the value in the form, shown before saving."""
    _require_reader(request)
    form = ParameterForm(request.POST, actor=request.user)
    preview = None
    if form.is_valid():
        try:
            preview = services.county_parameter_preview(
                actor=request.user, **form.service_kwargs(), as_of=form.cleaned_data.get("as_of")
            )
        except ValidationError as error:
            form.add_service_errors(error)
    if not request.htmx:
        return _page(request, form=form, preview=preview, status=200 if preview else 400)
    # 200 even with errors: htmx swaps no 4xx answer, and the messages belong next to the fields.
    return render(request, "web/params/_form.html",
                  {"form": form, "preview": preview, "preview_key": _preview_key(form) if preview else ""})


@login_required
@require_POST
def parameter_set(request):
    _require_reader(request)
    form = ParameterForm(request.POST, actor=request.user)
    if form.is_valid() and request.POST.get("previewed") != _preview_key(form):
        # The page saves only what the user has seen previewed (the API and shell need no preview).
        form.add_error(None, "请先点“预览影响”查看对各村农户的影响,再确认保存(预览后改动了取值须重新预览)")
    if form.is_valid():
        try:
            row = services.county_parameter_set(
                actor=request.user, **form.service_kwargs(), document=form.cleaned_data["document"]
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"已保存 {row.name} = {row.value_text}(区划 {row.region_prefix},{row.start} 起)")
            url = reverse("parameters") + f"?date={row.start.isoformat()}"
            if request.htmx:
                response = render(request, "web/params/_saved.html", {"row": row})
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    if request.htmx:
        return render(request, "web/params/_form.html", {"form": form, "preview": None})
    return _page(request, form=form, status=400)


@login_required
@require_POST
def parameter_withdraw(request):
    _require_reader(request)
    try:
        pk = int(request.POST.get("pk", ""))
    except ValueError:
        raise Http404("没有这条参数记录") from None
    try:
        row = services.county_parameter_withdraw(actor=request.user, pk=pk, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, ";".join(error.messages))
    else:
        messages.success(request, f"已撤回 {row.name}(区划 {row.region_prefix},{row.start} 起)")
    return redirect(reverse("parameters"))


urlpatterns = [
    path("parameters/", parameter_index, name="parameters"),
    path("parameters/preview", parameter_preview, name="parameters-preview"),
    path("parameters/set", parameter_set, name="parameters-set"),
    path("parameters/withdraw", parameter_withdraw, name="parameters-withdraw"),
]
