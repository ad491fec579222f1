"""NinjaAPI: bearer-token authentication per user, Chinese JSON errors, never a 500 for bad input."""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from fangfan.accounts.services import api_token_user
from fangfan.web.middleware import DATABASE_DOWN_MESSAGE
from fangfan.departments.services import WarningRefused
from fangfan.workflows.errors import ConcurrentEditError, NotAllowed, WorkflowError

log = logging.getLogger(__name__)


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = api_token_user(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="防返 fangfan API",
    version="1",
    description="防止返贫致贫动态监测帮扶 JSON 接口。每个用户以个人令牌认证 (Authorization: Bearer <令牌>), "
    "数据范围与页面完全相同。",
    auth=TokenAuth(),
    urls_namespace="api-v1",
)


def _error(request, status: int, message: str, **extra):
    return api.create_response(request, {"detail": message, **extra}, status=status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return _error(request, 401, "未认证: 请在请求头 Authorization: Bearer <令牌> 中提供有效的接口令牌")


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    problems = []
    for err in exc.errors:
        where = ".".join(str(p) for p in err.get("loc", ()))
        problems.append({"where": where, "message": _pydantic_message(err)})
    return _error(request, 422, "请求数据有误: " + "; ".join(f"{p['where']}: {p['message']}" for p in problems),
                  problems=problems)


def _pydantic_message(err: dict) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return "必填"
    if kind.startswith("int") or kind.startswith("float"):
        return "须为数字"
    if kind.startswith("date"):
        return "须为日期 (YYYY-MM-DD)"
    if kind.startswith("string"):
        return "须为文本"
    if kind.startswith("bool"):
        return "须为 true 或 false"
    return err.get("msg", "格式不正确")


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, str(exc) or "不存在或不在本账号的管辖范围内")


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return _error(request, 403, str(exc) or "无权执行此操作")


@api.exception_handler(NotAllowed)
def _not_allowed(request, exc):
    return _error(request, 403, str(exc))


@api.exception_handler(ConcurrentEditError)
def _stale(request, exc):
    return _error(request, 409, str(exc))


@api.exception_handler(WorkflowError)
def _workflow(request, exc):
    return _error(request, 400, str(exc))


@api.exception_handler(WarningRefused)
def _warning_refused(request, exc):
    return _error(request, 400, str(exc))


@api.exception_handler(DjangoValidationError)
def _django_invalid(request, exc):
    return _error(request, 400, "; ".join(exc.messages))


@api.exception_handler(HttpError)
def _http_error(request, exc):
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def _database_down(request, exc):
    # The database went away: the service's transaction did not commit; say so, as the pages do.
    log.warning("API: database unavailable: %s", exc)
    return _error(request, 503, DATABASE_DOWN_MESSAGE)


@api.exception_handler(Exception)
def _unexpected(request, exc):
    log.exception("API error")
    return _error(request, 500, "服务器内部错误, 已记录, 请稍后重试或联系管理员")


def _mount() -> None:
    # One router per area; each module defines `router`.
    from fangfan.api.routers import cases, dashboard, evaluate, households, params, users, warnings, worklists

    api.add_router("/households", households.router)
    api.add_router("/cases", cases.router)
    api.add_router("/worklists", worklists.router)
    api.add_router("/evaluate", evaluate.router)
    api.add_router("/dashboard", dashboard.router)
    api.add_router("/parameters", params.router)
    api.add_router("/users", users.router)
    api.add_router("/warnings", warnings.router)
    from fangfan.api.routers import lowincome

    api.add_router("/lowincome", lowincome.router)
    api.add_router("/reports", "fangfan.api.routers.reports.router")


_mount()
