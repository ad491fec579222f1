"""Department feeds (data.md "Department feeds") for the synthetic county, with planted hits.

Background rows agree with the registry (a 死亡 record for a member already marked 死亡, a
car for a household already flagged 小轿车, out-of-pocket below 10,000 …), so they should
raise nothing. Planted rows are new facts that should: each is listed in planted.csv with
the effect later features (department comparison, warnings) are expected to show.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from fangfan.registry.synthetic import DISABILITY_KINDS, STATUS, S

DEPARTMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "医保": ("证件号码", "结算日期", "医疗总费用", "基本医保报销", "大病保险报销", "医疗救助", "合规自付", "就医地", "执行分级诊疗"),
    "民政": ("证件号码", "事项", "日期", "金额"),
    "残联": ("证件号码", "残疾类别", "残疾等级", "发证日期"),
    "人社": ("证件号码", "事项", "日期", "单位", "月工资"),
    "教育": ("证件号码", "事项", "学段", "日期"),
    "住建": ("证件号码", "鉴定等级", "鉴定日期"),
    "水利": ("村代码", "问题", "日期"),
    "应急": ("证件号码", "灾种", "受灾日期", "直接经济损失"),
    "公安": ("证件号码", "事项", "日期", "车辆类型"),
    "不动产": ("证件号码", "不动产类型", "所在地", "登记日期"),
    "市场监管": ("证件号码", "身份", "企业名称", "年报状态"),
    "金融": ("证件号码", "存款余额", "有价证券市值"),
}

PLANTED_COLUMNS = ("department", "effect", "id_number", "id_number_18", "household_id", "village_code", "detail")

EFFECTS = {
    "large_oop": "合规自付≥1万元: 因病风险(R01)、支出型困难预警",
    "dibao_exit": "低保退出: 纳入监测关注(曾享受低保特困, 黄色预警)",
    "severe_disability": "新发一级/二级残疾: 因残风险(R03)",
    "unemployment": "失业登记: 因务工就业不稳风险(R07)",
    "public_payroll": "机关事业单位在编: 负面清单(财政供养)",
    "dropout": "失学辍学: 因学及义务教育保障风险(R02、R10)",
    "unsafe_housing": "住房鉴定为C/D级: 住房安全问题(R09)",
    "unsafe_water": "村饮水问题: 该村各户饮水安全风险(R12)",
    "disaster_loss": "受灾直接经济损失≥5000元: 因自然灾害风险(R04)",
    "death": "成员死亡: 更新人员状态, 重算家庭人口和人均收入",
    "car": "车辆登记(小型轿车): 负面清单(小轿车)",
    "town_house": "城镇商品住宅: 负面清单(城镇购房)",
    "company": "企业法定代表人且已年报: 负面清单(企业法人股东)",
    "large_deposits": "存款及有价证券≥10万元: 负面清单(大额存款证券)",
    "no_match": "证件号码在登记库中不存在: 无法匹配到家庭成员",
    "freshman_grant": "监测户新入学大学生: 一次性入学补助(C6)",
}
OLD_ID_NOTE = "(15位旧证件号码, 转换为18位后匹配)"

MEASURE_CONTENT: dict[str, tuple[tuple[str, str], ...]] = {
    "M01": (("发展特色种植产业", "县农业农村局"), ("发展畜禽养殖产业", "县农业农村局"), ("入股帮扶产业项目", "乡镇人民政府")),
    "M02": (("推荐外出务工就业", "县人社局"), ("开展职业技能培训", "县人社局"), ("帮扶车间就近就业", "县人社局")),
    "M03": (("发放脱贫人口小额信贷", "县乡村振兴局"), ("小额信贷贴息", "县财政局")),
    "M04": (("安排乡村公益性岗位", "县人社局"), ("安排护林员岗位", "县林业局")),
    "M05": (("大病专项救治", "县医保局"), ("慢性病家庭医生签约服务", "县卫健委"), ("医疗救助", "县医保局")),
    "M06": (("义务教育控辍保学", "县教育局"), ("义务教育阶段学生资助", "县教育局")),
    "M07": (("雨露计划职业教育补助", "县乡村振兴局"), ("生源地助学贷款", "县教育局")),
    "M08": (("纳入低保", "县民政局"), ("残疾人两项补贴", "县残联"), ("临时救助", "县民政局")),
    "M09": (("农村危房改造", "县住建局"), ("住房安全鉴定及修缮", "县住建局")),
    "M10": (("饮水安全工程维修", "县水利局"), ("接通集中供水管网", "县水利局")),
    "M11": (("社会帮扶结对", "县工商联"), ("爱心企业捐助", "县工商联")),
    "M12": (("易地扶贫搬迁后续扶持", "县发改委"),),
    "M13": (("开展扶志扶智教育", "乡镇人民政府"), ("评选文明家庭", "乡镇人民政府")),
    "M14": (("改善生产生活条件", "乡镇人民政府"), ("农村人居环境整治", "县农业农村局")),
    "M99": (("其他帮扶", "乡镇人民政府"),),
}

DISASTERS = ("洪涝", "风雹", "旱灾", "地质", "低温冷冻", "其他")
WATER_PROBLEMS = ("季节性缺水", "管道损坏", "水质不达标")
DISABILITY_LABELS = {"visual": "视力", "hearing": "听力", "speech": "言语", "physical": "肢体",
                     "intellectual": "智力", "mental": "精神", "multiple": "多重"}
COMPANY_STEMS = ("农业科技", "商贸", "建材", "食品", "物流", "种养殖专业合作社", "电子", "服装", "劳务")


def _yuan_text(fen: np.ndarray) -> pl.Series:
    fen = pl.Series(np.asarray(fen, dtype=np.int64))
    return (fen // 100).cast(pl.String) + "." + (fen % 100).cast(pl.String).str.zfill(2)


class _Builder:
    def __init__(self, g, tables: dict[str, pl.DataFrame]):
        self.g = g
        self.rng = g.rng
        self.parts: dict[str, list[pl.DataFrame]] = {d: [] for d in DEPARTMENT_COLUMNS}
        self.planted: list[dict[str, str]] = []
        self.k = int(np.clip(round(g.n / 1000), 2, 100))
        self.head_index = g.h_start  # the head is the first member of each household
        self.ids = g.m_id

    # -- helpers
    def days_back(self, lo: int, hi: int, size: int) -> pl.Series:
        back = self.rng.integers(lo, hi + 1, size).astype("timedelta64[D]")
        return pl.Series(self.g.ref_day - back).cast(pl.Date).dt.strftime("%Y-%m-%d")

    def pick(self, mask: np.ndarray, k: int, dept: str, fresh: bool = True) -> np.ndarray:
        """k members where mask holds; when fresh, none of whom already has a row in the department's
        file, so a planted hit is the person's only record there."""
        if fresh and self.parts[dept]:
            seen = pl.concat([p.select("证件号码") for p in self.parts[dept]])["证件号码"]
            mask = mask & ~self.ids.is_in(seen.implode()).to_numpy()
        pool = np.flatnonzero(mask)
        if pool.size == 0:
            return pool
        return np.sort(self.rng.choice(pool, min(k, pool.size), replace=False))

    def sample(self, mask: np.ndarray, share: float) -> np.ndarray:
        return np.flatnonzero(mask & (self.rng.random(mask.size) < share))

    def add(self, dept: str, columns: dict[str, object]) -> None:
        frame = pl.DataFrame({k: (v if isinstance(v, pl.Series) else pl.Series(v, dtype=pl.String)) for k, v in columns.items()})
        frame = frame.select([pl.col(c).cast(pl.String) for c in DEPARTMENT_COLUMNS[dept]])
        self.parts[dept].append(frame)

    def plant(self, dept: str, effect: str, members: np.ndarray, old_ids: bool = False) -> list[str]:
        """Record planted hits for members; returns the IDs to write in the feed (a 15-digit old-style
        number for the first member born in the 1900s when old_ids)."""
        ids = self.ids.gather(members).to_list()
        shown = list(ids)
        if old_ids:
            for i, number in enumerate(ids):
                if number[6:8] == "19":
                    shown[i] = number[:6] + number[8:17]
                    break
        hh = self.g.household_ids.gather(self.g.m_hh[members]).to_list()
        villages = self.g.village_codes[self.g.h_village[self.g.m_hh[members]]].tolist()
        for number, feed_id, household, village in zip(ids, shown, hh, villages):
            detail = EFFECTS[effect] + (OLD_ID_NOTE if feed_id != number else "")
            self.planted.append(dict(department=dept, effect=effect, id_number=feed_id, id_number_18=number,
                                     household_id=household, village_code=village, detail=detail))
        return shown

    # -- departments
    def medical(self) -> None:
        g, rng = self.g, self.rng
        ill = g.m_normal & (g.m_serious | g.m_chronic)
        rows = np.concatenate([self.sample(ill, 0.6), self.sample(g.m_normal & ~ill, 0.03)])
        oop = rng.integers(50, 9_500, rows.size) * 100 + rng.integers(0, 100, rows.size)
        self._medical_rows(self.ids.gather(rows), oop, rows.size)
        planted = self.pick(g.m_normal & (g.m_age >= 18), self.k, "医保")
        ids = self.plant("医保", "large_oop", planted, old_ids=True)
        big = rng.integers(10_000, 60_000, planted.size) * 100 + rng.integers(0, 100, planted.size)
        self._medical_rows(pl.Series(ids, dtype=pl.String), big, planted.size)

    def _medical_rows(self, ids: pl.Series, oop: np.ndarray, n: int) -> None:
        rng = self.rng
        total = oop * rng.integers(250, 500, n) // 100
        basic = (total - oop) * rng.integers(70, 95, n) // 100
        serious = (total - oop - basic) * rng.integers(0, 100, n) // 100
        aid = total - oop - basic - serious
        self.add("医保", {
            "证件号码": ids, "结算日期": self.days_back(5, 360, n), "医疗总费用": _yuan_text(total),
            "基本医保报销": _yuan_text(basic), "大病保险报销": _yuan_text(serious), "医疗救助": _yuan_text(aid),
            "合规自付": _yuan_text(oop), "就医地": pl.Series(np.where(rng.random(n) < 0.9, "省内", "省外")),
            "执行分级诊疗": pl.Series(np.where(rng.random(n) < 0.85, "是", "否")),
        })

    def civil_affairs(self) -> None:
        g, rng = self.g, self.rng
        for mask, event, lo, hi in ((g.m_dibao, "低保纳入", 150, 420), (g.m_tekun, "特困纳入", 600, 900)):
            rows = np.flatnonzero(mask)
            self.add("民政", {"证件号码": self.ids.gather(rows), "事项": pl.Series([event] * rows.size, dtype=pl.String),
                             "日期": self.days_back(400, 2500, rows.size), "金额": _yuan_text(rng.integers(lo, hi + 1, rows.size) * 100)})
        dead = np.flatnonzero(g.m_status == STATUS["deceased"])
        self.add("民政", {"证件号码": self.ids.gather(dead), "事项": pl.Series(["死亡火化"] * dead.size, dtype=pl.String),
                         "日期": self.days_back(60, 700, dead.size), "金额": pl.Series([""] * dead.size, dtype=pl.String)})
        poor = (g.h_dibao | g.h_tekun | g.h_monitored)[g.m_hh] & g.m_normal
        temp = self.sample(poor, 0.02)
        self.add("民政", {"证件号码": self.ids.gather(temp), "事项": pl.Series(["临时救助"] * temp.size, dtype=pl.String),
                         "日期": self.days_back(10, 360, temp.size), "金额": _yuan_text(rng.integers(500, 3001, temp.size) * 100)})
        # one member per 低保 household leaves 低保
        first = g._first_member_where(g.m_dibao)
        planted = self.pick(np.isin(np.arange(g.m_count), first[first >= 0]), self.k, "民政", fresh=False)
        ids = self.plant("民政", "dibao_exit", planted, old_ids=True)
        self.add("民政", {"证件号码": pl.Series(ids, dtype=pl.String), "事项": pl.Series(["低保退出"] * planted.size, dtype=pl.String),
                         "日期": self.days_back(5, 90, planted.size), "金额": pl.Series([""] * planted.size, dtype=pl.String)})

    def disability(self) -> None:
        g, rng = self.g, self.rng
        rows = self.sample(g.m_disabled, 0.7)
        grade_labels = np.array(["", "一级", "二级", "三级", "四级"])
        kind_labels = np.array([DISABILITY_LABELS[k] for k in DISABILITY_KINDS])[g.m_kind[rows]]
        self.add("残联", {"证件号码": self.ids.gather(rows), "残疾类别": pl.Series(kind_labels, dtype=pl.String),
                         "残疾等级": pl.Series(grade_labels[g.m_grade[rows]]), "发证日期": self.days_back(365, 5000, rows.size)})
        planted = self.pick(g.m_normal & ~g.m_disabled & (g.m_age >= 5), self.k, "残联")
        ids = self.plant("残联", "severe_disability", planted, old_ids=True)
        kinds = np.array(list(DISABILITY_LABELS.values()))[rng.integers(0, 7, planted.size)]
        self.add("残联", {"证件号码": pl.Series(ids, dtype=pl.String), "残疾类别": pl.Series(kinds, dtype=pl.String),
                         "残疾等级": pl.Series(np.where(rng.random(planted.size) < 0.5, "一级", "二级"), dtype=pl.String),
                         "发证日期": self.days_back(5, 120, planted.size)})

    def _companies(self, n: int) -> pl.Series:
        rng = self.rng
        town = self.g.county_name.removesuffix("县").removesuffix("市").removesuffix("区")
        stems = np.array(COMPANY_STEMS)[rng.integers(0, len(COMPANY_STEMS), n)]
        return pl.Series([f"{town}{s}有限公司" if not s.endswith("社") else f"{town}{s}" for s in stems], dtype=pl.String)

    def labour(self) -> None:
        g, rng = self.g, self.rng
        rows = self.sample(g.m_normal & (g.m_months >= 6), 0.15)
        self.add("人社", {"证件号码": self.ids.gather(rows), "事项": pl.Series(["就业登记"] * rows.size, dtype=pl.String),
                         "日期": self.days_back(60, 700, rows.size), "单位": self._companies(rows.size),
                         "月工资": _yuan_text(g.m_monthly_wage[rows] * 100)})
        payroll = np.flatnonzero(g.m_payroll)
        self.add("人社", {"证件号码": self.ids.gather(payroll), "事项": pl.Series(["机关事业单位在编"] * payroll.size, dtype=pl.String),
                         "日期": self.days_back(700, 5000, payroll.size), "单位": pl.Series([f"{g.county_name}人民政府"] * payroll.size, dtype=pl.String),
                         "月工资": _yuan_text(rng.integers(4000, 8001, payroll.size) * 100)})
        planted = self.pick(g.m_normal & (g.m_months > 0), self.k, "人社")
        ids = self.plant("人社", "unemployment", planted)
        self.add("人社", {"证件号码": pl.Series(ids, dtype=pl.String), "事项": pl.Series(["失业登记"] * planted.size, dtype=pl.String),
                         "日期": self.days_back(5, 120, planted.size), "单位": self._companies(planted.size),
                         "月工资": pl.Series([""] * planted.size, dtype=pl.String)})
        adults = g.m_normal & ~g.m_payroll & (g.m_age >= 22) & (g.m_age <= 60) & ~g.m_student
        planted = self.pick(adults, max(1, self.k // 2), "人社")
        ids = self.plant("人社", "public_payroll", planted)
        self.add("人社", {"证件号码": pl.Series(ids, dtype=pl.String), "事项": pl.Series(["机关事业单位在编"] * planted.size, dtype=pl.String),
                         "日期": self.days_back(30, 700, planted.size), "单位": pl.Series([f"{g.county_name}教育局"] * planted.size, dtype=pl.String),
                         "月工资": _yuan_text(rng.integers(4000, 8001, planted.size) * 100)})

    def education(self) -> None:
        g = self.g

        fresh = g.m_normal & (g.m_age == 19) & np.isin(g.m_schooling, [S["bachelor"], S["higher_vocational"]])
        rows = np.flatnonzero(fresh)
        self.add("教育", {"证件号码": self.ids.gather(rows), "事项": pl.Series(["新入学大学生"] * rows.size, dtype=pl.String),
                         "学段": pl.Series(np.where(g.m_schooling[rows] == S["bachelor"], "本科", "专科"), dtype=pl.String),
                         "日期": pl.Series([f"{g.year}-09-01"] * rows.size, dtype=pl.String)})
        # freshmen of households under monitoring qualify for the one-off grant (rules.md C6)
        monitored = (g.h_monitored & ~g.h_is_eliminated)[g.m_hh[rows]]
        self.plant("教育", "freshman_grant", rows[monitored])
        pupils = g.m_normal & (g.m_age >= 7) & (g.m_age <= 15) & np.isin(g.m_schooling, [S["primary"], S["junior"]])
        planted = self.pick(pupils, self.k, "教育")
        ids = self.plant("教育", "dropout", planted)
        self.add("教育", {"证件号码": pl.Series(ids, dtype=pl.String), "事项": pl.Series(["失学辍学"] * planted.size, dtype=pl.String),
                         "学段": pl.Series(np.where(g.m_schooling[planted] == S["primary"], "小学", "初中"), dtype=pl.String),
                         "日期": self.days_back(5, 120, planted.size)})

    def housing(self) -> None:
        g, rng = self.g, self.rng
        heads = self.head_index
        rows = heads[rng.random(g.n) < 0.05]
        self.add("住建", {"证件号码": self.ids.gather(rows), "鉴定等级": pl.Series(np.where(rng.random(rows.size) < 0.6, "A", "B"), dtype=pl.String),
                         "鉴定日期": self.days_back(100, 900, rows.size)})
        safe_heads = np.zeros(g.m_count, bool)
        safe_heads[heads[g.h_housing_safe]] = True
        planted = self.pick(safe_heads, self.k, "住建")
        ids = self.plant("住建", "unsafe_housing", planted)
        self.add("住建", {"证件号码": pl.Series(ids, dtype=pl.String), "鉴定等级": pl.Series(np.where(rng.random(planted.size) < 0.6, "C", "D"), dtype=pl.String),
                         "鉴定日期": self.days_back(5, 120, planted.size)})

    def water(self) -> None:
        g, rng = self.g, self.rng
        n_villages = len(g.village_codes)
        chosen = np.sort(rng.choice(n_villages, min(n_villages, max(1, self.k // 5)), replace=False))
        codes = g.village_codes[chosen]
        problems = np.array(WATER_PROBLEMS)[rng.integers(0, 3, chosen.size)]
        self.add("水利", {"村代码": pl.Series(codes, dtype=pl.String), "问题": pl.Series(problems, dtype=pl.String),
                         "日期": self.days_back(5, 120, chosen.size)})
        for code in codes:
            self.planted.append(dict(department="水利", effect="unsafe_water", id_number="", id_number_18="",
                                     household_id="", village_code=str(code), detail=EFFECTS["unsafe_water"]))

    def emergency(self) -> None:
        g, rng = self.g, self.rng
        rows = self.head_index[rng.random(g.n) < 0.01]
        self.add("应急", {"证件号码": self.ids.gather(rows), "灾种": pl.Series(np.array(DISASTERS)[rng.integers(0, 6, rows.size)], dtype=pl.String),
                         "受灾日期": self.days_back(10, 360, rows.size), "直接经济损失": _yuan_text(rng.integers(200, 5000, rows.size) * 100)})
        heads = np.zeros(g.m_count, bool)
        heads[self.head_index] = True
        planted = self.pick(heads, self.k, "应急")
        ids = self.plant("应急", "disaster_loss", planted)
        self.add("应急", {"证件号码": pl.Series(ids, dtype=pl.String), "灾种": pl.Series(np.array(DISASTERS[:5])[rng.integers(0, 5, planted.size)], dtype=pl.String),
                         "受灾日期": self.days_back(5, 120, planted.size), "直接经济损失": _yuan_text(rng.integers(5000, 80001, planted.size) * 100)})

    def police(self) -> None:
        g, rng = self.g, self.rng
        for status, event in (("deceased", "死亡"), ("moved_out", "户籍迁出")):
            rows = np.flatnonzero(g.m_status == STATUS[status])
            self.add("公安", {"证件号码": self.ids.gather(rows), "事项": pl.Series([event] * rows.size, dtype=pl.String),
                             "日期": self.days_back(60, 700, rows.size), "车辆类型": pl.Series([""] * rows.size, dtype=pl.String)})
        cars = self.head_index[g.h_nl["nl_car"]]
        bikes = self.head_index[rng.random(g.n) < 0.03]
        for rows, kind in ((cars, "小型轿车"), (bikes, "普通二轮摩托车")):
            self.add("公安", {"证件号码": self.ids.gather(rows), "事项": pl.Series(["车辆登记"] * rows.size, dtype=pl.String),
                             "日期": self.days_back(100, 1500, rows.size), "车辆类型": pl.Series([kind] * rows.size, dtype=pl.String)})
        # deaths of members whose household keeps another 正常 member (the head never dies here)
        not_head = np.ones(g.m_count, bool)
        not_head[self.head_index] = False
        planted = self.pick(g.m_normal & not_head, self.k, "公安")
        ids = self.plant("公安", "death", planted, old_ids=True)
        self.add("公安", {"证件号码": pl.Series(ids, dtype=pl.String), "事项": pl.Series(["死亡"] * planted.size, dtype=pl.String),
                         "日期": self.days_back(5, 120, planted.size), "车辆类型": pl.Series([""] * planted.size, dtype=pl.String)})
        no_car_heads = np.zeros(g.m_count, bool)
        no_car_heads[self.head_index[~g.h_nl["nl_car"]]] = True
        planted = self.pick(no_car_heads, max(1, self.k // 2), "公安")
        ids = self.plant("公安", "car", planted)
        self.add("公安", {"证件号码": pl.Series(ids, dtype=pl.String), "事项": pl.Series(["车辆登记"] * planted.size, dtype=pl.String),
                         "日期": self.days_back(5, 200, planted.size), "车辆类型": pl.Series(["小型轿车"] * planted.size, dtype=pl.String)})

    def real_estate(self) -> None:
        g, rng = self.g, self.rng
        towns = self.head_index[g.h_nl["nl_town_house"]]
        rural = self.head_index[rng.random(g.n) < 0.05]
        for rows, kind, place in ((towns, "商品住宅", "城镇"), (rural, "其他", "农村")):
            self.add("不动产", {"证件号码": self.ids.gather(rows), "不动产类型": pl.Series([kind] * rows.size, dtype=pl.String),
                               "所在地": pl.Series([place] * rows.size, dtype=pl.String), "登记日期": self.days_back(100, 3000, rows.size)})
        mask = np.zeros(g.m_count, bool)
        mask[self.head_index[~g.h_nl["nl_town_house"]]] = True
        planted = self.pick(mask, self.k, "不动产")
        ids = self.plant("不动产", "town_house", planted)
        self.add("不动产", {"证件号码": pl.Series(ids, dtype=pl.String), "不动产类型": pl.Series(["商品住宅"] * planted.size, dtype=pl.String),
                           "所在地": pl.Series(["城镇"] * planted.size, dtype=pl.String), "登记日期": self.days_back(5, 200, planted.size)})

    def market(self) -> None:
        g = self.g
        owners = self.head_index[g.h_nl["nl_company"]]
        holders = self.sample(g.m_normal & (g.m_age >= 22), 0.003)
        for rows, role, filed in ((owners, "法定代表人", "已年报"), (holders, "股东", "未年报")):
            self.add("市场监管", {"证件号码": self.ids.gather(rows), "身份": pl.Series([role] * rows.size, dtype=pl.String),
                                 "企业名称": self._companies(rows.size), "年报状态": pl.Series([filed] * rows.size, dtype=pl.String)})
        mask = g.m_normal & (g.m_age >= 22) & ~g.h_nl["nl_company"][g.m_hh]
        planted = self.pick(mask, self.k, "市场监管")
        ids = self.plant("市场监管", "company", planted)
        self.add("市场监管", {"证件号码": pl.Series(ids, dtype=pl.String), "身份": pl.Series(["法定代表人"] * planted.size, dtype=pl.String),
                             "企业名称": self._companies(planted.size), "年报状态": pl.Series(["已年报"] * planted.size, dtype=pl.String)})

    def finance(self) -> None:
        g, rng = self.g, self.rng
        rows = self.sample(g.m_normal & (g.m_age >= 18), 0.08)
        self._finance_rows(self.ids.gather(rows), rng.integers(100, 80_000, rows.size) * 100 + rng.integers(0, 100, rows.size),
                           np.where(rng.random(rows.size) < 0.05, rng.integers(1000, 15_000, rows.size) * 100, 0))
        rich = self.head_index[g.h_nl["nl_large_deposits"]]
        self._finance_rows(self.ids.gather(rich), rng.integers(150_000, 600_000, rich.size) * 100, np.zeros(rich.size, np.int64))
        mask = g.m_normal & (g.m_age >= 18) & ~g.h_nl["nl_large_deposits"][g.m_hh]
        planted = self.pick(mask, self.k, "金融")
        ids = self.plant("金融", "large_deposits", planted)
        self._finance_rows(pl.Series(ids, dtype=pl.String), rng.integers(100_000, 400_000, planted.size) * 100 + rng.integers(0, 100, planted.size),
                           np.where(rng.random(planted.size) < 0.3, rng.integers(1000, 50_000, planted.size) * 100, 0))

    def _finance_rows(self, ids: pl.Series, deposits: np.ndarray, securities: np.ndarray) -> None:
        self.add("金融", {"证件号码": ids, "存款余额": _yuan_text(deposits), "有价证券市值": _yuan_text(securities)})

    def strangers(self) -> None:
        """IDs of people in no household of the county, spread over a few departments."""
        g, rng = self.g, self.rng
        ids = g.stranger_ids.to_list()
        for i, number in enumerate(ids):
            dept = ("医保", "金融", "公安", "人社", "不动产")[i % 5]
            one = pl.Series([number], dtype=pl.String)
            if dept == "医保":
                self._medical_rows(one, np.array([int(rng.integers(10_000, 30_000)) * 100]), 1)
            elif dept == "金融":
                self._finance_rows(one, np.array([int(rng.integers(100_000, 300_000)) * 100]), np.array([0]))
            elif dept == "公安":
                self.add("公安", {"证件号码": one, "事项": ["死亡"], "日期": self.days_back(5, 120, 1), "车辆类型": [""]})
            elif dept == "人社":
                self.add("人社", {"证件号码": one, "事项": ["失业登记"], "日期": self.days_back(5, 120, 1),
                                 "单位": self._companies(1), "月工资": [""]})
            else:
                self.add("不动产", {"证件号码": one, "不动产类型": ["商品住宅"], "所在地": ["城镇"], "登记日期": self.days_back(5, 200, 1)})
            self.planted.append(dict(department=dept, effect="no_match", id_number=number, id_number_18=number,
                                     household_id="", village_code="", detail=EFFECTS["no_match"]))

    def build(self) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
        for step in (self.medical, self.civil_affairs, self.disability, self.labour, self.education, self.housing,
                     self.water, self.emergency, self.police, self.real_estate, self.market, self.finance, self.strangers):
            step()
        feeds = {}
        for dept, parts in self.parts.items():
            columns = list(DEPARTMENT_COLUMNS[dept])
            frame = pl.concat(parts) if parts else pl.DataFrame(schema={c: pl.String for c in columns})
            feeds[dept] = frame.sort(columns)
        planted = pl.DataFrame(self.planted, schema={c: pl.String for c in PLANTED_COLUMNS}).sort(
            ["department", "effect", "id_number", "village_code"]
        )
        return feeds, planted


def build_feeds(g, tables: dict[str, pl.DataFrame]) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    return _Builder(g, tables).build()
