"""The scope results kept by worklists.cached: a write recomputes the scopes it can change (its
region, the regions above and below it, everything for a write of no region or of the shell)
and leaves the other scopes' results in place."""
import datetime as dt
from collections import Counter

import pytest
from django.db import transaction

from fangfan.accounts.models import Role
from fangfan.audit.models import RegionVersion
from fangfan.audit.services import audit_bulk, audit_record
from fangfan.workflows import worklists as WL
from fangfan.workflows.visits import visit_record
from tests.workflows.factories import FUNAN, HUNAN, D, household, user

pytestmark = pytest.mark.django_db

ON = D(2025, 3, 20)
FUNAN_NEIGHBOUR = "341225103209"  # same township as FUNAN
FUNAN_OTHER_TOWNSHIP = "341225104201"
OTHER_COUNTY = "341226"  # same city (3412) and province as FUNAN
SCOPES = ("", "34", "3412", "341225", "341225103", FUNAN, FUNAN_NEIGHBOUR, "341225104", OTHER_COUNTY, "43")


@pytest.fixture(autouse=True)
def own_cache(settings):
    # This process's own cache: the file cache of the settings is shared with every other test
    # run on the machine, whose clearing between tests would count here as recomputations.
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "worklists-cache-tests"}}
    cache.clear()


class Computations:
    """cached() of one name per scope, counting how often each scope was computed."""

    def __init__(self):
        self.count = Counter()

    def get(self, scope: str):
        def compute():
            self.count[scope] += 1
            return (scope, self.count[scope])

        return WL.cached("t", scope, ON, compute)

    def all(self, scopes=SCOPES) -> dict[str, int]:
        for scope in scopes:
            self.get(scope)
        return dict(self.count)


def write(region: str, actor="user"):
    actor = user(Role.COUNTY_RR, "341225", name="writer") if actor == "user" else actor
    audit_record(actor=actor, action="test.write", object_type="t", object_key="1", region_code=region)


@pytest.fixture
def kept():
    computed = Computations()
    assert computed.all() == {scope: 1 for scope in SCOPES}
    assert computed.all() == {scope: 1 for scope in SCOPES}  # nothing written: every result kept
    return computed


def recomputed(computed: Computations) -> set[str]:
    before = dict(computed.count)
    after = computed.all()
    return {scope for scope in SCOPES if after[scope] > before[scope]}


def test_it_recomputes_the_village_and_the_scopes_above_it_after_a_write_in_the_village(kept):
    write(FUNAN)
    assert recomputed(kept) == {"", "34", "3412", "341225", "341225103", FUNAN}
    # the neighbour village, the other township, the other county and the other province kept theirs
    assert recomputed(kept) == set()


def test_it_recomputes_every_scope_inside_a_county_after_a_county_write_and_none_of_another_county(kept):
    write("341225")  # a county parameter, the county's import or screening: 341225000000
    assert recomputed(kept) == {"", "34", "3412", "341225", "341225103", FUNAN, FUNAN_NEIGHBOUR, "341225104"}
    write("3412")  # a city-wide write reaches both counties of the city
    assert recomputed(kept) == set(SCOPES) - {"43"}


def test_it_recomputes_every_scope_after_a_write_of_no_region_or_of_the_shell(kept):
    write("")
    assert recomputed(kept) == set(SCOPES)
    write(FUNAN, actor=None)  # the shell: its imports may move households between counties
    assert recomputed(kept) == set(SCOPES)
    write("000000000000")
    assert recomputed(kept) == set(SCOPES)


def test_it_counts_each_region_of_a_bulk_write(kept):
    audit_bulk(actor=user(Role.COUNTY_RR, "341225", name="importer"), rows=[
        {"action": "t", "object_type": "t", "object_key": str(n), "region_code": code}
        for n, code in enumerate([FUNAN, FUNAN, "341225104201"])
    ])
    assert recomputed(kept) == {"", "34", "3412", "341225", "341225103", FUNAN, "341225104"}
    assert RegionVersion.objects.get(region=FUNAN).writes == 1  # one write, whatever its rows


def test_it_counts_nothing_for_a_write_rolled_back(kept):
    with pytest.raises(RuntimeError), transaction.atomic():
        write(FUNAN)
        raise RuntimeError("失败")
    assert recomputed(kept) == set()


def test_it_treats_a_twelve_digit_township_code_as_its_township():
    computed = Computations()
    computed.get("341225103000")
    write(FUNAN)
    computed.get("341225103000")
    assert computed.count["341225103000"] == 2


@pytest.fixture
def counties(monkeypatch):
    """A county user in 阜南 and one in 湖南, each with a visit overdue; the visit schedules and
    summaries computed counted by scope."""
    schedules, summaries = Counter(), Counter()
    compute_schedule, summary = WL._compute_visit_schedule, WL._summary

    def counted_schedule(prefix, as_of, empty):
        schedules[prefix] += 1
        return compute_schedule(prefix, as_of, empty)

    def counted_summary(*, actor, **kwargs):
        summaries[actor.region_prefix] += 1
        return summary(actor=actor, **kwargs)

    monkeypatch.setattr(WL, "_compute_visit_schedule", counted_schedule)
    monkeypatch.setattr(WL, "_summary", counted_summary)
    late = household(FUNAN, category="marginal", identified_on=D(2025, 1, 10))  # due 2025-02-10
    household(HUNAN, category="marginal", identified_on=D(2025, 1, 10))
    people = {"a": user(Role.COUNTY_RR, FUNAN[:6]), "b": user(Role.COUNTY_RR, HUNAN[:6]),
              "village": user(Role.VILLAGE, FUNAN)}
    return people, late, schedules, summaries


def visits_count(actor) -> int:
    return {s["key"]: s for s in WL.worklist_summary(actor=actor, as_of=ON)}["visits"]["count"]


def test_it_shows_county_a_its_new_visit_at_once_and_leaves_county_b_lists_in_place(counties):
    people, late, schedules, summaries = counties
    assert (visits_count(people["a"]), visits_count(people["b"])) == (1, 1)
    assert len(WL.visits(actor=people["b"], as_of=ON)) == 1
    assert (schedules, summaries) == ({"341225": 1, "430121": 1}, {"341225": 1, "430121": 1})

    visit_record(actor=people["village"], household=late, visited_on=ON, method="入户", visitors="李四")
    assert visits_count(people["a"]) == 0  # never stale: the visit is off county A's list at once
    assert visits_count(people["b"]) == 1
    assert len(WL.visits(actor=people["b"], as_of=ON)) == 1
    assert schedules == {"341225": 2, "430121": 1} and summaries == {"341225": 2, "430121": 1}

    write("")  # a write of no region (a national parameter, a restore) reaches every county
    assert (visits_count(people["a"]), visits_count(people["b"])) == (0, 1)
    assert schedules == {"341225": 3, "430121": 2} and summaries == {"341225": 3, "430121": 2}
