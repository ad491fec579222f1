"""Read interchange files (data.md) into canonical typed frames, with every problem at once.

`read_interchange(path)` takes a folder of CSV files (and/or XLSX workbooks) or one XLSX
workbook and returns the tables as canonical frames (fangfan.common.tables) plus a list of
problems, each naming file, spreadsheet row, column as written, value (IDs masked) and a
Chinese reason. Validation is vectorised in Polars; Python only builds the Problem objects of
bad rows. Nothing is written anywhere: the caller imports only when `result.ok`.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from fangfan.common import ids
from fangfan.common.money import format_yuan
from fangfan.common.safe import MAX_CELL_CHARS, cell_problem, shorten
from fangfan.common.tables import TABLES, TRANSFER_ITEMS, Table
from fangfan.registry.interchange import convert as cv
from fangfan.registry.interchange.sources import (
    ROW,
    RawTable,
    SourceError,
    not_a_table_reason,
    null_if_empty,
    read_csv_table,
    read_xlsx_tables,
    table_for_name,
)

REQUIRED_TABLES = ("households", "members")


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    value: str
    reason: str

    def __post_init__(self) -> None:
        # A hostile 10 MB cell (a value, a header, a household number quoted in a reason) is
        # named in the problem, not printed (common.safe caps).
        object.__setattr__(self, "value", shorten(self.value))
        object.__setattr__(self, "reason", shorten(self.reason, 500))
        if self.column:
            object.__setattr__(self, "column", shorten(self.column, 60))

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" 第{self.row}行"
        if self.column:
            where += f" {self.column}"
        if self.value:
            where += f"「{self.value}」"
        return f"{where}: {self.reason}"


@dataclass
class ReadResult:
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    # Each table's household_id as Int64, in its frame's row order, when every household ID of
    # every table is a plain integer (ids.plain_integers), else None: found by the cross-table
    # checks, handed on so that the rules need not parse 6M IDs again (policy.frame.HOUSEHOLD_KEY).
    household_keys: dict[str, pl.Series] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------- public entry


def read_interchange(path: str | Path, *, progress: bool = False) -> ReadResult:
    path = Path(path)
    with _progress(progress) as step:
        try:
            return _read(path, step, largest_first=True)
        except _LateSourceError:
            # A lazily parsed CSV proved unreadable only when converted. Which file then counts
            # for its table depends on the order of discovery: read again in that order.
            return _read(path, step, largest_first=False)


class _LateSourceError(Exception):
    pass


def _read(path: Path, step, *, largest_first: bool) -> ReadResult:
    """largest_first: convert the lazily read (CSV) tables biggest first, once all files are
    found — the biggest conversion then runs while little else is held (lower peak memory).
    Otherwise each table is converted as soon as it is found."""
    result = ReadResult()
    labels: dict[str, str] = {}  # table → label of the file or sheet read for it
    seen: list[str] = []  # file labels in discovery order
    raws: dict[str, RawTable] = {}
    checked: dict[str, _Checked] = {}
    converting: dict[str, list[Problem]] = {}

    def convert(raw: RawTable) -> None:
        step(f"检查 {raw.label}")
        checked[raw.table.name], converting[raw.table.name] = _convert_table(raw)

    for label, raw_or_reason in _load_sources(path, step):
        seen.append(label)
        if isinstance(raw_or_reason, str):
            result.problems.append(Problem(label, None, None, "", raw_or_reason))
            continue
        raw = raw_or_reason
        del raw_or_reason
        name = raw.table.name
        if name in labels:
            result.problems.append(
                Problem(label, None, None, "", f"与「{labels[name]}」是同一张表({raw.table.zh}),只能提供一次")
            )
            continue
        if largest_first:
            raws[name] = raw
        else:
            try:
                convert(raw)
            except SourceError as exc:  # found only now that a lazily read CSV is parsed
                result.problems.append(Problem(label, None, None, "", exc.reason))
                continue
            finally:
                del raw
        labels[name] = label
    # Eagerly read tables (their text is held already) after the lazy ones, in table order.
    for name in sorted(raws, key=lambda n: -_weight(raws[n])):
        raw = raws.pop(name)
        try:
            convert(raw)
        except SourceError as exc:
            raise _LateSourceError from exc
        finally:
            del raw
    for name in REQUIRED_TABLES:
        if name not in labels:
            table = TABLES[name]
            result.problems.append(Problem(path.name, None, None, "", f"缺少{table.zh}({table.name})"))
    for name in TABLES:
        result.problems.extend(converting.get(name, ()))
    step("检查表间关系")
    _cell_problems(checked, result.problems)
    keys = _cross_checks(checked, result.problems)
    if keys and all(k.dtype == pl.Int64 for k in keys.values()):
        result.household_keys = keys
    for name in TABLES:
        if name not in checked:
            continue
        chk = checked[name]
        result.tables[name] = chk.typed
        result.sources[name] = chk.label
        # Frame column names: the header as written, suffixed only when it repeats.
        result.extra_columns[name] = list(chk.extra)
    # Problems file by file in table order (households before members…), then row by row.
    ordered = [labels[name] for name in TABLES if name in labels] + seen
    order = {label: i for i, label in reversed(list(enumerate(ordered)))}
    result.problems.sort(key=lambda p: (order.get(p.file, len(order)), p.row if p.row is not None else 0))
    return result


def _weight(raw: RawTable) -> int:
    return raw.size if raw.expected_rows is not None else -1


# ---------------------------------------------------------------- sources


def table_files(folder: Path) -> list[Path]:
    """The files of a folder that the reader reads (CSV and XLSX), in name order."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in (".csv", ".xlsx")
        and not p.name.startswith((".", "~$"))  # hidden files, Excel lock files
    )


def _load_sources(path: Path, step) -> Iterator[tuple[str, RawTable | str]]:
    if not path.exists():
        yield path.name or str(path), "路径不存在"
        return
    files = [path] if path.is_file() else table_files(path)
    for file in files:
        step(f"读取 {file.name}")
        suffix = file.suffix.lower()
        try:
            if suffix == ".xlsx":
                tables, sheet_problems = read_xlsx_tables(file)
                for label, reason in sheet_problems:
                    yield label, reason
                for raw in tables:
                    yield raw.label, raw
            elif suffix == ".csv":
                table = table_for_name(file.stem)
                if table is None:
                    yield file.name, not_a_table_reason()
                else:
                    yield file.name, read_csv_table(file, table)
            else:
                yield file.name, "应为文件夹、CSV文件或XLSX工作簿"
        except SourceError as exc:
            yield file.name, exc.reason


@contextmanager
def _progress(enabled: bool):
    if not (enabled and sys.stderr.isatty()):
        yield lambda message: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("读取数据…") as status:
        yield lambda message: status.update(message)


# ---------------------------------------------------------------- one table


# Cell text that the checks across rows quote in their problems, by table (the rest of the
# text is released once a table is converted).
_QUOTED = {
    "villages": ("village_code",),
    "households": ("household_id", "identified_on", "eliminated_on"),
    "members": ("relation",),
    "incomes": ("year", "transfer_income"),
    "measures": ("measure_code",),
}


@dataclass
class _Checked:
    table: Table
    label: str
    headers: dict[str, str]
    extra: list[str]
    typed: pl.DataFrame  # canonical frame + extras + _row
    text: pl.DataFrame  # _row + stripped cell text of the _QUOTED columns, same row order

    def header(self, key: str) -> str:
        return self.headers.get(key) or self.table.column(key).zh

    def has(self, key: str) -> bool:
        return key in self.headers


def _problem(chk: _Checked, row: int | None, key: str | None, value: object, reason: str) -> Problem:
    text = "" if value is None else str(value)
    if key == "id_number":
        text = ids.mask(text)
    return Problem(chk.label, row, chk.header(key) if key else None, text, reason)


def _convert_table(raw: RawTable) -> tuple[_Checked, list[Problem]]:
    """Every cell through convert.fast() in one pass; only the cells it is not sure of go
    through convert.convert() again, which gives their value and the problem's reason. The
    dictionary columns (RawTable.categories) go through convert.convert() once per distinct text."""
    table: Table = raw.table
    names = raw.frame.collect_schema().names()
    present = [c.key for c in table.columns if c.key in names]

    def text(name: str) -> pl.Expr:
        cell = pl.col(name).cast(pl.String) if name in raw.categories else pl.col(name)
        return cell if raw.stripped else cell.str.strip_chars()

    # The fast kinds read the cell as written: where their `sure` is true the cell has no
    # surrounding whitespace (exact spellings, anchored patterns, an 18-byte ID), so it equals
    # its stripped text; the other cells are converted again from the stripped text below.
    values, sure, parts = [], [], {}
    dictionary = raw.categories  # read as codes into the distinct texts: decoded after the collect
    for col in table.columns:
        if col.key in dictionary:
            values.append(pl.col(col.key).to_physical().alias(col.key))
        elif col.key in present:
            cell = pl.col(col.key) if col.kind in cv.FAST_KINDS else text(col.key)
            col_parts, value, ok = cv.fast(col, cell)
            parts.update(col_parts)
            values.append(value.alias(col.key))
            sure.append(ok.alias(f"__ok_{col.key}"))
        else:
            values.append(cv.default_expr(col).alias(col.key))
    quoted = [k for k in _QUOTED.get(table.name, ()) if k in present]
    born_part = table.name == "members" and "__part_id_number_born" in parts
    cells = [c for c in names if c != ROW and c not in raw.probe]
    # Entirely empty rows are dropped. A cell as written is filled when it has bytes; stripped,
    # when it has bytes besides whitespace — for a fast kind that is certain only where the
    # cell is sure and not empty. Rows filled as written but not certainly so stripped (only
    # whitespace, or unsure cells) are decided on their stripped text after the collect.
    # A known column's filled-ness is its part's (computed once): as written for the fast kinds,
    # stripped for the others (a row whose only bytes are spaces there is then dropped at once,
    # as the check of its stripped text below would do).
    # (The dictionary columns' filled-ness is known exactly once their texts are: added below.)
    filled = [
        ~pl.col(f"__part_{c}_empty") if c in present else pl.col(c).str.len_bytes() > 0  # false (or null) for null and ""
        for c in cells
        if c not in dictionary
    ]
    check_blank = not raw.stripped and bool(cells)
    # The parts' own emptiness (of the cell fast() was given), carried out of the plan: the
    # streaming engine would compute `ok` twice if it were repeated here.
    filled_parts = (
        [(~pl.col(f"__part_{k}_empty")).alias(f"__filled_{k}") for k in present if k not in dictionary] if check_blank else []
    )
    try:
        staged = raw.frame.with_columns(**parts).select(
            pl.col(ROW),
            *values,
            *sure,
            *[null_if_empty(text(x)).alias(x) for x in raw.extra],
            *[null_if_empty(text(k)).alias(f"__t_{k}") for k in quoted if k not in dictionary],
            *[pl.col(x) for x in raw.probe],
            # The birth date the ID's check computed already (members: derived birth_date).
            *([pl.col("__part_id_number_born").alias("__born")] if born_part else []),
            (pl.any_horizontal(filled).fill_null(False) if filled else pl.lit(not cells)).alias("__keep"),
            *filled_parts,
        ).collect(engine="streaming" if raw.streaming else "in-memory")
    except pl.exceptions.PolarsError:
        if raw.retry is None:
            raise
        staged = None
    if raw.retry is not None and (staged is None or staged.height != raw.expected_rows.result()):
        del staged
        return _convert_table(raw.retry())
    # The dictionary columns stay codes until the end; their texts' conversions are few rows.
    decoded = {key: _decoded(table.column(key), categories) for key, categories in dictionary.items()}
    # A row filled only in dictionary columns is kept by them (rare: the rows without one are few).
    if decoded and not staged.get_column("__keep").all():
        staged = staged.with_columns(pl.col("__keep") | pl.any_horizontal(_filled(decoded)))
    if check_blank:
        certain = [
            pl.col(f"__ok_{c.key}") & pl.col(f"__filled_{c.key}") if c.kind in cv.FAST_KINDS else pl.col(f"__filled_{c.key}")
            for c in table.columns
            if c.key in present and c.key not in decoded
        ] + [pl.col(x).is_not_null() for x in raw.extra]
        # Only the row numbers are filtered (filtering the whole staged frame copies its 50 columns).
        # A dictionary column's filled-ness is certain (its texts are stripped): it clears the
        # rows that the others leave doubtful.
        maybe = pl.col("__keep") & ~pl.any_horizontal(certain).fill_null(False) if certain else pl.col("__keep")
        doubtful = staged.select(pl.col(ROW).filter(maybe)).to_series()
        if doubtful.len() and decoded:
            doubtful = (
                staged.filter(maybe & pl.col(ROW).is_in(doubtful.implode()))
                .filter(~pl.any_horizontal(_filled(decoded)))
                .get_column(ROW)
            )
        if doubtful.len():  # rare: whitespace-only or unsure cells; their stripped text decides
            blank = (
                raw.frame.filter(pl.col(ROW).is_in(doubtful.implode()))
                .filter(~pl.any_horizontal([text(c).str.len_bytes() > 0 for c in cells]).fill_null(False))
                .select(ROW)
                .collect()
                .get_column(ROW)
            )
            if blank.len():
                staged = staged.with_columns(pl.col("__keep") & ~pl.col(ROW).is_in(blank.implode()))
        # The __filled_ columns stay: the streaming engine's frame has a chunk per batch, on which
        # a drop by name costs as much as a pass (0.15-0.7 s at 1M members); typed and text below
        # select their columns anyway.
    if not staged.get_column("__keep").all():
        staged = staged.filter(pl.col("__keep"))  # entirely empty rows
    problems: list[Problem] = []
    for written in raw.duplicate_headers:
        problems.append(Problem(raw.label, raw.header_row, written, "", "列名重复(只读取第一列)"))
    for row, extra_cells in raw.ragged_rows:
        problems.append(Problem(raw.label, row, None, "", f"该行比表头多出 {extra_cells} 个非空单元格(没有列名,无法保存)"))
    for col in table.columns:
        if col.key not in present and col.required:
            problems.append(Problem(raw.label, raw.header_row, col.zh, "", f"缺少必填列「{col.zh}」"))
    # A dictionary column is sure unless one of its texts is bad (checked on the few texts).
    oks = {}
    for key, words in decoded.items():
        bad_codes = _codes_where(words, ~pl.col("ok"))
        if bad_codes.len():
            oks[key] = ~_codes(staged, key, words).is_in(bad_codes.implode())
    fast_present = [k for k in present if k not in decoded]
    all_sure = dict(zip(fast_present, staged.select(pl.col(f"__ok_{k}").all() for k in fast_present).row(0))) if fast_present else {}
    all_sure |= {key: key not in oks for key in decoded}
    unsure = [k for k in present if not all_sure[k]]
    read_again = [k for k in unsure if k not in decoded]
    if read_again:
        # The text of the unsure cells, read again (rows with any unsure cell, unsure columns).
        rows = staged.select(pl.col(ROW).filter(~pl.all_horizontal(pl.col(f"__ok_{k}") for k in read_again))).to_series()
        again = (
            raw.frame.filter(pl.col(ROW).is_in(rows.implode()))
            .select(ROW, *[null_if_empty(text(k)).alias(k) for k in read_again])
            .collect()
        )
    id_valid: pl.Series | None = staged.get_column("__ok_id_number") if "id_number" in present else None
    for key in unsure:
        col = table.column(key)
        ok = oks[key] if key in oks else staged.get_column(f"__ok_{key}")
        index = ok.not_().arg_true()
        rows = staged.get_column(ROW).gather(index)
        conv = cv.convert(col, pl.col(key))
        if key in decoded:  # value and reason are convert()'s already, by distinct text
            words = decoded[key]
            codes = _codes(staged, key, words).gather(index)
            bad = pl.DataFrame([rows, words.get_column("t").gather(codes), words.get_column("e").gather(codes)])
            problems.extend(_bad_cells(raw, col, conv, bad.iter_rows()))
            continue
        redone = again.filter(pl.col(ROW).is_in(rows.implode())).select(
            ROW, key, conv.value.alias("__v"), conv.reason.alias("__e")
        )
        if col.kind in cv.FAST_KINDS:
            staged = staged.with_columns(_replaced(staged.get_column(key), index, redone.get_column("__v")))
        if key == "id_number":
            id_valid = id_valid.scatter(index, redone.get_column("__e").is_null())
            if born_part:  # their birth date from the value read again
                born = redone.select(cv.id_birth_date(pl.col("__v"))).to_series()
                staged = staged.with_columns(staged.get_column("__born").scatter(index, born))
        bad = redone.filter(pl.col("__e").is_not_null()).select(ROW, key, "__e")
        problems.extend(_bad_cells(raw, col, conv, bad.iter_rows()))
    # The streaming engine's frame has a chunk per batch (≈ 200 at 1M households), and Polars
    # makes the whole frame contiguous (all its 50 columns) for any select or filter by name on
    # it: 0.2-0.7 s each at 1M members. The kept columns are taken as they are instead (free) and
    # made contiguous once, those alone; the cross-table checks and the rules then work on
    # contiguous tables.
    derived: list[pl.Series] = []
    if table.name == "members":
        number = pl.col("id_number")
        valid = pl.lit(id_valid) if id_valid is not None else pl.lit(False)
        ids_frame = pl.DataFrame([staged.get_column(c) for c in ("id_number", "__born") if c in staged.columns])
        derived = ids_frame.select(
            pl.when(valid).then(pl.col("__born") if born_part else cv.id_birth_date(number)).alias("birth_date"),
            pl.when(valid).then(cv.id_sex(number)).alias("sex"),
        ).get_columns()
    def value(key: str) -> pl.Series:
        return _gathered(staged, decoded, key, "v") if key in decoded else staged.get_column(key)

    def quoted_text(key: str) -> pl.Series:
        return _gathered(staged, decoded, key, "t") if key in decoded else staged.get_column(f"__t_{key}").alias(key)

    typed = pl.DataFrame(
        [*(value(k) for k in table.keys), *derived, *(staged.get_column(x) for x in raw.extra), staged.get_column(ROW)]
    ).rechunk()
    text = pl.DataFrame([staged.get_column(ROW), *(quoted_text(k) for k in quoted)]).rechunk()
    return _Checked(table, raw.label, raw.headers, raw.extra, typed, text), problems


def _bad_cells(raw: RawTable, col, conv: cv.Converted, bad) -> Iterator[Problem]:
    """The problems of bad cells, (row, stripped text, convert()'s reason) each; a multi-valued
    cell's reason names its unknown items."""
    for row, value, reason in bad:
        if conv.multi_bad and reason.startswith("含有无效"):
            reason = cv.multi_reason(col, value)
        yield Problem(raw.label, row, raw.headers.get(col.key, col.zh), _masked(col.key, value), reason)


def _decoded(col, categories: pl.Categories) -> pl.DataFrame:
    """convert() of each distinct text of a dictionary column, by physical code, plus a last
    row for the cells Polars left null (missing): t (stripped text, null when empty), v (value),
    e (reason, null when fine), ok, filled."""
    words = categories.to_series().rename("t").extend(pl.Series("t", [None], dtype=pl.String))
    conv = cv.convert(col, pl.col("t"))
    return (
        words.to_frame()
        .select(null_if_empty(pl.col("t").str.strip_chars()).alias("t"))
        .select(
            "t",
            conv.value.cast(cv.DTYPES[col.kind]).alias("v"),
            conv.reason.alias("e"),
            conv.ok.alias("ok"),
            pl.col("t").is_not_null().alias("filled"),
        )
        .rechunk()  # a gather from a chunked list column takes a slow path (0.6 s at 3M members)
    )


def _codes(staged: pl.DataFrame, key: str, words: pl.DataFrame) -> pl.Series:
    """A dictionary column's codes in staged, a missing cell's (null) being the last row of `words`."""
    return staged.get_column(key).fill_null(words.height - 1)


def _codes_where(words: pl.DataFrame, condition: pl.Expr) -> pl.Series:
    """The codes (row numbers) of a dictionary column's texts that meet `condition`."""
    return words.select(pl.int_range(pl.len(), dtype=pl.UInt32).filter(condition)).to_series()


def _filled(decoded: dict[str, pl.DataFrame]) -> list[pl.Expr]:
    """Whether each dictionary column's cell (a code in staged) has text besides whitespace."""
    return [
        pl.col(key).fill_null(words.height - 1).is_in(_codes_where(words, pl.col("filled")).implode())
        for key, words in decoded.items()
    ]


def _gathered(staged: pl.DataFrame, decoded: dict[str, pl.DataFrame], key: str, what: str) -> pl.Series:
    """A dictionary column's `what` (v: value, t: stripped text) for every row of staged."""
    words = decoded[key]
    return words.get_column(what).gather(_codes(staged, key, words)).alias(key)


def _replaced(column: pl.Series, index: pl.Series, values: pl.Series) -> pl.Series:
    """`column` with the values at positions `index` replaced (scatter, which lists do not take)."""
    if not column.dtype.is_nested():
        return column.scatter(index, values)
    n = column.len()
    order = pl.int_range(0, n, dtype=pl.Int64, eager=True).scatter(
        index, pl.int_range(n, n + values.len(), dtype=pl.Int64, eager=True)
    )
    return pl.concat([column, values.cast(column.dtype)]).gather(order).alias(column.name)


def _masked(key: str, value: object) -> str:
    text = "" if value is None else str(value)
    return ids.mask(text) if key == "id_number" else text


def _cell_problems(checked: dict[str, _Checked], problems: list[Problem]) -> None:
    """Caps on free text (fangfan.common.safe): a text cell longer than its database column
    (Column.max_length; an extra column: MAX_CELL_CHARS) or holding a NUL (PostgreSQL cannot
    store it) is a problem with its file, row and column. Coded, dated and numeric cells are
    validated already; only str and extra columns can carry such text."""
    for chk in checked.values():
        limits = {c.key: c.max_length or MAX_CELL_CHARS for c in chk.table.columns if c.kind == "str" and chk.has(c.key)}
        limits |= {name: MAX_CELL_CHARS for name in chk.extra}
        if not limits:
            continue
        over = [(pl.col(k).str.len_chars() > n) | pl.col(k).str.contains("\x00", literal=True) for k, n in limits.items()]
        bad = chk.typed.select(ROW, *limits).filter(pl.any_horizontal(over).fill_null(False))
        for row in bad.iter_rows(named=True):
            for key, limit in limits.items():
                value = row[key]
                if value is None:
                    continue
                reason = cell_problem(value) if limit == MAX_CELL_CHARS or "\x00" in value else None
                if reason is None and len(value) > limit:
                    reason = f"内容过长({len(value)}字, 上限{limit}字)"
                if reason:
                    problems.append(Problem(chk.label, row[ROW], chk.header(key), value, reason))


# ---------------------------------------------------------------- across rows and tables


def _cross_checks(checked: dict[str, _Checked], problems: list[Problem]) -> dict[str, pl.Series]:
    """The checks across rows and tables; returns _household_keys (Int64 or text per table)."""
    households = checked.get("households")
    members = checked.get("members")
    keys = _household_keys(checked)
    known_ids = None
    if households is not None and households.has("household_id"):
        known_ids = keys["households"].drop_nulls()
        _duplicates(households, ["household_id"], "household_id", "户编号重复", problems)
        _household_dates(households, problems)
        if members is not None and members.has("household_id"):
            with_members = keys["members"].drop_nulls()
            own = keys["households"]
            lonely = households.typed.filter(own.is_not_null() & ~own.is_in(with_members.implode()))
            for row, hid in lonely.select(ROW, "household_id").iter_rows():
                problems.append(_problem(households, row, "household_id", hid, "人表中没有该户的成员"))
    for name in ("members", "incomes", "measures"):
        chk = checked.get(name)
        if chk is None or known_ids is None or not chk.has("household_id"):
            continue
        own = keys[name]
        orphans = chk.typed.filter(own.is_not_null() & ~own.is_in(known_ids.implode()))
        for row, hid in orphans.select(ROW, "household_id").iter_rows():
            problems.append(_problem(chk, row, "household_id", hid, "户编号在户表中不存在"))
    if members is not None:
        _member_checks(members, keys.get("members"), problems)
    incomes = checked.get("incomes")
    if incomes is not None:
        _duplicates(incomes, ["household_id", "year"], "year", "同一户同一年度的收支重复", problems)
        _transfer_items(incomes, problems)
    measures = checked.get("measures")
    if measures is not None:
        # data.md: one kind may start twice the same day with different content; only an exact repeat is wrong.
        _duplicates(
            measures, list(TABLES["measures"].key), "measure_code", "同一户同一措施类别、开始日期和措施内容重复", problems,
            optional=("content",),
        )
    villages = checked.get("villages")
    if villages is not None:
        _duplicates(villages, ["village_code"], "village_code", "村代码重复", problems)
    return keys


def _household_keys(checked: dict[str, _Checked]) -> dict[str, pl.Series]:
    """Each table's household_id as a comparable key: Int64 when every ID of every table is
    written as a plain integer (then equal IDs ⇔ equal integers, and integers hash much faster
    than text), else the text itself."""
    texts = {
        name: chk.typed.get_column("household_id")
        for name, chk in checked.items()
        if name in ("households", "members", "incomes", "measures") and chk.has("household_id")
    }
    numbers = {}
    for name, text in texts.items():
        number = ids.plain_integers(text)  # written exactly as the integer prints
        if number is None:
            return texts
        numbers[name] = number
    return numbers


def _without_nulls(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The rows with all `keys` filled; the frame itself (no copy) when none is null."""
    if not any(frame.get_column(k).null_count() for k in keys):
        return frame
    return frame.filter(pl.all_horizontal([pl.col(k).is_not_null() for k in keys]))


def _repeated(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The rows of `frame` (no null keys) whose keys occur more than once, in frame order."""
    # Equal keys hash equally, so rows with a unique hash are unique: the exact comparison is
    # left to the few rows that share a hash.
    digest = pl.col(keys[0]).hash(seed=0)
    for seed, key in enumerate(keys[1:], start=1):
        digest = digest ^ pl.col(key).hash(seed=seed)
    digests = frame.select(digest).to_series()
    if digests.n_unique() == frame.height:  # the usual case, and cheaper than is_duplicated
        return frame.clear()
    candidates = frame.filter(digests.is_duplicated())
    return candidates.filter(pl.struct(keys).is_duplicated() if len(keys) > 1 else pl.col(keys[0]).is_duplicated())


def _duplicates(
    chk: _Checked, keys: list[str], report_key: str, reason: str, problems: list[Problem], optional: tuple[str, ...] = ()
) -> None:
    """Every row of a repeated key, naming the other rows. `optional` keys may be empty (two empty
    cells are equal); the others, when empty, are reported already."""
    keys = [k for k in keys if chk.has(k) or k not in optional]  # an optional column may be absent
    if not all(chk.has(k) for k in keys):
        return
    frame = _without_nulls(chk.typed.select(*keys, ROW), [k for k in keys if k not in optional])
    dup = _repeated(frame, keys)
    if dup.is_empty():
        return
    rows_of = dup.group_by(keys).agg(pl.col(ROW).sort().alias("rows"))
    bad = dup.join(rows_of, on=keys, nulls_equal=True).sort(ROW)
    texts = chk.text.select(ROW, pl.col(report_key).alias("__v"))
    bad = bad.join(texts, on=ROW, how="left")
    for row, rows, value in bad.select(ROW, "rows", "__v").iter_rows():
        others = "、".join(str(r) for r in rows if r != row)
        problems.append(_problem(chk, row, report_key, value, f"{reason}(另见第{others}行)"))


def _household_dates(chk: _Checked, problems: list[Problem]) -> None:
    dates = [k for k in ("identified_on", "eliminated_on") if chk.has(k)]
    # text has typed's rows in typed's order: its columns go alongside without a join.
    t = chk.typed.select(ROW, "category", "identified_on", "eliminated_on").with_columns(
        chk.text.get_column(k).alias(f"__v_{k}") for k in dates
    )
    if chk.has("category"):
        missing = t.filter(pl.col("category").is_not_null() & pl.col("identified_on").is_null())
        if chk.has("identified_on"):
            missing = missing.filter(pl.col("__v_identified_on").is_null())  # unparseable ones are reported already
        for (row,) in missing.select(ROW).iter_rows():
            problems.append(_problem(chk, row, "identified_on", "", "已填监测对象类别时识别日期不能为空"))
    if chk.has("eliminated_on"):
        early = t.filter(pl.col("eliminated_on") < pl.col("identified_on"))
        for row, value, identified in early.select(ROW, "__v_eliminated_on", "identified_on").iter_rows():
            problems.append(_problem(chk, row, "eliminated_on", value, f"风险消除日期早于识别日期({identified.isoformat()})"))
        if chk.has("category"):
            stray = t.filter(pl.col("eliminated_on").is_not_null() & pl.col("category").is_null())
            for row, value in stray.select(ROW, "__v_eliminated_on").iter_rows():
                problems.append(_problem(chk, row, "eliminated_on", value, "未填监测对象类别,不应有风险消除日期"))


def _member_checks(chk: _Checked, key: pl.Series | None, problems: list[Problem]) -> None:
    if chk.has("id_number"):
        _duplicate_ids(chk, problems)
    if not (chk.has("household_id") and chk.has("relation")) or key is None:
        return
    t = chk.typed.select(ROW, "household_id", "relation", "status").with_columns(key.alias("__k"))
    t = _without_nulls(t, ["__k"])
    # Counting first, on the key alone, finds the few households with a problem; only their
    # members go through the detailed grouping below (same households, same result).
    normal = pl.col("status") == "normal"
    head_keys = t.filter(normal & (pl.col("relation") == "head")).get_column("__k")
    if head_keys.len() == head_keys.n_unique() == t.get_column("__k").n_unique():
        return  # one head in every household (so also a member with status normal)
    suspects = (
        t.group_by("__k")
        .agg(
            n_normal=normal.sum(),
            n_head=(normal & (pl.col("relation") == "head")).sum(),
            unreadable=(pl.col("relation").is_null() | pl.col("status").is_null()).any(),
        )
        .filter(~pl.col("unreadable") & ((pl.col("n_normal") == 0) | (pl.col("n_head") != 1)))
    )
    if suspects.is_empty():
        return
    t = t.filter(pl.col("__k").is_in(suspects.get_column("__k").implode())).drop("__k")
    per_household = (
        t.with_columns(
            normal=pl.col("status") == "normal",
            head=(pl.col("status") == "normal") & (pl.col("relation") == "head"),
        )
        .group_by("household_id")
        .agg(
            first_row=pl.col(ROW).min(),
            n_normal=pl.col("normal").sum(),
            # A member whose relation or status could not be read is reported already; the
            # household's head count would only repeat that problem.
            unreadable=(pl.col("relation").is_null() | pl.col("status").is_null()).any(),
            first_normal_row=pl.col(ROW).filter(pl.col("normal")).min(),
            head_rows=pl.col(ROW).filter(pl.col("head")).sort(),
        )
        .filter(~pl.col("unreadable"))
        .sort("first_row")
    )
    bad = per_household.filter(
        (pl.col("n_normal") == 0) | (pl.col("head_rows").list.len() != 1)
    )
    if bad.is_empty():
        return
    wanted = pl.concat([bad.get_column("first_normal_row").drop_nulls(), bad.get_column("head_rows").explode().drop_nulls()])
    texts = dict(chk.text.filter(pl.col(ROW).is_in(wanted.implode())).select(ROW, "relation").iter_rows())
    for hid, first_row, n_normal, _, first_normal, heads in bad.iter_rows():
        if n_normal == 0:
            problems.append(_problem(chk, first_row, "status", "", f"户{hid}没有人员状态为正常的成员"))
        elif not heads:
            problems.append(_problem(chk, first_normal, "relation", texts.get(first_normal), f"户{hid}的正常成员中没有户主"))
        elif len(heads) > 1:
            listed = "、".join(str(r) for r in heads)
            for row in heads:
                problems.append(
                    _problem(chk, row, "relation", texts.get(row), f"户{hid}有{len(heads)}个户主(第{listed}行),应只有一个")
                )


def _duplicate_ids(chk: _Checked, problems: list[Problem]) -> None:
    t = _without_nulls(chk.typed.select(ROW, "id_number", "household_id"), ["id_number"])
    dup = _repeated(t, ["id_number"])
    if dup.is_empty():
        return
    groups = dup.group_by("id_number").agg(pl.struct(ROW, "household_id").sort_by(ROW).alias("others"))
    bad = dup.join(groups, on="id_number").sort(ROW)
    for row, number, _, others in bad.iter_rows():
        where = "、".join(
            f"第{o[ROW]}行(户{o['household_id'] or '?'})" for o in others if o[ROW] != row
        )
        problems.append(_problem(chk, row, "id_number", number, f"证件号码重复: 与{where}相同"))


def _transfer_items(chk: _Checked, problems: list[Problem]) -> None:
    if not chk.has("transfer_income") or not any(chk.has(k) for k in TRANSFER_ITEMS):
        return
    t = chk.typed.with_columns(__items=pl.sum_horizontal([pl.col(k) for k in TRANSFER_ITEMS], ignore_nulls=False))
    over = t.filter(pl.col("__items") > pl.col("transfer_income"))
    texts = chk.text.select(ROW, pl.col("transfer_income").alias("__v"))
    over = over.join(texts, on=ROW, how="left")
    for row, value, items, transfer in over.select(ROW, "__v", "__items", "transfer_income").iter_rows():
        problems.append(
            _problem(
                chk,
                row,
                "transfer_income",
                value,
                f"其中6项合计{format_yuan(items)}元超过转移性收入{format_yuan(transfer)}元",
            )
        )
