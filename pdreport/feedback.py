"""Feedback copies (退回修改): which a run writes, under what names and 重新报送期限, and writing them.

A copy is the office's own workbook with each problem cell marked, built by ``feedback_copy``
with openpyxl. That module (and openpyxl, ~0.3 s to import) is loaded only where a copy is
built: ``start_copies`` has them built in a child process (worker processes from
``PROCESS_MIN_COPIES``) while the caller writes the other outputs — for a small run the
``copy_helper`` started with it, which imported openpyxl while the returns were read — and the
parent imports it only to build a copy the child could not deliver (or on one core, or where
processes cannot be forked).
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
from collections.abc import Callable
from pathlib import Path

from .collect import Collection
from .errors import UsageError
from .findings import Finding
from .outputs import atomic_write_bytes
from .plan.model import Period
from .template.layout import FEEDBACK_NOTE
from .workers import Ahead, Forked, Preloaded

FEEDBACK_DIR = "退回修改"
COMMENT_AUTHOR = "pdreport"  # the author of every comment a copy adds: how the next round finds them
NOTE_SHEET = FEEDBACK_NOTE  # (intake tells a corrected copy sent back by it)
# the 退回说明 table: (title, width), A4 portrait one page wide at full scale
NOTE_COLUMNS = (("序号", 4.5), ("工作表", 8), ("单元格", 6.5), ("级别", 5), ("问题", 33), ("处理建议", 26))
NOTE_HEADER_ROW = 7  # 1-based: title, unit and period, file, three instructions, then the table


FEEDBACK_SUFFIX = "_退回修改.xlsx"


def feedback_name(respondent_name: str) -> str:
    return f"{respondent_name}{FEEDBACK_SUFFIX}"


RESUBMIT_DAYS = 7  # the default time to correct and send back: a week from the report's date


def resubmit_deadline(period: Period, report_date: dt.date | None = None, asked: dt.date | None = None) -> dt.date:
    """The 重新报送期限 the copies give: ``asked`` (``--resubmit-by``), else ``RESUBMIT_DAYS`` after
    the report's date (``--date``, by default the period's deadline), counted from the period's
    end at the earliest (a --date before it, a typo the command warns of, must not give a deadline
    within the period, which ``asked`` may not be either). Never today's date: the same inputs and
    arguments give the same copies. ``asked`` must fall after the period's end and, when there is
    a report (``report_date`` given), not before its date: the copies go out with it, and would
    give a deadline already past."""
    if asked is None:
        return max(report_date or period.deadline, period.end) + dt.timedelta(days=RESUBMIT_DAYS)
    if asked <= period.end:
        raise UsageError(f"重新报送期限 {asked.isoformat()} 不晚于本报送期（{period.label}）的结束日 "
                         f"{period.end.isoformat()}，请检查 --resubmit-by")  # fmt: skip
    if report_date is not None and asked < report_date:
        raise UsageError(f"重新报送期限 {asked.isoformat()} 早于报告成文日期 {report_date.isoformat()}（--date，"
                         "不指定时为本期报送截止日），退回修改表上会是一个已经过去的期限；请检查 --resubmit-by 或 --date")  # fmt: skip
    return asked


PROCESS_MIN_COPIES = 16  # from this many copies they are built in worker processes (one per core)
PROCESS_CHUNK = 4  # copies per task (each loads and saves a workbook with openpyxl: ~50 ms)
CHILD_WAIT_S, CHILD_WAIT_PER_COPY_S = 60, 30  # then the copies are built here (a child that hangs)
HELPER_MAX_FILES = 400  # a collection of fewer files is sent to the helper started with the run


class Copies:
    """The copies a collection calls for (one per respondent whose accepted return has errors),
    being built ahead: from ``PROCESS_MIN_COPIES`` in worker processes (one per core), fewer in
    one child process, while the caller does other work. ``get(i)`` gives copy ``i``, built here
    when it was not built there (not forked, failed): errors then surface exactly as they would
    have without the children."""

    def __init__(self, col: Collection, resubmit_by: dt.date | None = None, helper: Preloaded | None = None):
        self.col = col
        self.resubmit_by = resubmit_by
        self.jobs = [(rid, sub.file) for rid, sub in sorted(col.submissions.items()) if sub.has_errors]
        wanted = {file for _rid, file in self.jobs}
        self._findings: dict[str, list[Finding]] = {}  # (one pass: a scan of every finding per copy is quadratic)
        for f in col.findings:
            if f.file in wanted:
                self._findings.setdefault(f.file, []).append(f)
        self._ahead: Ahead | None = None
        self._child: Forked | Preloaded | None = None
        self._built: list[bytes] | None = None
        if self.jobs:
            self._ahead = Ahead.start(self.build, len(self.jobs), PROCESS_MIN_COPIES, PROCESS_CHUNK)
        few = self._ahead is None and 0 < len(self.jobs) < PROCESS_MIN_COPIES and (os.cpu_count() or 1) > 1
        # a small run's collection is sent to the helper, which has imported openpyxl meanwhile; a
        # large one's would take longer to send than a child forked now takes to import it
        if few and helper is not None and len(col.outcomes) < HELPER_MAX_FILES and helper.run(
            _build_all, col, self.jobs, self._findings, resubmit_by
        ):
            self._child, helper = helper, None
        elif few:
            self._child = Forked(lambda: pickle.dumps([self.build(i) for i in range(len(self.jobs))]))
        if helper is not None:  # (not needed after all)
            helper.close()

    def build(self, i: int) -> bytes:
        file = self.jobs[i][1]
        return build_copy(self.col, file, self._findings.get(file, []), self.resubmit_by)

    def get(self, i: int) -> bytes:
        data = None
        if self._ahead is not None:
            data = self._ahead.get(i)
        elif self._child is not None:  # (a child stuck for minutes is given up: built here instead)
            delivered = self._child.delivered(CHILD_WAIT_S + CHILD_WAIT_PER_COPY_S * len(self.jobs))
            self._child = None
            self._built = pickle.loads(delivered) if delivered is not None else None
        if self._built is not None and i < len(self._built):
            data = self._built[i]
        return data if data is not None else self.build(i)

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None
        if self._child is not None:
            self._child.close()
            self._child = None


def start_copies(col: Collection, resubmit_by: dt.date | None = None, helper: Preloaded | None = None) -> Copies:
    """The copies ``col`` calls for, their building started (see ``Copies``): call it before the
    other outputs are written, and give the result to ``write_feedback``. ``helper``: from
    ``copy_helper()``, started when the run began (used for a few copies of a small run, else
    closed)."""
    return Copies(col, resubmit_by, helper)


def copy_helper() -> Preloaded:
    """A child that imports ``feedback_copy`` (openpyxl, ~0.3 s) now, while the returns are read,
    to build a small run's copies later (``start_copies``)."""
    return Preloaded(("pdreport.feedback_copy",))


def _build_all(col: Collection, jobs: list[tuple[str, str]], findings: dict[str, list[Finding]],
               resubmit_by: dt.date | None) -> bytes:  # fmt: skip
    """Every copy of ``jobs``, pickled (in the helper; it received ``col`` pickled)."""
    return pickle.dumps([build_copy(col, file, findings.get(file, []), resubmit_by) for _rid, file in jobs])


def write_feedback(col: Collection, out_dir: Path,
                   write: Callable[[Path, bytes], Path] = atomic_write_bytes,
                   resubmit_by: dt.date | None = None, copies: Copies | None = None) -> list[Path]:  # fmt: skip
    """One copy per respondent whose accepted return has errors; returns the paths written
    (``write`` may stage them instead, see ``outputs.OutputStage``). City-wide, a tenth of the
    returns with errors means a thousand copies. ``resubmit_by``: the 重新报送期限 the copies give
    (default: ``resubmit_deadline``). ``copies``: from ``start_copies`` with the same arguments,
    built meanwhile (by default started here)."""
    copies = copies if copies is not None else start_copies(col, resubmit_by)
    written = []
    try:
        for i, (rid, _file) in enumerate(copies.jobs):
            data = copies.get(i)
            name = col.plan.respondent(rid).name
            written.append(write(Path(out_dir) / FEEDBACK_DIR / feedback_name(name), data))
    finally:
        copies.close()
    return written


def build_copy(col: Collection, file: str, findings: list[Finding], resubmit_by: dt.date | None = None) -> bytes:
    """The marked copy of ``file`` as .xlsx bytes (``feedback_copy.build_copy``, imported here)."""
    from .feedback_copy import build_copy as build

    return build(col, file, findings, resubmit_by)
