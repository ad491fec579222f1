"""The role × region matrix over EVERY URL pattern and API route (roles.md: a user never sees,
changes or exports a household outside its scope, through the pages, the API, exports or search).

Each route must be listed in ROUTES (pages) or API_ROUTES with how its parameters are filled; a
route that is not listed fails `test_it_covers_every_url_pattern_and_api_route`, so a new page or
endpoint cannot land without being checked here.

For every actor, households outside its scope are planted with unmistakable numbers and member
names (and a case, a notice and a visit each). Lists, searches, exports and dashboards are
fetched (also as XLSX, whose cells are read) and must not contain them; object URLs are requested
with an outside object's key and must answer 403/404 without them; POSTs to object URLs must not
change the outside case."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from fangfan.accounts.models import Role
from fangfan.accounts.services import api_token_create
from fangfan.departments.models import DeptWarning, Referral
from fangfan.workflows import services as wf
from fangfan.workflows.models import Case
from tests.factories import HouseholdFactory, IncomeYearFactory, MemberFactory, UserFactory, ensure_region

pytestmark = pytest.mark.django_db

OWN = "341225103208"  # the actors' village (阜南县)
SIBLING = "341225103209"  # same township, another village
OTHER_TOWNSHIP = "341225104201"
OTHER_COUNTY = "130126100201"  # 河北省灵寿县: another province

ACTORS = {
    # username: (role, region code, department)
    "m-village": (Role.VILLAGE, OWN, ""),
    "m-township": (Role.TOWNSHIP, OWN[:9] + "000", ""),
    "m-county": (Role.COUNTY_RR, OWN[:6] + "000000", ""),
    "m-civil": (Role.COUNTY_CA, OWN[:6] + "000000", ""),
    "m-medical": (Role.COUNTY_DEPT, OWN[:6] + "000000", "医保"),
    "m-city": (Role.CITY, OWN[:4] + "00000000", ""),
    "m-province": (Role.PROVINCE, OWN[:2] + "0000000000", ""),
}
# The villages each actor must NOT see (a 县行业部门 user sees no household at all).
OUTSIDE = {
    "m-village": (SIBLING, OTHER_TOWNSHIP, OTHER_COUNTY),
    "m-township": (OTHER_TOWNSHIP, OTHER_COUNTY),
    "m-county": (OTHER_COUNTY,),
    "m-civil": (OTHER_COUNTY,),
    "m-medical": (OWN, SIBLING, OTHER_TOWNSHIP, OTHER_COUNTY),
    "m-city": (OTHER_COUNTY,),
    "m-province": (OTHER_COUNTY,),
}
SECRET_NAME = {OWN: "本村户主", SIBLING: "邻村秘户", OTHER_TOWNSHIP: "他乡秘户", OTHER_COUNTY: "外省秘户"}
NUMBER = {code: f"HH{code}" for code in SECRET_NAME}

# How a route's parameters are filled for an object outside the actor's scope:
#   "list"       no object parameter: fetched as is, with ?q=/?village=/?region= of an outside
#                household (and as XLSX where offered); must not contain outside households
#   "public"     no login needed; must show no household data
#   "auth"       login/logout
#   "admin"      user administration: every actor here (none is an administrator) is refused
#   "param"      county parameters: a POST for an outside county changes nothing
#   otherwise    the name of the outside object whose key fills the URL (see _values): the
#                answer is 403/404 without its data, and a POST changes nothing
ROUTES: dict[str, str] = {
    "login/": "auth",
    "logout/": "auth",
    "login/otp/": "auth",
    "account/otp/": "auth",
    "": "list",
    "worklists/<str:key>/": "worklist",
    "households/": "list",
    "households/<str:number>/": "household",
    "households/<str:number>/explain/": "household",
    "households/<str:number>/history/": "household",
    "households/members/<int:member_id>/id/": "member",
    "cases/": "list",
    "cases/<int:case_id>/": "case",
    "cases/<int:case_id>/do/<str:name>/": "case",
    "cases/new/identification/<str:number>/": "household",
    "cases/new/elimination/<str:number>/": "household",
    "cases/new/rollback/<str:number>/": "household",
    "cases/new/removal/<str:number>/": "household",
    "contacts/<str:number>/": "household",
    "plans/<str:number>/": "household",
    "plans/<str:number>/measures/<int:measure_id>/status/": "measure",
    "visits/<str:number>/": "household",
    "visits/<str:number>/new/": "household",
    "attachments/<int:attachment_id>/": "attachment",
    "workflows/notices/<str:village_code>/": "village",
    "dashboard/": "list",
    "reports/": "list",
    "reports/<str:key>/": "report",
    "reports/spot-check/draw/": "param",
    "reports/spot-check/items/<int:item_id>/": "spot_item",
    "reports/problems/new/": "param",
    "reports/problems/from-quality/": "param",
    "reports/problems/<int:problem_id>/close/": "problem",
    "reports/campaigns/": "list",
    "reports/campaigns/<int:campaign_id>/": "campaign",
    "reports/campaigns/<int:campaign_id>/phase/": "campaign",
    "parameters/": "list",
    "parameters/preview": "param",
    "parameters/set": "param",
    "parameters/withdraw": "param",
    "declare/": "public",
    "declare/done/": "public",
    "declare/regions/": "public",
    "declare/status/": "public",
    "declarations/": "list",
    "declarations/<str:receipt>/recheck/": "receipt",
    "declarations/<str:receipt>/close/": "receipt",
    "departments/upload/": "list",
    "departments/batches/": "list",
    "departments/unregistered/": "list",
    "warnings/": "list",
    "warnings/overview/": "list",
    "warnings/feedback/": "list",
    "warnings/civil-affairs/": "list",
    "warnings/<int:warning_id>/": "warning",
    "warnings/<int:warning_id>/pass/": "warning",
    "warnings/<int:warning_id>/verify/": "warning",
    "warnings/<int:warning_id>/refer/": "warning",
    "referrals/": "list",
    "referrals/<int:referral_id>/answer/": "referral",
    "audit/personal-data/": "list",
    "lowincome/": "list",
    "lowincome/payments/<int:list_id>/": "payment_list",
    "lowincome/payments/<int:list_id>/paid/": "payment_list",
    "lowincome/apply/<str:number>/": "household",
    "lowincome/review/<str:number>/": "household",
    "lowincome/temp/": "list",
    "lowincome/temp/<int:aid_id>/": "temp_aid",
    "lowincome/temp/<int:aid_id>/act/": "temp_aid",
    "lowincome/temp/apply/<str:number>/": "household",
    "lowincome/zero/": "list",
    "lowincome/zero/<str:village_code>/": "village",
    "lowincome/visits/": "list",
    "lowincome/visits/<str:number>/": "household",
    "lowincome/colours/": "list",
    "users/": "admin",
    "users/new/": "admin",
    "users/<int:pk>/": "admin",
    "users/<int:pk>/password/": "admin",
    "users/<int:pk>/token/": "admin",
}
API_ROUTES: dict[str, str] = {
    "GET /api/v1/households/": "list",
    "GET /api/v1/households/{number}": "household",
    "GET /api/v1/households/{number}/results": "household",
    "GET /api/v1/cases/": "list",
    "POST /api/v1/cases/": "open",
    "GET /api/v1/cases/{case_id}": "case",
    "GET /api/v1/cases/{case_id}/transitions": "case",
    "POST /api/v1/cases/{case_id}/transitions/{name}": "case",
    "GET /api/v1/cases/plans/{household_number}": "household",
    "POST /api/v1/cases/plans/{household_number}": "household",
    "GET /api/v1/cases/visits/{household_number}": "household",
    "POST /api/v1/cases/visits/{household_number}": "household",
    "GET /api/v1/worklists/": "list",
    "GET /api/v1/worklists/{key}": "worklist",
    "GET /api/v1/dashboard/": "list",
    "GET /api/v1/reports/": "list",
    "GET /api/v1/reports/{name}": "report",
    "GET /api/v1/reports/campaigns": "list",
    "POST /api/v1/reports/spot-checks": "param",
    "POST /api/v1/reports/spot-checks/items/{item_id}": "spot_item",
    "POST /api/v1/reports/problems": "param",
    "POST /api/v1/reports/problems/from-quality": "param",
    "POST /api/v1/reports/problems/{problem_id}/close": "problem",
    "GET /api/v1/parameters/": "list",
    "POST /api/v1/parameters/": "param",
    "POST /api/v1/parameters/preview": "param",
    "POST /api/v1/evaluate/household": "evaluate",
    "GET /api/v1/lowincome/payments": "list",
    "POST /api/v1/lowincome/payments": "param",
    "GET /api/v1/lowincome/payments/{list_id}": "payment_list",
    "POST /api/v1/lowincome/payments/{list_id}/paid": "payment_list",
    "GET /api/v1/lowincome/households/{number}": "household",
    "POST /api/v1/lowincome/households/{number}/apply": "household",
    "POST /api/v1/lowincome/households/{number}/review": "household",
    "GET /api/v1/lowincome/temp-aid": "list",
    "POST /api/v1/lowincome/households/{number}/temp-aid": "household",
    "GET /api/v1/lowincome/temp-aid/{aid_id}": "temp_aid",
    "POST /api/v1/lowincome/temp-aid/{aid_id}/review": "temp_aid",
    "POST /api/v1/lowincome/temp-aid/{aid_id}/decide": "temp_aid",
    "POST /api/v1/lowincome/temp-aid/{aid_id}/papers": "temp_aid",
    "GET /api/v1/lowincome/zero-reports": "list",
    "POST /api/v1/lowincome/zero-reports/{village_code}": "village",
    "GET /api/v1/lowincome/dibao-visits": "list",
    "POST /api/v1/lowincome/households/{number}/dibao-visits": "household",
    "GET /api/v1/lowincome/colours": "list",
    "GET /api/v1/lowincome/colours/transitions": "list",
    "GET /api/v1/users/me": "self",
    "GET /api/v1/users/": "admin",
    "GET /api/v1/warnings/": "list",
    "GET /api/v1/warnings/overview": "list",
    "GET /api/v1/warnings/feedback": "list",
    "GET /api/v1/warnings/referrals": "list",
    "POST /api/v1/warnings/referrals/{referral_id}/answer": "referral",
    "GET /api/v1/warnings/{warning_id}": "warning",
    "POST /api/v1/warnings/{warning_id}/pass": "warning",
    "POST /api/v1/warnings/{warning_id}/verify": "warning",
    "POST /api/v1/warnings/{warning_id}/refer": "warning",
}

XLSX_ROUTES = {"", "reports/<str:key>/", "worklists/<str:key>/", "dashboard/", "workflows/notices/<str:village_code>/",
               "departments/unregistered/", "warnings/", "warnings/overview/", "warnings/feedback/",
               "warnings/civil-affairs/", "lowincome/colours/"}
CSV_ROUTES = {"warnings/feedback/", "reports/<str:key>/"}


# ---------------------------------------------------------------------------------------- fixtures

def _plant(code: str, on: dt.date) -> dict:
    from fangfan.declarations.services import declaration_submit
    from fangfan.registry.models import Measure
    from fangfan.workflows.models import Attachment

    household = HouseholdFactory(household_number=NUMBER[code], village=ensure_region(code, f"村{code[-3:]}"))
    member = MemberFactory(household=household, name=SECRET_NAME[code], relation="head")
    IncomeYearFactory(household=household, year=2025, wage=300_000)
    measure = Measure.objects.create(household=household, measure_code="M02", started_on=on, status="ongoing")
    opener = UserFactory(username=f"opener-{code}", role=Role.VILLAGE, region_code=code)
    case = wf.identification_open(actor=opener, household=household, channel="cadre_visit", on=on,
                                  reason="走访发现", consent={"signer_name": SECRET_NAME[code]})
    attachment = Attachment.objects.create(household=household, case=case, uploaded_by=opener, original_name="a.pdf",
                                           content_type="application/pdf", size=4, sha256="0" * 64, path="none.pdf")
    declaration = declaration_submit(name=SECRET_NAME[code], id_number=member.id_number, phone=f"1380000{code[-4:]}",
                                     village_code=code, risk="R01", text="", client_ip=f"10.0.0.{code[-1]}")
    warnings = {department: _plant_warning(code, department, household, member, on) for department in ("民政", "医保")}
    referral = Referral.objects.create(warning=warnings["民政"], to_department="民政", reason="疑似低保",
                                       referred_on=on, county=code[:6])
    # The URLs name the 民政 warning (another department's for the 医保 user); the 医保 one is in
    # the 医保 user's lists, which must still show no household of it.
    from fangfan.lowincome.models import PaymentList

    payment_list, _ = PaymentList.objects.get_or_create(township_code=code[:9], month=dt.date(2026, 5, 1),
                                                        defaults={"generated_at": dt.datetime(2026, 5, 2, tzinfo=dt.UTC),
                                                                  "generated_by": "system"})
    problem, spot_item = _plant_supervision(code, household, on)
    from fangfan.lowincome.models import TempAid

    temp_aid = TempAid.objects.create(household=household, village_code=code, cause="illness", reason=SECRET_NAME[code],
                                      amount=100_000, state="township", level="township", township_limit=300_000,
                                      level_arithmetic="x", applied_on=on)
    _plant_colours(household)
    return {"household": household, "member": member, "measure": measure, "case": case, "attachment": attachment,
            "problem": problem, "spot_item": spot_item,
            "payment_list": payment_list, "temp_aid": temp_aid,
            "declaration": declaration, "opener": opener, "warning": warnings["民政"], "referral": referral}


def _plant_colours(household) -> None:
    """Red in May, yellow in June: every household is in the three-colour lists and transitions."""
    from fangfan.screening.models import ParameterVersionSet, ScreeningResult, ScreeningRun

    params, _ = ParameterVersionSet.objects.get_or_create(digest="matrix", defaults={"versions": {}})
    for on, colour in ((dt.date(2026, 5, 10), "red"), (dt.date(2026, 6, 1), "yellow")):
        ScreeningResult.objects.create(household=household, as_of=on, household_size=1, warning_color=colour,
                                       parameters=params, run=ScreeningRun.objects.create(actor_name="t", as_of=on))


def _plant_supervision(code: str, household, on: dt.date):
    from fangfan.reports.models import Problem, SpotCheck, SpotCheckItem

    problem = Problem.objects.create(source="supervision", household=household, village_code=code,
                                     description=f"问题{NUMBER[code]}", owner="村委会", deadline=on, raised_on=on)
    check = SpotCheck.objects.create(county=code[:6], as_of=on, seed=1, ratio="0.05", frame_households=1,
                                     frame_sha256="0" * 64, frame=b"")
    item = SpotCheckItem.objects.create(spot_check=check, household=household, village_code=code,
                                        township_code=code[:9])
    from fangfan.reports.models import Campaign, CampaignPhase

    campaign = Campaign.objects.create(name=f"排查{NUMBER[code]}", region=code, year=on.year)
    CampaignPhase.objects.create(campaign=campaign, kind="field", due_on=on)
    item.campaign = campaign  # named by the campaign URLs
    return problem, item


def _plant_warning(code: str, department: str, household, member, on: dt.date):
    from fangfan.departments.models import DeptWarning, FeedBatch, FeedRow

    batch = FeedBatch.objects.create(department=department, period="2026-05", county=code[:6],
                                     file_name=f"{department}.csv", sha256=f"{department}{code}".ljust(64, "0"))
    row = FeedRow.objects.create(batch=batch, department=department, row_number=2, id_number=member.id_number,
                                 row_key=f"{department}{code}", values={"证件号码": member.id_number, "事项": "低保退出"},
                                 matched=True, household=household, member=member)
    warning = DeptWarning.objects.create(
        key=f"{department}{code}", department=department, kind="dibao_exit" if department == "民政" else "large_oop",
        action="attention" if department == "民政" else "risk", detail=f"{department}: 部门数据", batch=batch,
        household=household, member=member, village_code=code, township_code=code[:9], county=code[:6],
        raised_on=on, deadline=on + dt.timedelta(days=10))
    warning.evidence.add(row)
    return warning


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    on = dt.date(2026, 6, 1)
    planted = {code: _plant(code, on) for code in SECRET_NAME}
    users = {
        name: UserFactory(username=name, role=role, region_code=region, department=dept)
        for name, (role, region, dept) in ACTORS.items()
    }
    return {"planted": planted, "users": users}


# ---------------------------------------------------------------------------------------- routes

def _walk(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith("api/v1/"):
                continue  # the API is enumerated from its OpenAPI schema
            yield from _walk(entry, route)
        elif isinstance(entry, URLPattern):
            yield route


def page_routes() -> list[str]:
    return sorted(set(_walk(get_resolver())))


def api_routes() -> list[str]:
    from fangfan.api.main import api

    schema = api.get_openapi_schema()
    return sorted(f"{method.upper()} {path}" for path, ops in schema["paths"].items() for method in ops)


def test_it_covers_every_url_pattern_and_api_route():
    missing = [r for r in page_routes() if r not in ROUTES]
    missing += [r for r in api_routes() if r not in API_ROUTES]
    stale = [r for r in ROUTES if r not in page_routes()] + [r for r in API_ROUTES if r not in api_routes()]
    assert not missing, f"routes not covered by the scope matrix (add them to ROUTES/API_ROUTES): {missing}"
    assert not stale, f"routes listed in the scope matrix that no longer exist: {stale}"


# ---------------------------------------------------------------------------------------- checks

def _text(response) -> str:
    kind = response.get("Content-Type", "")
    body = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    if "spreadsheetml" in kind:
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v)
    return body.decode("utf-8", "replace")


def _leaks(text: str, villages, query: str = "", url: str = "") -> list[str]:
    """Outside numbers and names in a response; what the user typed (a query echoed back in
    forms and links, the key in the URL named in a 404 message) is not a leak, so a typed
    number is checked through the member's name and vice versa."""
    from urllib.parse import parse_qsl, quote

    typed_values = [v for _, v in parse_qsl(query.lstrip("?"))] + [p for p in url.split("/") if p]
    for typed in typed_values:
        text = text.replace(typed, "").replace(quote(typed), "")
    return [s for code in villages for s in (SECRET_NAME[code], NUMBER[code]) if s in text]


def _worklist_keys() -> list[str]:
    from fangfan.workflows.worklists import WORKLISTS

    return list(WORKLISTS)


def _report_names() -> list[str]:
    from fangfan.reports.selectors import REPORTS

    return list(REPORTS)


def _values(kind: str, planted: dict) -> dict[str, str]:
    """URL parameter values naming the planted objects of one village."""
    return {
        "number": planted["household"].household_number,
        "household_number": planted["household"].household_number,
        "case_id": str(planted["case"].pk),
        "name": "home_check",
        "member_id": str(planted["member"].pk),
        "measure_id": str(planted["measure"].pk),
        "attachment_id": str(planted["attachment"].pk),
        "village_code": planted["household"].village_id,
        "receipt": planted["declaration"].receipt,
        "pk": str(planted["opener"].pk),
        "warning_id": str(planted["warning"].pk),
        "referral_id": str(planted["referral"].pk),
        "problem_id": str(planted["problem"].pk),
        "item_id": str(planted["spot_item"].pk),
        "campaign_id": str(planted["spot_item"].campaign.pk),
        "list_id": str(planted["payment_list"].pk),
        "aid_id": str(planted["temp_aid"].pk),
    }


def _fill(route: str, values: dict[str, str]) -> str:
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route)


OBJECT_KINDS = {"household", "case", "member", "measure", "attachment", "village", "receipt", "warning", "referral",
                "problem", "spot_item", "campaign",
                "payment_list", "temp_aid"}


def _snapshot(world) -> dict:
    """What a refused request must leave unchanged."""
    from fangfan.declarations.models import Declaration
    from fangfan.lowincome.models import DibaoVisit, Enrolment, PaymentList, TempAid, ZeroReport
    from fangfan.registry.models import Household, Measure
    from fangfan.reports.models import CampaignPhase, Problem, SpotCheckItem
    from fangfan.screening.models import CountyParameter
    from fangfan.workflows.models import AssistancePlan, Contact, Visit

    return {
        "cases": sorted(Case.objects.values_list("pk", "state", "version")),
        "case_count": Case.objects.count(),
        "households": sorted(Household.objects.values_list("pk", "version", "category")),
        "measures": sorted(Measure.objects.values_list("pk", "status")),
        "plans": AssistancePlan.objects.count(),
        "contacts": Contact.objects.count(),
        "visits": Visit.objects.count(),
        "declarations": sorted(Declaration.objects.values_list("pk", "stage")),
        "parameters": CountyParameter.objects.count(),
        "warnings": sorted(DeptWarning.objects.values_list("pk", "state", "version", "outcome")),
        "referrals": sorted(Referral.objects.values_list("pk", "answered_on")) + [Referral.objects.count()],
        "problems": sorted(Problem.objects.values_list("pk", "status", "version")) + [Problem.objects.count()],
        "spot_items": sorted(SpotCheckItem.objects.exclude(result="").values_list("pk", "result")),
        "campaign_phases": sorted(CampaignPhase.objects.values_list("pk", "due_on", "due_time", "opens_on")),
        "payment_lists": sorted(PaymentList.objects.values_list("pk", "state", "version")),
        "enrolments": Enrolment.objects.count(),
        "temp_aids": sorted(TempAid.objects.values_list("pk", "state", "version")) + [TempAid.objects.count()],
        "zero_reports": ZeroReport.objects.count(), "dibao_visits": DibaoVisit.objects.count(),
    }


@pytest.mark.parametrize("username", list(ACTORS))
def test_it_shows_no_outside_household_on_any_list_search_or_export(client, world, username):
    client.force_login(world["users"][username])
    outside = OUTSIDE[username]
    outside_id = world["planted"][outside[0]]["member"].id_number
    for route, kind in ROUTES.items():
        if kind not in ("list", "public", "worklist", "report"):
            continue
        keys = _worklist_keys() if kind == "worklist" else _report_names()
        urls = ["/" + _fill(route, {"key": key}) for key in keys] if kind in ("worklist", "report") else ["/" + route]
        for url in urls:
            # by list, by search (household number, name, ID number) and by export
            queries = ["", "?q=" + NUMBER[outside[0]], "?q=" + SECRET_NAME[outside[0]], "?q=" + outside_id,
                       "?village=" + outside[0], "?region=" + outside[0], "?township=" + outside[0][:9] + "000"]
            if route in XLSX_ROUTES:
                queries += ["?format=xlsx", "?format=xlsx&region=" + outside[0], "?format=xlsx&q=" + NUMBER[outside[0]],
                            "?format=xlsx&q=" + outside_id]
            if route in CSV_ROUTES:
                queries += ["?format=csv"]
            for query in queries:
                response = client.get(url + query)
                assert response.status_code < 500, (url + query, response.status_code)
                assert not _leaks(_text(response), outside, query), (username, url + query)


@pytest.mark.parametrize("username", list(ACTORS))
def test_it_answers_not_found_for_outside_objects_by_url(client, world, username):
    client.force_login(world["users"][username])
    for route, kind in ROUTES.items():
        if kind not in OBJECT_KINDS:
            continue
        for code in OUTSIDE[username]:
            url = "/" + _fill(route, _values(kind, world["planted"][code]))
            for query in ("", "?format=xlsx"):
                response = client.get(url + query)
                assert response.status_code in (403, 404, 405), (username, url + query, response.status_code)
                assert not _leaks(_text(response), OUTSIDE[username], url=url), (username, url + query)


@pytest.mark.parametrize("username", list(ACTORS))
def test_it_changes_nothing_outside_by_posting_to_any_url(client, world, username):
    client.force_login(world["users"][username])
    before = _snapshot(world)
    for route, kind in ROUTES.items():
        if kind in OBJECT_KINDS:
            for code in OUTSIDE[username]:
                planted = world["planted"][code]
                url = "/" + _fill(route, _values(kind, planted))
                response = client.post(url, {
                    "seen_version": planted["case"].version, "comment": "越权", "signer_name": "x", "reason": "越权",
                    "note": "越权", "status": "done", "cadre_name": "x", "visitors": "x", "method": "home",
                    "visited_on": "2026-06-02", "channel": "cadre_visit", "expected_status": "ongoing",
                    "outcome": "no_risk", "to_department": "民政", f"r{planted['referral'].pk}-answer": "越权",
                })
                assert response.status_code in (403, 404, 405), (username, url, response.status_code)
        elif kind == "param":
            response = client.post("/" + route, {
                "name": "dibao.line_rural_year", "region_prefix": OTHER_COUNTY[:6], "start": "2026-01-01",
                "value_text": "6000", "document": "越权", "pk": "1", "reason": "越权"})
            assert response.status_code < 500, (username, route, response.status_code)
        elif kind == "admin":
            url = "/" + _fill(route, _values(kind, world["planted"][OWN]))
            assert client.get(url).status_code in (403, 404), (username, url)
            assert client.post(url, {"role": "admin", "region_code": "", "password1": "x" * 12,
                                     "password2": "x" * 12}).status_code in (403, 404), (username, url)
    assert _snapshot(world) == before, username


@pytest.mark.parametrize("username", list(ACTORS))
def test_it_shows_and_changes_nothing_outside_through_the_api(client, world, username):
    token = api_token_create(actor=None, user=world["users"][username])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    outside = OUTSIDE[username]
    outside_id = world["planted"][outside[0]]["member"].id_number
    before = _snapshot(world)
    for route, kind in API_ROUTES.items():
        method, path = route.split(" ", 1)
        if kind in ("list", "worklist", "self", "report"):
            paths = ([_fill(path, {"key": key}) for key in _worklist_keys()] if kind == "worklist" else
                     [_fill(path, {"name": name}) for name in _report_names()] if kind == "report" else [path])
            for url in paths:
                for query in ("", "?q=" + NUMBER[outside[0]], "?q=" + SECRET_NAME[outside[0]], "?q=" + outside_id,
                              "?village=" + outside[0], "?region=" + outside[0]):
                    response = client.get(url + query, **auth)
                    assert response.status_code < 500, (route, query, response.status_code)
                    assert not _leaks(_text(response), outside, query), (username, route, query)
        elif kind in OBJECT_KINDS:
            for code in outside:
                planted = world["planted"][code]
                url = _fill(path, _values(kind, planted))
                if method == "GET":
                    response = client.get(url, **auth)
                else:
                    body = {"seen_version": planted["case"].version, "comment": "x", "data": {}, "measures": [],
                            "visited_on": "2026-06-02", "method": "home", "visitors": "x", "outcome": "no_risk",
                            "note": "x", "to_department": "民政", "reason": "x", "answer": "x"}
                    response = client.post(url, body, content_type="application/json", **auth)
                assert response.status_code in (403, 404, 422), (username, route, url, response.status_code)
                assert not _leaks(_text(response), outside, url=url), (username, route, url)
        elif kind == "open":
            for code in outside:
                response = client.post(path, {"household_number": NUMBER[code], "channel": "cadre_visit"},
                                        content_type="application/json", **auth)
                assert response.status_code in (400, 403, 404, 422), (username, route, response.status_code)
        elif kind == "param":
            response = client.post(path, {"name": "dibao.line_rural_year", "region_prefix": OTHER_COUNTY[:6],
                                          "start": "2026-01-01", "value": "6000", "document": "越权"},
                                   content_type="application/json", **auth)
            assert response.status_code in (400, 403, 404, 422), (username, route, response.status_code)
            assert not _leaks(_text(response), outside), (username, route)
        elif kind == "evaluate":
            response = client.post(path, _evaluate_body(OTHER_COUNTY), content_type="application/json", **auth)
            assert response.status_code in (400, 403, 404, 422), (username, route, response.status_code)
        elif kind == "admin":
            assert client.get(path, **auth).status_code == 403, (username, route)
    assert _snapshot(world) == before, username


def _evaluate_body(village: str) -> dict:
    from tests.factories import make_id_number

    return {
        "as_of": "2026-06-30",
        "households": [{"户编号": "EV1", "村代码": village, "户类型": "脱贫户", "住房安全": "是", "饮水安全": "是"}],
        "members": [{"户编号": "EV1", "姓名": "评估", "证件号码": make_id_number(7, county=village[:6]),
                     "与户主关系": "户主", "劳动技能": "普通劳动力"}],
        "incomes": [{"户编号": "EV1", "年度": 2025, "工资性收入": "3000"}],
    }


def test_it_refuses_the_api_without_a_token(client, world):
    for route in API_ROUTES:
        method, path = route.split(" ", 1)
        path = re.sub(r"\{\w+\}", "1", path)
        response = client.generic(method, path)
        assert response.status_code == 401, (route, response.status_code)
