"""What each department's feed holds (data.md "Department feeds") and how one file is read and
checked: required columns, resident IDs (15 digits converted to 18), dates, amounts and the
department's value lists. Reading and checking write nothing; services.feed_import stores.

Personal data (fangfan.common.pii): a row's matching key is the blind index of its ID, computed
once per file (`index_all`); the plain ID rides along in memory only (FeedLine.plain, for the
cipher the import stores) and is not in the row's values. A department may send the index
itself instead of the ID (32 hex characters in the same 证件号码 column, e.g. under the header
"证件号码(加密索引)"; `fangfan dept hash-ids` writes such files): the row matches and warns
exactly as its plain twin, its row key is the same, only its number cannot be shown."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from fangfan.common import pii
from fangfan.common.dates import MAX_DATE, MIN_DATE, DateError, parse_date
from fangfan.common.ids import IdNumberError, convert_15_to_18, id_reason_expr, mask, validate_id
from fangfan.common.money import MoneyError, parse_yuan
from fangfan.common.safe import records_problem
from fangfan.common.text import SPACE_CHARS, strip
from fangfan.registry.interchange.sources import SourceError, cell_text, csv_reason, decode_csv

ID = "证件号码"
VILLAGE = "村代码"
HEADER_SCAN_ROWS = 20
# Shown instead of a masked number for a row whose department sent the keyed hash (no number).
HASHED_LABEL = "部门提供的是加密索引"


@dataclass(frozen=True)
class FeedSpec:
    columns: tuple[str, ...]
    dates: tuple[str, ...] = ()
    # Amount columns; those in `optional` may be empty (金额 of a 死亡火化, 月工资 of a 失业登记).
    amounts: tuple[str, ...] = ()
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    optional: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return VILLAGE if VILLAGE in self.columns else ID


_DISABILITY = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
SPECS: dict[str, FeedSpec] = {
    "医保": FeedSpec(
        (ID, "结算日期", "医疗总费用", "基本医保报销", "大病保险报销", "医疗救助", "合规自付", "就医地", "执行分级诊疗"),
        dates=("结算日期",), amounts=("医疗总费用", "基本医保报销", "大病保险报销", "医疗救助", "合规自付"),
        codes={"就医地": ("省内", "省外"), "执行分级诊疗": ("是", "否")},
    ),
    "民政": FeedSpec(
        (ID, "事项", "日期", "金额"), dates=("日期",), amounts=("金额",), optional=("金额",),
        codes={"事项": ("低保纳入", "低保退出", "特困纳入", "特困退出", "临时救助", "死亡火化")},
    ),
    "残联": FeedSpec(
        (ID, "残疾类别", "残疾等级", "发证日期"), dates=("发证日期",),
        codes={"残疾类别": _DISABILITY, "残疾等级": ("一级", "二级", "三级", "四级")},
    ),
    "人社": FeedSpec(
        (ID, "事项", "日期", "单位", "月工资"), dates=("日期",), amounts=("月工资",), optional=("单位", "月工资"),
        codes={"事项": ("失业登记", "就业登记", "机关事业单位在编")},
    ),
    "教育": FeedSpec((ID, "事项", "学段", "日期"), dates=("日期",), codes={"事项": ("失学辍学", "新入学大学生")}),
    "住建": FeedSpec((ID, "鉴定等级", "鉴定日期"), dates=("鉴定日期",), codes={"鉴定等级": ("A", "B", "C", "D")}),
    "水利": FeedSpec((VILLAGE, "问题", "日期"), dates=("日期",), codes={"问题": ("季节性缺水", "管道损坏", "水质不达标")}),
    "应急": FeedSpec((ID, "灾种", "受灾日期", "直接经济损失"), dates=("受灾日期",), amounts=("直接经济损失",)),
    "公安": FeedSpec(
        (ID, "事项", "日期", "车辆类型"), dates=("日期",), optional=("车辆类型",),
        codes={"事项": ("死亡", "户籍迁出", "车辆登记")},
    ),
    "不动产": FeedSpec(
        (ID, "不动产类型", "所在地", "登记日期"), dates=("登记日期",),
        codes={"不动产类型": ("商品住宅", "商铺", "其他"), "所在地": ("城镇", "农村")},
    ),
    "市场监管": FeedSpec(
        (ID, "身份", "企业名称", "年报状态"), codes={"身份": ("法定代表人", "股东"), "年报状态": ("已年报", "未年报")},
    ),
    "金融": FeedSpec((ID, "存款余额", "有价证券市值"), amounts=("存款余额", "有价证券市值")),
}


@dataclass(frozen=True)
class Problem:
    file: str
    row: int
    column: str
    value: str  # masked where it may be an ID
    reason: str

    def __str__(self) -> str:
        where = (f" 第{self.row}行" if self.row else "") + (f" {self.column}" if self.column else "")
        shown = f" “{self.value}”" if self.value else ""
        return f"{self.file}{where}{shown}: {self.reason}"


@dataclass
class FeedLine:
    row: int
    key: str  # the blind index of the ID (pii.id_index), or the village code for 水利
    values: dict[str, object]  # column → normalised value (dates ISO, amounts in fen); never the ID
    row_key: str
    # `values` as JSON text (keys sorted, Chinese as is): what FeedRow.values stores, encoded once
    # with the row key's content.
    values_json: str = field(default="", repr=False, compare=False)
    # The normalised 18-character ID for the cipher; "" when the department sent the index (and
    # for 水利). In memory only: never in values, row_key or a message.
    plain: str = field(default="", repr=False, compare=False)


@dataclass
class FeedFile:
    name: str
    sha256: str
    lines: list[FeedLine]
    problems: list[Problem]


def _header_name(text: str) -> str:
    # "证件号码(户主)" in data.md's own table names the same column.
    return re.sub(r"[（(].*?[)）]$", "", re.sub(r"\s+", "", text))


def _records(path: Path, data: bytes, name: str) -> list[tuple[int, list[str]]]:
    """(sheet row number, cells) of the file's first sheet: CSV in UTF-8 or GB18030, or XLSX."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import python_calamine

        try:
            book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
            rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
        except Exception as exc:  # corrupt or password-protected workbooks
            raise SourceError(f"无法打开XLSX文件 {name}: {exc}") from exc
        # to_python(skip_empty_area=False) starts at A1: list index + 1 is the sheet row.
        return _capped([(i + 1, [cell_text(v) for v in row]) for i, row in enumerate(rows)], name)
    if path.suffix.lower() not in (".csv", ".txt"):
        raise SourceError(f"不支持的文件类型 {name}(应为 .csv 或 .xlsx)")
    text, _ = decode_csv(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _capped([(i + 1, row) for i, row in enumerate(reader)], name, text)
    except csv.Error as exc:
        raise SourceError(f"{name} {csv_reason(exc, reader.line_num)}") from exc


def _capped(records: list[tuple[int, list[str]]], name: str, text: str | None = None) -> list[tuple[int, list[str]]]:
    # A 10 MB cell, ten thousand columns or a NUL refuse the file (common.safe caps).
    problem = records_problem(records, text)
    if problem:
        raise SourceError(f"{name} {problem}")
    return records


# One encoder for every row (json.dumps with options builds a new one per call).
_ROW_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def row_key(department: str, values: dict[str, object], index: str = "") -> str:
    """The row's identity: its department and values and, for a row naming a person, the blind
    index of the ID (keyed: the ID cannot be found back by hashing candidate numbers, and a
    department's hashed file gives its plain twin's keys). 水利 rows: the values alone."""
    content = _ROW_JSON.encode([department, values])
    return hashlib.sha256((f"{content}|{index}" if index else content).encode("utf-8")).hexdigest()


def _line(department: str, row: int, key: str, values: dict[str, object], plain: str = "") -> FeedLine:
    """`values` without the ID (for 水利 with the village code); `key` the index or village code."""
    content = _ROW_JSON.encode([department, values])  # '["医保",{…}]': the row key's content
    hashed = content if department == "水利" else f"{content}|{key}"
    digest = hashlib.sha256(hashed.encode("utf-8")).hexdigest()
    return FeedLine(row, key, values, digest, content[len(department) + 4 : -1], plain)


def _index_lines(department: str, spec: FeedSpec, rows: list[tuple[int, str, dict[str, object]]]) -> list[FeedLine]:
    """(row, key, values) checked → lines: for the ID departments every plain ID indexed in one
    pass over the file and dropped from the values (a key that is already an index is kept)."""
    if spec.key == VILLAGE:
        return [_line(department, row, key, values) for row, key, values in rows]
    plains = ["" if pii.is_index(key) else key for _, key, _ in rows]
    indexes = pii.keyring().index_all(plains)
    lines = []
    for (row, key, values), plain, index in zip(rows, plains, indexes):
        values.pop(ID, None)
        lines.append(_line(department, row, index or key, values, plain))
    return lines


def _check_key(spec: FeedSpec, raw: str) -> str:
    """The normalised matching key or ValueError with the reason: the village code; the 18-digit
    ID; or a department's keyed hash of it (pii.is_index; hex read in either case)."""
    if spec.key == VILLAGE:
        if not re.fullmatch(r"[0-9]{12}", raw):
            raise ValueError("村代码应为12位数字")
        return raw
    if pii.is_index(raw.lower()):
        return raw.lower()
    value = raw
    if re.fullmatch(r"[0-9]{15}", value):  # old-style ID (1984-1999 cards)
        value = convert_15_to_18(value)
    try:
        return validate_id(value)
    except IdNumberError as exc:
        raise ValueError(str(exc)) from None


def read_feed(department: str, path: Path, name: str | None = None) -> FeedFile:
    """Read and check one department file; every problem is listed (nothing is stored here)."""
    spec = SPECS[department]
    path = Path(path)
    name = name or path.name
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    records = _records(path, data, name)
    problems: list[Problem] = []
    header_at = next(
        (i for i, (_, cells) in enumerate(records[:HEADER_SCAN_ROWS]) if spec.key in {_header_name(c) for c in cells}),
        None,
    )
    if header_at is None:
        problems.append(Problem(name, 1, spec.key, "", f"前{HEADER_SCAN_ROWS}行中找不到表头(应含“{spec.key}”列, {department}数据)"))
        return FeedFile(name, digest, [], problems)
    header_row, header = records[header_at]
    where: dict[str, int] = {}
    for j, cell in enumerate(header):
        column = _header_name(cell)
        if column in spec.columns:
            if column in where:
                problems.append(Problem(name, header_row, column, "", "列名重复"))
            where.setdefault(column, j)
    missing = [c for c in spec.columns if c not in where]
    for column in missing:
        problems.append(Problem(name, header_row, column, "", f"缺少必需列(应有: {'、'.join(spec.columns)})"))
    if missing:
        return FeedFile(name, digest, [], problems)
    body = records[header_at + 1 :]
    checked: list[tuple[int, str, dict[str, object]]] = []
    for (row, cells), values in zip(body, _valid_values(spec, where, body)):
        if values is not None:  # every cell valid (the vectorised checks): no problem to list
            checked.append((row, values[spec.key], values))
            continue
        texts = {c: strip(cells[j]) if j < len(cells) else "" for c, j in where.items()}
        if not any(texts.values()) and not any(strip(c) for c in cells):
            continue  # blank lines between blocks are harmless
        line = _check_row(spec, name, row, texts, problems)
        if line is not None:
            checked.append(line)
    return FeedFile(name, digest, _index_lines(department, spec, checked), problems)


# Below this many rows the cell-by-cell check is as fast (Polars' first use in a process costs ~0.1 s).
FAST_CHECK_MIN_ROWS = 200


def _valid_values(spec: FeedSpec, where: dict[str, int], body: list[tuple[int, list[str]]]) -> list[dict | None]:
    """Each row's normalised values when every cell of it is valid and written the usual way
    (18-digit IDs by the Polars twin of validate_id, dates as YYYY-MM-DD, amounts as plain yuan with up to
    two decimals: spellings the scalar checks accept and normalise to the same values), else None:
    _check_row reads those rows one by one, so every other spelling and every problem is handled
    exactly as before. A county's feeds in about a second instead of a per-cell Python loop."""
    if len(body) < FAST_CHECK_MIN_ROWS:
        return [None] * len(body)
    frame = pl.DataFrame(
        [pl.Series(c, [cells[j] if j < len(cells) else "" for _, cells in body], dtype=pl.String)
         for c, j in where.items()]
    ).with_columns(pl.all().str.strip_chars(SPACE_CHARS))
    good = []
    out = []
    for column in spec.columns:
        text = pl.col(column)
        empty = text == ""
        if column == spec.key:
            if spec.key == VILLAGE:
                good.append(text.str.contains(r"^[0-9]{12}$"))
                out.append(text.alias(column))
            else:  # 18 digits as written (15-digit and lower-case x IDs are read one by one), or
                # a department's keyed hash in lower case
                plain = id_reason_expr(text).is_null() & ~text.str.ends_with("x")
                good.append(plain | text.str.contains(f"^[0-9a-f]{{{pii.INDEX_HEX}}}$"))
                out.append(text.alias(column))
            continue
        blank_ok = pl.lit(column in spec.optional)
        if column in spec.dates:
            day = text.str.to_date("%Y-%m-%d", strict=False)
            usual = text.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$") & day.is_between(MIN_DATE, MAX_DATE)
            good.append(pl.when(empty).then(blank_ok).otherwise(usual))
            out.append(pl.when(~empty).then(text).alias(column))
        elif column in spec.amounts:
            usual = text.str.contains(r"^[0-9]{1,15}(\.[0-9]{1,2})?$")
            good.append(pl.when(empty).then(blank_ok).otherwise(usual))
            fen = pl.when(usual).then(text).cast(pl.Decimal(18, 2), strict=False).to_physical().cast(pl.Int64)
            out.append(pl.when(~empty).then(fen).alias(column))
        elif column in spec.codes:
            good.append(pl.when(empty).then(blank_ok).otherwise(text.is_in(list(spec.codes[column]))))
            out.append(text.alias(column))
        else:
            good.append(~empty | blank_ok)
            out.append(text.alias(column))
    checked = frame.select(pl.all_horizontal(good).fill_null(False).alias("__ok__"), *out)
    names = [c for c in checked.columns if c != "__ok__"]
    return [dict(zip(names, rest)) if row_ok else None for row_ok, *rest in checked.iter_rows()]


def _check_row(spec: FeedSpec, name: str, row: int, texts: dict[str, str],
               problems: list[Problem]) -> tuple[int, str, dict[str, object]] | None:
    """One row read cell by cell: (row, key, values), or None with its problems added to `problems`."""
    values: dict[str, object] = {}
    bad = False

    def problem(column: str, reason: str) -> None:
        nonlocal bad
        bad = True
        shown = mask(texts[column]) if column == ID else texts[column]
        problems.append(Problem(name, row, column, shown, reason))

    key = ""
    try:
        key = _check_key(spec, texts[spec.key]) if texts[spec.key] else ""
        if not key:
            problem(spec.key, "不能为空")
    except ValueError as exc:
        problem(spec.key, str(exc))
    values[spec.key] = key
    for column in spec.columns:
        text = texts[column]
        if column == spec.key:
            continue
        if not text:
            if column not in spec.optional:
                problem(column, "不能为空")
            values[column] = None if column in spec.amounts or column in spec.dates else ""
            continue
        if column in spec.dates:
            try:
                day = parse_date(text)
            except DateError as exc:
                problem(column, exc.reason)
                continue
            values[column] = day.isoformat()
        elif column in spec.amounts:
            try:
                fen = parse_yuan(text)
            except MoneyError as exc:
                problem(column, exc.reason)
                continue
            if fen < 0:
                problem(column, "金额不能为负数")
            values[column] = fen
        elif column in spec.codes:
            if text not in spec.codes[column]:
                problem(column, f"不是允许的值(应为: {'、'.join(spec.codes[column])})")
            values[column] = text
        else:
            values[column] = text
    return None if bad else (row, key, values)


_PERIOD_IN_NAME = re.compile(r"(20[0-9]{2})[-_.年]?(0[1-9]|1[0-2])(?![0-9])")


def parse_period(text: str) -> str:
    """'2026-03' (also 202603, 2026年3月) → '2026-03'; ValueError with a Chinese reason else."""
    match = re.fullmatch(r"\s*(20[0-9]{2})\s*[-/.年]?\s*([0-9]{1,2})\s*月?\s*", text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"数据期应为 YYYY-MM(如 2026-03), 收到 {text!r}")
    return f"{match.group(1)}-{int(match.group(2)):02d}"


def period_from_name(name: str, today: dt.date) -> str:
    """The period a file names ('医保_2026-03.csv', '民政202603.xlsx'), else the current month."""
    match = _PERIOD_IN_NAME.search(Path(name).stem)
    return f"{match.group(1)}-{match.group(2)}" if match else f"{today:%Y-%m}"


def feed_frame(department: str, records: list[tuple[str, str, dict[str, object]]]) -> pl.DataFrame:
    """(row_key, key, values) of one department as the typed frame fangfan.policy.warnings reads:
    dates as pl.Date, amounts as Int64 fen, the other columns as text."""
    spec = SPECS[department]
    data: dict[str, list] = {"row_key": [r[0] for r in records], "key": [r[1] for r in records]}
    for column in spec.columns:
        if column != spec.key:
            data[column] = [r[2].get(column) for r in records]
    schema: dict[str, pl.DataType] = {"row_key": pl.String, "key": pl.String}
    for column in spec.columns:
        if column != spec.key:
            schema[column] = pl.Int64 if column in spec.amounts else pl.String
    frame = pl.DataFrame(data, schema=schema)
    return frame.with_columns([pl.col(c).str.to_date("%Y-%m-%d") for c in spec.dates])
