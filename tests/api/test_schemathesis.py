"""Schemathesis over /api/v1/openapi.json: generated requests (valid and invalid) with a valid
token never get a 5xx. Runs in-process against Django's WSGI application, bounded and
deterministic (derandomized Hypothesis, few examples per operation and mode)."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from fangfan.accounts.models import Role
from fangfan.accounts.services import api_token_create
from fangfan.workflows.identification import identification_open
from tests.factories import HouseholdFactory, IncomeYearFactory, MemberFactory, UserFactory, ensure_region

VILLAGE = "341225103208"
OTHER_VILLAGE = "341225103209"
EXAMPLES = 8  # per operation and mode: bounded (well under 2 min on 2 cores)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_data(db) -> dict:
    """A token of a county user, and real path values of its scope: generated path parameters
    alone mostly meet 404s, these reach the handlers' bodies (a household, an open case)."""
    households = []
    for village, n in ((VILLAGE, 3), (OTHER_VILLAGE, 2)):
        for _ in range(n):
            h = HouseholdFactory(village=ensure_region(village))
            MemberFactory(household=h, relation="head")
            IncomeYearFactory(household=h, year=2025)
            households.append(h)
    user = UserFactory(username="st-county", role=Role.COUNTY_RR, region_code=VILLAGE[:6].ljust(12, "0"))
    cadre = UserFactory(username="st-village", role=Role.VILLAGE, region_code=VILLAGE)
    case = identification_open(actor=cadre, household=households[0], channel="cadre_visit", on=dt.date(2026, 3, 2),
                               consent={"signer_name": "户主"})
    number = households[1].household_number
    warning, referral = _warning(households[2])
    payment_list = _payment_list()
    aid = _temp_aid(households[2])
    item, problem = _supervision(households[3])
    return {
        "token": api_token_create(actor=None, user=user, name="schemathesis"),
        # the village's own token too: the warning and case steps it may take reach their forms
        "village_token": api_token_create(actor=None, user=cadre, name="schemathesis-village"),
        "paths": {"number": number, "household_number": number, "case_id": case.pk, "key": "candidates",
                  "name": "home_check", "warning_id": warning.pk, "referral_id": referral.pk,
                  "list_id": payment_list.pk, "aid_id": aid.pk, "village_code": VILLAGE,
                  "item_id": item.pk, "problem_id": problem.pk},
    }


def _payment_list():
    """A draft 低保 payment list of the village's township (/api/v1/lowincome/payments/{list_id})."""
    from django.utils import timezone

    from fangfan.lowincome.models import PaymentList

    return PaymentList.objects.create(township_code=VILLAGE[:9], month=dt.date(2026, 3, 1),
                                      generated_at=timezone.now(), generated_by="test")


def _temp_aid(household):
    """A 临时救助 application waiting for the township (/api/v1/lowincome/temp-aid/{aid_id})."""
    from fangfan.lowincome.models import TempAid

    return TempAid.objects.create(household=household, village_code=VILLAGE, cause="illness", reason="住院",
                                  amount=100_000, state="township", level="township", township_limit=300_000,
                                  level_arithmetic="1000.00 元 ≤ 乡镇审批限额 3000.00 元", applied_on=dt.date(2026, 3, 2))


def _supervision(household):
    """A spot-check item awaiting its result and an open problem of the household's village
    (/api/v1/reports/spot-checks/items/{item_id}, /api/v1/reports/problems/{problem_id}/close)."""
    from fangfan.reports.models import Problem, SpotCheck, SpotCheckItem

    village = household.village_id
    check = SpotCheck.objects.create(county=village[:6], as_of=dt.date(2026, 3, 2), seed=1, ratio="0.05",
                                     frame_households=1, frame_sha256="0" * 64, frame=b"")
    item = SpotCheckItem.objects.create(spot_check=check, household=household, village_code=village,
                                        township_code=village[:9])
    problem = Problem.objects.create(source="supervision", household=household, village_code=village,
                                     description="未回访", owner="村委会", deadline=dt.date(2026, 4, 30),
                                     raised_on=dt.date(2026, 3, 2))
    return item, problem


def _warning(household):
    """A 民政 warning with its evidence row and a referral, in the village's scope (/api/v1/warnings)."""
    from fangfan.departments.models import DeptWarning, FeedBatch, FeedRow, Referral

    member = household.members.first()
    on = dt.date(2026, 5, 6)
    batch = FeedBatch.objects.create(department="民政", period="2026-05", county=VILLAGE[:6], file_name="民政.csv",
                                     sha256="s" * 64)
    row = FeedRow.objects.create(batch=batch, department="民政", row_number=2, id_number=member.id_number,
                                 row_key="st-row", values={"证件号码": member.id_number, "事项": "低保退出"},
                                 matched=True, household=household, member=member)
    warning = DeptWarning.objects.create(
        key="st-warning", department="民政", kind="dibao_exit", action="attention", detail="民政: 低保退出",
        batch=batch, household=household, member=member, village_code=VILLAGE, township_code=VILLAGE[:9],
        county=VILLAGE[:6], raised_on=on, deadline=on + dt.timedelta(days=10))
    warning.evidence.add(row)
    referral = Referral.objects.create(warning=warning, to_department="民政", reason="疑似低保", referred_on=on,
                                       county=VILLAGE[:6])
    return warning, referral


@pytest.fixture
def api_token(api_data) -> str:
    return api_data["token"]


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    # As Django's test client does: the request signals would close the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _operations(app) -> list:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    return operations


CALLS: dict[str, int] = {}  # generated requests sent, per operation (reported and checked below)


def _server_errors(operation, mode: GenerationMode, token: str, path_parameters=None) -> list[str]:
    """Run one operation's generated cases; the first 5xx answer found, as a curl command."""
    found: list[str] = []
    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case):
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        CALLS[label] = CALLS.get(label, 0) + 1
        if response.status_code >= 500 and not found:
            found.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {response.status_code} "
                         f"{_detail(response)}\n    {case.as_curl_command()}")

    run()
    return found


def _detail(response) -> str:
    try:
        return str(json.loads(response.text).get("detail"))[:200]
    except (ValueError, AttributeError):
        return response.text[:200]


# Schemathesis' Python API rather than its pytest plugin: the plugin's fixture-based loader sets
# pytest's private Function._nodeid, which pytest 9 no longer has (AttributeError), and the
# module-level loader fails collection while the API has no route. One test that lists every
# failing operation is also easier to read.
def test_it_answers_every_generated_api_request_without_a_server_error(api_data):
    operations = _operations(get_wsgi_application())
    assert operations, "OpenAPI 中没有任何接口"
    token, known = api_data["token"], api_data["paths"]
    problems: list[str] = []
    CALLS.clear()
    unfilled = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            problems += _server_errors(operation, mode, token)
        names = re.findall(r"{(\w+)}", operation.path)
        if names and all(n in known for n in names):
            # valid and invalid queries and bodies against a real household, case or warning,
            # as the county and as the village (which may take the warning's and case's steps)
            real = {n: known[n] for n in names}
            for who in (token, api_data["village_token"]):
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    problems += _server_errors(operation, mode, who, real)
        elif names:
            unfilled.append(operation.path)
    assert not problems, f"{len(problems)} 个接口返回 5xx:\n" + "\n".join(problems)
    # Every route of the API (warnings included) was called, and every path parameter had a real value.
    from tests.web.test_scope_matrix import api_routes

    routes = {r.replace("{int:", "{") for r in api_routes()}
    assert {f"{o.method.upper()} {o.path}" for o in operations} == routes
    assert set(CALLS) == routes, sorted(routes - set(CALLS))
    assert any(r.startswith("POST /api/v1/warnings/{warning_id}") for r in CALLS) and not unfilled, unfilled
    print(f"schemathesis: {sum(CALLS.values())} requests over {len(CALLS)} operations, no 5xx")


def test_it_publishes_an_openapi_schema_with_bearer_authentication(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    assert any(s.get("scheme") == "bearer" for s in doc["components"]["securitySchemes"].values())
