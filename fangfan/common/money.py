"""Money as integer fen: exact, fast, and the only place that converts to and from yuan."""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_YUAN = re.compile(r"^[+-]?\d+(\.\d{1,2})?$")


class MoneyError(ValueError):
    pass


def parse_yuan(text: str) -> int:
    """'1,234.5' → 123450 fen. At most two decimals; thousands separators allowed."""
    cleaned = text.strip().replace(",", "").replace("，", "").replace("¥", "").replace("元", "")
    if not _YUAN.match(cleaned):
        raise MoneyError(f"不是金额(元,最多两位小数): {text!r}")
    return int(Decimal(cleaned) * 100)


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
        raise MoneyError(f"不是金额: {value!r}") from exc
