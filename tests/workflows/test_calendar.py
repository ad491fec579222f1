import datetime as dt
import itertools

import chinese_calendar
import pytest

from fangfan.workflows import identification as W1
from fangfan.workflows import selectors
from fangfan.workflows.calendar import CalendarUnknown, Limit, WorkCalendar, notice_closable_from, notice_last_day
from fangfan.workflows.models import HolidayEntry
from tests.workflows.factories import D, FUNAN, LINGSHOU, household, staff

pytestmark = pytest.mark.django_db


def _first_year_the_library_does_not_know() -> int:
    """The first year (from 2025 on) without a holiday table in the installed chinesecalendar.
    Every release adds the year the State Council has just announced, so the tests of years the
    library does not know use this year, not a fixed one: they hold whichever release is installed."""
    for year in itertools.count(2025):
        try:
            chinese_calendar.is_workday(dt.date(year, 1, 1))
        except NotImplementedError:
            return year
    raise AssertionError("unreachable")


UNKNOWN = _first_year_the_library_does_not_know()
LAST_KNOWN = UNKNOWN - 1
MISSING = f"无法计算: {UNKNOWN}年节假日安排未录入"


def _first(weekday: int, after: dt.date) -> dt.date:
    """The first day after `after` falling on `weekday` (0 = Monday)."""
    return after + dt.timedelta(days=(weekday - after.weekday() - 1) % 7 + 1)


def test_it_counts_national_day_2025_as_holidays_and_the_makeup_sunday_and_saturday_as_working_days():
    cal = WorkCalendar(LINGSHOU)
    assert cal.is_workday(D(2025, 9, 28)) and cal.is_workday(D(2025, 10, 11))  # 调休: Sunday, Saturday
    assert not any(cal.is_workday(D(2025, 10, d)) for d in range(1, 9))
    assert not cal.is_workday(D(2025, 10, 12))
    # Friday 26 September + 20 working days: 28, 29, 30 Sep, 9, 10, 11 (Sat), 13-17, 20-24, 27-30 Oct
    assert cal.add_working_days(D(2025, 9, 26), 20) == D(2025, 10, 30)
    assert cal.working_days_between(D(2025, 9, 26), D(2025, 10, 12)) == 6


def test_it_counts_the_spring_festival_2026_with_its_makeup_saturdays():
    cal = WorkCalendar(LINGSHOU)
    # Thursday 12 February: 13, 14 (Sat, 调休), then 24-28 Feb (28 Sat, 调休), 2-6, 9-13, 16-18 March
    assert cal.add_working_days(D(2026, 2, 12), 20) == D(2026, 3, 18)
    assert cal.deadline(D(2026, 2, 12), Limit(15, "calendar")) == D(2026, 2, 27)


def test_it_finds_the_first_weekday_after_a_day():
    # 2027-01-01 is a Friday
    assert _first(5, D(2027, 1, 1)) == D(2027, 1, 2) and _first(0, D(2027, 1, 1)) == D(2027, 1, 4)
    assert _first(4, D(2027, 1, 1)) == D(2027, 1, 8)


def test_it_says_a_deadline_in_an_unentered_year_cannot_be_computed():
    cal = WorkCalendar(LINGSHOU)
    # at most 9 working days are left after 20 December: the 20th falls in the unknown year
    with pytest.raises(CalendarUnknown, match=MISSING):
        cal.add_working_days(D(LAST_KNOWN, 12, 20), 20)


def test_it_uses_the_county_holiday_table_for_years_the_library_does_not_know():
    new_year = D(UNKNOWN, 1, 1)
    makeup, sunday, monday = _first(5, new_year), _first(6, new_year), _first(0, new_year)
    HolidayEntry.objects.create(region_prefix="130126", date=new_year, is_workday=False, note="元旦")
    HolidayEntry.objects.create(region_prefix="130126", date=makeup, is_workday=True, note="调休上班")
    cal = WorkCalendar(LINGSHOU)
    assert not cal.is_workday(new_year) and cal.is_workday(makeup)
    # what the county did not list is an ordinary weekday or weekend
    assert cal.is_workday(monday) and not cal.is_workday(sunday)
    # e.g. 2027: Jan 1 holiday; 4-8 (5), 9 Sat (6), 11-15 (11), 18-22 (16), 25-28 (20) -> 28 January
    working = [day for day in (new_year + dt.timedelta(days=n) for n in range(60))
               if day != new_year and (day.weekday() < 5 or day == makeup)]
    assert cal.add_working_days(D(LAST_KNOWN, 12, 31), 20) == working[19]
    assert cal.working_days_between(D(LAST_KNOWN, 12, 31), working[19]) == 20
    # another county has not entered the year
    with pytest.raises(CalendarUnknown, match=MISSING):
        WorkCalendar(FUNAN).is_workday(monday)


def test_it_lets_a_county_entry_override_the_official_calendar():
    HolidayEntry.objects.create(region_prefix="130126", date=D(2025, 10, 13), is_workday=False, note="县内防汛")
    assert not WorkCalendar(LINGSHOU).is_workday(D(2025, 10, 13))
    assert WorkCalendar(FUNAN).is_workday(D(2025, 10, 13))


def test_it_runs_a_notice_from_d_through_d_plus_n_minus_1():
    assert notice_last_day(D(2025, 9, 29), 7) == D(2025, 10, 5)
    assert notice_closable_from(D(2025, 9, 29), 7) == D(2025, 10, 6)


@pytest.mark.parametrize(
    "village, deadline, limit",
    [(FUNAN, D(2025, 10, 11), "15个自然日"), (LINGSHOU, D(2025, 10, 30), "20个工作日")],
)
def test_it_computes_the_identification_time_limit_of_the_profile_across_national_day(village, deadline, limit):
    people = staff(village)
    case = W1.identification_open(actor=people["village"], household=household(village), channel="self_declared",
                                  on=D(2025, 9, 26))
    status = W1.deadline_status(case, D(2025, 10, 11))
    assert (status["deadline"], status["limit"], status["overdue"], status["level"]) == (
        deadline, limit, False, "village")
    assert W1.deadline_status(case, deadline + dt.timedelta(days=1))["overdue"] is True


def test_it_lists_overdue_cases_by_level_and_only_inside_the_actor_region():
    people = staff(FUNAN)
    funan_case = W1.identification_open(actor=people["village"], household=household(FUNAN),
                                        channel="self_declared", on=D(2025, 9, 26))
    ling = staff(LINGSHOU)
    W1.identification_open(actor=ling["village"], household=household(LINGSHOU), channel="self_declared",
                           on=D(2025, 9, 26))
    rows = selectors.overdue(actor=people["county"], as_of=D(2025, 10, 20))
    assert [(r["case"].pk, r["level"], r["deadline"], r["days_over"]) for r in rows] == [
        (funan_case.pk, "village", D(2025, 10, 11), 9)]
    assert selectors.overdue(actor=people["county"], as_of=D(2025, 10, 20), level="county") == []
    # 灵寿's 20 working days are not over on 20 October
    assert selectors.overdue(actor=ling["county"], as_of=D(2025, 10, 20)) == []
    assert len(selectors.overdue(actor=ling["county"], as_of=D(2025, 10, 31))) == 1
    assert selectors.overdue_counts(actor=people["province"], as_of=D(2025, 10, 20)) == {"village": 1}


def test_it_lists_a_case_whose_deadline_cannot_be_computed_with_the_reason():
    ling = staff(LINGSHOU)
    W1.identification_open(actor=ling["village"], household=household(LINGSHOU), channel="self_declared",
                           on=D(LAST_KNOWN, 12, 20))
    rows = selectors.overdue(actor=ling["county"], as_of=D(LAST_KNOWN, 12, 21))
    assert [(r["deadline"], r["message"]) for r in rows] == [(None, MISSING)]


def test_it_lets_county_staff_enter_their_own_holidays_from_the_shell():
    from io import StringIO

    from django.core.management import CommandError, call_command

    people = staff(LINGSHOU)
    out = StringIO()
    new_year, monday = f"{UNKNOWN}-01-01", _first(0, D(UNKNOWN, 1, 1)).isoformat()
    with pytest.raises(CommandError, match=MISSING):
        call_command("holidays", "check", monday, "--village", LINGSHOU, stdout=out)
    with pytest.raises(CommandError, match="只能录入本辖区"):
        call_command("holidays", "set", new_year, "--rest", "--prefix", "341225",
                     "--as", people["county"].username, stdout=out)
    with pytest.raises(CommandError, match="县级及以上"):
        call_command("holidays", "set", new_year, "--rest", "--prefix", "130126",
                     "--as", people["village"].username, stdout=out)
    call_command("holidays", "set", new_year, "--rest", "--prefix", "130126", "--note", "元旦",
                 "--as", people["county"].username, stdout=out)
    call_command("holidays", "check", monday, "--village", LINGSHOU, stdout=out)
    call_command("holidays", "list", "--year", str(UNKNOWN), stdout=out)
    text = out.getvalue()
    assert f"{monday}: 工作日" in text and f"{new_year}  休  130126  元旦" in text
    from fangfan.audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="holiday.set", object_key=f"130126:{new_year}").count() == 1
