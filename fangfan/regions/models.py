from django.db import models

LEVEL_DIGITS = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}


class Region(models.Model):
    """A node of the administrative tree, keyed by its 12-digit statistical code.

    Households point at villages by code; a region's subtree is every code that starts with
    its `prefix` (2/4/6/9/12 digits), so scoping a query is a range scan on an index."""

    class Level(models.TextChoices):
        PROVINCE = "province", "省"
        CITY = "city", "市"
        COUNTY = "county", "县"
        TOWNSHIP = "township", "乡镇"
        VILLAGE = "village", "村"

    code = models.CharField("区划代码", max_length=12, primary_key=True)
    level = models.CharField("级别", max_length=10, choices=Level.choices)
    name = models.CharField("名称", max_length=100, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # Village attributes (村表): empty for other levels.
    delisted = models.BooleanField("出列村", default=False)
    village_kind = models.CharField("村类型", max_length=30, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name or self.code}"

    @property
    def prefix(self) -> str:
        return self.code[: LEVEL_DIGITS[self.level]]
