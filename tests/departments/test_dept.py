"""fangfan dept import|batches."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fangfan.accounts.models import Role
from fangfan.departments.models import FeedBatch
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_imports_a_feed_and_prints_the_batch_summary(county, capsys):
    call_command("dept", "import", "医保", str(county / "医保.csv"), "--period", "2026-04")

    batch = FeedBatch.objects.get()
    out = capsys.readouterr().out
    assert f"医保 2026-04 医保.csv: 共 {batch.rows} 行" in out and f"匹配 {batch.matched} 行" in out
    call_command("dept", "batches")
    assert "医保\t2026-04\t341225" in capsys.readouterr().out


def test_it_refuses_bad_input_with_chinese_messages(county, tmp_path):
    bad = tmp_path / "公安.csv"
    bad.write_text("证件号码,事项,日期,车辆类型\n123,出生,2026-01-01,\n", encoding="utf-8")
    UserFactory(username="yb", role=Role.COUNTY_DEPT, region_code="341225000000", department="医保")

    with pytest.raises(CommandError, match="未知的部门"):
        call_command("dept", "import", "卫健", str(bad))
    with pytest.raises(CommandError, match="数据期应为"):
        call_command("dept", "import", "公安", str(bad), "--period", "2026-13")
    with pytest.raises(CommandError, match=r"公安.csv 第2行 事项 “出生”: 不是允许的值") as caught:
        call_command("dept", "import", "公安", str(bad))
    assert "第2行 证件号码 “***”: 证件号码应为18位" in str(caught.value)
    with pytest.raises(CommandError, match="无权操作: 只能导入本部门"):
        call_command("dept", "import", "公安", str(county / "公安.csv"), "--as", "yb")
    assert not FeedBatch.objects.exists()
