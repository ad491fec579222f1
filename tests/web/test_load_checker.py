"""The transaction count of the load test (bench/load_bench.py `check`): the clients' log of POSTs
against the case events and audit rows of a tiny fixture."""
from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest
from django.db.models import Max

from fangfan.audit.models import AuditEvent
from fangfan.workflows import services
from fangfan.workflows.models import Case, CaseEvent
from tests.workflows.factories import FUNAN, fake_rule_result, household, staff

pytestmark = pytest.mark.django_db

ON = dt.date(2026, 5, 4)
HOME_CHECK = {"investigators": ["李四", "王五"], "form": {"household_size": 3, "findings": "属实"}}


def load_bench():
    path = Path(__file__).resolve().parents[2] / "bench" / "load_bench.py"
    spec = importlib.util.spec_from_file_location("load_bench_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def run(monkeypatch):
    """Before the 'run': the id marks. During it: one case opened and checked, as a client logs it."""
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    marks = (CaseEvent.objects.aggregate(m=Max("id"))["m"] or 0, AuditEvent.objects.aggregate(m=Max("id"))["m"] or 0)
    case = services.identification_open(actor=people["village"], household=household(FUNAN), channel="cadre_visit",
                                        on=ON, consent={"signer_name": "户主"})
    services.case_advance(actor=people["village"], case_id=case.pk, transition="home_check", seen_version=1, on=ON,
                          data=HOME_CHECK)
    posts = [
        {"case": case.pk, "transition": "open", "seen": None, "outcome": "ok"},
        {"case": case.pk, "transition": "home_check", "seen": 1, "outcome": "ok"},
        {"case": case.pk, "transition": "home_check", "seen": 1, "outcome": "moved"},  # the colleague, too late
    ]
    return case, posts, marks


def count(posts, marks):
    return load_bench().check(posts, *marks, events=CaseEvent.objects, audits=AuditEvent.objects,
                              cases=Case.objects)


def test_it_finds_no_error_when_every_step_seen_done_was_written_once(run):
    case, posts, marks = run
    result = count(posts, marks)
    assert result["errors"] == []
    assert result["expected"] == result["found"] == {"open": 1, "home_check": 1}
    assert result["audit_found"] == 2 and result["outcomes"] == {"ok": 2, "moved": 1}


def test_it_reports_a_step_seen_done_that_the_database_does_not_hold(run):
    case, posts, marks = run
    posts.append({"case": case.pk, "transition": "village_review", "seen": 2, "outcome": "ok"})
    errors = count(posts, marks)["errors"]
    assert f"case {case.pk}: village_review (v3) seen done, 0 case events" in errors
    assert f"case {case.pk}: village_review (v3) seen done, 0 audit rows" in errors


def test_it_reports_a_write_the_client_was_told_had_failed(run):
    case, posts, marks = run
    posts[1]["outcome"] = "stale"
    errors = count(posts, marks)["errors"]
    assert any(e.startswith(f"case {case.pk}: home_check v2 written") for e in errors)


def test_it_reports_a_duplicated_transition_and_a_state_that_does_not_chain(run):
    case, posts, marks = run
    CaseEvent.objects.create(case=case, transition="home_check", from_state="applied", to_state="checked",
                             actor_name="x", effective_on=ON, version=2)
    CaseEvent.objects.create(case=case, transition="village_review", from_state="applied", to_state="village_notice",
                             actor_name="x", effective_on=ON, version=4)
    errors = count(posts, marks)["errors"]
    assert f"case {case.pk}: version(s) [2] written twice (duplicated transition)" in errors
    assert f"case {case.pk}: versions [1, 2, 2, 4] have a gap (a skipped step)" in errors
    assert any("from applied but the case was checked" in e for e in errors)


def test_it_reports_a_stale_answer_on_a_case_nobody_changed(run):
    case, posts, marks = run
    posts.append({"case": case.pk, "transition": "village_review", "seen": 2, "outcome": "stale"})
    errors = count(posts, marks)["errors"]
    assert f"case {case.pk}: village_review answered stale at v2 but nobody had changed it" in errors
