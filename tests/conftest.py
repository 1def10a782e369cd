from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import settings

from pdreport.plan import load_plan
from pdreport.plan.load import default_plan_path

DATA = Path(__file__).parent / "data"

# Property tests search at random on a developer's machine (that is how they find new cases);
# in CI they replay a fixed sequence, so a red CI always means a change broke something.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


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


@pytest.fixture(scope="module")
def h1(plan):
    return plan.period("2024H1")


@pytest.fixture(scope="module")
def demo(plan, h1):
    """Every respondent's 2024H1 template filled with the demo values (per module: tests edit copies)."""
    from pdreport.demo import demo_values

    return demo_values(plan, h1)


@pytest.fixture(scope="session")
def demo_returns(tmp_path_factory, plan):
    """A folder with every respondent's 2024H1 template filled with the demo values, and the values."""
    from pdreport.demo import demo_values, fill_template

    folder = tmp_path_factory.mktemp("returns")
    values = demo_values(plan, plan.period("2024H1"))
    for rid, filled in values.items():
        (folder / f"{rid}.xlsx").write_bytes(fill_template(filled))
    return folder, values


@pytest.fixture(scope="session")
def demo_assessment(plan, demo_returns):
    """The assessment of the demo returns (every respondent, no defects)."""
    from pdreport.assess import assess
    from pdreport.collect import collect

    col = collect(plan, demo_returns[0], "2024H1")
    return assess(plan, col.period, col.submissions, col.findings)
