import pytest
from django.core.management import CommandError, call_command

from fangfan.accounts.models import User
from fangfan.audit.models import AuditEvent
from fangfan.regions.scope import prefix_for
from tests.factories import HouseholdFactory, ensure_region

pytestmark = pytest.mark.django_db


def test_it_creates_one_demo_login_per_role_scoped_to_the_demo_county(capsys):
    HouseholdFactory(village=ensure_region("341225103208"))

    call_command("demo_users", "--county", "341225")
    call_command("demo_users", "--county", "341225")  # a second run reuses them

    users = {u.username: u for u in User.objects.all()}
    assert len(users) == 8
    assert prefix_for(users["village"]) == "341225103208"
    assert prefix_for(users["township"]) == "341225103"
    assert prefix_for(users["county"]) == "341225"
    assert prefix_for(users["city"]) == "3412"
    assert prefix_for(users["province"]) == "34"
    assert prefix_for(users["admin"]) is None  # the administrator reads no household file
    assert users["medical"].department == "医保"
    assert users["village"].check_password("fangfan-demo")
    assert AuditEvent.objects.filter(action="user.create").count() == 8
    assert "http://127.0.0.1:8000/" in capsys.readouterr().out


def test_it_refuses_a_county_without_imported_villages():
    with pytest.raises(CommandError, match="没有已导入的村"):
        call_command("demo_users", "--county", "130126")
