"""Money as integer fen: exact, fast, and the only place that converts to and from yuan.

One syntax for an amount typed or imported in yuan (data.md: "Money in yuan with at most two
decimals; thousands separators allowed"), the one the interchange reader has always accepted.
`parse_yuan` (one text) and `yuan_expr` (a Polars column) give the same answers:

- ASCII digits 0-9 only: full-width digits (１２) are refused, as the reader refuses them;
- an optional sign + or - (negative amounts are refused by the callers that forbid them);
- thousands separators `,` `，`, the signs `¥` `￥`, the unit `元` and spaces
  (fangfan.common.text) are ignored wherever they stand: `￥1,234.50 元` = 123450 fen;
- an integer part, then optionally a point and at most two decimals: `1.` = 100 fen,
  `.5` is refused;
- at most 15 integer digits, so that fen stay well inside Int64.

The reasons, tested in this order: 金额最多两位小数, 不是金额(单位元,最多两位小数), 金额过大.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import polars as pl

from fangfan.common.text import SPACE_CLASS, python_pattern

IGNORED = f"[,，¥￥元{SPACE_CLASS}]"
SHAPE = r"^[+-]?[0-9]+(\.[0-9]*)?$"
TOO_MANY_DECIMALS = r"\.[0-9]{3,}$"
TOO_LARGE = r"^[+-]?[0-9]{16,}"

DECIMALS_REASON = "金额最多两位小数"
SHAPE_REASON = "不是金额(单位元,最多两位小数)"
LARGE_REASON = "金额过大"

_IGNORED, _SHAPE = python_pattern(IGNORED), python_pattern(SHAPE)
_TOO_MANY, _TOO_LARGE = python_pattern(TOO_MANY_DECIMALS), python_pattern(TOO_LARGE)


class MoneyError(ValueError):
    """`reason` is the reason alone (as the reader reports it beside the cell)."""

    def __init__(self, reason: str, text: object = None):
        super().__init__(reason if text is None else f"{reason}: {text!r}")
        self.reason = reason


def parse_yuan(text: str) -> int:
    """'￥1,234.5' → 123450 fen; MoneyError (with .reason) when not an amount."""
    clean = _IGNORED.sub("", text)
    shaped = _SHAPE.match(clean)
    if shaped and _TOO_MANY.search(clean):
        raise MoneyError(DECIMALS_REASON, text)
    if not shaped:
        raise MoneyError(SHAPE_REASON, text)
    if _TOO_LARGE.match(clean):
        raise MoneyError(LARGE_REASON, text)
    sign = -1 if clean[0] == "-" else 1
    whole, _, cents = clean.lstrip("+-").partition(".")
    return sign * (int(whole) * 100 + int(cents.ljust(2, "0")))


def yuan_expr(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The Polars twin of parse_yuan on a String column: (fen Int64, reason String), both null
    where `raw` is null; fen is null exactly where the reason is not."""
    clean = raw.str.replace_all(IGNORED, "")
    shaped = clean.str.contains(SHAPE)
    too_many = shaped & clean.str.contains(TOO_MANY_DECIMALS)
    too_large = clean.str.contains(TOO_LARGE)
    # Decimal(18, 2) holds a well-shaped amount exactly and its physical value is the amount in
    # fen: one native cast instead of splitting and re-joining the digits (≈ 5× faster).
    fen = pl.when(shaped & ~too_many & ~too_large).then(
        clean.cast(pl.Decimal(18, 2), strict=False).to_physical().cast(pl.Int64, strict=False)
    )
    reason = (
        pl.when(raw.is_null()).then(pl.lit(None, dtype=pl.String))
        .when(too_many).then(pl.lit(DECIMALS_REASON))
        .when(~shaped).then(pl.lit(SHAPE_REASON))
        .when(fen.is_null()).then(pl.lit(LARGE_REASON))
    )
    return fen, reason


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def format_yuan(fen: int) -> str:
    """123450 → '1234.50' (no separators: files must round-trip)."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def div_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up (away from zero at .5), integers only."""
    if denominator == 0:
        raise ZeroDivisionError("division by zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return q if numerator >= 0 else -q


def yuan(value: str | int | Decimal) -> Decimal:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise MoneyError("不是金额", value) from exc
