"""End-to-end test setup: the in-repo test plugin and harness are importable."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import Perfgate


@pytest.fixture
def perfgate(tmp_path: Path) -> Perfgate:
    return Perfgate(tmp_path)
