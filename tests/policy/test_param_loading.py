"""The parameters' three modules (types, loading, resolution) and the one name callers import (params)."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangfan.policy import param_loading, param_resolution, param_types, params
from fangfan.policy.param_types import Follow, ParameterError, ParamValue

BASE = textwrap.dedent(
    """\
    parameters:
      monitoring.income_line:
        unit: yuan_per_person_year
        description: 监测收入基准线
        values:
          - {start: 2020-01-01, value: 6000, source: 篇八}
      elimination.income_line:
        unit: yuan_per_person_year
        description: 风险消除收入线
        values:
          - {start: 2020-01-01, value: {follow: monitoring.income_line}, source: 篇九}
    """
)
FUNAN = textwrap.dedent(
    """\
    profile: {prefix: "341225", place: 阜南县, source: 篇十一}
    values:
      monitoring.income_line:
        - {start: 2023-01-01, value: 7260.5}
    """
)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / "341225_funan.yaml").write_text(FUNAN, encoding="utf-8")
    return tmp_path


def test_it_reads_a_directory_into_plain_definitions_and_values(directory):
    definitions, values = param_loading.read_directory(directory)
    assert sorted(definitions) == ["elimination.income_line", "monitoring.income_line"]
    assert definitions["monitoring.income_line"].kind == "money"
    national, funan = values["monitoring.income_line"][""], values["monitoring.income_line"]["341225"]
    assert [(pv.start, pv.value, pv.source) for pv in national] == [(dt.date(2020, 1, 1), Decimal("6000.00"), "篇八")]
    assert [(pv.start, pv.value, pv.source) for pv in funan] == [(dt.date(2023, 1, 1), Decimal("7260.50"), "篇十一")]
    assert values["elimination.income_line"][""][0].value == Follow("monitoring.income_line")


def test_it_resolves_what_loading_read(directory):
    loaded = params.ParameterSet.load(directory)
    assert loaded is params.ParameterSet.load(directory)  # cached per directory
    found = loaded.get("elimination.income_line", "341225103201", dt.date(2024, 1, 1))
    assert (found.value, found.prefix, found.via) == (Decimal("7260.50"), "341225", "monitoring.income_line")


def test_it_refuses_a_follow_cycle_when_values_are_checked(directory):
    definitions, values = param_loading.read_directory(directory)
    looped = param_loading.with_overrides(
        definitions, values, [("monitoring.income_line", None, "follow:elimination.income_line")]
    )
    with pytest.raises(ParameterError, match="follow 形成循环"):
        param_loading.check_follows(definitions, looped)


@given(
    amount=st.integers(min_value=0, max_value=10**9),
    prefix=st.sampled_from([None, "34", "341225", "341225103000"]),
)
def test_it_leaves_the_values_it_was_given_unchanged(amount, prefix):
    shipped = params.ParameterSet.load()
    definitions, values = shipped.definitions, shipped._values
    before = {name: {p: list(items) for p, items in by_prefix.items()} for name, by_prefix in values.items()}
    changed = param_loading.with_overrides(definitions, values, [("monitoring.income_line", prefix, amount)])
    layered, count = param_loading.with_layer(
        definitions, values, [("monitoring.income_line", "34", "2031-01-01", amount, "测试")], "layer", None
    )
    assert values == before
    key = "" if prefix is None else param_loading.normalise_prefix(prefix)
    assert changed["monitoring.income_line"][key] == [
        ParamValue("monitoring.income_line", key, dt.date.min, Decimal(amount).quantize(Decimal("0.01")), "what-if 覆盖")
    ]
    assert count == 1 and layered["monitoring.income_line"]["34"][-1].value == Decimal(amount)


def test_it_keeps_every_name_importable_from_params():
    for name in params.__all__:
        homes = [m for m in (param_types, param_loading, param_resolution) if name in vars(m)]
        assert homes and getattr(params, name) is getattr(homes[0], name), name
    # Names callers outside the policy package use (screening, commands, bench, tests).
    for name in ("_plain", "_money", "_parse_date", "NATIONAL", "DEFAULT_DIRECTORY", "RATIO_DTYPE"):
        assert hasattr(params, name)
    assert params.DEFAULT_DIRECTORY == Path(params.__file__).parent / "parameters"
    assert (params.DEFAULT_DIRECTORY / "base.yaml").is_file()


def test_it_layers_types_below_loading_below_resolution():
    # Types and loading never reach the set: loading gives plain data, the set wraps it.
    code = (
        "import sys, fangfan.policy.param_types, fangfan.policy.param_loading; "
        "print('fangfan.policy.param_resolution' in sys.modules, 'fangfan.policy.params' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
