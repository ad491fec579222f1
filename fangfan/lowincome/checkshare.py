"""One household check for both programmes (2026: 统一收支核算口径, 加强部门数据共享比对, 避免重复入户核查).

A home check recorded in one programme — the W5 家庭经济状况核对 (application) or 入户复核 (re-check),
or the W1 入户核实 (附件2) — within `checks.reuse_months` (a dated parameter, months before the day)
is offered as the other programme's check of the same household: the step form comes prefilled
with its investigators and findings, and the findings say which case, who recorded it and when.
The user still confirms (and may change) what is submitted: the offer writes nothing.
Both cases show each other on their pages (case_links)."""
from __future__ import annotations

import datetime as dt

from django.db.models import Q

from fangfan.common.dates import add_months
from fangfan.common.money import format_yuan

W1_CHECKS = frozenset({("identification", "home_check")})
W5_CHECKS = frozenset({("lowincome", "economic_check"), ("lowincome_review", "recheck")})
PROGRAMME = {"identification": "防返贫监测", "lowincome": "低保特困", "lowincome_review": "低保特困"}


def _other(kind: str, step: str | None = None) -> frozenset | None:
    """The checks of the other programme for a case kind (and, when given, its check step)."""
    if (step is None and kind == "identification") or (kind, step) in W1_CHECKS:
        return W5_CHECKS
    if (step is None and kind in ("lowincome", "lowincome_review")) or (kind, step) in W5_CHECKS:
        return W1_CHECKS
    return None


def reuse_months(village_code: str, on: dt.date) -> int | None:
    from fangfan.workflows.profile import param

    value = param("checks.reuse_months", village_code, on)
    return None if value is None else int(value)


def _events(household_id: int, pairs: frozenset):
    from fangfan.workflows.models import CaseEvent

    q = Q()
    for kind, step in sorted(pairs):
        q |= Q(case__kind=kind, transition=step)
    return (CaseEvent.objects.filter(q, case__household_id=household_id).select_related("case")
            .order_by("-effective_on", "-id"))


def _describe(event) -> dict:
    payload = event.payload or {}
    form = payload.get("form") or {}
    rr = payload.get("rule_result") or {}
    findings = str(payload.get("findings") or form.get("findings") or "").strip()
    facts = []
    size = form.get("household_size") or rr.get("household_size")
    if size:
        facts.append(f"家庭人口 {size} 人")
    if isinstance(form.get("net_income_estimate"), int):
        facts.append(f"家庭年纯收入预估 {format_yuan(form['net_income_estimate'])} 元")
    if isinstance(rr.get("per_capita_dibao_income"), int):
        facts.append(f"低保口径人均收入 {format_yuan(rr['per_capita_dibao_income'])} 元")
    if isinstance(rr.get("per_capita_income"), int):
        facts.append(f"人均纯收入 {format_yuan(rr['per_capita_income'])} 元")
    return {"case_id": event.case_id, "kind": event.case.kind, "programme": PROGRAMME.get(event.case.kind, ""),
            "step_label": event.label, "checked_on": event.effective_on, "recorded_by": event.actor_name,
            "investigators": [str(n) for n in payload.get("investigators") or []], "findings": findings,
            "facts": facts, "household_size": size}


def reusable_check(case, step: str, on: dt.date) -> dict | None:
    """The other programme's latest check of the household within checks.reuse_months before `on`
    (None when there is none, the parameter is not set, or `step` is not a home check)."""
    pairs = _other(case.kind, step)
    months = reuse_months(case.village_code, on) if pairs else None
    if not pairs or not months:
        return None
    event = _events(case.household_id, pairs).filter(effective_on__gte=add_months(on, -months),
                                                     effective_on__lte=on).first()
    return None if event is None else {**_describe(event), "months": months}


def reuse_initial(case, step: str, on: dt.date) -> dict:
    """The step form's initial values taken from the reusable check (empty when there is none)."""
    found = reusable_check(case, step, on)
    if found is None:
        return {}
    source = (f"【沿用{found['programme']}{found['step_label']}: 案件 {found['case_id']}, {found['checked_on']:%Y-%m-%d}, "
              f"调查人员 {'、'.join(found['investigators']) or '—'}, 录入 {found['recorded_by']}; "
              f"{found['months']} 个月内的入户核查可沿用, 请核对后提交】")
    text = "\n".join(x for x in (source, found["findings"], "; ".join(found["facts"])) if x)
    initial = {"investigators": "\n".join(found["investigators"])}
    if step == "home_check":
        initial["form__findings"] = text
        if found["household_size"]:
            initial["form__household_size"] = found["household_size"]
    else:
        initial["findings"] = text
    return initial


def case_links(case, on: dt.date) -> list[dict]:
    """The other programme's cases of the same household, newest first, each with its home check
    (who, when) when it has one and whether that check may still be reused on `on`."""
    from fangfan.workflows.models import Case

    pairs = _other(case.kind)
    if not pairs:
        return []
    kinds = sorted({k for k, _ in pairs})
    cases = list(Case.objects.filter(household_id=case.household_id, kind__in=kinds).order_by("-opened_on", "-id")[:10])
    checks: dict[int, dict] = {}
    for event in _events(case.household_id, pairs).filter(case_id__in=[c.pk for c in cases]):
        checks.setdefault(event.case_id, _describe(event))
    months = reuse_months(case.village_code, on)
    out = []
    for c in cases:
        check = checks.get(c.pk)
        fresh = bool(check and months and check["checked_on"] >= add_months(on, -months))
        out.append({"case": c, "kind_label": c.get_kind_display(), "check": check, "reusable": fresh,
                    "months": months})
    return out
