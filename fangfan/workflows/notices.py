"""Public notices (公示; rules.md S4) and their objections.

A notice list shows name (the household head), village group, the proposed change and the
reason — never ID numbers, incomes or health details (roles.md privacy)."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from fangfan.common import codes as C
from fangfan.common.safe import XLSX_OPTIONS
from fangfan.workflows.calendar import notice_closable_from, notice_last_day
from fangfan.workflows.engine import Transition, same_state
from fangfan.workflows.models import Case, Notice, Objection

LEVEL_LABEL = dict(Notice.Level.choices)


def open_notice(*, case: Case, level: str, on: dt.date, days: int, proposal: str, reason: str) -> Notice:
    return Notice.objects.create(case=case, level=level, starts_on=on, days=days, proposal=proposal, reason=reason)


def current_notice(case: Case, level: str) -> Notice | None:
    return case.notices.filter(level=level, closed_on__isnull=True, cancelled=False).order_by("-id").first()


def cancel_open_notices(case: Case, on: dt.date) -> None:
    """A case sent back or rejected during its notice: the notice ends, kept for the record."""
    case.notices.filter(closed_on__isnull=True).update(closed_on=on, cancelled=True)


def cancel_notices_effect(ctx) -> None:
    """Effect of a rejection or send-back: the case's running notices end (cancel_open_notices)."""
    cancel_open_notices(ctx.case, ctx.on)


def objection_transitions(sources: tuple[str, ...], level_states: dict[str, str], roles) -> tuple:
    """The two steps every notice has (公示异议): raising an objection and answering it, in the
    notice states `sources`; the case stays where it is."""
    return (
        Transition("raise_objection", "登记公示异议", sources, same_state, roles, requires=("content",),
                   effect=objection_raise_effect(level_states), record=False),
        Transition("answer_objection", "异议调查答复", sources, same_state, roles,
                   requires=("objection", "investigation", "answer", "outcome"),
                   guards=(open_objection_guard(level_states),),
                   checks=(objection_answer_check,), effect=objection_answer_effect, record=False),
    )


def last_day(notice: Notice) -> dt.date:
    return notice_last_day(notice.starts_on, notice.days)


def closable_from(notice: Notice) -> dt.date:
    return notice_closable_from(notice.starts_on, notice.days)


def notice_over_guard(level: str):
    """Guard: the notice of `level` has run its days (may be closed from D+N)."""

    def guard(ctx) -> str | None:
        notice = current_notice(ctx.case, level)
        if notice is None:
            return f"没有进行中的{LEVEL_LABEL[level]}"
        if ctx.on < closable_from(notice):
            return (
                f"{LEVEL_LABEL[level]}自{notice.starts_on:%Y-%m-%d}起{notice.days}天, "
                f"至{last_day(notice):%Y-%m-%d}止, {closable_from(notice):%Y-%m-%d}起方可结束"
            )
        return None

    return guard


def objections_answered_guard(level: str):
    """Guard: every objection of the current notice investigated and answered, none upheld."""

    def guard(ctx) -> str | None:
        notice = current_notice(ctx.case, level)
        if notice is None:
            return None
        open_ids = [o.pk for o in notice.objections.all() if not o.is_answered]
        if open_ids:
            return f"公示期间的异议尚未调查答复 (异议编号 {', '.join(map(str, open_ids))})"
        upheld = [o.pk for o in notice.objections.all() if o.outcome == Objection.Outcome.UPHELD]
        if upheld:
            return f"异议经核实成立 (异议编号 {', '.join(map(str, upheld))}), 请退回或不予通过"
        return None

    return guard


def open_objection_guard(level_states: dict[str, str]):
    """Guard of answer_objection: the running notice has an objection waiting for its answer
    (otherwise the form would offer an empty choice that can only be refused)."""

    def guard(ctx) -> str | None:
        level = level_states.get(ctx.case.state)
        notice = current_notice(ctx.case, level) if level else None
        if notice is None or all(o.is_answered for o in notice.objections.all()):
            return "本次公示没有待调查答复的异议"
        return None

    return guard


def objection_raise_effect(level_states: dict[str, str]):
    """Effect of the raise_objection transition: an Objection on the running notice."""

    def effect(ctx) -> None:
        level = level_states[ctx.case.state]
        notice = current_notice(ctx.case, level)
        if notice is None:
            from fangfan.workflows.errors import GuardFailed

            raise GuardFailed(f"没有进行中的{LEVEL_LABEL[level]}")
        objection = Objection.objects.create(
            case=ctx.case, notice=notice, raised_on=ctx.on, raised_by=str(ctx.data.get("raised_by", "")),
            content=str(ctx.data["content"]),
        )
        ctx.result["objection"] = objection.pk

    return effect


def objection_answer_check(ctx) -> str | None:
    try:
        objection = ctx.case.objections.get(pk=int(ctx.data["objection"]))
    except (Objection.DoesNotExist, ValueError, TypeError):
        return f"异议 {ctx.data.get('objection')} 不属于本案件"
    if objection.is_answered:
        return f"异议 {objection.pk} 已答复"
    if ctx.data.get("outcome") not in Objection.Outcome.values:
        return "异议结论须为 dismissed (不成立) 或 upheld (成立)"
    return None


def objection_answer_effect(ctx) -> None:
    Objection.objects.filter(pk=int(ctx.data["objection"])).update(
        investigation=str(ctx.data["investigation"]), answer=str(ctx.data["answer"]),
        outcome=ctx.data["outcome"], answered_on=ctx.on,
    )


def close_notice_effect(level: str):
    def effect(ctx) -> None:
        notice = current_notice(ctx.case, level)
        Notice.objects.filter(pk=notice.pk).update(closed_on=ctx.on)
        ctx.result["notice"] = {"id": notice.pk, "starts_on": notice.starts_on, "days": notice.days}

    return effect


# ---- the printable list ------------------------------------------------------------------

@dataclass(frozen=True)
class NoticeRow:
    name: str
    village_group: str
    proposal: str
    reason: str
    level: str
    starts_on: dt.date
    ends_on: dt.date


def _head_name(household) -> str:
    heads = [m for m in household.members.all() if m.relation == "head" and m.status == "normal"]
    return heads[0].name if heads else ""


def _village_group(household) -> str:
    extra = household.extra or {}
    return str(extra.get("village_group") or extra.get("村民小组") or "")


def notice_rows(notices) -> list[NoticeRow]:
    rows = []
    for n in notices:
        household = n.case.household
        rows.append(
            NoticeRow(
                name=_head_name(household), village_group=_village_group(household), proposal=n.proposal,
                reason=n.reason, level=LEVEL_LABEL[n.level], starts_on=n.starts_on, ends_on=last_day(n),
            )
        )
    return rows


def risk_reason(risks) -> str:
    """The reason printed on a notice: risk kinds by label (因病, 因学 ...), no details."""
    codes = [r for r in (risks or []) if r in C.RISK.codes]
    return "、".join(C.RISK.label(r) for r in codes)


XLSX_HEADERS = ("序号", "户主姓名", "村民小组", "公示事项", "理由", "公示级别", "公示开始", "公示截止")


def notice_xlsx(rows: list[NoticeRow], title: str) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, **XLSX_OPTIONS})  # text as text (common.safe)
    sheet = book.add_worksheet("公示名单")
    bold = book.add_format({"bold": True})
    sheet.write(0, 0, title, bold)
    for col, header in enumerate(XLSX_HEADERS):
        sheet.write(2, col, header, bold)
    for i, row in enumerate(rows, start=1):
        values = (i, row.name, row.village_group, row.proposal, row.reason, row.level,
                  row.starts_on.isoformat(), row.ends_on.isoformat())
        for col, value in enumerate(values):
            sheet.write(2 + i, col, value)
    sheet.set_column(1, 4, 18)
    book.close()
    return buffer.getvalue()
