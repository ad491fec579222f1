"""Interchange files → raw all-string frames, one per table, with spreadsheet row numbers.

Finds which table a file or sheet holds (by its name, Chinese or English), decodes CSV
(UTF-8 with or without BOM, else GB18030), and finds the header row by its column names so
that title rows and merged header cells above it are skipped. No value is validated here.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import os
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from fangfan.common.safe import MAX_CELL_CHARS, columns_problem
from fangfan.common.tables import TABLES, Table

# Column kinds with few distinct texts (code lists, flags, dates, years, small counts).
DICTIONARY_KINDS = frozenset({"code", "bool", "multi", "date", "year", "int", "village_code"})

HEADER_SCAN_ROWS = 20
ROW = "_row"


class SourceError(Exception):
    """A file that cannot be read at all (reason in Chinese)."""

    def __init__(self, reason: str, row: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.row = row


@dataclass
class RawTable:
    table: Table
    label: str  # file name or "workbook.xlsx:户表", used in problems
    header_row: int  # spreadsheet row number of the header
    # Cell text, stripped unless `stripped` is False (an empty cell is null, or "" in a lazily read CSV — nulling every
    # cell costs a pass, so the reader treats both alike): String columns named by key (known) or by header
    # (extra), plus Int64 _row. Lazy: a CSV is parsed only when the reader converts it, in
    # batches, so its text is never held whole. It may still hold entirely empty rows.
    frame: pl.LazyFrame
    headers: dict[str, str] = field(default_factory=dict)  # column name in frame → header as written
    extra: list[str] = field(default_factory=list)  # unknown columns, header as written
    duplicate_headers: list[str] = field(default_factory=list)  # known columns given twice (second ignored)
    ragged_rows: list[tuple[int, int]] = field(default_factory=list)  # (row, cells beyond the header) with data
    # A lazily parsed CSV: the rows it must yield (one per physical line), columns that must be
    # parsed (and then dropped) so that Polars notices over-long lines, and the careful reading
    # to use instead when the parse fails or yields another number of rows.
    expected_rows: Future[int] | None = None  # counted in a thread while Polars parses
    size: int = 0  # bytes of a lazily read file
    probe: list[str] = field(default_factory=list)
    retry: Callable[[], RawTable] | None = None
    streaming: bool = False  # convert with Polars' streaming engine (big files: less memory)
    # False: the cells of `frame` are as written, not stripped (a lazily read CSV: stripping
    # every cell costs about 1 s of CPU at 1M households, and the reader's exact fast checks fail
    # on surrounding whitespace anyway); the reader strips where it needs the text itself.
    stripped: bool = True
    # Columns of a lazily read CSV parsed straight into a dictionary of their distinct texts
    # (key → its own Categories, physical code = index into it): codes, flags, dates, years,
    # small integers. The reader converts each distinct text once and gathers by the codes, so
    # these cells are never held as text row by row.
    categories: dict[str, pl.Categories] = field(default_factory=dict)


def normalise_header(text: str) -> str:
    """Drop all whitespace, full-width colon → ':', English keys case-insensitive."""
    return re.sub(r"\s+", "", text).replace("：", ":").lower()


def header_lookup(table: Table) -> dict[str, str]:
    """Every accepted header spelling (normalised) → column key."""
    lookup: dict[str, str] = {}
    # Bare names under a merged "其中" cell ("基础养老金") are the weakest spelling: added first so
    # that an exact header of another column wins.
    for col in table.columns:
        if ":" in col.zh:
            lookup[normalise_header(col.zh.split(":", 1)[1])] = col.key
    for col in table.columns:
        lookup[normalise_header(col.zh)] = col.key
        lookup[normalise_header(col.key)] = col.key
        for alias in col.aliases:
            lookup[normalise_header(alias)] = col.key
    return lookup


def table_for_name(stem: str) -> Table | None:
    name = normalise_header(stem)
    for table in TABLES.values():
        if name in (table.name, normalise_header(table.zh)):
            return table
    return None


def _find_header(records: list[list[str]], lookup: dict[str, str]) -> int | None:
    """Index of the record holding the most known headers (at least two), the first on ties."""
    best, best_count = None, 1
    for i, record in enumerate(records):
        count = len({lookup[h] for h in (normalise_header(c) for c in record if c) if h in lookup})
        if count > best_count:
            best, best_count = i, count
    return best


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class _Columns:
    names: list[str | None]  # frame name of each positional column, None when it is dropped
    headers: dict[str, str]
    extra: list[str]
    duplicates: list[str]


def _name_columns(table: Table, header: list[str], width: int, is_empty) -> _Columns:
    """Names for `width` positional columns; `is_empty(i)` is asked only for unnamed columns."""
    too_wide = columns_problem(width)
    if too_wide:  # ten thousand columns: refused before each is looked at (common.safe caps)
        raise SourceError(too_wide)
    lookup = header_lookup(table)
    # Names an unknown column may not take in the frame (known keys, derived and row columns).
    reserved = {*table.keys, "birth_date", "sex", ROW}
    names: list[str | None] = []
    headers: dict[str, str] = {}
    extra: list[str] = []
    duplicates: list[str] = []
    for i in range(width):
        written = (header[i] if i < len(header) else "").strip()
        key = lookup.get(normalise_header(written)) if written else None
        if key is not None:
            if key in headers:
                duplicates.append(written)
                names.append(None)
                continue
            headers[key] = written
            names.append(key)
            continue
        if not written:
            # An unnamed column is kept only when it holds something.
            if is_empty(i):
                names.append(None)
                continue
            written = f"列{_column_letter(i)}"
        unique, n = written, 2
        while unique in headers or unique in reserved:
            unique, n = f"{written}_{n}", n + 1
        headers[unique] = written
        extra.append(unique)
        names.append(unique)
    return _Columns(names, headers, extra, duplicates)


def csv_reason(exc: csv.Error, line: int | None = None) -> str:
    """csv.Error in Chinese; its field limit (128 KB, far above MAX_CELL_CHARS) is a cell cap."""
    where = f"第{line}行" if line else ""
    if "field larger than field limit" in str(exc):
        return f"CSV格式错误: {where}有单元格过长(上限{MAX_CELL_CHARS}字)"
    return f"CSV格式错误: {where}{exc}"


def _cell(column: pl.Expr) -> pl.Expr:
    """Stripped text, null when empty."""
    return null_if_empty(column.str.strip_chars())


def null_if_empty(text: pl.Expr) -> pl.Expr:
    return pl.when(text.str.len_bytes() > 0).then(text)  # cheaper than replace("", None)


def _drop_empty_rows(frame: pl.DataFrame) -> pl.DataFrame:
    value_columns = [c for c in frame.columns if c != ROW]
    if not value_columns:
        return frame
    keep = frame.select(pl.any_horizontal([pl.col(c).is_not_null() for c in value_columns])).to_series()
    return frame if keep.all() else frame.filter(keep)


def _finish(table: Table, label: str, header_row: int, header: list[str], frame: pl.DataFrame) -> RawTable:
    """Positional string columns → named, stripped columns; entirely empty rows dropped."""
    positional = [c for c in frame.columns if c != ROW]
    columns = _name_columns(
        table, header, len(positional), lambda i: frame.select(_cell(pl.col(positional[i]))).to_series().null_count() == frame.height
    )
    selected = [_cell(pl.col(old)).alias(new) for old, new in zip(positional, columns.names) if new is not None]
    out = _drop_empty_rows(frame.select([*selected, pl.col(ROW)]))
    return RawTable(table, label, header_row, out.lazy(), columns.headers, columns.extra, columns.duplicates)


# ---------------------------------------------------------------- CSV


def decode_csv(data: bytes) -> tuple[str, bytes]:
    """(text, UTF-8 bytes without BOM). UTF-8 is tried strictly first, then GB18030 (⊇ GBK)."""
    try:
        text = data.decode("utf-8-sig")
        return text, data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise SourceError("无法识别文件编码(应为UTF-8或GB18030/GBK)") from exc
    return text, text.encode("utf-8")


# Enough bytes for the first 1 << 16 characters that the header scan looks at (≤ 4 bytes each
# in UTF-8 and GB18030, plus a BOM).
HEAD_CHARS = 1 << 16
HEAD_BYTES = 4 * HEAD_CHARS + 64
_COUNT_CHUNK = 1 << 24
STREAMING_BYTES = 64 << 20


def read_csv_table(path: Path, table: Table) -> RawTable:
    """The common case (UTF-8, one record per line) without ever holding the file as bytes or
    text: Polars reads the file itself and checks UTF-8 on the way. Anything else (GB18030,
    invalid UTF-8, ragged lines, quoted line breaks, blank lines) takes `_read_csv_decoded`."""
    with path.open("rb") as file:
        prefix = file.read(HEAD_BYTES)
    try:
        head = codecs.getincrementaldecoder("utf-8-sig")().decode(prefix, final=len(prefix) < HEAD_BYTES)
    except UnicodeDecodeError:
        head = None
    if head is not None:
        raw = _read_csv_utf8(path, table, head[:HEAD_CHARS])
        if raw is not None:
            return raw
    return _read_csv_decoded(path.read_bytes(), path.name, table)


def _scan_header(head: str, table: Table) -> tuple[list[str], int, int]:
    """(header record, physical lines before it, physical line on which it ends)."""
    reader = csv.reader(io.StringIO(head, newline=""))
    records: list[list[str]] = []
    ends: list[int] = []  # line number at which each record ends
    try:
        for record in itertools.islice(reader, HEADER_SCAN_ROWS):
            records.append(record)
            ends.append(reader.line_num)
    except csv.Error as exc:
        raise SourceError(csv_reason(exc, reader.line_num)) from exc
    index = _find_header(records, header_lookup(table))
    if index is None:
        raise SourceError(f"前{HEADER_SCAN_ROWS}行中找不到表头(至少两个已知列名)")
    return records[index], ends[index - 1] if index else 0, ends[index]


_counter: ThreadPoolExecutor | None = None


def _line_counter() -> ThreadPoolExecutor:
    # bytes.count holds the GIL but Polars releases it while it parses: counting a file's lines
    # overlaps with converting another.
    global _counter
    if _counter is None:
        _counter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-lines")
    return _counter


def _body_lines(path: Path, header_end: int) -> int:
    """Physical lines after the header's last line: newlines beyond it, plus an unterminated last line."""
    import mmap

    import numpy as np

    newlines, last = 0, b"\n"
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size:
            # Counted in the mapped page cache by numpy, which lets go of the GIL while it compares
            # (bytes.count on read() chunks held it and copied every byte: 1M households 0.5 → 0.2 s of CPU).
            with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                data = np.frombuffer(mapped, dtype=np.uint8)
                for start in range(0, len(mapped), _COUNT_CHUNK):
                    newlines += int(np.count_nonzero(data[start : start + _COUNT_CHUNK] == 10))
                last = data[-1:].tobytes()
                del data  # the map closes only when no array refers to it
    return max(newlines - header_end, 0) + (0 if last == b"\n" else 1)


# Amounts read as a dictionary when the first rows show few distinct ones (standard pensions,
# allowances, mostly-zero columns): at most one distinct amount in SAMPLE_SHARE of the sampled rows.
SAMPLE_MIN_ROWS = 200
SAMPLE_SHARE = 20


def _repeating_columns(head: str, header_end: int, names: list[str | None], table: Table) -> set[str]:
    """The money columns whose cells repeat in the rows of `head` after the header (the
    beginning of the file): read as a dictionary they are converted once per distinct amount.
    Only a matter of speed: a column that turns out to vary further on is right either way."""
    money = {i: n for i, n in enumerate(names) if n in table.keys and table.column(n).kind == "money"}
    if not money:
        return set()
    lines = head.split("\n")[header_end:-1]  # the last line may be cut off
    if len(lines) < SAMPLE_MIN_ROWS:
        return set()
    try:
        rows = list(csv.reader(lines))
    except csv.Error:
        return set()
    distinct = {i: {row[i] for row in rows if i < len(row)} for i in money}
    return {money[i] for i, texts in distinct.items() if len(texts) * SAMPLE_SHARE <= len(rows)}


def _read_csv_utf8(path: Path, table: Table, head: str) -> RawTable | None:
    """A lazy scan; the reader falls back to `retry` when Polars finds invalid UTF-8 or ragged
    lines, or when some record spans several lines."""
    header, lines_before, header_end = _scan_header(head, table)
    try:
        # Polars skips a UTF-8 BOM itself and rejects invalid UTF-8 in any cell.
        source = pl.scan_csv(path, has_header=True, skip_lines=lines_before, infer_schema=False, raise_if_empty=False)
        width = len(source.collect_schema())

        def is_empty(i: int) -> bool:
            return source.select(_cell(pl.nth(i)).null_count() == pl.len()).collect().item()

        columns = _name_columns(table, header, width, is_empty)
    except pl.exceptions.PolarsError:
        return None
    kept = [pl.nth(i + 1).alias(new) for i, new in enumerate(columns.names) if new is not None]
    if not kept:
        return None
    # A Categories of its own per column and read: dropped with the frame (a named or the global
    # one would keep every text ever read in a long-running process).
    polars_names = list(source.collect_schema())
    repeating = _repeating_columns(head, header_end, columns.names, table)
    categories = {
        new: pl.Categories.random()
        for new in columns.names
        if new in table.keys and (table.column(new).kind in DICTIONARY_KINDS or new in repeating)
    }
    if categories:
        overrides = {
            polars_names[i]: pl.Categorical(categories[new]) for i, new in enumerate(columns.names) if new in categories
        }
        source = pl.scan_csv(
            path, has_header=True, skip_lines=lines_before, infer_schema=False, raise_if_empty=False,
            schema_overrides=overrides,
        )
    # Only a parsed last column makes Polars notice a line with more cells than the header.
    probe = [] if columns.names[-1] is not None else [f"{ROW}_last"]
    index = "".join(source.collect_schema()) + "_index"  # a name no column has
    frame = source.with_row_index(index, offset=header_end + 1).select(
        *kept,
        *[pl.nth(width).alias(name) for name in probe],
        pl.col(index).cast(pl.Int64).alias(ROW),
    )
    return RawTable(
        table,
        path.name,
        lines_before + 1,
        frame,
        columns.headers,
        columns.extra,
        columns.duplicates,
        expected_rows=_line_counter().submit(_body_lines, path, header_end),
        size=path.stat().st_size,
        probe=probe,
        retry=lambda: _read_csv_decoded(path.read_bytes(), path.name, table),
        # Batch by batch costs some speed; it pays only where the memory matters.
        streaming=path.stat().st_size > STREAMING_BYTES,
        stripped=False,
        categories=categories,
    )


def _fast_frame(table: Table, label: str, header_row: int, header: list[str], header_end: int, frame: pl.DataFrame) -> RawTable:
    frame = frame.rename({c: f"c{i}" for i, c in enumerate(frame.columns)})
    frame = frame.with_columns(pl.int_range(header_end + 1, header_end + 1 + frame.height, dtype=pl.Int64).alias(ROW))
    return _finish(table, label, header_row, header, frame)


def _read_csv_decoded(data: bytes, label: str, table: Table) -> RawTable:
    text, payload = decode_csv(data)
    del data
    # Physical line numbers: a spreadsheet shows each CSV line as a row.
    header, lines_before, header_end = _scan_header(text[:HEAD_CHARS], table)
    header_row = lines_before + 1
    body = payload.split(b"\n", header_end)[-1] if header_end else payload
    try:
        frame = pl.read_csv(
            payload,
            has_header=True,
            skip_lines=lines_before,
            infer_schema=False,
            raise_if_empty=False,
        )
    except pl.exceptions.ComputeError:
        frame = None  # ragged lines: the exact path below names them
    except pl.exceptions.PolarsError as exc:
        raise SourceError(f"CSV格式错误: {exc}") from exc
    # Fast path only when each record is one physical line (no quoted line breaks, no blank lines).
    if frame is not None and body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1) == frame.height:
        return _fast_frame(table, label, header_row, header, header_end, frame)
    return _read_csv_exact(text, table, label, header_row, header, header_end)


def _read_csv_exact(
    text: str, table: Table, label: str, header_row: int, header: list[str], header_end: int
) -> RawTable:
    """Record by record with the csv module: each row numbered by the line it starts on, and
    cells beyond the header reported (data.md: nothing silently dropped)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for _ in itertools.islice(reader, 0, None):
            if reader.line_num >= header_end:
                break
        width = len(header)
        columns: list[list[str | None]] = [[] for _ in range(width)]
        rows: list[int] = []
        ragged: list[tuple[int, int]] = []
        previous_end = reader.line_num
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            beyond = [c for c in record[width:] if c.strip()]
            if beyond:
                ragged.append((start, len(beyond)))
            for i in range(width):
                columns[i].append(record[i] if i < len(record) else None)
            rows.append(start)
    except csv.Error as exc:
        raise SourceError(csv_reason(exc, reader.line_num)) from exc
    frame = pl.DataFrame(
        {f"c{i}": pl.Series(values, dtype=pl.String) for i, values in enumerate(columns)}
        | {ROW: pl.Series(rows, dtype=pl.Int64)}
    )
    raw = _finish(table, label, header_row, header, frame)
    raw.ragged_rows = ragged
    return raw


# ---------------------------------------------------------------- XLSX


def cell_text(value: object) -> str:
    """A calamine cell as the text a user would have typed."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        # 15 significant digits hide binary noise such as 0.30000000000000004.
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _column_texts(rows: list[list[object]], width: int) -> list[list[str]]:
    columns = []
    for j in range(width):
        column = [row[j] if j < len(row) else "" for row in rows]
        columns.append([v if type(v) is str else cell_text(v) for v in column])
    return columns


def read_xlsx_tables(path: Path) -> tuple[list[RawTable], list[tuple[str, str]]]:
    """(tables read, [(label, reason)] for sheets that are not tables or cannot be read)."""
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # corrupt or password-protected workbooks
        raise SourceError(f"无法打开XLSX文件: {exc}") from exc
    tables: list[RawTable] = []
    problems: list[tuple[str, str]] = []
    for sheet_name in workbook.sheet_names:
        label = f"{path.name}:{sheet_name}"
        try:
            rows = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        except Exception as exc:
            problems.append((label, f"无法读取工作表: {exc}"))
            continue
        table = table_for_name(sheet_name)
        if table is None:
            if any(cell_text(v).strip() for row in rows for v in row):
                problems.append((label, not_a_table_reason()))
            continue  # empty default sheets ("Sheet2") are harmless
        head = [[cell_text(v) for v in row] for row in rows[:HEADER_SCAN_ROWS]]
        index = _find_header(head, header_lookup(table))
        if index is None:
            problems.append((label, f"前{HEADER_SCAN_ROWS}行中找不到表头(至少两个已知列名)"))
            continue
        header = head[index]
        data = rows[index + 1 :]
        width = max([len(header), *(len(r) for r in data[:1])])
        columns = _column_texts(data, width)
        frame = pl.DataFrame(
            {f"c{j}": col for j, col in enumerate(columns)},
            schema={f"c{j}": pl.String for j in range(width)},
        )
        # to_python(skip_empty_area=False) starts at A1, so list index + 1 is the sheet row.
        frame = frame.with_columns(pl.int_range(index + 2, index + 2 + frame.height, dtype=pl.Int64).alias(ROW))
        tables.append(_finish(table, label, index + 1, header, frame))
    return tables, problems


def not_a_table_reason() -> str:
    names = "、".join(f"{t.zh}({t.name})" for t in TABLES.values())
    return f"不是可识别的表(应为: {names})"
