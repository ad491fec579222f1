"""fangfan.common.safe: what leaves for a spreadsheet runs nothing, what comes in is capped, and
every XLSX/CSV writer in fangfan goes through it (a new writer that does not fails here)."""
from __future__ import annotations

import ast
import csv
import io
import zipfile
from decimal import Decimal
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from fangfan.common import safe

ROOT = Path(__file__).resolve().parents[2] / "fangfan"
FAST = settings(max_examples=200, deadline=1000)
TRIGGERS = st.sampled_from(list(safe.FORMULA_START))
FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-1+1", "@SUM(A1:A9)", "\t=1+1", "\r=1", "=1+1"]


def _runs_in_excel(cell: str) -> bool:
    """Excel reads a CSV cell as a formula when it starts with = + - @ (or a TAB/CR), unless the
    whole cell is a plain number."""
    return cell.startswith(safe.FORMULA_START) and not safe._PLAIN_NUMBER.fullmatch(cell)


@FAST
@given(st.one_of(st.text(), st.builds(lambda t, s: t + s, TRIGGERS, st.text())))
@example(FORMULAS[0])
@example("-12.50")
@example("+8613800000000")
def test_it_leaves_no_text_cell_that_a_spreadsheet_would_run(text):
    cell = safe.safe_cell(text)
    assert not _runs_in_excel(cell)
    # only ever a leading quote added, so the text is still all there
    assert cell in (text, "'" + text)
    assert safe.safe_cell(cell) == cell  # quoting twice changes nothing


@FAST
@given(st.one_of(st.integers(), st.decimals(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False),
                 st.none(), st.booleans()))
def test_it_leaves_numbers_and_empty_cells_as_they_are(value):
    assert safe.safe_cell(value) is value


@FAST
@given(st.decimals(min_value=-10**9, max_value=10**9, places=2))
def test_it_leaves_a_negative_amount_written_as_text_a_number(amount: Decimal):
    assert safe.safe_cell(format(amount, "f")) == format(amount, "f")


def test_it_quotes_each_known_formula_and_keeps_the_rest_of_the_row():
    row = safe.safe_row([*FORMULAS, "张三", -5, "-5.00", ""])
    assert row[: len(FORMULAS)] == ["'" + f for f in FORMULAS]
    assert row[len(FORMULAS):] == ["张三", -5, "-5.00", ""]


@FAST
@given(st.lists(st.lists(st.text(max_size=30), max_size=6), max_size=8))
def test_it_round_trips_quoted_csv_rows_through_the_csv_module(rows):
    out = io.StringIO()
    csv.writer(out).writerows(safe.safe_row(r) for r in rows)
    back = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert back == [safe.safe_row(r) for r in rows]  # the quoted text comes back, cell for cell


@FAST
@given(st.text(), st.integers(1, 60))
def test_it_shortens_a_long_value_and_says_how_long_it_was(text, limit):
    short = safe.shorten(text, limit)
    if len(text) <= limit:
        assert short == text
    else:
        assert short.startswith(text[:limit]) and f"共{len(text)}字" in short and len(short) < limit + 20


@settings(max_examples=60, deadline=2000)
@given(st.lists(st.lists(st.text(alphabet="ab,\x00x", max_size=8), max_size=5), max_size=6),
       st.integers(0, 5), st.integers(0, 4), st.sampled_from(["big", "nul", "wide", None]))
def test_it_names_the_row_and_column_of_a_capped_cell(rows, at_row, at_col, hostile):
    rows = [[c.replace("\x00", "") for c in r] for r in rows]
    records = [(i + 1, r) for i, r in enumerate(rows)]
    if hostile and records:
        row, cells = records[min(at_row, len(records) - 1)]
        cells[:] = cells + [""] * (at_col + 1 - len(cells))
        if hostile == "big":
            cells[at_col] = "长" * (safe.MAX_CELL_CHARS + 1)
        elif hostile == "nul":
            cells[at_col] = "a\x00b"
        else:
            cells.extend(["v"] * safe.MAX_COLUMNS)
    problem = safe.records_problem(records)
    text_problem = safe.records_problem(records, "\n".join(",".join(c) for _, c in records))
    if not hostile or not records:
        assert problem is None and text_problem is None
        return
    assert problem is not None and problem == text_problem
    assert problem.startswith(f"第{row}行")
    if hostile != "wide":
        assert f" {safe.column_letter(at_col)}列: " in problem
    assert {"big": "单元格过长", "nul": "空字符", "wide": "列数过多"}[hostile] in problem


def test_it_names_columns_as_a_spreadsheet_does():
    assert [safe.column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


# ------------------------------------------------------------------------- every writer uses it

# Writers exempt from the quote, and why (see fangfan.common.safe / interchange.write):
CSV_EXEMPT = {
    "fangfan/registry/interchange/write.py": "interchange CSV, read back by fangfan: must round-trip",
    "fangfan/registry/synthetic.py": "generated test data in the interchange format",
    "fangfan/registry/bulk.py": "COPY buffer for PostgreSQL, never a file",
    "fangfan/api/routers/evaluate.py": "temporary interchange files of one posted household, read back at once",
    "fangfan/screening/management/commands/evaluate.py": "the evaluate contract's CSV (rules.md), compared cell by cell",
    "fangfan/departments/hashing.py": "a department's feed with its IDs hashed, read back by fangfan's feed import as sent",
}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return f"{_name(func.value)}.{func.attr}"
    return func.id if isinstance(func, ast.Name) else ""


def test_it_opens_every_xlsx_workbook_with_formulas_and_links_off():
    found = []
    for path in ROOT.rglob("*.py"):
        for call in _calls(ast.parse(path.read_text())):
            if _name(call.func).endswith(".write_excel"):  # Polars opens its own workbook when given a path
                assert "XLSX_OPTIONS" in path.read_text(), f"{path}: write_excel into a workbook opened with XLSX_OPTIONS"
            if _name(call.func) == "xlsxwriter.Workbook":
                source = ast.unparse(call)
                found.append(path.relative_to(ROOT.parent).as_posix())
                assert "XLSX_OPTIONS" in source, f"{path}: {source} (use fangfan.common.safe.XLSX_OPTIONS)"
    assert len(found) >= 4, found  # views/common, notices, interchange write, evaluate command


def test_it_quotes_formulas_in_every_csv_written_for_people():
    writers = set()
    for path in ROOT.rglob("*.py"):
        text = path.read_text()
        rel = path.relative_to(ROOT.parent).as_posix()
        for call in _calls(ast.parse(text)):
            name = _name(call.func)
            if name in ("csv.writer", "csv.DictWriter") or name.endswith((".write_csv", ".sink_csv")):
                writers.add(rel)
                if rel not in CSV_EXEMPT:
                    assert "safe_row" in text or "safe_cell" in text, f"{rel}: {name} without fangfan.common.safe"
    assert "fangfan/web/views/warnings.py" in writers
    assert not set(CSV_EXEMPT) - writers, f"exempt writers that no longer write CSV: {set(CSV_EXEMPT) - writers}"


def test_it_writes_formula_text_as_plain_text_cells_in_the_page_exports():
    from fangfan.web.views.common import xlsx_bytes
    from fangfan.workflows.notices import NoticeRow, notice_xlsx

    book = xlsx_bytes(FORMULAS[0], FORMULAS, [FORMULAS, ["http://evil.example", -3, "-1"]])
    _assert_no_formula(book, FORMULAS)
    import datetime as dt

    fields = {f: FORMULAS[0] for f in NoticeRow.__dataclass_fields__}
    fields.update(starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 1, 8))
    _assert_no_formula(notice_xlsx([NoticeRow(**fields)], FORMULAS[1]), FORMULAS[:2])


def _assert_no_formula(book: bytes, texts) -> None:
    import openpyxl

    with zipfile.ZipFile(io.BytesIO(book)) as z:
        xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    assert "<f>" not in xml and "<hyperlink" not in xml  # no formula, no link
    sheet = openpyxl.load_workbook(io.BytesIO(book)).worksheets[0]
    values = {c.value for row in sheet.iter_rows() for c in row}
    for text in texts:  # the text itself is kept, as text (a CR is stored escaped as _x000D_)
        assert text in values or "\r" in text
