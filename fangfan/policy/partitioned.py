"""Evaluating inputs larger than memory: a folder of interchange folders (one per county, as a
city, province or national export comes), read and evaluated part by part.

Each part is read and validated on its own (the reader's every rule), then spilled to compact
Arrow files, so only one part's tables are ever held. What a single folder would check across
all its rows is checked across parts too: a 户编号 or a 证件号码 may occur in one part only.
Nothing is evaluated until every part has been read and found valid, so bad input still gives
every problem and no output; the default year is the latest of the whole input, as for one
folder. Peak memory is that of the largest part plus the two key columns of the whole input.

No Django here: the command (fangfan evaluate) and the benchmark call it.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from fangfan.common import ids
from fangfan.registry.interchange.read import Problem, read_interchange
from fangfan.registry.interchange.sources import ROW

TABLE_SUFFIXES = (".csv", ".xlsx")


def _table_files(folder: Path) -> list[Path]:
    return [
        p for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES and not p.name.startswith((".", "~$"))
    ]


def partition_folders(path: str | Path) -> list[Path] | None:
    """The part folders when `path` is a folder of interchange folders (it holds no table file
    itself, and some of its sub-folders do); None for an ordinary input."""
    path = Path(path)
    if not path.is_dir() or _table_files(path):
        return None
    parts = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".") and _table_files(p))
    return parts or None


@dataclass
class Part:
    name: str
    folder: Path  # the spilled tables
    households: int
    latest_year: int | None


@dataclass
class PartitionedInput:
    parts: list[Part] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _spill: tempfile.TemporaryDirectory | None = None

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
        return {f.stem: pl.read_ipc(f) for f in sorted(part.folder.glob("*.arrow"))}

    def close(self) -> None:
        if self._spill is not None:
            self._spill.cleanup()
            self._spill = None

    def __enter__(self) -> PartitionedInput:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_partitions(
    folders: list[Path], *, spill_dir: str | Path | None = None, step: Callable[[str], None] | None = None
) -> PartitionedInput:
    """Read and validate every part; keep each valid part's tables as Arrow files in a
    temporary folder (under `spill_dir`, removed by close())."""
    from fangfan.policy.frame import latest_year

    step = step or (lambda label: None)
    spill = tempfile.TemporaryDirectory(prefix="fangfan-parts-", dir=spill_dir)
    data = PartitionedInput(_spill=spill)
    household_keys: list[pl.DataFrame] = []
    member_keys: list[pl.DataFrame] = []
    labels: list[dict[str, str]] = []
    try:
        for index, folder in enumerate(folders):
            step(f"读取并校验 {folder.name}({index + 1}/{len(folders)})")
            read = read_interchange(folder)
            data.problems.extend(replace(p, file=f"{folder.name}/{p.file}") for p in read.problems)
            labels.append({name: f"{folder.name}/{label}" for name, label in read.sources.items()})
            tables = read.tables
            del read
            if "households" in tables:
                household_keys.append(_keys(tables["households"], "household_id", index))
            if "members" in tables:
                member_keys.append(_keys(tables["members"], "id_number", index))
            if data.problems:  # nothing will be evaluated: only check the rest
                continue
            target = Path(spill.name) / f"{index:05d}"
            target.mkdir()
            for name, frame in tables.items():
                frame.write_ipc(target / f"{name}.arrow", compression="lz4")
            households = tables["households"].height
            data.parts.append(Part(folder.name, target, households, latest_year(tables)))
            tables.clear()
        step("检查各部分之间的户编号与证件号码")
        data.problems.extend(_across(household_keys, "household_id", labels, "households", "户编号"))
        data.problems.extend(_across(member_keys, "id_number", labels, "members", "证件号码"))
    except BaseException:
        data.close()
        raise
    if data.problems:
        data.parts.clear()
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


def _across(keys: list[pl.DataFrame], key: str, labels: list[dict[str, str]], table: str, header: str) -> list[Problem]:
    """Keys found in more than one part (repeats inside one part are the reader's problems)."""
    if len(keys) < 2:
        return []
    frame = pl.concat(keys, how="vertical_relaxed", rechunk=False)
    keys.clear()
    spread = frame.group_by(key).agg(pl.col("part").n_unique().alias("parts")).filter(pl.col("parts") > 1)
    if spread.is_empty():
        return []
    rows = frame.join(spread.select(key), on=key).sort("part", ROW)
    del frame
    def label(part: int) -> str:
        return labels[part].get(table, table)

    problems: list[Problem] = []
    for (value,), group in rows.group_by(key, maintain_order=True):
        places = [(r["part"], r[ROW]) for r in group.iter_rows(named=True)]
        for part, row in places:
            others = "、".join(f"「{label(p)}」第{r}行" for p, r in places if (p, r) != (part, row))
            shown = ids.mask(_id_text(value)) if key == "id_number" else value
            problems.append(Problem(label(part), row, header, shown, f"{header}重复: 与{others}相同"))
    return problems


def evaluate_parts(
    data: PartitionedInput, run: Callable[[dict[str, pl.DataFrame]], pl.DataFrame],
    *, step: Callable[[str], None] | None = None,
) -> Iterator[tuple[Part, dict[str, pl.DataFrame], pl.DataFrame]]:
    """(part, its tables, its results) part by part; the caller drops them before the next."""
    step = step or (lambda label: None)
    for index, part in enumerate(data.parts):
        step(f"评估 {part.name}({index + 1}/{len(data.parts)},{part.households} 户)")
        tables = data.tables(part)
        yield part, tables, run(tables)
