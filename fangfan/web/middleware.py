"""Refuse text with a NUL character before any view sees it.

PostgreSQL cannot store or compare a NUL in text (SQLite can), so `?q=a%00b` reached the
database and came back as a 500 there. No field of fangfan legitimately holds one: a request
carrying one in its query, form fields or JSON body is answered 400 with a Chinese message
(JSON under /api/), the same on every database."""
from __future__ import annotations

import json

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
                body = request.body
                return b"\x00" in body or b"\\u0000" in body.lower()
            if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
                return _has_nul(request.POST)
        return False
