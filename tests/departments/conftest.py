from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from fangfan.registry.services import registry_import
from fangfan.registry.synthetic import generate_county, write_county

COUNTY = "341225"


@pytest.fixture(scope="session")
def written(tmp_path_factory) -> Path:
    """A small generated county (tables and the twelve department feeds), written once."""
    out = tmp_path_factory.mktemp("county")
    write_county(generate_county(COUNTY, 150, seed=7, year=2025), out)
    return out


@pytest.fixture
def county(db, written) -> Path:
    """The county imported into the registry; its department files under county/departments."""
    registry_import(actor=None, path=written)
    return written / "departments"


@pytest.fixture
def planted(written) -> pl.DataFrame:
    return pl.read_csv(written / "departments" / "planted.csv", infer_schema_length=0)
