"""Inputs larger than memory: a folder of interchange folders (one per county, as a city,
province or national export comes), read part by part — for `fangfan evaluate` and
`fangfan import` alike.

Each part is read and validated on its own (the reader's every rule), then spilled to compact
Arrow files, so only one part's tables are ever held. What a single folder would check across
all its rows is checked across parts too: a 户编号 or a 证件号码 may occur in one part only.
Nothing is evaluated until every part has been read and found valid, so bad input still gives
every problem and no output; the default year is the latest of the whole input, as for one
folder. Peak memory is that of the largest part, or of the key check's hash table (the keys
themselves are spilled to Parquet; an ID is an 8-byte integer there): 2.9 GiB at 10M households.

With the Spark engine (fangfan.policy.spark.part_readers / evaluate_parts_spark) each part is
read, validated and evaluated by a Spark task, and the keys are checked by a Spark groupBy:
the same functions, distributed. No Django here: the commands call it.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from fangfan.common import ids
from fangfan.registry.interchange.read import Problem, read_interchange, table_files
from fangfan.registry.interchange.sources import ROW

def partition_folders(path: str | Path) -> list[Path] | None:
    """The part folders when `path` is a folder of interchange folders (it holds no table file
    itself, and some of its sub-folders do); None for an ordinary input."""
    path = Path(path)
    if not path.is_dir() or table_files(path):
        return None
    parts = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".") and table_files(p))
    return parts or None


@dataclass
class Part:
    """What reading one part left: where its tables are spilled, and what the whole needs."""

    index: int
    name: str
    folder: Path  # the spilled tables (Arrow) and keys (Parquet)
    households: int
    latest_year: int | None
    problems: list[Problem] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # table → "part/file" as problems name it
    extra_columns: dict[str, list[str]] = field(default_factory=dict)  # the reader's, by table


@dataclass
class PartitionedInput:
    parts: list[Part] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    spill: Path | None = None
    _owned: tempfile.TemporaryDirectory | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def households(self) -> int:
        return sum(p.households for p in self.parts)

    @property
    def latest_year(self) -> int | None:
        years = [p.latest_year for p in self.parts if p.latest_year is not None]
        return max(years) if years else None

    def tables(self, part: Part) -> dict[str, pl.DataFrame]:
        return read_spilled(part.folder)

    def close(self) -> None:
        if self._owned is not None:
            self._owned.cleanup()
            self._owned = None

    def __enter__(self) -> PartitionedInput:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_spilled(folder: str | Path) -> dict[str, pl.DataFrame]:
    return {f.stem: pl.read_ipc(f) for f in sorted(Path(folder).glob("*.arrow"))}


# table → (key checked across parts, its spill file)
KEY_FILES = {"households": ("household_id", "keys_households.parquet"), "members": ("id_number", "keys_members.parquet")}


def read_part(index: int, folder: str | Path, spill: str | Path) -> Part:
    """Read and validate one part; spill its keys (always) and its tables (when valid) under
    spill/<index>. Plain data in and out: it runs in this process or on a Spark worker."""
    folder = Path(folder)
    read = read_interchange(folder)
    problems = [replace(p, file=f"{folder.name}/{p.file}") for p in read.problems]
    labels = {name: f"{folder.name}/{label}" for name, label in read.sources.items()}
    extra_columns = dict(read.extra_columns)
    tables = read.tables
    del read
    target = Path(spill) / f"{index:05d}"
    target.mkdir(parents=True, exist_ok=True)
    for table, (key, file) in KEY_FILES.items():
        if table in tables:
            _keys(tables[table], key, index).write_parquet(target / file)
    households = tables["households"].height if "households" in tables else 0
    incomes = tables.get("incomes")
    latest = incomes.get_column("year").max() if incomes is not None and incomes.height else None
    part = Part(index, folder.name, target, households, None if latest is None else int(latest), problems, labels,
                extra_columns)
    if not problems:
        for name, frame in tables.items():
            frame.write_ipc(target / f"{name}.arrow", compression="lz4")
    return part


SPILL_PREFIX = "fangfan-parts-"
_OWNED_SPILL = re.compile(re.escape(SPILL_PREFIX) + r"(\d+)-(\d+)-")


def _spill_prefix() -> str:
    """fangfan-parts-<pid>-<process start>-: the spill names its process, so a later run can tell
    the leftovers of a killed run (personal data) from the spill of a run still going."""
    import psutil

    return f"{SPILL_PREFIX}{os.getpid()}-{int(psutil.Process().create_time())}-"


def _running(pid: int, started: int) -> bool:
    import psutil

    try:
        return int(psutil.Process(pid).create_time()) == started  # not a later process given the same pid
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # another user's process: leave its files alone


def remove_stale_spills(spill_dir: str | Path | None = None) -> list[Path]:
    """Remove the spill folders under `spill_dir` whose process is gone (a run killed before its
    clean-up, e.g. by SIGKILL or a power cut): they hold the input's names and ID numbers.
    Folders of the old unnamed form are removed once a day old."""
    removed = []
    folder = Path(spill_dir or tempfile.gettempdir())
    for path in folder.glob(SPILL_PREFIX + "*"):
        owner = _OWNED_SPILL.match(path.name)
        if owner:
            stale = not _running(int(owner.group(1)), int(owner.group(2)))
        else:
            try:
                stale = time.time() - path.stat().st_mtime > 24 * 3600
            except OSError:  # removed meanwhile by another run's clean-up
                continue
        if stale and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    if removed:
        logging.getLogger(__name__).warning("removed %d spill folders left by killed runs: %s", len(removed),
                                            ", ".join(p.name for p in removed))
    return removed


def read_partitions(
    folders: list[Path],
    *,
    spill_dir: str | Path | None = None,
    step: Callable[[str], None] | None = None,
    read_all: Callable[[list[tuple[int, str]], str], list[Part]] | None = None,
    repeated: Callable[[str, str], pl.DataFrame] | None = None,
) -> PartitionedInput:
    """Read and validate every part, then check keys across parts. The spilled tables live in a
    temporary folder under `spill_dir` (removed by close()). `read_all` and `repeated` replace
    the local loop and the local key check (the Spark engine runs them on its workers)."""
    step = step or (lambda label: None)
    remove_stale_spills(spill_dir)
    owned = tempfile.TemporaryDirectory(prefix=_spill_prefix(), dir=spill_dir)
    data = PartitionedInput(spill=Path(owned.name), _owned=owned)
    try:
        if read_all is None:
            parts = []
            for index, folder in enumerate(folders):
                step(f"读取并校验 {folder.name}({index + 1}/{len(folders)})")
                parts.append(read_part(index, folder, owned.name))
        else:
            step(f"读取并校验 {len(folders)} 个部分")
            parts = sorted(read_all([(i, str(f)) for i, f in enumerate(folders)], owned.name), key=lambda p: p.index)
        for part in parts:
            data.problems.extend(part.problems)
        step("检查各部分之间的户编号与证件号码")
        labels = {part.index: part.labels for part in parts}
        for table, header in (("households", "户编号"), ("members", "证件号码")):
            key, file = KEY_FILES[table]
            if len(parts) < 2 or not list(Path(owned.name).glob(f"*/{file}")):
                continue
            found = (repeated or _repeated_locally)(str(Path(owned.name) / "*" / file), key)
            data.problems.extend(_across_problems(found, key, labels, table, header))
        if not data.problems:
            data.parts = parts
    except BaseException:
        data.close()
        raise
    return data


_CHECK_CHARS = "0123456789X"


def _keys(frame: pl.DataFrame, key: str, part: int) -> pl.DataFrame:
    """Only the key and where it is: these columns of the whole input are what is held across
    parts (31M IDs at 10M households). An ID is held as one exact integer (17 digits × 11 +
    check character) instead of text: 8 bytes instead of 34."""
    value = pl.col(key)
    if key == "id_number":
        check = value.str.slice(17, 1).replace_strict(
            {c: i for i, c in enumerate(_CHECK_CHARS)}, default=None, return_dtype=pl.Int64
        )
        value = value.str.slice(0, 17).cast(pl.Int64, strict=False) * 11 + check
    return (
        frame.select(value.alias(key), ROW)
        .filter(pl.col(key).is_not_null())  # IDs the reader rejected are its problems already
        .with_columns(pl.lit(part, pl.Int32).alias("part"))
    )


def _id_text(value: int) -> str:
    return f"{value // 11:017d}{_CHECK_CHARS[value % 11]}"


def _repeated_locally(pattern: str, key: str) -> pl.DataFrame:
    """(key, _row, part) of every key found in more than one part, from the spilled key files,
    on the streaming engine: the whole input's keys are hashed, never all held."""
    keys = pl.scan_parquet(pattern)
    spread = keys.group_by(key).agg(pl.col("part").n_unique().alias("parts")).filter(pl.col("parts") > 1)
    return keys.join(spread.select(key), on=key).collect(engine="streaming")


def _across_problems(
    found: pl.DataFrame, key: str, labels: dict[int, dict[str, str]], table: str, header: str
) -> list[Problem]:
    """Every row of a key found in several parts, naming the others (repeats inside one part
    are the reader's problems)."""
    if found.is_empty():
        return []

    def label(part: int) -> str:
        return labels.get(part, {}).get(table, table)

    problems: list[Problem] = []
    for (value,), group in found.sort("part", ROW).group_by(key, maintain_order=True):
        places = [(r["part"], r[ROW]) for r in group.iter_rows(named=True)]
        for part, row in places:
            others = "、".join(f"「{label(p)}」第{r}行" for p, r in places if (p, r) != (part, row))
            shown = ids.mask(_id_text(value)) if key == "id_number" else value
            problems.append(Problem(label(part), row, header, shown, f"{header}重复: 与{others}相同"))
    order = {label(i): i for i in labels}
    problems.sort(key=lambda p: (order.get(p.file, len(order)), p.row or 0))
    return problems
