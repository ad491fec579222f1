"""Reads of declarations: the village's list (scoped like the household files) and the public
status lookup, which shows a coarse stage only."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from fangfan.accounts.models import Role
from fangfan.declarations.models import Declaration, phone_index
from fangfan.declarations.services import normalise_phone, normalise_receipt
from fangfan.regions.codes import is_digits
from fangfan.regions.scope import scope_queryset, code_range_q
from fangfan.workflows.identification import OPEN_STATES

# Who works the declarations (roles.md: the village receives them, the township oversees).
DECLARATION_ROLES = frozenset({Role.VILLAGE, Role.TOWNSHIP})
# What still needs the village's hand: not yet a case (the case worklists carry the rest).
WAITING_STAGES = (
    Declaration.Stage.RECEIVED,
    Declaration.Stage.NEEDS_REGISTRATION,
    Declaration.Stage.MONITORED,
)

# The public page says no more than this: whether the ID is registered or monitored is not
# told to whoever holds a receipt (a declaration may name someone else's ID).
PUBLIC_RECEIVED = "已受理, 等待村 (社区) 联系核实"
PUBLIC_IN_PROGRESS = "核实办理中"
PUBLIC_DONE = "已办结, 结果请向村 (社区) 了解"


def may_work_declarations(actor) -> bool:
    return bool(getattr(actor, "is_authenticated", False)) and getattr(actor, "role", None) in DECLARATION_ROLES


def declarations_for_village(*, actor, village: str = "", stage: str = "") -> QuerySet:
    """The declarations of the actor's villages, newest first; `village` a code prefix inside
    the scope, `stage` one of Declaration.Stage or "waiting"."""
    if not may_work_declarations(actor):
        raise PermissionDenied("只有村、乡镇账号可以查看农户自主申报")
    qs = scope_queryset(Declaration.objects.all(), actor, "village_id")
    if village:
        if not is_digits(village):
            return qs.none()
        qs = qs.filter(code_range_q("village_id", village))
    if stage == "waiting":
        qs = qs.filter(stage__in=WAITING_STAGES)
    elif stage:
        qs = qs.filter(stage=stage)
    return qs.select_related("village", "declared_village", "household", "case")


def declarations_waiting_count(*, actor) -> int:
    """For the home page worklist: declarations not yet turned into a case. 0 for other roles."""
    if not may_work_declarations(actor):
        return 0
    return declarations_for_village(actor=actor, stage="waiting").count()


def public_stage(declaration: Declaration) -> str:
    if declaration.stage == Declaration.Stage.CLOSED:
        return PUBLIC_DONE
    case = declaration.case
    if case is not None:
        if case.state not in OPEN_STATES:
            return PUBLIC_DONE
        if case.state != "applied":
            return PUBLIC_IN_PROGRESS
    return PUBLIC_RECEIVED


def declaration_public_status(*, receipt: str, phone: str) -> str | None:
    """The stage for the pair (receipt, phone), or None: a wrong receipt and a wrong phone look the same."""
    receipt, phone = normalise_receipt(receipt), normalise_phone(phone)
    if not receipt or not phone or len(receipt) > 20:
        return None
    declaration = (Declaration.objects.select_related("case")
                   .filter(receipt=receipt, phone_index=phone_index(phone)).first())
    return public_stage(declaration) if declaration else None
