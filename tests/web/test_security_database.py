"""A database that goes away in the middle of a request: the user gets a Chinese 503 page that
says nothing was saved, and indeed no half-written case is left; once it is back, the same
form goes through."""
import re

import pytest
from django.db import OperationalError, connection

from fangfan.audit.models import AuditEvent
from fangfan.web.middleware import DATABASE_DOWN_MESSAGE
from fangfan.workflows.models import Case
from tests.workflows.factories import FUNAN, fake_rule_result, household, staff


class GoesAwayAfter:
    """A database that stops answering right after the statement matching `pattern` ran."""

    def __init__(self, pattern: str):
        self.pattern = re.compile(pattern)
        self.gone = False

    def __call__(self, execute, sql, params, many, context):
        if self.gone:
            raise OperationalError("server closed the connection unexpectedly")
        result = execute(sql, params, many, context)
        if self.pattern.search(sql):
            self.gone = True
        return result


@pytest.fixture
def people(monkeypatch):
    fake_rule_result(monkeypatch)
    return staff(FUNAN)


@pytest.mark.django_db(transaction=True)
def test_it_answers_a_chinese_503_and_leaves_no_half_written_case(client, people):
    h = household(FUNAN, head="张三")
    client.force_login(people["village"])
    url = f"/cases/new/identification/{h.household_number}/"
    assert client.get(url).status_code == 200
    cases, events = Case.objects.count(), AuditEvent.objects.count()
    form = {"channel": "cadre_visit", "reason": "走访发现因病致贫风险"}

    outage = GoesAwayAfter(r'INSERT INTO "workflows_case"')
    with connection.execute_wrapper(outage):
        response = client.post(url, form)
    assert outage.gone, "the case insert was reached before the database went away"
    assert response.status_code == 503
    page = response.content.decode()
    assert DATABASE_DOWN_MESSAGE in page and "Traceback" not in page
    assert response["Retry-After"] == "30"
    assert Case.objects.count() == cases and AuditEvent.objects.count() == events

    # Back again: the same form opens the case.
    response = client.post(url, form)
    assert response.status_code == 302 and Case.objects.count() == cases + 1


def test_it_answers_json_under_the_api_path(rf):
    import json

    from fangfan.web.middleware import DatabaseUnavailableMiddleware

    request = rf.get("/api/v1/households/")
    response = DatabaseUnavailableMiddleware(lambda r: None).process_exception(request, OperationalError("gone"))
    assert response.status_code == 503
    assert json.loads(response.content) == {"detail": DATABASE_DOWN_MESSAGE}
