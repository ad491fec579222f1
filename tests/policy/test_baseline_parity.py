"""The benchmark's plain-Python baseline (bench/baseline_rules.py) and the Polars engine give
the same contract columns (all but the explanation) on a generated county — two independent
implementations of rules.md checking each other, with shipped and with what-if parameters."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl
import pytest

from fangfan.policy.evaluate import OUTPUT_COLUMNS, evaluate_tables, format_results
from fangfan.policy.params import ParameterSet
from fangfan.registry.interchange.read import read_interchange
from fangfan.registry.interchange.write import write_tables
from fangfan.registry.synthetic import generate_county

BASELINE = Path(__file__).resolve().parents[2] / "bench" / "baseline_rules.py"
COMPARED = [c for c in OUTPUT_COLUMNS if c != "explanation"]


@pytest.fixture(scope="module")
def baseline():
    spec = importlib.util.spec_from_file_location("baseline_rules", BASELINE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    # 610902 (安康) has a 低保 line, so warnings and low-income classes are exercised too.
    generated = generate_county("610902", 3000, 21)
    folder = tmp_path_factory.mktemp("county")
    write_tables({n: t for n, t in generated.tables.items()}, folder, "csv")
    read = read_interchange(folder)
    assert read.ok
    return folder, read.tables, generated.reference_date


def _both(baseline, county, params, tmp_path):
    folder, tables, as_of = county
    out = tmp_path / "baseline.csv"
    baseline.evaluate_folder(folder, out, as_of=as_of, params=params)
    plain = pl.read_csv(out, infer_schema=False).select(COMPARED).fill_null("")
    engine = format_results(evaluate_tables(tables, as_of=as_of, params=params)).select(COMPARED)
    return plain, engine


def _differences(plain: pl.DataFrame, engine: pl.DataFrame) -> dict[str, int]:
    return {c: int((plain[c] != engine[c]).sum()) for c in COMPARED if (plain[c] != engine[c]).any()}


def test_it_agrees_with_the_engine_on_shipped_parameters(baseline, county, tmp_path):
    plain, engine = _both(baseline, county, ParameterSet.load(), tmp_path)
    assert plain.height == engine.height == 3000
    assert _differences(plain, engine) == {}
    # The county exercises the rule families that the comparison is about.
    assert {"red", "orange", "yellow"} <= set(engine["warning_color"].to_list())
    assert {"dibao_eligible", "dibao_marginal"} <= set(engine["low_income_class"].to_list())


def test_it_agrees_with_the_engine_under_what_if_parameters(baseline, county, tmp_path):
    params = ParameterSet.load().with_overrides(
        [
            ("elimination.min_months_assisted", None, "6"),
            ("elimination.min_months_monitored", None, "3"),
            ("dibao.employment_cost_rate", None, "0.333333"),  # fractions of a fen before rounding
            ("dibao.marginal_multiplier", None, "2"),
            ("dibao.expense_hardship_line_multiplier", None, "2"),
            ("hardship.rigid_expense_ratio", None, "0.3"),
            ("dibao.line_rural_year", "61", "6100.07"),
        ]
    )
    plain, engine = _both(baseline, county, params, tmp_path)
    assert _differences(plain, engine) == {}
    assert {"eligible", "tracking", "not_eligible"} <= set(engine["elimination"].to_list())
    assert "expense_hardship" in set(engine["low_income_class"].to_list())
