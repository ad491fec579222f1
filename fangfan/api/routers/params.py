"""/api/v1/parameters/: the parameters in force for a region at a date, and the county's own dated
values (what-if preview, set). The same selectors and services as the 县级参数 page."""
from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Query, Router, Schema, Status

from fangfan.screening import services
from fangfan.screening.parameters import current_parameters, dibao_line_warning, parameters_in_force

router = Router(tags=["params"])
# Dates the rules can work with (date arithmetic near 9999-12-31 would overflow).
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


class ParameterRow(Schema):
    name: str
    description: str
    value: Any = None
    value_text: str
    unit: str
    unit_zh: str
    prefix: str | None = None
    start: str | None = None
    source: str | None = None
    from_database: bool


class InForceOut(Schema):
    region: str
    date: dt.date
    dibao_line_missing: bool
    warning: str | None = None
    parameters: list[ParameterRow]


class ValueIn(Schema):
    name: str = Field(..., description="参数名, 如 dibao.line_rural_year")
    region_prefix: str = Field(..., description="本县 6 位代码, 或本县的乡镇 9 位、村 12 位代码")
    start: dt.date = Field(..., ge=FIRST_DAY, le=LAST_DAY, description="起始日期")
    value: str = Field(..., description="取值, 如 5280、\"20 working\"、null")
    as_of: dt.date | None = Field(None, ge=FIRST_DAY, le=LAST_DAY, description="预览的评估日期")


class SetIn(Schema):
    name: str = Field(..., description="参数名, 如 dibao.line_rural_year")
    region_prefix: str = Field(..., description="本县 6 位代码, 或本县的乡镇 9 位、村 12 位代码")
    start: dt.date = Field(..., ge=FIRST_DAY, le=LAST_DAY, description="起始日期")
    value: str = Field(..., description="取值, 如 5280、\"20 working\"、null")
    document: str = Field(..., description="文件依据(文件名称和文号)")


class CountyParameterOut(Schema):
    id: int
    name: str
    region_prefix: str
    start: dt.date
    value: str
    document: str
    set_by: str
    set_at: dt.datetime


@router.get("/", response=InForceOut, summary="某区划某日适用的全部参数(含本县设置的参数)")
def parameters_list(request, region: str = "", date: dt.date | None = Query(None, ge=FIRST_DAY, le=LAST_DAY)):
    on = date or dt.date.today()
    shown = parameters_in_force(actor=request.auth, region=region or None, on=on)
    code = shown.region or "11"
    return {
        "region": shown.region,
        "date": on,
        "dibao_line_missing": shown.dibao_line_missing,
        "warning": dibao_line_warning(current_parameters(), code, on),
        "parameters": [
            {
                "name": r["name"], "description": r["description"], "value": r["data"], "value_text": r["value"],
                "unit": r["unit"], "unit_zh": r["unit_zh"], "prefix": r["prefix_code"], "start": r["start"] or None,
                "source": r["source"] or None, "from_database": r["from_database"],
            }
            for r in shown.rows
        ],
    }


@router.post("/preview", summary="保存前预览: 按村统计候选类别、低收入类别等有变化的户数")
def parameters_preview(request, payload: ValueIn):
    preview = services.county_parameter_preview(
        actor=request.auth, name=payload.name, region_prefix=payload.region_prefix, start=payload.start,
        value_text=payload.value, as_of=payload.as_of,
    )
    return {
        "name": preview.name, "region_prefix": preview.prefix, "start": preview.start, "value": preview.value_text,
        "as_of": preview.as_of, "households": preview.households, "total": preview.total,
        "villages": preview.villages, "transitions": preview.transitions,
    }


@router.post("/", response={201: CountyParameterOut}, summary="设置本县参数(带文件依据和起始日期)")
def parameters_set(request, payload: SetIn):
    row = services.county_parameter_set(
        actor=request.auth, name=payload.name, region_prefix=payload.region_prefix, start=payload.start,
        value_text=payload.value, document=payload.document,
    )
    return Status(201, {
        "id": row.pk, "name": row.name, "region_prefix": row.region_prefix, "start": row.start,
        "value": row.value_text, "document": row.document, "set_by": row.set_by.username, "set_at": row.set_at,
    })

