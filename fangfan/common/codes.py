"""Code lists of data.md: stable English codes in code and the database, Chinese labels in
files and pages. Pure Python (the rules engine imports it)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeList:
    name: str
    items: tuple[tuple[str, str], ...]  # (code, Chinese label), in display order
    aliases: tuple[tuple[str, str], ...] = ()  # (alternative spelling, code)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.items)

    def label(self, code: str) -> str:
        return dict(self.items)[code]

    def lookup(self) -> dict[str, str]:
        """Every accepted spelling (code, label, alias) → code."""
        table: dict[str, str] = {}
        for code, label in self.items:
            table[code] = code
            table[code.lower()] = code
            table[label] = code
        for alias, code in self.aliases:
            table[alias] = code
        return table

    def normalise(self, value: str) -> str | None:
        return self.lookup().get(value.strip())

    def order(self) -> dict[str, int]:
        return {code: i for i, (code, _) in enumerate(self.items)}


HOUSEHOLD_TYPE = CodeList("household_type", (("lifted", "脱贫户"), ("ordinary", "一般农户")))

CATEGORY = CodeList(
    "category",
    (("unstable_lifted", "脱贫不稳定户"), ("marginal", "边缘易致贫户"), ("sudden_hardship", "突发严重困难户")),
)

RISK = CodeList(
    "risk",
    (
        ("R01", "因病"),
        ("R02", "因学"),
        ("R03", "因残"),
        ("R04", "因自然灾害"),
        ("R05", "因意外事故"),
        ("R06", "因产业项目失败"),
        ("R07", "因务工就业不稳"),
        ("R08", "缺劳动力"),
        ("R09", "住房出现安全问题"),
        ("R10", "义务教育保障出现问题"),
        ("R11", "基本医疗保障出现问题"),
        ("R12", "饮水安全出现问题"),
        ("R13", "因疫情等突发公共事件"),
        ("R99", "其他"),
    ),
    aliases=(
        ("因灾", "R04"),
        ("洪涝", "R04"),
        ("地质", "R04"),
        ("旱灾", "R04"),
        ("风雹", "R04"),
        ("低温冷冻", "R04"),
        ("生物", "R04"),
        ("地震", "R04"),
        ("因意外", "R05"),
        ("因疫情", "R13"),
        ("缺劳力", "R08"),
    ),
)
# Sub-kinds of R04 因自然灾害 (篇九): accepted as input, recorded as R04.
DISASTER_KINDS = ("洪涝", "地质", "旱灾", "风雹", "低温冷冻", "生物", "地震", "其他")

MEASURE = CodeList(
    "measure",
    (
        ("M01", "产业帮扶"),
        ("M02", "就业帮扶"),
        ("M03", "金融帮扶"),
        ("M04", "公益岗位帮扶"),
        ("M05", "健康帮扶"),
        ("M06", "义务教育帮扶"),
        ("M07", "其他教育帮扶"),
        ("M08", "综合保障"),
        ("M09", "住房安全保障"),
        ("M10", "饮水安全保障"),
        ("M11", "社会帮扶"),
        ("M12", "搬迁帮扶"),
        ("M13", "扶志扶智"),
        ("M14", "生产生活条件改善"),
        ("M99", "其他"),
    ),
    aliases=(("小额信贷", "M03"), ("金融帮扶(小额信贷)", "M03"), ("雨露计划", "M07")),
)
DEVELOPMENT_MEASURES = ("M01", "M02", "M03", "M04")

MEASURE_STATUS = CodeList(
    "measure_status", (("planned", "计划"), ("in_progress", "实施中"), ("done", "已落实"))
)

DECLINE_REASON = CodeList(
    "decline_reason",
    (
        ("1", "种养业经营减收"),
        ("2", "帮扶产业收益分配减少"),
        ("3", "光伏收益分配调整"),
        ("4", "务工就业减收"),
        ("5", "公益性岗位或帮扶车间收入减少"),
        ("6", "低保被取消"),
        ("7", "政策性补贴减少或取消"),
        ("8", "自然灾害"),
        ("9", "帮扶工作不到位"),
        ("10", "其他"),
    ),
)

RELATION = CodeList(
    "relation",
    (
        ("head", "户主"),
        ("spouse", "配偶"),
        ("son", "之子"),
        ("daughter", "之女"),
        ("daughter_in_law", "之儿媳"),
        ("son_in_law", "之女婿"),
        ("grandson", "之孙子"),
        ("granddaughter", "之孙女"),
        ("daughters_son", "之外孙子"),
        ("daughters_daughter", "之外孙女"),
        ("father", "之父"),
        ("mother", "之母"),
        ("parent_in_law_husband", "之公婆"),
        ("parent_in_law_wife", "之岳父母"),
        ("grandparent", "之祖父母"),
        ("sibling", "之兄弟姐妹"),
        ("other", "其他"),
    ),
)

MEMBER_STATUS = CodeList(
    "status", (("normal", "正常"), ("deceased", "死亡"), ("moved_out", "迁出"), ("cancelled", "注销"))
)

HEALTH = CodeList(
    "health",
    (("healthy", "健康"), ("chronic", "长期慢性病"), ("serious_illness", "患有大病"), ("disabled", "残疾")),
    aliases=(("慢性病", "chronic"), ("大病", "serious_illness")),
)

DISABILITY_GRADE = CodeList("disability_grade", (("1", "一级"), ("2", "二级"), ("3", "三级"), ("4", "四级")))

DISABILITY_KIND = CodeList(
    "disability_kind",
    (
        ("visual", "视力"),
        ("hearing", "听力"),
        ("speech", "言语"),
        ("physical", "肢体"),
        ("intellectual", "智力"),
        ("mental", "精神"),
        ("multiple", "多重"),
    ),
)

LABOR = CodeList(
    "labor",
    (
        ("ordinary", "普通劳动力"),
        ("skilled", "技能劳动力"),
        ("weak", "弱劳动力或半劳动力"),
        ("lost", "丧失劳动力"),
        ("none", "无劳动力"),
    ),
)
# Members who count as labour for M5 R08 and W3 (普通劳动力 or 技能劳动力).
ABLE_LABOR = ("ordinary", "skilled")
NO_LABOR = ("lost", "none")

SCHOOLING = CodeList(
    "schooling",
    (
        ("not_in_school", "非在校生"),
        ("preschool", "学前教育"),
        ("primary", "小学"),
        ("junior", "初中"),
        ("senior", "高中"),
        ("secondary_vocational", "中职"),
        ("higher_vocational", "高职高专"),
        ("bachelor", "本科"),
        ("master_plus", "硕士及以上"),
        ("dropout", "失学辍学"),
    ),
)

VILLAGE_KIND = CodeList(
    "village_kind",
    (
        ("lifted_village", "脱贫村"),
        ("key_village", "乡村振兴重点村"),
        ("model_village", "示范创建村"),
        ("relocation_village", "易地扶贫搬迁安置村"),
        ("weak_village", "软弱涣散村"),
        ("ordinary_village", "一般村"),
    ),
)

# Negative-list facts of a household (data.md), in file order.
HOUSEHOLD_NEGATIVE_FIELDS = (
    "nl_town_house",
    "nl_car",
    "nl_machinery",
    "nl_luxury_property",
    "nl_large_deposits",
    "nl_company",
    "nl_employs_others",
    "nl_costly_school",
    "nl_wealthy_supporter",
    "nl_misconduct",
    "nl_idle",
    "nl_refuses_check",
    "nl_absent",
)
MEMBER_NEGATIVE_FIELDS = ("nl_public_payroll", "nl_village_head")

YES_VALUES = frozenset({"是", "y", "yes", "1", "true", "t", "有"})
NO_VALUES = frozenset({"否", "n", "no", "0", "false", "f", "无"})
MULTI_SEPARATORS = "、，,;；"

CODE_LISTS = {
    cl.name: cl
    for cl in (
        HOUSEHOLD_TYPE,
        CATEGORY,
        RISK,
        MEASURE,
        MEASURE_STATUS,
        DECLINE_REASON,
        RELATION,
        MEMBER_STATUS,
        HEALTH,
        DISABILITY_GRADE,
        DISABILITY_KIND,
        LABOR,
        SCHOOLING,
        VILLAGE_KIND,
    )
}
