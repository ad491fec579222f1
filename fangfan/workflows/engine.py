"""The workflow mechanism every case type uses.

A workflow is a table of transitions declared in one place (identification.py,
elimination.py): name, from-states, to-state, the roles that may fire it, guards, and what
must be recorded. `fire` checks the state, the role, the region scope (the case's village
must be inside the actor's region), the required records and the guards, then — in one
transaction — claims the case with an optimistic-lock UPDATE (WHERE version = the version
the caller saw; 0 rows → ConcurrentEditError), runs the transition's effect, and writes a
CaseEvent and an AuditEvent. Nothing is deleted; terminal states keep their history."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from fangfan.accounts.models import Role
from fangfan.audit.services import audit_record
from fangfan.regions.scope import in_scope
from fangfan.workflows.errors import ConcurrentEditError, GuardFailed, NotAllowed, WorkflowError
from fangfan.workflows.models import Case, CaseEvent

# Who does what (roles.md): village staff run the village steps; a township user may do
# everything of its villages plus the township steps; the county rural-revitalisation bureau
# compares and approves. System administrators make no case decisions.
VILLAGE_STEP = frozenset({Role.VILLAGE, Role.TOWNSHIP})
TOWNSHIP_STEP = frozenset({Role.TOWNSHIP})
COUNTY_STEP = frozenset({Role.COUNTY_RR})

Guard = Callable[["Context"], "str | None"]  # returns the reason the step is blocked, or None


@dataclass
class Context:
    case: Case
    actor: Any
    on: dt.date
    data: dict
    comment: str = ""
    attachments: list = field(default_factory=list)
    result: dict = field(default_factory=dict)  # what the effect adds to the event payload


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str | Callable[[Context], str]
    roles: frozenset | Callable[[Case], frozenset]
    guards: tuple[Guard, ...] = ()  # conditions of the case (records present, notice over ...)
    checks: tuple[Guard, ...] = ()  # checks of the submitted data (run only when firing)
    requires: tuple[str, ...] = ()  # keys of `data` that must be present and not empty
    needs_comment: bool = False  # a reason is required (reject, send back, requests)
    effect: Callable[[Context], None] | None = None
    record: bool = True  # keep the payload under case.data[name]

    def roles_for(self, case: Case) -> frozenset:
        return self.roles(case) if callable(self.roles) else self.roles

    def target_for(self, ctx: Context) -> str:
        return self.target(ctx) if callable(self.target) else self.target


@dataclass(frozen=True)
class Workflow:
    kind: str
    label: str
    states: dict[str, str]  # code → Chinese label
    initial: str
    terminal: frozenset[str]
    transitions: tuple[Transition, ...]
    open_roles: frozenset
    level_of_state: dict[str, str] = field(default_factory=dict)  # pending level for overdue lists

    def __post_init__(self):
        names = [t.name for t in self.transitions]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.kind}: duplicate transition names")
        for t in self.transitions:
            unknown = set(t.sources) - set(self.states)
            if unknown or (isinstance(t.target, str) and t.target not in self.states):
                raise ValueError(f"{self.kind}.{t.name}: unknown state {unknown or t.target}")

    def transition(self, name: str) -> Transition:
        for t in self.transitions:
            if t.name == name:
                return t
        raise WorkflowError(f"「{self.label}」没有名为 {name} 的操作")

    def state_label(self, state: str) -> str:
        return self.states.get(state, state)


_WORKFLOWS: dict[str, Workflow] = {}


def same_state(ctx: Context) -> str:
    """Target of a step that records something without moving the case (consent, an objection)."""
    return ctx.case.state


def register(workflow: Workflow) -> Workflow:
    _WORKFLOWS[workflow.kind] = workflow
    return workflow


def workflow_for(kind: str) -> Workflow:
    if kind not in _WORKFLOWS:
        # The tables register themselves on import.
        from fangfan.workflows import elimination, identification, lowincome  # noqa: F401
    try:
        return _WORKFLOWS[kind]
    except KeyError:
        raise WorkflowError(f"未知的案件类型: {kind}") from None


def _role_names(roles: Iterable) -> str:
    return "、".join(Role(r).label for r in roles) or "无"


def check_actor(case: Case, t: Transition, actor) -> None:
    """Role and region scope, or NotAllowed with the reason."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAllowed("未登录的用户不能办理案件")
    roles = t.roles_for(case)
    if actor.role not in roles:
        raise NotAllowed(f"「{t.label}」须由{_role_names(roles)}办理, 当前账号角色为{Role(actor.role).label}")
    if not in_scope(actor, case.village_code):
        raise NotAllowed("该户不在本账号的管辖范围内")


def _missing(data: dict, keys: Iterable[str]) -> list[str]:
    return [k for k in keys if data.get(k) in (None, "", [], {})]


def blocked_reasons(case: Case, t: Transition, ctx: Context) -> list[str]:
    wf = workflow_for(case.kind)
    reasons = []
    if case.state not in t.sources:
        reasons.append(f"当前状态为「{wf.state_label(case.state)}」, 不能执行「{t.label}」")
        return reasons
    if t.needs_comment and not ctx.comment.strip():
        reasons.append(f"「{t.label}」须填写理由")
    missing = _missing(ctx.data, t.requires)
    if missing:
        reasons.append(f"「{t.label}」缺少记录: {', '.join(missing)}")
    if missing:
        return reasons
    for guard in (*t.guards, *t.checks):
        reason = guard(ctx)
        if reason:
            reasons.append(reason)
    return reasons


def fire(
    case: Case | int,
    name: str,
    *,
    actor,
    seen_version: int,
    on: dt.date | None = None,
    comment: str = "",
    attachments: Iterable[str] = (),
    data: dict | None = None,
) -> Case:
    """Fire transition `name` on a case the caller loaded at `seen_version`."""
    case_id = case.pk if isinstance(case, Case) else int(case)
    on = on or timezone.localdate()
    with transaction.atomic():
        try:
            current = Case.objects.select_related("household").get(pk=case_id)
        except Case.DoesNotExist:
            raise WorkflowError(f"案件 {case_id} 不存在") from None
        wf = workflow_for(current.kind)
        t = wf.transition(name)
        check_actor(current, t, actor)
        if current.version != seen_version:
            raise ConcurrentEditError(_stale_message(current, seen_version))
        ctx = Context(
            case=current, actor=actor, on=on, data=dict(data or {}), comment=comment,
            attachments=[str(a) for a in attachments],
        )
        reasons = blocked_reasons(current, t, ctx)
        if reasons:
            raise GuardFailed("; ".join(reasons))
        from_state = current.state
        to_state = t.target_for(ctx)
        closed_on = on if to_state in wf.terminal else None
        # The claim: only one of two sessions that saw the same version gets a row here.
        claimed = Case.objects.filter(pk=case_id, version=seen_version).update(
            state=to_state, version=F("version") + 1, closed_on=closed_on, updated_at=timezone.now()
        )
        if claimed != 1:
            raise ConcurrentEditError(_stale_message(Case.objects.get(pk=case_id), seen_version))
        current.state, current.version, current.closed_on = to_state, seen_version + 1, closed_on
        if t.effect:
            t.effect(ctx)
        payload = {**ctx.data, **ctx.result}
        if t.record:
            current.data = {**current.data, t.name: _jsonable(payload)}
        Case.objects.filter(pk=case_id).update(data=current.data, green_channel=current.green_channel)
        _record(current, t.name, t.label, from_state, to_state, actor, on, comment, ctx.attachments, payload)
    return current


def _stale_message(current: Case, seen: int) -> str:
    return (
        f"案件 {current.pk} 已被他人修改 (您看到的是第{seen}版, 现在是第{current.version}版, "
        f"状态「{workflow_for(current.kind).state_label(current.state)}」), 请刷新后重试"
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _record(case, name, label, from_state, to_state, actor, on, comment, attachments, payload) -> CaseEvent:
    payload = _jsonable(payload)
    event = CaseEvent.objects.create(
        case=case, transition=name, label=label, from_state=from_state, to_state=to_state,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "system"), actor_role=getattr(actor, "role", ""),
        effective_on=on, comment=comment, attachments=list(attachments), payload=payload, version=case.version,
    )
    audit_record(
        actor=actor, action=f"case.{case.kind}.{name}", object_type="case", object_key=str(case.pk),
        before={"state": from_state}, after={"state": to_state, "version": case.version, "event": event.pk},
        household_key=case.household.household_number, region_code=case.village_code, comment=comment,
    )
    return event


def open_case(
    *,
    kind: str,
    household,
    actor,
    on: dt.date,
    channel: str = "",
    reason: str = "",
    data: dict | None = None,
    state: str | None = None,
    green_channel: bool = False,
    attachments: Iterable[str] = (),
) -> Case:
    """Create a case in its initial state (call inside the caller's transaction)."""
    wf = workflow_for(kind)
    if actor is None or getattr(actor, "role", None) not in wf.open_roles:
        raise NotAllowed(f"「{wf.label}」须由{_role_names(wf.open_roles)}发起")
    if not in_scope(actor, household.village_id):
        raise NotAllowed("该户不在本账号的管辖范围内")
    try:
        with transaction.atomic():
            case = Case.objects.create(
                kind=kind, household=household, village_code=household.village_id, state=state or wf.initial,
                channel=channel, opened_on=on, reason=reason, data=_jsonable(data or {}),
                # An actor that is no user row (the public self-declaration intake) is named in
                # the case event and audit row, as _record does, not in this foreign key.
                opened_by=actor if getattr(actor, "pk", None) else None,
                green_channel=green_channel,
            )
    except IntegrityError:
        raise ConcurrentEditError(f"户 {household.household_number} 已有办理中的「{wf.label}」案件") from None
    _record(case, "open", "发起", "", case.state, actor, on, reason, [str(a) for a in attachments], data or {})
    return case


def available(case: Case, actor, on: dt.date | None = None) -> list[tuple[Transition, list[str]]]:
    """Transitions this actor may fire on the case now, each with what still blocks it
    (required records are not counted: they come with the call)."""
    wf = workflow_for(case.kind)
    on = on or timezone.localdate()
    out = []
    for t in wf.transitions:
        if case.state not in t.sources:
            continue
        try:
            check_actor(case, t, actor)
        except NotAllowed:
            continue
        ctx = Context(case=case, actor=actor, on=on, data={}, comment="-")
        reasons = [r for g in t.guards if (r := g(ctx))]
        out.append((t, reasons))
    return out
