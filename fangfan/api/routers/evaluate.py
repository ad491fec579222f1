"""POST /api/v1/evaluate/household: the interchange rows of ONE household (data.md; Chinese or
English column names, as in the import files) → its rule results and the structured explanation.

The rows are validated by the import's own reader (written as CSV files to a temporary folder and
read with read_interchange, so the API accepts exactly what an import accepts and says the same
Chinese reasons), then evaluated with the parameters in force (shipped YAML + county values).
Nothing is stored."""
from __future__ import annotations

import csv
import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any, Union

from django.core.exceptions import PermissionDenied
from ninja import Field, Router, Schema, Status

from fangfan.regions.scope import in_scope

router = Router(tags=["evaluate"])

Cell = Union[str, int, float, bool, None]
MAX_ROWS = 200  # one household: its members, income years and measures
# Dates the rules can work with (date arithmetic near 9999-12-31 would overflow).
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


class HouseholdIn(Schema):
    as_of: dt.date = Field(..., ge=FIRST_DAY, le=LAST_DAY, description="评估日期 YYYY-MM-DD")
    year: int | None = Field(None, ge=FIRST_DAY.year, le=LAST_DAY.year, description="收入年度(默认: 所给收入中最近的年度)")
    households: list[dict[str, Cell]] = Field(..., description="户表: 恰好一行")
    members: list[dict[str, Cell]] = Field(default_factory=list, description="家庭成员表")
    incomes: list[dict[str, Cell]] = Field(default_factory=list, description="收支表")
    measures: list[dict[str, Cell]] = Field(default_factory=list, description="帮扶措施表")


class ProblemOut(Schema):
    table: str | None
    row: int | None = Field(None, description="该表中的第几行(从 1 起)")
    column: str | None
    value: str
    reason: str


class ProblemsOut(Schema):
    detail: str
    problems: list[ProblemOut]


class EvaluateOut(Schema):
    household_id: str
    village_code: str
    as_of: dt.date
    results: dict[str, Any] = Field(..., description="规则结果(rules.md 的 evaluate 列; 金额为元, 两位小数)")
    explanation: dict[str, Any] = Field(..., description="结构化说明: 每条规则、输入、参数取值及其出处")


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _write(folder: Path, name: str, rows: list[dict[str, Cell]]) -> None:
    headers: list[str] = []
    for row in rows:
        for key in row:
            if key not in headers:
                headers.append(key)
    with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([_cell(row.get(key)) for key in headers])


def _problem(problem) -> dict:
    table = problem.file[:-4] if problem.file.endswith(".csv") else None
    # The reader counts spreadsheet rows (the header is row 1): the posted list counts from 1.
    row = problem.row - 1 if problem.row is not None and table else problem.row
    return {"table": table, "row": row, "column": problem.column, "value": problem.value, "reason": problem.reason}


def _where(problem: dict) -> str:
    parts = [problem["table"] or "", "" if problem["row"] is None else f"第{problem['row']}行", problem["column"] or ""]
    return " ".join(p for p in parts if p)


def _unprocessable(problems: list[dict]):
    shown = ";".join(f"{_where(p)}: {p['reason']}" if _where(p) else p["reason"] for p in problems[:5])
    more = f" 等 {len(problems)} 个问题" if len(problems) > 5 else ""
    return Status(422, {"detail": f"户数据有误: {shown}{more}", "problems": problems})


def _jsonable(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@router.post(
    "/household",
    response={200: EvaluateOut, 422: ProblemsOut},
    summary="评估一户: 提交一户的互换数据行, 返回规则结果和结构化说明",
)
def evaluate_household(request, payload: HouseholdIn):
    from fangfan.policy.evaluate import RESULT_COLUMNS, evaluate_frame, format_results
    from fangfan.policy.explain import explain_row
    from fangfan.registry.interchange.read import read_interchange
    from fangfan.screening.parameters import current_parameters

    tables = {"households": payload.households, "members": payload.members, "incomes": payload.incomes,
              "measures": payload.measures}
    if len(payload.households) != 1:
        return _unprocessable([{"table": "households", "row": None, "column": None, "value": "",
                                "reason": f"户表必须恰好一行(一户),收到 {len(payload.households)} 行"}])
    too_many = [name for name, rows in tables.items() if len(rows) > MAX_ROWS]
    if too_many:
        return _unprocessable([{"table": name, "row": None, "column": None, "value": "",
                                "reason": f"一户最多 {MAX_ROWS} 行"} for name in too_many])
    with tempfile.TemporaryDirectory(prefix="fangfan-evaluate-") as folder:
        try:
            for name, rows in tables.items():
                if rows:
                    _write(Path(folder), name, rows)
        except UnicodeEncodeError:  # a lone surrogate in the JSON text
            return _unprocessable([{"table": None, "row": None, "column": None, "value": "",
                                    "reason": "数据中含有无法编码的字符"}])
        read = read_interchange(folder)
    if not read.ok:
        return _unprocessable([_problem(p) for p in read.problems])
    village_code = read.tables["households"].get_column("village_code")[0]
    if not in_scope(request.auth, village_code):
        raise PermissionDenied("该户所在村不在本账号的管辖范围内")
    full = evaluate_frame(read.tables, as_of=payload.as_of, year=payload.year, params=current_parameters()).collect(
        engine="in-memory"
    )
    row = full.row(0, named=True)
    results = format_results(full.select(RESULT_COLUMNS)).row(0, named=True)
    return {
        "household_id": row["household_id"],
        "village_code": row["village_code"],
        "as_of": payload.as_of,
        "results": results,
        "explanation": _jsonable(explain_row(row)),
    }

