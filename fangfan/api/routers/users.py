"""Users as JSON: who am I (any token user), the user list (system administrators only)."""
from __future__ import annotations

import datetime as dt

from django.core.paginator import Paginator
from ninja import Field, Query, Router, Schema

from fangfan.accounts import selectors
from fangfan.accounts.models import Role

router = Router(tags=["users"])
PER_PAGE = 50


class UserOut(Schema):
    username: str
    full_name: str
    role: str
    role_label: str
    region_code: str
    region_name: str
    department: str
    is_active: bool
    last_login: dt.datetime | None


class UserPage(Schema):
    count: int
    page: int
    pages: int
    users: list[UserOut]


class UserFilters(Schema):
    q: str = Field("", max_length=150, description="用户名/姓名/部门")
    role: str = Field("", max_length=20, description="角色: " + ", ".join(Role.values))
    region: str = Field("", max_length=12, description="区划代码或前缀: 其下的用户")
    active: str = Field("", max_length=1, description="1 启用 / 0 停用")
    page: int = Field(1, ge=1, le=100000)


def _out(user, names: dict[str, str]) -> dict:
    return {
        "username": user.username, "full_name": user.first_name, "role": user.role,
        "role_label": user.get_role_display(), "region_code": user.region_code,
        "region_name": names.get(user.region_code, ""), "department": user.department,
        "is_active": user.is_active, "last_login": user.last_login,
    }


def _names(codes) -> dict[str, str]:
    from fangfan.regions.models import Region

    return dict(Region.objects.filter(code__in={c for c in codes if c}).values_list("code", "name"))


@router.get("/me", response=UserOut, summary="当前令牌的用户: 角色、管辖区划、部门")
def me(request):
    user = request.auth
    return _out(user, _names([user.region_code]))


@router.get("/", response=UserPage, summary="用户列表 (仅系统管理员; 每页 50 条)")
def user_list(request, filters: Query[UserFilters]):
    users = selectors.user_list(actor=request.auth, query=filters.q, role=filters.role, region=filters.region,
                                active=filters.active)
    paginator = Paginator(users, PER_PAGE)
    page = paginator.get_page(filters.page)
    names = _names(u.region_code for u in page.object_list)
    return {"count": paginator.count, "page": page.number, "pages": paginator.num_pages,
            "users": [_out(u, names) for u in page.object_list]}
