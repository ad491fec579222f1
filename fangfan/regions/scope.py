"""The ONE place that turns an acting user into a region filter.

Every selector and export passes its queryset through `scope_queryset`; a user without a
region (and not a system administrator) sees nothing."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

# ':' sorts right after '9', so [prefix, prefix + ':') holds exactly the codes that start with prefix.
_AFTER_DIGITS = ":"


def prefix_for(actor) -> str | None:
    """The code prefix an actor may see: '' for everything, None for nothing."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    if getattr(actor, "is_system_admin", False):
        return ""
    return actor.region_prefix or None


def code_range_q(field: str, prefix: str) -> Q:
    if prefix == "":
        return Q()
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + _AFTER_DIGITS})


def scope_queryset(qs: QuerySet, actor, field: str = "village_id") -> QuerySet:
    prefix = prefix_for(actor)
    if prefix is None:
        return qs.none()
    return qs.filter(code_range_q(field, prefix))


def in_scope(actor, code: str) -> bool:
    prefix = prefix_for(actor)
    return prefix is not None and code.startswith(prefix)


def require_in_scope(actor, code: str) -> None:
    if not in_scope(actor, code):
        raise PermissionDenied("不在本账号的管辖范围内")
