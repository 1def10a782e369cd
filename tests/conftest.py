from __future__ import annotations

import re
from pathlib import Path

import pytest

from pdreport.plan import load_plan
from pdreport.plan.load import default_plan_path

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def plan():
    return load_plan()


@pytest.fixture(scope="session")
def plan_text() -> str:
    return default_plan_path().read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def notice() -> str:
    """The notice with all white space removed (the text file carries PDF line breaks)."""
    return re.sub(r"\s+", "", (DATA / "notice-2024.txt").read_text(encoding="utf-8"))
