"""农户自主申报: the public declaration and what the village does with it.

A declaration for a registered member opens a W1 identification case on channel
self_declared in the household's own village (篇九 (四) ①), acting as the clearly named
intake actor below; the same household with an open identification case is linked to it,
a monitored household is flagged for the village, and an ID the registry does not hold waits
in the declared village's list as 待登记 until the village registers the household."""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from fangfan.accounts.models import Role
from fangfan.audit.services import audit_record
from fangfan.common import codes as C
from fangfan.common.ids import IdNumberError, convert_15_to_18, mask, validate_id
from fangfan.declarations.models import Declaration, phone_index
from fangfan.regions.codes import is_digits
from fangfan.regions.models import Region
from fangfan.regions.scope import in_scope
from fangfan.registry.models import Member
from fangfan.reports.campaigns import entry_window_guard
from fangfan.workflows import identification
from fangfan.workflows.models import Case
from fangfan.workflows.errors import ConcurrentEditError, WorkflowError

CHANNEL = "self_declared"
INTAKE_NAME = "农户自主申报"

# Throttles (issue 8 item 6): counted on the stored rows, so they hold across server processes.
MAX_PER_ADDRESS_PER_HOUR = 5
MAX_PER_PHONE_PER_DAY = 3

NAME_MAX = 50
TEXT_MAX = 500
# No 0/O, 1/I/L: the declarant reads the number off a phone screen and types it back.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECEIPT_RANDOM = 8

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class IntakeActor:
    """Who opens a case from the public page: not a user row, but named in every audit row
    and case event ("农户自主申报", role village) and scoped to exactly one village."""

    region_code: str
    username: str = INTAKE_NAME
    role: str = Role.VILLAGE
    pk: None = None
    is_authenticated: bool = True
    is_system_admin: bool = False
    department: str = ""

    @property
    def region_prefix(self) -> str:
        return self.region_code


class DeclarationThrottled(Exception):
    """Too many declarations from one address or one phone: HTTP 429 with this Chinese message."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


# ---- validation --------------------------------------------------------------------------------

def normalise_phone(value: str) -> str:
    """Digits only (a landline's '-' and spaces dropped, a leading +86 dropped)."""
    digits = re.sub(r"[\s\-()（）]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    return digits


def normalise_receipt(value: str) -> str:
    return re.sub(r"[\s\-]", "", value or "").upper()


def _clean(*, name, id_number, phone, village_code, risk, text) -> dict:
    errors: dict[str, str] = {}
    out: dict = {}

    name = _CONTROL.sub("", str(name or "")).strip()
    if not name:
        errors["name"] = "请填写姓名"
    elif len(name) > NAME_MAX:
        errors["name"] = f"姓名不能超过{NAME_MAX}个字"
    out["name"] = name

    raw_id = str(id_number or "").strip().upper()
    if not raw_id:
        errors["id_number"] = "请填写身份证号码"
    else:
        try:
            if len(raw_id) == 15 and raw_id.isdigit():
                out["id_number"] = validate_id(convert_15_to_18(raw_id))
            else:
                out["id_number"] = validate_id(raw_id)
        except IdNumberError as exc:
            errors["id_number"] = str(exc)

    digits = normalise_phone(str(phone or ""))
    if not digits:
        errors["phone"] = "请填写联系电话"
    elif not (_MOBILE.match(digits) or _LANDLINE.match(digits)):
        errors["phone"] = "联系电话应为11位手机号码, 或带区号的固定电话 (如 0558-1234567)"
    out["phone"] = digits

    code = str(village_code or "").strip()
    village = None
    if not code:
        errors["village"] = "请选择所在村 (社区)"
    elif not is_digits(code) or len(code) != 12:
        errors["village"] = "所选村 (社区) 无效, 请重新选择"
    else:
        village = Region.objects.filter(code=code, level=Region.Level.VILLAGE).first()
        if village is None:
            errors["village"] = "所选村 (社区) 不存在, 请重新选择"
    out["village"] = village

    risk_code = C.RISK.normalise(str(risk or "")) if risk else None
    if not risk_code:
        errors["risk"] = "请选择困难类型"
    out["risk"] = risk_code

    text = _CONTROL.sub("", str(text or "")).strip()
    if len(text) > TEXT_MAX:
        errors["text"] = f"情况说明不能超过{TEXT_MAX}个字 (现有{len(text)}个字)"
    out["text"] = text

    if errors:
        raise ValidationError(errors)
    return out


def _check_throttle(*, phone: str, client_ip: str | None, now: dt.datetime) -> None:
    if client_ip and Declaration.objects.filter(
        client_ip=client_ip, submitted_at__gte=now - dt.timedelta(hours=1)
    ).count() >= MAX_PER_ADDRESS_PER_HOUR:
        raise DeclarationThrottled(
            f"同一网络地址每小时最多提交{MAX_PER_ADDRESS_PER_HOUR}份申报, 请稍后再试, 或直接向村委会申报"
        )
    recent = Declaration.objects.filter(phone_index=phone_index(phone), submitted_at__gte=now - dt.timedelta(days=1))
    if recent.count() >= MAX_PER_PHONE_PER_DAY:
        raise DeclarationThrottled(
            f"同一联系电话每天最多提交{MAX_PER_PHONE_PER_DAY}份申报, 已受理的申报请用回执号查询进度, 或直接向村委会申报"
        )


def _new_receipt(today: dt.date) -> str:
    while True:
        receipt = f"SB{today:%Y%m%d}" + "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_RANDOM))
        if not Declaration.objects.filter(receipt=receipt).exists():
            return receipt


def format_receipt(receipt: str) -> str:
    """'SB20260709K7Q4M2XH' → 'SB20260709-K7Q4-M2XH', easier to read aloud and copy."""
    if len(receipt) == 18 and receipt.startswith("SB"):
        return f"{receipt[:10]}-{receipt[10:14]}-{receipt[14:]}"
    return receipt


def _find_member(id_index: str) -> Member | None:
    """The registered member with this ID, by the blind index (the declaration's id_index)."""
    return (
        Member.objects.select_related("household", "household__village")
        .filter(id_index=id_index)
        .first()
    )


# ---- services ----------------------------------------------------------------------------------

def _route(declaration: Declaration, actor, on: dt.date, *, public: bool = False) -> None:
    """Link the declaration to its household: open a W1 case, link the open one, or flag it.
    `actor` opens the case (the intake actor for a public submission, the cadre afterwards)."""
    member = _find_member(declaration.id_index)
    if member is None:
        declaration.stage = Declaration.Stage.NEEDS_REGISTRATION
        return
    household = member.household
    declaration.household = household
    if household.village_id != declaration.declared_village_id:
        declaration.note = (
            f"申报所选村为 {declaration.declared_village.name or declaration.declared_village_id}, "
            f"该户档案在 {household.village.name or household.village_id}, 已转该村办理"
        )
    declaration.village_id = household.village_id
    if household.is_monitored:
        declaration.stage = Declaration.Stage.MONITORED
        return
    open_case = Case.objects.filter(
        household=household, kind=identification.KIND, state__in=identification.OPEN_STATES
    ).first()
    if open_case is None:
        reason = f"农户自主申报 (回执号 {declaration.receipt}): {declaration.risk_label}"
        if declaration.text:
            reason += f"; {declaration.text}"
        try:
            case = identification.identification_open(
                actor=actor, household=household, channel=CHANNEL, on=on, reason=reason[:2000]
            )
        except ConcurrentEditError:
            # Someone opened a case for this household at the same moment: link to theirs.
            open_case = Case.objects.filter(
                household=household, kind=identification.KIND, state__in=identification.OPEN_STATES
            ).first()
            if open_case is None:
                raise
        except WorkflowError as exc:
            if not public:
                raise
            # The declarant is not to be turned away by a rule of the case engine: the village
            # sees the reason and opens the case by hand (declaration_recheck).
            declaration.stage = Declaration.Stage.RECEIVED
            declaration.note = (declaration.note + "; " if declaration.note else "") + f"未能自动立案: {exc.reason}"
            return
        else:
            declaration.case = case
            declaration.stage = Declaration.Stage.CASE_OPENED
            return
    declaration.case = open_case
    declaration.stage = Declaration.Stage.LINKED


def _audit_after(declaration: Declaration) -> dict:
    return {
        "stage": declaration.stage,
        "village": declaration.village_id,
        "declared_village": declaration.declared_village_id,
        "risk": declaration.risk,
        "id_number": mask(declaration.id_number),
        "case": declaration.case_id,
        "note": declaration.note,
    }


def declaration_submit(*, name, id_number, phone, village_code, risk, text="", client_ip=None) -> Declaration:
    """The public page's one write. Raises ValidationError({field: Chinese message}) for bad
    input and DeclarationThrottled beyond the limits; nothing is stored in either case."""
    values = _clean(name=name, id_number=id_number, phone=phone, village_code=village_code, risk=risk, text=text)
    now = timezone.now()
    on = timezone.localdate(now)
    with transaction.atomic():
        _check_throttle(phone=values["phone"], client_ip=client_ip or None, now=now)
        declaration = Declaration(
            receipt=_new_receipt(on), name=values["name"], id_number=values["id_number"], phone=values["phone"],
            village=values["village"], declared_village=values["village"], risk=values["risk"], text=values["text"],
            submitted_at=now, client_ip=client_ip or None,
        )
        member = _find_member(declaration.id_index)
        intake = IntakeActor(region_code=member.household.village_id if member else values["village"].code)
        _route(declaration, intake, on, public=True)
        declaration.save()
        audit_record(
            actor=intake, action="declaration.submit", object_type="declaration", object_key=declaration.receipt,
            after=_audit_after(declaration),
            household_key=declaration.household.household_number if declaration.household else "",
            region_code=declaration.village_id,
        )
    return declaration


def _get_for_update(actor, receipt: str) -> Declaration:
    from fangfan.declarations.selectors import DECLARATION_ROLES

    if getattr(actor, "role", None) not in DECLARATION_ROLES or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied("只有村、乡镇账号可以办理农户自主申报")
    declaration = Declaration.objects.select_for_update().filter(receipt=normalise_receipt(receipt)).first()
    if declaration is None or not in_scope(actor, declaration.village_id):
        raise Declaration.DoesNotExist("未找到该申报")
    return declaration


def declaration_recheck(*, actor, receipt: str, on: dt.date | None = None) -> Declaration:
    """After the village registered the household (待登记), or when a monitored household's
    monitoring has ended: look the ID up again and open or link the W1 case as this cadre."""
    on = on or timezone.localdate()
    with transaction.atomic():
        declaration = _get_for_update(actor, receipt)
        entry_window_guard(actor=actor, region_code=declaration.village_id)  # W7: closed after a campaign's entry
        if declaration.stage not in (Declaration.Stage.NEEDS_REGISTRATION, Declaration.Stage.MONITORED,
                                     Declaration.Stage.RECEIVED):
            raise WorkflowError(f"该申报当前为「{declaration.get_stage_display()}」, 无需再次核对")
        before = _audit_after(declaration)
        member = _find_member(declaration.id_index)
        if member is not None and not in_scope(actor, member.household.village_id):
            raise WorkflowError("该身份证号码登记在本账号管辖范围以外的村, 请联系乡镇转办")
        _route(declaration, actor, on)
        if declaration.stage == Declaration.Stage.NEEDS_REGISTRATION:
            raise WorkflowError("农户档案中仍未找到该身份证号码, 请先登记该户 (农户档案), 再核对立案")
        if declaration.stage == Declaration.Stage.MONITORED:
            raise WorkflowError("该户仍是监测对象, 无需识别纳入; 以走访、帮扶措施回应后请点「办结」")
        declaration.save()
        audit_record(
            actor=actor, action="declaration.recheck", object_type="declaration", object_key=declaration.receipt,
            before=before, after=_audit_after(declaration),
            household_key=declaration.household.household_number if declaration.household else "",
            region_code=declaration.village_id,
        )
    return declaration


def declaration_close(*, actor, receipt: str, note: str) -> Declaration:
    """The village answered the declaration outside a W1 case (e.g. a monitored household's new
    difficulty handled by a visit, or a duplicate); the reason is required."""
    note = _CONTROL.sub("", str(note or "")).strip()
    if not note:
        raise ValidationError({"note": "请写明办结说明"})
    if len(note) > 300:
        raise ValidationError({"note": "办结说明不能超过300个字"})
    with transaction.atomic():
        declaration = _get_for_update(actor, receipt)
        entry_window_guard(actor=actor, region_code=declaration.village_id)  # W7: closed after a campaign's entry
        if declaration.stage == Declaration.Stage.CLOSED:
            raise WorkflowError("该申报已办结")
        before = _audit_after(declaration)
        declaration.stage = Declaration.Stage.CLOSED
        declaration.note = note
        declaration.save()
        audit_record(
            actor=actor, action="declaration.close", object_type="declaration", object_key=declaration.receipt,
            before=before, after=_audit_after(declaration),
            household_key=declaration.household.household_number if declaration.household else "",
            region_code=declaration.village_id, comment=note,
        )
    return declaration
