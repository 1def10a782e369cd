"""Validation rules: a raw submission + the plan → a typed submission and findings.

Each rule is a small function; none raises for any cell content. A value that cannot
be used is reported and left out; a value read with an adjustment is taken in and
reported as a warning, so every input is either accepted or explained.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from xlsxwriter.utility import xl_col_to_name

from .findings import Code, Finding
from .intake.clean import (
    Parsed,
    clean_text,
    format_plain,
    is_blank,
    normalise_name,
    parse_choice,
    parse_date,
    parse_number,
    parse_yes_no,
)
from .intake.identify import other_office_named
from .intake.number_hint import number_hint
from .intake.records import (
    SUM_DECIMALS,
    AnnexReport,
    Figure,
    MilestoneReport,
    RawSubmission,
    Source,
    Submission,
    TaskReport,
    cell_rowcol,
    is_correction,
    label_bottoms,
    label_unchanged,
)
from .plan.model import Accumulation, Comparison, Indicator, Period, Plan
from .template.layout import ANNEX_UNITS, Field
from .template.workbook import TEXT_LIMIT

MAGNITUDE_FACTOR = 10  # a figure this many times its annual target is probably in the wrong unit (or mistyped)
# a value in (0, 1] of a % indicator below target × window is read as a fraction (0.969 → 96.9 %)
FRACTION_LARGE_TARGET = 20  # %: from here a value of at most 1 cannot be meant as it stands
FRACTION_WINDOW = 1 / 5
FRACTION_WINDOW_SMALL = 1 / 50  # smaller targets: 0.053 → 5.3 % for a 5.3 % target, but 0.9 stays 0.9 %
FRACTION_PLAUSIBLE = 10  # a fraction kept as typed is questioned while 100 × it is within this many targets
FILLED_ON_GRACE_DAYS = 366  # a 填报日期 this long after the period's deadline is taken as mistyped
# A rate (同比下降率) is questioned from this many points and this many times its target: a 95 %
# fall typed for a 1 % target is a level, a share or an intensity, not a rate, and a district's
# intensity does not fall 43.2 % in a year (4.32 with the point slipped); a 10 % fall against a
# 1 % target is a good year, not a mistake
RATE_FACTOR = 3
RATE_POINTS = 20
# An annex unit's 本期 and 上年同期 figures (a whole area's 规上工业 energy or output) are questioned
# when one is this many times the other: a real year-on-year change is tens of percent, a 千元 typed
# for 万元 is tenfold. From ANNEX_CHANGE_MIXED times (a unit slip is 1,000 or 10,000: 千克/吨, 元/万元/
# 亿元, 吨/万吨) they cannot both be in the cell's unit: the pair is not used (E223).
ANNEX_CHANGE_DOUBTFUL = 5
ANNEX_CHANGE_MIXED = 100
# An annex unit's 万元产值能耗 (吨标准煤/万元) below this is questioned (W225): a whole area's 规上工业
# is tens of times above it, while energy typed in 万吨标准煤 (or output in 元) makes it ten thousand
# times too small, 0.000004, both periods alike, so that neither the rate nor W224 shows it.
ANNEX_INTENSITY_FLOOR = 0.001


@dataclass
class _Ctx:
    raw: RawSubmission
    plan: Plan
    period: Period
    findings: list[Finding] = field(default_factory=list)

    @property
    def respondent(self) -> str:
        return self.raw.tmap.respondent_id

    def report(self, code: Code, f: Field | None, message: str, hint: str = "", value: Any = "",
               **extra) -> None:  # fmt: skip
        where = {"sheet": f.sheet, "cell": f.cell, "field": f.key, "label": f.label} if f else {}
        where.update(extra)
        shown = clean_text(value, 200).text if not is_blank(value) else ""
        self.findings.append(Finding(code, message, hint, file=self.raw.file,
                                     respondent=self.respondent, value=shown, **where))  # fmt: skip

    def missing(self, f: Field) -> None:
        """A required input that reads as empty: not filled in, or a formula without a value."""
        computed = self.raw.computed.get((f.sheet, f.cell))
        # what goes in this cell instead of a formula (not "本表各项只填文字": the sheet has numbers)
        instead = {"text": "直接填写文字（不用公式）", "choice": "从下拉列表中选择（不用公式）",
                   "date": "直接填写日期（如 2024-06-30，不用公式）"}.get(f.kind, "直接填写数值（不用公式）")  # fmt: skip
        merged = self.raw.merged.get((f.sheet, f.cell))
        if merged:  # what shows there is the merged range's first cell
            first = merged.split(":")[0]
            self.report(Code.REQUIRED_MISSING, f,
                        f"“{f.label}”为必填项：{f.cell} 被合并进了 {merged}，合并后只有 {first} 有内容，本格读作未填写",
                        f"请取消合并单元格，在 {f.cell} 中单独填写；与 {first} 相同的，复制过去即可")  # fmt: skip
        elif computed is None:
            self.report(Code.REQUIRED_MISSING, f, f"“{f.label}”为必填项，未填写", "请补充填写")
        elif computed.shown:
            self.report(Code.WRONG_TYPE, f, f"“{f.label}”处是公式，结果为错误值 {computed.shown}，无法读取",
                        f"请改正公式，或{instead}", computed.shown)  # fmt: skip
        else:
            self.report(Code.WRONG_TYPE, f, f"“{f.label}”处是公式，文件中没有保存计算结果，无法读取",
                        f"请{instead}，或用 Excel/WPS 打开后保存再发送")  # fmt: skip

    def typed_as_formula(self, f: Field) -> str:
        """The text of a text cell that Excel took for a formula ("-完成3场培训" → #NAME?), else "":
        words are no formula, so what was typed is the formula's text (the "=" not kept)."""
        computed = self.raw.computed.get((f.sheet, f.cell))
        return computed.formula.strip() if computed and computed.shown == "#NAME?" else ""

    def source(self, f: Field) -> Source:
        return Source(self.raw.file, f.sheet, f.cell)


def validate_submission(raw: RawSubmission, plan: Plan, period: Period) -> tuple[Submission, list[Finding]]:
    ctx = _Ctx(raw, plan, period)
    usable = check_structure(ctx)
    values = {rv.field.key: rv for rv in raw.values if rv.field.key in usable}
    sub = Submission(
        respondent=ctx.respondent, file=raw.file, kind=raw.kind, period=raw.tmap.period_id,
        template_version=raw.tmap.template_version, mtime=raw.mtime, correction=is_correction(raw),
    )  # fmt: skip
    if not ctx.findings and nothing_typed(raw):
        # the template as it was sent out: one finding, not one E201 for each of its cells, and
        # no return of the office (it is chased as 未报送, not sent back for correction)
        ctx.report(Code.BLANK_RETURN, None, "填报表中没有填写任何内容（各填报格都是空的），可能发送的是下发的空白填报表",
                   "请单位填写后重新报送；如已填写，请确认发送的是填好并保存后的文件")  # fmt: skip
        sub.blank = sub.has_errors = True
        return sub, ctx.findings
    read_header(ctx, sub, values)
    check_file_name(ctx, sub)
    read_indicators(ctx, sub, values)
    read_annex(ctx, sub, values)
    read_tasks(ctx, sub, values)
    check_consistency(ctx, sub)
    sub.has_errors = any(f.is_error for f in ctx.findings)
    return sub, ctx.findings


def nothing_typed(raw: RawSubmission) -> bool:
    """No cell of the return holds anything: every input blank (no formula either), nothing typed
    beside or below the tables. A return with only its 填报日期 or a name typed is not blank: it is
    an office's return, with its blanks said one by one (E201)."""
    return not raw.stray and not raw.computed and all(is_blank(rv.value) for rv in raw.values)


def check_file_name(ctx: _Ctx, sub: Submission) -> None:
    """W113: the file is named for another office than the form it holds ("康桥镇_填报表.xlsx" with
    合庆镇's form in it): usually an office that filled in the wrong office's form, whose figures
    would be taken as the other's. Said, and among several returns of that office this one counts
    last (``newest_last``): the office's own return is not replaced by it."""
    other = other_office_named(ctx.plan, ctx.raw.file, ctx.respondent)
    if not other:
        return
    sub.named_other = other
    named, own = ctx.plan.respondent(other).name, ctx.plan.respondent(ctx.respondent).name
    ctx.findings.append(Finding(
        Code.OTHER_OFFICE_NAMED,
        f"文件名中是“{named}”，表内却是{own}的填报表：可能是{named}用错了{own}的填报表，表中数据将作为{own}的数据",
        f"请与{named}、{own}核实：如用错了表，请{named}使用本单位的填报表重新填写后报送，并把这份移出回收文件夹；"
        f"如确是{own}的表（只是文件名写错），可不处理",
        file=ctx.raw.file, respondent=ctx.respondent, value=named,
    ))  # fmt: skip


# -- structure ---------------------------------------------------------------------------


def check_structure(ctx: _Ctx) -> set[str]:
    """Report deleted sheets and edited labels; return the keys of fields that can be trusted."""
    present = {rv.field.sheet for rv in ctx.raw.values if rv.value is not None}
    missing_sheets = sorted({rv.field.sheet for rv in ctx.raw.values} - present)
    expected = {rv.field.sheet for rv in ctx.raw.values}
    for sheet, name in ctx.raw.renamed:  # read from the sheet it was renamed to (records.renamed_sheets)
        if normalise_name(name) == normalise_name(sheet):
            ctx.report(Code.SHEET_RENAMED, None, f"工作表“{name}”的名称与下发时的“{sheet}”只差空格，已按“{sheet}”读取",
                       "一般无需处理；今后请不要改动工作表名称", name, sheet=sheet)  # fmt: skip
        else:
            ctx.report(Code.SHEET_RENAMED, None, f"工作表“{sheet}”被改名为“{name}”，已按“{sheet}”读取其中的内容",
                       f"请把工作表“{name}”的名称改回“{sheet}”；内容已采用，不必重新填写，今后不要改动工作表名称",
                       name, sheet=sheet)  # fmt: skip
    if ctx.raw.renamed:
        expected |= {name for _sheet, name in ctx.raw.renamed}
    for sheet in missing_sheets:
        # (a town that renamed 指标 and 附件指标 alike: 附件指标（川沙） is not 指标's)
        renamed = [n for n in ctx.raw.sheet_names if n not in expected and normalise_name(sheet) in normalise_name(n)
                   and not any(len(m) > len(sheet) and normalise_name(m) in normalise_name(n) for m in missing_sheets)]
        if len(renamed) == 1:
            # (not read as it: its labels are not the template's, records.renamed_sheets)
            ctx.report(Code.SHEET_MISSING, None,
                       f"工作表“{sheet}”被改名为“{renamed[0]}”，其中的表格也与下发时不同（项目名称、表头多数对不上），"
                       "内容无法读取",
                       "请使用下发的填报表重新填写，不要增删行列、修改项目名称或重命名工作表", sheet=sheet)  # fmt: skip
        elif renamed:  # (copies of the sheet, each renamed: either may be the one filled in)
            shown = "".join(f"“{n}”" for n in renamed[:4]) + ("等" if len(renamed) > 4 else "这")
            count = {2: "两", 3: "三", 4: "四"}.get(len(renamed), str(len(renamed)))
            ctx.report(Code.SHEET_MISSING, None,
                       f"工作表“{sheet}”不在了：{shown}{count}个工作表都像是它改名后的副本，无法确定以哪个为准，"
                       "内容无法读取",
                       f"请只保留填好的一份，把名称改回“{sheet}”，删去其余的副本后重新报送", sheet=sheet)  # fmt: skip
        else:
            ctx.report(Code.SHEET_MISSING, None, f"工作表“{sheet}”被删除或改名，其中的内容无法读取",
                       "请使用下发的填报表重新填写，不要删除或重命名工作表", sheet=sheet)  # fmt: skip
    # A label heads a row (an item's name) or a column (a column title): when it changed, the
    # fields of that row or column may hold something else now (a row or column was inserted or
    # deleted), so none of them is taken in.
    rows_with_fields = {(rv.field.sheet, cell_rowcol(rv.field.cell)[0]) for rv in ctx.raw.values}
    cols_with_fields = {(rv.field.sheet, cell_rowcol(rv.field.cell)[1]) for rv in ctx.raw.values}
    tainted_rows: set[tuple[str, int]] = set()
    tainted_cols: set[tuple[str, int]] = set()
    changed_rows: dict[str, set[int]] = {}  # sheet → rows with an edited label
    changed_cols: dict[str, set[int]] = {}  # sheet → columns with an edited label
    shifts = None  # (looked for once a label is found edited: most returns have none)
    edited: dict[str, list[tuple[int, str]]] = {}  # sheet → (finding index, what to check) of plain edits
    for lb, seen in ctx.raw.labels_seen:
        if lb.sheet in missing_sheets or _as_written(seen, lb.text):
            continue
        if not label_unchanged(seen, lb.text):
            row, col = cell_rowcol(lb.cell)
            changed_rows.setdefault(lb.sheet, set()).add(row)
            changed_cols.setdefault(lb.sheet, set()).add(col)
            heads = []
            if (lb.sheet, row) in rows_with_fields:
                tainted_rows.add((lb.sheet, row))
                heads.append("本行")
            if (lb.sheet, col) in cols_with_fields:
                tainted_cols.add((lb.sheet, col))
                heads.append("本列")
            dropped = "和".join(heads) + "填报内容未采用" if heads else "请核对"
            shown = clean_text(seen, 60).text
            now = f"现为“{shown}”" if shown else "现为空"  # an emptied cell, not 现为“”
            why, hint = "表格可能被插入/删除行列或改动", "请使用下发的填报表重新填写，不要增删行列或修改项目名称"
            if shifts is None:
                shifts = _row_shifts(ctx.raw.labels_seen, missing_sheets)
            merged = ctx.raw.merged.get((lb.sheet, lb.cell)) if not shown else None
            if merged:  # (its row's cells may well be as typed, but nothing says which: not taken in)
                now = f"现为空（{lb.cell} 被合并进了 {merged}）"
                why = "合并后只显示左上角一格的内容"
                hint = f"请取消合并 {merged}，恢复各格原有的内容（或使用下发的填报表重新填写）"
            elif lb.sheet in shifts:
                why, hint = shifts[lb.sheet]
            else:
                edited.setdefault(lb.sheet, []).append((len(ctx.findings), "和".join(heads)))
            ctx.findings.append(Finding(
                Code.LABEL_CHANGED, f"此处应为“{lb.text}”，{now}；{why}，{dropped}", hint,
                file=ctx.raw.file, sheet=lb.sheet, cell=lb.cell, respondent=ctx.respondent,
                label=lb.text, value=clean_text(seen, 200).text,
            ))  # fmt: skip
    for [(i, heads)] in (v for v in edited.values() if len(v) == 1):
        # one name or title edited, nothing moved: put it back (the 退回修改 copy does), not a new form
        f = ctx.findings[i]
        check = f"核对{heads}数据后" if heads else ""
        ctx.findings[i] = replace(f, hint=f"请把此处改回下发时的“{f.label}”（退回修改表中会改回并标出），{check}重新报送；"
                                          "今后不要修改项目名称和表头")  # fmt: skip
    report_stray_rows(ctx, _moved_down(ctx, changed_rows), _moved_right(ctx, changed_cols))
    usable = set()
    for rv in ctx.raw.values:
        f = rv.field
        row, col = cell_rowcol(f.cell)
        if f.sheet in missing_sheets or (f.sheet, row) in tainted_rows or (f.sheet, col) in tainted_cols:
            continue
        usable.add(f.key)
    return usable


def _row_shifts(labels_seen, missing_sheets) -> dict[str, tuple[str, str]]:
    """Sheets whose edited labels read as the template's labels a few rows up (rows inserted) or
    down (rows deleted), all by the same count, with no label below them as written: what
    happened and what to do, said on each of its E208 findings ("第6行处插入了1行"), so that 24 of
    them read as one insertion, not 24 edits. Two names edited into their neighbours' (no row
    moved: labels between them still read as written) are no insertion."""
    expected = {(lb.sheet, *cell_rowcol(lb.cell)): lb.text for lb, _seen in labels_seen}
    moves: dict[str, list[tuple[int, int]]] = {}  # sheet → (row, rows moved) of each shifted label
    kept: dict[str, list[int]] = {}  # sheet → rows of labels that read as written
    for lb, seen in labels_seen:
        if lb.sheet in missing_sheets:
            continue
        row, col = cell_rowcol(lb.cell)
        if _as_written(seen, lb.text) or label_unchanged(seen, lb.text):
            kept.setdefault(lb.sheet, []).append(row)
            continue
        if is_blank(seen):
            continue  # (the inserted row itself, or a cleared label: says nothing of a shift)
        by = next((k for k in (1, 2, 3, -1, -2, -3) if (t := expected.get((lb.sheet, row - k, col)))
                   is not None and label_unchanged(seen, t)), 0)  # fmt: skip
        if by:  # (a label may now show text no label of the template has, a table's own header)
            moves.setdefault(lb.sheet, []).append((row, by))
    said = {}
    for sheet, found in moves.items():
        if len(found) < 2 or len({by for _row, by in found}) != 1:
            continue
        by = found[0][1]
        first = min(row for row, _by in found)
        if any(row > first for row in kept.get(sheet, ())):
            continue
        if by > 0:  # the rows inserted lie between the last label as written and the first moved
            lo = max((row for row in kept.get(sheet, ()) if row < first), default=-1) + 2
            where = f"第{first}行处" if lo >= first else f"第{lo}～{first}行之间"
            said[sheet] = (f"{where}插入了{by}行，以下各行下移",
                           f"请删除{where}插入的{by}行后重新报送，或使用下发的填报表重新填写；今后不要增删行列")
        else:
            said[sheet] = (f"第{first + 1}行附近删除了{-by}行，以下各行上移",
                           "请使用下发的填报表重新填写，删除的行及其内容无法在本表中恢复；今后不要增删行列")
    return said


def _moved_down(ctx: _Ctx, changed_rows: dict[str, set[int]]) -> set[str]:
    """Sheets whose table bottom (the last labelled row) no longer holds what the template put there:
    rows were inserted (or deleted) and the last ones moved, so what is below it is that table,
    said by E208. A label edited higher up (a renamed item or column title) moves nothing."""
    if not changed_rows:
        return set()
    bottoms = label_bottoms(lb for lb, _seen in ctx.raw.labels_seen)
    return {sheet for sheet, rows in changed_rows.items() if bottoms[sheet] in rows}


def _moved_right(ctx: _Ctx, changed_cols: dict[str, set[int]]) -> set[str]:
    """Sheets whose rightmost labelled column no longer holds what the template put there: a
    column was inserted (or deleted) and the last ones moved, so what is right of the table is the
    table itself, said by E208."""
    if not changed_cols:
        return set()
    rights: dict[str, int] = {}
    for lb, _seen in ctx.raw.labels_seen:
        rights[lb.sheet] = max(rights.get(lb.sheet, 0), cell_rowcol(lb.cell)[1])
    return {sheet for sheet, cols in changed_cols.items() if rights[sheet] in cols}


def _as_written(seen: Any, text: str) -> bool:
    """The label exactly as the template wrote it (a task number reads back as a float): the
    usual case, decided without cleaning and normalising both sides."""
    return seen == text or (type(seen) is float and seen.is_integer() and str(int(seen)) == text)


def report_stray_rows(ctx: _Ctx, shifted_down: set[str], shifted_right: set[str]) -> None:
    """Rows typed below a table, text typed to the right of it, or a sheet the office added are not
    read: say so, so that an added indicator or a note is not lost without a word. Not where the
    table itself moved there (E208 says why)."""
    for stray in ctx.raw.stray:
        if stray.sheet in (shifted_right if stray.beside else shifted_down):
            continue
        row, col = cell_rowcol(stray.cell)
        quoted = clean_text(stray.value, 40).text
        if stray.added:
            where = f"另加的工作表“{stray.sheet}”中的内容"
            hint = ("汇总只读取下发的工作表：补充说明请写在“情况说明”“主要进展”等栏中；"
                    "确需报送的材料，请与汇总部门联系另行报送")  # fmt: skip
        elif stray.beside:
            where = f"第 {row + 1} 行表格右侧（{xl_col_to_name(col)} 列）的内容"
            hint = "补充说明请写在本行的“情况说明”“主要进展”等栏中，不要写在表格右侧"
        else:
            where = f"第 {row + 1} 行在下发的表格之外，其中的内容"
            hint = "补充说明请写在“情况说明”“主要进展”等栏中；确需增加指标，请与汇总部门联系，不要在表格外加行"
        ctx.findings.append(Finding(
            Code.OUTSIDE_TABLE, f"{where}（“{quoted}”等）未采用", hint,
            file=ctx.raw.file, sheet=stray.sheet, cell=stray.cell, respondent=ctx.respondent,
            value=clean_text(stray.value, 200).text,
        ))  # fmt: skip


# -- generic field readers ----------------------------------------------------------------


def read_text(ctx: _Ctx, f: Field, value: Any) -> str:
    cleaned = clean_text(value, TEXT_LIMIT)
    typed = ctx.typed_as_formula(f) if not cleaned.text else ""
    if typed:
        cleaned = clean_text(typed, TEXT_LIMIT)
        lead = typed[0] if typed[0] in "-+" else "="  # ("=完成…" is saved as 完成…)
        ctx.report(Code.TEXT_AS_FORMULA, f,
                   f"“{f.label}”以“{lead}”开头，表格把它当成了公式（显示 #NAME?），已按文字“{cleaned.text[:40]}”采用",
                   "文字开头不要用 - + = 号（可改用“一是”“1.”等），或在开头先输入一个英文单引号 '", typed)  # fmt: skip
    if cleaned.removed:
        ctx.report(Code.TEXT_CLEANED, f, f"文字中有 {cleaned.removed} 个不可见的控制字符，已清除",
                   "一般由复制粘贴带入，无需处理", value)  # fmt: skip
    if cleaned.truncated:
        ctx.report(Code.TEXT_TRUNCATED, f, f"文字超过 {TEXT_LIMIT} 字，已截取前 {TEXT_LIMIT} 字",
                   "请精简后填写，详细材料可另附", cleaned.text[:40] + "…")  # fmt: skip
    if f.required and not cleaned.text:
        ctx.missing(f)
    return cleaned.text


def _use(ctx: _Ctx, f: Field, value: Any, parsed: Parsed, wrong: Code = Code.WRONG_TYPE, hint: str = "") -> Any:
    if parsed.error:
        ctx.report(wrong, f, f"“{f.label}”{parsed.error}", hint or parsed.hint or "请按填报说明修改", value)
        return None
    if parsed.empty:
        if f.required:
            ctx.missing(f)
        return None
    return parsed.value


def read_date(ctx: _Ctx, f: Field, value: Any) -> dt.date | None:
    """A date cell: read as ``parse_date`` reads it (the period's end as the example of the
    format); a weekday written after it that names another day is said (W226), the date kept."""
    parsed = parse_date(value, ctx.period.end.isoformat())
    date = _use(ctx, f, value, parsed, Code.BAD_DATE)
    if date is not None and parsed.doubt:
        ctx.report(Code.WEEKDAY_MISMATCH, f, f"“{f.label}”{parsed.doubt}，已按所填日期采用",
                   "请单位核对日期；日期填错的，改正后重新报送", value)  # fmt: skip
    return date


def _raw(values: dict, key: str) -> tuple[Field | None, Any]:
    rv = values.get(key)
    return (rv.field, rv.value) if rv else (None, None)


# -- header --------------------------------------------------------------------------------


def read_header(ctx: _Ctx, sub: Submission, values: dict) -> None:
    for key, attr in (("header.filler", "filler"), ("header.phone", "phone"),
                      ("header.reviewer", "reviewer")):  # fmt: skip
        f, v = _raw(values, key)
        if f is not None:
            setattr(sub, attr, read_text(ctx, f, v))
    f, v = _raw(values, "header.date")
    if f is not None:
        sub.filled_on = read_date(ctx, f, v)
        if sub.filled_on is not None and not _plausible_filled_on(sub.filled_on, ctx.period):
            p = ctx.period
            ctx.report(Code.FILLED_ON_IMPLAUSIBLE, f,
                       f"填报日期为 {sub.filled_on.isoformat()}，与本期（{p.label}，{p.start.isoformat()}～"
                       f"{p.end.isoformat()}，报送截止 {p.deadline.isoformat()}）对不上，可能年份或月份填错",
                       "请改为实际填报日期；同一单位报送多份时，本份暂不按此日期判断哪份较新",
                       v)  # fmt: skip
            sub.filled_on = None  # never let a mistyped date decide which of two returns counts


def _plausible_filled_on(day, period: Period) -> bool:
    """Not before the period starts, and not more than a year after its deadline."""
    return period.start <= day <= period.deadline + dt.timedelta(days=FILLED_ON_GRACE_DAYS)


# -- indicators -----------------------------------------------------------------------------


def field_unit(f: Field) -> str:
    """The unit a number field is in. Templates made before annex fields carried theirs (in the
    hidden map) still get it from the layout."""
    return f.unit or ANNEX_UNITS.get(f.key, "")


def read_number(ctx: _Ctx, f: Field, value: Any, indicator: Indicator | None = None) -> float | None:
    parsed = parse_number(value)
    unit = field_unit(f)
    decline = indicator is not None and indicator.comparison is Comparison.REDUCTION_AT_LEAST
    hint = number_hint(value, unit, decline) if parsed.error and isinstance(value, str) else ""
    number = _use(ctx, f, value, parsed, hint=hint)
    if number is None:
        return None
    typed_percent = isinstance(value, str) and value.strip().endswith(("%", "％"))
    if typed_percent and unit and unit != "%":  # a share typed where an amount belongs
        ctx.report(Code.WRONG_TYPE, f, f"此处应填{unit}数，不是百分数，“{value.strip()}”无法采用",
                   f"请填写以{unit}计的数值（只填数字）；完成比例等可写在情况说明中", value)  # fmt: skip
        return None
    if parsed.note and typed_percent:
        shown = format_plain(number)
        ctx.report(Code.PERCENT_NORMALISED, f, parsed.note, f"本表百分数只填数字（如 {shown}% 填 {shown}），今后请不带百分号", value)
    if (f.sheet, f.cell) in ctx.raw.percent and not isinstance(value, str):
        # "2.5%" typed into the cell: saved as 0.025 in a cell that shows 2.5%, as the clerk saw it
        shown = format_plain(round(number * 100, 10))
        if unit and unit != "%":  # ("50%" typed where an amount belongs: no amount at all)
            ctx.report(Code.WRONG_TYPE, f, f"此处应填{unit}数，单元格却显示为百分数 {shown}%（存为 {format_plain(number)}），无法采用",
                       f"请把该格的格式改为“常规”或“数值”，填写以{unit}计的数值（只填数字）；完成比例等可写在情况说明中",
                       value)  # fmt: skip
            return None
        ctx.report(Code.PERCENT_NORMALISED, f,
                   f"单元格设成了百分比格式，显示为 {shown}%（存为 {format_plain(number)}），已按 {shown} 读取",
                   f"本表百分数只填数字（如 {shown}% 填 {shown}），并把该格的格式改为“常规”（否则 {shown} 会显示为 {format_plain(round(number * 10000, 8))}%）",
                   value)  # fmt: skip
        number = round(number * 100, 10)
    elif indicator is not None and f.unit == "%" and indicator.target and not typed_percent:
        # A share with a large target (占比 94%) typed as 0.969 is plainly a fraction. Against a
        # small target (a 1 % share) 0.9 is a real 0.9 %, so only a value far below anything
        # plausible (1 % typed into a cell Excel made a percentage cell, read back as 0.01) is taken
        # so. A year-on-year rate never is: a fall of 0.1 % is as real as one of 10 %, and reading
        # it as 10 % would turn 滞后 into 序时推进 (it is taken as typed, with W220 below).
        window = FRACTION_WINDOW if abs(indicator.target) >= FRACTION_LARGE_TARGET else FRACTION_WINDOW_SMALL
        if (0 < abs(number) <= 1 and abs(number) < abs(indicator.target) * window
                and indicator.accumulation is not Accumulation.RATE):  # fmt: skip
            ctx.report(Code.PERCENT_NORMALISED, f,
                       f"填报值 {format_plain(number)}（设为百分比格式的单元格会显示为 {format_plain(number * 100)}%）"
                       f"像是小数形式的百分比，已按 {format_plain(number * 100)}% 读取",
                       "本表百分数只填数字（如 5.3% 填 5.3）；如原值确为 "
                       f"{format_plain(number)}%，请在情况说明中注明", value)  # fmt: skip
            number = round(number * 100, 10)
        elif 0 < abs(number) < 1 <= abs(indicator.target) and 100 * abs(number) <= FRACTION_PLAUSIBLE * abs(indicator.target):
            # kept as typed, but a fraction that could as well be the share (0.025 for 2.5 % against
            # a 1 % target: typed "2.5%" where the cell could not become a percentage cell)
            as_percent = format_plain(round(number * 100, 10))
            ctx.report(Code.PERCENT_MAYBE_FRACTION, f,
                       f"填报值 {format_plain(number)} 不足 1%，已按 {format_plain(number)}% 采用；"
                       f"如本意是 {as_percent}%（输入“{as_percent}%”会存为 {format_plain(number)}），请改填 {as_percent}",
                       f"请核实；本表百分数只填数字（如 {as_percent}% 填 {as_percent}）", value)  # fmt: skip
    if (f.minimum is not None and number < f.minimum) or (f.maximum is not None and number > f.maximum):
        lo = "" if f.minimum is None else format_plain(f.minimum)
        hi = "" if f.maximum is None else format_plain(f.maximum)
        rng = f"{lo}～{hi}" if hi else f"不小于{lo}"
        ctx.report(Code.OUT_OF_RANGE, f, f"填报值 {format_plain(number)} 超出合理范围（{rng}）",
                   "请核实后修改", value)  # fmt: skip
        return None
    if indicator is not None and indicator.counted and not number.is_integer():
        ctx.report(Code.NOT_WHOLE, f, f"计量单位是“{indicator.unit}”，应为整数，填了 {format_plain(number)}",
                   f"请核实后填写整数（如 {format_plain(round(number))}）；已按所填数值采用", value)  # fmt: skip
    return number


def check_magnitude(ctx: _Ctx, f: Field, value: Any, number: float, indicator: Indicator) -> str:
    """W205 for a figure too large to be believed (``magnitude_doubt``), said as its kind asks;
    the doubt, which the figure carries to the assessment, or ''."""
    doubt = magnitude_doubt(indicator, number)
    if not doubt:
        return ""
    if indicator.accumulation is not Accumulation.RATE:
        unit = indicator.unit
        # (an example in the indicator's own unit: "15万平方米填 15，而不是 150000" only where the
        # unit counts in 万, as the commonest slip is typing the figure in the unit without it)
        example = f"（如 15{unit}应填 15，而不是 150000）" if unit.startswith("万") and len(unit) > 1 else ""
        ctx.report(Code.UNIT_MAGNITUDE, f, f"{doubt}，可能按其他单位填报或多打了数位",
                   f"请确认计量单位为“{unit}”{example}，并核对是否多打了数位", value)  # fmt: skip
        return doubt
    if indicator.comparison is Comparison.REDUCTION_AT_LEAST:
        example = "如下降 1.5% 填 1.5，上升 2% 填 -2"
    else:
        example = "如 1.5% 填 1.5"
    ctx.report(Code.UNIT_MAGNITUDE, f,
               f"{doubt}，一年内变化这么大不合常理，可能填成了能耗数值、完成比例等其他数，或小数点位置有误、多打了数位",
               f"请核实：本格填同比变化率（%），{example}；数据确实如此的，请在情况说明中写明原因", value)  # fmt: skip
    return doubt


def magnitude_doubt(indicator: Indicator, number: float) -> str:
    """Why a figure, as taken in, is too large to be believed ('填报值52200是年度目标（100万平方米）的
    522倍'), or '': an amount or level ten times its annual target (another unit, an extra digit),
    or a year-on-year rate beyond what a year brings (``rate_doubt``). Such a figure is taken in as
    typed (W205) but not judged: the assessment says 数据有误, 请核对, rather than 已完成."""
    target = indicator.target
    if not target:
        return ""
    if indicator.accumulation is Accumulation.RATE:
        return rate_doubt(indicator, number)
    if (indicator.unit != "%" and indicator.accumulation in (Accumulation.CUMULATIVE, Accumulation.LEVEL)
            and number >= MAGNITUDE_FACTOR * target):  # fmt: skip
        return f"填报值{format_plain(number)}是年度目标（{format_plain(target)}{indicator.unit}）的{number / target:.0f}倍"
    return ""


def rate_doubt(indicator: Indicator, number: float) -> str:
    """A year-on-year rate of RATE_POINTS points or more and RATE_FACTOR times its target (43.2 for
    a 5.3 % fall: 4.32 with the point in the wrong place; 95 for a 1 % fall: a level, a share or an
    intensity typed where the rate belongs): the head of the W205 message, or ''."""
    target = indicator.target
    if not target or abs(number) < max(RATE_FACTOR * abs(target), RATE_POINTS):
        return ""
    said = format_plain(abs(number))
    if indicator.comparison is Comparison.REDUCTION_AT_LEAST:
        meant = f"同比下降{said}%" if number >= 0 else f"同比上升{said}%"
        aim = f"下降{format_plain(target)}%"
    else:
        meant, aim = f"同比变化{format_plain(number)}%", f"{format_plain(target)}%"
    return f"填报值{format_plain(number)}（即{meant}）是年度目标（{aim}）的{abs(number / target):.0f}倍"


def read_indicators(ctx: _Ctx, sub: Submission, values: dict) -> None:
    for key, rv in values.items():
        if not key.startswith("ind."):
            continue
        _, iid, part = key.split(".", 2)
        try:
            ind = ctx.plan.indicator(iid)
        except KeyError:
            continue  # the plan no longer has it: nothing to assess it against
        note_f, note_v = _raw(values, f"ind.{iid}.note")
        if part == "value":
            number = read_number(ctx, rv.field, rv.value, ind)
            note = read_text(ctx, note_f, note_v) if note_f else ""
            if number is not None:
                doubt = check_magnitude(ctx, rv.field, rv.value, number, ind)
                sub.figures.append(Figure(ctx.respondent, iid, number, note, ctx.source(rv.field), doubt))
        elif part == "done":
            done = _use(ctx, rv.field, rv.value, parse_yes_no(rv.value), Code.INVALID_CHOICE)
            date_f, date_v = _raw(values, f"ind.{iid}.date")
            date = read_date(ctx, date_f, date_v) if date_f else None
            note = read_text(ctx, note_f, note_v) if note_f else ""
            if done is not None and date_f is not None:
                check_milestone_date(ctx, date_f, date_v, done, date)
            if done is not None:
                sub.milestones.append(MilestoneReport(ctx.respondent, iid, done, date, note,
                                                      ctx.source(rv.field)))  # fmt: skip


def check_milestone_date(ctx: _Ctx, f: Field, value: Any, done: bool, date) -> None:
    """是否完成 and 完成日期 must agree, and a completion cannot lie after the period's end."""
    unparsed = not is_blank(value) and date is None  # already reported as a bad date
    p = ctx.period
    if done and date is not None and date > p.end:
        ctx.report(Code.MILESTONE_DATE_AFTER_PERIOD, f,
                   f"完成日期 {date.isoformat()} 晚于本期截止日 {p.end.isoformat()}（{p.label}），"
                   "本期报送的事项不应在此之后完成",
                   "请核实完成日期；如尚未完成，“是否完成”请选“否”并清空完成日期，预计完成时间写在情况说明中",
                   value)  # fmt: skip
    elif done and date is None and not unparsed:
        ctx.report(Code.MILESTONE_DATE_MISSING, f, "“是否完成”填为“是”，但未填写完成日期",
                   f"请补填完成日期（如 {ctx.period.end.isoformat()}）")  # fmt: skip
    elif not done and date is not None:
        ctx.report(Code.MILESTONE_DATE_UNEXPECTED, f,
                   f"“是否完成”填为“否”，但填写了完成日期 {date.isoformat()}",
                   "如已完成，请将“是否完成”改为“是”；如未完成，请清空完成日期，预计完成时间写在情况说明中",
                   value)  # fmt: skip


ANNEX_DIVISORS = (  # the annex figures the decline rate divides by (assess.py: 0 there = 数据有误)
    (0, "上年同期综合能耗", "吨标准煤"),
    (2, "上年同期产值", "万元"),
    (3, "本期产值", "万元"),
)


def read_annex(ctx: _Ctx, sub: Submission, values: dict) -> None:
    keys = ("annex.energy_base", "annex.energy_current", "annex.output_base", "annex.output_current")
    if not any(k in values for k in keys):
        return
    numbers, typed = [], []
    for key in keys:
        f, v = _raw(values, key)
        n = read_number(ctx, f, v) if f else None
        typed.append(n)
        # as the assessment adds them up (six decimals): 0.0000004 or 1e-320 is 0 there, so here too
        numbers.append(None if n is None else round(n, SUM_DECIMALS) + 0.0)
    check_annex_divisors(ctx, values, keys, numbers, typed)
    check_annex_changes(ctx, values, keys, numbers)
    check_annex_intensity(ctx, values, keys, numbers)
    note_f, note_v = _raw(values, "annex.note")
    note = read_text(ctx, note_f, note_v) if note_f else ""
    first = next(rv.field for k, rv in values.items() if k in keys)
    kept = [t if n is not None else None for t, n in zip(typed, numbers, strict=True)]  # (as typed, unless not used)
    sub.annex = AnnexReport(ctx.respondent, *kept, note, ctx.source(first))


def check_annex_divisors(ctx: _Ctx, values: dict, keys: tuple[str, ...], numbers: list, typed: list) -> None:
    """A zero (or negative) base energy, base output or current output leaves no decline rate
    (``typed``: the figures as typed, where ``numbers`` are rounded as the assessment rounds them).

    A unit whose figures are added up with another's (通知附件注释) is judged on the sum, so its
    own zero is only a warning there."""
    annex = ctx.plan.annex
    unit = annex.unit_for(ctx.respondent)
    host = annex.rolls_into(ctx.respondent)
    merged = (host,) if host else (unit.rolls_in if unit else ())  # who it is added up with
    for i, what, unit_name in ANNEX_DIVISORS:
        f, v = _raw(values, keys[i])
        if f is None or numbers[i] is None or numbers[i] > 0:
            continue
        shown = f"为 {format_plain(typed[i])}"
        if typed[i] != numbers[i]:  # (not 0 as typed, but too small to count)
            shown = f"不足 {format_plain(10 ** -SUM_DECIMALS)}（按 0 计）"
        message = f"{what}{shown}，无法计算下降率"
        code = Code.ANNEX_ZERO_BASE
        if merged:  # (a code of its own: an "E" code said to be a reminder reads as an error)
            names = "、".join(ctx.plan.respondent(r).name for r in merged)
            message = f"{what}{shown}（本单位与{names}合并计算，合计仍为 0 时无法计算下降率）"
            code = Code.ANNEX_ZERO_MERGED
        ctx.report(code, f, message,
                   f"请填写实际的{what}（{unit_name}）；确实为 0 的，请在情况说明中写明原因", v)  # fmt: skip


ANNEX_PAIRS = (  # (上年同期 index, 本期 index, what, unit, {fold: the unit it was likely typed in})
    (0, 1, "综合能耗", "吨标准煤", {1_000: "千克标准煤", 10_000: "万吨标准煤"}),
    (2, 3, "产值", "万元", {10: "千元", 10_000: "亿元或元"}),
)
ANNEX_UNIT_EXAMPLES = {"吨标准煤": "1 万吨标准煤填 10000", "万元": "1 亿元填 10000，1000 元填 0.1"}


def check_annex_changes(ctx: _Ctx, values: dict, keys: tuple[str, ...], numbers: list) -> None:
    """本期 against 上年同期: a whole area's 规上工业 energy or output does not grow or shrink fivefold
    in a year (W224, taken as typed), and a hundredfold gap is a unit slip (亿元 or 元 for 万元, 万吨 for
    吨): one of the two is certainly wrong, and which cannot be told, so neither is used (E223) and
    the unit's rate is 数据有误 rather than an absurd figure. Said once, at the 本期 cell, naming both
    (the 上年同期 cell is the finding's ``also``: the 退回修改 copy marks both)."""
    for base_i, current_i, what, unit, slips in ANNEX_PAIRS:
        base, current = numbers[base_i], numbers[current_i]
        if base is None or current is None or base <= 0 or current <= 0:
            continue  # not filled in, unusable or 0: said elsewhere (E201, E202, E203, E214, W222)
        ratio = min(max(current / base, 1e-300), 1e300)  # (absurd figures: no inf, no 0 to divide by)
        fold = max(ratio, 1 / ratio)
        if fold < ANNEX_CHANGE_DOUBTFUL:
            continue
        base_f, _ = _raw(values, keys[base_i])
        cur_f, cur_v = _raw(values, keys[current_i])
        times = f"{fold:.0f}" if fold >= 10 else f"{fold:.1f}"
        relation = f"是上年同期{what}" if ratio > 1 else f"只有上年同期{what}"
        share = f" {times} 倍" if ratio > 1 else f" 1/{times}"
        if fold >= 1e6:  # (a number of twenty digits says nothing more)
            share = "一百万倍以上" if ratio > 1 else "百万分之一都不到"
        shown = (f"本期{what} {format_plain(current)}{unit}{relation}（{base_f.cell} 格，{format_plain(base)}{unit}）"
                 f"的{share}")  # fmt: skip
        decade = round(math.log10(fold))
        near = decade >= 1 and abs(math.log10(fold) - decade) <= math.log10(1.5)
        slip = slips.get(10**decade, "") if near else ""
        if fold >= ANNEX_CHANGE_MIXED:
            likely = f"其中一格可能按{slip}填报" if slip else "其中一格可能按其他计量单位填报或多打、少打了数位"
            ctx.report(Code.ANNEX_UNIT_MIXED, cur_f,
                       f"{shown}，一年内不可能相差这么大：{likely}（{what}以{unit}计）；两格均未采用，"
                       "本单位下降率暂不计算",
                       f"请核对两格的计量单位：{what}以{unit}计，{ANNEX_UNIT_EXAMPLES[unit]}；改正后重新报送",
                       cur_v, also=base_f.cell)  # fmt: skip
            numbers[base_i] = numbers[current_i] = None
        else:
            likely = "数值或计量单位填错"
            if near and decade == 1:  # tenfold: a digit too many or too few, or 千元 for 万元
                likely = f"按{slip}填报，或多打、少打了一位数" if slip else "多打、少打了一位数"
            ctx.report(Code.ANNEX_CHANGE_DOUBTFUL, cur_f,
                       f"{shown}，同比变化异常大，可能{likely}；已按所填采用",
                       f"请核实两格的数值和计量单位，{what}以{unit}计；数据确实如此的，请在情况说明中写明原因",
                       cur_v, also=base_f.cell)  # fmt: skip


def check_annex_intensity(ctx: _Ctx, values: dict, keys: tuple[str, ...], numbers: list) -> None:
    """An intensity below ANNEX_INTENSITY_FLOOR (W225, taken as typed): a unit slip that both
    periods share leaves the rate right, so it is a reminder, said once, at the 本期综合能耗 cell
    (the 上年同期 one when only that period is low); the other period's energy cell, or when only
    one period is low its output cell, is the finding's ``also``. Figures not used or not positive
    are said elsewhere (E223, E214, W222)."""
    low = []
    for energy_i, output_i, when in ((1, 3, "本期"), (0, 2, "上年同期")):
        energy, output = numbers[energy_i], numbers[output_i]
        if energy is not None and output is not None and energy > 0 and output > 0 \
                and energy / output < ANNEX_INTENSITY_FLOOR:  # fmt: skip
            low.append((energy_i, output_i, when, energy, output))
    if not low:
        return
    energy_i, output_i, when, energy, output = low[0]
    f, v = _raw(values, keys[energy_i])
    other, _ = _raw(values, keys[low[1][0] if len(low) > 1 else output_i])
    intensity = energy / output
    shown = f"{intensity:.{max(4, 1 - math.floor(math.log10(intensity)))}f}"  # (two significant figures)
    also = "，上年同期也是如此" if len(low) > 1 else ""
    ctx.report(Code.ANNEX_INTENSITY_LOW, f,
               f"{when}万元产值能耗按所填只有 {shown} 吨标准煤/万元（综合能耗 {format_plain(energy)}吨标准煤 ÷ 产值 "
               f"{format_plain(output)}万元），不到 {format_plain(ANNEX_INTENSITY_FLOOR)}{also}：综合能耗可能按万吨标准煤填报，"
               "或产值按元填报；已按所填采用",
               f"请核实综合能耗和产值的计量单位：综合能耗以吨标准煤计，{ANNEX_UNIT_EXAMPLES['吨标准煤']}；产值以万元计，"
               f"{ANNEX_UNIT_EXAMPLES['万元']}；数据确实如此的，请在情况说明中写明原因",
               v, also=other.cell)  # fmt: skip


def read_tasks(ctx: _Ctx, sub: Submission, values: dict) -> None:
    numbers = sorted({int(k.split(".")[1]) for k in values if k.startswith("task.")})
    for n in numbers:
        status_f, status_v = _raw(values, f"task.{n}.status")
        status = ""
        if status_f is not None:
            status = _use(ctx, status_f, status_v, parse_choice(status_v, status_f.choices),
                          Code.INVALID_CHOICE) or ""  # fmt: skip
        texts = {}
        for part in ("progress", "problems", "next"):
            f, v = _raw(values, f"task.{n}.{part}")
            texts[part] = read_text(ctx, f, v) if f else ""
        anchor = status_f or next(rv.field for k, rv in values.items() if k.startswith(f"task.{n}."))
        sub.tasks.append(TaskReport(ctx.respondent, n, status, texts["progress"], texts["problems"],
                                    texts["next"], ctx.source(anchor),
                                    status_invalid=not status and not is_blank(status_v)))  # fmt: skip


# -- consistency between what a respondent says --------------------------------------------


def check_consistency(ctx: _Ctx, sub: Submission) -> None:
    figures = {f.indicator: f for f in sub.figures}
    milestones = {m.indicator: m for m in sub.milestones}
    mine: set[str] | None = None  # (a city's 各镇 indicator has thousands of reporters: no tuple scans)
    for task in sub.tasks:
        if task.status not in ("已完成", "未启动"):
            continue
        if mine is None:
            mine = {i.id for i in ctx.plan.indicators_for(ctx.respondent)}
        own = [ctx.plan.indicator(i) for i in ctx.plan.task(task.task).indicators if i in mine]
        if task.status == "已完成":
            for reason in _shortfalls(own, figures, milestones, ctx.respondent):
                ctx.findings.append(Finding(
                    Code.DONE_BELOW_TARGET, f"任务{task.task}标为“已完成”，但{reason}",
                    "请核实推进状态或填报数", file=sub.file, sheet=task.source.sheet,
                    cell=task.source.cell, respondent=ctx.respondent, field=f"task.{task.task}.status",
                    label=f"任务{task.task}·推进状态", value=task.status,
                ))  # fmt: skip
        if task.status == "未启动":
            started = [figures[i.id] for i in own if i.id in figures and figures[i.id].value > 0]
            started += [milestones[i.id] for i in own if i.id in milestones and milestones[i.id].done]
            if started:
                ctx.findings.append(Finding(
                    Code.PROGRESS_NOT_STARTED,
                    f"任务{task.task}标为“未启动”，但已填报完成数或已完成事项",
                    "请核实推进状态", file=sub.file, sheet=task.source.sheet, cell=task.source.cell,
                    respondent=ctx.respondent, field=f"task.{task.task}.status",
                    label=f"任务{task.task}·推进状态", value=task.status,
                ))  # fmt: skip


def _shortfalls(indicators: Iterable[Indicator], figures: dict, milestones: dict, rid: str):
    for ind in indicators:
        if ind.is_milestone:
            m = milestones.get(ind.id)
            if m is not None and not m.done and ind.lead == rid:
                yield f"里程碑“{ind.name}”填为未完成"
            continue
        fig = figures.get(ind.id)
        if fig is None or ind.target is None or (ind.combine.value == "lead" and ind.lead != rid):
            continue
        if ind.comparison in (Comparison.AT_LEAST, Comparison.REDUCTION_AT_LEAST) and fig.value < ind.target:
            yield (f"“{ind.name}”填报 {format_plain(fig.value)}{ind.unit}，"
                        f"未达到年度目标 {format_plain(ind.target)}{ind.unit}")  # fmt: skip

