"""GET /api/v1/reports/ (the reports) and GET /api/v1/reports/{name}: one report's tables for the
token user's region, the same cells as the 报表 page and its downloads (fangfan.reports.selectors),
scoped the same way. Each table gives at most `limit` rows (default 1000) and its total.

The writes the 抽查 and 问题台账 pages post (draw a sample, record a result, raise a problem, close
it with evidence, send data-quality problems to the ledger) go through the same services
(fangfan.reports.services): a bad request is 400, a role or region refused 403, an object
outside the scope 404, a result already recorded or a problem changed or closed meanwhile 409."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Optional

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import AfterValidator, StringConstraints

from fangfan.reports.selectors import REPORTS, build, kind

router = Router(tags=["reports"])


class ReportKindOut(Schema):
    name: str
    title: str
    source: str


class TableOut(Schema):
    key: str
    title: str
    note: str
    columns: list[str]
    rows: list[list[Any]]
    total: int


class ReportOut(Schema):
    name: str
    title: str
    region: str
    region_name: str
    as_of: dt.date
    basis: str
    tables: list[TableOut]


@router.get("/", response=list[ReportKindOut], summary="报表列表")
def report_kinds(request):
    return [{"name": r.name, "title": r.title, "source": r.source} for r in REPORTS.values()]


class CampaignPhaseOut(Schema):
    kind: str
    label: str
    opens_on: Optional[dt.date]
    due: str
    state: str


class CampaignOut(Schema):
    id: int
    name: str
    region: str
    year: int
    target_groups: list[dict]
    coverage_target: int
    source: str
    current: str
    entry_closed: bool
    closed_from: Optional[dt.datetime]
    closed_until: Optional[dt.datetime]
    phases: list[CampaignPhaseOut]
    coverage: list[TableOut] = []


@router.get("/campaigns", response=list[CampaignOut], summary="集中排查(阶段、录入窗口、入户覆盖)")
def campaigns(request, year: Optional[int] = None, coverage: bool = False, limit: int = 1000):
    """本账号辖区的集中排查。year: 年度。coverage=true 时附各级入户覆盖表(每表最多 limit 行)。"""
    from fangfan.reports import campaigns as C

    found = C.campaigns_for(request.auth).prefetch_related("phases")
    if year is not None:
        found = found.filter(year=year)
    limit = max(0, min(limit, 100_000))
    out = []
    for campaign in found[:200]:
        row = C.summary(campaign, request.auth)
        if coverage:
            tables, _ = C.coverage(campaign, prefix=_prefix(request.auth))
            row["coverage"] = [{"key": t.key, "title": t.title, "note": t.note, "columns": t.columns,
                                "rows": [list(r) for r in t.frame.head(limit).rows()], "total": t.frame.height}
                               for t in tables]
        out.append(row)
    return out


def _prefix(actor):
    from fangfan.regions.scope import prefix_for

    return prefix_for(actor)


# ---- 抽查 and 问题台账 writes (the pages' posts) ----------------------------------------------------
def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it as bad input instead of failing at the database.
    if "\x00" in value:
        raise ValueError("不能包含空字符")
    return value


Code = Annotated[str, StringConstraints(max_length=12), AfterValidator(_no_nul)]
Short = Annotated[str, StringConstraints(max_length=100), AfterValidator(_no_nul)]
Text = Annotated[str, StringConstraints(max_length=500), AfterValidator(_no_nul)]
LongText = Annotated[str, StringConstraints(max_length=5000), AfterValidator(_no_nul)]


class SpotCheckIn(Schema):
    county: Code = Field(..., description="县级区划代码 (6 位, 或 12 位代码)")
    seed: Optional[int] = Field(None, ge=0, le=2**62, description="随机种子; 不填则随机生成(结果中返回)")


class SpotItemOut(Schema):
    id: int
    household_number: str
    village_code: str
    township_code: str
    result: str
    note: str
    checked_on: Optional[dt.date]
    problem_id: Optional[int]


class SpotCheckOut(Schema):
    id: int
    county: str
    as_of: dt.date
    seed: int
    ratio: str
    frame_households: int
    frame_sha256: str
    items: list[SpotItemOut]


class SpotResultIn(Schema):
    result: Code = Field(..., description="agree(核实无误) 或 problem(发现问题)")
    note: Text = ""
    owner: Short = Field("", description="发现问题时: 整改责任人/单位")
    deadline: Optional[dt.date] = Field(None, description="发现问题时: 整改期限")


class ProblemIn(Schema):
    source: Short = Field("supervision", description="spot_check、data_quality、supervision、from_above")
    village_code: Code
    description: Text
    owner: Short
    deadline: dt.date


class ProblemCloseIn(Schema):
    evidence: LongText = Field(..., description="整改佐证(情况说明、材料或照片的说明)")
    seen_version: int = Field(..., description="读取时问题的版本号; 他人已修改则返回 409")


class QualityProblemsIn(Schema):
    region: Code = ""
    rules: list[Code] = Field(..., max_length=50, description="数据质量规则, 如 Q01")
    owner: Short
    deadline: dt.date


class ProblemOut(Schema):
    id: int
    source: str
    village_code: str
    household_number: str
    rule: str
    description: str
    owner: str
    deadline: dt.date
    status: str
    raised_on: dt.date
    evidence: str
    closed_on: Optional[dt.date]
    version: int


def _scoped(model, actor, pk: int, what: str):
    """The object if it lies in the actor's household scope; 404 otherwise, as the pages answer."""
    from fangfan.regions.scope import code_range_q, prefix_for

    prefix = prefix_for(actor)
    if prefix is None:
        raise PermissionDenied("本账号无权查看农户数据")
    found = model.objects.filter(code_range_q("village_code", prefix), pk=pk).first()
    if found is None:
        raise Http404(f"无此{what}或不在本账号的管辖范围内")
    return found


def _item_out(item) -> dict:
    return {"id": item.pk, "household_number": item.household.household_number, "village_code": item.village_code,
            "township_code": item.township_code, "result": item.result, "note": item.note,
            "checked_on": item.checked_on, "problem_id": item.problem_id}


def _problem_out(p) -> dict:
    return {"id": p.pk, "source": p.source, "village_code": p.village_code,
            "household_number": p.household.household_number if p.household_id else "", "rule": p.rule,
            "description": p.description, "owner": p.owner, "deadline": p.deadline, "status": p.status,
            "raised_on": p.raised_on, "evidence": p.evidence, "closed_on": p.closed_on, "version": p.version}


@router.post("/spot-checks", response={201: SpotCheckOut}, summary="抽取抽查样本 (县乡村振兴局、市、省; 按县分层抽样)")
def spot_check_draw(request, body: SpotCheckIn):
    from fangfan.reports import services

    check = services.spot_check_draw(actor=request.auth, county=body.county.strip()[:6] if len(body.county.strip())
                                     == 12 else body.county.strip(), as_of=timezone.localdate(), seed=body.seed)
    return Status(201, {"id": check.pk, "county": check.county, "as_of": check.as_of, "seed": check.seed,
                        "ratio": str(check.ratio), "frame_households": check.frame_households,
                        "frame_sha256": check.frame_sha256,
                        "items": [_item_out(i) for i in check.items.select_related("household").order_by("pk")]})


@router.post("/spot-checks/items/{item_id}", response=SpotItemOut, summary="录入一户的抽查结果 (发现问题即列入问题台账)")
def spot_check_record(request, item_id: int, body: SpotResultIn):
    from fangfan.reports import services
    from fangfan.reports.models import SpotCheckItem
    from fangfan.workflows.errors import WorkflowError

    item = _scoped(SpotCheckItem, request.auth, item_id, "抽查户")
    if body.result == "problem" and body.deadline is None:
        raise WorkflowError("发现问题时须填写问题情况、整改责任人和整改期限")
    item = services.spot_check_record(actor=request.auth, item=item, result=body.result, note=body.note,
                                      on=timezone.localdate(), owner=body.owner, deadline=body.deadline)
    return _item_out(item)


@router.post("/problems", response={201: ProblemOut}, summary="登记问题 (问题台账)")
def problem_raise(request, body: ProblemIn):
    from fangfan.reports import services

    problem = services.problem_raise(actor=request.auth, source=body.source, village_code=body.village_code.strip(),
                                     description=body.description, owner=body.owner, deadline=body.deadline,
                                     on=timezone.localdate())
    return Status(201, _problem_out(problem))


@router.post("/problems/from-quality", response={201: dict}, summary="将数据质量问题列入问题台账 (按规则)")
def problems_from_quality(request, body: QualityProblemsIn):
    from fangfan.reports import services

    raised = services.problems_from_quality(actor=request.auth, region=body.region, as_of=timezone.localdate(),
                                            rules=body.rules, owner=body.owner, deadline=body.deadline)
    return Status(201, {"raised": raised})


@router.post("/problems/{problem_id}/close", response=ProblemOut, summary="销号 (须提供整改佐证)")
def problem_close(request, problem_id: int, body: ProblemCloseIn):
    from fangfan.reports import services
    from fangfan.reports.models import Problem

    problem = _scoped(Problem, request.auth, problem_id, "问题")
    return _problem_out(services.problem_close(actor=request.auth, problem=problem, evidence=body.evidence,
                                               on=timezone.localdate(), seen_version=body.seen_version))


@router.get("/{name}", response=ReportOut, summary="报表数据(各表的列名与行)")
def report(request, name: str, region: str = "", as_of: Optional[dt.date] = None, year: Optional[int] = None,
           limit: int = 1000):
    """region: 区划代码 (12 位或 2/4/6/9 位前缀), 默认本账号的区划; 超出管辖范围返回 404。
    as_of: 统计日期, 默认今天。year: 收入年度(收入变化排查、数据质量)。limit: 每表最多返回的行数。"""
    kind(name)
    as_of = as_of or timezone.localdate()
    result = build(name=name, actor=request.auth, region=region, as_of=as_of, year=year)
    limit = max(0, min(limit, 100_000))
    return {
        "name": result.name, "title": result.title, "region": result.prefix, "region_name": result.place_name,
        "as_of": as_of, "basis": result.basis,
        "tables": [{"key": t.key, "title": t.title, "note": t.note, "columns": t.columns,
                    "rows": [list(r) for r in t.frame.head(limit).rows()], "total": t.frame.height}
                   for t in result.tables],
    }
