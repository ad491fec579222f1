"""Hostile text going out to spreadsheets and coming in from files: one place for the rules.

Out (CSV/XLSX injection, OWASP "CSV Injection"): a spreadsheet runs a cell that starts with
= + - @ (or a TAB / CR before them) as a formula — `=HYPERLINK("http://x","y")` typed into a
name field would be a live link, or worse, in the county office's Excel.
- XLSX: every workbook is opened with XLSX_OPTIONS, so xlsxwriter writes text as text (never a
  formula or a link, whatever it starts with); the text itself is kept exactly.
- CSV meant for people (reports, lists, feedback): every text cell goes through safe_cell, which
  puts a single quote before such text (Excel shows the text, runs nothing). Numbers — and text
  that is only a number, such as a negative amount "-12.50" — are left alone: Excel reads them
  as the number they are, which runs nothing.
- Machine files that fangfan reads back (the interchange CSV of `fangfan export`, the evaluate
  API's temporary files, COPY buffers) are exempt: they must round-trip byte for byte (see
  fangfan.registry.interchange.write). People open the XLSX export, whose cells are text.

In: caps on what one file may hold, so a hostile or broken file is refused with a clear
Chinese reason instead of exhausting memory or reaching the database (a 10 MB cell, ten
thousand columns, a NUL that PostgreSQL cannot store)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

# xlsxwriter.Workbook options: strings are written as strings, never as formulas, links or numbers.
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")

# Input caps (characters per cell, columns per sheet). The widest registry column holds 200
# characters (措施内容) and the widest table has fewer than 40 columns; extra columns are kept,
# so the caps leave room for a county's own columns while refusing what no form produces.
MAX_CELL_CHARS = 2000
MAX_COLUMNS = 500


def safe_cell(value):
    """A value for a CSV cell a person will open: text that a spreadsheet would run as a formula
    gets a leading single quote; numbers, plain numeric text and other text are unchanged."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value  # "-12.50": a number to Excel, not a formula
    return "'" + value


def safe_row(values: Iterable) -> list:
    return [safe_cell(v) for v in values]


def is_number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def shorten(text: str, limit: int = 40) -> str:
    """Text to quote in a problem message: a hostile 10 MB cell is named, not printed."""
    return text if len(text) <= limit else f"{text[:limit]}…(共{len(text)}字)"


def cell_problem(text: str) -> str | None:
    """The Chinese reason one input cell is refused, or None: over MAX_CELL_CHARS characters or
    holding a NUL (PostgreSQL cannot store it; a text file never has one)."""
    if len(text) > MAX_CELL_CHARS:
        return f"单元格过长({len(text)}字, 上限{MAX_CELL_CHARS}字)"
    if "\x00" in text:
        return "单元格含有空字符(NUL), 文件可能已损坏或不是文本文件"
    return None


def columns_problem(width: int) -> str | None:
    if width > MAX_COLUMNS:
        return f"列数过多({width}列, 上限{MAX_COLUMNS}列), 请检查文件是否为所需的表"
    return None


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: the column as a spreadsheet names it."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def records_problem(records: list[tuple[int, list[str]]], text: str | None = None) -> str | None:
    """The first capped cell or over-wide row of a sheet's records [(row, cells)], as
    '第3行 B列: reason', or None. `text`, a CSV's decoded text, makes the usual case cheap: when
    each record is one line and no line is longer than the cap, no cell can be."""
    if text is not None and "\x00" not in text:
        lines = text.splitlines()
        if len(lines) == len(records) and max(map(len, lines), default=0) <= MAX_CELL_CHARS:
            widest = max(records, key=lambda r: len(r[1]), default=(0, []))
            reason = columns_problem(len(widest[1]))
            return f"第{widest[0]}行: {reason}" if reason else None
    for row, cells in records:
        reason = columns_problem(len(cells))
        if reason:
            return f"第{row}行: {reason}"
        if max(map(len, cells), default=0) > MAX_CELL_CHARS or any("\x00" in c for c in cells):
            j, reason = next((j, cell_problem(c)) for j, c in enumerate(cells) if cell_problem(c))
            return f"第{row}行 {column_letter(j)}列: {reason}"
    return None
