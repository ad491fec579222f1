"""Reads of the registry, always scoped by the acting user's region."""
from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass

from decimal import Decimal

import polars as pl
from django.db.models import Count, Prefetch, Q, QuerySet

from fangfan.audit.models import AuditEvent
from fangfan.common import codes as C
from fangfan.common import pii
from fangfan.common.ids import age_on, mask
from fangfan.common.text import mask_phone
from fangfan.common.money import format_yuan
from fangfan.common.tables import TABLES
from fangfan.regions.scope import scope_queryset
from fangfan.registry.models import (
    Household, ImportBatch, ImportSnapshot, IncomeYear, Measure, Member, measure_history_key,
)

# Canonical file keys → Chinese column names (the interchange files' headers).
TABLE_LABELS = {c.key: c.zh for t in TABLES.values() for c in t.columns}


def households(*, actor) -> QuerySet[Household]:
    return scope_queryset(Household.objects.all(), actor, "village_id")


def members(*, actor) -> QuerySet[Member]:
    return scope_queryset(Member.objects.all(), actor, "household__village_id")


def household_list(*, actor, query: str = "") -> QuerySet[Household]:
    qs = households(actor=actor).select_related("village")
    query = query.strip()
    if query:
        qs = qs.filter(Q(household_number__startswith=query) | Q(village_id__startswith=query))
    return qs


def household_search(*, actor, q: str = "", village: str = ""):
    """Search within the actor's scope (fangfan.registry.search)."""
    from fangfan.registry.search import household_search as search

    return search(actor=actor, q=q, village=village)


def registry_summary(*, actor) -> dict[str, int]:
    qs = households(actor=actor)
    counts = qs.aggregate(
        households=Count("id"),
        lifted=Count("id", filter=Q(household_type="lifted")),
        monitored=Count("id", filter=~Q(category="") & Q(eliminated_on__isnull=True)),
        eliminated=Count("id", filter=~Q(category="") & Q(eliminated_on__isnull=False)),
    )
    counts["members"] = members(actor=actor).filter(status="normal").count()
    return counts


def _shown_values(data: dict) -> dict:
    """Stored values as history shows them: ID numbers and phones masked, ciphers and blind
    indexes never (the cipher becomes the masked number)."""
    out = {}
    for key, value in data.items():
        if key == "id_index":
            continue
        if key == "id_cipher":
            key, value = "id_number", mask(pii.decrypt_id(value)) if value else ""
        elif key == "phone_cipher":
            key, value = "phone", mask_phone(pii.decrypt_phone(value)) if value else ""
        elif key == "id_number" and value:
            value = mask(str(value))
        elif key == "phone" and value:
            value = mask_phone(str(value))
        out[key] = value
    return out


def _masked_json(data) -> str:
    if not data:
        return ""
    return json.dumps(_shown_values(data), ensure_ascii=False, default=str)


# snapshot table → object type and key of its history rows (as the audit rows name them)
_SNAPSHOT_OBJECTS = {
    "households": ("household", lambda r: r["household_number"]),
    "members": ("member", lambda r: mask(pii.decrypt_id(r["id_cipher"]) if "id_cipher" in r else r["id_number"])),
    "incomes": ("income", lambda r: f"{r['household_number']}:{r['year']}"),
    "measures": ("measure", lambda r: measure_history_key(
        r["household_number"], r["measure_code"], r["started_on"], r.get("content"))),
}


def snapshot_rows(*, batch: str, household_number: str) -> dict[str, list[dict]]:
    """The rows an import batch created for one household, by table: only the blobs whose run of
    household numbers holds it are read."""
    rows: dict[str, list[dict]] = {}
    blobs = ImportSnapshot.objects.filter(
        import_batch__batch=batch, first_household__lte=household_number, last_household__gte=household_number
    )
    for snap in blobs:
        frame = pl.read_parquet(io.BytesIO(bytes(snap.data))).filter(pl.col("household_number") == household_number)
        rows.setdefault(snap.table, []).extend(frame.to_dicts())
    return rows


# --------------------------------------------------------------------------- change history
# Chinese labels and display of the fields an audit row or snapshot names, by object type.
# Money fields are fen in the database and shown in yuan.

_HISTORY_MODELS = {
    "household": Household,
    "member": Member,
    "income": IncomeYear,
    "measure": Measure,
}
_OBJECT_ZH = {
    "household": "户", "member": "成员", "income": "收支", "measure": "帮扶措施", "visit": "回访",
    "contact": "帮扶联系人", "plan": "帮扶计划", "case": "案件", "attachment": "附件", "declaration": "自主申报",
}
_VERB_ZH = {
    "create": "新增", "update": "修改", "identify": "识别纳入", "eliminate": "风险消除", "remove": "清退",
    "rollback": "风险消除回退", "visit": "回访", "add": "新增", "status": "状态变更", "assign": "确定",
    "record": "记录", "store": "上传", "submit": "提交", "close": "办结", "recheck": "复核",
}
# Keys of snapshot and audit rows that are not model fields (canonical file keys).
_EXTRA_LABELS = {"household_number": "户编号", "household_id": "户编号", "village_code": "村区划代码",
                 "version": "版本", "name_initials": None, "extra": "其他列"}
_MULTI_CODES = {"declared_risks": C.RISK, "health": C.HEALTH, "decline_reasons": C.DECLINE_REASON,
                "new_risks": C.RISK}
_FEN_FIELDS = frozenset({"wage", "business_income", "business_cost", "property_income", "transfer_income",
                         "basic_pension", "veteran_benefits", "disability_allowances", "guaranteed_dividend",
                         "dibao_payment", "tekun_payment", "insurance_claims", "compliant_oop",
                         "education_expense", "other_rigid_expense", "net_income"})


def _field_meta(object_type: str) -> dict:
    model = _HISTORY_MODELS.get(object_type)
    if object_type == "visit":
        from fangfan.workflows.models import Visit

        model = Visit
    if model is None:
        return {}
    return {f.name: f for f in model._meta.concrete_fields}


def _label_of(object_type: str, key: str) -> str | None:
    if key in _EXTRA_LABELS:
        return _EXTRA_LABELS[key]
    field = _field_meta(object_type).get(key) or _field_meta(object_type).get(key.removesuffix("_id"))
    if field is not None:
        return str(field.verbose_name).replace("(分)", "")
    return TABLE_LABELS.get(key, key)


def display_value(object_type: str, key: str, value) -> str:
    """A stored value as the user reads it: yuan for fen, labels for codes, 是/否 for booleans."""
    if value is None or value == "":
        return ""
    if key in _FEN_FIELDS and object_type in ("income", "visit"):
        try:
            return format_yuan(int(value)) + " 元"
        except (TypeError, ValueError):
            return str(value)
    if key == "id_number":
        return mask(str(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    if key in _MULTI_CODES:
        return "、".join(code_label(_MULTI_CODES[key], c) for c in str(value).replace("；", ";").split(";") if c)
    field = _field_meta(object_type).get(key)
    if field is not None and field.choices:
        return dict(field.choices).get(value, str(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str) if value else ""
    return str(value)


def code_label(codelist: C.CodeList, code: str) -> str:
    return dict(codelist.items).get(code, code)


@dataclass(frozen=True)
class HistoryChange:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    actor_name: str
    action: str  # the audit action code, e.g. member.create
    action_label: str  # Chinese
    object_type: str
    object_key: str  # IDs masked
    object_label: str  # Chinese, e.g. 成员 341225********1234
    comment: str
    changes: tuple[HistoryChange, ...]
    before_text: str = ""  # masked JSON (raw keys), for machines
    after_text: str = ""


def _action_zh(action: str, object_type: str) -> str:
    noun, _, verb = action.partition(".")
    return f"{_VERB_ZH.get(verb, verb)}{_OBJECT_ZH.get(noun, '')}" if verb in _VERB_ZH else action


def _changes(object_type: str, before: dict | None, after: dict | None) -> tuple[HistoryChange, ...]:
    before, after = before or {}, after or {}
    out = []
    for key in dict.fromkeys([*before, *after]):
        label = _label_of(object_type, key)
        if label is None:
            continue
        b, a = display_value(object_type, key, before.get(key)), display_value(object_type, key, after.get(key))
        if b == a and before:
            continue
        out.append(HistoryChange(label, b, a))
    return tuple(out)


def _masked_key(object_type: str, key: str, members: dict[str, str] | None = None) -> str:
    """Members are named in history by their blind index (imports) or primary key (services):
    shown as the masked ID when the member is known."""
    if object_type != "member":
        return key
    if len(key) == 18:  # written before the numbers were encrypted
        return mask(key)
    return (members or {}).get(key, key)


def _member_keys(keys: set[str]) -> dict[str, str]:
    """Blind index or primary key → masked ID, for the members a history names (one query each)."""
    indexes = [k for k in keys if pii.is_index(k)]
    pks = [int(k) for k in keys if k.isdigit() and len(k) < 18]
    out: dict[str, str] = {}
    for index, cipher in Member.objects.filter(id_index__in=indexes).values_list("id_index", "id_cipher"):
        out[index] = mask(pii.decrypt_id(cipher))
    for pk, cipher in Member.objects.filter(pk__in=pks).values_list("pk", "id_cipher"):
        out[str(pk)] = mask(pii.decrypt_id(cipher))
    return out


def _object_label(object_type: str, key: str, members: dict[str, str] | None = None) -> str:
    key = _masked_key(object_type, key, members)
    return f"{_OBJECT_ZH.get(object_type, object_type)} {key}".strip()


def _creation_entries(household: Household) -> list[HistoryEntry]:
    if not household.created_batch:
        return []
    batch = ImportBatch.objects.filter(batch=household.created_batch).first()
    if batch is None:
        return []
    found = snapshot_rows(batch=batch.batch, household_number=household.household_number)
    entries = []
    for table, (object_type, key) in _SNAPSHOT_OBJECTS.items():
        for row in found.get(table, ()):
            values = _shown_values({k: v for k, v in row.items() if k != "household_number" or table == "households"})
            entries.append(HistoryEntry(
                at=batch.at, actor_name=batch.actor_name, action=f"{object_type}.create", action_label="导入新增",
                object_type=object_type, object_key=key(row), object_label=_object_label(object_type, key(row)),
                comment="", changes=_changes(object_type, None, values), after_text=_masked_json(values),
            ))
    return entries


# Reads of a file are audited but are not changes of it.
_NOT_CHANGES = ("member.id_view",)
HISTORY_LIMIT = 500


def household_history(*, actor, household: Household) -> list[HistoryEntry]:
    """Creation (from the import snapshot, or the creation audit row) then every change, in Chinese
    field labels with money in yuan and IDs masked (the latest HISTORY_LIMIT changes)."""
    events = list(
        AuditEvent.objects.filter(household_key=household.household_number)
        .exclude(action__in=_NOT_CHANGES).order_by("-id")[:HISTORY_LIMIT]
    )
    members = _member_keys({e.object_key for e in events if e.object_type == "member"})
    entries = [
        HistoryEntry(
            at=e.at, actor_name=e.actor_name, action=e.action, action_label=_action_zh(e.action, e.object_type),
            object_type=e.object_type, object_key=_masked_key(e.object_type, e.object_key, members),
            object_label=_object_label(e.object_type, e.object_key, members), comment=e.comment,
            changes=_changes(e.object_type, e.before, e.after),
            before_text=_masked_json(e.before), after_text=_masked_json(e.after),
        )
        for e in reversed(events)
    ]
    return [*_creation_entries(household), *entries]


# --------------------------------------------------------------------------- income accounts


@dataclass(frozen=True)
class IncomeAccount:
    """One income year with the steps of rules I1-I5 (fen), as the policy engine computes them."""

    year: int
    household_size: int
    row: IncomeYear
    net_income: int
    monitoring_income: int
    per_capita_income: int | None
    dibao_income: int
    per_capita_dibao_income: int | None
    employment_cost: int  # I4's deduction (rate × wage), rounded like the engine's total
    employment_cost_rate: Decimal
    rigid_expense: int


INCOME_FIELDS = ("wage", "business_income", "business_cost", "property_income", "transfer_income",
                 "basic_pension", "veteran_benefits", "disability_allowances", "guaranteed_dividend",
                 "dibao_payment", "tekun_payment", "insurance_claims", "compliant_oop", "education_expense",
                 "other_rigid_expense")
DIBAO_EXCLUDED = ("basic_pension", "veteran_benefits", "disability_allowances", "guaranteed_dividend",
                  "dibao_payment", "tekun_payment")


def parameters():
    """The parameters the screening uses: shipped YAML plus the counties' own values."""
    from fangfan.screening.parameters import current_parameters

    return current_parameters()


def employment_cost_rate(village_code: str, on: dt.date) -> Decimal:
    try:
        value = parameters().value("dibao.employment_cost_rate", village_code, on, default=0)
    except Exception:  # an unknown region in the parameter files: the engine's default (0)
        value = 0
    return Decimal(str(value or 0))


def income_accounts(incomes: list[IncomeYear], household_size: int, rate: Decimal = Decimal(0)) -> list[IncomeAccount]:
    """Rules I1-I5 over each income year through the policy engine's own expressions
    (fangfan.policy.rules.income), so the page shows the one definition's arithmetic."""
    if not incomes:
        return []
    from fangfan.policy.frame import PPM
    from fangfan.policy.rules import income as rules

    frame = pl.DataFrame(
        {name: [getattr(r, name) for r in incomes] for name in INCOME_FIELDS},
        schema={name: pl.Int64 for name in INCOME_FIELDS},
    ).with_columns(
        pl.lit(household_size, dtype=pl.Int64).alias("household_size"),
        pl.lit(int(rate * PPM), dtype=pl.Int64).alias("p_employment_cost_rate"),
    )
    out = rules.apply(frame.lazy()).collect()
    accounts = []
    for r, row in zip(incomes, out.iter_rows(named=True)):
        excluded = sum(getattr(r, n) for n in DIBAO_EXCLUDED)
        accounts.append(IncomeAccount(
            year=r.year, household_size=household_size, row=r,
            net_income=row["net_income"], monitoring_income=row["monitoring_income"],
            per_capita_income=row["per_capita_income"] if household_size else None,
            dibao_income=row["dibao_income"],
            per_capita_dibao_income=row["per_capita_dibao_income"] if household_size else None,
            employment_cost=row["net_income"] - excluded - row["dibao_income"],
            employment_cost_rate=rate, rigid_expense=row["rigid_expense"],
        ))
    return accounts


# --------------------------------------------------------------------------- the file


def member_rows(members: list[Member], on: dt.date) -> list[dict]:
    rows = []
    for m in members:
        rows.append({
            "id": m.pk,
            "member": m,
            "name": m.name,
            "masked_id": mask(m.id_number),
            "sex": m.get_sex_display(),
            "age": age_on(m.birth_date, on),
            "relation": m.get_relation_display(),
            "status": m.get_status_display(),
            "health": display_value("member", "health", m.health) or "",
            "disability": "".join(
                x for x in (m.get_disability_kind_display() if m.disability_kind else "",
                            m.get_disability_grade_display() if m.disability_grade else "") if x
            ),
            "labor": m.get_labor_display() if m.labor else "",
            "schooling": m.get_schooling_display(),
            "months_worked": m.months_worked,
            "dibao": m.dibao,
            "tekun": m.tekun,
            "medical_insurance": m.medical_insurance,
        })
    return rows


def latest_result(household: Household):
    from fangfan.screening.models import ScreeningResult

    return ScreeningResult.objects.filter(household=household).order_by("-as_of").first()


def result_history(*, actor, household_number: str, limit: int = 50) -> list | None:
    """Stored rule results of one household, newest first; None outside scope."""
    from fangfan.screening.models import ScreeningResult

    household = households(actor=actor).filter(household_number=household_number).first()
    if household is None:
        return None
    return list(ScreeningResult.objects.filter(household=household).order_by("-as_of")[:limit])


def household_file(*, actor, household_number: str, on: dt.date | None = None) -> dict | None:
    """Everything of the household page except the history and the full explanation (each read
    on demand): a fixed number of queries whatever the household's size."""
    from fangfan.workflows.assistance import contact_current
    from fangfan.workflows.models import AssistancePlan, Case, CaseEvent, Visit

    household = households(actor=actor).select_related("village").filter(household_number=household_number).first()
    if household is None:
        return None
    on = on or dt.date.today()
    members = list(household.members.all())
    size = sum(1 for m in members if m.status == "normal")
    incomes = list(household.incomes.all())
    rate = employment_cost_rate(household.village_id, on) if incomes else Decimal(0)
    cases = list(
        Case.objects.filter(household=household).order_by("-opened_on", "-id")
        .prefetch_related(Prefetch("events", queryset=CaseEvent.objects.order_by("id")), "notices")
    )
    return {
        "household": household,
        "members": member_rows(members, on),
        "household_size": size,
        "risks": [code_label(C.RISK, c) for c in household.declared_risks.split(";") if c],
        "incomes": income_accounts(incomes, size, rate),
        "measures": list(household.measures.all()),
        "plans": list(AssistancePlan.objects.filter(household=household).order_by("-made_on", "-id")[:10]),
        "contact": contact_current(household),
        "visits": list(Visit.objects.filter(household=household).order_by("-visited_on", "-id")[:20]),
        "cases": [case_timeline(c) for c in cases],
        "notices": [n for c in cases for n in c.notices.all()],
        "result": latest_result(household),
    }


def case_timeline(case) -> dict:
    from fangfan.workflows.engine import workflow_for

    try:
        workflow = workflow_for(case.kind)
        state_label = workflow.state_label
    except Exception:  # a kind without a registered workflow: show the raw state
        state_label = str
    return {
        "case": case,
        "state": state_label(case.state),
        "events": [
            {"event": e, "label": e.label or e.transition, "from": state_label(e.from_state),
             "to": state_label(e.to_state), "actor": e.actor_name, "on": e.effective_on, "at": e.at,
             "comment": e.comment, "attachments": [
                 {"id": int(a), "label": f"附件 {a}"} if str(a).isdigit() else {"id": None, "label": str(a)}
                 for a in e.attachments or []]}
            for e in case.events.all()
        ],
    }


# --------------------------------------------------------------------------- explanation


def household_explanation(*, actor, household_number: str, now: bool = False) -> dict | None:
    """The full structured explanation (fangfan.policy.explain.explain_row) of the latest stored
    result, evaluated again at its as-of date and income year through the same pipeline; with
    `now` or without a stored result, an evaluation as of today (not stored). None outside scope."""
    from fangfan.policy.evaluate import explain_household
    from fangfan.registry.dbframes import read_tables_for

    household = households(actor=actor).filter(household_number=household_number).first()
    if household is None:
        return None
    stored = None if now else latest_result(household)
    as_of = stored.as_of if stored else dt.date.today()
    year = stored.year if stored else None
    tables = read_tables_for([household.household_number])
    explained = explain_household(tables, household.household_number, as_of=as_of, year=year, params=parameters())
    return {"household": household, "stored": stored, "explained": explained, "as_of": as_of}


# Chinese names of the evaluated frame's columns that are not file columns (rules' inputs).
FACT_LABELS = {
    "net_income": "家庭纯收入", "monitoring_income": "监测收入", "per_capita_income": "人均纯收入",
    "dibao_income": "低保核算收入", "per_capita_dibao_income": "低保口径人均收入", "rigid_expense": "刚性支出",
    "expense_per_capita": "扣除刚性支出后人均收入", "household_size": "家庭人口(正常成员)",
    "prev_net_income": "上年度家庭纯收入", "below_line": "低于监测线", "hardship_rigid": "刚性支出超过比例",
    "hardship_drop": "收入大幅缩减", "hardship": "突发严重困难", "all_no_labor": "成员均无劳动能力",
    "any_serious_illness": "有患大病成员", "any_severe_disability": "有重度残疾成员", "any_dropout": "有失学辍学成员",
    "any_able_labor": "有劳动力", "any_uninsured": "有未参加基本医保成员", "any_nl_public_payroll": "有财政供养成员",
    "any_nl_village_head": "有村主干成员", "done_measures": "已落实帮扶措施数", "monitored": "监测对象(未消除风险)",
    "first_done_started_on": "首项已落实措施开始日期", "in_assistance": "已享受低保或特困", "any_tekun": "有特困成员",
    "any_dibao": "有低保成员", "special_member_ids": "重残或大病成员", "eliminated": "已消除风险", "as_of": "评估日期",
    "whole_household_no_labor": "整户无劳动能力", "low_income_class": "低收入类别", "category": "监测对象类别",
    "household_type": "户类型", "year": "收入年度",
}
_RESULT_LABELS = {
    "candidate_category": dict(C.CATEGORY.items), "category": dict(C.CATEGORY.items),
    "household_type": dict(C.HOUSEHOLD_TYPE.items),
}


def _fact_label(name: str) -> str:
    if name in FACT_LABELS:
        return FACT_LABELS[name]
    if name.startswith("rule_"):  # an elimination condition read by rule E: that rule's own title
        from fangfan.policy.rules import RULES

        rule = RULES.get(name.removeprefix("rule_"))
        if rule is not None:
            return f"{rule.id} {rule.title}"
    field = _field_meta("household").get(name)
    if field is not None:
        return str(field.verbose_name)
    return TABLE_LABELS.get(name, name)


def _show(name: str, value, money: bool = False, ratio: bool = False) -> str:
    from fangfan.policy.explain import CLASS_ZH, ELIMINATION_ZH

    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if ratio and isinstance(value, Decimal):
        return f"{(value * 100).normalize():f}%"
    if money and isinstance(value, (Decimal, int)):
        return f"{Decimal(value):.2f} 元"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "—"
    if name in ("detected_risks", "declared_risks") and isinstance(value, str):
        return "、".join(code_label(C.RISK, c) for c in value.split(";") if c) or "—"
    labels = {**_RESULT_LABELS, "elimination": ELIMINATION_ZH, "low_income_class": CLASS_ZH}.get(name)
    if labels and isinstance(value, str):
        return labels.get(value, value)
    return str(value)


def _source_parts(text: str | None) -> dict:
    """'篇二 (一)2② … / 2108 / 2023-01-01' → 篇 source, region prefix, start date."""
    text = text or ""
    parts = text.rsplit(" / ", 2)
    if len(parts) == 3 and "→" not in text:
        source, prefix, start = parts
        return {"source": source, "prefix": prefix, "start": start, "text": text}
    return {"source": text, "prefix": "", "start": "", "text": text}


def explanation_view(explained: dict) -> list[dict]:
    """explain_row's structure with Chinese labels and display values: per rule its result, inputs
    and parameters (value, description, 篇 source, region prefix, start date)."""
    from fangfan.policy.explain import _MONEY_FACTS
    from fangfan.policy.frame import PARAM_BY_COLUMN
    kinds = {spec.name: spec.kind for spec in PARAM_BY_COLUMN.values()}
    try:
        definitions = parameters()
    except Exception:
        definitions = None
    members = _named_members(explained)
    rules = []
    for rule in explained["rules"]:
        params = []
        for name, p in rule["parameters"].items():
            kind = kinds.get(name, "")
            try:
                description = definitions.definition(name).description if definitions else ""
            except Exception:
                description = ""
            params.append({
                "name": name, "description": description,
                "value": _show(name, p["value"], money=kind == "money", ratio=kind == "ratio"),
                **_source_parts(p.get("source")),
            })
        result_name = next((r.result for r in _catalogue() if r.id == rule["id"]), None) or ""
        rules.append({
            "id": rule["id"], "family": rule["family"], "title": rule["title"], "source": rule["source"],
            "fired": {True: "是", False: "否", None: "—"}[rule["fired"]],
            "result": _show(result_name, members.get(result_name, rule["result"]), money=result_name in _MONEY_FACTS),
            "inputs": [
                {"name": n, "label": _fact_label(n), "value": _show(n, members.get(n, v), money=n in _MONEY_FACTS)}
                for n, v in rule["inputs"].items()
            ],
            "parameters": params,
        })
    return rules


_MEMBER_LISTS = ("special_member_ids", "single_person_dibao")


def _named_members(explained: dict) -> dict[str, str]:
    """Rules name members by their blind index (the key of frames read from the database): shown
    as name and masked ID."""
    values = {}
    for rule in explained["rules"]:
        values.update({n: v for n, v in rule["inputs"].items() if n in _MEMBER_LISTS})
        result_name = next((r.result for r in _catalogue() if r.id == rule["id"]), None)
        if result_name in _MEMBER_LISTS:
            values[result_name] = rule["result"]
    keys = {k for v in values.values() if isinstance(v, str) for k in v.split(";") if k}
    if not keys:
        return {}
    found = {i: f"{name} {mask(pii.decrypt_id(c))}"
             for i, name, c in Member.objects.filter(id_index__in=keys).values_list("id_index", "name", "id_cipher")}
    return {n: "、".join(found.get(k, k) for k in v.split(";") if k) for n, v in values.items() if isinstance(v, str)}


def _catalogue():
    from fangfan.policy.rules import CATALOGUE

    return CATALOGUE


def head_names(household_pks: list[int]) -> dict[int, str]:
    """户主 name of each household (one query for a page of results)."""
    rows = Member.objects.filter(household_id__in=household_pks, relation="head").values_list("household_id", "name")
    return dict(rows)
