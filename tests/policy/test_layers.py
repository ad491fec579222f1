"""The import-linter contracts of .importlinter (the layers of design.md), run by pytest so CI reports them."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(config: Path) -> subprocess.CompletedProcess:
    # The console script of the same environment, from the checkout (its fangfan is the one checked).
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_it_keeps_every_layer_contract():
    run = _lint(CONFIG)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 kept, 0 broken" in run.stdout


def test_it_names_the_whole_django_free_core():
    text = CONFIG.read_text(encoding="utf-8")
    for module in ("fangfan.common", "fangfan.regions.codes", "fangfan.registry.interchange", "fangfan.policy"):
        assert f"    {module}\n" in text


def test_it_breaks_the_contract_on_a_real_django_import(tmp_path):
    # Without its one ignored import (common's AppConfig), the core contract must catch
    # fangfan.common.apps -> django: proof that the contract reads Django imports at all.
    text = CONFIG.read_text(encoding="utf-8")
    stripped = text.replace("ignore_imports =\n    fangfan.common.apps -> django\n", "")
    assert stripped != text
    config = tmp_path / ".importlinter"
    config.write_text(stripped, encoding="utf-8")
    run = _lint(config)
    assert run.returncode == 1
    assert "fangfan.common.apps -> django" in run.stdout
    assert "3 kept, 1 broken" in run.stdout
