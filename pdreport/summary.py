"""汇总表.xlsx: the assessment laid out for the coordinating office (xlsxwriter, native charts).

One sheet per view of the assessment — headline targets, tasks, every unit's task progress,
indicator details, the annex units, charts, returns received, findings — all printable
(A4 landscape, one page wide, header row repeated) and filterable.

Security: everything that came from a returned workbook (notes, progress text, file names,
names typed by staff) is written with ``write_string`` into a workbook opened with
``strings_to_formulas=False``/``strings_to_urls=False``: a progress text that reads
``=HYPERLINK(…)`` stays text. Nothing in this module writes a formula. Text is cleaned of
characters XML cannot hold and capped below Excel's cell limit.

Deterministic: the same assessment gives the same bytes (fixed document date, plan order).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import xlsxwriter

from .assess import (
    REPORTED_STATUS,
    STATUS_ORDER,
    Assessment,
    IndicatorResult,
    Report,
    Status,
    TaskResult,
    UnitResult,
    change_text,
    findings_by_respondent,
    intensity_places,
    previous_label,
    rate_places,
    stated_target,
    unit_change_text,
)
from .collect import (
    ACCEPTED,
    BLANK,
    LISTING,
    OTHER_PERIOD,
    REJECTED,
    REPLACED,
    SUPERSEDED,
    FileOutcome,
)
from .findings import UNSAFE_TEXT, Severity
from .outputs import close_workbook, gc_paused
from .plan.model import Combine, chinese_date, format_number
from .template.fastsheet import new_workbook
from .template.fit import (
    RowHeights,
    a4_print,
    chars_per_line,
    display_width,
    lines_that_fit,
    row_height,
    wrapped_lines,
)
from .template.formats import BODY_FONT, HEADER_FILL, TITLE_FONT
from .template.layout import owner_text

SUMMARY_FILE = "汇总表.xlsx"

SHEET_HEADLINE = "总体目标"
SHEET_TASKS = "重点任务"
SHEET_PROGRESS = "任务进展明细"
SHEET_INDICATORS = "指标明细"
SHEET_ANNEX = "附件-镇管理局"
SHEET_CHARTS = "图表"
SHEET_RESPONDENTS = "报送情况"
SHEET_FILES = "收到文件"  # only when the file outcomes are given
SHEET_FINDINGS = "问题清单"
SHEETS = (SHEET_HEADLINE, SHEET_TASKS, SHEET_PROGRESS, SHEET_INDICATORS, SHEET_ANNEX, SHEET_CHARTS,
          SHEET_RESPONDENTS, SHEET_FILES, SHEET_FINDINGS)  # fmt: skip

CELL_LIMIT = 32_000  # Excel holds 32,767 characters in a cell; keep a margin
TRUNCATED = "……（内容过长，已截断）"
PROGRESS_NOTE = f"（各单位进展全文见“{SHEET_PROGRESS}”工作表）"
SNIPPET_LIMITS = (60, 30)  # characters of a unit's first sentence in a shortened 各单位进展
SENTENCE_ENDS = ("。", "；", "！", "？", ".", ";", "!", "?")
STATUS_RANK = {"已滞后": 0, "未启动": 0, "未选状态": 0, "状态填写有误": 0, "已完成": 2}  # 推进中 and others: 1
HEADER_ROW = 2  # row 0: title, row 1: period line, row 2: column headers
FIRST_ROW = HEADER_ROW + 1

# (fill, font colour, bold) — one mapping for every status cell of the workbook.
STATUS_STYLE: dict[Status, tuple[str | None, str | None, bool]] = {
    Status.DONE: ("#C6EFCE", "#006100", False),
    Status.ON_TRACK: ("#DDEBF7", "#1F4E78", False),
    Status.BEHIND: ("#FFC7CE", "#9C0006", True),
    Status.MISSING: ("#D9D9D9", None, False),
    Status.INVALID: ("#FCE4D6", "#C65911", False),
    Status.NOT_ASSESSED: (None, None, False),
}
STATE_STATUS = {"已报送": Status.DONE, "需退回修改": Status.INVALID, "未报送": Status.MISSING}
ROLE_LABEL = {"lead": "牵头", "contributor": "参与核对", "each": "分别考核"}
SUM_ROLE_LABEL = {"lead": "牵头（计入合计）", "contributor": "计入合计"}
COMBINE_LABEL = {
    Combine.LEAD: "以牵头单位数为准",
    Combine.SUM: "各单位合计",
    Combine.EACH: "各单位分别考核",
}
DISTRICT_FILL = "#F2F2F2"
CHANGE = "较上期"



CUT_NOTE = "……（全文超出一行可显示的长度，见原表，位置见“来源”列）"


def within_row(text: str, width: float) -> str:
    """``text`` as it can be shown in one row of a column ``width`` wide (Excel caps a row at
    409 pt): whole when it fits, else cut where it still fits, saying so and where the rest is."""
    if (len(text) <= _surely_fits(width) and "\n" not in text) or wrapped_lines(text, width) <= lines_that_fit():
        return text
    budget = lines_that_fit()
    lo, hi = 0, len(text)  # the longest start that fits with the note
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if wrapped_lines(text[:mid] + CUT_NOTE, width) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + CUT_NOTE


@functools.lru_cache(maxsize=64)
def _surely_fits(width: float) -> int:
    """Characters that fit a row of a column ``width`` wide even if every one is wide (the usual
    text is decided without measuring it)."""
    return int(chars_per_line(width) * (lines_that_fit() - 1) / 2)


def clip(value: object, limit: int = CELL_LIMIT) -> str:
    """Any value → text a cell can hold: no XML-illegal characters, trimmed, at most ``limit``."""
    text = "" if value is None else str(value)
    text = UNSAFE_TEXT.sub("", text).replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > limit:
        text = text[: limit - len(TRUNCATED)] + TRUNCATED
    return text


@dataclass(frozen=True)
class Col:
    title: str
    width: float


# -- entry point ---------------------------------------------------------------------------------


@gc_paused()  # over half a million cells at 10,000 units: see gc_paused
def render_summary(assessment: Assessment, outcomes: Sequence[FileOutcome] | None = None) -> bytes:
    """汇总表.xlsx as bytes. ``outcomes``: every file received (collect's ``FileOutcome``s), if known."""
    buf = io.BytesIO()
    wb = new_workbook(buf)
    w = _Writer(wb, assessment)
    wb.set_properties({
        "title": clip(f"{assessment.plan.title}汇总表（{assessment.period.label}）", 250),
        "subject": clip(assessment.plan.title, 250),
        "author": "pdreport",
        "comments": "由 pdreport 根据各单位报送的填报表自动生成",
        "created": dt.datetime.combine(assessment.period.deadline, dt.time()),
    })  # fmt: skip
    w.headline()
    w.tasks()
    w.progress()
    w.indicators()
    w.annex()
    w.charts()
    w.respondents(outcomes)
    w.guessed = {o.file: o.owner(w.names) for o in outcomes or () if o.guessed}
    w.findings()
    close_workbook(wb)
    return buf.getvalue()


# -- the writer ----------------------------------------------------------------------------------


class _Writer:
    def __init__(self, wb: xlsxwriter.Workbook, a: Assessment):
        self.wb = wb
        self.a = a
        self.plan = a.plan
        self.period = a.period
        self.names = {r.id: r.name for r in a.plan.respondents}
        self.guessed: dict[str, str] = {}  # file → its unit as its name says (问题清单 names it so)
        self.ic: dict[str, int] = {}  # 指标明细: column of each heading (序时目标 only in the year)
        self.has_previous = a.previous is not None
        self.year_end = a.period.is_year_end
        # what the period should show: at year end that is the year's target, nothing 序时 any more
        self.target_title = "年度目标" if self.year_end else "序时目标"
        self._formats: dict[tuple, object] = {}
        # Per-render memos: a sheet of 10,000 respondents repeats the same names, statuses and file
        # names in every table, and the same few formats in every row.
        self._styles: dict[tuple, object] = {}  # text_fmt/num_fmt/status_fmt arguments → format
        self._clipped: dict[str, str] = {}  # raw text → clip(text)
        self.rows = RowHeights()  # the wrapped lines each row needs
        self.fit = self.rows.fit
        self.set_heights = self.rows.set_heights

    # -- formats (cached by their properties) ---------------------------------------------------

    def fmt(self, **props) -> object:
        key = tuple(sorted(props.items()))
        if key not in self._formats:
            base = {"font_name": BODY_FONT, "font_size": 10, "valign": "vcenter", "text_wrap": True,
                    "border": 1, "border_color": "#808080"}  # fmt: skip
            base.update({k: v for k, v in props.items() if v is not None})
            self._formats[key] = self.wb.add_format(base)
        return self._formats[key]

    # The three helpers below run once or twice per cell; their results are memoised by their
    # arguments (``fmt`` would give the same object, but building its sorted key costs more).

    def text_fmt(self, district: bool = False, center: bool = False, top: bool = False) -> object:
        key = ("text", district, center, top)
        f = self._styles.get(key)
        if f is None:
            f = self._styles[key] = self.fmt(
                bold=district or None, bg_color=DISTRICT_FILL if district else None,
                align="center" if center else None, valign="top" if top else None)  # fmt: skip
        return f

    def rate(self, ws, row: int, col: int, u: UnitResult) -> None:
        """An annex unit's rate: two decimals, or as many as tell a rate short of its target from it."""
        d = rate_places(u)
        self.number(ws, row, col, None if u.rate is None else round(u.rate, d), self.num_fmt("0." + "0" * d))

    def num_fmt(self, num_format: str = "General", district: bool = False, **extra) -> object:
        key = ("num", num_format, district)
        f = None if extra else self._styles.get(key)
        if f is None:
            props = {"num_format": num_format, "align": "right", "bold": district or None,
                     "bg_color": DISTRICT_FILL if district else None}  # fmt: skip
            props.update(extra)
            f = self.fmt(**props)
            if not extra:
                self._styles[key] = f
        return f

    def status_fmt(self, status: Status | None) -> object:
        key = ("status", status)
        f = self._styles.get(key)
        if f is None:
            fill, colour, bold = (
                STATUS_STYLE.get(status, (None, None, False)) if status else (None, None, False)
            )
            f = self._styles[key] = self.fmt(align="center", bg_color=fill, font_color=colour,
                                             bold=bold or None)  # fmt: skip
        return f

    # -- cells ------------------------------------------------------------------------------------

    def clip(self, value: object) -> str:
        """``clip``, once per distinct text (only ``str`` is memoised: 1, 1.0 and True are equal
        keys but clip to different texts)."""
        if value.__class__ is not str:
            return clip(value)
        text = self._clipped.get(value)
        if text is None:
            text = self._clipped[value] = clip(value)
        return text

    def text(self, ws, row: int, col: int, value: object, fmt=None) -> None:
        text = self._clipped.get(value) if value.__class__ is str else None  # self.clip, inlined
        if text is None:
            text = self.clip(value)
        ws.write_string(row, col, text, fmt if fmt is not None else self.text_fmt())
        self.fit(ws, row, col, text)

    def cells(self, ws, row: int, col: int, values: Sequence[object], formats: Sequence[object]) -> None:
        """A row of cells from (``row``, ``col``), each with its format: an ``int`` or ``float`` as
        a number, a ``datetime`` as a date, anything else as ``text`` writes it (clipped, its row
        fitted). The same cells as one call a cell, in one call a row (the detail sheets hold
        hundreds of thousands of cells)."""
        clipped = self._clipped
        out = []
        for value in values:
            kind = value.__class__
            if kind is int or kind is float or kind is dt.datetime:
                out.append(value)
                continue
            text = clipped.get(value) if kind is str else None  # self.clip, inlined
            out.append(text if text is not None else self.clip(value))
        ws.write_values(row, col, out, formats=formats)
        self.rows.fit_row(ws, row, col, out)

    def number(
        self, ws, row: int, col: int, value: float | None, fmt=None, blank: str = ""
    ) -> None:
        if value is None:
            ws.write_string(row, col, blank, fmt if fmt is not None else self.num_fmt())
        else:
            ws.write_number(row, col, value, fmt if fmt is not None else self.num_fmt())

    def status(
        self, ws, row: int, col: int, status: Status | None, label: str | None = None
    ) -> None:
        text = self.clip(label if label is not None else (status.label if status else ""))
        ws.write_string(row, col, text, self.status_fmt(status))
        self.fit(ws, row, col, text)

    # -- sheet frame ------------------------------------------------------------------------------

    def sheet(
        self, name: str, title: str, cols: Sequence[Col], note: str = "", freeze_col: int = 0
    ):
        ws = self.wb.add_worksheet(name)
        last = len(cols) - 1
        title_fmt = self.fmt(font_name=TITLE_FONT, font_size=16, bold=True, align="center", border=0,
                             text_wrap=False)  # fmt: skip
        line_fmt = self.fmt(font_size=10, border=0, align="left")
        ws.merge_range(0, 0, 0, last, "", title_fmt)
        ws.write_string(0, 0, clip(title), title_fmt)
        ws.set_row(0, 30)
        p = self.period
        line = (f"报送期：{p.label}（{chinese_date(p.start)}至{chinese_date(p.end)}），报送截止："
                f"{chinese_date(p.deadline)}" + ("。" if p.is_year_end else f"，序时进度{p.elapsed:.0%}。"))  # fmt: skip
        if any(c.title == CHANGE for c in cols):  # (only a sheet that has the column says so)
            line += f"“{CHANGE}”与{previous_label(self.a) or '上期'}相比。"
        ws.merge_range(1, 0, 1, last, "", line_fmt)
        ws.write_string(1, 0, clip(line + note), line_fmt)
        ws.set_row(1, row_height(wrapped_lines(line + note, sum(c.width for c in cols))))
        head = self.fmt(bold=True, bg_color=HEADER_FILL, align="center")
        self.rows.columns(ws, {i: c.width for i, c in enumerate(cols)})
        for i, c in enumerate(cols):
            ws.write_string(HEADER_ROW, i, c.title, head)
            self.fit(ws, HEADER_ROW, i, c.title)
        ws.freeze_panes(FIRST_ROW, freeze_col)
        ws.repeat_rows(HEADER_ROW)
        a4_print(ws)
        return ws

    def finish(self, ws, last_row: int, ncols: int) -> None:
        ws.autofilter(HEADER_ROW, 0, max(last_row, FIRST_ROW), ncols - 1)
        self.set_heights(ws)

    def title(self, what: str) -> str:
        return f"{self.plan.title}——{what}（{self.period.label}）"

    def change(
        self, kind: str, key: str, value: float | None = None, status: Status | None = None
    ) -> str:
        return change_text(self.a, kind, key, value, status) if self.has_previous else ""

    # -- 1. 总体目标 --------------------------------------------------------------------------------

    def headline(self) -> None:
        a = self.a
        # (at year end the period's figure to reach is the year's: 完成率 is read against it)
        cols = [Col("序号", 5), Col("领域", 8), Col("指标", 16), Col("目标", 26), Col("责任部门", 20),
                Col("本期完成", 9), Col("单位", 7), Col(self.target_title, 8), Col("完成率", 8), Col("状态", 9),
                Col("说明", 46)]  # fmt: skip
        if self.has_previous:
            cols.append(Col(CHANGE, 14))
        ws = self.sheet(SHEET_HEADLINE, self.title(self.plan.headline_title or "总体目标完成情况"), cols,
                        "完成率＝本期完成÷年度目标；分别考核的指标逐单位列于“说明”。", freeze_col=3)  # fmt: skip
        row = FIRST_ROW
        for n, h in enumerate(a.headline, 1):
            r, ind = h.result, h.result.indicator
            label = h.row.label if h.row.label and h.row.label != h.row.field else ind.name
            ws.write_number(row, 0, n, self.text_fmt(center=True))
            self.text(ws, row, 1, h.row.field, self.text_fmt(center=True))
            self.text(ws, row, 2, label)
            self.text(ws, row, 3, h.row.target_text)
            self.text(ws, row, 4, self.plan.departments_as_named(h.row.departments_text, h.row.departments))
            if ind.combine is Combine.EACH and r.value is None:
                self.text(ws, row, 5, "分别考核", self.text_fmt(center=True))
            else:
                self.number(ws, row, 5, r.value)
            self.text(ws, row, 6, ind.unit, self.text_fmt(center=True))
            self.number(ws, row, 7, r.sequential)
            ratio = r.ratio if r.value is not None else None
            self.number(ws, row, 8, ratio, self.num_fmt(f"0.{'0' * r.ratio_places()}%"))
            self.status(ws, row, 9, r.status)
            lines = [r.reason] + self.each_lines(r)
            self.text(ws, row, 10, "\n".join(x for x in lines if x))
            if self.has_previous:
                self.text(ws, row, 11, self.change("indicators", ind.id, r.value, r.status))
            row += 1
        self.finish(ws, row - 1, len(cols))

    def each_lines(self, r: IndicatorResult) -> list[str]:
        """One line per department for indicators assessed unit by unit (combine: each)."""
        if r.indicator.combine is not Combine.EACH:
            return []
        out = []
        for rep in r.reports:
            name = self.names.get(rep.respondent, rep.respondent)
            status = rep.status.label if rep.status else ""
            if rep.value is not None:
                out.append(f"{name}：{format_number(rep.value)}{r.indicator.unit}，{status}")
            else:
                extra = f"（{rep.reason}）" if rep.reason and rep.reason != status else ""
                out.append(f"{name}：{status or rep.reason}{extra if status else ''}")
        return out

    # -- 2. 重点任务 --------------------------------------------------------------------------------

    def tasks(self) -> None:
        cols = [Col("序号", 5), Col("板块", 12), Col("重点任务", 18), Col("责任部门", 18), Col("状态", 8),
                Col("说明", 24), Col("相关指标", 30), Col("各单位进展", 72), Col("未报送单位", 16)]  # fmt: skip
        if self.has_previous:
            cols.append(Col(CHANGE, 12))
        sections = {s.number: f"（{s.number}）{s.title}" for s in self.plan.sections}  # as the notice
        ws = self.sheet(SHEET_TASKS, self.title("重点任务推进情况"), cols,
                        f"各单位填报的进展逐条列出；内容较多时请看“{SHEET_PROGRESS}”。", freeze_col=3)  # fmt: skip
        top = self.text_fmt(top=True)
        row = FIRST_ROW
        for t in self.a.tasks:
            task = t.task
            ws.write_number(row, 0, task.number, self.text_fmt(center=True))
            self.text(ws, row, 1, sections.get(task.section, task.section))
            self.text(ws, row, 2, task.title)
            self.text(ws, row, 3, self.plan.departments_as_named(task.departments_text, task.departments))
            self.status(ws, row, 4, t.status)
            self.text(ws, row, 5, t.reason)
            self.text(ws, row, 6, "\n".join(self.indicator_line(r) for r in t.indicators))
            self.text(ws, row, 7, self.progress_text(t, cols[7].width), top)
            self.text(ws, row, 8, "、".join(self.names.get(i, i) for i in t.owed_by))
            if self.has_previous:
                self.text(ws, row, 9, self.change("tasks", str(task.number), status=t.status))
            row += 1
        self.finish(ws, row - 1, len(cols))

    def indicator_line(self, r: IndicatorResult) -> str:
        ind = r.indicator
        if ind.is_milestone:
            if r.done:
                got = f"已完成（{chinese_date(r.done_on)}）" if r.done_on else "已完成"
            else:
                got = "未完成" if r.done is False else r.status.label
        elif r.value is not None:
            got = f"{format_number(r.value)}{ind.unit}"
        elif ind.combine is Combine.EACH and any(x.value is not None for x in r.reports):
            got = "分别考核"
        elif r.doubted_lead is not None:  # (too large to be believed: W205)
            got = f"{format_number(r.doubted_lead.value)}{ind.unit}（待核实）"
        else:
            got = r.status.label
        return f"{ind.name}：{got} / {stated_target(ind)}（{r.status.label}）"

    def progress_text(self, t: TaskResult, width: float) -> str:
        """Every unit's progress in one cell of a column ``width`` wide, kept within what a row can
        show (Excel caps a row at 409 pt; more would be cut mid-sentence on screen and paper): the
        full text when it fits; else each unit's first sentence, clipped to 60 (then 30)
        characters; else the units named under their status. Either shortened form ends by
        saying where the full text is."""
        budget = lines_that_fit()
        paras: list[str] = []
        used = 0
        for rep in t.reports:
            parts = [self.clip(rep.progress)]
            if self.clip(rep.problems):
                parts.append(f"存在问题：{self.clip(rep.problems)}")
            if self.clip(rep.next_steps):
                parts.append(f"下一步：{self.clip(rep.next_steps)}")
            para = self.unit_head(rep) + _sentences(p for p in parts if p)
            used += wrapped_lines(para, width)
            if used > budget:  # stops at once: a task of thousands of units ends here
                break
            paras.append(para)
        else:
            return "\n".join(paras)
        if len(t.reports) < budget:
            for limit in SNIPPET_LIMITS:
                text = "\n".join([*(self.unit_head(rep) + _snippet(self.clip(rep.progress), limit)
                                     for rep in t.reports), PROGRESS_NOTE])  # fmt: skip
                if wrapped_lines(text, width) <= budget:
                    return text
        return self.progress_by_status(t, width, budget - wrapped_lines(PROGRESS_NOTE, width))

    def unit_head(self, rep) -> str:
        return f"【{self.names.get(rep.respondent, rep.respondent)}】{self.clip(rep.status) or rep.no_status}："

    def progress_by_status(self, t: TaskResult, width: float, budget: int) -> str:
        """The units of a task named under the status they chose (those behind first; a status is
        one of the template's choices or none), each status given an equal share of ``budget``
        lines and its list ended with “等N个单位” where it runs over."""
        groups: dict[str, list[str]] = {}
        for rep in t.reports:
            status = self.clip(rep.status) or rep.no_status
            groups.setdefault(status, []).append(self.names.get(rep.respondent, rep.respondent))
        order = sorted(groups, key=lambda s: STATUS_RANK.get(s, 1))  # stable: else as reported
        room = max(1, budget // len(order)) * chars_per_line(width)
        lines = []
        for status in order:
            names = groups[status]
            line = f"{status}（{len(names)}个单位）："
            left = room - display_width(line) - display_width(f"等{len(names)}个单位")
            for i, name in enumerate(names):
                left -= display_width(name) + 2
                if left < 0:
                    line += f"等{len(names)}个单位"
                    break
                line += ("、" if i else "") + name
            lines.append(line)
        return "\n".join([*lines, PROGRESS_NOTE])

    # -- 2b. 任务进展明细 -----------------------------------------------------------------------------

    def progress(self) -> None:
        cols = [Col("任务序号", 8), Col("重点任务", 18), Col("填报单位", 14), Col("推进状态", 8),
                Col("主要进展", 50), Col("存在问题", 30), Col("下一步工作", 30), Col("来源", 22)]  # fmt: skip
        ws = self.sheet(SHEET_PROGRESS, self.title("各单位重点任务进展明细"), cols,
                        "每个责任单位每项任务一行；“未报送”表示该单位未填写此项任务，“数据有误”表示填写了但未采用（原因见问题清单）。", freeze_col=3)  # fmt: skip
        top, plain, center = self.text_fmt(top=True), self.text_fmt(), self.text_fmt(center=True)
        unreported = {st: ((st.label, "", "", "", ""), (center, plain, plain, self.status_fmt(st), plain, plain,
                                                         plain, plain))
                      for st in (Status.INVALID, Status.MISSING)}  # fmt: skip
        reported = (center, plain, plain, None, top, top, top, plain)
        widths = [cols[c].width for c in (4, 5, 6)]
        row = FIRST_ROW
        for t in self.a.tasks:
            said = {rep.respondent: rep for rep in t.reports}
            owed = set(t.owed_by)  # a task can have thousands of respondents: no tuple scans
            invalid = set(t.invalid_by)
            head = (t.task.number, t.task.title)
            for rid in t.task.respondents:
                rep = said.get(rid)
                if rep is None and rid not in owed and rid not in invalid:
                    continue
                name = self.names.get(rid, rid)
                if rep is None:
                    rest, formats = unreported[Status.INVALID if rid in invalid else Status.MISSING]
                    self.cells(ws, row, 0, (*head, name, *rest), formats)
                else:
                    st = REPORTED_STATUS.get(rep.status)
                    label = rep.status if rep.status is not None else (st.label if st else "")
                    texts = [within_row(self.clip(text), width)
                             for text, width in zip((rep.progress, rep.problems, rep.next_steps), widths, strict=True)]  # fmt: skip
                    formats = list(reported)
                    formats[3] = self.status_fmt(st)
                    self.cells(ws, row, 0, (*head, name, label, *texts, str(rep.source) if rep.source else ""),
                               formats)  # fmt: skip
                row += 1
        self.finish(ws, row - 1, len(cols))

    # -- 3. 指标明细 --------------------------------------------------------------------------------

    def indicators(self) -> None:
        # 所属 names an indicator as the clerk's sheet does (“总体目标第1项”, “任务5”), never by the
        # plan's id (H1, T05-1), which reads like a cell beside the 单元格 column. At year end the
        # 序时目标 would repeat the 年度目标 beside it: the column is left out.
        cols = [Col("所属", 13), Col("指标名称", 20), Col("单位", 6), Col("年度目标", 14),
                *(() if self.year_end else (Col("序时目标", 8),)),
                Col("填报单位", 14), Col("角色", 9), Col("填报值", 9), Col("是否完成", 8), Col("完成日期", 10),
                Col("状态", 8), Col("评估说明", 28), Col("情况说明", 24), Col("参与单位合计", 11.5),
                Col("差异", 9), Col("来源文件", 16), Col("工作表", 8), Col("单元格", 6.5)]  # fmt: skip
        if self.has_previous:
            cols.append(Col(CHANGE, 12))
        self.ic = {c.title: i for i, c in enumerate(cols)}  # column of each heading
        ws = self.sheet(SHEET_INDICATORS, self.title("指标明细"), cols,
                        "灰底行为全区（汇总）数；差异＝（牵头单位数－参与单位合计）÷牵头单位数（参与单位口径交叉、合计有重复的不计）；"
                        "参与单位的数与牵头单位数不符（合计超过全区数，或单个单位超过全区数）、里程碑参与单位报的是否完成与牵头单位不一致的标橙，"
                        "说明见“评估说明”。",
                        freeze_col=2)  # fmt: skip
        owners: dict[str, str] = {}
        row = FIRST_ROW
        for r in self.a.indicators.values():
            ind = r.indicator
            owner = owners.get(ind.id)
            if owner is None:
                owner = owners[ind.id] = owner_text(self.plan, ind)
            self.district_row(ws, row, r, owner)
            row += 1
            for rep in r.reports:
                self.report_row(ws, row, r, rep, owner)
                row += 1
        self.finish(ws, row - 1, len(cols))

    def indicator_cells(self, ws, row: int, r: IndicatorResult, district: bool, owner: str) -> None:
        ind = r.indicator
        tf = self.text_fmt(district=district)
        self.text(ws, row, 0, owner, tf)
        self.text(ws, row, 1, ind.name, tf)
        self.text(ws, row, 2, ind.unit, self.text_fmt(district=district, center=True))
        self.text(ws, row, 3, stated_target(ind), tf)
        if not self.year_end:
            self.number(ws, row, 4, r.sequential, self.num_fmt(district=district))

    def district_row(self, ws, row: int, r: IndicatorResult, owner: str) -> None:
        ind = r.indicator
        c = self.ic
        tf = self.text_fmt(district=True)
        nf = self.num_fmt(district=True)
        self.indicator_cells(ws, row, r, True, owner)
        self.text(ws, row, c["填报单位"], "全区（汇总）", tf)
        center = self.text_fmt(district=True, center=True)
        self.text(ws, row, c["角色"], COMBINE_LABEL[ind.combine], center)
        self.number(ws, row, c["填报值"], r.value, nf)
        self.milestone_cells(ws, row, ind.is_milestone, r.done, r.done_on, True)
        self.status(ws, row, c["状态"], r.status)
        self.text(ws, row, c["评估说明"], r.reason, tf)
        self.text(ws, row, c["情况说明"], ind.note, tf)
        self.number(ws, row, c["参与单位合计"], r.contributors_sum, nf)
        # (a sum hundreds of times the lead's, 3000 typed in 千瓦: -23975%, whole, still fits the column)
        pct = "0%" if r.gap is not None and abs(r.gap) >= 1 else "0.0%"
        gap_fmt = self.num_fmt(pct, district=True)
        if r.cross_check_flagged:
            fill, colour, _ = STATUS_STYLE[Status.INVALID]
            gap_fmt = self.num_fmt(pct, bold=True, bg_color=fill, font_color=colour)
        self.number(ws, row, c["差异"], r.gap, gap_fmt)
        for title in ("来源文件", "工作表", "单元格"):
            self.text(ws, row, c[title], "", tf)
        if self.has_previous:
            self.text(ws, row, c[CHANGE], self.change("indicators", ind.id, r.value, r.status), tf)

    def report_row(self, ws, row: int, r: IndicatorResult, rep: Report, owner: str) -> None:
        ind = r.indicator
        c = self.ic
        labels = SUM_ROLE_LABEL if ind.combine is Combine.SUM else ROLE_LABEL
        self.indicator_cells(ws, row, r, False, owner)
        self.text(ws, row, c["填报单位"], self.names.get(rep.respondent, rep.respondent))
        self.text(ws, row, c["角色"], labels.get(rep.role, rep.role), self.text_fmt(center=True))
        self.number(ws, row, c["填报值"], rep.value)
        self.milestone_cells(ws, row, ind.is_milestone, rep.done, rep.done_on, False)
        self.status(ws, row, c["状态"], *self.report_status(r, rep))
        self.text(ws, row, c["评估说明"], rep.reason)
        self.text(ws, row, c["情况说明"], rep.note)
        self.text(ws, row, c["参与单位合计"], "")
        self.text(ws, row, c["差异"], "")
        src = rep.source
        self.text(ws, row, c["来源文件"], src.file if src else "")
        self.text(ws, row, c["工作表"], src.sheet if src else "")
        self.text(ws, row, c["单元格"], src.cell if src else "", self.text_fmt(center=True))
        if self.has_previous:
            each = ind.combine is Combine.EACH
            text = unit_change_text(self.a, ind.id, rep.respondent, rep.value) if each else ""
            self.text(ws, row, c[CHANGE], text)

    @staticmethod
    def report_status(r: IndicatorResult, rep: Report) -> tuple[Status | None, str]:
        if rep.status is not None:
            return rep.status, rep.status.label
        if rep.state == "missing":
            return Status.MISSING, Status.MISSING.label
        if rep.state == "invalid":
            return Status.INVALID, Status.INVALID.label
        if rep.role == "lead":
            return r.status, r.status.label
        return None, "已填报"

    def milestone_cells(self, ws, row: int, milestone: bool, done: bool | None, on: dt.date | None,
                        district: bool) -> None:  # fmt: skip
        cf = self.text_fmt(district=district, center=True)
        done_col, date_col = self.ic["是否完成"], self.ic["完成日期"]
        said = {True: "是", False: "否"}.get(done, "") if milestone else ""
        self.text(ws, row, done_col, said, cf)
        if on is not None:
            ws.write_datetime(row, date_col, dt.datetime.combine(on, dt.time()),
                              self.fmt(num_format="yyyy-mm-dd", align="center", bold=district or None,
                                       bg_color=DISTRICT_FILL if district else None))  # fmt: skip
        else:
            self.text(ws, row, date_col, "", cf)

    # -- 4. 附件 ----------------------------------------------------------------------------------

    def annex(self) -> None:
        annex = self.plan.annex
        base = annex.base_year
        cols = [Col("序号", 5), Col("单位", 14), Col("目标下降率（%）", 10),
                Col("上年同期综合能耗（吨标准煤）", 13), Col("本期综合能耗（吨标准煤）", 13),
                Col("上年同期产值（万元）", 14), Col("本期产值（万元）", 14),
                Col("上年同期万元产值能耗（吨标准煤/万元）", 13), Col("本期万元产值能耗（吨标准煤/万元）", 13),
                Col("下降率（%）", 10.5), Col("状态", 8), Col("说明", 46)]  # fmt: skip
        if self.has_previous:
            cols.append(Col(CHANGE, 12))
        based = f"；考核基数为{base}年" if base else ""  # (base_year is optional in a plan)
        ws = self.sheet(SHEET_ANNEX, self.title(annex.title), cols,
                        f"{annex.indicator_name}＝（1－本期万元产值能耗÷上年同期万元产值能耗）×100；"
                        f"“/”为通知未下达目标、不考核{based}。", freeze_col=2)  # fmt: skip
        row = FIRST_ROW
        for u in self.a.annex:
            self.unit_row(ws, row, u)
            row += 1
        self.finish(ws, row - 1, len(cols))
        note_fmt = self.fmt(font_size=10, border=0, valign="top", align="left")
        ws.merge_range(row + 1, 0, row + 1, len(cols) - 1, "", note_fmt)
        ws.write_string(row + 1, 0, clip(f"注：{annex.note}"), note_fmt)
        ws.set_row(row + 1, 30)

    def unit_row(self, ws, row: int, u: UnitResult) -> None:
        ws.write_number(row, 0, u.unit.seq, self.text_fmt(center=True))
        self.text(ws, row, 1, self.names.get(u.unit.respondent, u.unit.respondent))
        if u.target is None:
            self.text(ws, row, 2, "/", self.text_fmt(center=True))
        else:
            self.number(ws, row, 2, u.target, self.num_fmt("0.0#"))
        figures = self.num_fmt("#,##0.0#")
        for c, v in enumerate(
            (u.energy_base, u.energy_current, u.output_base, u.output_current), 3
        ):
            self.number(ws, row, c, v, figures)
        # (the figure unrounded, shown to six significant figures as in the report: four decimals
        # made an intensity typed in 万吨, 0.0000037, read 0)
        for c, v in ((7, u.intensity_base), (8, u.intensity_current)):
            d = 0 if v is None else intensity_places(v)
            self.number(ws, row, c, v, self.num_fmt("0." + "0" * d if d else "0"))
        self.rate(ws, row, 9, u)
        self.status(ws, row, 10, u.status)
        self.text(ws, row, 11, u.reason)
        if self.has_previous:
            self.text(ws, row, 12, self.change("annex", u.unit.respondent, u.rate, u.status))

    # -- 5. 图表 ----------------------------------------------------------------------------------

    def charts(self) -> None:
        a = self.a
        ws = self.wb.add_worksheet(SHEET_CHARTS)
        a4_print(ws)
        title_fmt = self.fmt(font_name=TITLE_FONT, font_size=16, bold=True, align="center", border=0,
                             text_wrap=False)  # fmt: skip
        ws.merge_range(0, 0, 0, 14, "", title_fmt)
        ws.write_string(0, 0, clip(self.title("图表")), title_fmt)
        ws.set_row(0, 30)
        sec = self.fmt(bold=True, font_size=11, border=0, text_wrap=False)
        head = self.fmt(bold=True, bg_color=HEADER_FILL, align="center")
        self.rows.columns(ws, dict(enumerate((16, 10, 10, 10))))

        # status counts: a small table and a clustered column chart
        groups = (("重点任务", a.status_counts(a.tasks)),
                  ("指标", a.status_counts(a.indicators.values())),
                  ("附件单位", a.status_counts(a.annex)))  # fmt: skip
        # (at year end nothing is 序时推进 any more: that row and bar are left out, as in the report)
        statuses = [s for s in STATUS_ORDER if not (s is Status.ON_TRACK and self.year_end
                                                    and not any(n.get(s) for _, n in groups))]  # fmt: skip
        ws.write_string(2, 0, "一、状态统计（个）", sec)
        top = 3
        ws.write_string(top, 0, "状态", head)
        for c, (name, _) in enumerate(groups, 1):
            ws.write_string(top, c, name, head)
        for i, status in enumerate(statuses, 1):
            self.status(ws, top + i, 0, status)
            for c, (_, counts) in enumerate(groups, 1):
                ws.write_number(top + i, c, counts.get(status, 0), self.num_fmt())
        last = top + len(statuses)
        ws.write_string(last + 1, 0, "合计", self.text_fmt(district=True, center=True))
        for c, (_, counts) in enumerate(groups, 1):
            ws.write_number(last + 1, c, sum(counts.values()), self.num_fmt(district=True))
        chart = self.wb.add_chart({"type": "column"})
        colours = ("#4472C4", "#ED7D31", "#A5A5A5")
        for c in range(1, len(groups) + 1):
            chart.add_series({
                "name": [SHEET_CHARTS, top, c],
                "categories": [SHEET_CHARTS, top + 1, 0, last, 0],
                "values": [SHEET_CHARTS, top + 1, c, last, c],
                "fill": {"color": colours[c - 1]},
                "data_labels": {"value": True, "font": _font(9)},
                "gap": 80,
            })  # fmt: skip
        self.style_chart(chart, "重点任务、指标和附件单位的状态分布", "状态", "数量（个）")
        chart.set_size({"width": 760, "height": 300})
        ws.insert_chart(2, 5, chart, {"x_offset": 10, "y_offset": 0})

        # annex: reduction rate against target for the assessed units
        units = [u for u in a.annex if u.target is not None]
        start = max(last + 3, 19)
        ws.write_string(start, 0, f"二、{self.plan.annex.indicator_name}与目标（%）", sec)
        head_row = start + 1
        for c, name in enumerate(("单位", "目标下降率", "实际下降率", "状态")):
            ws.write_string(head_row, c, name, head)
        for i, u in enumerate(units, 1):
            r = head_row + i
            self.text(ws, r, 0, self.names.get(u.unit.respondent, u.unit.respondent))
            self.number(ws, r, 1, u.target, self.num_fmt("0.0#"))
            self.rate(ws, r, 2, u)
            self.status(ws, r, 3, u.status)
        if units:
            end = head_row + len(units)
            chart = self.wb.add_chart({"type": "column"})
            for c, colour in ((1, "#A5A5A5"), (2, "#4472C4")):
                chart.add_series({
                    "name": [SHEET_CHARTS, head_row, c],
                    "categories": [SHEET_CHARTS, head_row + 1, 0, end, 0],
                    "values": [SHEET_CHARTS, head_row + 1, c, end, c],
                    "fill": {"color": colour},
                    "gap": 60,
                })  # fmt: skip
            self.style_chart(chart, f"各管理局（管委会）、镇{self.plan.annex.indicator_name}与目标",
                             "单位", "下降率（%）", rotate=True)  # fmt: skip
            chart.set_size({"width": 1000, "height": 400})
            ws.insert_chart(start, 5, chart, {"x_offset": 10, "y_offset": 0})
        self.set_heights(ws)

    @staticmethod
    def style_chart(chart, title: str, x_name: str, y_name: str, rotate: bool = False) -> None:
        chart.set_title({"name": title, "name_font": _font(12, bold=True)})
        chart.set_x_axis(
            {
                "name": x_name,
                "name_font": _font(10),
                "num_font": _font(9, rotation=-45 if rotate else 0),
            }
        )
        chart.set_y_axis({"name": y_name, "name_font": _font(10), "num_font": _font(9),
                          "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})  # fmt: skip
        chart.set_legend({"position": "top", "font": _font(9)})
        chart.set_chartarea({"border": {"none": True}})

    # -- 6. 报送情况 --------------------------------------------------------------------------------

    def respondents(self, outcomes: Sequence[FileOutcome] | None) -> None:
        a = self.a
        cols = [Col("序号", 6), Col("单位", 18), Col("类别", 15), Col("报送状态", 10), Col("报送文件", 34),
                Col("填报日期", 11), Col("填报人", 9), Col("联系电话", 14), Col("是否按时", 8), Col("错误", 6),
                Col("提醒", 6)]  # fmt: skip
        ws = self.sheet(SHEET_RESPONDENTS, self.title("各单位报送情况"), cols,
                        "“需退回修改”：填报表有错误，见“问题清单”。“是否按时”按本单位本期第一份填报表的填报日期判断，"
                        "更正后重新报送的不算逾期。错误、提醒按问题所属单位统计，含该单位未采用的文件（如重复报送的"
                        "较早一份）中的问题，与报告附件2表3一致；各文件的问题数见“收到文件”。", freeze_col=2)  # fmt: skip
        center = self.text_fmt(center=True)
        found = findings_by_respondent(a)  # (as the report's 表3 and 问题清单's 按单位统计 count)
        plain, number, behind = self.text_fmt(), self.num_fmt(), self.status_fmt(Status.BEHIND)
        day = self.fmt(num_format="yyyy-mm-dd", align="center")
        row = FIRST_ROW
        for n, card in enumerate(a.respondents, 1):
            sub = card.submission
            dated = sub is not None and sub.filled_on is not None
            st = STATE_STATUS.get(card.state)
            label = card.state if card.state is not None else (st.label if st else "")
            errors, warnings = found.get(card.respondent.id, (0, 0))
            values = (n, card.respondent.name, card.respondent.kind.label, label, sub.file if sub else "",
                      dt.datetime.combine(sub.filled_on, dt.time()) if dated else "",
                      sub.filler if sub else "", sub.phone if sub else "",
                      {True: "是", False: "否"}.get(card.on_time, ""), errors, warnings)  # fmt: skip
            formats = (center, plain, center, self.status_fmt(st), plain, day if dated else center, center, center,
                       behind if card.on_time is False else center, number, number)  # fmt: skip
            self.cells(ws, row, 0, values, formats)
            row += 1
        self.finish(ws, row - 1, len(cols))

        sec = self.fmt(bold=True, font_size=11, border=0, text_wrap=False)
        row += 1
        ws.write_string(row, 0, "报送统计", sec)
        row += 1
        counts = [("应报单位", len(a.respondents)), ("已报送单位", len(a.submitted)),
                  ("其中需退回修改", sum(c.state == "需退回修改" for c in a.respondents)),
                  ("未报送单位", len(a.missing)),
                  ("逾期报送", sum(c.on_time is False for c in a.respondents))]  # fmt: skip
        if outcomes is not None:
            counts += [("收到文件", len(outcomes)), ("采用文件", sum(o.status == ACCEPTED for o in outcomes)),
                       ("采用但有错误的文件", sum(o.status == ACCEPTED and o.errors > 0 for o in outcomes)),
                       ("无法采用的文件", sum(o.status == REJECTED for o in outcomes))]  # fmt: skip
            blank = sum(o.status == REJECTED and o.blank for o in outcomes)
            if blank:  # (templates sent back with nothing filled in, by offices with no other return)
                counts.append(("其中空表（未填写）", blank))
            counts.append(("重复报送（未采用）", sum(o.status == SUPERSEDED for o in outcomes)))
            replaced = sum(o.status == REPLACED for o in outcomes)
            if replaced:  # (earlier returns of offices that sent back their corrected copies)
                counts.append(("已由更正稿替换的文件", replaced))
            other = sum(o.status == OTHER_PERIOD for o in outcomes)
            if other:  # (another period's returns of offices whose return of this period is used)
                counts.append(("其他报送期的文件（未采用）", other))
            beside = sum(o.status == BLANK for o in outcomes)
            if beside:  # (blank templates of offices whose filled-in return is used)
                counts.append(("空表（单位另有采用的填报表）", beside))
            listing = sum(o.status == LISTING for o in outcomes)
            if listing:  # (the templates' 分发清单, copied along with them)
                counts.append(("分发清单（不是填报表，未读取）", listing))
        label = self.text_fmt()
        for name, value in counts:
            ws.merge_range(row, 0, row, 2, "", label)
            ws.write_string(row, 0, name, label)
            ws.write_number(row, 3, value, self.num_fmt())
            row += 1
        self.set_heights(ws)
        if outcomes is not None:
            self.files(outcomes)

    def files(self, outcomes: Sequence[FileOutcome]) -> None:
        cols = [Col("序号", 6), Col("文件", 40), Col("文件类型", 8), Col("处理结果", 17), Col("填报单位", 18),
                Col("错误", 6), Col("提醒", 6)]  # fmt: skip
        ws = self.sheet(SHEET_FILES, self.title("收到的文件"), cols,
                        f"共收到{len(outcomes)}份文件；“无法采用”“重复”的原因见“问题清单”。"
                        + (f"“{OTHER_PERIOD}”是单位其他报送期的填报表，该单位本期的填报表已采用，不列为问题。"
                           if any(o.status == OTHER_PERIOD for o in outcomes) else "")
                        + (f"“{BLANK}”是单位未填写的空白填报表，该单位另有采用的填报表，不列为问题。"
                           if any(o.status == BLANK for o in outcomes) else ""), freeze_col=2)  # fmt: skip
        center = self.text_fmt(center=True)
        file_status = {ACCEPTED: Status.DONE, REJECTED: Status.BEHIND, SUPERSEDED: Status.MISSING,
                       REPLACED: Status.MISSING, OTHER_PERIOD: Status.MISSING, BLANK: Status.MISSING,
                       LISTING: Status.NOT_ASSESSED}  # fmt: skip
        row = FIRST_ROW
        plain, number = self.text_fmt(), self.num_fmt()
        for n, o in enumerate(sorted(outcomes, key=lambda o: (o.file, o.status, o.respondent)), 1):
            st = Status.INVALID if o.status == ACCEPTED and o.errors else file_status.get(o.status)
            label = f"{o.status}（有错误）" if st is Status.INVALID else o.status
            self.cells(ws, row, 0, (n, o.file, o.kind, label, o.owner(self.names), o.errors, o.warnings),
                       (center, plain, center, self.status_fmt(st), plain, number, number))  # fmt: skip
            row += 1
        self.finish(ws, row - 1, len(cols))

    # -- 7. 问题清单 --------------------------------------------------------------------------------

    def findings(self) -> None:
        found = self.a.findings
        errors = sum(f.is_error for f in found)
        cols = [Col("序号", 6), Col("填报单位", 14), Col("文件", 22), Col("工作表", 9), Col("单元格", 7),
                Col("项目", 20), Col("填报内容", 16), Col("问题代码", 8), Col("问题", 14), Col("级别", 6),
                Col("问题说明", 40), Col("处理建议", 34)]  # fmt: skip
        ws = self.sheet(SHEET_FINDINGS, self.title("填报问题清单"), cols,
                        f"共{len(found)}条：错误{errors}条，提醒{len(found) - errors}条。", freeze_col=2)  # fmt: skip
        center = self.text_fmt(center=True)
        err = self.fmt(align="center", bold=True, font_color="#C00000")
        warn = self.fmt(align="center", font_color="#9C5700")
        row = FIRST_ROW
        for n, x in enumerate(found, 1):
            ws.write_number(row, 0, n, center)
            unit = self.names.get(x.respondent, x.respondent) or self.guessed.get(x.file, "")
            values = (unit, x.file, x.sheet, x.cell, x.label, x.value,
                      x.code.code, x.code.title)  # fmt: skip
            for c, v in enumerate(values, 1):
                self.text(ws, row, c, v, center if c in (4, 7) else None)
            self.text(ws, row, 9, x.level.label, err if x.level is Severity.ERROR else warn)
            self.text(ws, row, 10, x.message)
            self.text(ws, row, 11, x.hint)
            row += 1
        if not found:
            ws.merge_range(row, 0, row, len(cols) - 1, "", center)
            ws.write_string(row, 0, "本期未发现问题。", center)
            row += 1
        self.finish(ws, row - 1, len(cols))


def _snippet(text: str, limit: int) -> str:
    """The first sentence of ``text``, at most ``limit`` characters; “…” marks anything left out."""
    text = text.replace("\n", " ")
    for i, ch in enumerate(text[: limit + 1]):
        if ch in "。；！？;!?":  # not ".": 3.5万千瓦
            return text[: i + 1] + ("…" if text[i + 1 :].strip() else "")
    return text[:limit] + "…" if len(text) > limit else text


def _sentences(parts: Iterable[str]) -> str:
    """Join text parts, adding "；" where a part does not already end a sentence."""
    out = ""
    for part in parts:
        if out and not out.endswith(SENTENCE_ENDS):
            out += "；"
        out += part
    return out


def _font(size: int, bold: bool = False, rotation: int = 0) -> dict:
    font = {"name": BODY_FONT, "size": size, "bold": bold}
    if rotation:
        font["rotation"] = rotation
    return font
