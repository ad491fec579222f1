"""Reads of users (system administrators only)."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from fangfan.accounts.models import Role, User
from fangfan.accounts.permissions import may_manage_users, require
from fangfan.regions import codes as region_codes
from fangfan.regions.scope import code_range_q


def user_list(*, actor, query: str = "", role: str = "", region: str = "", active: str = "") -> QuerySet[User]:
    """Users by name, role, region (every user whose region lies inside it) and state
    (active "1" / "0"). Unknown filter values match nothing rather than everything."""
    if actor is not None:
        require(may_manage_users(actor), "只有系统管理员可以查看用户")
    users = User.objects.all()
    query = (query or "").strip()
    if query:
        users = users.filter(
            Q(username__icontains=query) | Q(first_name__icontains=query) | Q(region_code__startswith=query)
            | Q(department__icontains=query)
        )
    if role:
        users = users.filter(role=role) if role in Role.values else users.none()
    region = (region or "").strip()
    if region:
        if not region_codes.is_digits(region) or len(region) > 12:
            return users.none()
        prefix = region_codes.prefix_of(region) if len(region) == 12 else region
        users = users.filter(code_range_q("region_code", prefix))
    if active in ("1", "0"):
        users = users.filter(is_active=active == "1")
    return users.order_by("username")


def user_get(*, actor, pk: int) -> User | None:
    if actor is not None:
        require(may_manage_users(actor), "只有系统管理员可以查看用户")
    return User.objects.filter(pk=pk).first()
