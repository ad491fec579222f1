"""Keyed-hash IDs for departments (issue 11): `fangfan dept hash-ids IN_FILE OUT_FILE` rewrites
the 证件号码 column of a department's CSV/XLSX file as blind indexes, so the department can
send the county its data without a single plain ID. Django-free.

The index is fangfan.common.pii's: HMAC-SHA256 under the county's index key of the 18-character
ID (15-digit IDs converted first, a final x upper-cased), the first 32 hex characters in lower
case. The county runs the command for the department, or hands the department this tool with
the index key alone (`fangfan dept index-key KEY_FILE`: never the data keys, which open the
stored numbers). The file read back by the import (feeds.read_feed) matches and raises warnings
exactly as its plain twin; the header becomes "证件号码(加密索引)", which the import reads as
证件号码. Every other cell is kept as read; a row with an invalid ID refuses the whole file (an
invalid number hashed would silently match no one)."""
from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from fangfan.common import pii
from fangfan.common.ids import IdNumberError, convert_15_to_18, mask, validate_id
from fangfan.common.safe import XLSX_OPTIONS
from fangfan.common.text import strip
from fangfan.departments.feeds import HEADER_SCAN_ROWS, ID, Problem, _header_name, _records
from fangfan.registry.interchange.sources import SourceError

HASHED_HEADER = f"{ID}(加密索引)"
SUFFIXES = (".csv", ".xlsx")


class HashError(ValueError):
    """The file cannot be rewritten; `problems` lists every reason (row, masked value)."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        self.problems = problems or []
        super().__init__(message)


@dataclass(frozen=True)
class HashSummary:
    rows: int  # data rows rewritten (blank rows not counted)
    hashed: int  # plain IDs replaced by their index
    kept: int  # cells that held an index already

    def __str__(self) -> str:
        return f"共 {self.rows} 行: {self.hashed} 个证件号码已换为加密索引" + (
            f", {self.kept} 个原已是加密索引" if self.kept else "")


def ring_from_key_file(path: str | Path) -> pii.KeyRing:
    """A ring that only indexes: from a file holding the index key (index-key's JSON, the
    county's whole key file, or the bare base64 key). Its data key is a throwaway, never used."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise HashError(f"无法读取密钥文件 {path}: {exc.strerror or exc}") from None
    try:
        raw = json.loads(text)["index_key"] if text.startswith("{") else text
        key = base64.b64decode(raw, validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise HashError(f"密钥文件 {path} 格式错误(应含 index_key, base64 编码的32字节)") from None
    if len(key) != 32:
        raise HashError(f"密钥文件 {path} 中的索引密钥应为32字节")
    return pii.KeyRing({"unused": secrets.token_bytes(32)}, "unused", key)


def write_index_key(path: str | Path, ring: pii.KeyRing | None = None) -> None:
    """The index key alone (mode 0600), for a department that hashes its own files."""
    ring = ring or pii.keyring()
    path = Path(path)
    if path.exists():
        raise HashError(f"{path} 已存在, 未覆盖")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"index_key": base64.b64encode(ring.index_key).decode(),
                   "note": "防返监测系统证件号码加密索引密钥: HMAC-SHA256(密钥, 18位证件号码) 前32位十六进制; 请妥善保管"},
                  handle, ensure_ascii=False, indent=2)


def _normalised(text: str) -> str:
    """The 18-character ID of a cell (15 digits converted), or IdNumberError."""
    value = text
    if len(value) == 15 and value.isdigit():
        value = convert_15_to_18(value)
    return validate_id(value)


def hash_ids(source: str | Path, target: str | Path, ring: pii.KeyRing | None = None) -> HashSummary:
    """Rewrite `source`'s 证件号码 column as indexes into the new file `target` (.csv, UTF-8 with
    a BOM, or .xlsx, every cell as text); nothing is written when a row has an invalid ID."""
    source, target = Path(source), Path(target)
    ring = ring or pii.keyring()
    if target.suffix.lower() not in SUFFIXES:
        raise HashError(f"输出文件应为 .csv 或 .xlsx: {target.name}")
    if target.exists():
        raise HashError(f"输出文件 {target} 已存在, 未覆盖")
    if not source.is_file():
        raise HashError(f"文件不存在: {source}")
    try:
        records = _records(source, source.read_bytes(), source.name)
    except SourceError as exc:
        raise HashError(str(exc)) from None
    found = next(((i, j) for i, (_, cells) in enumerate(records[:HEADER_SCAN_ROWS])
                  for j, cell in enumerate(cells) if _header_name(cell) == ID), None)
    if found is None:
        raise HashError(f"{source.name}: 前{HEADER_SCAN_ROWS}行中找不到“{ID}”列(水利数据按村代码, 无需转换)")
    header_at, column = found
    rows = [list(cells) for _, cells in records]
    rows[header_at][column] = HASHED_HEADER
    plain: list[tuple[int, str]] = []  # (row position, normalised ID)
    problems: list[Problem] = []
    kept = counted = 0
    for position in range(header_at + 1, len(rows)):
        cells = rows[position]
        if not any(strip(c) for c in cells):
            continue
        counted += 1
        text = strip(cells[column]) if column < len(cells) else ""
        if not text:
            problems.append(Problem(source.name, records[position][0], ID, "", "不能为空"))
        elif pii.is_index(text.lower()):
            cells[column] = text.lower()
            kept += 1
        else:
            try:
                plain.append((position, _normalised(text)))
            except IdNumberError as exc:
                problems.append(Problem(source.name, records[position][0], ID, mask(text), str(exc)))
    if problems:
        raise HashError(f"文件有 {len(problems)} 处问题, 未转换", problems)
    for (position, _), index in zip(plain, ring.index_all([n for _, n in plain])):
        rows[position][column] = index
    _write(target, rows)
    return HashSummary(counted, len(plain), kept)


def _write(target: Path, rows: list[list[str]]) -> None:
    """Written to a temporary name and moved: no half-written file is left behind."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        if target.suffix.lower() == ".csv":
            buffer = io.StringIO(newline="")
            csv.writer(buffer, lineterminator="\r\n").writerows(rows)  # a machine file: cells as read
            tmp.write_text(buffer.getvalue(), encoding="utf-8-sig", newline="")
        else:
            import xlsxwriter

            book = xlsxwriter.Workbook(str(tmp), XLSX_OPTIONS)
            sheet = book.add_worksheet()
            for r, cells in enumerate(rows):
                for c, value in enumerate(cells):
                    if value != "":
                        sheet.write_string(r, c, value)
            book.close()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
