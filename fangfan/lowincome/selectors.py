"""Reads of the low-income app, scoped by the acting user's region."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import QuerySet

from fangfan.accounts.models import Role
from fangfan.accounts.permissions import role_of
from fangfan.common.money import div_half_up, format_yuan
from fangfan.lowincome.models import Enrolment, PaymentLine, PaymentList, Programme
from fangfan.regions.scope import code_range_q, prefix_for

CLASS_LABEL = {
    "tekun": "特困", "dibao": "低保", "dibao_eligible": "符合低保条件 (未纳入低保)", "dibao_marginal": "低保边缘",
    "expense_hardship": "支出型困难",
}
COLOUR_LABEL = {"red": "红色", "orange": "橙色", "yellow": "黄色"}
# Who reads the payment lists: 县民政局 acts, 县乡村振兴局 reads, townships read their own, and the
# supervisors above.
PAYMENT_READERS = frozenset({Role.COUNTY_CA, Role.COUNTY_RR, Role.TOWNSHIP, Role.CITY, Role.PROVINCE})


def _y(fen) -> str:
    return "—" if fen is None else format_yuan(int(fen))


def _d(value) -> str:
    return f"{Decimal(str(value)).normalize():f}"


def _fen(value) -> int:
    return int((Decimal(str(value)) * 100).to_integral_value())


def household_lowincome(*, household, members: list, result, incomes: list, on: dt.date | None = None) -> dict:
    """The 低保/特困 section of the household file: the class with the comparisons behind it (as the
    rules of rules.md 'Low-income classes' make them, on the stored result's date and parameters),
    the members in 低保/特困, 应保未保, single-person candidates, the three colours, the enrolments and,
    for a 低保 household, this month's C1 top-up with its arithmetic."""
    from fangfan.screening.parameters import current_parameters

    on = result.as_of if result is not None else (on or dt.date.today())
    params = current_parameters()
    code = household.village_id

    def value(name):
        pv = params.get(name, code, on)
        return (None, "") if pv is None or pv.value is None else (pv.value, pv.source)

    line, line_src = value("dibao.line_rural_year")
    k, k_src = value("dibao.marginal_multiplier")
    local, local_src = value("local.disposable_income_per_capita")
    em, em_src = value("dibao.expense_hardship_line_multiplier")
    om, om_src = value("warning.orange_multiplier")
    normal = [m for m in members if getattr(m, "status", "normal") == "normal"]
    in_tekun = [m.name for m in normal if m.tekun]
    in_dibao = [m.name for m in normal if m.dibao]
    steps: list[dict] = []
    cls = result.low_income_class if result is not None else ""
    pcd = result.per_capita_dibao_income if result is not None else None
    if in_tekun:
        steps.append({"text": f"成员 {'、'.join(in_tekun)} 享受特困供养 → 特困", "holds": True})
    elif in_dibao:
        steps.append({"text": f"成员 {'、'.join(in_dibao)} 享受低保 → 低保", "holds": True})
    if line is None:
        steps.append({"text": "本县未设定农村低保标准 (dibao.line_rural_year): 只能依据成员身份认定特困、低保, "
                              "三色预警为空, 不判断应保未保", "holds": None})
    elif pcd is not None and not (in_tekun or in_dibao):
        L = _fen(line)
        steps.append({"text": f"低保口径人均收入 {_y(pcd)} 元 {'<' if pcd < L else '≥'} 低保标准 L {_y(L)} 元 [{line_src}]"
                              + (" → 符合低保条件" if pcd < L else ""), "holds": pcd < L})
        if pcd >= L and k is not None:
            kl = Decimal(str(k)) * L
            steps.append({"text": f"{_y(pcd)} {'<' if pcd < kl else '≥'} {_d(k)} × L = {_y(int(kl))} 元 [{k_src}]"
                                  + (" → 低保边缘" if pcd < kl else ""), "holds": pcd < kl})
            if pcd >= kl and local is not None and em is not None:
                year = result.year
                row = next((a for a in incomes if a.year == year), None)
                size = result.household_size or 0
                if row is not None and size:
                    per = div_half_up(row.dibao_income - row.rigid_expense, size)
                    line_e = Decimal(str(em)) * L
                    lf = _fen(local)
                    holds = pcd < lf and per < line_e
                    steps.append({"text": (
                        f"支出型困难: {_y(pcd)} {'<' if pcd < lf else '≥'} 上年人均可支配收入 {_y(lf)} 元 [{local_src}], "
                        f"(低保核算收入 {_y(row.dibao_income)} − 刚性支出 {_y(row.rigid_expense)}) ÷ {size} = {_y(per)} "
                        f"{'<' if per < line_e else '≥'} {_d(em)} × L = {_y(int(line_e))} 元 [{em_src}]"
                        + (" → 支出型困难" if holds else "")), "holds": holds})
    colour = result.warning_color if result is not None else ""
    colour_reason = ""
    if colour == "red":
        colour_reason = "突发严重困难 (M2) 且低保口径人均收入不低于低保标准"
    elif colour == "orange" and line is not None:
        colour_reason = f"L ≤ 低保口径人均收入 < {_d(om)} × L [{om_src}]"
    elif colour == "yellow":
        colour_reason = "监测对象 (未消除) 或曾享受低保特困"
    # The screening result names the candidates by the blind index of their ID (registry.dbframes).
    candidates = set((result.single_person_dibao or "").split(";")) - {""} if result is not None else set()
    single = [m.name for m in normal if m.id_index in candidates]
    enrolments = list(Enrolment.objects.filter(household=household).order_by("-starts_on", "-id"))
    topup = None
    if (in_dibao and not in_tekun) or in_tekun:
        topup = _this_month(household, on)
    return {
        "class": cls, "class_label": CLASS_LABEL.get(cls or "", "无"), "steps": steps,
        "line": None if line is None else _fen(line), "in_tekun": in_tekun, "in_dibao": in_dibao,
        "unserved": bool(result is not None and result.dibao_unserved), "single_person": single,
        "colour": colour, "colour_label": COLOUR_LABEL.get(colour or "", ""), "colour_reason": colour_reason,
        "enrolments": [{"e": e, "programme": Programme(e.programme).label} for e in enrolments],
        "topup": topup, "as_of": on if result is not None else None,
    }


def _this_month(household, on: dt.date) -> list[dict]:
    """The household's dues of the month of `on` (as the payment list computes them)."""
    from fangfan.lowincome.payments import month_dues

    try:
        dues, problems = month_dues(household.village_id, on.replace(day=1))
    except Exception as exc:  # the section must not break the household file; say why instead
        return [{"programme": "", "amount": "", "arithmetic": f"无法计算: {exc}"}]
    out = [{"programme": Programme(d.programme).label, "amount": format_yuan(d.amount), "arithmetic": d.arithmetic}
           for (number, _), d in dues.items() if number == household.household_number]
    return out or [{"programme": "", "amount": "", "arithmetic": "; ".join(problems) or "本月无发放"}]


# ---- payment lists ------------------------------------------------------------------------------

def may_read_payments(actor) -> bool:
    return role_of(actor) in PAYMENT_READERS


def payment_lists(*, actor) -> QuerySet[PaymentList]:
    if not may_read_payments(actor):
        return PaymentList.objects.none()
    prefix = prefix_for(actor)
    if prefix is None:
        return PaymentList.objects.none()
    return PaymentList.objects.filter(township_code__startswith=prefix[:9])


def payment_lines(payment_list: PaymentList) -> QuerySet[PaymentLine]:
    return payment_list.lines.select_related("household__village").order_by(
        "village_code", "household__household_number", "programme", "for_month", "id")


def enrolments(*, actor) -> QuerySet[Enrolment]:
    prefix = prefix_for(actor)
    if prefix is None or role_of(actor) not in (*PAYMENT_READERS, Role.VILLAGE):
        return Enrolment.objects.none()
    return Enrolment.objects.filter(code_range_q("household__village_id", prefix)).select_related("household__village")


# ---- 临时救助 ------------------------------------------------------------------------------------

TEMP_AID_READERS = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_CA, Role.COUNTY_RR, Role.CITY, Role.PROVINCE})


def temp_aids(*, actor):
    """The temporary-assistance records of the actor's region (household-blind roles see none)."""
    from fangfan.lowincome.models import TempAid

    prefix = prefix_for(actor)
    if prefix is None or role_of(actor) not in TEMP_AID_READERS:
        return TempAid.objects.none()
    return TempAid.objects.filter(code_range_q("village_code", prefix)).select_related("household")


def temp_aid_actions(actor, aid) -> list[tuple[str, str]]:
    """(action, label) the actor may take on the record now."""
    from fangfan.lowincome.models import TempAid

    role = role_of(actor)
    if aid.state == TempAid.State.TOWNSHIP and role == Role.TOWNSHIP:
        return [("review_approve", "乡镇审核通过" + (" (报县民政局)" if aid.level == "county" else " 并发放")),
                ("review_refuse", "不予救助")]
    if aid.state == TempAid.State.COUNTY and role == Role.COUNTY_CA:
        return [("decide_approve", "县民政局批准发放"), ("decide_refuse", "不予救助")]
    if aid.state == TempAid.State.URGENT_PAID and role in (Role.VILLAGE, Role.TOWNSHIP):
        return [("papers", "补齐材料")]
    return []
