"""Display filters of the household pages: money (fen) in yuan, codes as Chinese labels."""
from decimal import Decimal

from django import template

from fangfan.common import codes as C
from fangfan.common.money import format_yuan

register = template.Library()

_WARNING = {"red": "红色预警", "orange": "橙色预警", "yellow": "黄色预警"}


@register.filter
def yuan(fen) -> str:
    """123450 (fen) → '1234.50'; empty for no value."""
    if fen is None or fen == "":
        return "—"
    return format_yuan(int(fen))


@register.filter
def percent(ratio) -> str:
    value = Decimal(str(ratio or 0)) * 100
    return f"{value.normalize():f}%"


@register.filter
def category(code: str) -> str:
    return dict(C.CATEGORY.items).get(code, code or "")


@register.filter
def warning(code: str) -> str:
    return _WARNING.get(code, code or "")


@register.filter
def risks(codes: str) -> str:
    labels = dict(C.RISK.items)
    return "、".join(labels.get(c, c) for c in (codes or "").split(";") if c)
