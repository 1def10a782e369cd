"""Which cell holds which field, for one respondent and one period.

The layout is computed once, as plain values, from the plan. ``workbook.py`` renders
it and ``metadata.py`` writes its map into the workbook, so intake reads positions
from the returned file itself instead of guessing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xlsxwriter.utility import xl_rowcol_to_cell

from ..plan.model import Accumulation, Comparison, Indicator, Period, Plan, Respondent, Task

TEMPLATE_VERSION = "1"

COVER, INDICATORS, ANNEX, TASKS, META = "填报说明", "指标", "附件指标", "重点任务", "_pdreport"
# the one sheet of the 分发清单.xlsx written beside the templates: how intake tells it from a return
DISTRIBUTION_SHEET = "分发清单"
# a feedback copy (退回修改, see feedback.py) is the office's return with this sheet put first, and is
# named "单位_退回修改.xlsx": a return holding that sheet (or so named) is a corrected copy sent back
FEEDBACK_NOTE, FEEDBACK_WORD = "退回说明", "退回修改"
# the signature line written two rows below each table (a formula: its text once recalculated)
SIGNATURE_LEAD = "单位负责人（审核人）："
STATUSES = ("未启动", "推进中", "已完成", "已滞后")
YES_NO = ("是", "否")

# 指标 sheet: column index of each part (0-based); header on row HEADER_ROW.
IND_COLUMNS = ("序号", "所属", "指标名称", "计量单位", "年度目标", "序时目标", "填报口径",
               "填报值", "完成率", "情况说明")  # fmt: skip
IND_VALUE, IND_RATIO, IND_NOTE = 7, 8, 9
IND_SEQUENTIAL = 5
TASK_COLUMNS = ("任务序号", "重点任务", "通知要求（原文）", "责任部门", "推进状态", "主要进展",
                "存在问题", "下一步工作")  # fmt: skip
TASK_STATUS, TASK_PROGRESS, TASK_PROBLEMS, TASK_NEXT = 4, 5, 6, 7
MS_COLUMNS = ("序号", "所属任务", "里程碑事项", "计划完成时间", "是否完成", "完成日期", "情况说明")
MS_DONE, MS_DATE, MS_NOTE = 4, 5, 6
HEADER_ROW = 3  # rows 0-2: title, respondent/period line, units line
FIRST_ROW = HEADER_ROW + 1

# cover: header fields staff fill in (key, label, kind)
HEADER_FIELDS = (
    ("header.filler", "填报人", "text"),
    ("header.phone", "联系电话", "text"),
    ("header.date", "填报日期", "date"),
    ("header.reviewer", "审核人（单位负责人）", "text"),
)
COVER_FIRST_FIELD_ROW = 9
COVER_VALUE_COL = 2
COVER_INFO_ROW = 3  # cover: 填报单位, 报送期, 报送截止, 本表内容 from this row, values in COVER_VALUE_COL
# where the cover shows the period the form is for (“2024年上半年（…）”): E104 points here, not at
# the hidden map the office cannot open
COVER_PERIOD_CELL = xl_rowcol_to_cell(COVER_INFO_ROW + 1, COVER_VALUE_COL)

ANNEX_FIELDS = (  # key, label, row offset, column (0-based) on the 附件指标 sheet
    ("annex.energy_base", "规上工业综合能耗·上年同期（吨标准煤）", 0, 2),
    ("annex.energy_current", "规上工业综合能耗·本期（吨标准煤）", 0, 3),
    ("annex.output_base", "规上工业总产值·上年同期（万元）", 1, 2),
    ("annex.output_current", "规上工业总产值·本期（万元）", 1, 3),
)
ANNEX_FIRST_ROW = 5
ANNEX_WIDTH = 5  # 序号, 项目, 上年同期, 本期, 说明 (workbook.py writes the headings)
ANNEX_UNITS = {"annex.energy_base": "吨标准煤", "annex.energy_current": "吨标准煤",
               "annex.output_base": "万元", "annex.output_current": "万元"}  # fmt: skip


# columns each table sheet spans (its widest table): anything typed to the right is outside it
TABLE_WIDTHS = {INDICATORS: len(IND_COLUMNS), ANNEX: ANNEX_WIDTH, TASKS: max(len(TASK_COLUMNS), len(MS_COLUMNS))}


@dataclass(frozen=True)
class Field:
    """One input cell: what intake reads, validates and reports by name."""

    key: str  # stable: "ind.T05-1.value", "task.5.status", "annex.energy_base" …
    sheet: str
    cell: str  # A1
    label: str  # Chinese, for messages
    kind: str  # number | text | choice | date
    required: bool
    ref: str = ""  # indicator id, task number or "annex"/"header"
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabelCell:
    """A locked label whose text intake checks, to notice edited or shifted rows."""

    sheet: str
    cell: str
    text: str


@dataclass(frozen=True)
class IndicatorRow:
    row: int
    indicator: Indicator
    role: str  # "lead" | "contributor" | "each"
    sequential: float | None

    @property
    def assessed_here(self) -> bool:
        return self.role != "contributor"


@dataclass(frozen=True)
class TaskRow:
    row: int
    task: Task


@dataclass(frozen=True)
class MilestoneRow:
    row: int
    indicator: Indicator
    role: str


@dataclass
class Layout:
    plan: Plan
    respondent: Respondent
    period: Period
    indicators: list[IndicatorRow] = field(default_factory=list)
    tasks: list[TaskRow] = field(default_factory=list)
    milestones: list[MilestoneRow] = field(default_factory=list)
    milestone_header_row: int | None = None
    annex_target: float | None = None
    has_annex: bool = False
    fields: list[Field] = field(default_factory=list)
    labels: list[LabelCell] = field(default_factory=list)

    @property
    def sheets(self) -> list[str]:
        out = [COVER]
        if self.indicators:
            out.append(INDICATORS)
        if self.has_annex:
            out.append(ANNEX)
        if self.tasks or self.milestones:
            out.append(TASKS)
        return out

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)

    def required_fields(self) -> list[Field]:
        return [f for f in self.fields if f.required]


def cell(row: int, col: int) -> str:
    return xl_rowcol_to_cell(row, col)


def role_of(indicator: Indicator, respondent_id: str) -> str:
    if indicator.combine.value == "each":
        return "each"
    return "lead" if indicator.lead == respondent_id else "contributor"


def value_bounds(indicator: Indicator) -> tuple[float | None, float | None]:
    if indicator.accumulation is Accumulation.RATE:
        return -100.0, 100.0
    if indicator.unit == "%":
        return 0.0, 100.0
    return 0.0, None


def build_layout(plan: Plan, respondent: Respondent, period: Period) -> Layout:
    from ..periods import sequential_target

    lay = Layout(plan, respondent, period)
    add = lay.fields.append
    label = lay.labels.append

    for i, (key, text, kind) in enumerate(HEADER_FIELDS):
        row = COVER_FIRST_FIELD_ROW + i
        add(Field(key, COVER, cell(row, COVER_VALUE_COL), text, kind, True, "header"))
        label(LabelCell(COVER, cell(row, 1), text))

    numeric = [i for i in plan.indicators_for(respondent.id) if not i.is_milestone]
    for n, ind in enumerate(numeric):
        row = FIRST_ROW + n
        role = role_of(ind, respondent.id)
        seq = sequential_target(ind, period) if role != "contributor" else None
        lay.indicators.append(IndicatorRow(row, ind, role, seq))
        lo, hi = value_bounds(ind)
        name = indicator_label(plan, ind)
        add(Field(f"ind.{ind.id}.value", INDICATORS, cell(row, IND_VALUE), f"{name}·填报值",
                  "number", True, ind.id, ind.unit, lo, hi))  # fmt: skip
        add(Field(f"ind.{ind.id}.note", INDICATORS, cell(row, IND_NOTE), f"{name}·情况说明",
                  "text", False, ind.id))  # fmt: skip
        label(LabelCell(INDICATORS, cell(row, 2), ind.name))
    if numeric:
        for col, text in enumerate(indicator_columns(period)):
            label(LabelCell(INDICATORS, cell(HEADER_ROW, col), text))

    unit = plan.annex.unit_for(respondent.id)
    if unit is not None:
        lay.has_annex = True
        lay.annex_target = unit.target
        # a unit the annex does not assess ("/") need not report, unless its figures count in
        # another's (金桥镇 in 金桥管理局): a blank is no error to send back
        needed = unit.assessed or plan.annex.rolls_into(respondent.id) is not None
        for key, text, offset, col in ANNEX_FIELDS:
            add(Field(key, ANNEX, cell(ANNEX_FIRST_ROW + offset, col), text, "number", needed,
                      "annex", unit=ANNEX_UNITS[key], minimum=0.0))  # fmt: skip
        add(Field("annex.note", ANNEX, cell(ANNEX_FIRST_ROW + 4, 2), "附件指标·情况说明", "text",
                  False, "annex"))  # fmt: skip
        label(LabelCell(ANNEX, cell(ANNEX_FIRST_ROW, 1), "规上工业综合能耗（吨标准煤）"))
        label(LabelCell(ANNEX, cell(ANNEX_FIRST_ROW + 1, 1), "规上工业总产值（万元）"))

    row = FIRST_ROW
    for task in plan.tasks_for(respondent.id):
        lay.tasks.append(TaskRow(row, task))
        t = f"任务{task.number}"
        add(Field(f"task.{task.number}.status", TASKS, cell(row, TASK_STATUS), f"{t}·推进状态",
                  "choice", True, str(task.number), choices=STATUSES))  # fmt: skip
        add(Field(f"task.{task.number}.progress", TASKS, cell(row, TASK_PROGRESS),
                  f"{t}·主要进展", "text", True, str(task.number)))  # fmt: skip
        add(Field(f"task.{task.number}.problems", TASKS, cell(row, TASK_PROBLEMS),
                  f"{t}·存在问题", "text", False, str(task.number)))  # fmt: skip
        add(Field(f"task.{task.number}.next", TASKS, cell(row, TASK_NEXT), f"{t}·下一步工作",
                  "text", False, str(task.number)))  # fmt: skip
        label(LabelCell(TASKS, cell(row, 0), str(task.number)))
        label(LabelCell(TASKS, cell(row, 1), task.title))
        row += 1
    if lay.tasks:
        for col, text in enumerate(TASK_COLUMNS):
            label(LabelCell(TASKS, cell(HEADER_ROW, col), text))

    milestones = [i for i in plan.indicators_for(respondent.id) if i.is_milestone]
    if milestones:
        lay.milestone_header_row = row + 2
        row = lay.milestone_header_row + 1
        for ind in milestones:
            lay.milestones.append(MilestoneRow(row, ind, role_of(ind, respondent.id)))
            name = indicator_label(plan, ind)
            add(Field(f"ind.{ind.id}.done", TASKS, cell(row, MS_DONE), f"{name}·是否完成",
                      "choice", True, ind.id, choices=YES_NO))  # fmt: skip
            add(Field(f"ind.{ind.id}.date", TASKS, cell(row, MS_DATE), f"{name}·完成日期",
                      "date", False, ind.id))  # fmt: skip
            add(Field(f"ind.{ind.id}.note", TASKS, cell(row, MS_NOTE), f"{name}·情况说明",
                      "text", False, ind.id))  # fmt: skip
            label(LabelCell(TASKS, cell(row, 2), ind.name))
            row += 1
    return lay


def indicator_columns(period: Period) -> tuple[str, ...]:
    """The 指标 sheet's headings for a period. At year end the 序时 share is the whole year, and
    a column headed 序时目标 beside 年度目标 would ask the clerk what the difference is: it is
    headed 年末目标 (the figure itself, a number to compare the 填报值 with, stays)."""
    if not period.is_year_end:
        return IND_COLUMNS
    return IND_COLUMNS[:IND_SEQUENTIAL] + ("年末目标",) + IND_COLUMNS[IND_SEQUENTIAL + 1 :]


def owner_text(plan: Plan, ind: Indicator, sep: str = "") -> str:
    """What an indicator belongs to, as the notice numbers it and the sheet prints it: “总体目标第5项”
    or “任务12” (``sep`` goes between 总体目标 and 第5项, a line break in a narrow column)."""
    return plan.owner_name(ind.owner, sep)


def indicator_label(plan: Plan, ind: Indicator) -> str:
    """An indicator as a field label names it: what the clerk sees on its row (“任务5 新增光伏装机容量”),
    never the plan's id (H1, T05-1), which is shown nowhere on the sheet and reads like a cell."""
    return f"{owner_text(plan, ind)} {ind.name}"


def input_title(label: str, limit: int = 32) -> str:
    """A field label cut to an input message title's limit (Excel's 32 characters): the name part
    is shortened, so the part after the last “·” (填报值, 是否完成 …), which tells a row's cells
    apart, always survives."""
    if len(label) <= limit:
        return label
    name, dot, part = label.rpartition("·")
    if not dot or len(part) + 2 >= limit:
        return label[: limit - 1] + "…"
    return name[: limit - len(part) - 2] + "…·" + part


def annual_target_text(row: IndicatorRow) -> str:
    ind = row.indicator
    text = ind.target_text()
    if row.role == "contributor":
        return f"全区{text}"
    return text


def comparison_note(ind: Indicator) -> str:
    if ind.comparison is Comparison.AROUND:
        return f"目标{ind.target:g}{ind.unit}左右，允许偏差±{ind.tolerance:g}"
    return ""
