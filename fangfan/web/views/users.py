"""用户管理 (system administrators only): list, create, edit role/region/department/state,
reset a password, make an API token. Thin: writes in fangfan.accounts.services (which check
the role again), reads in fangfan.accounts.selectors."""
from __future__ import annotations

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse

from fangfan.accounts import selectors, services
from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.accounts.permissions import may_manage_users
from fangfan.audit.models import AuditEvent
from fangfan.regions.models import Region
from fangfan.web.views.common import paginate

REGION_HELP = "12位区划代码, 级别与角色一致: 村级账号填村代码, 乡镇账号填乡镇代码(末三位000), 县级账号填县代码(末六位0)…; 系统管理员留空"
_DEPARTMENT_CHOICES = [("", "(非县行业部门不填)"), *[(d, d) for d in DEPARTMENTS]]
_ACTIONS = {"user.create": "创建", "user.update": "修改", "user.disable": "停用", "user.enable": "启用",
            "user.set_password": "重设密码", "user.api_token": "创建接口令牌",
            "user.otp_enable": "启用两步验证", "user.otp_reset": "解除两步验证"}
_FIELDS = {"role": "角色", "region_code": "区划", "department": "部门", "full_name": "姓名", "is_active": "启用"}


def admin_only(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not may_manage_users(request.user):
            raise PermissionDenied("只有系统管理员可以管理用户")
        return view(request, *args, **kwargs)

    return wrapped


class ServiceErrors:
    def add_service_errors(self, error: ValidationError) -> None:
        """A service's errors next to the fields they name (the rest above the form)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, errors in error.message_dict.items():
            self.add_error(field if field in self.fields else None, errors)


class AccountForm(ServiceErrors, forms.Form):
    full_name = forms.CharField(label="姓名", max_length=150, required=False)
    role = forms.ChoiceField(label="角色", choices=Role.choices)
    region_code = forms.CharField(label="管辖区划代码", max_length=12, required=False, help_text=REGION_HELP,
                                  widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    department = forms.ChoiceField(label="部门", choices=_DEPARTMENT_CHOICES, required=False,
                                   help_text="仅县行业部门账号: 其数据来源部门")


class _PasswordPair(ServiceErrors, forms.Form):
    password = forms.CharField(label="密码", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label="再输入一次", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", "两次输入的密码不一致")
        return data


class UserCreateForm(AccountForm, _PasswordPair):
    username = forms.CharField(label="用户名", max_length=150, help_text="登录用的名字: 字母、数字、汉字和 @ . + - _")
    field_order = ["username", "full_name", "role", "region_code", "department", "password", "password2"]


class UserEditForm(AccountForm):
    is_active = forms.BooleanField(label="启用(可以登录和使用接口令牌)", required=False)


class PasswordForm(_PasswordPair):
    pass


class TokenForm(ServiceErrors, forms.Form):
    name = forms.CharField(label="令牌名称", max_length=60, required=False, help_text="用途, 如 “乡镇统计脚本”")


def _user_or_404(request, pk: int):
    user = selectors.user_get(actor=request.user, pk=pk)
    if user is None:
        raise Http404("无此用户")
    return user


@admin_only
def user_list(request):
    q, role, region, active = (request.GET.get(k, "").strip() for k in ("q", "role", "region", "active"))
    users = selectors.user_list(actor=request.user, query=q, role=role, region=region, active=active)
    context = paginate(request, users)
    codes = {u.region_code for u in context["page"] if u.region_code}
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    rows = [{"user": u, "region_name": names.get(u.region_code, "")} for u in context["page"]]
    return render(request, "web/users/list.html", {
        **context, "rows": rows, "roles": Role.choices,
        "filters": {"q": q, "role": role, "region": region, "active": active},
    })


@admin_only
def user_new(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_create(
                actor=request.user, username=data["username"], role=data["role"], region_code=data["region_code"],
                department=data["department"], password=data["password"], full_name=data["full_name"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"已创建用户 {user.username}")
            return redirect("users-edit", pk=user.pk)
    return render(request, "web/users/form.html", {"form": form, "title": "新建用户"})


@admin_only
def user_edit(request, pk: int):
    user = _user_or_404(request, pk)
    initial = {"full_name": user.first_name, "role": user.role, "region_code": user.region_code,
               "department": user.department, "is_active": user.is_active}
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _save_edit(request.user, user, data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"已保存用户 {user.username}")
            return redirect("users-edit", pk=user.pk)
    return render(request, "web/users/form.html", {
        "form": form, "title": f"用户 {user.username}", "subject": user, "history": _history(user),
        "tokens": user.api_tokens.order_by("-created_at")[:20],
    })


def _save_edit(actor, user, data) -> None:
    from django.db import transaction

    # One transaction: a refused state change leaves the role/region change unsaved too.
    with transaction.atomic():
        services.user_update(actor=actor, user=user, role=data["role"], region_code=data["region_code"],
                             department=data["department"], full_name=data["full_name"])
        if data["is_active"] and not user.is_active:
            services.user_enable(actor=actor, user=user)
        elif not data["is_active"] and user.is_active:
            services.user_disable(actor=actor, user=user)


def _history(user) -> list[dict]:
    events = AuditEvent.objects.filter(object_type="user", object_key=user.username).order_by("-at")[:30]
    rows = []
    for e in events:
        changes = [f"{_FIELDS.get(k, k)}: {(e.before or {}).get(k, '')} → {v}" for k, v in (e.after or {}).items()
                   if k in _FIELDS]
        rows.append({"at": e.at, "actor": e.actor_name, "action": _ACTIONS.get(e.action, e.action),
                     "changes": "; ".join(changes), "comment": e.comment})
    return rows


@admin_only
def user_password(request, pk: int):
    user = _user_or_404(request, pk)
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_password(actor=request.user, user=user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"已重设用户 {user.username} 的密码")
            return redirect("users-edit", pk=user.pk)
    return render(request, "web/users/password.html", {"form": form, "subject": user})


@admin_only
def user_token(request, pk: int):
    user = _user_or_404(request, pk)
    form = TokenForm(request.POST or None)
    token = None
    if request.method == "POST" and form.is_valid():
        try:
            token = services.api_token_create(actor=request.user, user=user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_service_errors(exc)
    response = render(request, "web/users/token.html", {"form": form, "subject": user, "token": token})
    if token:
        response["Cache-Control"] = "no-store"  # the token is shown once: keep it out of caches
    return response


urlpatterns = [
    path("users/", user_list, name="users-list"),
    path("users/new/", user_new, name="users-new"),
    path("users/<int:pk>/", user_edit, name="users-edit"),
    path("users/<int:pk>/password/", user_password, name="users-password"),
    path("users/<int:pk>/token/", user_token, name="users-token"),
]
