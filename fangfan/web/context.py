"""The role-aware menu of every page (roles.md): each role sees only the entries it may use."""
from __future__ import annotations

from fangfan.accounts.models import Role

_ALL_CASE = (Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR, Role.CITY, Role.PROVINCE)
_READERS = (*_ALL_CASE, Role.COUNTY_CA)

# (label, path, roles)
MENU = (
    ("待办", "/", (*_READERS, Role.COUNTY_DEPT, Role.ADMIN)),
    ("农户档案", "/households/", _READERS),
    ("案件", "/cases/", _ALL_CASE),
    ("自主申报", "/declarations/", (Role.VILLAGE, Role.TOWNSHIP)),
    ("统计图表", "/dashboard/", (*_ALL_CASE, Role.COUNTY_CA)),
    ("县级参数", "/parameters/", (Role.COUNTY_RR, Role.COUNTY_CA, Role.CITY, Role.PROVINCE)),
    ("部门数据", "/departments/upload/", (Role.COUNTY_DEPT,)),
    ("部门数据", "/departments/batches/", (Role.COUNTY_RR, Role.COUNTY_CA)),
    ("未登记在册", "/departments/unregistered/", (Role.COUNTY_RR, Role.COUNTY_CA)),
    ("用户管理", "/users/", (Role.ADMIN,)),
)


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"menu": ()}
    path = request.path
    items = []
    for label, href, roles in MENU:
        if user.role in roles:
            active = path == href if href == "/" else path.startswith(href)
            items.append({"label": label, "href": href, "active": active})
    return {"menu": items}
