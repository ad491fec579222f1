"""Households as JSON: scoped list and search, the household file, stored rule results. The same
selectors as the pages: another region's household is 404, IDs are always masked, money is yuan
text with two decimals."""
from __future__ import annotations

import datetime as dt

from django.core.paginator import Paginator
from django.http import Http404
from ninja import Field, Query, Router, Schema

from fangfan.accounts.permissions import may_read_households
from fangfan.common import pii
from fangfan.common.ids import mask
from fangfan.common.money import format_yuan
from fangfan.registry import selectors
from fangfan.registry.models import Member

router = Router(tags=["households"])
PER_PAGE = 50
_NOT_FOUND = "无此户或不在管辖范围内"


def _yuan(fen: int | None) -> str | None:
    return None if fen is None else format_yuan(int(fen))


class HouseholdRow(Schema):
    household_number: str = Field(description="户编号")
    village_code: str = Field(description="村区划代码")
    village_name: str = Field(description="村名")
    head_name: str = Field(description="户主姓名")
    household_type: str = Field(description="户类型代码: lifted 脱贫户 / ordinary 一般农户")
    household_type_label: str
    category: str = Field(description="监测对象类别代码('' 非监测对象)")
    category_label: str


class HouseholdPage(Schema):
    count: int
    page: int
    pages: int
    truncated: bool = Field(description="姓名/首字母查询匹配过多,只返回前 500 户")
    error: str = Field(description="查询条件错误时的中文说明(如证件号码校验位错误)")
    households: list[HouseholdRow]


class SearchFilters(Schema):
    q: str = Field("", max_length=64, description="户编号(前缀)、姓名(前缀)、拼音首字母(如 zs)或18位证件号码(精确)")
    village: str = Field("", max_length=100, description="村名(前缀)或区划代码(前缀)")
    page: int = Field(1, ge=1, le=100000)


class MemberOut(Schema):
    id: int
    name: str
    id_number_masked: str = Field(description="证件号码(脱敏)")
    sex: str
    age: int
    relation: str
    status: str
    health: str
    disability: str
    labor: str
    schooling: str


class IncomeOut(Schema):
    year: int
    household_size: int = Field(description="家庭人口(正常成员)")
    amounts: dict[str, str] = Field(description="收支表各项(元),键为字段名")
    net_income: str = Field(description="I1 家庭纯收入(元)")
    monitoring_income: str = Field(description="I2 监测收入(元)")
    per_capita_income: str | None = Field(description="I3 人均纯收入(元)")
    employment_cost: str = Field(description="I4 就业成本扣除(元)")
    employment_cost_rate: str
    dibao_income: str = Field(description="I4 低保核算收入(元)")
    per_capita_dibao_income: str | None = Field(description="I4 低保口径人均收入(元)")
    rigid_expense: str = Field(description="I5 刚性支出(元)")


class MeasureOut(Schema):
    measure_code: str
    measure_label: str
    content: str
    started_on: dt.date
    status: str
    status_label: str
    responsible_unit: str


class CaseEventOut(Schema):
    label: str
    from_state: str
    to_state: str
    actor: str
    effective_on: dt.date
    comment: str
    attachments: list[str]


class CaseOut(Schema):
    id: int
    kind: str
    kind_label: str
    state: str
    state_label: str
    opened_on: dt.date
    closed_on: dt.date | None
    events: list[CaseEventOut]


class ResultOut(Schema):
    as_of: dt.date
    year: int | None
    household_size: int
    net_income: str | None
    monitoring_income: str | None
    per_capita_income: str | None
    income_line: str | None
    below_line: bool
    hardship: bool
    candidate_category: str
    detected_risks: str
    whole_household_no_labor: bool
    negative_list_hits: str
    elimination: str
    elimination_failed: str
    warning_color: str
    dibao_unserved: bool
    per_capita_dibao_income: str | None
    low_income_class: str
    single_person_dibao: str = Field(description="单人保候选成员: 姓名与脱敏证件号码, 以「、」分隔")
    visit_due_on: dt.date | None
    visit_overdue: bool
    explanation: str


class InputOut(Schema):
    name: str
    label: str
    value: str


class ParameterOut(Schema):
    name: str
    description: str
    value: str
    source: str = Field(description="篇目依据")
    prefix: str = Field(description="适用区划前缀")
    start: str = Field(description="起始日期")


class RuleOut(Schema):
    id: str
    family: str
    title: str
    source: str
    fired: str = Field(description="是 / 否 / —(数值或县级规则)")
    result: str
    inputs: list[InputOut]
    parameters: list[ParameterOut]


class HouseholdFile(Schema):
    household_number: str
    village_code: str
    village_name: str
    household_type: str
    category: str
    identified_on: dt.date | None
    eliminated_on: dt.date | None
    household_size: int
    risks: list[str]
    members: list[MemberOut]
    incomes: list[IncomeOut]
    measures: list[MeasureOut]
    cases: list[CaseOut]
    result: ResultOut | None = Field(description="最近一次存储的规则评估结果(无则为 null,即尚未评估)")
    rules: list[RuleOut] = Field(description="最近结果的完整规则说明(无存储结果时为空)")


def _require_reader(request) -> None:
    if not may_read_households(request.auth):
        raise Http404(_NOT_FOUND)


def _candidates(results) -> dict[str, str]:
    """The single-person candidates of the results (blind indexes, ';'-joined) as name and masked
    ID: the index means nothing to a client, the number is never given out here."""
    keys = {k for r in results for k in (r.single_person_dibao or "").split(";") if k}
    if not keys:
        return {}
    rows = list(Member.objects.filter(id_index__in=keys).values_list("id_index", "name", "id_cipher"))
    plain = pii.keyring().decrypt_all([c for _, _, c in rows], pii.ID_FIELD)
    return {i: f"{name} {mask(number)}" for (i, name, _), number in zip(rows, plain)}


def _result(r, named: dict[str, str] | None = None) -> dict:
    out = {name: getattr(r, name) for name in ResultOut.model_fields}
    for name in ("net_income", "monitoring_income", "per_capita_income", "income_line", "per_capita_dibao_income"):
        out[name] = _yuan(out[name])
    named = _candidates([r]) if named is None else named
    out["single_person_dibao"] = "、".join(named.get(k, "") for k in (r.single_person_dibao or "").split(";") if k)
    return out


@router.get("/", response=HouseholdPage, summary="农户列表与查询(本账号管辖范围内)")
def household_list(request, filters: Query[SearchFilters]):
    _require_reader(request)
    found = selectors.household_search(actor=request.auth, q=filters.q.strip(), village=filters.village)
    paginator = Paginator(found.households, PER_PAGE)
    page = paginator.get_page(filters.page)
    rows = list(page.object_list)
    heads = selectors.head_names([h.pk for h in rows])
    return {
        "count": paginator.count, "page": page.number, "pages": paginator.num_pages,
        "truncated": found.truncated, "error": found.error,
        "households": [
            {
                "household_number": h.household_number, "village_code": h.village_id,
                "village_name": h.village.name if h.village else "", "head_name": heads.get(h.pk, ""),
                "household_type": h.household_type, "household_type_label": h.get_household_type_display(),
                "category": h.category, "category_label": h.get_category_display() if h.category else "",
            }
            for h in rows
        ],
    }


@router.get("/{number}", response=HouseholdFile, summary="一户一档")
def household_file(request, number: str):
    _require_reader(request)
    file = selectors.household_file(actor=request.auth, household_number=number)
    if file is None:
        raise Http404(_NOT_FOUND)
    h = file["household"]
    rules = []
    if file["result"] is not None:
        found = selectors.household_explanation(actor=request.auth, household_number=number)
        rules = selectors.explanation_view(found["explained"]) if found else []
    return {
        "household_number": h.household_number, "village_code": h.village_id,
        "village_name": h.village.name if h.village else "", "household_type": h.household_type,
        "category": h.category, "identified_on": h.identified_on, "eliminated_on": h.eliminated_on,
        "household_size": file["household_size"], "risks": file["risks"],
        "members": [
            {"id": m["id"], "name": m["name"], "id_number_masked": m["masked_id"], "sex": m["sex"], "age": m["age"],
             "relation": m["relation"], "status": m["status"], "health": m["health"], "disability": m["disability"],
             "labor": m["labor"], "schooling": m["schooling"]}
            for m in file["members"]
        ],
        "incomes": [
            {
                "year": a.year, "household_size": a.household_size,
                "amounts": {name: format_yuan(getattr(a.row, name)) for name in selectors.INCOME_FIELDS},
                "net_income": format_yuan(a.net_income), "monitoring_income": format_yuan(a.monitoring_income),
                "per_capita_income": _yuan(a.per_capita_income), "employment_cost": format_yuan(a.employment_cost),
                "employment_cost_rate": str(a.employment_cost_rate), "dibao_income": format_yuan(a.dibao_income),
                "per_capita_dibao_income": _yuan(a.per_capita_dibao_income),
                "rigid_expense": format_yuan(a.rigid_expense),
            }
            for a in file["incomes"]
        ],
        "measures": [
            {"measure_code": x.measure_code, "measure_label": x.get_measure_code_display(), "content": x.content,
             "started_on": x.started_on, "status": x.status, "status_label": x.get_status_display(),
             "responsible_unit": x.responsible_unit}
            for x in file["measures"]
        ],
        "cases": [
            {
                "id": c["case"].pk, "kind": c["case"].kind, "kind_label": c["case"].get_kind_display(),
                "state": c["case"].state, "state_label": c["state"], "opened_on": c["case"].opened_on,
                "closed_on": c["case"].closed_on,
                "events": [
                    {"label": e["label"], "from_state": e["from"], "to_state": e["to"], "actor": e["actor"],
                     "effective_on": e["on"], "comment": e["comment"], "attachments": [str(a["id"] or a["label"]) for a in e["attachments"]]}
                    for e in c["events"]
                ],
            }
            for c in file["cases"]
        ],
        "result": _result(file["result"]) if file["result"] is not None else None,
        "rules": rules,
    }


@router.get("/{number}/results", response=list[ResultOut], summary="存储的规则评估结果(按评估日期倒序)")
def household_results(request, number: str):
    _require_reader(request)
    results = selectors.result_history(actor=request.auth, household_number=number)
    if results is None:
        raise Http404(_NOT_FOUND)
    named = _candidates(results)
    return [_result(r, named) for r in results]
