"""Hostile department files (issue 11 item 5) through feeds.read_feed and the upload page: wrong
encodings, garbage, huge cells, ten thousand columns, NUL bytes and formulas give a Chinese
reason naming the file (and row and column where there is one), or are read as plain text —
never an exception, never a partial import, in bounded time; the uploaded copy is always removed."""
from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fangfan.accounts.models import Role
from fangfan.common.safe import MAX_CELL_CHARS, MAX_COLUMNS
from fangfan.departments.feeds import SPECS, VILLAGE, read_feed
from fangfan.departments.models import FeedBatch, FeedRow
from fangfan.registry.interchange.sources import SourceError
from tests.factories import UserFactory, make_id_number

CJK = re.compile(r"[\u4e00-\u9fff]")
FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-1+1", "@SUM(A1:A9)"]
SECONDS = 10


def _valid_row(department: str, i: int = 0) -> list[str]:
    spec = SPECS[department]
    cells = []
    for column in spec.columns:
        if column == spec.key:
            cells.append("341225103208" if spec.key == VILLAGE else make_id_number(100 + i, county="341225"))
        elif column in spec.dates:
            cells.append("2026-03-01")
        elif column in spec.amounts:
            cells.append("100.00")
        elif column in spec.codes:
            cells.append(spec.codes[column][0])
        else:
            cells.append("某单位")
    return cells


def _csv(rows: list[list[str]]) -> str:
    return "\n".join(",".join('"' + c.replace('"', '""') + '"' for c in row) for row in rows) + "\n"


def _good(department: str) -> list[list[str]]:
    return [list(SPECS[department].columns), _valid_row(department, 0), _valid_row(department, 1)]


@st.composite
def hostile_feeds(draw) -> tuple[str, str, str, bytes]:
    """(department, suffix, what was done, file bytes)."""
    department = draw(st.sampled_from(sorted(SPECS)))
    rows = _good(department)
    kind = draw(st.sampled_from(["cell", "cell", "cell", "encoding", "garbage", "columns"]))
    if kind == "cell":
        r, c = draw(st.integers(0, 2)), draw(st.integers(0, len(rows[0]) - 1))
        value = draw(st.one_of(
            st.sampled_from(FORMULAS), st.text(min_size=1, max_size=30),
            st.builds(lambda ch, n: ch * n, st.sampled_from(["长", "x", '"', "\n"]), st.integers(1, 3 * MAX_CELL_CHARS)),
            st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=4), st.text(max_size=4)),
        ))
        rows[r][c] = value
        return department, ".csv", f"row {r + 1} col {c + 1} = {value[:30]!r}", _csv(rows).encode("utf-8", "surrogatepass")
    if kind == "encoding":
        encoding = draw(st.sampled_from(["gbk", "gb18030", "utf-16", "utf-32", "latin-1", "big5"]))
        return department, ".csv", encoding, _csv(rows).encode(encoding, "replace")
    if kind == "garbage":
        return department, draw(st.sampled_from([".csv", ".xlsx"])), "garbage", draw(st.binary(max_size=2000))
    width = draw(st.sampled_from([MAX_COLUMNS - 20, MAX_COLUMNS + 1, 10_000]))
    rows = [row + [f"c{i}" if n == 0 else "v" for i in range(width)] for n, row in enumerate(rows)]
    return department, ".csv", f"{width} more columns", _csv(rows).encode("utf-8")


@settings(max_examples=40, deadline=5000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          database=None)
@given(hostile_feeds())
def test_it_reads_any_hostile_department_file_without_an_exception(case):
    department, suffix, what, data = case
    with tempfile.TemporaryDirectory(prefix="fangfan-hostile-") as tmp:
        path = Path(tmp) / f"{department}{suffix}"
        path.write_bytes(data)
        started = time.perf_counter()
        try:
            feed = read_feed(department, path)
        except SourceError as exc:
            assert CJK.search(str(exc)) and len(str(exc)) < 400, (what, str(exc)[:200])
            return
        finally:
            assert time.perf_counter() - started < SECONDS, what
    for problem in feed.problems:
        assert problem.file == path.name and CJK.search(problem.reason), (what, str(problem))
        assert len(str(problem)) < MAX_CELL_CHARS + 400, what
    for value in FORMULAS:
        if value in what and not feed.problems:  # a free-text column: kept as the text it was
            assert any(value in line.values.values() for line in feed.lines), what


def _feed(tmp_path: Path, department: str, text: str) -> Path:
    path = tmp_path / f"{department}.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_it_keeps_a_formula_in_a_free_text_column_as_plain_text(tmp_path):
    rows = _good("人社")
    rows[1][rows[0].index("单位")] = FORMULAS[0]
    feed = read_feed("人社", _feed(tmp_path, "人社", _csv(rows)))
    assert not feed.problems and feed.lines[0].values["单位"] == FORMULAS[0]


def test_it_refuses_a_10_mb_cell_naming_file_and_row(tmp_path):
    rows = _good("市场监管")
    rows[2][rows[0].index("企业名称")] = "x" * (10 << 20)
    started = time.perf_counter()
    with pytest.raises(SourceError) as exc:
        read_feed("市场监管", _feed(tmp_path, "市场监管", _csv(rows)))
    assert time.perf_counter() - started < SECONDS
    assert str(exc.value) == f"市场监管.csv CSV格式错误: 第3行有单元格过长(上限{MAX_CELL_CHARS}字)"


def test_it_refuses_a_cell_over_the_cap_naming_its_column(tmp_path):
    rows = _good("市场监管")
    rows[2][rows[0].index("企业名称")] = "企" * (MAX_CELL_CHARS + 1)
    with pytest.raises(SourceError, match=rf"市场监管.csv 第3行 C列: 单元格过长\({MAX_CELL_CHARS + 1}字, 上限{MAX_CELL_CHARS}字\)"):
        read_feed("市场监管", _feed(tmp_path, "市场监管", _csv(rows)))


def test_it_refuses_ten_thousand_columns_and_a_nul(tmp_path):
    rows = [row + ["v"] * 10_000 for row in _good("金融")]
    with pytest.raises(SourceError, match=rf"金融.csv 第1行: 列数过多\(10003列, 上限{MAX_COLUMNS}列\)"):
        read_feed("金融", _feed(tmp_path, "金融", _csv(rows)))
    rows = _good("民政")
    rows[1][1] = "临时\x00救助"
    with pytest.raises(SourceError, match=r"民政.csv 第2行 B列: 单元格含有空字符\(NUL\)"):
        read_feed("民政", _feed(tmp_path, "民政", _csv(rows)))


def test_it_refuses_a_workbook_of_ten_thousand_columns(tmp_path):
    import xlsxwriter

    path = tmp_path / "医保.xlsx"
    with xlsxwriter.Workbook(str(path)) as wb:
        ws = wb.add_worksheet()
        for r, row in enumerate(_good("医保")):
            ws.write_row(r, 0, row + ["v"] * 10_000)
    with pytest.raises(SourceError, match="医保.xlsx 第1行: 列数过多"):
        read_feed("医保", path)


# ------------------------------------------------------------------------------ the upload page

@pytest.fixture
def medical(db):
    return UserFactory(username="yb-hostile", role=Role.COUNTY_DEPT, region_code="341225000000", department="医保")


def _leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("fangfan-upload-*")}


@pytest.mark.django_db
@pytest.mark.parametrize("name, data, message", [
    ("医保.csv", "\n".join(["证件号码,结算日期", "x" * (10 << 20)]).encode(), "单元格过长"),
    ("医保.csv", _csv(_good("医保")).encode("utf-16"), "无法识别文件编码"),
    ("医保.csv", bytes(range(256)) * 40, "无法识别文件编码"),
    ("医保.xlsx", b"PK\x03\x04" + bytes(100), "无法打开XLSX文件"),
    ("医保.exe", b"MZ\x90\x00", "不支持的文件类型"),
    ("医保." + "x" * 300, b"a,b\n", "不支持的文件类型"),
])
def test_it_answers_a_hostile_upload_with_a_chinese_page_writes_nothing_and_keeps_no_copy(
        client, medical, name, data, message):
    client.force_login(medical)
    before = _leftovers()
    response = client.post("/departments/upload/", {"file": SimpleUploadedFile(name, data), "period": ""})
    page = response.content.decode()
    assert response.status_code == 200 and message in page and "未导入任何数据" in page
    assert not FeedBatch.objects.exists() and not FeedRow.objects.exists()
    assert _leftovers() == before


@pytest.mark.django_db
def test_it_removes_the_uploaded_copy_also_when_the_import_fails_unexpectedly(client, medical, monkeypatch):
    seen = []

    def broken(**kwargs):
        seen.append(Path(kwargs["path"]))
        assert seen[0].exists()
        raise RuntimeError("disk full")

    monkeypatch.setattr("fangfan.web.views.departments.feed_import", broken)
    client.force_login(medical)
    with pytest.raises(RuntimeError):
        client.post("/departments/upload/", {"file": SimpleUploadedFile("医保.csv", b"a,b\n"), "period": ""})
    assert seen and not seen[0].exists()
