import threading

import pytest
from django.db import connection, connections

from fangfan.accounts.models import Role
from fangfan.audit.models import AuditEvent
from fangfan.workflows import engine, selectors
from fangfan.workflows import identification as W1
from fangfan.workflows.engine import available, fire
from fangfan.workflows.errors import ConcurrentEditError, NotAllowed, WorkflowError
from fangfan.workflows.models import Case, CaseEvent
from tests.workflows.factories import D, FUNAN, HUNAN, YINGKOU, fake_rule_result, household, staff, user

CONSENT = {"signer_name": "张三"}
CHECK = {"investigators": ["李四", "王五"], "form": {"x": 1}}


def _opened(people, village=FUNAN):
    return W1.identification_open(actor=people["village"], household=household(village), channel="self_declared",
                                  on=D(2025, 3, 3), consent=CONSENT)


@pytest.mark.django_db
@pytest.mark.parametrize("kind, village", [
    ("identification", FUNAN), ("elimination", FUNAN), ("rollback", FUNAN), ("removal", FUNAN),
    ("rollback", YINGKOU), ("removal", YINGKOU),
])
def test_it_gives_each_role_only_its_own_transitions(kind, village):
    people = staff(village)
    people["county_ca"] = user(Role.COUNTY_CA, village[:6])
    people["dept"] = user(Role.COUNTY_DEPT, village[:6])
    people["admin"] = user(Role.ADMIN, "")
    case = Case(kind=kind, village_code=village, state="requested", opened_on=D(2025, 5, 1))
    wf = engine.workflow_for(kind)
    fired_by = {}
    for who, actor in people.items():
        for t in wf.transitions:
            try:
                engine.check_actor(case, t, actor)
                fired_by.setdefault(t.name, set()).add(who)
            except NotAllowed:
                pass
    # village-side steps: village and township users; township steps: township; decisions: county or the
    # level the profile names; city/province only there; civil affairs, departments and admins: nothing.
    for name, who in fired_by.items():
        assert who <= {"village", "township", "county", "city", "province"}, name
        assert who in ({"village", "township"}, {"township"}, {"county"}, {"province"}), (name, who)
    approvals = {"identification": "approve", "elimination": "approve", "rollback": "county_approve",
                 "removal": "county_approve"}
    assert fired_by[approvals[kind]] == {"county"}
    if kind in ("rollback", "removal"):
        assert fired_by.get("higher_approve", set()) == ({"province"} if village == YINGKOU else set())


@pytest.mark.django_db
def test_it_refuses_a_user_outside_the_case_region(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    case = _opened(people)
    neighbour = user(Role.VILLAGE, FUNAN[:9] + "999")
    other_county = user(Role.COUNTY_RR, HUNAN[:6])
    with pytest.raises(NotAllowed, match="管辖范围"):
        fire(case, "home_check", actor=neighbour, seen_version=case.version, on=D(2025, 3, 4), data=CHECK)
    with pytest.raises(NotAllowed, match="管辖范围"):
        W1.identification_open(actor=neighbour, household=household(FUNAN), channel="proxy", on=D(2025, 3, 4))
    # the county of another place sees nothing and can fire nothing
    assert selectors.case_list(actor=other_county).count() == 0
    with pytest.raises(WorkflowError, match="不存在或不在本账号的管辖范围内"):
        selectors.case_get(actor=other_county, case_id=case.pk)
    assert available(case, other_county) == []
    assert selectors.case_list(actor=people["county"]).get() == case
    assert [t.name for t, _ in available(case, people["village"])] == [
        "record_consent", "green_channel", "home_check", "withdraw"]
    assert Case.objects.get(pk=case.pk).state == "applied"


@pytest.mark.django_db
def test_it_refuses_the_second_of_two_sessions_that_loaded_the_same_version(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    case = _opened(people)
    first = Case.objects.get(pk=case.pk)
    second = Case.objects.get(pk=case.pk)
    fire(first, "home_check", actor=people["village"], seen_version=first.version, on=D(2025, 3, 4), data=CHECK)
    with pytest.raises(ConcurrentEditError, match="已被他人修改"):
        fire(second, "withdraw", actor=people["township"], seen_version=second.version, on=D(2025, 3, 4),
             comment="农户撤回")
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.state, fresh.version) == ("checked", 2)
    assert list(CaseEvent.objects.filter(case=case).values_list("transition", flat=True)) == ["open", "home_check"]


@pytest.mark.django_db
def test_it_rolls_back_the_state_when_a_step_fails_after_the_claim(monkeypatch):
    def broken(household, on):
        raise WorkflowError("规则结果暂不可用")

    from fangfan.workflows import results

    monkeypatch.setattr(results, "rule_result", broken)
    people = staff(FUNAN)
    case = _opened(people)
    before = AuditEvent.objects.count()
    with pytest.raises(WorkflowError, match="规则结果暂不可用"):
        fire(case, "home_check", actor=people["village"], seen_version=case.version, on=D(2025, 3, 4), data=CHECK)
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.state, fresh.version) == ("applied", 1)
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent sessions need PostgreSQL")
def test_it_lets_only_one_of_two_concurrent_threads_fire(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    case = _opened(people)
    barrier = threading.Barrier(2)
    outcomes = []

    def worker(name, actor, data, comment):
        try:
            seen = Case.objects.get(pk=case.pk).version
            barrier.wait()
            fire(case.pk, name, actor=actor, seen_version=seen, on=D(2025, 3, 4), data=data, comment=comment)
            outcomes.append(("ok", name))
        except ConcurrentEditError as exc:
            outcomes.append(("refused", name, str(exc)))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=worker, args=("home_check", people["village"], CHECK, "")),
        threading.Thread(target=worker, args=("withdraw", people["township"], {}, "农户撤回")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"]
    winner = next(o[1] for o in outcomes if o[0] == "ok")
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.version == 2 and fresh.state == {"home_check": "checked", "withdraw": "withdrawn"}[winner]
    assert CaseEvent.objects.filter(case=case).count() == 2


@pytest.mark.django_db
def test_it_refuses_a_second_open_case_of_the_same_kind_even_past_the_service_checks():
    people = staff(FUNAN)
    h = household()
    engine.open_case(kind="identification", household=h, actor=people["village"], on=D(2025, 3, 3))
    with pytest.raises(ConcurrentEditError, match="已有办理中的「识别纳入」案件"):
        engine.open_case(kind="identification", household=h, actor=people["village"], on=D(2025, 3, 3))
    assert Case.objects.filter(household=h).count() == 1
