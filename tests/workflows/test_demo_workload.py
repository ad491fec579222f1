"""make demo: after generate + import + screen + demo_users, demo_workload gives every demo
login something to do in the demo village."""
import pytest
from django.core.management import call_command
from django.utils import timezone

from fangfan.accounts.models import User
from fangfan.workflows import worklists as WL
from fangfan.workflows.models import Case

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

COUNTY = "341225"


@pytest.fixture
def demo(tmp_path):
    call_command("generate", str(tmp_path / "county"), county=COUNTY, households=300, seed=1, verbosity=0)
    call_command("import", str(tmp_path / "county"), verbosity=0)
    call_command("screen", as_of=timezone.localdate().isoformat(), verbosity=0)
    call_command("demo_users", county=COUNTY, stdout=open("/dev/null", "w"))
    call_command("demo_workload", county=COUNTY, stdout=open("/dev/null", "w"))
    return {u.username: u for u in User.objects.all()}


def counts(user):
    return {s["key"]: s["count"] for s in WL.worklist_summary(actor=user, as_of=timezone.localdate())}


def test_it_gives_every_demo_login_work_in_the_demo_village(demo):
    village = demo["village"]
    cases = Case.objects.filter(village_code=village.region_code)
    states = set(cases.values_list("kind", "state"))
    for state in ("applied", "checked", "village_notice", "township_review", "county_comparison", "county_approval",
                  "identified"):
        assert ("identification", state) in states
    assert any(kind == "elimination" for kind, _ in states)

    mine = counts(village)
    assert mine["waiting"] >= 4 and mine["candidates"] >= 1 and mine["objections"] == 1
    assert mine["notices"] == 1 and mine["visits"] >= 1 and mine["no_contact"] >= 1 and mine["plans"] >= 1
    overdue = WL.overdue(actor=village, as_of=timezone.localdate())
    assert {r["level"] for r in overdue} >= {"村级", "乡镇"}
    notice = WL.notices(actor=village, as_of=timezone.localdate())[0]
    assert notice["status"] == "即将结束" and notice["open_objections"] == 1
    assert counts(demo["township"])["waiting"] >= 1
    assert counts(demo["county"])["waiting"] >= 2
    assert counts(demo["province"])["overdue"] >= 2


def test_it_does_not_duplicate_anything_when_run_twice(demo):
    before = Case.objects.count()
    call_command("demo_workload", county=COUNTY, stdout=open("/dev/null", "w"))
    assert Case.objects.count() == before
