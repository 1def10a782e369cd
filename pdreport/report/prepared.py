"""The Word report's charts drawn ahead, in a forked child process, while the caller does other work.

Kept apart from ``render.py`` and light to import (Pillow, the assessment and the drawing code
are imported only where used): ``pdreport consolidate`` forks the child first thing, so that
Pillow loads and the installed fonts are looked through while the plan is read and the returns
are checked, and the charts are drawn while the intake outputs are written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..workers import die_with_parent

if TYPE_CHECKING:
    from ..assess import Assessment


def chart_job(a: Assessment, name: str) -> tuple[Callable, tuple]:
    """A chart as (drawing function, its arguments)."""
    from ..assess import Status
    from . import charts

    if name == "任务状态":
        # (at year end nothing is 序时推进 any more: that bar is left out)
        counts = {s.label: n for s, n in a.status_counts(a.tasks).items() if s is not Status.NOT_ASSESSED
                  and not (s is Status.ON_TRACK and a.period.is_year_end and not n)}  # fmt: skip
        return charts.status_overview, (counts, f"重点任务推进状态（{a.period.label}）")
    names = {r.id: r.name for r in a.plan.respondents}
    units = [u for u in a.annex if u.unit.assessed]
    return charts.bar_vs_target, ([names[u.unit.respondent] for u in units], [u.rate for u in units],
                                  [u.unit.target for u in units], "工业万元产值能耗下降率与目标", "%",
                                  [u.status.label for u in units])  # fmt: skip


CHARTS = ("任务状态", "附件下降率")


class PreparedCharts:
    """The report's charts drawn in a forked child process while the caller does other work:
    drawing them (~0.2 s with the font lookup) needs one core only.

    ``start()`` forks the child, which imports Pillow, finds the font and waits; ``submit(a)`` sends it the
    charts' inputs; ``png`` returns a chart drawn there with exactly the inputs asked for, or draws
    it here (any failure of the child only means the chart is drawn here, as without it)."""

    def __init__(self, process, conn):
        self._process = process
        self._conn = conn
        self._jobs: dict[str, tuple[Callable, tuple]] | None = None
        self._results: dict | None = None

    @classmethod
    def start(cls) -> PreparedCharts | None:
        """``None`` where processes cannot be forked."""
        import multiprocessing

        try:
            ctx = multiprocessing.get_context("fork")
            parent, child = ctx.Pipe()
            process = ctx.Process(target=_chart_worker, args=(child, parent, os.getpid()), daemon=True)
            process.start()
        except (ValueError, OSError):
            return None
        child.close()
        return cls(process, parent)

    def submit(self, a: Assessment) -> None:
        try:
            jobs = {name: chart_job(a, name) for name in CHARTS}
            self._conn.send(jobs)
        except Exception:  # noqa: BLE001 - e.g. a drawing function that cannot be pickled
            self.close()
            return
        self._jobs = jobs

    def png(self, name: str, fn: Callable, args: tuple) -> bytes | None:
        """The chart drawn ahead if it was drawn with exactly these inputs, else drawn now."""
        if self._results is None:
            self._results = {}
            if self._jobs is not None and self._process is not None:
                try:
                    self._results = self._conn.recv() or {}
                except (EOFError, OSError):
                    pass
            self.close()
        job = (self._jobs or {}).get(name)
        got = self._results.get(name)
        if got is not None and job is not None and job[0] is fn and job[1] == args:
            return got
        return fn(*args)

    def close(self) -> None:
        """Stop the child (if still running) and release it."""
        if self._process is not None:
            self._process.terminate()  # (done already when its results were received)
            self._process.join()
            self._conn.close()
            self._process = None


def _chart_worker(conn, parent_end, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    # the fork copied the parent's end of the pipe: close it here, or a parent that dies (even by
    # SIGKILL) would leave this child waiting for a message forever instead of seeing EOF
    parent_end.close()
    try:
        from PIL import Image, ImageDraw, ImageFont  # noqa: F401 - imported while the parent works

        from . import charts

        charts.find_cjk_font()  # (looks through the installed fonts once)
    except Exception:  # noqa: BLE001 - drawing will say what is wrong (in the parent)
        pass
    try:
        jobs = conn.recv()
    except (EOFError, OSError):
        return
    out: dict[str, bytes | None] = {}
    for name, (fn, args) in jobs.items():
        try:
            out[name] = fn(*args)
        except BaseException:  # noqa: BLE001 - the parent draws it again and reports
            continue
    conn.send(out)
    conn.close()
