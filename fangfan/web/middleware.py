"""Refuse text with a NUL character before any view sees it.

PostgreSQL cannot store or compare a NUL in text (SQLite can), so `?q=a%00b` reached the
database and came back as a 500 there. No field of fangfan legitimately holds one: a request
carrying one in its query, form fields or JSON body is answered 400 with a Chinese message
(JSON under /api/), the same on every database."""
from __future__ import annotations

import json

from django.core.exceptions import BadRequest
from django.http import HttpResponse, JsonResponse

MESSAGE = "请求中含有不允许的控制字符 (NUL), 请检查输入"


def _has_nul(values) -> bool:
    return any("\x00" in key or any("\x00" in v for v in vals) for key, vals in values.lists())


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._carries_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": MESSAGE}, status=400, json_dumps_params={"ensure_ascii": False})
            return HttpResponse(MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _carries_nul(request) -> bool:
        if "\x00" in request.path or _has_nul(request.GET):
            return True
        if request.method in ("POST", "PUT", "PATCH"):
            kind = request.content_type or ""
            if kind == "application/json":
                try:
                    body = request.body
                except ValueError:  # a Content-Length that is not a number
                    raise BadRequest("请求头 Content-Length 无效") from None
                return b"\x00" in body or b"\\u0000" in body.lower()
            if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
                return _has_nul(request.POST)
        return False


DATABASE_DOWN_MESSAGE = "数据库暂时无法连接, 您的操作未保存, 请稍后重试"


class DatabaseUnavailableMiddleware:
    """A view whose database went away (server stopped, connection cut, file locked too long)
    answers 503 with a Chinese page instead of the generic 500: every write runs in a
    transaction, so whatever the request was doing is not saved, and the user is told so.
    Under /api/ the answer is JSON. The connection is dropped so the next request reconnects."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import InterfaceError, OperationalError, connections

        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        import logging

        logging.getLogger("fangfan.web").error("数据库不可用: %s %s: %s", request.method, request.path, exception)
        session = getattr(request, "session", None)
        if session is not None:
            session.modified = False  # saving it would only fail again, turning the page into a 500
        for conn in connections.all(initialized_only=True):
            try:
                conn.close_if_unusable_or_obsolete()
            except Exception:  # noqa: BLE001 - a dead connection may fail to close; it is dropped either way
                pass
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": DATABASE_DOWN_MESSAGE}, status=503,
                                    json_dumps_params={"ensure_ascii": False})
        else:
            from django.template.loader import render_to_string

            response = HttpResponse(render_to_string("503.html", {"message": DATABASE_DOWN_MESSAGE}),
                                    status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = "30"
        return response
