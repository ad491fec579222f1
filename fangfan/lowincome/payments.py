"""Monthly payment lists (issue 12 item 3): C1 低保补差 per 低保 household and 特困 basic living
support per 特困 person, per township and month, each amount with its arithmetic.

The amounts are computed from the registry as it is now (members, incomes, the county's 低保 line:
the same I4 income accounting the rules use, evaluate_tables), so a draft list follows every
change. A list the 县民政局 marked paid is never rewritten: building a later month compares each
paid month (up to CORRECTION_MONTHS back) with what it should have been on today's data and puts
the difference in as a correction line (补发 or 扣回) with both figures.

Money is integer fen; rounding half-up at the cent exactly as fangfan.policy.calc (C1) does."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from fangfan.common.dates import add_months
from fangfan.common.money import div_half_up, format_yuan
from fangfan.lowincome.models import Enrolment, PaymentLine, PaymentList, Programme
from fangfan.lowincome.services import LowIncomeError, member_keys
from fangfan.regions.scope import code_range_q, code_range_sql

CORRECTION_MONTHS = 12  # how far back a paid month is compared with today's data


def month_of(text: str) -> dt.date:
    """'2026-03' → 2026-03-01, or a Chinese error."""
    try:
        year, month = str(text).strip().split("-")
        return dt.date(int(year), int(month), 1)
    except (ValueError, TypeError):
        raise LowIncomeError(f"月份 {text!r} 无效, 应为 YYYY-MM, 如 2026-03") from None


def month_end(month: dt.date) -> dt.date:
    return add_months(month, 1) - dt.timedelta(days=1)


def _yuan(fen: int) -> str:
    return format_yuan(fen)


def _half_up_div(numerator: int, denominator: int) -> int:
    return div_half_up(numerator, denominator)


def _fen(value: Decimal) -> int:
    return int((Decimal(value) * 100).to_integral_value())


@dataclass
class Due:
    household_number: str
    village_code: str
    programme: str
    persons: int
    members: list[str]  # the covered members' blind indexes (registry.Member.id_index)
    amount: int  # fen
    arithmetic: str


@dataclass
class Rates:
    """A village's parameters of the month (fen, ratios as Decimal), with their sources."""
    line: int | None
    line_src: str
    minimum: int
    minimum_src: str
    key_rate: Decimal
    key_src: str
    tekun_ratio: Decimal
    tekun_src: str


def _rates(params, code: str, on: dt.date) -> Rates:
    def get(name):
        pv = params.get(name, code, on)
        return (None, "") if pv is None or pv.value is None else (pv.value, pv.source)

    line, line_src = get("dibao.line_rural_year")
    minimum, minimum_src = get("dibao.min_topup_month")
    rate, rate_src = get("dibao.key_group_rate")
    ratio, ratio_src = get("dibao.tekun_living_ratio")
    return Rates(None if line is None else _fen(line), line_src, _fen(minimum or 0), minimum_src,
                 Decimal(str(rate or 0)), rate_src, Decimal(str(ratio or 0)), ratio_src)


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _age(birth: dt.date | None, on: dt.date) -> int | None:
    if birth is None:
        return None
    years = on.year - birth.year
    return years - 1 if (on.month, on.day) < (birth.month, birth.day) else years


def key_reason(member: dict, on: dt.date) -> str | None:
    """The C1 key group (篇五 (三)): ≥ 70, < 18, 重残 (一/二级), 患有大病 — as calc.key_group_reason."""
    age = _age(member["birth_date"], on)
    if age is not None and age >= 70:
        return f"{age}周岁(70周岁以上)"
    if age is not None and age < 18:
        return f"{age}周岁(未成年人)"
    if member["disability_grade"] in ("1", "2"):
        return f"{'一' if member['disability_grade'] == '1' else '二'}级残疾(重残)"
    if "serious_illness" in (member["health"] or "").split(";"):
        return "患有大病"
    return None


def topup(rates: Rates, *, size: int, pcd: int, members: list[dict], on: dt.date, note: str = "") -> tuple[int, str]:
    """C1 in fen with the arithmetic of fangfan.policy.calc.dibao_topup."""
    L = rates.line
    lines = [note] if note else []
    lines.append(f"低保标准 L = {_yuan(L)} 元/人·年 [{rates.line_src}]")
    gap = _half_up_div((L - pcd) * size, 12)
    base = max(rates.minimum, gap)
    lines.append(f"月补差 = max(最低补差 {_yuan(rates.minimum)}, ({_yuan(L)} − {_yuan(pcd)}) ÷ 12 × {size} = "
                 f"{_yuan(gap)}) = {_yuan(base)} 元 [{rates.minimum_src}; 篇五 (三)]")
    if pcd >= L:
        lines.append("注: 人均低保收入不低于低保标准,应按渐退 (C2) 处理")
    count = 0
    for m in members:
        reason = key_reason(m, on)
        if reason:
            count += 1
            lines.append(f"重点保障: {m['name']} — {reason}")
    # rate × L ÷ 12 rounded half-up at the cent (L in fen, rate exact).
    each = int((rates.key_rate * L / 12).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    supplement = each * count
    lines.append(f"重点保障增发 = {_pct(rates.key_rate)} × {_yuan(L)} ÷ 12 = {_yuan(each)} 元/人·月 × {count} 人 = "
                 f"{_yuan(supplement)} 元 [{rates.key_src}]")
    total = base + supplement
    lines.append(f"每月发放 = {_yuan(base)} + {_yuan(supplement)} = {_yuan(total)} 元")
    return total, "; ".join(lines)


def tekun_support(rates: Rates, persons: list[dict]) -> tuple[int, str]:
    L = rates.line
    each = int((rates.tekun_ratio * L / 12).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    total = each * len(persons)
    names = "、".join(p["name"] for p in persons)
    return total, (f"特困人员基本生活标准 = {rates.tekun_ratio.normalize():f} × 低保标准 {_yuan(L)} ÷ 12 = {_yuan(each)} "
                   f"元/人·月 [{rates.tekun_src}; {rates.line_src}] × {len(persons)} 人 ({names}) = {_yuan(total)} 元")


# ---- reading ---------------------------------------------------------------------------------

def _flagged_where(prefix: str, extra_lists: list[int] | None) -> tuple[str, list]:
    region, params = code_range_sql("h.village_code", prefix)
    # Not correlated: planned as one hash of the few flagged households, whatever the statistics.
    flagged = ("h.id IN (SELECT fm.household_id FROM registry_member fm "
               "WHERE (fm.dibao OR fm.tekun) AND fm.status = 'normal')")
    if extra_lists:
        marks = ", ".join(["%s"] * len(extra_lists))
        flagged = (f"({flagged} OR h.id IN (SELECT household_id FROM lowincome_paymentline "
                   f"WHERE payment_list_id IN ({marks})))")
        params = [*params, *extra_lists]
    return (f"{region} AND {flagged}" if region else flagged), params


def _read(prefix: str, on: dt.date, params, extra_lists: list[int] | None):
    """(evaluated households frame, members by household number) of the region's households with a
    正常 member in 低保/特困 (plus those of a paid list being compared)."""
    from fangfan.policy.evaluate import evaluate_tables
    from fangfan.registry.bulk import fetch_frame
    from fangfan.registry.dbframes import read_tables

    where = _flagged_where(prefix, extra_lists)
    tables = read_tables(where=where)
    if tables["households"].height == 0:
        return None, {}
    evaluated = evaluate_tables(tables, as_of=on, params=params).select(
        "household_id", "village_code", "household_size", "per_capita_dibao_income")
    # The member's key is the blind index of the ID (the plain ID is not needed to pay).
    sql = ("SELECT h.household_number AS household_id, m.id_index, m.name, m.birth_date, m.health, "
           "m.disability_grade, m.dibao, m.tekun FROM registry_member m JOIN registry_household h "
           f"ON h.id = m.household_id WHERE m.status = 'normal' AND {where[0]} ORDER BY m.household_id, m.id")
    members = fetch_frame(sql, where[1], {"household_id": pl.String, "id_index": pl.String, "name": pl.String,
                                         "birth_date": pl.Date, "health": pl.String, "disability_grade": pl.String,
                                         "dibao": pl.Boolean, "tekun": pl.Boolean})
    by_household: dict[str, list[dict]] = defaultdict(list)
    for row in members.iter_rows(named=True):
        by_household[row["household_id"]].append(row)
    return evaluated, by_household


def _enrolments(prefix: str, first: dt.date, last: dt.date) -> dict[str, list[Enrolment]]:
    qs = Enrolment.objects.filter(starts_on__lte=last).exclude(exited_on__lt=first).select_related("household")
    if prefix:
        qs = qs.filter(code_range_q("household__village_id", prefix))
    out: dict[str, list[Enrolment]] = defaultdict(list)
    for e in qs:
        out[e.household.household_number].append(e)
    return out


def month_dues(prefix: str, month: dt.date, params=None, *, coverage: dict | None = None,
               extra_lists: list[int] | None = None) -> tuple[dict[tuple[str, str], Due], list[str]]:
    """What each household of the region is due for `month` on today's data: {(户编号, programme): Due}
    and the problems (villages without a 低保 line). `coverage` {(户编号, programme): [member keys]}
    replaces the registry flags (a paid month is recomputed for the people it paid)."""
    if params is None:
        from fangfan.screening.parameters import current_parameters

        params = current_parameters()
    first, last = month, month_end(month)
    evaluated, members = _read(prefix, last, params, extra_lists)
    covered_of: dict[str, dict[str, set]] = defaultdict(dict)
    for (n, p), ids in (coverage or {}).items():
        covered_of[n][p] = set(member_keys(ids))
    dues: dict[tuple[str, str], Due] = {}
    problems: dict[str, int] = {}
    if evaluated is None:
        return dues, []
    enrolments = _enrolments(prefix, first, last)
    rates_of: dict[str, Rates] = {}
    for number, code, size, pcd in evaluated.iter_rows():
        people = members.get(number, [])
        if code not in rates_of:
            rates_of[code] = _rates(params, code, last)
        rates = rates_of[code]
        mine = {e.programme: e for e in enrolments.get(number, [])}
        if coverage is not None:
            wanted = dict(covered_of.get(number, {}))
        else:
            wanted = {}
            tekun = {m["id_index"] for m in people if m["tekun"]}
            dibao = {m["id_index"] for m in people if m["dibao"] and not m["tekun"]}
            if tekun:
                wanted["tekun"] = tekun
            if dibao:
                single = mine.get("single_person")
                wanted["single_person" if single else "dibao"] = dibao
        # An enrolment not yet started, or ended, in this month pays nothing for it.
        for programme in list(wanted):
            e = mine.get(programme) or (mine.get("dibao") if programme == "single_person" else None)
            if e is not None and (e.starts_on > last or (e.exited_on and e.exited_on <= first)):
                del wanted[programme]
        if not wanted:
            continue
        if rates.line is None:
            problems[code] = problems.get(code, 0) + 1
            continue
        for programme, ids in wanted.items():
            covered = [m for m in people if m["id_index"] in ids]
            due = _due(programme, number, code, size, pcd, people, covered, mine.get(programme), rates, first, last)
            if due is not None:
                dues[(number, programme)] = due
    return dues, [f"村 {code} 未设定农村低保标准 (dibao.line_rural_year), {n} 户无法计算" for code, n in problems.items()]


def _due(programme, number, code, size, pcd, people, covered, enrolment, rates, first, last) -> Due | None:
    if not covered:
        return None
    ids = [m["id_index"] for m in covered]
    if programme == "tekun":
        amount, text = tekun_support(rates, covered)
        return Due(number, code, programme, len(covered), ids, amount, text)
    if enrolment is not None and enrolment.phase_out_ends_on:
        if first >= enrolment.phase_out_ends_on:
            return None
        if enrolment.phase_out_from and enrolment.phase_out_from <= last and enrolment.kept_month is not None:
            text = (f"渐退期 (C2): {enrolment.phase_out_from:%Y-%m-%d} 起, {enrolment.phase_out_ends_on:%Y-%m-%d} 起停发; "
                    f"保持每月 {_yuan(enrolment.kept_month)} 元")
            persons = size if programme == "dibao" else len(covered)
            return Due(number, code, programme, persons, ids, enrolment.kept_month, text)
    if programme == "single_person":
        own = enrolment.own_income_year if enrolment else 0
        n = len(covered)
        per = _half_up_div(own, n)
        note = f"参照单人户: {n} 人, 本人年收入 {_yuan(own)} 元 ÷ {n} = 人均 {_yuan(per)} 元"
        amount, text = topup(rates, size=n, pcd=per, members=covered, on=last, note=note)
        return Due(number, code, programme, n, ids, amount, text)
    if size == 0:
        return None
    if pcd is None:  # listed with nothing to pay rather than silently left out
        return Due(number, code, programme, size, [m["id_index"] for m in people], 0,
                   "缺少本年度收支数据, 无法计算补差 (请补录收支后重新生成)")
    note = f"家庭人口 {size} 人, 低保口径人均收入 {_yuan(pcd)} 元/年 (I4)"
    amount, text = topup(rates, size=size, pcd=pcd, members=people, on=last, note=note)
    return Due(number, code, programme, size, [m["id_index"] for m in people], amount, text)


def kept_amount(enrolment: Enrolment, starts_on: dt.date) -> tuple[int, str]:
    """The monthly amount a household keeps through its phase-out: the last regular line paid
    before it, or the top-up of the month it starts on today's data."""
    line = (PaymentLine.objects.filter(household=enrolment.household, programme=enrolment.programme,
                                       kind=PaymentLine.Kind.REGULAR, for_month__lt=starts_on.replace(day=1))
            .order_by("-for_month", "-id").first())
    if line is not None:
        return line.amount, f"按 {line.for_month:%Y-%m} 的发放额"
    dues, _ = month_dues(enrolment.household.village_id, starts_on.replace(day=1))
    due = dues.get((enrolment.household.household_number, enrolment.programme))
    return (due.amount, "按渐退开始当月的补差") if due else (0, "无可保持的发放额")


# ---- building the lists -------------------------------------------------------------------------

def _township(code: str) -> str:
    return code[:9]


def _corrections(prefix: str, month: dt.date, params) -> dict[str, list[PaymentLine]]:
    """Correction lines, by township, for the paid months of the region before `month`: each paid
    month is recomputed once for the whole region, for the people it paid (and anyone entered
    later with a start in that month), and compared with what was paid for it so far."""
    from fangfan.registry.models import Household

    out: dict[str, list[PaymentLine]] = defaultdict(list)
    paid_lists = PaymentList.objects.filter(code_range_q("township_code", prefix[:9]) if prefix else Q(),
                                            state=PaymentList.State.PAID, month__lt=month,
                                            month__gte=add_months(month, -CORRECTION_MONTHS))
    by_month: dict[dt.date, list[int]] = defaultdict(list)
    for pk, m in paid_lists.values_list("pk", "month"):
        by_month[m].append(pk)
    for paid_month, list_ids in sorted(by_month.items()):
        regular = PaymentLine.objects.filter(payment_list_id__in=list_ids, kind=PaymentLine.Kind.REGULAR)
        coverage = {(hh, p): list(ids) for hh, p, ids in
                    regular.values_list("household__household_number", "programme", "members")}
        later = Enrolment.objects.filter(starts_on__lte=paid_month, approved_on__gt=month_end(paid_month))
        if prefix:
            later = later.filter(code_range_q("household__village_id", prefix))
        for hh, p, ids in later.values_list("household__household_number", "programme", "members"):
            coverage.setdefault((hh, p), list(ids))
        if not coverage:
            continue
        dues, _ = month_dues(prefix, paid_month, params, coverage=coverage, extra_lists=list_ids)
        # Paid so far for that month: its own lines and the corrections in later paid lists.
        already: dict[tuple[str, str], int] = defaultdict(int)
        paid_lines = PaymentLine.objects.filter(for_month=paid_month, payment_list__state=PaymentList.State.PAID)
        if prefix:
            paid_lines = paid_lines.filter(code_range_q("payment_list__township_code", prefix[:9]))
        households: dict[str, tuple[int, str]] = {}
        for hh, pk, code, programme, amount in paid_lines.values_list(
                "household__household_number", "household_id", "village_code", "programme", "amount"):
            already[(hh, programme)] += amount
            households[hh] = (pk, code)
        for key in sorted(set(already) | set(dues)):
            due = dues.get(key)
            expected = due.amount if due else 0
            diff = expected - already.get(key, 0)
            if diff == 0:
                continue
            number, programme = key
            if number not in households:
                found = Household.objects.filter(household_number=number).values_list("pk", "village_id").first()
                households[number] = found
            household_id, code = households[number]
            why = due.arithmetic if due else "按现有数据该月不应发放"
            out[_township(code)].append(PaymentLine(
                household_id=household_id, village_code=code, programme=programme,
                kind=PaymentLine.Kind.CORRECTION, for_month=paid_month, persons=due.persons if due else 0,
                members=due.members if due else [], amount=diff,
                arithmetic=(f"更正 {paid_month:%Y-%m}: 按现有数据应发 {_yuan(expected)} 元 − 已发 "
                            f"{_yuan(already.get(key, 0))} 元 = {'补发' if diff > 0 else '扣回'} {_yuan(abs(diff))} 元; "
                            f"应发计算: {why}"),
            ))
    return out


def payment_lists_build(*, actor, month: dt.date, region: str = "", params=None) -> list[PaymentList]:
    """Build (or rebuild, while not paid) the lists of every township of the region for `month`."""
    from fangfan.accounts.models import Role
    from fangfan.audit.services import audit_record
    from fangfan.regions.scope import prefix_for
    from fangfan.registry.models import Household

    if actor is not None and getattr(actor, "role", None) != Role.COUNTY_CA:
        raise LowIncomeError("低保、特困发放名单由县民政局生成")
    own = "" if actor is None else (prefix_for(actor) or None)
    if own is None:
        raise LowIncomeError("本账号没有管辖范围")
    region = (region or "").strip()
    if region and (not region.isdigit() or len(region) not in (6, 9, 12)):
        raise LowIncomeError(f"区划代码 {region!r} 无效, 应为6位县代码或9位乡镇代码")
    prefix = region.rstrip("0") if len(region) == 12 else region
    prefix = prefix[:9] if len(prefix) > 9 else prefix
    if prefix and own and not prefix.startswith(own):
        raise LowIncomeError(f"区划 {region} 不在本账号的管辖范围 ({own}) 内")
    prefix = prefix or own
    if params is None:
        from fangfan.screening.parameters import current_parameters

        params = current_parameters()
    dues, problems = month_dues(prefix, month, params)
    if problems:
        raise LowIncomeError("不能生成发放名单: " + "; ".join(problems[:5]) + ("…" if len(problems) > 5 else ""))
    by_township: dict[str, list[Due]] = defaultdict(list)
    for due in dues.values():
        by_township[_township(due.village_code)].append(due)
    corrections = _corrections(prefix, month, params)
    townships = sorted(set(by_township) | set(corrections))
    existing = {p.township_code: p for p in PaymentList.objects.filter(month=month, township_code__in=townships)}
    frozen = [t for t in townships if t in existing and existing[t].state == PaymentList.State.PAID]
    ids = dict(Household.objects.filter(household_number__in=[d.household_number for d in dues.values()])
               .values_list("household_number", "pk")) if len(dues) < 20000 else _ids_by_prefix(prefix)
    now, who = timezone.now(), getattr(actor, "username", "system")
    out = []
    with transaction.atomic():
        for township in townships:
            if township in frozen:
                continue  # a paid month is never rewritten; its later changes go to the next month
            lst = existing.get(township)
            if lst is None:
                lst = PaymentList.objects.create(township_code=township, month=month, generated_at=now,
                                                 generated_by=who)
            else:
                lst.lines.all().delete()  # a draft is recomputed whole: it has not been paid
                lst.version += 1
            rows = [PaymentLine(payment_list=lst, household_id=ids[d.household_number], village_code=d.village_code,
                                programme=d.programme, kind=PaymentLine.Kind.REGULAR, for_month=month,
                                persons=d.persons, members=d.members, amount=d.amount, arithmetic=d.arithmetic)
                    for d in sorted(by_township.get(township, []), key=lambda d: (d.village_code, d.household_number,
                                                                                    d.programme))]
            fixes = corrections.get(township, [])
            for c in fixes:
                c.payment_list = lst
            PaymentLine.objects.bulk_create(rows + fixes, batch_size=2000)
            lst.households = len({r.household_id for r in rows + fixes})
            lst.total = sum(r.amount for r in rows + fixes)
            lst.generated_at, lst.generated_by = now, who
            lst.save(update_fields=["households", "total", "generated_at", "generated_by", "version"])
            out.append(lst)
        audit_record(actor=actor, action="lowincome.payments", object_type="payment_list",
                     object_key=f"{prefix or 'all'}:{month:%Y-%m}", region_code=prefix,
                     after={"lists": len(out), "households": sum(p.households for p in out),
                            "total": sum(p.total for p in out), "paid_untouched": frozen})
    return out


def _ids_by_prefix(prefix: str) -> dict[str, int]:
    from fangfan.registry.models import Household

    qs = Household.objects.all()
    if prefix:
        from fangfan.regions.scope import code_range_q

        qs = qs.filter(code_range_q("village_id", prefix))
    return dict(qs.values_list("household_number", "pk").iterator(chunk_size=20000))


def paid_total(township: str, month: dt.date) -> int:
    return PaymentLine.objects.filter(payment_list__township_code=township, for_month=month,
                                      payment_list__state=PaymentList.State.PAID).aggregate(s=Sum("amount"))["s"] or 0
