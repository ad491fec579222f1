"""Evaluating an input: one folder at once, or a folder of county folders part by part, on
either engine, under the given parameters and optionally the shipped ones beside them (the
what-if comparison, fangfan.policy.whatif). `fangfan evaluate` parses its arguments, calls
these and writes what they give; nothing here prints or knows about Django.

Part by part (fangfan.registry.interchange.parts): every part is read and validated first;
then each part's tables are evaluated under every parameter set and dropped before the next
part, so only one part's tables and results are held; the what-if comparisons of the parts
are merged at the end (counts of the same area and transition add up)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from fangfan.policy.whatif import Comparison, compare, merge

ENGINES = ("local", "spark")

Evaluate = Callable[[dict, object, "int | None"], pl.DataFrame]  # (tables, params, year) → typed results


def evaluator(engine: str, as_of: dt.date) -> Evaluate:
    """(tables, params, year) → typed results (evaluate.RESULT_COLUMNS) on the chosen engine."""
    if engine == "spark":
        from fangfan.policy.spark import evaluate_spark

        return lambda tables, params, year: evaluate_spark(tables, as_of, year, params)
    if engine != "local":
        raise ValueError(f"评估引擎应为 {'、'.join(ENGINES)} 之一: {engine!r}")
    from fangfan.policy.evaluate import evaluate_tables

    return lambda tables, params, year: evaluate_tables(tables, as_of=as_of, year=year, params=params)


def result_counts(results: pl.DataFrame) -> dict[str, int]:
    """What the command's summary line counts: candidates, eliminations, warnings, 应保未保,
    overdue visits."""
    row = results.select(
        pl.col("candidate_category").is_not_null().sum().alias("candidates"),
        (pl.col("elimination") == "eligible").sum().alias("eliminations"),
        pl.col("warning_color").is_not_null().sum().alias("warnings"),
        pl.col("dibao_unserved").sum().alias("dibao_unserved"),
        pl.col("visit_overdue").sum().alias("visits_overdue"),
    ).row(0, named=True)
    return {k: int(v or 0) for k, v in row.items()}


def read_parts(folders: list[Path], *, engine: str = "local", spill_dir: Path | None = None,
               step: Callable[[str], None] | None = None):
    """Every part read and validated (interchange.parts.read_partitions): by Spark tasks on the
    Spark engine, here otherwise. The caller closes the result (a context manager)."""
    from fangfan.registry.interchange.parts import read_partitions

    readers = {}
    if engine == "spark":
        from fangfan.policy.spark import part_readers

        readers = dict(zip(("read_all", "repeated"), part_readers()))
    return read_partitions(folders, spill_dir=spill_dir, step=step, **readers)


@dataclass
class PartResult:
    index: int  # 0-based, in part order
    part: object  # interchange.parts.Part: name, households
    results: pl.DataFrame  # under the given parameters


@dataclass
class PartsEvaluation:
    """The parts of a valid PartitionedInput evaluated one by one. Iterating yields each part's
    results under `params` (in part order) and keeps, as it goes, the summary counts, the number
    of households and (with `shipped`) each part's what-if comparison, merged by `comparison()`."""

    data: object  # interchange.parts.PartitionedInput, read and valid
    as_of: dt.date
    params: object
    shipped: object | None = None  # the shipped parameters, for the what-if comparison
    year: int | None = None  # default: the latest year of the whole input
    engine: str = "local"
    counts: dict[str, int] = field(default_factory=dict)
    households: int = 0
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def chosen_year(self) -> int | None:
        return self.year if self.year is not None else self.data.latest_year

    @property
    def param_sets(self) -> list:
        return [self.params] if self.shipped is None else [self.params, self.shipped]

    def _evaluated(self) -> Iterator[tuple[object, list[pl.DataFrame]]]:
        if self.engine == "spark":
            from fangfan.policy.spark import evaluate_parts_spark

            yield from evaluate_parts_spark(self.data, self.as_of, self.chosen_year, self.param_sets)
            return
        run = evaluator(self.engine, self.as_of)
        for part in self.data.parts:
            tables = self.data.tables(part)
            yield part, [run(tables, p, self.chosen_year) for p in self.param_sets]

    def __iter__(self) -> Iterator[PartResult]:
        for index, (part, results) in enumerate(self._evaluated()):
            if self.shipped is not None:
                self.comparisons.append(compare(results[1], results[0]))
            self.households += results[0].height
            for key, n in result_counts(results[0]).items():
                self.counts[key] = self.counts.get(key, 0) + n
            yield PartResult(index, part, results[0])

    def comparison(self) -> Comparison | None:
        """The parts' comparisons as one (None without `shipped` or before any part)."""
        return merge(self.comparisons) if self.comparisons else None
