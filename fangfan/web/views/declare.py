"""农户自主申报: the public pages (no login) and the village's list of declarations.

The public pages show nothing of the registry: the receipt page shows the receipt number, the
status page only a coarse stage for a matching (receipt, phone) pair."""
from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from fangfan.common import codes as C
from fangfan.common.ids import mask
from fangfan.declarations import selectors, services, throttle
from fangfan.declarations.models import Declaration
from fangfan.regions.models import Region
from fangfan.regions.scope import code_range_q, prefix_for
from fangfan.web.views.common import paginate
from fangfan.workflows.errors import WorkflowError

LEVELS = (
    ("province", "省 (自治区、直辖市)"),
    ("city", "市 (州、盟)"),
    ("county", "县 (市、区、旗)"),
    ("township", "乡镇 (街道)"),
    ("village", "村 (社区)"),
)
LEVEL_LABEL = dict(LEVELS)
NEXT_LEVEL = {LEVELS[i][0]: LEVELS[i + 1][0] for i in range(len(LEVELS) - 1)}
SESSION_RECEIPT = "declare_receipt"
# The public forms carry a few hundred characters; anything much larger is refused before it is
# parsed (the site-wide DATA_UPLOAD_MAX_MEMORY_SIZE is sized for attachments).
PUBLIC_BODY_MAX = 16 * 1024
FIELDS = ("name", "id_number", "phone", "risk", "text")


def _client_ip(request) -> str | None:
    # REMOTE_ADDR only: a forwarded-for header is the client's to forge. Behind a reverse proxy,
    # the proxy must set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None


def _small_body(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > PUBLIC_BODY_MAX:
            return render(request, "web/declare/throttled.html", {
                "title": "提交的内容过长", "reason": "提交的内容过长, 请精简情况说明后重新提交",
            }, status=413)
        return view(request, *args, **kwargs)
    return wrapper


def _children(level: str, parent: str | None) -> list[tuple[str, str]]:
    qs = Region.objects.filter(level=level)
    if level != "province":
        if not parent:
            return []
        qs = qs.filter(parent_id=parent)
    return [(r.code, r.name or r.code) for r in qs.only("code", "name").order_by("code")]


def _selects(chosen: dict[str, str]) -> list[dict]:
    """One select per level: the options under the level above, the chosen one kept only when
    it is among them (a stale lower choice is dropped when a higher one changes)."""
    out, parent = [], None
    for level, label in LEVELS:
        options = _children(level, parent) if level == "province" or parent else []
        selected = chosen.get(level, "")
        if selected not in {code for code, _ in options}:
            selected = ""
        out.append({"level": level, "label": label, "options": options, "selected": selected,
                    "next": NEXT_LEVEL.get(level)})
        parent = selected or None
    return out


def _chain_of(village_code: str) -> dict[str, str]:
    """The chosen code of every level above a village (a poster's QR code may link ?village=...)."""
    chosen: dict[str, str] = {}
    region = Region.objects.filter(code=village_code).first()
    while region is not None:
        chosen[region.level] = region.code
        region = region.parent
    return chosen


def _form_context(data, errors=None) -> dict:
    chosen = {level: str(data.get(level, "")).strip()[:12] for level, _ in LEVELS}
    if chosen["village"] and not chosen["province"]:
        chosen = _chain_of(chosen["village"]) or chosen
    values = {f: str(data.get(f, ""))[:600] for f in FIELDS}
    return {
        "selects": _selects(chosen), "values": values, "errors": errors or {},
        "risks": C.RISK.items, "text_max": services.TEXT_MAX, "name_max": services.NAME_MAX,
    }


@_small_body
def declare_form(request):
    if request.method == "GET":
        return render(request, "web/declare/form.html", _form_context(request.GET))
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.POST.get("refresh"):
        # Without JavaScript the region selects are filled one level per submit.
        return render(request, "web/declare/form.html", _form_context(request.POST))
    try:
        declaration = services.declaration_submit(
            name=request.POST.get("name", ""), id_number=request.POST.get("id_number", ""),
            phone=request.POST.get("phone", ""), village_code=request.POST.get("village", ""),
            risk=request.POST.get("risk", ""), text=request.POST.get("text", ""), client_ip=_client_ip(request),
        )
    except ValidationError as exc:
        errors = {field: " ".join(msgs) for field, msgs in exc.message_dict.items()}
        return render(request, "web/declare/form.html", _form_context(request.POST, errors), status=400)
    except services.DeclarationThrottled as exc:
        return render(request, "web/declare/throttled.html", {"reason": exc.reason}, status=429)
    # Post/redirect/get: reloading the receipt page must not declare again.
    request.session[SESSION_RECEIPT] = declaration.receipt
    return redirect("declare-done")


@require_GET
def declare_regions(request):
    """HTMX partial: the select of `level` filled with the children of the level above, and
    the lower selects emptied out of band."""
    level = request.GET.get("level", "")
    if level not in LEVEL_LABEL or level == "province":
        raise Http404("无此级别")
    levels = [code for code, _ in LEVELS]
    above = levels[levels.index(level) - 1]
    parent = str(request.GET.get("parent") or request.GET.get(above) or "").strip()[:12]
    select = {"level": level, "label": LEVEL_LABEL[level], "options": _children(level, parent),
              "selected": "", "next": NEXT_LEVEL.get(level)}
    lower = [{"level": code, "label": LEVEL_LABEL[code], "options": [], "selected": "", "next": NEXT_LEVEL.get(code)}
             for code in levels[levels.index(level) + 1:]]
    return render(request, "web/declare/_regions.html", {"select": select, "lower": lower})


@require_GET
def declare_done(request):
    receipt = request.session.get(SESSION_RECEIPT)
    if not receipt:
        return redirect("declare")
    return render(request, "web/declare/done.html", {"receipt": services.format_receipt(receipt)})


@_small_body
def declare_status(request):
    context: dict = {"values": {"receipt": "", "phone": ""}}
    if request.method == "POST":
        if not throttle.allow_status_lookup(_client_ip(request)):
            return render(request, "web/declare/throttled.html", {
                "reason": f"同一网络地址每小时最多查询{throttle.STATUS_LOOKUPS_PER_ADDRESS_PER_HOUR}次, 请稍后再试",
            }, status=429)
        receipt, phone = request.POST.get("receipt", "")[:40], request.POST.get("phone", "")[:30]
        context["values"] = {"receipt": receipt, "phone": phone}
        context["looked_up"] = True
        context["stage"] = selectors.declaration_public_status(receipt=receipt, phone=phone)
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(request, "web/declare/status.html", context)


# ---- the village's list ------------------------------------------------------------------------

@login_required
@require_GET
def declaration_list(request):
    actor = request.user
    if not selectors.may_work_declarations(actor):
        raise PermissionDenied("只有村、乡镇账号可以查看农户自主申报")
    village = request.GET.get("village", "").strip()[:12]
    stage = request.GET.get("stage", "waiting")
    if stage not in {"", "waiting", *Declaration.Stage.values}:
        stage = "waiting"
    items = selectors.declarations_for_village(actor=actor, village=village, stage=stage)
    prefix = prefix_for(actor) or ""
    villages = []
    if actor.role != "village":
        villages = list(Region.objects.filter(code_range_q("code", prefix), level="village").order_by("code")
                        .values_list("code", "name")[:500])
    context = paginate(request, items)
    context["rows"] = [
        {"d": d, "receipt": services.format_receipt(d.receipt), "id_masked": mask(d.id_number),
         "waiting": d.stage in selectors.WAITING_STAGES}
        for d in context["page"].object_list
    ]
    context.update({
        "village": village, "stage": stage, "villages": villages,
        "stages": [("waiting", "待处理"), *Declaration.Stage.choices, ("", "全部")],
    })
    return render(request, "web/declare/list.html", context)


@login_required
@require_POST
def declaration_action(request, receipt: str, action: str):
    try:
        if action == "recheck":
            d = services.declaration_recheck(actor=request.user, receipt=receipt)
            messages.success(request, f"回执 {services.format_receipt(d.receipt)}: {d.get_stage_display()}")
        elif action == "close":
            services.declaration_close(actor=request.user, receipt=receipt, note=request.POST.get("note", ""))
            messages.success(request, f"回执 {services.format_receipt(services.normalise_receipt(receipt))} 已办结")
        else:  # pragma: no cover - only the two paths below route here
            raise Http404("无此操作")
    except Declaration.DoesNotExist:
        raise Http404("未找到该申报") from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except WorkflowError as exc:
        messages.error(request, exc.reason)
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/declarations/") else "declarations")


urlpatterns = [
    path("declare/", declare_form, name="declare"),
    path("declare/regions/", declare_regions, name="declare-regions"),
    path("declare/done/", declare_done, name="declare-done"),
    path("declare/status/", declare_status, name="declare-status"),
    path("declarations/", declaration_list, name="declarations"),
    path("declarations/<str:receipt>/recheck/", declaration_action, {"action": "recheck"}, name="declaration-recheck"),
    path("declarations/<str:receipt>/close/", declaration_action, {"action": "close"}, name="declaration-close"),
]
