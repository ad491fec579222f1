"""Dashboard numbers (统计图表; reports.md Q5): one selector per chart, each `(*, actor, region, as_of)`.

Every count is a SQL aggregation grouped by the code prefix of the next level down (SUBSTR of
the village code), so a province of a million households is a handful of GROUP BY queries,
never a Python loop over households. Scope comes from fangfan.regions.scope only: `place_for`
turns the requested region into a prefix inside the actor's household scope (a 县行业部门 user
has none and gets PermissionDenied; a region outside the scope is "not found").

A chart is a plain dict shared by the page (ECharts + its table), the XLSX and the JSON API:
  {key, title, kind, row_label, series: [{key, label}], rows: [{key, label, region, values: [int],
   total}], totals: [int], total, note, available}
(`available`: whether the chart was computed at this level; every chart is, at every level.)
`region` of a row is the 12-digit code of the child region it counts (None for months)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Substr, TruncMonth
from django.http import Http404

from fangfan.common import codes as C
from fangfan.regions.codes import county_name, full_code, is_digits
from fangfan.regions.models import Region
from fangfan.regions.scope import code_range_q, prefix_for
from fangfan.registry.models import Household
from fangfan.screening.models import ScreeningResult

# Prefix length → level, and the next level down.
LEVEL_OF_DIGITS = {2: "province", 4: "city", 6: "county", 9: "township", 12: "village"}
CHILD_DIGITS = {0: 2, 2: 4, 4: 6, 6: 9, 9: 12}
LEVEL_LABEL = dict(Region.Level.choices)

CLASS_LABELS = (
    ("tekun", "特困"),
    ("dibao", "低保"),
    ("dibao_eligible", "符合低保条件"),
    ("dibao_marginal", "低保边缘"),
    ("expense_hardship", "支出型困难"),
)
COLOR_LABELS = (("red", "红色预警"), ("orange", "橙色预警"), ("yellow", "黄色预警"))
OVERDUE_LEVELS = (("village", "村级"), ("township", "乡镇"), ("county", "县级"), ("city", "市级"),
                  ("province", "省级"))
MONTHS = 12
# Overdue work is counted from the county down (see by_overdue).


@dataclass
class Place:
    """The region a dashboard looks at, already checked against the actor's scope."""

    prefix: str  # '' = everything (system administrator)
    name: str
    breadcrumb: list[dict] = field(default_factory=list)  # [{code, prefix, name, level_label}] top-down
    children: list[dict] = field(default_factory=list)  # [{code, prefix, name, level_label}]

    @property
    def code(self) -> str:
        return full_code(self.prefix) if self.prefix else ""

    @property
    def level(self) -> str:
        return LEVEL_OF_DIGITS.get(len(self.prefix), "")

    @property
    def level_label(self) -> str:
        return LEVEL_LABEL.get(self.level, "全部")

    @property
    def child_digits(self) -> int | None:
        return CHILD_DIGITS.get(len(self.prefix))

    @property
    def is_village(self) -> bool:
        return len(self.prefix) == 12


def _normalise(region: str) -> str | None:
    """A 12-digit code or a 2/4/6/9/12-digit prefix → the region's prefix; None when malformed."""
    region = (region or "").strip()
    if not region:
        return ""
    if not is_digits(region):
        return None
    if len(region) == 12:
        for digits in (2, 4, 6, 9):
            if region[digits:] == "0" * (12 - digits):
                return region[:digits]
        return region
    return region if len(region) in (2, 4, 6, 9) else None


def _names(prefixes: list[str]) -> dict[str, str]:
    found = dict(Region.objects.filter(code__in=[full_code(p) for p in prefixes]).values_list("code", "name"))
    names = {}
    for p in prefixes:
        name = found.get(full_code(p)) or ""
        if not name and len(p) == 6:
            name = county_name(p) or ""
        names[p] = name or full_code(p)
    return names


def _node(prefix: str, name: str) -> dict:
    return {"code": full_code(prefix), "prefix": prefix, "name": name,
            "level_label": LEVEL_LABEL.get(LEVEL_OF_DIGITS.get(len(prefix), ""), "")}


def place_for(*, actor, region: str = "") -> Place:
    """The region to show: the actor's own region when none is asked for or when an ancestor of
    it is asked for (clamped: a township user asking for its county sees its township); a region
    outside the scope raises Http404, as if it did not exist."""
    own = prefix_for(actor)
    if own is None:
        raise PermissionDenied("本账号无权查看农户统计")
    prefix = _normalise(region)
    if prefix is None:
        raise Http404("区划代码格式不正确")
    if not prefix.startswith(own):
        if own.startswith(prefix):
            prefix = own
        else:
            raise Http404("该区划不存在或不在本账号的管辖范围内")
    # Path from the actor's own level down to the region looked at.
    steps = [prefix[:n] for n in (2, 4, 6, 9, 12) if len(own) <= n <= len(prefix)]
    child_digits = CHILD_DIGITS.get(len(prefix))
    children: list[str] = []
    if child_digits:
        # Every child region on record (so empty ones show a 0), plus the prefixes of the villages on
        # record (households point at village Regions), in case an intermediate level is missing.
        level = LEVEL_OF_DIGITS[child_digits]
        below = Region.objects.filter(code_range_q("code", prefix))
        children = [code[:child_digits] for code in below.filter(level=level).values_list("code", flat=True)]
        used = (below.filter(level="village").annotate(child=Substr("code", 1, child_digits))
                .values_list("child", flat=True).distinct())
        children = sorted(set(children) | set(used))
    names = _names(steps + children)
    place = Place(prefix=prefix, name=names[prefix] if prefix else "全部地区")
    place.breadcrumb = [_node(s, names[s]) for s in steps]
    place.children = [_node(c, names[c]) for c in children]
    return place


# ---- helpers ---------------------------------------------------------------------------------

def _households(place: Place):
    return Household.objects.filter(code_range_q("village_id", place.prefix))


def _child_expr(place: Place):
    # At village level the village itself is the only row.
    return Substr("village_id", 1, place.child_digits or 12)


def _row_keys(place: Place) -> list[dict]:
    if place.is_village:
        return [_node(place.prefix, place.name)]
    return place.children


def _region_chart(key: str, title: str, kind: str, series, place: Place, counts: dict, *,
                  row_total: bool = True, note: str = "") -> dict:
    """A chart of child regions × series from {(child prefix, series key): n}."""
    rows = []
    for node in _row_keys(place):
        values = [counts.get((node["prefix"], s), 0) for s, _ in series]
        rows.append({"key": node["prefix"], "label": node["name"], "region": node["code"],
                     "values": values, "total": sum(values) if row_total else None})
    totals = [sum(r["values"][i] for r in rows) for i in range(len(series))]
    return {
        "key": key, "title": title, "kind": kind, "row_label": _row_label(place),
        "series": [{"key": s, "label": label} for s, label in series],
        "rows": rows, "totals": totals, "total": sum(totals) if row_total else None, "note": note,
        "available": True,
    }


def _row_label(place: Place) -> str:
    if place.is_village:
        return "村"
    return LEVEL_LABEL.get(LEVEL_OF_DIGITS.get(place.child_digits or 0, ""), "区划")


def monitored_q(as_of: dt.date) -> Q:
    """Monitored at the as-of date: a category, identified by then (or undated), not yet eliminated."""
    return (~Q(category="") & (Q(identified_on__isnull=True) | Q(identified_on__lte=as_of))
            & (Q(eliminated_on__isnull=True) | Q(eliminated_on__gt=as_of)))


# ---- one selector per chart ------------------------------------------------------------------

def by_category(*, actor, region: str = "", as_of: dt.date, place: Place | None = None) -> dict:
    place = place or place_for(actor=actor, region=region)
    rows = (_households(place).filter(monitored_q(as_of)).annotate(child=_child_expr(place))
            .values("child", "category").annotate(n=Count("id")).order_by())
    counts = {(r["child"], r["category"]): r["n"] for r in rows}
    return _region_chart("category", "监测对象户数(按类别)", "bar", C.CATEGORY.items, place, counts,
                         note=f"截至{as_of:%Y-%m-%d}在监测、未消除风险的户")


def by_risk(*, actor, region: str = "", as_of: dt.date, place: Place | None = None) -> dict:
    """Monitored households naming each declared risk (a household with two risks counts in both,
    so rows have no total). Grouped by the whole risk string, which has few distinct values, and
    split here."""
    place = place or place_for(actor=actor, region=region)
    rows = (_households(place).filter(monitored_q(as_of)).exclude(declared_risks="")
            .annotate(child=_child_expr(place)).values("child", "declared_risks").annotate(n=Count("id")).order_by())
    counts: dict[tuple[str, str], int] = {}
    known = set(C.RISK.codes)
    for r in rows:
        for code in {c.strip() for c in r["declared_risks"].split(";")}:
            code = code if code in known else ("R99" if code else "")
            if code:
                counts[(r["child"], code)] = counts.get((r["child"], code), 0) + r["n"]
    present = {code for _, code in counts}
    series = [(code, label) for code, label in C.RISK.items if code in present]
    return _region_chart("risk", "监测对象户数(按致贫返贫风险)", "bar", series, place, counts, row_total=False,
                         note="一户有多项风险时在每项中各计一次")


def _month_starts(as_of: dt.date) -> list[dt.date]:
    first = as_of.replace(day=1)
    months = []
    for _ in range(MONTHS):
        months.append(first)
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return months[::-1]


def by_month(*, actor, region: str = "", as_of: dt.date, place: Place | None = None) -> dict:
    """Households identified and eliminated in each of the twelve months up to the as-of date."""
    place = place or place_for(actor=actor, region=region)
    months = _month_starts(as_of)
    counts: dict[tuple[str, str], int] = {}
    for column, key in (("identified_on", "identified"), ("eliminated_on", "eliminated")):
        window = {f"{column}__gte": months[0], f"{column}__lte": as_of}
        rows = (_households(place).filter(**window).annotate(month=TruncMonth(column))
                .values("month").annotate(n=Count("id")).order_by())
        for r in rows:
            month = r["month"]
            if isinstance(month, dt.datetime):
                month = month.date()
            counts[(f"{month:%Y-%m}", key)] = r["n"]
    series = (("identified", "识别纳入户数"), ("eliminated", "风险消除户数"))
    rows = []
    for month in months:
        label = f"{month:%Y-%m}"
        rows.append({"key": label, "label": label, "region": None,
                     "values": [counts.get((label, s), 0) for s, _ in series], "total": None})
    totals = [sum(r["values"][i] for r in rows) for i in range(len(series))]
    return {"key": "monthly", "title": "每月识别纳入与风险消除户数", "kind": "line", "row_label": "月份",
            "series": [{"key": s, "label": label} for s, label in series], "rows": rows, "totals": totals,
            "total": None, "note": f"{months[0]:%Y-%m} 至 {as_of:%Y-%m-%d}", "available": True}


def _latest_results(place: Place, as_of: dt.date):
    """Each household's newest stored rule result on or before the as-of date (an anti-join on
    the unique (household, as_of) index: no later result up to as_of)."""
    later = ScreeningResult.objects.filter(household_id=OuterRef("household_id"), as_of__gt=OuterRef("as_of"),
                                           as_of__lte=as_of)
    return (ScreeningResult.objects.filter(code_range_q("household__village_id", place.prefix), as_of__lte=as_of)
            .filter(~Exists(later)))


def _screening_counts(place: Place, as_of: dt.date) -> tuple[dict, dict, list[dt.date]]:
    rows = (_latest_results(place, as_of).annotate(child=Substr("household__village_id", 1, place.child_digits or 12))
            .values("child", "low_income_class", "warning_color", "as_of").annotate(n=Count("id")).order_by())
    classes: dict[tuple[str, str], int] = {}
    colors: dict[tuple[str, str], int] = {}
    dates = set()
    for r in rows:
        dates.add(r["as_of"])
        if r["low_income_class"]:
            key = (r["child"], r["low_income_class"])
            classes[key] = classes.get(key, 0) + r["n"]
        if r["warning_color"]:
            key = (r["child"], r["warning_color"])
            colors[key] = colors.get(key, 0) + r["n"]
    return classes, colors, sorted(dates)


def _dates_note(dates: list[dt.date]) -> str:
    if not dates:
        return "尚无规则筛查结果(请先运行筛查)"
    if len(dates) == 1:
        return f"依据{dates[0]:%Y-%m-%d}的规则筛查结果"
    return f"依据各户最近一次规则筛查结果({dates[0]:%Y-%m-%d} 至 {dates[-1]:%Y-%m-%d})"


def by_low_income_class(*, actor, region: str = "", as_of: dt.date, place: Place | None = None,
                        _counts=None) -> dict:
    place = place or place_for(actor=actor, region=region)
    classes, _, dates = _counts or _screening_counts(place, as_of)
    return _region_chart("low_income", "低收入人口户数(按类别)", "pie", CLASS_LABELS, place, classes,
                         note=_dates_note(dates))


def by_warning_color(*, actor, region: str = "", as_of: dt.date, place: Place | None = None,
                     _counts=None) -> dict:
    place = place or place_for(actor=actor, region=region)
    _, colors, dates = _counts or _screening_counts(place, as_of)
    return _region_chart("warning", "三色预警户数", "bar", COLOR_LABELS, place, colors, note=_dates_note(dates))


class _Within:
    """The actor looking at a part of its own region: the workflow selectors scope by the actor's
    region prefix, so this narrows them to the region shown without a second copy of their logic.
    Only ever built for a prefix `place_for` already checked to be inside the actor's scope."""

    is_authenticated = True
    is_system_admin = False

    def __init__(self, actor, prefix: str):
        self._actor = actor
        self.region_prefix = prefix

    def __getattr__(self, name):
        return getattr(self._actor, name)


def by_overdue(*, actor, region: str = "", as_of: dt.date, place: Place | None = None) -> dict:
    """Overdue work (reports.md Q5): identification and comparison time limits by the level whose
    desk the case is on, assistance plans past due (S3) and visits past due (S1) — the workflow
    selectors' own lists, counted by child region."""
    from fangfan.workflows import selectors as wf

    from fangfan.workflows import worklists

    place = place or place_for(actor=actor, region=region)
    within = actor if place.prefix == "" else _Within(actor, place.prefix)
    digits = place.child_digits or 12
    counts: dict[tuple[str, str], int] = {}

    def add(code: str, key: str, n: int = 1) -> None:
        if not code.startswith(place.prefix):  # belt and braces should the selectors scope otherwise
            return
        k = (code[:digits], key)
        counts[k] = counts.get(k, 0) + n

    levels_seen = set()
    for row in wf.overdue(actor=within, as_of=as_of):
        level = row["level"] or "village"
        levels_seen.add(level)
        add(row["case"].village_code, f"case_{level}")
    # Plans and visits counted by village in bulk (one GROUP BY; the S1 schedule of the scope,
    # kept until the data changes), so the chart works up to the province.
    for code, n in worklists.plans_overdue_by_village(actor=within, as_of=as_of).items():
        add(code, "plan", n)
    for code, n in worklists.visits_overdue_by_village(actor=within, as_of=as_of).items():
        add(code, "visit", n)
    series = [(f"case_{lv}", f"{label}识别/比对超时") for lv, label in OVERDUE_LEVELS
              if lv in levels_seen or lv in ("village", "township", "county")]
    series += [("plan", "帮扶计划逾期"), ("visit", "回访逾期")]
    return _region_chart("overdue", "逾期事项(按层级)", "bar", series, place, counts,
                         note=f"截至{as_of:%Y-%m-%d}; 识别/比对按案件所在层级计")


def summary(*, actor, region: str = "", as_of: dt.date, place: Place | None = None) -> dict:
    """The headline numbers: households, monitored households, 脱贫户, monitoring rate."""
    place = place or place_for(actor=actor, region=region)
    agg = _households(place).aggregate(
        households=Count("id"),
        monitored=Count("id", filter=monitored_q(as_of)),
        lifted=Count("id", filter=Q(household_type="lifted")),
    )
    # Monitoring rate against the 5% guide (rules.md M7): monitored ÷ 建档立卡 households (the 脱贫户).
    base = agg["lifted"]
    agg["monitoring_rate"] = round(agg["monitored"] / base * 100, 2) if base else None
    return agg


CHARTS = ("category", "risk", "monthly", "low_income", "warning", "overdue")


def dashboard(*, actor, region: str = "", as_of: dt.date, only: tuple[str, ...] = CHARTS) -> dict:
    """Everything the dashboard shows (or the charts named in `only`), for the page, the XLSX and
    the API."""
    place = place_for(actor=actor, region=region)
    screening = _screening_counts(place, as_of) if {"low_income", "warning"} & set(only) else ({}, {}, [])
    makers = {
        "category": lambda: by_category(actor=actor, as_of=as_of, place=place),
        "risk": lambda: by_risk(actor=actor, as_of=as_of, place=place),
        "monthly": lambda: by_month(actor=actor, as_of=as_of, place=place),
        "low_income": lambda: by_low_income_class(actor=actor, as_of=as_of, place=place, _counts=screening),
        "warning": lambda: by_warning_color(actor=actor, as_of=as_of, place=place, _counts=screening),
        "overdue": lambda: by_overdue(actor=actor, as_of=as_of, place=place),
    }
    return {"as_of": as_of, "place": place, "summary": summary(actor=actor, as_of=as_of, place=place),
            "screening_dates": screening[2], "charts": [makers[key]() for key in CHARTS if key in only]}
