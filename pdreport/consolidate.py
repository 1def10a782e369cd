"""The coordinator's whole run: a folder of returns → every output, in one call.

collect (guard, read, identify, validate, de-duplicate) → assess → write 问题清单, 数据明细,
退回修改 copies, 汇总表, the Word report and 评估结果.json (the next period's ``--previous``).
Every file is written atomically and the whole set is staged (see ``outputs.py``): a run that
fails or is killed leaves the previous outputs; one run at a time holds the output folder's lock.
Re-running on the same folder gives the same outputs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .assess import Assessment, assess, snapshot
from .collect import WORKBOOK_SUFFIXES, Collection, check_input_folder, collect, default_report_date
from .errors import UsageError, os_error_text
from .outputs import (
    OUTPUT_MARKER,
    OutputStage,
    atomic_write_bytes,
    gc_paused,
    heap_frozen,
    is_output_folder,
    marker_text,
    output_lock,
    read_marker,
)
from .plan.model import Period, Plan
from .workers import Forked

SNAPSHOT_FILE = "评估结果.json"


@dataclass(frozen=True)
class HeldResults:
    """Whose results an output folder holds: a plan and one of its 报送期."""

    plan_id: str
    period_id: str
    label: str  # the period's label ("2024年上半年")
    resubmit_by: dt.date | None = None  # the 重新报送期限 of the folder's 退回修改 copies, as recorded


def results_held(folder: Path) -> HeldResults | None:
    """Whose results ``folder`` holds: as its ``.pdreport-output`` marker records, else as its
    评估结果.json says (a folder written before markers recorded it, or copied without the hidden
    marker); None when neither tells."""
    folder = Path(folder)
    m = read_marker(folder)
    if m:
        try:
            resubmit_by = dt.date.fromisoformat(m["resubmit_by"]) if "resubmit_by" in m else None
        except ValueError:  # (a marker edited by hand: the date is only a default)
            resubmit_by = None
        return HeldResults(m.get("plan", ""), m["period"], m.get("period_label") or m["period"], resubmit_by)
    try:
        data = json.loads((folder / SNAPSHOT_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if isinstance(data, dict) and "pdreport_snapshot" in data and isinstance(data.get("period"), str):
        return HeldResults(str(data.get("plan_id", "")), data["period"], str(data.get("period_label") or data["period"]))
    return None


@dataclass
class Outputs:
    """Where each output went (for the closing summary and for tests)."""

    folder: Path
    files: dict[str, Path] = field(default_factory=dict)  # label → path
    feedback: list[Path] = field(default_factory=list)
    resubmit_by: dt.date | None = None  # the 重新报送期限 the feedback copies (and the report) give
    copies_due: dt.date | None = None  # the one the copies written by this run give: the marker's record
    stage: OutputStage | None = field(default=None, repr=False)
    overwrite: bool = False  # may replace the results of another period (``--overwrite``)
    plan_id: str = ""
    period: Period | None = None  # the 报送期 of this run's outputs (``claim``)
    results: bool = False  # whether they are results (a return was used): recorded in the marker
    held: HeldResults | None = None  # whose results the folder held before this run
    replacing: bool = False  # held another period's results, which this run replaces (``overwrite``)

    def write(self, path: Path, data: bytes) -> Path:
        """Stage ``data`` for ``path`` (moved into place when the run completes), or write it
        atomically at once when there is no stage."""
        return self.stage.write(path, data) if self.stage is not None else atomic_write_bytes(path, data)

    def claim(self, plan: Plan, period: Period, results: bool = True) -> None:
        """This run's outputs are of ``period`` (``results``: and some return was used). UsageError,
        before anything is written, when the folder holds the results of another period (or plan):
        a run must not silently replace, say, the half-year's results with the third quarter's
        (``--previous`` and ``-o`` naming the same folder, or last quarter's ``-o`` reused), unless
        ``overwrite``."""
        if self.period is None or (self.plan_id, self.period.id) != (plan.id, period.id):
            held = results_held(self.folder)
            self.replacing = held is not None and (held.plan_id, held.period_id) != (plan.id, period.id)
            if self.replacing and not self.overwrite:
                raise UsageError(_held_message(self.folder, held, plan, period))
            self.held, self.plan_id, self.period = held, plan.id, period
        self.results = self.results or results

    def seal(self) -> None:
        """Stage the marker (whose results the folder now holds) and, when this run replaces another
        period's results, the removal of those of them it did not write again (their Word report,
        汇总表 …: left, they would pass for this period's)."""
        if self.stage is None:
            return
        if not self.stage.pending() and not is_output_folder(self.folder):
            return  # nothing written (assess or report with no usable return): no marker either, and
            # a folder this run created is removed again
        if self.period is None:  # told nothing about its outputs: the folder's marker stays as it is
            if not is_output_folder(self.folder):
                self.stage.write(self.folder / OUTPUT_MARKER, marker_text().encode("utf-8"))
            return
        kept = self.held if self.held is not None and not self.replacing else None
        resubmit = self.copies_due or (kept.resubmit_by if kept is not None else None)
        due = resubmit.isoformat() if resubmit else ""
        if self.results:
            text = marker_text(self.plan_id, self.period.id, self.period.label, due)
        elif kept is not None:  # (a run that used no return)
            text = marker_text(kept.plan_id, kept.period_id, kept.label, due)
        else:
            text = marker_text()
        self.stage.write(self.folder / OUTPUT_MARKER, text.encode("utf-8"))
        if self.replacing and self.held is not None:
            written = set(self.stage.pending())
            for stale in _results_of(self.folder, self.held):
                if stale not in written:
                    self.stage.remove_on_commit(stale)


def _held_message(folder: Path, held: HeldResults, plan: Plan, period: Period) -> str:
    whose = held.label if held.plan_id == plan.id else f"计划“{held.plan_id}”{held.label}"
    return (f"输出目录 {folder} 中是{whose}的汇总结果，本次汇总的是{period.label}；为免覆盖其中的结果，本次没有写入"
            f"任何文件。请用 -o 另选输出目录（如 -o {period.label}汇总）；确要用本次的结果替换其中的全部结果，"
            "加 --overwrite")  # fmt: skip


def _output_names() -> tuple[tuple[str, ...], str]:
    """The files pdreport writes at the top of an output folder (the Word report aside: it is named
    after its period) and its folder of feedback copies (each named ``*FEEDBACK_SUFFIX``)."""
    from .datatable import DATA_CSV, DATA_XLSX
    from .feedback import FEEDBACK_DIR
    from .problems import PROBLEM_LIST
    from .summary import SUMMARY_FILE

    return (PROBLEM_LIST, DATA_CSV, DATA_XLSX, SUMMARY_FILE, SNAPSHOT_FILE), FEEDBACK_DIR


def _results_of(folder: Path, held: HeldResults) -> list[Path]:
    """The outputs of ``held``'s period in ``folder`` (files pdreport writes, by their names)."""
    from .feedback import FEEDBACK_SUFFIX

    names, feedback_dir = _output_names()
    found = [folder / n for n in names]
    if (folder / feedback_dir).is_dir():
        found += sorted((folder / feedback_dir).glob(f"*{FEEDBACK_SUFFIX}"))
    found += sorted(p for p in folder.glob("*.docx") if p.name.endswith(f"（{held.label}）.docx"))
    return [p for p in found if p.is_file() and not p.is_symlink()]


def not_updated(outputs: Outputs) -> list[Path]:
    """This period's outputs in the folder that this run did not write: ``intake``, ``assess`` or
    ``report`` run into a folder ``consolidate`` filled leaves the others as they were, and they
    may no longer agree with these (a late return counted in the report, still on the 催报名单).
    The folder of 退回修改 copies counts as one, when this run did not write the copies."""
    if outputs.period is None:
        return []
    from .feedback import FEEDBACK_SUFFIX

    names, feedback_dir = _output_names()
    written = {p.name for p in outputs.files.values()}
    found = [outputs.folder / n for n in names if n not in written]
    found += sorted(p for p in outputs.folder.glob("*.docx")
                    if p.name.endswith(f"（{outputs.period.label}）.docx") and p.name not in written)  # fmt: skip
    stale = [p for p in found if p.is_file() and not p.is_symlink()]
    copies = outputs.folder / feedback_dir
    if PROBLEM_LIST_LABEL not in outputs.files and copies.is_dir() and any(copies.glob(f"*{FEEDBACK_SUFFIX}")):
        stale.append(copies)
    return stale


PROBLEM_LIST_LABEL = "问题清单（含催报名单）"  # (written with the copies, by intake and consolidate)


def check_output_folder(out_dir: Path) -> None:
    """UsageError when ``out_dir`` (not an output folder yet) holds spreadsheets pdreport did not
    write, most likely returned workbooks: the marker written there would keep them out of every
    later intake (a folder holding it is refused as input, and skipped inside one)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir() or is_output_folder(out_dir):
        return
    found = _foreign_workbooks(out_dir, 3)
    if found:
        shown = "、".join(found[:2]) + ("等" if len(found) > 2 else "")
        raise UsageError(f"输出目录 {out_dir} 中已有不是 pdreport 输出的表格文件（如 {shown}），"
                         "可能是收回的填报表。输出写在这里，该文件夹会被标记为输出文件夹（.pdreport-output），"
                         "以后汇总时其中的文件不会再被读取。请用 -o 另选一个新的文件夹")  # fmt: skip


def _foreign_workbooks(folder: Path, most: int) -> list[str]:
    """Up to ``most`` spreadsheets under ``folder`` (as relative paths) that are not outputs
    pdreport writes there; sub-folders that are output folders, and hidden files, are left out."""
    from .feedback import FEEDBACK_SUFFIX

    names, feedback_dir = _output_names()
    ours = set(names)
    found: list[str] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not is_output_folder(here / d))
        rel = here.relative_to(folder)
        for name in sorted(files):
            if name.startswith((".", "~$")) or Path(name).suffix.lower() not in WORKBOOK_SUFFIXES:
                continue
            if (rel == Path(".") and name in ours) or (rel == Path(feedback_dir) and name.endswith(FEEDBACK_SUFFIX)):
                continue
            found.append(str(rel / name))
            if len(found) >= most:
                return found
    return found


@contextlib.contextmanager
def writing(out_dir: Path, plan: Plan | None = None, period_id: str | None = None, *,
            overwrite: bool = False, inputs: Path | None = None) -> Iterator[Outputs]:  # fmt: skip
    """The output folder locked for this run, and an ``Outputs`` whose files are committed together
    when the block ends normally (and discarded, leaving the previous outputs, when it does not).

    Refused before anything is written: an output folder that is the folder of returns
    (``inputs``), one that holds spreadsheets pdreport did not write, and (``period_id`` given, or
    once ``Outputs.claim`` is told the period) one that holds another period's results, unless
    ``overwrite``."""
    out_dir = Path(out_dir)
    if inputs is not None and Path(inputs).is_dir():
        check_input_folder(Path(inputs), (out_dir,))
    check_output_folder(out_dir)
    with output_lock(out_dir), OutputStage() as stage:
        outputs = Outputs(out_dir, stage=stage, overwrite=overwrite)
        if plan is not None and period_id:
            outputs.claim(plan, plan.period(period_id), results=False)
        yield outputs
        outputs.seal()  # committed with the outputs, like them


@dataclass
class Run:
    collection: Collection
    assessment: Assessment | None
    outputs: Outputs


def load_snapshot(path: Path, plan: Plan) -> dict:
    """An earlier period's 评估结果.json (or the folder holding it), checked against the plan."""
    path = Path(path)
    if path.is_dir():
        path = path / SNAPSHOT_FILE
    hint = "--previous 应指向上期的输出文件夹（其中有 评估结果.json）"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"找不到上期评估结果：{path}（{hint}）") from None
    except OSError as exc:
        raise UsageError(f"上期评估结果无法读取：{path}（{os_error_text(exc)}）；{hint}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UsageError(f"上期评估结果无法读取：{path} 不是 pdreport 生成的评估结果文件；{hint}") from None
    if not isinstance(data, dict) or "pdreport_snapshot" not in data:
        raise UsageError(f"{path} 不是 pdreport 生成的评估结果文件；{hint}")
    if data.get("plan_id") != plan.id:
        raise UsageError(f"上期评估结果属于计划“{data.get('plan_id')}”，与本次的“{plan.id}”不同；较上期只在同一计划"
                         "（同一年度）的报送期之间比较：请指向本计划更早报送期的输出文件夹，或去掉 --previous")  # fmt: skip
    return data


def check_previous(plan: Plan, prev: dict, period: Period, where: Path) -> None:
    """The previous results must be of an earlier period of the plan: a later one (or this very
    period, e.g. ``--previous`` pointing at this run's own output folder) would print false
    "较上期" changes in every output."""
    order = [p.id for p in plan.periods]
    seen = prev.get("period")
    if seen not in order:
        raise UsageError(f"上期评估结果（{where}）的报送期“{seen}”不在本计划中")
    if order.index(seen) >= order.index(period.id):
        label = plan.period(seen).label
        raise UsageError(f"--previous 指向的是“{label}”的结果（{where}），不早于本期“{period.label}”；"
                         "请指向上一个报送期的输出文件夹")  # fmt: skip


def assess_folder(plan: Plan, folder: Path, period_id: str | None, out_dir: Path | None = None,
                  previous: Path | None = None, progress: Callable[[str], None] | None = None,
                  ) -> tuple[Collection, Assessment]:  # fmt: skip
    prev = load_snapshot(previous, plan) if previous else None  # fail before the long part
    if prev is not None and period_id:
        check_previous(plan, prev, plan.period(period_id), previous)
    col = collect(plan, folder, period_id, exclude=(out_dir,) if out_dir else (), progress=progress)
    if prev is not None and not period_id:  # the period was read from the returns
        check_previous(plan, prev, col.period, previous)
    with gc_paused():  # builds ~10 objects a return and frees none: collector passes are waste
        a = assess(plan, col.period, col.submissions, col.findings)
    a.previous = prev
    return col, a


def write_intake_outputs(col: Collection, out_dir: Path, outputs: Outputs, report_date: dt.date | None = None,
                         resubmit_by: dt.date | None = None, copy_helper=None) -> None:  # fmt: skip
    """问题清单, 数据明细 and the 退回修改 copies, which give ``resubmit_by`` as the 重新报送期限 (by
    default ``feedback.RESUBMIT_DAYS`` after ``report_date``, itself by default the deadline or
    the latest 填报日期 taken in, ``collect.default_report_date``). A ``resubmit_by`` given is held
    to ``report_date`` as given (or the deadline), as the command checked it before reading.
    ``copy_helper``: ``feedback.copy_helper()``, started with the run (used or closed here)."""
    from .datatable import DATA_CSV, DATA_XLSX, data_rows, render_csv, render_xlsx
    from .feedback import FEEDBACK_DIR, resubmit_deadline, start_copies, write_feedback
    from .problems import PROBLEM_LIST, render_problem_list

    outputs.claim(col.plan, col.period, bool(col.submissions))
    dated = report_date or default_report_date(col.period, col.submissions.values())
    outputs.resubmit_by = resubmit_deadline(col.period, dated if resubmit_by is None else report_date,
                                            resubmit_by)  # (a wrong one: before writing)  # fmt: skip
    outputs.copies_due = outputs.resubmit_by
    with heap_frozen():
        copies = start_copies(col, outputs.resubmit_by, copy_helper)  # built in child processes meanwhile
        try:
            outputs.files[PROBLEM_LIST_LABEL] = outputs.write(out_dir / PROBLEM_LIST, render_problem_list(col))
            rows = data_rows(col)
            outputs.files["数据明细（CSV）"] = outputs.write(out_dir / DATA_CSV, render_csv(col, rows))
            outputs.files["数据明细"] = outputs.write(out_dir / DATA_XLSX, render_xlsx(col, rows))
        except BaseException:
            copies.close()
            raise
        outputs.feedback = write_feedback(col, out_dir, outputs.write, outputs.resubmit_by, copies)
    for stale in _stale_feedback(out_dir / FEEDBACK_DIR, outputs.feedback):
        if outputs.stage is not None:
            outputs.stage.remove_on_commit(stale)
        else:
            stale.unlink()


def write_assessment_outputs(col: Collection, a: Assessment, out_dir: Path, outputs: Outputs,
                             rendered: Forked | bytes | None = None) -> None:  # fmt: skip
    """汇总表 (``rendered``: drawn ahead, in a child or here) and 评估结果.json."""
    from .summary import SUMMARY_FILE, render_summary

    outputs.claim(a.plan, a.period, bool(col.submissions))
    if isinstance(rendered, Forked):
        rendered = rendered.result()
    data = rendered if rendered is not None else render_summary(a, col.outcomes)
    outputs.files["汇总表"] = outputs.write(out_dir / SUMMARY_FILE, data)
    data = json.dumps(snapshot(a), ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    outputs.files["评估结果（供下期 --previous 使用）"] = outputs.write(out_dir / SNAPSHOT_FILE, data)


def write_report(a: Assessment, out_dir: Path, outputs: Outputs, templates: Path | None = None,
                 report_date: dt.date | None = None, prepared=None) -> None:  # fmt: skip
    from .report.render import render_report, report_filename

    outputs.claim(a.plan, a.period, bool(a.submitted))
    if outputs.resubmit_by is None and outputs.held is not None and not outputs.replacing:
        # ``report`` after ``intake`` in the same folder: the deadline its copies give, whatever
        # --date this report has (the report tells offices to resubmit by it)
        outputs.resubmit_by = outputs.held.resubmit_by
    data = render_report(a, templates, report_date, prepared=prepared, resubmit_by=outputs.resubmit_by)
    outputs.files["Word 报告"] = outputs.write(out_dir / report_filename(a), data)


def consolidate(plan: Plan, folder: Path, out_dir: Path, period_id: str | None = None,
                previous: Path | None = None, templates: Path | None = None,
                report_date: dt.date | None = None,
                progress: Callable[[str], None] | None = None, charts=None,
                resubmit_by: dt.date | None = None, overwrite: bool = False) -> Run:  # fmt: skip
    """Everything: intake outputs always; summary, snapshot and report when anything was accepted.

    The output folder is locked for the run, and the outputs are committed together at the end:
    if anything fails, the previous outputs stay as they were. A folder holding another period's
    results is refused (before the returns are read when ``period_id`` is given), unless
    ``overwrite`` (see ``writing``). ``charts``: a ``PreparedCharts`` the caller started earlier,
    so that Pillow and the font load meanwhile (closed here); by default one is started here."""
    out_dir = Path(out_dir)
    from .report.render import PreparedCharts, check_templates

    prepared = charts
    summary: Forked | None = None
    helper = None
    try:
        check_templates(templates)  # a mistake in an edited template is said before the long part
        with writing(out_dir, plan, period_id, overwrite=overwrite, inputs=folder) as outputs:
            if prepared is None:
                prepared = PreparedCharts.start()  # the charts are drawn in a child (same bytes)
            from .feedback import copy_helper

            helper = copy_helper()  # imports openpyxl while the returns are read, for a few copies
            col, a = assess_folder(plan, folder, period_id, out_dir, previous, progress)
            outputs.claim(plan, col.period, bool(col.submissions))  # (the period read from the returns)
            with heap_frozen():  # what intake built is read, not freed, from here on
                if prepared is not None and col.submissions:
                    prepared.submit(a)
                if col.submissions and len(col.outcomes) >= PARALLEL_MIN_FILES:
                    summary = _summary_ahead(col, a)
                # (dated as the report is; a --resubmit-by may not precede the date, by default the deadline)
                write_intake_outputs(col, out_dir, outputs, report_date or (col.period.deadline if resubmit_by else None),
                                     resubmit_by, helper)  # fmt: skip
                helper = None  # (used or closed there)
                if not col.submissions:
                    return Run(col, None, outputs)
                ahead: Forked | bytes | None = summary
                if summary is None and prepared is not None:  # drawn here while the charts finish
                    from .summary import render_summary

                    ahead = render_summary(a, col.outcomes)
                write_report(a, out_dir, outputs, templates, report_date, prepared)
                write_assessment_outputs(col, a, out_dir, outputs, ahead)
    finally:
        if summary is not None:
            summary.close()
        if prepared is not None:
            prepared.close()
        if helper is not None:
            helper.close()
    return Run(col, a, outputs)


PARALLEL_MIN_FILES = 400  # from this many returns 汇总表 is rendered in a forked child


def _summary_ahead(col: Collection, a: Assessment) -> Forked:
    """汇总表 rendered in a forked child while this process writes the intake outputs and the
    report: at city scale the two halves take about as long as each other, one core each. The bytes
    are those of rendering here (a child that fails means rendering here, with the same errors)."""
    from .summary import render_summary

    return Forked(lambda: render_summary(a, col.outcomes))


def _stale_feedback(folder: Path, keep: list[Path]) -> list[Path]:
    """Feedback copies from an earlier run whose office has since sent a clean return."""
    from .feedback import FEEDBACK_SUFFIX

    if not folder.is_dir():
        return []
    current = {p.name for p in keep}
    return [p for p in sorted(folder.glob(f"*{FEEDBACK_SUFFIX}"))
            if p.name not in current and p.is_file() and not p.is_symlink()]  # fmt: skip
