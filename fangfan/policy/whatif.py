"""What-if: evaluate under changed parameters and compare with the shipped ones.

``compare(base, changed)`` takes two typed result frames (evaluate.evaluate_tables) and counts,
by village, by township (first 9 digits of the village code) and in total, how many
households change each compared output, plus every transition ("none→marginal: 12")."""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

COMPARED = ("candidate_category", "elimination", "warning_color", "low_income_class")
NONE = "none"


@dataclass(frozen=True)
class Comparison:
    by_area: pl.DataFrame  # level, code, households, <field>_changed…, any_changed
    transitions: pl.DataFrame  # field, before, after, households

    def transition_lines(self) -> list[str]:
        return [
            f"{r['field']}: {r['before']}→{r['after']}: {r['households']}"
            for r in self.transitions.iter_rows(named=True)
        ]


def _joined(base: pl.DataFrame, changed: pl.DataFrame) -> pl.DataFrame:
    left = base.select("household_id", "village_code", *[pl.col(f).fill_null(NONE).alias(f"{f}__before") for f in COMPARED])
    right = changed.select("household_id", *[pl.col(f).fill_null(NONE).alias(f"{f}__after") for f in COMPARED])
    return left.join(right, on="household_id", how="inner").with_columns(
        *[(pl.col(f"{f}__before") != pl.col(f"{f}__after")).alias(f"{f}_changed") for f in COMPARED],
        pl.col("village_code").str.slice(0, 9).alias("township_code"),
    ).with_columns(pl.any_horizontal([pl.col(f"{f}_changed") for f in COMPARED]).alias("any_changed"))


_LEVEL_RANK = {"village": 0, "township": 1, "total": 2}


def _ordered(by_area: pl.DataFrame, transitions: pl.DataFrame) -> Comparison:
    level_rank = pl.col("level").replace_strict(_LEVEL_RANK, return_dtype=pl.Int8)
    field_rank = pl.col("field").replace_strict({f: i for i, f in enumerate(COMPARED)}, return_dtype=pl.Int8)
    return Comparison(
        by_area.sort(level_rank, "code"),
        transitions.sort(field_rank, pl.col("households"), "before", "after", descending=[False, True, False, False]),
    )


def merge(comparisons: list[Comparison]) -> Comparison:
    """One comparison of several parts of an input (counties evaluated one by one): counts of
    the same area (a township split across parts, the total) and of the same transition add up."""
    if len(comparisons) == 1:
        return comparisons[0]
    by_area = pl.concat([c.by_area for c in comparisons])
    counts = [c for c in by_area.columns if c not in ("level", "code")]
    by_area = by_area.group_by("level", "code", maintain_order=True).agg(pl.col(c).sum() for c in counts)
    transitions = pl.concat([c.transitions for c in comparisons]).group_by(
        "field", "before", "after", maintain_order=True
    ).agg(pl.col("households").sum())
    return _ordered(by_area, transitions)


def compare(base: pl.DataFrame, changed: pl.DataFrame) -> Comparison:
    j = _joined(base, changed)
    counts = [pl.len().cast(pl.Int64).alias("households")] + [
        pl.col(f"{f}_changed").sum().cast(pl.Int64).alias(f"{f}_changed") for f in (*COMPARED, "any")
    ]
    village = j.group_by("village_code").agg(counts).rename({"village_code": "code"}).with_columns(
        pl.lit("village").alias("level")
    )
    township = j.group_by("township_code").agg(counts).rename({"township_code": "code"}).with_columns(
        pl.lit("township").alias("level")
    )
    total = j.select(counts).with_columns(pl.lit("").alias("code"), pl.lit("total").alias("level"))
    order = ["level", "code", "households", *[f"{f}_changed" for f in (*COMPARED, "any")]]
    by_area = pl.concat([village.select(order), township.select(order), total.select(order)])
    parts = []
    for f in COMPARED:
        parts.append(
            j.filter(pl.col(f"{f}_changed"))
            .group_by(f"{f}__before", f"{f}__after")
            .agg(pl.len().cast(pl.Int64).alias("households"))
            .select(pl.lit(f).alias("field"), pl.col(f"{f}__before").alias("before"),
                    pl.col(f"{f}__after").alias("after"), "households")
        )
    return _ordered(by_area, pl.concat(parts))
