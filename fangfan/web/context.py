"""The role-aware menu of every page (roles.md): each role sees only the entries it may use."""
from __future__ import annotations

from fangfan.accounts.models import Role

_ALL_CASE = (Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR, Role.CITY, Role.PROVINCE)
_READERS = (*_ALL_CASE, Role.COUNTY_CA)

# (label, path, roles)
MENU = (
    ("待办", "/", (*_READERS, Role.COUNTY_DEPT, Role.ADMIN)),
    ("农户档案", "/households/", _READERS),
    ("案件", "/cases/", (*_ALL_CASE, Role.COUNTY_CA)),
    ("低保特困", "/lowincome/", (Role.TOWNSHIP, Role.COUNTY_RR, Role.COUNTY_CA, Role.CITY, Role.PROVINCE)),
    ("自主申报", "/declarations/", (Role.VILLAGE, Role.TOWNSHIP)),
    ("统计图表", "/dashboard/", (*_ALL_CASE, Role.COUNTY_CA)),
    ("报表", "/reports/", (*_ALL_CASE, Role.COUNTY_CA)),
    ("县级参数", "/parameters/", (Role.COUNTY_RR, Role.COUNTY_CA, Role.CITY, Role.PROVINCE)),
    ("部门数据", "/departments/upload/", (Role.COUNTY_DEPT,)),
    ("部门数据", "/departments/batches/", (Role.COUNTY_RR, Role.COUNTY_CA)),
    ("未登记在册", "/departments/unregistered/", (Role.COUNTY_RR, Role.COUNTY_CA)),
    ("部门预警", "/warnings/", (Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR, Role.COUNTY_CA, Role.CITY, Role.PROVINCE)),
    ("预警总览", "/warnings/overview/", (Role.COUNTY_RR, Role.COUNTY_CA, Role.CITY, Role.PROVINCE)),
    ("结果反馈", "/warnings/feedback/", (Role.COUNTY_DEPT, Role.COUNTY_RR)),
    ("低保移交", "/warnings/civil-affairs/", (Role.COUNTY_CA,)),
    ("转介", "/referrals/", (Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR, Role.COUNTY_CA, Role.COUNTY_DEPT)),
    ("访问记录", "/audit/personal-data/", (Role.COUNTY_RR, Role.COUNTY_CA, Role.CITY, Role.PROVINCE)),
    ("用户管理", "/users/", (Role.ADMIN,)),
)


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"menu": ()}
    path = request.path
    items = [{"label": label, "href": href, "active": False} for label, href, roles in MENU if user.role in roles]
    # The longest entry the path lies under is the active one (/warnings/overview/ is not also /warnings/).
    under = [i for i in items if (path == i["href"] if i["href"] == "/" else path.startswith(i["href"]))]
    if under:
        max(under, key=lambda i: len(i["href"]))["active"] = True
    return {"menu": items}
