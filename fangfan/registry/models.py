"""The household file (一户一档): households, members, income years, measures.

Field names and code values follow fangfan.common.tables / codes (data.md). Money is
integer fen. Changes go through services (which write history); nothing here has logic."""
from django.db import models
from django.db.models.functions import Now

from fangfan.common import codes as C
from fangfan.common import pii


def _choices(codelist: C.CodeList):
    return list(codelist.items)


class Household(models.Model):
    # Unique through Meta.constraints, not unique=True: on PostgreSQL that would add a second
    # (varchar_pattern_ops) index that no query uses and every import pays for.
    household_number = models.CharField("户编号", max_length=64)
    # Indexed by the (village, household_type) index below; a second index would only slow imports.
    village = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="households", db_column="village_code", db_index=False
    )
    household_type = models.CharField("户类型", max_length=10, choices=_choices(C.HOUSEHOLD_TYPE))
    # Encrypted at rest (fangfan.common.pii); `phone` below reads and sets the plain number.
    phone_cipher = models.CharField("联系电话(密文)", max_length=120, blank=True, default="")
    relocated = models.BooleanField("易地搬迁", default=False)
    housing_safe = models.BooleanField("住房安全")
    water_safe = models.BooleanField("饮水安全")
    category = models.CharField("监测对象类别", max_length=20, blank=True, choices=_choices(C.CATEGORY))
    identified_on = models.DateField("识别日期", null=True, blank=True)
    eliminated_on = models.DateField("风险消除日期", null=True, blank=True)
    declared_risks = models.CharField("致贫返贫风险", max_length=200, blank=True, help_text="codes joined by ;")
    former_dibao_tekun = models.BooleanField("曾享受低保特困", default=False)
    last_visit_on = models.DateField("最近回访日期", null=True, blank=True)
    nl_town_house = models.BooleanField("城镇购房", default=False)
    nl_car = models.BooleanField("小轿车", default=False)
    nl_machinery = models.BooleanField("工程机械或大型农机具", default=False)
    nl_luxury_property = models.BooleanField("高价房车", default=False)
    nl_large_deposits = models.BooleanField("大额存款证券", default=False)
    nl_company = models.BooleanField("企业法人股东", default=False)
    nl_employs_others = models.BooleanField("长期雇工", default=False)
    nl_costly_school = models.BooleanField("高费择校", default=False)
    nl_wealthy_supporter = models.BooleanField("赡养人高收入", default=False)
    nl_misconduct = models.BooleanField("违法违规或高消费", default=False)
    nl_idle = models.BooleanField("有劳力不劳动", default=False)
    nl_refuses_check = models.BooleanField("拒绝资产核查", default=False)
    nl_absent = models.BooleanField("长期不在辖区", default=False)
    extra = models.JSONField("其他列", default=dict, blank=True)
    # Optimistic locking: every write checks and bumps it.
    version = models.PositiveIntegerField(default=1)
    # The import batch that created the household ("" otherwise): its creation history is that
    # batch's snapshot (ImportSnapshot) instead of one audit row per household.
    created_batch = models.CharField("导入批次", max_length=40, blank=True, default="", db_default="")
    # Database defaults too, so that bulk imports leave them to the server (one parse less per row).
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        ordering = ["household_number"]
        indexes = [models.Index(fields=["village", "household_type"]), models.Index(fields=["category"])]
        constraints = [models.UniqueConstraint(fields=["household_number"], name="household_number_unique")]

    def __str__(self) -> str:
        return self.household_number

    @property
    def is_monitored(self) -> bool:
        return bool(self.category) and self.eliminated_on is None

    phone = pii.sealed_property(pii.PHONE_FIELD, "phone_cipher", doc="The plain phone (encrypted at rest).")


class MemberQuerySet(models.QuerySet):
    def with_id_number(self, number: str) -> "MemberQuerySet":
        """The member with this (normalised, 18-character) ID, found through the blind index."""
        return self.filter(id_index=pii.id_index(number))

    def with_id_numbers(self, numbers) -> "MemberQuerySet":
        return self.filter(id_index__in=[pii.id_index(n) for n in numbers])


class Member(models.Model):
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="members")
    name = models.CharField("姓名", max_length=60)
    # Pinyin initials of the name ('张三' → 'zs') for search; written by every member write path
    # (fangfan.registry.search.name_initials / initials_expr), never typed by a user.
    name_initials = models.CharField("姓名拼音首字母", max_length=60, blank=True, default="", db_default="")
    # The ID number is never stored in clear (fangfan.common.pii): its blind index serves
    # matching, uniqueness and search, the cipher gives it back for logged full views and exports.
    id_index = models.CharField("证件号码索引", max_length=32)  # unique: Meta.constraints
    id_cipher = models.CharField("证件号码(密文)", max_length=120)
    birth_date = models.DateField("出生日期")
    sex = models.CharField("性别", max_length=1, choices=[("M", "男"), ("F", "女")])
    relation = models.CharField("与户主关系", max_length=30, choices=_choices(C.RELATION))
    status = models.CharField("人员状态", max_length=12, choices=_choices(C.MEMBER_STATUS), default="normal")
    health = models.CharField("健康状况", max_length=80, blank=True, help_text="codes joined by ;")
    disability_grade = models.CharField("残疾等级", max_length=2, blank=True, choices=_choices(C.DISABILITY_GRADE))
    disability_kind = models.CharField("残疾类别", max_length=20, blank=True, choices=_choices(C.DISABILITY_KIND))
    labor = models.CharField("劳动技能", max_length=12, blank=True, choices=_choices(C.LABOR))
    schooling = models.CharField("在校情况", max_length=24, choices=_choices(C.SCHOOLING), default="not_in_school")
    months_worked = models.PositiveSmallIntegerField("务工月数", default=0)
    medical_insurance = models.BooleanField("参加基本医保", default=True)
    dibao = models.BooleanField("低保", default=False)
    tekun = models.BooleanField("特困", default=False)
    nl_public_payroll = models.BooleanField("财政供养", default=False)
    nl_village_head = models.BooleanField("村主干", default=False)
    extra = models.JSONField("其他列", default=dict, blank=True)
    # Database defaults too, so that bulk imports leave them to the server (one parse less per row).
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        ordering = ["household_id", "id"]
        constraints = [models.UniqueConstraint(fields=["id_index"], name="member_id_index_unique")]
        # Search by exact or prefix name / initials (registry.search). varchar_pattern_ops lets
        # PostgreSQL use them for LIKE 'x%' under any collation (other databases ignore opclasses).
        indexes = [
            models.Index(fields=["name"], name="member_name_search", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["name_initials"], name="member_initials_search", opclasses=["varchar_pattern_ops"]),
        ]

    objects = MemberQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name

    id_number = pii.sealed_property(
        pii.ID_FIELD, "id_cipher", "id_index", doc="The plain ID: for masking in lists and for the logged full view."
    )


class IncomeYear(models.Model):
    """收支表: one row per household and measurement year; amounts in fen."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="incomes", db_index=False)
    year = models.PositiveSmallIntegerField("年度")
    wage = models.BigIntegerField("工资性收入", default=0)
    business_income = models.BigIntegerField("生产经营性收入", default=0)
    business_cost = models.BigIntegerField("生产经营性支出", default=0)
    property_income = models.BigIntegerField("财产性收入", default=0)
    transfer_income = models.BigIntegerField("转移性收入", default=0)
    basic_pension = models.BigIntegerField("其中:基础养老金", default=0)
    veteran_benefits = models.BigIntegerField("其中:抚恤优待金", default=0)
    disability_allowances = models.BigIntegerField("其中:两残补贴", default=0)
    guaranteed_dividend = models.BigIntegerField("其中:保底收益", default=0)
    dibao_payment = models.BigIntegerField("其中:低保金", default=0)
    tekun_payment = models.BigIntegerField("其中:特困供养金", default=0)
    insurance_claims = models.BigIntegerField("理赔收入", default=0)
    compliant_oop = models.BigIntegerField("合规自付支出", default=0)
    education_expense = models.BigIntegerField("教育支出", default=0)
    other_rigid_expense = models.BigIntegerField("其他刚性支出", default=0)
    decline_reasons = models.CharField("减收原因", max_length=60, blank=True, help_text="codes joined by ;")
    extra = models.JSONField("其他列", default=dict, blank=True)

    class Meta:
        # The unique (household, year) index also serves lookups by household.
        ordering = ["household_id", "-year"]
        constraints = [models.UniqueConstraint(fields=["household", "year"], name="income_year_unique")]


class Measure(models.Model):
    """帮扶措施 of a household (catalogue codes M01-M99)."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="measures", db_index=False)
    measure_code = models.CharField("措施类别", max_length=4, choices=_choices(C.MEASURE))
    content = models.CharField("措施内容", max_length=200, blank=True)
    started_on = models.DateField("开始日期")
    status = models.CharField("状态", max_length=12, choices=_choices(C.MEASURE_STATUS))
    responsible_unit = models.CharField("责任单位", max_length=100, blank=True)
    extra = models.JSONField("其他列", default=dict, blank=True)
    # Database defaults too, so that bulk imports leave them to the server (one parse less per row).
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        # data.md: a measure is one per 户编号, 措施类别, 开始日期 and 措施内容 (two projects of one kind
        # may start the same day; only an exact repeat is refused). The unique index also serves
        # lookups by household.
        ordering = ["household_id", "started_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "measure_code", "started_on", "content"], name="measure_unique_content"
            )
        ]

    @property
    def history_key(self) -> str:
        return measure_history_key(self.household.household_number, self.measure_code, self.started_on, self.content)


MEASURE_KEY_LENGTH = 80  # AuditEvent.object_key's length


def measure_history_key(household_number: str, measure_code: str, started_on, content: str | None) -> str:
    """How history rows (audit object_key, import snapshots) name a measure: 户编号:措施类别:开始日期,
    then :措施内容 when there is one, cut to the audit column's length. registry.importing builds
    the same key for a whole table at once (its test holds the two together)."""
    key = f"{household_number}:{measure_code}:{started_on}"  # a date prints as YYYY-MM-DD
    return (f"{key}:{content}" if content else key)[:MEASURE_KEY_LENGTH]


class ImportBatch(models.Model):
    """One run of `fangfan import`: what was read and what changed."""

    batch = models.CharField("批次", max_length=40, blank=True, db_index=True)  # AuditEvent.batch
    at = models.DateTimeField(auto_now_add=True)
    actor_name = models.CharField(max_length=150)
    source = models.TextField()
    summary = models.JSONField(default=dict)


class ImportSnapshot(models.Model):
    """The rows of the households an import created, as it wrote them: Parquet (zstd), one
    per table and run of up to SNAPSHOT_HOUSEHOLDS (10,000) consecutive 户编号, so that a household's page
    reads a small blob. This is those households' creation history: an import of a county
    writes one audit row instead of one ~1 kB row per household; their later changes are audit
    rows with before and after as usual. sha256 is of `data`."""

    import_batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="snapshots")
    table = models.CharField(max_length=20)
    first_household = models.CharField(max_length=64)
    last_household = models.CharField(max_length=64)
    rows = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()

    class Meta:
        indexes = [models.Index(fields=["import_batch", "first_household"], name="import_snapshot_range")]
