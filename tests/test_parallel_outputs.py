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
    assert sorted(tmp_path.iterdir()) == []  # the workbooks are committed together: none of them, nor a temp file


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
    _child_outlives_no_killed_parent(script, "the chart process")


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


# -- Forked: 汇总表 rendered in a child at city scale ------------------------------

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="work is done ahead only where fork exists")


@needs_fork
def test_forked_returns_the_childs_bytes():
    from pdreport.workers import Forked

    parent = os.getpid()
    job = Forked(lambda: str(os.getpid() != parent).encode())
    assert job.result() == b"True"  # computed in the child
    job.close()  # harmless after result()


@needs_fork
def test_forked_setup_runs_in_the_child_only_and_a_stuck_child_is_not_waited_for():
    from pdreport.workers import Forked

    parent = os.getpid()
    seen: list[int] = []
    job = Forked(lambda: str(seen).encode(), setup=lambda: seen.append(os.getpid()))
    assert job.result() != b"[]" and seen == []  # the setup ran there, not here

    def work():
        if os.getpid() != parent:
            time.sleep(60)
        return b"here"

    start = time.monotonic()
    assert Forked(work).result(timeout=0.5) == b"here"
    assert time.monotonic() - start < 30  # the child was stopped, not waited for


@needs_fork
def test_forked_failure_in_the_child_is_done_again_here():
    from pdreport.workers import Forked

    parent = os.getpid()

    def work():
        if os.getpid() != parent:
            os._exit(3)  # the child dies without a word
        return b"here"

    assert Forked(work).result() == b"here"

    def broken():
        raise ValueError("模板有误")

    with pytest.raises(ValueError, match="模板有误"):  # the caller sees the error, as without the child
        Forked(broken).result()


@needs_fork
def test_ahead_that_cannot_fork_its_workers_leaves_the_work_here_and_no_pool(monkeypatch):
    from concurrent.futures import ProcessPoolExecutor

    from pdreport import workers

    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    shut: list[bool] = []
    real_shutdown = ProcessPoolExecutor.shutdown

    def no_fork(self, *args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    def shutdown(self, *args, **kwargs):
        shut.append(True)
        return real_shutdown(self, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "map", no_fork)
    monkeypatch.setattr(ProcessPoolExecutor, "shutdown", shutdown)
    assert workers.Ahead.start(lambda i: b"x", 40, min_items=16, chunk=4) is None
    assert shut == [True]  # the pool that never started is not left behind


@needs_fork
def test_consolidate_with_writers_in_children_is_identical(plan, demo_returns, tmp_path, monkeypatch):
    import pdreport.consolidate as C
    import pdreport.summary as S

    folder = demo_returns[0]
    rendered_here: list[int] = []  # (a render in the child appends to the child's copy of the list)
    render = S.render_summary

    def counted(*args):
        rendered_here.append(1)
        return render(*args)

    monkeypatch.setattr(S, "render_summary", counted)
    monkeypatch.setattr(C, "PARALLEL_MIN_FILES", 1)
    C.consolidate(plan, folder, tmp_path / "parallel", "2024H1", report_date=DATE)
    assert rendered_here == []  # 汇总表 came from its child
    monkeypatch.setattr(C, "PARALLEL_MIN_FILES", 10**9)
    C.consolidate(plan, folder, tmp_path / "serial", "2024H1", report_date=DATE)
    assert rendered_here == [1]
    got, want = _digests(tmp_path / "parallel"), _digests(tmp_path / "serial")
    assert len(got) >= 6 and got == want


@needs_fork
def test_report_template_error_surfaces_from_the_parallel_path(plan, demo_returns, tmp_path, monkeypatch):
    import pdreport.consolidate as C
    from pdreport.report.render import ReportTemplateError, default_templates_dir

    broken = tmp_path / "tpl"
    broken.mkdir()
    for p in default_templates_dir().iterdir():
        (broken / p.name).write_bytes(p.read_bytes())
    part = sorted(broken.glob("*.md.j2"))[0]
    part.write_text(part.read_text(encoding="utf-8") + "\n{{ 不存在的变量 }}\n", encoding="utf-8")
    monkeypatch.setattr(C, "PARALLEL_MIN_FILES", 1)
    with pytest.raises(ReportTemplateError):
        C.consolidate(plan, demo_returns[0], tmp_path / "out", "2024H1", templates=broken, report_date=DATE)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("*.docx"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_forked_child_ends_when_its_parent_is_killed():
    """A run killed while 汇总表 renders in its child must not leave the child behind."""
    script = (
        "import os, time\n"
        "from pdreport.workers import Forked\n"
        "job = Forked(lambda: time.sleep(600) or b'')\n"
        "print(job._process.pid, flush=True)\n"
        "time.sleep(0.5)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    _child_outlives_no_killed_parent(script, "the forked child")


def _child_outlives_no_killed_parent(script: str, what: str) -> None:
    """Run ``script`` (prints its child's pid, then SIGKILLs itself); the child must end soon."""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    pid = int(r.stdout.split()[0])
    deadline = time.monotonic() + 20
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _running(pid):
        os.kill(pid, 9)
        pytest.fail(f"{what} outlived its killed parent")


SAMPLES = Path(__file__).parent.parent / "sample_workbooks"


@pytest.mark.parametrize("period_id", ["2024H1", None])
def test_intake_in_worker_processes_is_identical(plan, monkeypatch, period_id):
    """From ``PROCESS_MIN_FILES`` files, intake runs in worker processes, which validate and drop
    the raw values of returns without errors: the collection and every feedback copy must be
    those of the serial run (the samples hold errors, a duplicate, .xls, .ods and a .docx)."""
    import pdreport.collect as collect_mod
    from pdreport.feedback import build_copy

    serial = collect_mod.collect(plan, SAMPLES, period_id, workers=1)
    monkeypatch.setattr(collect_mod, "PROCESS_MIN_FILES", 1)
    monkeypatch.setattr(collect_mod, "PROCESS_CHUNK", 7)
    real = collect_mod._read_in_processes
    ran: list[bool] = []

    def read_in_processes(*args):
        reads = real(*args)
        ran.append(reads is not None)
        return reads

    monkeypatch.setattr(collect_mod, "_read_in_processes", read_in_processes)
    parallel = collect_mod.collect(plan, SAMPLES, period_id)
    assert ran == [True]
    assert parallel.outcomes == serial.outcomes
    assert parallel.findings == serial.findings
    assert parallel.submissions == serial.submissions
    assert parallel.missing == serial.missing
    with_errors = sorted(s.file for s in serial.submissions.values() if s.has_errors)
    assert with_errors and sorted(parallel.raws) == with_errors
    for file in with_errors:
        findings = serial.findings_for(file)
        assert build_copy(parallel, file, findings) == build_copy(serial, file, findings)


@pytest.fixture(scope="module")
def sample_collection(plan):
    import pdreport.collect as collect_mod

    return collect_mod.collect(plan, SAMPLES, "2024H1")


def test_feedback_copies_built_in_processes_are_identical(sample_collection, tmp_path, monkeypatch):
    import pdreport.feedback as feedback

    col = sample_collection
    with_errors = sorted(rid for rid, sub in col.submissions.items() if sub.has_errors)
    assert len(with_errors) >= 3  # the samples hold several returns with errors
    monkeypatch.setattr(feedback, "PROCESS_MIN_COPIES", 2)
    monkeypatch.setattr(feedback, "PROCESS_CHUNK", 1)
    pooled = feedback.write_feedback(col, tmp_path / "pool")
    with monkeypatch.context() as m:  # the reference: built here, one after the other
        m.setattr(os, "cpu_count", lambda: 1)
        serial = feedback.write_feedback(col, tmp_path / "serial")
    assert [p.name for p in pooled] == [p.name for p in serial]
    assert [feedback.feedback_name(col.plan.respondent(r).name) for r in with_errors] == [p.name for p in serial]
    assert [p.read_bytes() for p in pooled] == [p.read_bytes() for p in serial]
    # each copy is given its own file's findings, in the collection's order (built here: one core)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    given = {}
    real = feedback.build_copy
    monkeypatch.setattr(feedback, "build_copy",
                        lambda c, file, found, *due: given.setdefault(file, found) and real(c, file, found, *due))  # fmt: skip
    feedback.write_feedback(col, tmp_path / "again")
    assert given == {col.submissions[r].file: col.findings_for(col.submissions[r].file) for r in with_errors}
    assert all(given.values())


FORKS = (os.cpu_count() or 1) > 1 and hasattr(os, "fork")


@pytest.mark.skipif(not FORKS, reason="one core, or no fork: the copies are built here")
def test_few_feedback_copies_are_built_in_one_child_identically(sample_collection, tmp_path, monkeypatch):
    """Fewer than ``PROCESS_MIN_COPIES`` copies are built in one child process while the caller
    writes the other outputs: the same bytes as built here, in the same order."""
    import pdreport.feedback as feedback

    col = sample_collection
    delivered = []
    real = feedback.Forked.delivered
    monkeypatch.setattr(feedback.Forked, "delivered", lambda self, *a: delivered.append(real(self, *a)) or delivered[-1])
    ahead = feedback.write_feedback(col, tmp_path / "child")
    assert len(delivered) == 1 and delivered[0] is not None  # built there, not again here
    jobs = [(rid, sub.file) for rid, sub in sorted(col.submissions.items()) if sub.has_errors]
    here = [feedback.build_copy(col, file, col.findings_for(file)) for _rid, file in jobs]
    assert [p.read_bytes() for p in ahead] == here
    assert [p.name for p in ahead] == [feedback.feedback_name(col.plan.respondent(r).name) for r, _f in jobs]


@pytest.mark.skipif(not FORKS, reason="one core, or no fork: the copies are built here")
def test_a_child_that_hangs_is_given_up_and_the_copies_built_here(sample_collection, tmp_path, monkeypatch):
    import pdreport.feedback as feedback

    col = sample_collection
    here = os.getpid()
    real = feedback.build_copy

    def build(c, file, findings, *due):
        if os.getpid() != here:
            time.sleep(600)  # (the child: stuck)
        return real(c, file, findings, *due)

    monkeypatch.setattr(feedback, "build_copy", build)
    monkeypatch.setattr(feedback, "CHILD_WAIT_S", 1)
    monkeypatch.setattr(feedback, "CHILD_WAIT_PER_COPY_S", 0)
    t = time.monotonic()
    written = feedback.write_feedback(col, tmp_path)
    assert time.monotonic() - t < 120
    jobs = [sub.file for _rid, sub in sorted(col.submissions.items()) if sub.has_errors]
    assert [p.read_bytes() for p in written] == [real(col, f, col.findings_for(f)) for f in jobs]


@pytest.mark.parametrize("where", ["worker processes", "one child"])
def test_feedback_copy_failing_ahead_fails_here_after_the_copies_before(sample_collection, tmp_path, monkeypatch,
                                                                        where):  # fmt: skip
    """A copy that fails in a worker (from ``PROCESS_MIN_COPIES``) or in the one child (fewer) is
    built again here and fails here, after the copies before it were written, as serially."""
    import pdreport.feedback as feedback

    col = sample_collection
    if where == "worker processes":
        monkeypatch.setattr(feedback, "PROCESS_MIN_COPIES", 2)
        monkeypatch.setattr(feedback, "PROCESS_CHUNK", 1)
    victim = col.submissions[sorted(rid for rid, sub in col.submissions.items() if sub.has_errors)[1]].file
    real = feedback.build_copy
    here = []

    def build(c, file, findings, *due):
        here.append(os.getpid())
        if file == victim:
            raise RuntimeError("boom")
        return real(c, file, findings, *due)

    monkeypatch.setattr(feedback, "build_copy", build)
    written = []
    with pytest.raises(RuntimeError, match="boom"):
        feedback.write_feedback(col, tmp_path, lambda path, data: written.append(path) or path)
    assert len(written) == 1  # the copy before it, as the sequential loop wrote it
    if where == "one child" and FORKS:
        assert here == [os.getpid(), os.getpid()]  # (the child's calls are not seen here: built again here)


@pytest.mark.skipif(not FORKS, reason="one core, or no fork: the copies are built here")
def test_consolidate_leaves_openpyxl_to_the_child(tmp_path):
    """The samples' three 退回修改 copies are built in a child: the command's own process never
    imports openpyxl (~0.3 s of a small run)."""
    code = ("import sys; from pdreport.cli import main\n"
            "try:\n    main(['consolidate', 'sample_workbooks', '--period', '2024H1', '-o', sys.argv[1]])\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "print(sorted(m for m in ('openpyxl', 'pdreport.feedback_copy') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], capture_output=True, text=True,
                         cwd=SAMPLES.parent, check=True)  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert len(list((tmp_path / "out" / "退回修改").glob("*.xlsx"))) == 3


def _double(x: bytes) -> bytes:
    return x * 2


def _fail(x: bytes) -> bytes:
    raise RuntimeError("boom")


def _modules(_x: bytes) -> bytes:
    return ",".join(m for m in ("openpyxl", "pdreport.feedback_copy") if m in sys.modules).encode()


@pytest.mark.skipif(not FORKS, reason="one core, or no fork")
def test_a_preloaded_child_imports_first_then_runs_one_job():
    from pdreport.workers import Preloaded

    helper = Preloaded(("pdreport.feedback_copy",))
    assert helper.run(_modules, b"")
    assert helper.delivered(60) == b"openpyxl,pdreport.feedback_copy"
    helper = Preloaded(())
    assert helper.run(_double, b"ab") and helper.delivered(60) == b"abab"
    helper = Preloaded(())
    assert helper.run(_fail, b"") and helper.delivered(60) is None  # the caller does it itself
    helper = Preloaded(())
    assert not helper.run(lambda x: x, b"")  # (a lambda cannot be pickled: refused, closed)
    assert helper.delivered() is None
    helper = Preloaded(("no.such.module",))
    helper.close()
    helper.close()  # (twice is harmless)


def test_no_preloaded_child_on_one_core(monkeypatch):
    from pdreport.workers import Preloaded

    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    helper = Preloaded(("pdreport.feedback_copy",))
    assert not helper.run(_double, b"x") and helper.delivered() is None


@pytest.mark.skipif(not FORKS, reason="one core, or no fork: the copies are built here")
def test_a_small_runs_copies_are_built_by_the_helper_started_with_it(sample_collection, tmp_path, monkeypatch):
    import pdreport.feedback as feedback

    col = sample_collection
    delivered = []
    real = feedback.Preloaded.delivered
    monkeypatch.setattr(feedback.Preloaded, "delivered", lambda self, *a: delivered.append(real(self, *a)) or delivered[-1])
    helper = feedback.copy_helper()
    written = feedback.write_feedback(col, tmp_path / "helper", copies=feedback.start_copies(col, None, helper))
    assert len(delivered) == 1 and delivered[0] is not None
    jobs = [sub.file for _rid, sub in sorted(col.submissions.items()) if sub.has_errors]
    assert [p.read_bytes() for p in written] == [feedback.build_copy(col, f, col.findings_for(f)) for f in jobs]
    # a run with nothing to send back closes its helper unused
    clean = type(col)(col.plan, col.period, col.folder)
    helper = feedback.copy_helper()
    assert feedback.write_feedback(clean, tmp_path / "none", copies=feedback.start_copies(clean, None, helper)) == []
    assert helper._process is None and helper._conn is None
