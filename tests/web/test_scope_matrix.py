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
#   "list"      no parameters: fetched as is (and as XLSX when it offers ?format=xlsx)
#   "public"    no login needed; must show no household data
#   "household" / "case" / "village" / "user" / "attachment" / "receipt": parameter filled with
#               the outside object's key
#   "auth"      login/logout: nothing to check beyond not leaking
ROUTES: dict[str, str] = {
    "login/": "auth",
    "logout/": "auth",
    "": "list",
    "households/<str:number>/": "household",
    "workflows/notices/<str:village_code>/": "village",
}
API_ROUTES: dict[str, str] = {}

XLSX_ROUTES = {"", "workflows/notices/<str:village_code>/"}


# ---------------------------------------------------------------------------------------- fixtures

def _plant(code: str, on: dt.date) -> dict:
    household = HouseholdFactory(household_number=NUMBER[code], village=ensure_region(code, f"村{code[-3:]}"))
    MemberFactory(household=household, name=SECRET_NAME[code], relation="head")
    IncomeYearFactory(household=household, year=2025, wage=300_000)
    opener = UserFactory(username=f"opener-{code}", role=Role.VILLAGE, region_code=code)
    case = wf.identification_open(actor=opener, household=household, channel="cadre_visit", on=on,
                                  reason="走访发现", consent={"signer_name": SECRET_NAME[code]})
    return {"household": household, "case": case}


@pytest.fixture
def world(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
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


def _leaks(text: str, villages) -> list[str]:
    return [s for code in villages for s in (SECRET_NAME[code], NUMBER[code]) if s in text]


def _fill(route: str, kind: str, outside_code: str, world) -> str | None:
    planted = world["planted"][outside_code]
    value = {
        "household": planted["household"].household_number,
        "case": str(planted["case"].pk),
        "village": outside_code,
    }.get(kind)
    if value is None:
        return None
    return re.sub(r"<(?:\w+:)?\w+>", value, route, count=1)


def _object_routes(routes: dict[str, str]):
    return [(r, k) for r, k in routes.items() if k in ("household", "case", "village")]


@pytest.mark.parametrize("username", list(ACTORS))
def test_it_shows_no_outside_household_on_any_list_search_or_export(client, world, username):
    client.force_login(world["users"][username])
    outside = OUTSIDE[username]
    for route, kind in ROUTES.items():
        if kind not in ("list", "public"):
            continue
        url = "/" + route
        queries = ["", "?q=" + NUMBER[outside[0]], "?q=" + SECRET_NAME[outside[0]], "?village=" + outside[0]]
        if route in XLSX_ROUTES:
            queries.append("?format=xlsx")
        for query in queries:
            response = client.get(url + query)
            assert response.status_code < 500, (url + query, response.status_code)
            assert not _leaks(_text(response), outside), (username, url + query)


@pytest.mark.parametrize("username", list(ACTORS))
def test_it_answers_not_found_for_outside_objects_by_url(client, world, username):
    client.force_login(world["users"][username])
    for route, kind in _object_routes(ROUTES):
        for code in OUTSIDE[username]:
            url = "/" + _fill(route, kind, code, world)
            for query in ("", "?format=xlsx"):
                response = client.get(url + query)
                assert response.status_code in (403, 404), (username, url + query, response.status_code)
                assert not _leaks(_text(response), OUTSIDE[username]), (username, url + query)


@pytest.mark.parametrize("username", list(ACTORS))
def test_it_changes_no_outside_case_by_posting_to_any_url(client, world, username):
    client.force_login(world["users"][username])
    for route, kind in _object_routes(ROUTES):
        for code in OUTSIDE[username]:
            case = world["planted"][code]["case"]
            url = "/" + _fill(route, kind, code, world)
            response = client.post(url, {"seen_version": case.version, "comment": "越权", "signer_name": "x"})
            assert response.status_code in (403, 404, 405), (username, url, response.status_code)
            fresh = Case.objects.get(pk=case.pk)
            assert (fresh.state, fresh.version) == (case.state, case.version), (username, url)


@pytest.mark.parametrize("username", list(ACTORS))
def test_it_shows_and_changes_nothing_outside_through_the_api(client, world, username):
    token = api_token_create(actor=None, user=world["users"][username])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    outside = OUTSIDE[username]
    for route, kind in API_ROUTES.items():
        method, path = route.split(" ", 1)
        if kind == "list":
            for query in ("", "?q=" + NUMBER[outside[0]], "?village=" + outside[0]):
                response = client.get(path + query, **auth) if method == "GET" else None
                if response is None:
                    continue
                assert response.status_code < 500, (route, query, response.status_code)
                assert not _leaks(_text(response), outside), (username, route, query)
        elif kind in ("household", "case", "village"):
            for code in outside:
                url = re.sub(r"\{\w+\}", _fill("<x>", kind, code, world), path, count=1)
                case = world["planted"][code]["case"]
                if method == "GET":
                    response = client.get(url, **auth)
                else:
                    response = client.generic(method, url, data=b'{"seen_version": %d, "comment": "x", "data": {}}'
                                              % case.version, content_type="application/json", **auth)
                assert response.status_code in (403, 404), (username, route, url, response.status_code)
                assert not _leaks(_text(response), outside), (username, route, url)
                fresh = Case.objects.get(pk=case.pk)
                assert (fresh.state, fresh.version) == (case.state, case.version), (username, route)


def test_it_refuses_the_api_without_a_token(client, world):
    for route, kind in API_ROUTES.items():
        if kind == "public":
            continue
        method, path = route.split(" ", 1)
        if "{" in path:
            path = re.sub(r"\{\w+\}", "1", path)
        response = client.generic(method, path)
        assert response.status_code == 401, (route, response.status_code)
