"""The baseline of the evaluate benchmark: the rules of rules.md in plain Python, one household
at a time, as a competent Python programmer would write them without a data-frame library.

    python bench/baseline_rules.py FOLDER --as-of YYYY-MM-DD [--year YYYY] --out FILE.csv
                                   [--set NAME=VALUE ...]

Reads the interchange CSV files with the csv module (streaming: members, incomes and measures
are folded into per-household facts as they are read), evaluates I1-I5, M1-M6, E1-E6 with
tracking, the three-colour warning, dibao_unserved, the low-income classes, single-person
candidates and S1 with integer fen and Decimal ratios, and writes the `evaluate` contract's
columns. It trusts its input (no validation) and reuses only the project's data descriptions
(column headers and code lists), money/date helpers and parameter lookup — never the engine.

It doubles as an independent cross-check of fangfan.policy: evaluate_bench.py --check
compares both outputs column by column.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

from fangfan.common import codes as C
from fangfan.common.dates import add_months
from fangfan.common.money import div_half_up, format_yuan
from fangfan.common.tables import TABLES

CONTRACT_COLUMNS = (
    "household_id", "village_code", "household_size", "net_income", "monitoring_income", "per_capita_income",
    "income_line", "below_line", "hardship", "candidate_category", "detected_risks", "whole_household_no_labor",
    "negative_list_hits", "elimination", "elimination_failed", "warning_color", "dibao_unserved",
    "per_capita_dibao_income", "low_income_class", "single_person_dibao", "visit_due_on", "visit_overdue",
    "explanation",
)

# data.md's negative-list items → the nl_* facts of which any one is a hit (used when the
# parameter data does not list the fields itself).
NEGATIVE_FIELDS = {
    "S1": ("nl_public_payroll", "nl_company"), "S2": ("nl_luxury_property", "nl_machinery", "nl_large_deposits"),
    "S3": ("nl_wealthy_supporter",), "S4": ("nl_misconduct",), "S5": ("nl_idle",), "S6": ("nl_refuses_check",),
    "S7": ("nl_absent",), "N1": ("nl_public_payroll",), "N2": ("nl_village_head",), "N3": ("nl_town_house",),
    "N4": ("nl_car", "nl_machinery"), "N5": ("nl_company", "nl_employs_others"), "N6": ("nl_costly_school",),
}
MEMBER_FIELDS = frozenset(C.MEMBER_NEGATIVE_FIELDS)
RISK_ORDER = C.RISK.codes
DIBAO_EXCLUDED = ("basic_pension", "veteran_benefits", "disability_allowances", "guaranteed_dividend",
                  "dibao_payment", "tekun_payment")
NO_LABOR = frozenset(C.NO_LABOR)
ABLE_LABOR = frozenset(C.ABLE_LABOR)


# ------------------------------------------------------------------------------ reading
def _cell_parser(column):
    """A function text → canonical value for one column (empty → the column's default)."""
    kind, default = column.kind, column.default
    if kind == "code":
        lookup = column.codelist.lookup()
        return lambda text: lookup.get(text.strip(), default) if text.strip() else default
    if kind == "multi":
        lookup = column.codelist.lookup()

        def multi(text):
            if not text.strip():
                return tuple(default or ())
            return tuple(lookup[part.strip()] for part in text.replace("；", ";").split(";") if part.strip())

        return multi
    if kind == "bool":
        truth = {"是": True, "否": False, "true": True, "false": False, "1": True, "0": False}
        return lambda text: truth.get(text.strip(), default) if text.strip() else default
    if kind == "date":
        return lambda text: dt.date.fromisoformat(text.strip()) if text.strip() else default
    if kind == "money":
        def money(text):
            text = text.strip()
            if not text:
                return default if default is not None else 0
            whole, _, cents = text.partition(".")
            sign = -1 if whole.startswith("-") else 1
            return sign * (abs(int(whole)) * 100 + int((cents + "00")[:2]))

        return money
    if kind in ("int", "year"):
        return lambda text: int(text) if text.strip() else default
    return lambda text: text.strip() or default


def read_table(folder: Path, name: str, keys: tuple[str, ...]):
    """Rows of table `name` as tuples of the canonical values of `keys` (in that order)."""
    path = folder / f"{name}.csv"
    if not path.exists():
        return
    table = TABLES[name]
    by_header = {}
    for column in table.columns:
        for spelling in (column.zh, column.key, *column.aliases):
            by_header[spelling] = column
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        headers = next(reader)
        index = {by_header[h.strip()].key: i for i, h in enumerate(headers) if h.strip() in by_header}
        plan = []
        for key in keys:
            column = table.column(key)
            parse = _cell_parser(column)
            if key in index:
                plan.append((index[key], parse))
            else:
                plan.append((None, lambda _text, d=column.default: d))
        for row in reader:
            yield tuple(parse(row[i]) if i is not None else parse("") for i, parse in plan)


# ------------------------------------------------------------------------------ household facts
class Household:
    __slots__ = ("row", "size", "serious_illness", "severe_disability", "dropout", "uninsured", "all_no_labor",
                 "able_labor", "dibao", "tekun", "nl_public_payroll", "nl_village_head", "special_ids",
                 "incomes", "done_measures", "first_done")

    def __init__(self, row):
        self.row = row
        self.size = 0
        self.serious_illness = self.severe_disability = self.dropout = self.uninsured = False
        self.all_no_labor = True
        self.able_labor = self.dibao = self.tekun = self.nl_public_payroll = self.nl_village_head = False
        self.special_ids: list[str] = []
        self.incomes: dict[int, tuple] = {}
        self.done_measures = 0
        self.first_done: dt.date | None = None


HOUSEHOLD_KEYS = tuple(c.key for c in TABLES["households"].columns)
H = {k: i for i, k in enumerate(HOUSEHOLD_KEYS)}
MEMBER_KEYS = ("household_id", "id_number", "status", "health", "disability_grade", "disability_kind", "labor",
               "schooling", "medical_insurance", "dibao", "tekun", "nl_public_payroll", "nl_village_head")
INCOME_KEYS = ("household_id", "year", "wage", "business_income", "business_cost", "property_income",
               "transfer_income", *DIBAO_EXCLUDED, "insurance_claims", "compliant_oop", "education_expense",
               "other_rigid_expense")


def load(folder: Path) -> dict[str, Household]:
    households = {row[0]: Household(row) for row in read_table(folder, "households", HOUSEHOLD_KEYS)}
    for (hid, id_number, status, health, grade, kind, labor, schooling, insured, dibao, tekun, payroll,
         head) in read_table(folder, "members", MEMBER_KEYS):
        h = households.get(hid)
        if h is None or (status or "normal") != "normal":
            continue  # only 正常 members count (rules.md)
        h.size += 1
        ill = "serious_illness" in health
        severe = grade in ("1", "2") or (grade == "3" and kind in ("intellectual", "mental"))
        h.serious_illness |= ill
        h.severe_disability |= severe
        h.dropout |= schooling == "dropout"
        h.uninsured |= insured is False
        h.all_no_labor &= labor in NO_LABOR
        h.able_labor |= labor in ABLE_LABOR
        h.dibao |= bool(dibao)
        h.tekun |= bool(tekun)
        h.nl_public_payroll |= bool(payroll)
        h.nl_village_head |= bool(head)
        if ill or severe:
            h.special_ids.append(id_number)
    for row in read_table(folder, "incomes", INCOME_KEYS):
        h = households.get(row[0])
        if h is None or row[1] in h.incomes:
            continue  # the first row of a (household, year) wins
        (wage, b_in, b_cost, prop, transfer, pension, veteran, disab, dividend, dibao_pay, tekun_pay, claims, oop,
         edu, other) = row[2:]
        net = wage + (b_in - b_cost) + prop + transfer
        excluded = pension + veteran + disab + dividend + dibao_pay + tekun_pay
        h.incomes[row[1]] = (net, wage, claims, oop, excluded, oop + edu + other)
    for hid, started_on, status in read_table(folder, "measures", ("household_id", "started_on", "status")):
        h = households.get(hid)
        if h is None or status != "done":
            continue
        h.done_measures += 1
        if started_on is not None and (h.first_done is None or started_on < h.first_done):
            h.first_done = started_on
    return households


# ------------------------------------------------------------------------------ parameters
class Params:
    """The parameters of one village code at the as-of date: money in fen, ratios Decimal."""

    def __init__(self, params, code: str, on: dt.date):
        def value(name):
            return params.value(name, code, on)

        def fen(name):
            v = value(name)
            return None if v is None else int(Decimal(v) * 100)

        self.income_line = fen("monitoring.income_line")
        self.rigid_ratio = value("hardship.rigid_expense_ratio")
        self.drop_ratio = value("hardship.income_drop_ratio")
        self.negative = [
            (item.id, tuple(item.fields) if getattr(item, "fields", None) else NEGATIVE_FIELDS.get(item.id, ()))
            for item in (value("negative_list") or ())
        ]
        self.elim_line = fen("elimination.income_line")
        self.min_monitored = value("elimination.min_months_monitored") or 0
        self.min_assisted = value("elimination.min_months_assisted")
        self.dibao_line = fen("dibao.line_rural_year")
        self.marginal_mult = value("dibao.marginal_multiplier")
        self.expense_mult = value("dibao.expense_hardship_line_multiplier")
        self.employment_rate = value("dibao.employment_cost_rate") or Decimal(0)
        self.orange_mult = value("warning.orange_multiplier")
        self.local_disposable = fen("local.disposable_income_per_capita")
        self.visits = (value("visits.monitored_months"), value("visits.eliminated_months"),
                       value("visits.lifted_months"))


def _item_order(item_id: str):
    digits = "".join(ch for ch in item_id if ch.isdigit())
    return (item_id.rstrip("0123456789"), int(digits) if digits else 0, item_id)


# ------------------------------------------------------------------------------ rules
MICRO = 1_000_000


def _per_capita(amount_micro: int, size: int) -> int | None:
    return div_half_up(amount_micro, size * MICRO) if size > 0 else None


def evaluate_household(h: Household, p: Params, year: int | None, as_of: dt.date) -> dict:
    row = h.row
    size = h.size
    income = h.incomes.get(year) if year is not None else None
    previous = h.incomes.get(year - 1) if year is not None else None
    prev_net = previous[0] if previous else None

    # I1-I5
    if income:
        net, wage, claims, oop, excluded, rigid = income
        monitoring = net + claims - oop
        per_capita = div_half_up(monitoring, size) if size > 0 else None
        # Employment cost rate × wage may be a fraction of a fen: keep micro-fen until the one rounding.
        dibao_micro = (net - excluded) * MICRO - int(p.employment_rate * MICRO) * wage
        pc_dibao = _per_capita(dibao_micro, size)
        expense_pc = _per_capita(dibao_micro - rigid * MICRO, size)
    else:
        net = monitoring = per_capita = pc_dibao = expense_pc = rigid = None

    # M1-M4
    below = per_capita is not None and p.income_line is not None and per_capita < p.income_line
    base = prev_net if prev_net is not None else net
    hardship_rigid = (rigid is not None and base is not None and p.rigid_ratio is not None
                      and rigid > p.rigid_ratio * base)
    hardship_drop = (prev_net is not None and net is not None and p.drop_ratio is not None
                     and net < (1 - p.drop_ratio) * prev_net)
    hardship = hardship_rigid or hardship_drop
    household_type = row[H["household_type"]]
    if below and household_type == "lifted":
        candidate = "unstable_lifted"
    elif below and household_type == "ordinary":
        candidate = "marginal"
    elif not below and hardship:
        candidate = "sudden_hardship"
    else:
        candidate = None
    no_labor = size > 0 and h.all_no_labor

    # M5 risks: declared plus detected, in code-list order
    risks = set(row[H["declared_risks"]] or ())
    if h.serious_illness:
        risks.add("R01")
    if h.severe_disability:
        risks.add("R03")
    if h.dropout:
        risks.update(("R02", "R10"))
    if not h.able_labor:
        risks.add("R08")
    if row[H["housing_safe"]] is False:
        risks.add("R09")
    if row[H["water_safe"]] is False:
        risks.add("R12")
    if h.uninsured:
        risks.add("R11")
    detected = ";".join(code for code in RISK_ORDER if code in risks)

    # M6 negative list
    hits = []
    for item_id, fields in p.negative:
        for field in fields:
            fact = getattr(h, field) if field in MEMBER_FIELDS else row[H[field]]
            if fact:
                hits.append(item_id)
                break
    hits.sort(key=_item_order)

    # E1-E6
    category = row[H["category"]]
    eliminated_on = row[H["eliminated_on"]]
    identified_on = row[H["identified_on"]]
    monitored = category is not None and eliminated_on is None
    elimination, failed = None, ""
    if monitored:
        checks = (
            ("E1", h.done_measures > 0),
            ("E2", bool(row[H["housing_safe"]]) and bool(row[H["water_safe"]]) and not h.dropout
             and not h.uninsured),
            ("E3", per_capita is not None and p.elim_line is not None and per_capita >= p.elim_line
             and not hardship_drop),
            ("E4", not hardship_rigid),
            ("E5", not no_labor),
            ("E6", identified_on is not None and as_of >= add_months(identified_on, p.min_monitored)),
        )
        failing = [rule for rule, ok in checks if not ok]
        if failing:
            elimination, failed = "not_eligible", ";".join(failing)
        elif p.min_assisted is None or (h.first_done is not None and as_of >= add_months(h.first_done, p.min_assisted)):
            elimination = "eligible"
        else:
            elimination = "tracking"

    # Three-colour warning, dibao_unserved, low-income class, single-person candidates
    line = p.dibao_line
    in_assistance = h.dibao or h.tekun
    color, unserved, klass = None, False, None
    if line is not None and not in_assistance and pc_dibao is not None:
        if hardship and pc_dibao >= line:
            color = "red"
        elif line <= pc_dibao and pc_dibao < p.orange_mult * line:
            color = "orange"
        unserved = pc_dibao < line
    if color is None and line is not None and not in_assistance and (monitored or row[H["former_dibao_tekun"]]):
        color = "yellow"
    if h.tekun:
        klass = "tekun"
    elif h.dibao:
        klass = "dibao"
    elif line is not None and pc_dibao is not None:
        if pc_dibao < line:
            klass = "dibao_eligible"
        elif pc_dibao < p.marginal_mult * line:
            klass = "dibao_marginal"
        elif (p.local_disposable is not None and pc_dibao < p.local_disposable
              and expense_pc < p.expense_mult * line):
            klass = "expense_hardship"
    single = ";".join(h.special_ids) if klass == "dibao_marginal" else ""

    # S1 visits
    eliminated = eliminated_on is not None
    if monitored:
        interval = p.visits[0]
    elif eliminated:
        interval = p.visits[1]
    elif household_type == "lifted" and category is None:
        interval = p.visits[2]
    else:
        interval = None
    due = None
    if interval is not None:
        start = row[H["last_visit_on"]] or (identified_on if monitored else eliminated_on if eliminated else None)
        due = add_months(start, interval) if start is not None else as_of
    overdue = due is not None and as_of > due

    parts = [f"人均纯收入{_yuan(per_capita)}元{'低于' if below else '不低于'}监测线{_yuan(p.income_line)}元"]
    if candidate:
        parts.append(f"建议类别{C.CATEGORY.label(candidate)}")
    if elimination:
        parts.append(f"风险消除{elimination}" + (f"(未满足{failed})" if failed else ""))
    if color:
        parts.append(f"{color}预警")
    return {
        "household_id": row[0], "village_code": row[H["village_code"]], "household_size": size,
        "net_income": net, "monitoring_income": monitoring, "per_capita_income": per_capita,
        "income_line": p.income_line, "below_line": below, "hardship": hardship, "candidate_category": candidate,
        "detected_risks": detected, "whole_household_no_labor": no_labor, "negative_list_hits": ";".join(hits),
        "elimination": elimination, "elimination_failed": failed, "warning_color": color,
        "dibao_unserved": unserved, "per_capita_dibao_income": pc_dibao, "low_income_class": klass,
        "single_person_dibao": single, "visit_due_on": due, "visit_overdue": overdue,
        "explanation": ";".join(parts),
    }


def _yuan(fen):
    return "" if fen is None else format_yuan(fen)


MONEY = frozenset({"net_income", "monitoring_income", "per_capita_income", "income_line", "per_capita_dibao_income"})


def _text(name: str, value) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if name in MONEY:
        return format_yuan(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def evaluate_folder(folder: Path, out: Path, *, as_of: dt.date, year: int | None = None, params=None) -> int:
    """Evaluate every household of `folder`, write the contract CSV to `out`; returns the count."""
    if params is None:
        from fangfan.policy.params import ParameterSet

        params = ParameterSet.load()
    households = load(Path(folder))
    if year is None:
        years = {y for h in households.values() for y in h.incomes}
        year = max(years) if years else None
    by_village: dict[str, Params] = {}
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CONTRACT_COLUMNS)
        for hid in sorted(households):
            h = households[hid]
            code = h.row[H["village_code"]]
            p = by_village.get(code)
            if p is None:
                p = by_village[code] = Params(params, code, as_of)
            result = evaluate_household(h, p, year, as_of)
            writer.writerow([_text(name, result[name]) for name in CONTRACT_COLUMNS])
    return len(households)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--as-of", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--year", type=int)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    from fangfan.policy.params import ParameterSet, parse_override

    params = ParameterSet.load()
    if args.overrides:
        params = params.with_overrides([parse_override(text) for text in args.overrides])
    count = evaluate_folder(args.folder, args.out, as_of=args.as_of, year=args.year, params=params)
    print(f"baseline: {count} households → {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
