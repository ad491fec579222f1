import os

import pytest

os.environ.setdefault("FANGFAN_DATA_DIR", "/tmp/fangfan-test-data")

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "spec", "examples")


@pytest.fixture
def spec_examples():
    """The spec's example files when shared/ sits beside the repo, else the copy in tests/data."""
    from pathlib import Path

    shared = Path(EXAMPLES).resolve()
    local = Path(__file__).parent / "data" / "examples"
    return shared if shared.exists() else local
