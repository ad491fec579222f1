"""Raw interchange strings → canonical typed values, vectorised in Polars.

For each column kind of fangfan.common.tables this gives the typed expression and a reason
expression: null when the cell is fine, else why not (Chinese). Nothing loops over rows.
Money is parsed from the text (never via float) into integer fen. Amounts, dates and
resident IDs are read by the Polars twins of fangfan.common's parsers (money.yuan_expr,
dates.date_expr, ids.id_reason_expr), which say in their docstrings what they accept.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from fangfan.common import codes as C
from fangfan.common import dates, ids
from fangfan.common.money import yuan_expr
from fangfan.common.tables import CANONICAL_DTYPES, Column
from fangfan.regions.codes import is_known_county

SEPARATORS = "[" + re.escape(C.MULTI_SEPARATORS) + "]"
MIN_DATE, MAX_DATE = dates.MIN_DATE, dates.MAX_DATE
DATE_FORMATS = dates.DATE_FORMATS

DTYPES = CANONICAL_DTYPES


@dataclass
class Converted:
    value: pl.Expr  # canonical typed value
    reason: pl.Expr  # String: null when fine
    ok: pl.Expr  # Boolean, never null: true exactly when reason is null
    multi_bad: bool = False  # reason names unknown items: refine per bad row with unknown_items()


def default_expr(col: Column) -> pl.Expr:
    dtype = DTYPES[col.kind]
    if col.kind == "multi":
        return pl.lit([] if col.default is None else list(col.default), dtype=dtype)
    return pl.lit(col.default, dtype=dtype)


def _labels(col: Column) -> str:
    return "、".join(label for _, label in col.codelist.items)


def _lower_lookup(col: Column) -> dict[str, str]:
    return {k.lower(): v for k, v in col.codelist.lookup().items()}


def _reasons(*pairs: tuple[pl.Expr, str | pl.Expr]) -> pl.Expr:
    """First matching (condition, reason), else null."""
    expr = None
    for cond, reason in pairs:
        reason_expr = pl.lit(reason) if isinstance(reason, str) else reason
        expr = pl.when(cond).then(reason_expr) if expr is None else expr.when(cond).then(reason_expr)
    return expr.otherwise(pl.lit(None, dtype=pl.String))


def _checked(value: pl.Expr, *pairs: tuple[pl.Expr, str | pl.Expr], multi_bad: bool = False) -> Converted:
    # A null condition is not taken by when/then, so it does not make the cell bad either.
    ok = ~pl.any_horizontal([cond.fill_null(False) for cond, _ in pairs])
    return Converted(value, _reasons(*pairs), ok, multi_bad)


def convert(col: Column, raw: pl.Expr) -> Converted:
    """`raw` is the stripped cell text, null when empty."""
    empty = raw.is_null()
    required = (empty, f"{col.zh}不能为空") if col.required else (pl.lit(False), "")
    kind = col.kind
    default = default_expr(col)

    if kind == "str":
        return _checked(raw, required)

    if kind == "code":
        mapped = raw.str.to_lowercase().replace_strict(_lower_lookup(col), default=None, return_dtype=pl.String)
        bad = ~empty & mapped.is_null()
        return _checked(
            pl.when(empty).then(default).otherwise(mapped),
            required,
            (bad, f"不是有效的{col.zh}(可填: {_labels(col)})"),
        )

    if kind == "multi":
        # Few distinct cells (combinations of a short list): map each distinct text once.
        mapped = raw.map_batches(_multi_mapper(col), return_dtype=DTYPES["multi"], is_elementwise=True)
        bad = ~empty & mapped.is_null()
        value = pl.when(empty).then(default).otherwise(mapped)
        return _checked(value, required, (bad, f"含有无效的{col.zh}"), multi_bad=True)

    if kind == "bool":
        low = raw.str.to_lowercase()
        yes, no = low.is_in(sorted(C.YES_VALUES)), low.is_in(sorted(C.NO_VALUES))
        value = pl.when(empty).then(default).when(yes).then(True).when(no).then(False).otherwise(None)
        return _checked(value, required, (~empty & ~yes & ~no, "应填是或否"))

    if kind == "date":
        value, reason = dates.date_expr(raw)
        return _checked(pl.when(empty).then(default).otherwise(value), required, (~empty & reason.is_not_null(), reason))

    if kind == "money":
        fen, reason = yuan_expr(raw)
        value = pl.when(empty).then(default).otherwise(fen)
        limit = []
        if col.min_value is not None:
            limit.append((~empty & (fen < col.min_value * 100), "金额不能为负数" if col.min_value == 0 else f"金额不能小于{col.min_value}元"))
        return _checked(value, required, (~empty & reason.is_not_null(), reason), *limit)

    if kind in ("int", "year"):
        pattern = r"^\d{4}(\.0+)?$" if kind == "year" else r"^[+-]?\d+(\.0+)?$"
        shape_ok = raw.str.contains(pattern)
        number = pl.when(shape_ok).then(raw.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False))
        value = pl.when(empty).then(default).otherwise(number)
        pairs = [required, (~empty & (~shape_ok | number.is_null()), "应为4位年份(YYYY)" if kind == "year" else "应为整数")]
        if col.min_value is not None or col.max_value is not None:
            low = col.min_value if col.min_value is not None else -(2**62)
            high = col.max_value if col.max_value is not None else 2**62
            pairs.append((~empty & ((number < low) | (number > high)), f"应在{low}到{high}之间"))
        return _checked(value, *pairs)

    if kind == "village_code":
        return _checked(raw, required, *village_code_checks(raw))

    if kind == "id_number":
        value = ids.normalise_expr(raw)
        return _checked(value, required, *id_number_checks(value))

    raise ValueError(f"unknown column kind {kind}")


# Column kinds whose fast() reads the cell as written (its value is taken again from convert()
# where it is not sure). village_code has a fast() of its own on the stripped text, giving
# convert()'s value; for the others fast() is convert() itself.
FAST_KINDS = frozenset({"code", "bool", "date", "money", "int", "year", "id_number", "multi"})


def fast(col: Column, raw: pl.Expr) -> tuple[dict[str, pl.Expr], pl.Expr, pl.Expr]:
    """({name: part}, value, sure): a cheap conversion for the cells written the usual way.
    Where `sure` is true, `value` equals convert()'s value and convert()'s reason is null; the
    other cells (rare: odd spellings, mistakes) must be converted again with convert() — for
    their reason and, for FAST_KINDS, their value. Here an empty cell may be null or ""
    (convert() wants null): the fast kinds test for both, the others get the cell nulled first.

    `value` and `sure` refer to the parts by column name: the caller computes the parts first
    (with_columns), so that each is computed once — the streaming engine does not share
    common subexpressions."""
    part = f"__part_{col.key}"
    # Parts are computed side by side: they may not refer to one another (hence `blank`).
    blank = raw.is_null() | (raw.str.len_bytes() == 0)
    shared = {f"{part}_empty": blank}
    empty = pl.col(f"{part}_empty")
    empty_ok = empty if not col.required else pl.lit(False)
    default = default_expr(col)
    kind = col.kind
    if kind == "code":
        # The spellings exactly as listed (convert() lower-cases the cell first).
        lower = _lower_lookup(col)
        exact = {k: lower[k.lower()] for k in col.codelist.lookup()}
        mapped = pl.col(part)
        parts = {part: raw.replace_strict(exact, default=None, return_dtype=pl.String)}
        return shared | parts, pl.when(empty).then(default).otherwise(mapped), empty_ok | mapped.is_not_null()
    if kind == "bool":
        # Only the spellings the writer uses (是/否): one comparison each; other spellings of
        # yes and no take convert().
        shared[f"{part}_yes"] = (raw == "是").fill_null(False)
        shared[f"{part}_no"] = (raw == "否").fill_null(False)
        is_yes, is_no = pl.col(f"{part}_yes"), pl.col(f"{part}_no")
        value = pl.when(empty).then(default).when(is_yes).then(True).when(is_no).then(False)
        return shared, value, empty_ok | is_yes | is_no
    if kind == "id_number":
        # 17 digits without a leading zero (a sign or any other character makes the number
        # smaller or null), then the check character: the cell is already upper case.
        first17 = pl.col(part)
        expected = ids.check_digit_expr(first17)
        born = pl.col(f"{part}_born")
        sure = (
            (raw.str.len_bytes() == 18)
            & (first17 >= 10**16)
            & (raw.str.slice(17, 1) == expected)
            & (born >= MIN_DATE)
            & (born <= MAX_DATE)
        )
        parts = {part: raw.str.slice(0, 17).cast(pl.Int64, strict=False), f"{part}_born": id_birth_date(raw)}
        return shared | parts, pl.when(~empty).then(raw), empty_ok | sure.fill_null(False)
    if kind == "date":
        # convert() turns every other spelling into this one before the same strptime.
        parsed = pl.col(part)
        sure = raw.str.contains(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$") & (parsed >= MIN_DATE) & (parsed <= MAX_DATE)
        parts = {part: raw.str.strptime(pl.Date, "%Y-%m-%d", strict=False)}
        return shared | parts, pl.when(empty).then(default).otherwise(parsed), empty_ok | sure.fill_null(False)
    if kind == "money":
        # Nothing for yuan_expr to clean, at most 15 digits and two decimals.
        fen = pl.col(part)
        sure = raw.str.contains(r"^[0-9]{1,15}(\.[0-9]{1,2})?$") & fen.is_not_null()
        if col.min_value is not None:
            sure = sure & (fen >= col.min_value * 100)
        parts = {part: raw.cast(pl.Decimal(18, 2), strict=False).to_physical().cast(pl.Int64, strict=False)}
        return shared | parts, pl.when(empty).then(default).otherwise(fen), empty_ok | sure.fill_null(False)
    if kind in ("int", "year"):
        number = pl.col(part)
        sure = raw.str.contains(r"^[0-9]{4}$" if kind == "year" else r"^[0-9]{1,18}$") & number.is_not_null()
        if col.min_value is not None:
            sure = sure & (number >= col.min_value)
        if col.max_value is not None:
            sure = sure & (number <= col.max_value)
        parts = {part: raw.cast(pl.Int64, strict=False)}
        return shared | parts, pl.when(empty).then(default).otherwise(number), empty_ok | sure.fill_null(False)
    if kind == "village_code":
        # Few distinct codes (the villages): convert()'s checks run once per distinct text.
        good = pl.col(part)
        parts = {part: raw.map_batches(_good_village_codes, return_dtype=pl.Boolean, is_elementwise=True)}
        return shared | parts, pl.when(~empty).then(raw), empty_ok | (~empty & good)
    if kind == "multi":
        # The cell as written, each distinct text mapped once: empty to the default, items that all
        # map to their codes (as convert(): its items are stripped anyway), anything else — bad
        # items, only spaces — to null, for convert() to read again.
        mapped = pl.col(part)
        parts = {
            part: raw.fill_null("").map_batches(
                _multi_mapper(col, as_written=True), return_dtype=DTYPES["multi"], is_elementwise=True
            )
        }
        return shared | parts, mapped, empty_ok | (~empty & mapped.is_not_null())
    conv = convert(col, pl.when(~empty).then(raw))
    return shared, conv.value, conv.ok


def _multi_mapper(col: Column, *, as_written: bool = False):
    """Cells → code lists. convert()'s cells are stripped text, null when empty. as_written: cells
    as written, never null; "" gives the column's default and a cell of spaces only null (unsure)."""
    lookup = _lower_lookup(col)
    order = col.codelist.order()
    default = [] if col.default is None else list(col.default)

    def codes_of(text: str) -> list[str] | None:
        """Codes in code-list order without duplicates (equal sets compare equal), None if unknown."""
        items = [i.strip().lower() for i in re.split(SEPARATORS, text)]
        codes = [lookup.get(i) for i in items if i]
        if None in codes:
            return None
        return sorted(set(codes), key=order.__getitem__)

    def written(text: str) -> list[str] | None:
        if not text:
            return default
        # Python's strip() takes at least the characters Polars' strip_chars() does: a cell of
        # spaces only for convert() is one here too.
        return codes_of(text) if text.strip() else None

    def mapper(cells: pl.Series) -> pl.Series:
        # Each distinct text mapped once; the cells pick their value by the distinct text's
        # index (an Enum of the distinct texts): cheaper than a join on the text.
        distinct = cells.drop_nulls().unique().to_list()
        mapped = pl.Series([(written if as_written else codes_of)(v) for v in distinct], dtype=DTYPES["multi"])
        return mapped.gather(cells.cast(pl.Enum(distinct)).to_physical())

    return mapper


def unknown_items(col: Column, text: str) -> list[str]:
    lookup = _lower_lookup(col)
    items = [i.strip() for i in re.split(SEPARATORS, text)]
    return [i for i in items if i and i.lower() not in lookup]


def multi_reason(col: Column, text: str) -> str:
    bad = "、".join(f"「{i}」" for i in unknown_items(col, text))
    return f"{bad}不是有效的{col.zh}(可填: {_labels(col)})"


# ---------------------------------------------------------------- codes


def village_code_checks(code: pl.Expr) -> list[tuple[pl.Expr, pl.Expr | str]]:
    digits = code.str.contains(r"^\d{12}$")
    county = code.str.slice(0, 6)
    return [
        (code.is_not_null() & ~digits, "村代码应为12位数字"),
        (
            code.is_not_null() & digits & ~county.map_batches(_known_counties, return_dtype=pl.Boolean, is_elementwise=True),
            pl.concat_str([pl.lit("村代码前6位「"), county, pl.lit("」不是GB/T 2260县级行政区划代码")]),
        ),
        (code.is_not_null() & digits & (code.str.slice(9, 3) == "000"), "不是村级代码(后3位不能为000)"),
    ]


def _good_village_codes(cells: pl.Series) -> pl.Series:
    """Whether each cell (stripped text) passes village_code_checks, checked once per distinct
    text; null and "" give False (the caller tells empty cells apart)."""
    distinct = cells.drop_nulls().unique().to_frame("v").filter(pl.col("v").str.len_bytes() > 0)
    ok = ~pl.any_horizontal([cond.fill_null(False) for cond, _ in village_code_checks(pl.col("v"))])
    good = distinct.filter(ok).get_column("v")
    return cells.is_in(good.implode()).fill_null(False)


def _known_counties(prefixes: pl.Series) -> pl.Series:
    # Few distinct counties per file: look each up once.
    known = {p for p in prefixes.drop_nulls().unique().to_list() if is_known_county(p)}
    return prefixes.is_in(sorted(known)).fill_null(False)


def id_number_checks(number: pl.Expr) -> list[tuple[pl.Expr, pl.Expr]]:
    """validate_id's reason (fangfan.common.ids) for a normalised number, as one check."""
    reason = ids.id_reason_expr(number)
    return [(reason.is_not_null(), reason)]


def id_birth_date(number: pl.Expr) -> pl.Expr:
    return ids.birth_date_expr(number)


def id_sex(number: pl.Expr) -> pl.Expr:
    return ids.sex_expr(number)
