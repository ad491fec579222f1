"""The ONE place that turns an acting user into a region filter.

Every selector and export passes its queryset through `scope_queryset`; a user without a
region (and not a system administrator) sees nothing.

Two scopes (roles.md): `prefix_for` is what an actor may see of the household files (a
县行业部门 user sees none: only its own feed's warnings and their outcomes);
`region_prefix_for` is the actor's region itself, for data that is not a household file
(a department's warnings, region trees, dashboards of counts)."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from fangfan.regions import codes as region_codes


# Roles that read no household file, whatever their region: 县行业部门 sees its own feed's
# warnings only (roles.md); the system administrator manages users and roles and, by the
# separation of duties of 等保2.0 三级 (三员分立) and the 个人信息保护法's minimum necessity, reads
# no personal data either.
HOUSEHOLD_BLIND_ROLES = frozenset({"county_dept", "admin"})


def region_prefix_for(actor) -> str | None:
    """The code prefix of the actor's region: '' for everything, None for nothing."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    if getattr(actor, "is_system_admin", False):
        return ""
    return actor.region_prefix or None


def prefix_for(actor) -> str | None:
    """The code prefix of the household files an actor may see: '' for everything, None for nothing.
    The shell acting as the system (actor None) is handled by callers, not here."""
    if getattr(actor, "role", None) in HOUSEHOLD_BLIND_ROLES:
        return None
    return region_prefix_for(actor)


def code_range(prefix: str) -> tuple[str, str | None]:
    """[lower, upper) holding exactly the digit codes that start with `prefix`.

    The upper bound is the prefix plus one ('3412' -> '3413'), not prefix + ':': digit strings
    compare digit by digit under every collation, whereas punctuation is ignored by glibc's and
    ICU's (zh_CN.UTF-8), where '3412:' would sort before '341225…' and empty the scope.
    An all-nines prefix has no upper bound: every code at or above it starts with it."""
    if not region_codes.is_digits(prefix):
        raise ValueError(f"区划代码前缀只能是数字: {prefix!r}")
    if set(prefix) == {"9"}:
        return prefix, None
    return prefix, str(int(prefix) + 1).zfill(len(prefix))


def code_range_q(field: str, prefix: str) -> Q:
    if prefix == "":
        return Q()
    lower, upper = code_range(prefix)
    q = Q(**{f"{field}__gte": lower})
    return q & Q(**{f"{field}__lt": upper}) if upper is not None else q


def code_range_sql(column: str, prefix: str) -> tuple[str, list[str]]:
    """The same range as SQL ("" and no parameters for everything), to AND into a WHERE."""
    if prefix == "":
        return "", []
    lower, upper = code_range(prefix)
    if upper is None:
        return f"{column} >= %s", [lower]
    return f"{column} >= %s AND {column} < %s", [lower, upper]


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
