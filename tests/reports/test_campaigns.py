"""集中排查 (workflows.md W7): the entry window closing at 18:00:00 for village and township accounts
through the services, the pages, the API and the import; the home-visit coverage of the field phase
computed by hand; the campaigns the profile calendars imply (营口 篇二 五, 湖南 two sweeps)."""
from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.management import CommandError, call_command

from fangfan.accounts.models import Role
from fangfan.accounts.services import api_token_create
from fangfan.audit.models import AuditEvent
from fangfan.registry.services import household_update
from fangfan.reports import campaigns as C
from fangfan.reports.models import Campaign
from fangfan.workflows import services as wf
from fangfan.workflows.errors import NotAllowed, WorkflowError
from fangfan.workflows.models import Visit
from tests.factories import UserFactory
from tests.reports.conftest import COUNTY, T1, V1, V2, V3, household

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
REFUSAL = "集中排查录入已于 2026-05-31 18:00 截止, 村、乡镇账号不能再修改; 如需更正请联系县乡村振兴局"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


PIANER = [  # 篇二 五 for 2026
    C.PhaseSpec("preparation", dt.date(2026, 4, 26)),
    C.PhaseSpec("field", dt.date(2026, 5, 27)),
    C.PhaseSpec("entry", dt.date(2026, 5, 31), dt.time(18, 0)),
    C.PhaseSpec("correction", dt.date(2026, 6, 5)),
    C.PhaseSpec("report", dt.date(2026, 6, 12)),
]


@pytest.fixture
def people(places):
    return {
        "village": UserFactory(username="c-village", role=Role.VILLAGE, region_code=V1),
        "township": UserFactory(username="c-township", role=Role.TOWNSHIP, region_code=T1 + "000"),
        "county": UserFactory(username="c-county", role=Role.COUNTY_RR, region_code=COUNTY + "000000"),
    }


@pytest.fixture
def campaign(people):
    return C.campaign_create(actor=people["county"], name="阜南县2026年集中排查", region=COUNTY, year=2026, phases=PIANER)


@pytest.fixture
def clock(monkeypatch):
    """Set the time the services see (the project's TIME_ZONE)."""
    def set_to(text: str):
        monkeypatch.setattr(C, "now", lambda: at(text))
    return set_to


def _visit(actor, h):
    return wf.visit_record(actor=actor, household=h, visited_on=dt.date(2026, 5, 20), method="入户", visitors="王干部")


# ------------------------------------------------------------------------------- the entry window
@pytest.mark.parametrize("role", ["village", "township"])
def test_it_lets_village_and_township_users_write_until_17_59_59_and_refuses_them_at_18_00_00(
        people, campaign, clock, role):
    h = household("W1", V1)
    clock("2026-05-31T17:59:59")
    _visit(people[role], h)
    household_update(actor=people[role], household=h, changes={"last_visit_on": dt.date(2026, 5, 21)})
    clock("2026-05-31T18:00:00")
    with pytest.raises(NotAllowed) as refused:
        _visit(people[role], h)
    assert str(refused.value) == REFUSAL
    with pytest.raises(NotAllowed, match="18:00 截止"):
        household_update(actor=people[role], household=h, changes={"last_visit_on": dt.date(2026, 5, 22)})
    with pytest.raises(NotAllowed, match="18:00 截止"):
        wf.contact_assign(actor=people[role], household=h, cadre_name="李干部", on=dt.date(2026, 5, 31))
    assert Visit.objects.filter(household=h).count() == 1
    h.refresh_from_db()
    assert h.last_visit_on == dt.date(2026, 5, 21)


def test_it_refuses_opening_and_stepping_cases_after_the_close(people, campaign, clock):
    h = household("W2", V1)
    clock("2026-05-31T12:00:00")
    case = wf.case_open_identification(actor=people["village"], household=h, channel="cadre_visit",
                                       on=dt.date(2026, 5, 31), reason="走访发现",
                                       consent={"signer_name": "户主"})
    clock("2026-05-31T18:00:00")
    with pytest.raises(NotAllowed, match="18:00 截止"):
        wf.case_step(actor=people["village"], case_id=case.pk, transition="home_check", seen_version=case.version)
    with pytest.raises(NotAllowed, match="18:00 截止"):
        wf.case_advance(actor=people["village"], case_id=case.pk, transition="home_check", seen_version=case.version)
    with pytest.raises(NotAllowed, match="18:00 截止"):
        wf.case_open_identification(actor=people["township"], household=household("W3", V2), channel="cadre_visit",
                                    on=dt.date(2026, 5, 31), reason="走访发现", consent={"signer_name": "户主"})
    case.refresh_from_db()
    assert case.events.count() == 1


def test_it_does_not_refuse_the_county(people, campaign, clock):
    h = household("W4", V1)
    clock("2026-05-31T18:00:00")
    visit = _visit(people["county"], h)
    assert visit.pk


def test_it_does_not_refuse_outside_the_campaign_region(people, clock, places):
    C.campaign_create(actor=people["county"], name="乙镇排查", region=V3[:9], year=2026, phases=PIANER)
    h = household("W5", V1)
    clock("2026-06-01T09:00:00")
    assert _visit(people["village"], h).pk


def test_it_keeps_the_correction_phase_to_the_county_unless_opened_and_reopens_after_it(people, campaign, clock):
    h = household("W6", V1)
    clock("2026-06-05T23:59:59")
    with pytest.raises(NotAllowed):
        _visit(people["village"], h)
    clock("2026-06-06T00:00:00")  # the correction phase is over: the campaign restricts nothing
    assert _visit(people["village"], h).pk
    C.phase_set(actor=people["county"], campaign=campaign, kind="correction", due_on=dt.date(2026, 6, 5),
                opens_on=dt.date(2026, 6, 3))
    clock("2026-06-02T23:59:59")
    with pytest.raises(NotAllowed):
        _visit(people["township"], h)
    clock("2026-06-03T00:00:00")
    assert _visit(people["township"], h).pk
    entry = AuditEvent.objects.filter(action="campaign.phase_set").get()
    assert entry.after["opens_on"] == "2026-06-03"


def test_it_refuses_the_page_post_at_18_00_00_with_the_message(client, people, campaign, clock):
    h = household("W7", V1)
    form = {"visited_on": "2026-05-20", "method": "home", "visitors": "王干部"}
    for role in ("village", "township"):
        client.force_login(people[role])
        clock("2026-05-31T17:59:59")
        response = client.post(f"/visits/{h.household_number}/new/", form)
        assert response.status_code == 302
        clock("2026-05-31T18:00:00")
        response = client.post(f"/visits/{h.household_number}/new/", form)
        assert response.status_code == 200
        assert REFUSAL in response.content.decode()
    assert Visit.objects.filter(household=h).count() == 2


def test_it_refuses_the_api_at_18_00_00_with_the_message(client, people, campaign, clock):
    h = household("W8", V1)
    body = {"visited_on": "2026-05-20", "method": "入户", "visitors": "王干部"}
    for role in ("village", "township"):
        auth = {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=people[role])}"}
        clock("2026-05-31T17:59:59")
        ok = client.post(f"/api/v1/cases/visits/{h.household_number}", body, content_type="application/json", **auth)
        assert ok.status_code == 201
        clock("2026-05-31T18:00:00")
        refused = client.post(f"/api/v1/cases/visits/{h.household_number}", body, content_type="application/json",
                              **auth)
        assert refused.status_code == 403
        assert refused.json() == {"detail": REFUSAL}
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=people['county'])}"}
    assert client.post(f"/api/v1/cases/visits/{h.household_number}", body, content_type="application/json",
                       **auth).status_code == 201


def test_it_refuses_an_import_as_a_village_user_after_the_close(people, campaign, clock, tmp_path):
    clock("2026-05-31T18:00:00")
    with pytest.raises(CommandError, match="18:00 截止"):
        call_command("import", str(tmp_path / "none"), "--as", "c-village", verbosity=0)


# ------------------------------------------------------------------------------- writes
def test_it_lets_only_the_county_office_create_campaigns_with_an_audit_row(people, places):
    with pytest.raises(NotAllowed):
        C.campaign_create(actor=people["township"], name="x", region=T1, year=2026, phases=PIANER)
    with pytest.raises(NotAllowed, match="本辖区"):
        C.campaign_create(actor=people["county"], name="x", region="130126", year=2026, phases=PIANER)
    with pytest.raises(WorkflowError, match="依次排列"):
        C.campaign_create(actor=people["county"], name="x", region=COUNTY, year=2026,
                          phases=[C.PhaseSpec("field", dt.date(2026, 5, 27)), C.PhaseSpec("entry", dt.date(2026, 5, 1))])
    assert not Campaign.objects.exists()
    campaign = C.campaign_create(actor=people["county"], name="排查", region=COUNTY, year=2026, phases=PIANER,
                                 target_groups=["lifted", "tekun"])
    assert campaign.target_groups == ["lifted", "tekun"]
    entry = AuditEvent.objects.get(action="campaign.create")
    assert entry.after["phases"][2] == {"kind": "entry", "opens_on": None, "due": "2026-05-31 18:00"}


def test_it_creates_a_campaign_from_the_page_form(client, people, places):
    client.force_login(people["county"])
    form = {"name": "阜南县集中排查", "region": COUNTY, "year": "2026", "coverage_target": "100",
            "target_groups": list(C.TARGET_GROUPS), "field_due": "2026-05-27", "entry_due": "2026-05-31",
            "entry_time": "18:00", "correction_due": "2026-06-05"}
    assert client.post("/reports/campaigns/", form).status_code == 302
    campaign = Campaign.objects.get()
    closes = {p.kind: C.closes_at(p) for p in campaign.phases.all()}
    assert closes == {"field": at("2026-05-28T00:00:00"), "entry": at("2026-05-31T18:00:00"),
                      "correction": at("2026-06-06T00:00:00")}
    client.force_login(people["township"])
    client.post("/reports/campaigns/", {**form, "name": "乡镇设置"})
    assert Campaign.objects.count() == 1


# ------------------------------------------------------------------------------- coverage
@pytest.fixture
def visited(places):
    """V1: two 脱贫户 (one visited at home in the field phase, one by phone), one monitored household
    visited at home the day before the field phase, an ordinary household visited (not a target);
    V3: one 脱贫户 visited at home on the field deadline, one monitored visited the day after it."""
    def visit(h, on, method="home"):
        Visit.objects.create(household=h, visited_on=on, method=method, visitors="王干部")
    a, b = household("A1", V1), household("A2", V1)
    m = household("A3", V1, household_type="ordinary", category="marginal", identified_on=dt.date(2025, 3, 1))
    o = household("A4", V1, household_type="ordinary")
    c = household("B1", V3)
    d = household("B2", V3, household_type="ordinary", category="marginal", identified_on=dt.date(2026, 1, 1))
    household("B3", V3, household_type="ordinary", category="marginal", identified_on=dt.date(2026, 5, 28))
    visit(a, dt.date(2026, 4, 27))
    visit(b, dt.date(2026, 5, 1), "phone")
    visit(m, dt.date(2026, 4, 26))
    visit(o, dt.date(2026, 5, 1))
    visit(c, dt.date(2026, 5, 27))
    visit(d, dt.date(2026, 5, 28))


def _rows(table):
    return {r[0]: r[2:] for r in table.frame.rows()}


def test_it_computes_home_visit_coverage_of_the_field_phase_by_hand(campaign, visited):
    tables, period = C.coverage(campaign)
    assert period == (dt.date(2026, 4, 27), dt.date(2026, 5, 27))
    by = {t.key: t for t in tables}
    assert by["coverage_village"].columns == ["区划代码", "名称", "应入户户数", "已入户户数", "未入户户数", "入户覆盖率",
                                              "达到目标"]
    # B3 is identified after the field deadline: not a target. A4 is ordinary: not a target.
    assert _rows(by["coverage_village"]) == {V1: (3, 1, 2, "33.33%", "否"), V3: (2, 1, 1, "50.00%", "否")}
    assert _rows(by["coverage_township"]) == {T1 + "000": (3, 1, 2, "33.33%", "否"),
                                              V3[:9] + "000": (2, 1, 1, "50.00%", "否")}
    assert _rows(by["coverage_county"]) == {COUNTY + "000000": (5, 2, 3, "40.00%", "否")}
    assert [r[0] for r in by["coverage_pending"].frame.rows()] == ["A2", "A3", "B2"]


def test_it_narrows_coverage_to_the_township_and_meets_a_lower_target(people, visited):
    campaign = C.campaign_create(actor=people["county"], name="排查", region=COUNTY, year=2026, phases=PIANER,
                                 coverage_target=50)
    tables, _ = C.coverage(campaign, prefix=V3[:9])
    by = {t.key: t for t in tables}
    assert set(by) == {"coverage_village", "coverage_township", "coverage_pending"}
    assert _rows(by["coverage_township"]) == {V3[:9] + "000": (2, 1, 1, "50.00%", "是")}


def test_it_shows_the_campaign_page_and_api_with_phases_and_coverage(client, people, campaign, visited, clock):
    clock("2026-06-01T08:00:00")
    client.force_login(people["township"])
    page = client.get(f"/reports/campaigns/{campaign.pk}/").content.decode()
    assert "2026-05-31 18:00" in page and "33.33%" in page and "村、乡镇账号录入已关闭" in page
    # Another township's household (as a cell or a link: a bare "B2" may turn up in the CSRF token).
    assert ">B2<" not in page and "/B2/" not in page
    assert "阜南县2026年集中排查" in client.get("/reports/campaigns/").content.decode()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=people['township'])}"}
    found = client.get("/api/v1/reports/campaigns?coverage=true", **auth).json()
    assert [c["name"] for c in found] == ["阜南县2026年集中排查"]
    assert found[0]["entry_closed"] is True
    assert [(p["kind"], p["due"], p["state"]) for p in found[0]["phases"]][2:] == [
        ("entry", "2026-05-31 18:00", "已截止"), ("correction", "2026-06-05", "进行中"), ("report", "2026-06-12", "未开始")]
    village = next(t for t in found[0]["coverage"] if t["key"] == "coverage_village")
    assert village["rows"] == [[V1, "一村", 3, 1, 2, "33.33%", "否"]]


# ------------------------------------------------------------------------------- profile calendars
def test_it_plans_yingkou_on_the_pianer_calendar_and_hunan_two_sweeps(db):
    yingkou = C.planned(year=2026, region="2108")
    assert [(p.key, [(s.kind, s.due_on, s.due_time) for s in p.phases]) for p in yingkou] == [("calendar", [
        ("preparation", dt.date(2026, 4, 26), None), ("field", dt.date(2026, 5, 27), None),
        ("entry", dt.date(2026, 5, 31), dt.time(18, 0)), ("correction", dt.date(2026, 6, 5), None),
        ("report", dt.date(2026, 6, 12), None)])]
    hunan = C.planned(year=2026, region="43")
    assert [(p.key, [(s.kind, s.opens_on, s.due_on, s.due_time) for s in p.phases]) for p in hunan] == [
        ("sweep-1/2", [("field", dt.date(2026, 1, 1), dt.date(2026, 6, 26), None),
                       ("entry", None, dt.date(2026, 6, 30), dt.time(18, 0)),
                       ("correction", None, dt.date(2026, 7, 5), None), ("report", None, dt.date(2026, 7, 12), None)]),
        ("sweep-2/2", [("field", dt.date(2026, 7, 1), dt.date(2026, 12, 27), None),
                       ("entry", None, dt.date(2026, 12, 31), dt.time(18, 0)),
                       ("correction", None, dt.date(2027, 1, 5), None), ("report", None, dt.date(2027, 1, 12), None)])]
    assert C.planned(year=2026, region="341225") == []  # 阜南: one sweep a year, no calendar: set by the county


def test_it_creates_the_planned_campaigns_once_from_the_command(db, capsys):
    call_command("campaign", "plan", "--year", "2026")
    assert sorted(Campaign.objects.values_list("region", "planned_key")) == [
        ("2108", "calendar"), ("43", "sweep-1/2"), ("43", "sweep-2/2")]
    call_command("campaign", "plan", "--year", "2026")
    assert Campaign.objects.count() == 3
    assert "已存在" in capsys.readouterr().out
    yingkou = Campaign.objects.get(region="2108")
    assert yingkou.target_groups == list(C.TARGET_GROUPS) and yingkou.coverage_target == 100
    entry = yingkou.phases.get(kind="entry")
    assert C.closes_at(entry) == at("2026-05-31T18:00:00")


def test_it_closes_a_yingkou_village_after_the_planned_entry_deadline(db, clock):
    from tests.factories import HouseholdFactory, ensure_region

    call_command("campaign", "plan", "--year", "2026", "--region", "2108")
    village = "210804001001"
    h = HouseholdFactory(household_number="YK1", village=ensure_region(village))
    user = UserFactory(username="yk-village", role=Role.VILLAGE, region_code=village)
    clock("2026-05-31T18:00:00")
    with pytest.raises(NotAllowed, match="2026-05-31 18:00 截止"):
        household_update(actor=user, household=h, changes={"last_visit_on": dt.date(2026, 5, 30)})
