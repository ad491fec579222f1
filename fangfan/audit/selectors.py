"""Reading the audit trail: the personal-data access log (个人信息保护法: who saw or took whose
personal data, when and why), for the county offices and above, scoped by region."""
from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from fangfan.accounts.models import Role
from fangfan.accounts.permissions import require, role_of
from fangfan.audit.models import AuditEvent
from fangfan.regions.scope import code_range_q, region_prefix_for

# Audit actions that reveal or carry personal data out of the system, with their Chinese names.
PERSONAL_DATA_ACTIONS = {
    "member.id_view": "查看完整证件号码",
    "registry.export": "导出登记数据文件",
    "worklist.export": "导出待办清单",
    "notice.export": "导出公示名单",
    "dept_warning.export": "导出部门预警清单",
    "lowincome.export": "导出低保特困名单",
    "personal_data.export": "导出个人信息清单",
}
LOG_READERS = frozenset({Role.COUNTY_RR, Role.COUNTY_CA, Role.CITY, Role.PROVINCE})


def personal_data_log(*, actor, action: str = "", who: str = "", since: dt.date | None = None,
                      until: dt.date | None = None) -> QuerySet[AuditEvent]:
    """Full ID views and personal-data exports of the actor's region, newest first."""
    qs = AuditEvent.objects.filter(action__in=list(PERSONAL_DATA_ACTIONS)).select_related("actor")
    if actor is not None:
        require(role_of(actor) in LOG_READERS, "只有县乡村振兴局、县民政局及市、省级账号可以查看个人信息访问记录")
        prefix = region_prefix_for(actor)
        require(prefix is not None, "账号未设置管辖区划")
        qs = qs.filter(code_range_q("region_code", prefix))
    if action:
        qs = qs.filter(action=action)
    if who:
        qs = qs.filter(actor_name=who)
    if since:
        qs = qs.filter(at__date__gte=since)
    if until:
        qs = qs.filter(at__date__lte=until)
    return qs.order_by("-id")
