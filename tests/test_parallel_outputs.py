"""Work done ahead in child processes gives the same bytes as doing it in the parent."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pdreport.template as template
from pdreport.report import charts
from pdreport.report.render import PreparedCharts, render_report

DATE = dt.date(2024, 7, 20)
STAMP = dt.datetime(2024, 6, 1, 9, 0, 0)


def test_report_with_charts_drawn_ahead_is_identical(demo_assessment):
    want = render_report(demo_assessment, report_date=DATE)
    prepared = PreparedCharts.start()
    assert prepared is not None
    try:
        prepared.submit(demo_assessment)
        got = render_report(demo_assessment, report_date=DATE, prepared=prepared)
    finally:
        prepared.close()
    assert got == want


def test_charts_drawn_ahead_with_other_inputs_are_drawn_again(demo_assessment, monkeypatch):
    prepared = PreparedCharts.start()
    assert prepared is not None
    try:
        prepared.submit(demo_assessment)
        fn = charts.status_overview
        got = prepared.png("任务状态", fn, ({"滞后": 1}, "另一个标题"))
    finally:
        prepared.close()
    assert got == fn({"滞后": 1}, "另一个标题")


def test_unused_chart_worker_is_stopped():
    prepared = PreparedCharts.start()
    assert prepared is not None
    prepared.close()
    prepared.close()  # twice is harmless


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()
            if p.name != template.DISTRIBUTION_LIST}  # fmt: skip


def test_templates_rendered_in_processes_are_identical(plan, tmp_path, monkeypatch):
    period = plan.period("2024H1")
    monkeypatch.setattr(template, "PROCESS_MIN_TEMPLATES", 2)
    pooled = template.generate_templates(plan, period, tmp_path / "pool", generated_at=STAMP)
    monkeypatch.setattr(template, "PROCESS_MIN_TEMPLATES", 10**9)
    serial = template.generate_templates(plan, period, tmp_path / "serial", generated_at=STAMP)
    assert [f.path.name for f in pooled] == [f.path.name for f in serial]
    assert [f.layout for f in pooled] == [f.layout for f in serial]
    assert _digests(tmp_path / "pool") == _digests(tmp_path / "serial")


def test_template_failing_in_a_worker_fails_in_the_parent_as_before(plan, tmp_path, monkeypatch):
    period = plan.period("2024H1")
    monkeypatch.setattr(template, "PROCESS_MIN_TEMPLATES", 2)
    real = template.render_workbook
    victim = plan.respondents[5]

    def render(layout, stamp, values=None):
        if layout.respondent.id == victim.id:
            raise RuntimeError("boom")
        return real(layout, stamp, values)

    monkeypatch.setattr(template, "render_workbook", render)
    try:
        template.generate_templates(plan, period, tmp_path, generated_at=STAMP)
    except RuntimeError as exc:
        assert str(exc) == "boom"
    else:
        raise AssertionError("expected the failure")
    written = sorted(p.name for p in tmp_path.iterdir())
    want = sorted(template.template_filename(period, r) for r in plan.respondents[:5])
    assert written == want  # the ones before it, as the sequential loop wrote them


@pytest.mark.skipif(not hasattr(os, "fork"), reason="charts are drawn ahead only where fork exists")
def test_chart_child_ends_when_its_parent_is_killed(tmp_path):
    """A run killed at any point (SIGKILL) must not leave the chart process behind."""
    script = (
        "import os\n"
        "from pdreport.report.render import PreparedCharts\n"
        "p = PreparedCharts.start()\n"
        "print(p._process.pid, flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    pid = int(r.stdout.split()[0])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.1)
    os.kill(pid, 9)
    pytest.fail("the chart process outlived its killed parent")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_pool_workers_end_when_their_parent_is_killed():
    """Read and template workers (process pools) ask to die with the run that forked them."""
    script = (
        "import multiprocessing, os, time\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from pdreport.workers import die_with_parent\n"
        "pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context('fork'),\n"
        "                           initializer=die_with_parent, initargs=(os.getpid(),))\n"
        "futures = [pool.submit(time.sleep, 0.2) for _ in range(4)]\n"
        "[f.result() for f in futures]\n"
        "print(' '.join(str(p) for p in pool._processes), flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    pids = [int(p) for p in r.stdout.split()]
    assert pids, r.stderr
    deadline = time.monotonic() + 20
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _running(p)]
        time.sleep(0.1)
    for p in alive:
        os.kill(p, 9)
    assert not alive, "pool workers outlived their killed parent"


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")
