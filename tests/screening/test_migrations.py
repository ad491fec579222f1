"""Results stored before the IDs were encrypted named the single-person candidates by plain ID:
the migration screening 0004 names them by blind index, as screenings write them now."""
import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from fangfan.screening.models import ScreeningResult
from fangfan.screening.services import screening_run
from tests.lowincome.factories import family

pytestmark = pytest.mark.django_db


def test_it_converts_the_plain_ids_of_stored_single_person_candidates_to_blind_indexes():
    migration = importlib.import_module("fangfan.screening.migrations.0004_single_person_by_blind_index")
    # 低保边缘 in 安康 with a 二级 disabled member: the one candidate
    h = family(wage_yuan=12000, people=(("户主", dt.date(1980, 5, 1)), ("重残", dt.date(1990, 1, 1),
                                                                     {"disability_grade": "2", "disability_kind": "visual"})))
    disabled = h.members.get(name="重残")
    screening_run(actor=None, as_of=dt.date(2026, 3, 31), region="610902")
    result = ScreeningResult.objects.get(household=h)
    assert result.single_person_dibao == disabled.id_index  # as written now
    ScreeningResult.objects.filter(pk=result.pk).update(single_person_dibao=disabled.id_number)  # as before

    for _ in range(2):  # run again after an interruption: nothing more changes
        migration.index_candidates(apps, SimpleNamespace(connection=connection))
        result.refresh_from_db()
        assert result.single_person_dibao == disabled.id_index
