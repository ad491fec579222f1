"""Worklists (待办): what each user has to do, one selector per list.

Every selector takes `(*, actor, as_of, township="", village="")` and returns a sequence of row
dicts (a lazy one over a queryset where the list can be long, so that a page of 50 rows costs
one page of queries and a count is one SQL COUNT). The home page, the list pages, the XLSX
download and the JSON API all read these. Scope is the acting user's (fangfan.regions.scope);
`township` / `village` only narrow it further.

Which lists a role has (roles.md): case workers (village, township, 县乡村振兴局) all of them;
市/省督查 the cases waiting for them (rollback / removal approval where the profile says) and
the overdue work by level; 县民政局 the overdue work; 县行业部门 and the system administrator
none (their work is elsewhere: the department's own warnings, user administration)."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

import polars as pl
from django.db.models import Count, Exists, Max, OuterRef, Q, Sum
from django.utils import timezone

from fangfan.accounts.models import ROLE_LEVEL, Role
from fangfan.common import codes as C
from fangfan.common.money import format_yuan
from fangfan.regions.codes import PREFIX_LENGTHS, is_digits, normalise_prefix
from fangfan.regions.scope import code_range_q, code_range_sql, prefix_for, scope_queryset
from fangfan.registry.models import Household, Member
from fangfan.workflows import assistance, engine, identification, profile, selectors
from fangfan.workflows.errors import WorkflowError
from fangfan.workflows.models import Case, Notice, Objection
from fangfan.workflows.notices import LEVEL_LABEL as NOTICE_LEVEL_LABEL

VISIT_DUE_AHEAD_DAYS = 7  # a visit due within a week is on the list before it is late
NOTICE_ENDING_DAYS = 2  # a notice whose last day is within two days is "ending"
BATCH = 500


# ---- rows --------------------------------------------------------------------------------------

class Rows(Sequence):
    """Rows built page by page from a queryset (or a precomputed list of keys): len() is one
    COUNT, a slice loads and builds only that slice. `build(items) -> list[dict]`."""

    def __init__(self, items, build: Callable[[list], list[dict]], count: Callable[[], int] | None = None):
        self._items, self._build = items, build
        self._count: int | None = None
        self._count_fn = count  # a cheaper (cached) count where the COUNT itself is costly

    def count(self) -> int:
        if self._count is None and self._count_fn is not None:
            self._count = self._count_fn()
        if self._count is None:
            items = self._items
            self._count = items.count() if hasattr(items, "query") else len(items)
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._build(list(self._items[index]))
        return self._build([self._items[index]])[0]

    def __iter__(self):
        items = self._items.iterator(chunk_size=BATCH) if hasattr(self._items, "query") else iter(self._items)
        chunk: list = []
        for item in items:
            chunk.append(item)
            if len(chunk) == BATCH:
                yield from self._build(chunk)
                chunk = []
        if chunk:
            yield from self._build(chunk)


def _heads(household_ids) -> dict[int, str]:
    """The household heads' names (one query for a page)."""
    rows = Member.objects.filter(household_id__in=list(household_ids), relation="head", status="normal")
    return dict(rows.values_list("household_id", "name"))


def _household_cells(h: Household, heads: dict[int, str]) -> dict:
    village = h.village  # select_related by every caller
    return {
        "household_number": h.household_number,
        "village": village.name or village.code,
        "village_code": village.code,
        "head": heads.get(h.pk, ""),
    }


def _risks(codes: str) -> str:
    return "、".join(C.RISK.label(r) for r in (codes or "").split(";") if r in C.RISK.codes)


# ---- narrowing ---------------------------------------------------------------------------------

def narrow_prefix(township: str = "", village: str = "") -> str:
    """The code prefix the filters ask for ('' for none); bad codes are refused in Chinese."""
    for label, code, digits in (("村", village, 12), ("乡镇", township, (9, 12))):
        if code and (not is_digits(code) or len(code) not in ((digits,) if isinstance(digits, int) else digits)):
            raise WorkflowError(f"{label}代码 {code!r} 无效, 应为区划代码数字")
    if village:
        if township and not village.startswith(township[:9]):
            raise WorkflowError(f"村 {village} 不属于乡镇 {township}")
        return village
    return township[:9] if township else ""


def _in(qs, field: str, actor, township: str, village: str):
    qs = scope_queryset(qs, actor, field)
    prefix = narrow_prefix(township, village)
    return qs.filter(code_range_q(field, prefix)) if prefix else qs


def _prefix(actor, township: str, village: str) -> str | None:
    """The effective prefix: the actor's scope narrowed by the filters; None for nothing."""
    own = prefix_for(actor)
    if own is None:
        return None
    wanted = narrow_prefix(township, village)
    if not wanted or wanted.startswith(own):
        return wanted or own
    return own if own.startswith(wanted) else None


# ---- results kept until the data changes ---------------------------------------------------------

CACHE_SECONDS = 600
COMPUTE_WAIT_SECONDS = 10  # a waiting request computes itself after this (the first may have died)


def data_version(prefix: str = "") -> tuple[int, int]:
    """The state of the data of a scope (a code prefix, '' for everything): changes whenever a
    write that can change the scope's data commits, and only then — every write of fangfan
    writes an audit row, which counts it in RegionVersion under the region it names (imports and
    screenings one per batch or county, parameters their prefix; '' for the writes of no region
    and of the shell). The scope's data can be changed by the writes inside it and by those of
    the regions above it (a county parameter, a province's calendar, '' for all), so the version
    is the sum of their counts, with the newest time (a restored backup counts from lower sums
    again). A write in another county leaves it as it is. One query on a table of a row per
    region written: a range (the scope's own regions) and a few exact codes."""
    from fangfan.audit.models import RegionVersion

    if is_digits(prefix) and len(prefix) in PREFIX_LENGTHS:
        prefix = normalise_prefix(prefix)  # 341225103000 → 341225103: the township's writes count too
    elif prefix:
        prefix = ""  # not a code prefix: every write counts
    rows = RegionVersion.objects.all()
    if prefix:
        above = [prefix[:n] for n in PREFIX_LENGTHS if n < len(prefix)]
        rows = rows.filter(code_range_q("region", prefix) | Q(region__in=[*above, ""]))
    found = rows.aggregate(writes=Sum("writes"), at=Max("at"))
    at = found["at"]
    return (found["writes"] or 0, int(at.timestamp() * 1_000_000) if at else 0)


def cached(name: str, prefix: str, as_of: dt.date, compute: Callable[[], Any]) -> Any:
    """`compute()` for a whole scope (a county's visit schedule, its candidate count), kept in
    Django's cache until the scope's data changes (data_version(prefix)) — never stale, only not
    recomputed for every page view of every user of the county, nor when another county writes.
    `compute` must read nothing outside the scope that a write inside it or above it would not
    count (data_version)."""
    from django.core.cache import cache

    writes, stamp = data_version(prefix)
    key = f"worklist:{name}:{prefix or 'all'}:{as_of.isoformat()}:w{writes}:{stamp}"
    found = cache.get(key)
    if found is not None:
        return found
    # One computation per key: when several requests of the same county arrive together (every
    # page view after a write), the others wait for the first instead of all computing.
    if not cache.add(key + ":computing", 1, COMPUTE_WAIT_SECONDS):
        deadline = time.monotonic() + COMPUTE_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.05)
            found = cache.get(key)
            if found is not None:
                return found
    try:
        found = compute()
        cache.set(key, found, CACHE_SECONDS)
    finally:
        cache.delete(key + ":computing")
    return found


# ---- 1. cases waiting for this user's step -----------------------------------------------------

def _forward(t: engine.Transition) -> bool:
    """A step that moves the case on (not a reject / send back / withdraw, which need a reason,
    nor a record kept in the same state such as consent or an objection)."""
    if t.needs_comment:
        return False
    if isinstance(t.target, str):
        return t.target not in t.sources
    return t.target is not engine.same_state


def desk(role: str) -> tuple[set[tuple[str, str]], list[tuple[str, str, engine.Transition]]]:
    """(kind, state) pairs on this role's desk, from the workflow tables: a role that may fire a
    forward transition from the state. When several roles may (a township may do every village
    step), the one at the state's level (Workflow.level_of_state) has it on its desk. Transitions
    whose roles depend on the case (approval above the county) come back separately, to be
    checked per case."""
    static: set[tuple[str, str]] = set()
    dynamic: list[tuple[str, str, engine.Transition]] = []
    for kind in Case.Kind.values:
        wf = engine.workflow_for(kind)
        for t in wf.transitions:
            if not _forward(t):
                continue
            for state in t.sources:
                if callable(t.roles):
                    dynamic.append((kind, state, t))
                    continue
                roles = set(t.roles)
                level = wf.level_of_state.get(state)
                at_level = {r for r in roles if ROLE_LEVEL.get(r) == level}
                if role in (at_level or roles):
                    static.add((kind, state))
    return static, dynamic


def _waiting_queryset(actor, township: str, village: str):
    role = getattr(actor, "role", "")
    static, dynamic = desk(role)
    base = _in(Case.objects.filter(closed_on__isnull=True), "village_code", actor, township, village)
    q = Q(pk__in=[])
    for kind, state in static:
        q |= Q(kind=kind, state=state)
    ids = []
    pairs = {(k, s) for k, s, _ in dynamic if (k, s) not in static}
    if pairs:
        pair_q = Q(pk__in=[])
        for kind, state in pairs:
            pair_q |= Q(kind=kind, state=state)
        for case in base.filter(pair_q):
            if any(k == case.kind and s == case.state and role in t.roles_for(case) for k, s, t in dynamic):
                ids.append(case.pk)
    if ids:
        q |= Q(pk__in=ids)
    return base.filter(q).select_related("household__village").order_by("opened_on", "id")


def _deadline(case: Case, as_of: dt.date) -> tuple[dt.date | None, str]:
    if case.kind != Case.Kind.IDENTIFICATION:
        return None, ""
    try:
        status = identification.deadline_status(case, as_of)
    except WorkflowError as exc:  # a profile without the time limit says so instead of failing the page
        return None, str(exc)
    return status["deadline"], status["message"]


def waiting(*, actor, as_of: dt.date, township: str = "", village: str = "") -> Rows:
    """Open cases in scope whose next forward step is this user's (by state)."""

    def build(cases: list[Case]) -> list[dict]:
        heads = _heads(c.household_id for c in cases)
        rows = []
        for case in cases:
            wf = engine.workflow_for(case.kind)
            steps = [(t, reasons) for t, reasons in engine.available(case, actor, as_of) if _forward(t)]
            ready = [t.label for t, reasons in steps if not reasons]
            blocked = ["; ".join(reasons) for t, reasons in steps if reasons]
            deadline, message = _deadline(case, as_of)
            rows.append({
                "case_id": case.pk, "kind": wf.label, **_household_cells(case.household, heads),
                "state": wf.state_label(case.state), "opened_on": case.opened_on, "deadline": deadline,
                "deadline_note": message, "next_step": "、".join(ready) or "",
                "blocked": "; ".join(blocked) if not ready else "",
            })
        return rows

    return Rows(_waiting_queryset(actor, township, village), build)


# ---- 2. overdue identifications and comparisons, by level --------------------------------------

LEVEL_ORDER = ("village", "township", "county", "city", "province")


def overdue(*, actor, as_of: dt.date, township: str = "", village: str = "") -> list[dict]:
    """selectors.overdue (time limit S2, comparison time), grouped by the level whose desk the
    case is on (村级, 乡镇, 县级), oldest first within a level."""
    prefix = narrow_prefix(township, village)
    found = selectors.overdue(actor=actor, as_of=as_of, within=prefix)
    heads = _heads({r["case"].household_id for r in found})
    rows = []
    for r in found:
        case = r["case"]
        rows.append({
            "level": r["level_label"] or "未知", "level_code": r["level"] or "", "case_id": case.pk,
            "kind": engine.workflow_for(case.kind).label, **_household_cells(case.household, heads),
            "state": engine.workflow_for(case.kind).state_label(case.state), "what": r["what"],
            "opened_on": case.opened_on, "deadline": r["deadline"], "days_over": r["days_over"],
            "note": r["message"],
        })
    order = {level: i for i, level in enumerate(LEVEL_ORDER)}
    rows.sort(key=lambda r: (order.get(r["level_code"], 99), -(r["days_over"] or 0)))
    return rows


# ---- 3. assistance plans due and overdue (S3) --------------------------------------------------

def _without_plan(actor, township, village):
    return assistance.without_plan(_in(Household.objects.all(), "village_id", actor, township, village))


def plans(*, actor, as_of: dt.date, township: str = "", village: str = "") -> Rows:
    """Monitored households without an assistance plan: due within assistance.plan_days of
    identification (S3), overdue after."""
    qs = _without_plan(actor, township, village).select_related("village").order_by("identified_on", "household_number")
    due_of = assistance.plan_due_dates()

    def build(households: list[Household]) -> list[dict]:
        heads = _heads(h.pk for h in households)
        rows = []
        for h in households:
            due = due_of(h.village_id, h.identified_on)
            late = due is not None and as_of > due
            rows.append({
                **_household_cells(h, heads), "category": C.CATEGORY.label(h.category),
                "identified_on": h.identified_on, "due_on": due,
                "status": "超期" if late else "待制定", "days_over": (as_of - due).days if late else 0,
            })
        return rows

    return Rows(qs, build)


def plans_overdue_count(*, actor, as_of: dt.date, township: str = "", village: str = "") -> int:
    return sum(plans_overdue_by_village(actor=actor, as_of=as_of, township=township, village=village).values())


def plans_overdue_by_village(*, actor, as_of: dt.date, township: str = "", village: str = "") -> dict[str, int]:
    """Monitored households past their plan's due date (S3), by village code: counted per
    (village, identification date) pair — one GROUP BY and one parameter lookup per pair."""
    due_of = assistance.plan_due_dates()
    pairs = _without_plan(actor, township, village).values("village_id", "identified_on").annotate(n=Count("id"))
    out: dict[str, int] = {}
    for p in pairs:
        due = due_of(p["village_id"], p["identified_on"])
        if due is not None and as_of > due:
            out[p["village_id"]] = out.get(p["village_id"], 0) + p["n"]
    return out


def visits_overdue_by_village(*, actor, as_of: dt.date) -> dict[str, int]:
    """Households whose S1 visit is overdue, by village code (the cached schedule of the scope)."""
    schedule = _visit_schedule(actor, as_of, "", "")
    if schedule.height == 0:
        return {}
    counts = schedule.filter(pl.col("visit_overdue")).group_by("village_code").len()
    return dict(counts.iter_rows())


# ---- 4. visits due and overdue (S1) ------------------------------------------------------------

# The household columns S1 reads: a narrow read (no JSON `extra`), then the policy engine's own
# schedule over it (conform fills the columns it does not need).
_S1_COLUMNS = ("household_number", "village_code", "household_type", "category", "identified_on", "eliminated_on",
               "last_visit_on")


def _visit_schedule(actor, as_of: dt.date, township: str, village: str) -> pl.DataFrame:
    """household_id (户编号), visit_due_on, visit_overdue of the scheduled households in scope
    that are due within VISIT_DUE_AHEAD_DAYS, by S1's own definition (policy visit_schedule)."""
    empty = pl.DataFrame(schema={"household_id": pl.String, "village_code": pl.String, "visit_due_on": pl.Date,
                                 "visit_overdue": pl.Boolean})
    prefix = _prefix(actor, township, village)
    if prefix is None:
        return empty
    return cached("visits", prefix, as_of, lambda: _compute_visit_schedule(prefix, as_of, empty))


def _compute_visit_schedule(prefix: str, as_of: dt.date, empty: pl.DataFrame) -> pl.DataFrame:
    from fangfan.policy.evaluate import visit_schedule
    from fangfan.registry.bulk import fetch_frame
    from fangfan.registry.dbframes import HOUSEHOLDS, db_schema, from_db_frame, select_list

    bounds, params = code_range_sql("h.village_code", prefix)
    scheduled = "(h.category <> '' OR h.household_type = 'lifted')"
    schema = {name: dtype for name, dtype in db_schema(HOUSEHOLDS).items() if name in _S1_COLUMNS}
    sql = (f"SELECT {select_list('h', list(schema))} FROM registry_household h "
           f"WHERE {bounds + ' AND ' if bounds else ''}{scheduled}")
    frame = from_db_frame(HOUSEHOLDS, fetch_frame(sql, params, schema))
    if frame.height == 0:
        return empty
    schedule = visit_schedule(frame, as_of=as_of, params=profile.parameter_set())
    horizon = as_of + dt.timedelta(days=VISIT_DUE_AHEAD_DAYS)
    return (
        schedule.with_columns(frame.get_column("village_code").cast(pl.String).alias("village_code"))
        .filter(pl.col("visit_due_on").is_not_null() & (pl.col("visit_due_on") <= horizon))
        .select("household_id", "village_code", "visit_due_on", "visit_overdue")
        .sort("visit_due_on", "household_id")
    )


def visits(*, actor, as_of: dt.date, township: str = "", village: str = "") -> Rows:
    """Households whose S1 visit is overdue or due within a week, earliest due first."""
    schedule = _visit_schedule(actor, as_of, township, village)
    keys = list(schedule.select("household_id", "visit_due_on").iter_rows())

    def build(items: list[tuple[str, dt.date]]) -> list[dict]:
        found = {h.household_number: h for h in
                 Household.objects.filter(household_number__in=[k for k, _ in items]).select_related("village")}
        heads = _heads(h.pk for h in found.values())
        rows = []
        for number, due in items:
            h = found.get(number)
            if h is None:
                continue
            late = as_of > due
            rows.append({
                **_household_cells(h, heads), "category": C.CATEGORY.label(h.category) if h.category else C.HOUSEHOLD_TYPE.label(h.household_type),
                "last_visit_on": h.last_visit_on, "due_on": due, "status": "逾期" if late else "到期",
                "days_over": (as_of - due).days if late else 0,
            })
        return rows

    return Rows(keys, build)


# ---- 5. monitored households without a contact cadre -------------------------------------------

def no_contact(*, actor, as_of: dt.date, township: str = "", village: str = "") -> Rows:
    qs = assistance.without_contact(_in(Household.objects.all(), "village_id", actor, township, village))
    qs = qs.select_related("village").order_by("village_id", "household_number")

    def build(households: list[Household]) -> list[dict]:
        heads = _heads(h.pk for h in households)
        return [{**_household_cells(h, heads), "category": C.CATEGORY.label(h.category),
                 "identified_on": h.identified_on, "risks": _risks(h.declared_risks)} for h in households]

    return Rows(qs, build)


# ---- 6. notices running and ending -------------------------------------------------------------

def notices(*, actor, as_of: dt.date, township: str = "", village: str = "") -> list[dict]:
    """Open notices that have started: running today, ending (last day within two days) or over
    and not yet closed (closable now)."""
    qs = _in(Notice.objects.filter(cancelled=False, closed_on__isnull=True, starts_on__lte=as_of),
             "case__village_code", actor, township, village)
    qs = qs.select_related("case__household__village").annotate(
        open_objections=Count("objections", filter=Q(objections__answered_on__isnull=True))
    ).order_by("starts_on", "id")
    found = list(qs)
    heads = _heads({n.case.household_id for n in found})
    rows = []
    for n in found:
        last = n.starts_on + dt.timedelta(days=n.days - 1)
        if as_of > last:
            status = "已期满, 待结束公示"
        elif (last - as_of).days <= NOTICE_ENDING_DAYS:
            status = "即将结束"
        else:
            status = "公示中"
        rows.append({
            "case_id": n.case_id, **_household_cells(n.case.household, heads), "level": NOTICE_LEVEL_LABEL[n.level],
            "proposal": n.proposal, "starts_on": n.starts_on, "last_day": last,
            "closable_from": n.starts_on + dt.timedelta(days=n.days), "status": status,
            "open_objections": n.open_objections,
        })
    return rows


def _notice_ending(row: dict) -> bool:
    return row["status"] != "公示中"


# ---- 7. objections not yet answered ------------------------------------------------------------

def objections(*, actor, as_of: dt.date, township: str = "", village: str = "") -> Rows:
    qs = _in(Objection.objects.filter(answered_on__isnull=True, case__closed_on__isnull=True),
             "case__village_code", actor, township, village)
    qs = qs.select_related("case__household__village", "notice").order_by("raised_on", "id")

    def build(items: list[Objection]) -> list[dict]:
        heads = _heads(o.case.household_id for o in items)
        return [{
            "objection_id": o.pk, "case_id": o.case_id, **_household_cells(o.case.household, heads),
            "level": NOTICE_LEVEL_LABEL.get(o.notice.level, ""), "raised_on": o.raised_on, "raised_by": o.raised_by,
            "content": o.content, "days_open": (as_of - o.raised_on).days,
        } for o in items]

    return Rows(qs, build)


# ---- 8. rule candidates ------------------------------------------------------------------------

def candidates(*, actor, as_of: dt.date, township: str = "", village: str = "") -> Rows:
    """Households the latest screening found in a category (candidate_category set) that are
    not monitored and have no open identification case: the village opens a case from here."""
    from fangfan.screening.models import ScreeningResult

    results = _in(ScreeningResult.objects.all(), "household__village_id", actor, township, village)
    # The latest screening date in scope by walking the as_of index backwards (stops at the first
    # row in scope) instead of aggregating over every result of the scope.
    latest = results.order_by("-as_of").values_list("as_of", flat=True).first()
    if latest is None:
        return Rows([], lambda items: [])
    open_case = Case.objects.filter(identification.open_identification_q(), household=OuterRef("household"))
    qs = (
        results.filter(as_of=latest).exclude(candidate_category="")
        .filter(Q(household__category="") | Q(household__eliminated_on__isnull=False))
        .filter(~Exists(open_case))
        .select_related("household__village").order_by("household__village_id", "household__household_number")
    )

    def build(items) -> list[dict]:
        heads = _heads(r.household_id for r in items)
        return [{
            **_household_cells(r.household, heads), "candidate": C.CATEGORY.label(r.candidate_category),
            "risks": _risks(r.detected_risks),
            "per_capita_income": format_yuan(r.per_capita_income) if r.per_capita_income is not None else "",
            "income_line": format_yuan(r.income_line) if r.income_line is not None else "",
            "negative_list": r.negative_list_hits, "as_of": r.as_of,
        } for r in items]

    prefix = _prefix(actor, township, village) or ""
    return Rows(qs, build, count=lambda: cached("candidates", prefix, latest, qs.count))


# ---- 8b. 应保未保 (dibao_unserved, rules.md three colours; 篇十四) ---------------------------------

def dibao_unserved(*, actor, as_of: dt.date, township: str = "", village: str = "") -> Rows:
    """Households the latest screening found below the 低保 line with no member in 低保/特困 and no
    open 低保特困 application: the township (or village on its behalf) opens a W5 case from here."""
    from fangfan.screening.models import ScreeningResult

    results = _in(ScreeningResult.objects.all(), "household__village_id", actor, township, village)
    latest = results.order_by("-as_of").values_list("as_of", flat=True).first()
    if latest is None:
        return Rows([], lambda items: [])
    open_case = Case.objects.filter(kind=Case.Kind.LOWINCOME, closed_on__isnull=True, household=OuterRef("household"))
    qs = (results.filter(as_of=latest, dibao_unserved=True).filter(~Exists(open_case))
          .select_related("household__village").order_by("household__village_id", "household__household_number"))

    def build(items) -> list[dict]:
        heads = _heads(r.household_id for r in items)
        return [{
            **_household_cells(r.household, heads), "household_size": r.household_size,
            "per_capita_dibao_income": format_yuan(r.per_capita_dibao_income) if r.per_capita_dibao_income is not None else "",
            "low_income_class": "符合低保条件", "as_of": r.as_of,
        } for r in items]

    prefix = _prefix(actor, township, village) or ""
    return Rows(qs, build, count=lambda: cached("dibao_unserved", prefix, latest, qs.count))


# ---- the catalogue -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Worklist:
    key: str
    title: str
    selector: Callable[..., Sequence[dict]]
    columns: tuple[tuple[str, str], ...]
    empty: str
    personal: bool = True  # rows name people (the XLSX download is logged)


_HOUSEHOLD = (("household_number", "户编号"), ("village", "村"), ("head", "户主"))


def declarations(*, actor, as_of: dt.date, township: str = "", village: str = "") -> Rows:
    """Self-declarations (农户自主申报) not yet turned into a case: to register, or to check
    (those that opened a W1 case are on the case lists)."""
    from fangfan.common.ids import mask
    from fangfan.declarations.selectors import declarations_for_village, may_work_declarations

    if not may_work_declarations(actor):
        return Rows([], lambda items: [])
    qs = declarations_for_village(actor=actor, village=narrow_prefix(township, village), stage="waiting")

    def build(items) -> list[dict]:
        return [{
            "receipt": d.receipt, "village": d.village.name or d.village_id, "name": d.name,
            "id_number": mask(d.id_number), "phone": d.phone, "risk": C.RISK.label(d.risk) if d.risk else "",
            "stage": d.get_stage_display(), "submitted_at": timezone.localtime(d.submitted_at).strftime("%Y-%m-%d %H:%M"),
            "household_number": d.household.household_number if d.household_id else "",
        } for d in items]

    return Rows(qs.order_by("submitted_at", "id"), build)


def _open_warnings(actor, township: str, village: str):
    from fangfan.departments.models import DeptWarning

    return _in(DeptWarning.objects.exclude(state=DeptWarning.State.VERIFIED), "village_code", actor, township, village)


def dept_warnings(*, actor, as_of: dt.date, township: str = "", village: str = "") -> Rows:
    """Department warnings (部门预警, W6) not yet verified at home: urgent first, then by deadline.
    Their forms are on /warnings/<id>/ (fangfan.web.views.warnings)."""
    from fangfan.common.ids import mask
    from fangfan.policy.warnings import KINDS
    from fangfan.regions.models import Region

    qs = _open_warnings(actor, township, village).select_related("household", "member").order_by(
        "-urgent", "deadline", "id")

    def build(items) -> list[dict]:
        names = dict(Region.objects.filter(code__in={w.village_code for w in items}).values_list("code", "name"))
        return [{
            "warning_id": w.pk, "urgent": "紧急" if w.urgent else "", "department": w.department,
            "kind": KINDS[w.kind].label if w.kind in KINDS else w.kind, "detail": w.detail,
            "household_number": w.household.household_number if w.household_id else "",
            "village": names.get(w.village_code) or w.village_code,
            "member": f"{w.member.name} {mask(w.member.id_number)}" if w.member_id else "",
            "state": w.get_state_display(), "deadline": w.deadline,
            "days_over": (as_of - w.deadline).days if w.deadline < as_of else "",
        } for w in items]

    return Rows(qs, build)


WORKLISTS: dict[str, Worklist] = {w.key: w for w in (
    Worklist("waiting", "待我办理的案件", waiting,
             (("case_id", "案件号"), ("kind", "类型"), *_HOUSEHOLD, ("state", "状态"), ("opened_on", "发起日期"),
              ("deadline", "办结时限"), ("next_step", "可办理"), ("blocked", "暂不能办理的原因")),
             "没有等待您办理的案件"),
    Worklist("overdue", "超期的识别认定与部门比对", overdue,
             (("level", "所在层级"), ("case_id", "案件号"), ("kind", "类型"), *_HOUSEHOLD, ("state", "状态"),
              ("what", "时限"), ("opened_on", "发起日期"), ("deadline", "截止日期"), ("days_over", "超期天数"),
              ("note", "说明")),
             "没有超期的识别认定或比对"),
    Worklist("plans", "帮扶计划到期与超期", plans,
             (*_HOUSEHOLD, ("category", "监测类别"), ("identified_on", "识别日期"), ("due_on", "应制定日期"),
              ("status", "状态"), ("days_over", "超期天数")),
             "没有待制定的帮扶计划"),
    Worklist("visits", "回访到期与逾期", visits,
             (*_HOUSEHOLD, ("category", "类别"), ("last_visit_on", "最近回访"), ("due_on", "应回访日期"),
              ("status", "状态"), ("days_over", "逾期天数")),
             "近一周没有到期的回访"),
    Worklist("no_contact", "未落实帮扶联系人的监测户", no_contact,
             (*_HOUSEHOLD, ("category", "监测类别"), ("identified_on", "识别日期"), ("risks", "风险")),
             "每户监测对象都有帮扶联系人"),
    Worklist("notices", "公示中与即将结束的公示", notices,
             (("case_id", "案件号"), *_HOUSEHOLD, ("level", "公示级别"), ("proposal", "公示事项"),
              ("starts_on", "开始"), ("last_day", "截止"), ("closable_from", "可结束日期"), ("status", "状态"),
              ("open_objections", "未答复异议")),
             "没有进行中的公示"),
    Worklist("objections", "未答复的公示异议", objections,
             (("objection_id", "异议编号"), ("case_id", "案件号"), *_HOUSEHOLD, ("level", "公示级别"),
              ("raised_on", "提出日期"), ("raised_by", "异议人"), ("content", "异议内容"), ("days_open", "已过天数")),
             "没有未答复的异议"),
    Worklist("candidates", "规则筛查发现的疑似对象", candidates,
             (*_HOUSEHOLD, ("candidate", "候选类别"), ("risks", "风险"), ("per_capita_income", "人均纯收入(元)"),
              ("income_line", "监测范围(元)"), ("negative_list", "负面清单"), ("as_of", "筛查日期")),
             "最近一次筛查没有发现未纳入的疑似对象"),
    Worklist("dibao_unserved", "应保未保 (收入低于低保标准、未纳入低保特困)", dibao_unserved,
             (*_HOUSEHOLD, ("household_size", "家庭人口"), ("per_capita_dibao_income", "低保口径人均收入(元)"),
              ("low_income_class", "低收入类别"), ("as_of", "筛查日期")),
             "最近一次筛查没有应保未保的户"),
    Worklist("declarations", "待处理的农户自主申报", declarations,
             (("receipt", "回执号"), ("village", "村"), ("name", "申报人"), ("id_number", "证件号码"),
              ("phone", "联系电话"), ("risk", "困难类型"), ("stage", "阶段"), ("submitted_at", "申报时间"),
              ("household_number", "户编号")),
             "没有待处理的农户自主申报"),
    Worklist("dept_warnings", "部门预警待核查", dept_warnings,
             (("warning_id", "预警编号"), ("urgent", "紧急"), ("department", "部门"), ("kind", "预警类型"),
              ("detail", "预警内容"), ("household_number", "户编号"), ("village", "村"), ("member", "成员"),
              ("state", "状态"), ("deadline", "核查期限"), ("days_over", "逾期天数")),
             "没有待核查的部门预警"),
)}

_CASE_WORKERS = tuple(k for k in WORKLISTS if k not in ("declarations", "dept_warnings"))
ROLE_LISTS: dict[str, tuple[str, ...]] = {
    Role.VILLAGE: (*_CASE_WORKERS, "declarations", "dept_warnings"),
    Role.TOWNSHIP: (*_CASE_WORKERS, "declarations", "dept_warnings"),
    Role.COUNTY_RR: (*_CASE_WORKERS, "dept_warnings"),
    Role.COUNTY_CA: ("waiting", "dibao_unserved", "overdue"),
    Role.CITY: ("waiting", "overdue"),
    Role.PROVINCE: ("waiting", "overdue"),
    Role.COUNTY_DEPT: (),
    Role.ADMIN: (),
}
ROLE_NOTE = {
    Role.COUNTY_DEPT: "县行业部门的待办是本部门推送数据产生的预警及其核查结果, 见「结果反馈」和「转介」; "
                      "按规定县行业部门不查看农户档案, 因此这里没有户级待办。",
    Role.ADMIN: "系统管理员不办理案件, 没有户级待办。请在「用户管理」中添加、停用账号或重置密码。",
    Role.COUNTY_CA: "县民政局: 待审批、待决定的低保特困案件, 应保未保的户, 以及本县超期的识别认定与比对 (供督促)。"
                    "发放名单见「低保特困发放」。",
    Role.CITY: "市督查: 本市超期事项按层级汇总; 需要本级审批的回退、清退申请也在这里。",
    Role.PROVINCE: "省督查: 本省超期事项按层级汇总; 需要本级审批的回退、清退申请也在这里。",
}


def lists_for(actor) -> tuple[str, ...]:
    return ROLE_LISTS.get(getattr(actor, "role", ""), ())


def worklist_get(*, actor, key: str) -> Worklist:
    """The list, if this user has it; otherwise the same error as an unknown list."""
    if key not in lists_for(actor):
        raise WorkflowError(f"没有名为 {key} 的待办列表")
    return WORKLISTS[key]


def worklist_rows(*, actor, key: str, as_of: dt.date, township: str = "", village: str = "") -> Sequence[dict]:
    return worklist_get(actor=actor, key=key).selector(actor=actor, as_of=as_of, township=township, village=village)


def worklist_summary(*, actor, as_of: dt.date, township: str = "", village: str = "") -> list[dict]:
    """Each of the user's lists: key, Chinese title, count, a breakdown (`detail`) and whether
    something in it is late (`warn`). The same for every user of one role and scope, so kept
    until the data changes (a county's counts cost a few hundred ms)."""
    prefix = _prefix(actor, township, village)
    if prefix is None:
        return _summary(actor=actor, as_of=as_of, township=township, village=village)
    return cached(f"summary-{getattr(actor, 'role', '')}", prefix, as_of,
                  lambda: _summary(actor=actor, as_of=as_of, township=township, village=village))


def _summary(*, actor, as_of: dt.date, township: str = "", village: str = "") -> list[dict]:
    out = []
    for key in lists_for(actor):
        w = WORKLISTS[key]
        detail, warn = "", False
        if key == "overdue":
            rows = overdue(actor=actor, as_of=as_of, township=township, village=village)
            count = len(rows)
            by_level: dict[str, int] = {}
            for r in rows:
                by_level[r["level"]] = by_level.get(r["level"], 0) + 1
            detail = " · ".join(f"{level} {n}" for level, n in by_level.items())
            warn = count > 0
        elif key == "plans":
            count = plans(actor=actor, as_of=as_of, township=township, village=village).count()
            late = plans_overdue_count(actor=actor, as_of=as_of, township=township, village=village)
            detail, warn = f"超期 {late} · 待制定 {count - late}", late > 0
        elif key == "visits":
            schedule = _visit_schedule(actor, as_of, township, village)
            count = schedule.height
            late = int(schedule.get_column("visit_overdue").sum() or 0)
            detail, warn = f"逾期 {late} · 一周内到期 {count - late}", late > 0
        elif key == "notices":
            rows = notices(actor=actor, as_of=as_of, township=township, village=village)
            count = len(rows)
            ending = sum(1 for r in rows if _notice_ending(r))
            detail = f"即将结束或已期满 {ending}"
            warn = any(r["status"].startswith("已期满") for r in rows)
        elif key == "dept_warnings":
            waiting = _open_warnings(actor, township, village)
            count, late = waiting.count(), waiting.filter(deadline__lt=as_of).count()
            detail, warn = f"逾期 {late}", late > 0
        else:
            count = len(w.selector(actor=actor, as_of=as_of, township=township, village=village))
            warn = key == "objections" and count > 0
        out.append({"key": key, "title": w.title, "count": count, "detail": detail, "warn": warn})
    return out


def cell(value: Any) -> Any:
    """A row value as a page, a sheet or JSON shows it (dates as YYYY-MM-DD, None as '')."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
