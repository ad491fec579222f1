from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    """roles.md: who uses fangfan. Scope follows the role's level."""

    VILLAGE = "village", "村信息员/村干部/驻村工作队"
    TOWNSHIP = "township", "乡镇"
    COUNTY_RR = "county_rr", "县乡村振兴局"
    COUNTY_CA = "county_ca", "县民政局"
    COUNTY_DEPT = "county_dept", "县行业部门"
    CITY = "city", "市督查"
    PROVINCE = "province", "省督查"
    ADMIN = "admin", "系统管理员"


ROLE_LEVEL = {
    Role.VILLAGE: "village",
    Role.TOWNSHIP: "township",
    Role.COUNTY_RR: "county",
    Role.COUNTY_CA: "county",
    Role.COUNTY_DEPT: "county",
    Role.CITY: "city",
    Role.PROVINCE: "province",
}
LEVEL_DIGITS = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}
LEVEL_LABEL = {"province": "省级", "city": "市级", "county": "县级", "township": "乡镇级", "village": "村级"}

# The twelve departments that send feeds (data.md "Department feeds"); a 县行业部门 account
# belongs to exactly one of them.
DEPARTMENTS = ("医保", "民政", "残联", "人社", "教育", "住建", "水利", "应急", "公安", "不动产", "市场监管", "金融")


class User(AbstractUser):
    role = models.CharField("角色", max_length=20, choices=Role.choices, default=Role.VILLAGE)
    region_code = models.CharField("管辖区划代码", max_length=12, blank=True)
    department = models.CharField("部门", max_length=20, blank=True, help_text="县行业部门: 医保, 民政, 残联 ...")

    @property
    def is_system_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def region_prefix(self) -> str:
        """The code prefix of the user's region at the role's level ('' when unset)."""
        if not self.region_code or self.role == Role.ADMIN:
            return ""
        return self.region_code[: LEVEL_DIGITS[ROLE_LEVEL[self.role]]]


class ApiToken(models.Model):
    """A personal API token (JSON API, `Authorization: Bearer <token>`). Only its SHA-256 is
    stored: the token itself is shown once when made. The API acts as the token's user, with
    the same scope and role checks as the pages."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("名称", max_length=60, blank=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
