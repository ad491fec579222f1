from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """Who did what, when, with the state before and after. Append-only: nothing updates
    or deletes these rows. A household's history is its events (household_key)."""

    at = models.DateTimeField("时间", auto_now_add=True)  # rows are appended in time order: order by id
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    actor_name = models.CharField("操作人", max_length=150, blank=True)
    action = models.CharField("操作", max_length=60)
    object_type = models.CharField("对象类型", max_length=60)
    object_key = models.CharField("对象", max_length=80)
    # Indexed in Meta.indexes: db_index=True would add a second (pattern_ops) index per column on
    # PostgreSQL, which no query uses and which every imported history row would pay for.
    household_key = models.CharField("户编号", max_length=64, blank=True)
    region_code = models.CharField("区划代码", max_length=12, blank=True)
    before = models.JSONField("修改前", null=True, blank=True)
    after = models.JSONField("修改后", null=True, blank=True)
    comment = models.TextField("说明", blank=True)
    batch = models.CharField("批次", max_length=40, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["object_type", "object_key"]),
            models.Index(fields=["household_key"], name="audit_household_key"),
            models.Index(fields=["region_code"], name="audit_region_code"),
            models.Index(fields=["batch"], name="audit_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_type}:{self.object_key}"


class RegionVersion(models.Model):
    """How many audited writes each region has had: the data version that cached results of a scope
    (fangfan.workflows.worklists.cached) are kept under. audit_record bumps its region's row in
    the writing transaction, so a reader sees the bump exactly when it sees the data.

    `region` is the shortest code prefix (34, 3412, 341225, 341225103, 341225103208), '' for
    writes that name no region or may reach any (the shell's): those concern every scope. A
    scope's version is the sum of `writes` over the rows inside it (region starting with the
    scope's prefix) and the rows above it (its ancestors and ''): any write that can change the
    scope's data raises it, a write in another county does not. A sum, not the newest audit id:
    ids are handed out at insert but become visible at commit, so a lower id committing after a
    higher one would leave the newest id unchanged (and a result computed in between stale)."""

    region = models.CharField("区划前缀", max_length=12, primary_key=True)
    writes = models.BigIntegerField("写入次数", default=0)
    # In the cache key too: after a backup is restored the sums are lower again and would repeat
    # the keys of results computed before it.
    at = models.DateTimeField("最近写入")

    def __str__(self) -> str:
        return f"{self.region or '全部'}: {self.writes}"
