"""Stored rule results: pages and reports read these instead of recomputing."""
from django.db import models


class ParameterVersionSet(models.Model):
    """Which value of each parameter a result used (name → "prefix@start"), shared by every
    household of the same villages/profile, so each result row stores only a reference."""

    digest = models.CharField(max_length=64, unique=True)
    versions = models.JSONField()


class ScreeningRun(models.Model):
    at = models.DateTimeField(auto_now_add=True)
    actor_name = models.CharField(max_length=150)
    as_of = models.DateField("评估日期")
    year = models.PositiveSmallIntegerField("收入年度", null=True)
    region_prefix = models.CharField(max_length=12, blank=True)
    summary = models.JSONField(default=dict)


class ScreeningResult(models.Model):
    """One household's rule results at an as-of date (the `evaluate` contract's columns, typed)."""

    # No index of its own: the unique (household, as_of) index starts with it, and every screening
    # writes 100,000s of rows through each index (one fewer: ≈ 0.3 s off a 100k first run on PostgreSQL).
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="screening_results",
                                  db_index=False)
    as_of = models.DateField("评估日期")
    year = models.PositiveSmallIntegerField("收入年度", null=True)
    household_size = models.PositiveSmallIntegerField("家庭人口")
    net_income = models.BigIntegerField("家庭纯收入(分)", null=True)
    monitoring_income = models.BigIntegerField("监测收入(分)", null=True)
    per_capita_income = models.BigIntegerField("人均纯收入(分)", null=True)
    income_line = models.BigIntegerField("监测范围(分)", null=True)
    below_line = models.BooleanField("低于监测范围", default=False)
    hardship = models.BooleanField("突发严重困难", default=False)
    candidate_category = models.CharField("候选类别", max_length=20, blank=True)
    detected_risks = models.CharField("风险", max_length=200, blank=True)
    whole_household_no_labor = models.BooleanField("整户无劳动能力", default=False)
    negative_list_hits = models.CharField("负面清单", max_length=100, blank=True)
    elimination = models.CharField("风险消除", max_length=20, blank=True)
    elimination_failed = models.CharField("未满足", max_length=100, blank=True)
    warning_color = models.CharField("三色预警", max_length=10, blank=True)
    dibao_unserved = models.BooleanField("应保未保", default=False)
    per_capita_dibao_income = models.BigIntegerField("低保口径人均收入(分)", null=True)
    low_income_class = models.CharField("低收入类别", max_length=20, blank=True)
    single_person_dibao = models.TextField("单人保候选", blank=True)
    visit_due_on = models.DateField("应回访日期", null=True)
    visit_overdue = models.BooleanField("回访逾期", default=False)
    explanation = models.TextField("说明", blank=True)
    # Provenance of append-only rows that nothing deletes (PROTECT keeps it so in the ORM), without
    # a database constraint: PostgreSQL checks one by locking the referenced row once per inserted
    # result, all on the same run row and the same few parameter sets — 0.6 s of the 1.0 s commit of
    # a 100k first screening. The household reference keeps its constraint. No index either: no
    # query looks results up by run or parameter set, and each index costs every screening's writes.
    parameters = models.ForeignKey(ParameterVersionSet, on_delete=models.PROTECT, db_constraint=False, db_index=False)
    run = models.ForeignKey(ScreeningRun, on_delete=models.PROTECT, db_constraint=False, db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["household", "as_of"], name="screening_result_unique")]
        indexes = [models.Index(fields=["as_of", "candidate_category"]), models.Index(fields=["as_of", "warning_color"])]


class CountyParameter(models.Model):
    """A county's own dated value of a policy parameter: a layer above the shipped YAML, resolved by
    the same prefix-and-date rule (fangfan.policy.params.ParameterSet.with_layer). Rows are never
    deleted or edited: a correction is a new row for the same (name, prefix, start), which marks the
    older one superseded; a withdrawal only stamps the row."""

    name = models.CharField("参数", max_length=80)
    region_prefix = models.CharField("区划前缀", max_length=12)
    start = models.DateField("起始日期")
    # The value as the policy loader reads it (parse_value_text): "7000", "20 working", "null", YAML.
    value_text = models.TextField("取值")
    document = models.CharField("文件依据", max_length=300)
    set_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name="设置人")
    set_at = models.DateTimeField("设置时间", auto_now_add=True)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="被更正为"
    )
    withdrawn_at = models.DateTimeField("撤回时间", null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="撤回人"
    )
    withdraw_reason = models.CharField("撤回原因", max_length=300, blank=True)

    class Meta:
        verbose_name = "县级参数"
        indexes = [models.Index(fields=["region_prefix", "name", "start"])]

    @property
    def active(self) -> bool:
        return self.superseded_by_id is None and self.withdrawn_at is None

    @property
    def status_zh(self) -> str:
        if self.withdrawn_at is not None:
            return "已撤回"
        if self.superseded_by_id is not None:
            return "已更正"
        return "有效"
