"""Render one respondent's collection workbook (xlsxwriter) from its ``Layout``."""

from __future__ import annotations

import datetime as dt
import io

from ..periods import period_span, reporting_basis
from ..plan.model import Comparison, chinese_date, format_number
from .fastsheet import new_workbook
from .fit import header_width, row_height, wrapped_lines
from .formats import Formats, make_formats
from .layout import (
    ANNEX,
    ANNEX_FIRST_ROW,
    COVER,
    COVER_FIRST_FIELD_ROW,
    COVER_INFO_ROW,
    COVER_VALUE_COL,
    FIRST_ROW,
    HEADER_FIELDS,
    HEADER_ROW,
    IND_COLUMNS,
    IND_RATIO,
    IND_SEQUENTIAL,
    IND_VALUE,
    INDICATORS,
    MS_COLUMNS,
    SIGNATURE_LEAD,
    TASK_COLUMNS,
    TASKS,
    Field,
    Layout,
    annual_target_text,
    cell,
    indicator_columns,
    input_title,
    owner_text,
)
from .metadata import write_metadata

SHEET_PASSWORD = "pdreport"  # documented: lets the coordinator unprotect; staff never need it
TEXT_LIMIT = 2000  # characters per text input, enforced by validation and re-checked at intake
PROTECT_OPTIONS = {"select_locked_cells": True, "select_unlocked_cells": True,
                   "format_columns": True, "format_rows": True}  # fmt: skip
DATE_MIN, DATE_MAX = dt.date(2000, 1, 1), dt.date(2099, 12, 31)


def render_workbook(layout: Layout, generated_at: dt.datetime, values: dict | None = None) -> bytes:
    """The .xlsx bytes for one respondent; deterministic for a given ``generated_at``.

    ``values`` ({field key: value}) pre-fills inputs as an office would type them (demos and
    benchmarks); templates sent out are always rendered without."""
    buf = io.BytesIO()
    wb = new_workbook(buf)
    wb.set_properties({
        "title": f"{layout.plan.title}落实情况填报表",
        "subject": f"{layout.period.label} {layout.respondent.name}",
        "author": layout.plan.issuer,
        "company": layout.plan.issuer,
        "comments": "pdreport 生成",
        "created": generated_at,
    })  # fmt: skip
    fmt = make_formats(wb)
    _Renderer(wb, fmt, layout, values).render()
    write_metadata(wb, layout, generated_at.isoformat(timespec="seconds"))
    wb.close()
    return buf.getvalue()


MIN_TASK_LINES = 5  # a task row leaves room to type a few lines of progress
BODY_SIZE = 11  # points: labels, instructions and inputs (make_formats); notes are 10


class _Renderer:
    def __init__(self, wb, fmt: Formats, layout: Layout, values: dict | None = None):
        self.wb, self.f, self.lay = wb, fmt, layout
        self.values = values or {}
        self.p, self.r, self.period = layout.plan, layout.respondent, layout.period
        self.fields = {f.key: f for f in layout.fields}
        self.widths: dict[str, list[float]] = {}

    # -- shared helpers -------------------------------------------------------------
    def render(self) -> None:
        self.cover()
        if self.lay.indicators:
            self.indicators()
        if self.lay.has_annex:
            self.annex()
        if self.lay.tasks or self.lay.milestones:
            self.tasks()

    def sheet(self, name: str, landscape: bool, widths: list[float]):
        ws = self.wb.add_worksheet(name)
        ws.set_paper(9)  # A4
        if landscape:
            ws.set_landscape()
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        ws.fit_to_pages(1, 0)
        ws.center_horizontally()
        ws.set_footer("&C第 &P 页，共 &N 页")
        for i, w in enumerate(widths):
            ws.set_column(i, i, w)
        ws.protect(SHEET_PASSWORD, PROTECT_OPTIONS)
        self.widths[name] = widths
        return ws

    def heading(self, ws, title: str, last_col: int, note: str) -> None:
        ws.merge_range(0, 0, 0, last_col, title, self.f.title)
        ws.set_row(0, 30)
        line = f"填报单位：{self.r.name}    报送期：{self.period.label}（{period_span(self.period)}）"
        ws.merge_range(1, 0, 1, last_col, line, self.f.info_value)
        ws.merge_range(2, 0, 2, last_col, note, self.f.note)
        span = sum(self.widths.get(ws.name, [10] * (last_col + 1))[: last_col + 1])
        ws.set_row(2, row_height(wrapped_lines(note, span)))  # the note is 10 pt

    def input(self, ws, field: Field, fmt) -> None:
        row, col = _rc(field.cell)
        value = self.values.get(field.key)
        if value is None:
            ws.write_blank(row, col, None, fmt)
        elif isinstance(value, str):
            ws.write_string(row, col, value, fmt)
        elif isinstance(value, dt.date):
            ws.write_datetime(row, col, value, fmt)
        else:
            ws.write_number(row, col, value, fmt)
        ws.data_validation(row, col, row, col, self.validation(field))
        if field.required:  # orange while empty, as 填报检查 counts it (spaces only count as empty)
            ws.conditional_format(row, col, row, col, {"type": "formula", "criteria": "=" + empty_test(field.cell),
                                                       "format": self.f.missing})  # fmt: skip

    def validation(self, field: Field) -> dict:
        title = input_title(field.label)
        if field.kind == "choice":
            choices = "、".join(field.choices)
            return {"validate": "list", "source": list(field.choices), "input_title": title,
                    "input_message": f"请从下拉列表中选择：{choices}"[:255],
                    "error_title": "选项无效", "error_message": f"只能选择：{choices}"[:255]}  # fmt: skip
        if field.kind == "date":
            return {"validate": "date", "criteria": "between", "minimum": DATE_MIN,
                    "maximum": DATE_MAX, "input_title": title,
                    "input_message": f"请填写日期，如 {self.period.end.isoformat()}",
                    "error_title": "日期无效",
                    "error_message": f"请填写有效日期，格式如 {self.period.end.isoformat()}。"}  # fmt: skip
        if field.kind == "text":
            return {"validate": "length", "criteria": "<=", "value": TEXT_LIMIT,
                    "input_title": title,
                    "input_message": f"请用文字填写，不超过{TEXT_LIMIT}字。" + (
                        "必填。" if field.required else "选填。"),
                    "error_title": "文字过长",
                    "error_message": f"不超过{TEXT_LIMIT}字，请精简后再填。"}  # fmt: skip
        unit = f"（单位：{field.unit}）" if field.unit else ""
        if field.maximum is not None:
            rng = f"{format_number(field.minimum)}～{format_number(field.maximum)}"
            spec = {"criteria": "between", "minimum": field.minimum, "maximum": field.maximum}
        else:
            rng = f"不小于{format_number(field.minimum)}"
            spec = {"criteria": ">=", "value": field.minimum or 0}
        pct = "百分数只填数字，如 95% 填 95。" if field.unit == "%" else ""
        return {"validate": "decimal", **spec, "input_title": title,
                "input_message": f"请填写数字{unit}，范围{rng}。{pct}"[:255],
                "error_title": "请填写数字",
                "error_message": f"这里只能填数字{unit}，范围{rng}；说明文字请写在“情况说明”。"[:255]}  # fmt: skip

    # -- 填报说明 ------------------------------------------------------------------------
    def cover(self) -> None:
        ws = self.sheet(COVER, False, [3, 24, 44, 30])
        f, p, period = self.f, self.p, self.period
        ws.merge_range(0, 1, 0, 3, f"《{p.title}》落实情况填报表", f.title)
        ws.set_row(0, 36)
        ws.merge_range(1, 1, 1, 3, f"（{period.label}）", f.subtitle)
        n_ind = len(self.lay.indicators)
        content = [f"数值指标 {n_ind} 项"] if n_ind else []
        if self.lay.has_annex:
            content.append("附件指标（工业万元产值能耗下降率）1 项")
        if self.lay.tasks:
            content.append(f"重点任务 {len(self.lay.tasks)} 项")
        if self.lay.milestones:
            content.append(f"里程碑事项 {len(self.lay.milestones)} 项")
        info = [
            ("填报单位（盖章）", self.r.name),
            ("报送期", f"{period.label}（{period_span(period)}）"),
            ("报送截止", chinese_date(period.deadline)),
            ("本表内容", "、".join(content)),
        ]
        for i, (k, v) in enumerate(info):
            ws.write_string(COVER_INFO_ROW + i, 1, k, f.info_label)
            ws.merge_range(COVER_INFO_ROW + i, COVER_VALUE_COL, COVER_INFO_ROW + i, 3, v, f.info_value)
        ws.write_string(COVER_FIRST_FIELD_ROW - 1, 1, "请填写（黄色单元格）：", f.section)
        for key, text, _kind in HEADER_FIELDS:
            field = self.fields[key]
            row, col = _rc(field.cell)
            ws.write_string(row, 1, text, f.info_label)
            self.input(ws, field, f.input_date if field.kind == "date" else f.input_line)
        check_row = COVER_FIRST_FIELD_ROW + len(HEADER_FIELDS) + 1
        self.missing_check(ws, check_row)
        row = check_row + 2
        ws.write_string(row, 1, "填报说明", f.section)
        span = sum(self.widths[COVER][1:4])
        for i, text in enumerate(self.instructions(), 1):
            row += 1
            ws.merge_range(row, 1, row, 3, f"{i}. {text}", f.info_value)
            ws.set_row(row, row_height(wrapped_lines(f"{i}. {text}", span, BODY_SIZE), BODY_SIZE))
        ws.activate()

    def missing_check(self, ws, row: int) -> None:
        """A live count of required inputs still empty, with the right cached value."""
        required = self.lay.required_fields()
        # one term per cell, plain arithmetic on TRUE/FALSE: every reader (Excel, WPS, LibreOffice)
        # computes it alike, where array forms (SUMPRODUCT over IFERROR …) differ between them
        parts = ["(" + empty_test(f"'{fd.sheet}'!{_abs(fd.cell)}") + ")" for fd in required]
        formula = "=" + "+".join(parts) if parts else "=0"
        if len(formula) > FORMULA_LIMIT:  # (a very long form: blank cells only, as COUNTBLANK sees them)
            formula = "=" + "+".join(f"COUNTBLANK('{fd.sheet}'!{_abs(fd.cell)})" for fd in required)
        left = sum(_empty(self.values.get(fd.key)) for fd in required)  # the cached result
        count = cell(row, COVER_VALUE_COL)
        ws.write_string(row, 1, "填报检查", self.f.info_label)
        ws.write_formula(row, COVER_VALUE_COL, formula, self.f.formula_text, left)
        # two lines, broken where the sentence breaks (its column is too narrow for one)
        msg = (f'=IF({count}=0,"{ALL_FILLED}",'
               f'"尚有"&{count}&"项必填内容未填写"&CHAR(10)&"（橙色单元格）")')  # fmt: skip
        shown = f"尚有{left}项必填内容未填写\n（橙色单元格）" if left else ALL_FILLED
        ws.write_formula(row, 3, msg, self.f.check_ok, shown)
        ws.set_row(row, row_height(wrapped_lines(shown, self.widths[COVER][3], BODY_SIZE), BODY_SIZE))

    def instructions(self) -> list[str]:
        p, period = self.p, self.period
        sheets = "、".join(f"“{s}”" for s in self.lay.sheets[1:])
        out = [
            f"本表用于报送《{p.title}》（{chinese_date(p.date)}印发）中由本单位负责的指标和重点任务的落实情况，"
            f"汇总后形成全区推进情况报告。",
            f"填报范围：只列出通知中由{self.r.name}负责或参与的内容，共 {len(self.lay.sheets) - 1} 张表：{sheets}。",
            f"报送期为{period.label}（{period_span(period)}），请于{chinese_date(period.deadline)}前报送。",
            "黄色单元格为填报项，橙色表示必填但尚未填写；灰色、蓝色单元格为说明或自动计算，不需填写。"
            "本页“填报检查”会实时显示尚未填写的必填项数量。",
        ]
        if self.lay.indicators:
            # examples from this sheet's own units (a sheet in 所 and % has no 万千瓦 to point at), 万… first:
            # those are the ones typed wrong (15万千瓦 is 15)
            units = sorted((u for u in dict.fromkeys(r.indicator.unit for r in self.lay.indicators) if u and u != "%"),
                           key=lambda u: not u.startswith("万"))  # fmt: skip
            example = f"（如{''.join(f'“{u}”' for u in units[:2])}）" if units else ""
            out.append(f"“指标”表：在“填报值”列填写数字，计量单位以“计量单位”列为准{example}。"
                       f"{self.count_rule()}累计数填写1月1日起至本期末的累计完成数；水平值和比例填写期末数；"
                       "百分数只填数字（如 95% 填 95）；下降率下降填正数、上升填负数。"
                       "数字以外的说明请写在“情况说明”列。")  # fmt: skip
        if self.lay.has_annex:
            out.append("“附件指标”表：填写规模以上工业综合能耗（吨标准煤）和工业总产值（万元）的上年同期数和本期数，"
                       "下降率由表格自动计算，不需手工填写。")  # fmt: skip
        if self.lay.tasks:
            out.append("“重点任务”表：推进状态从下拉列表选择（未启动、推进中、已完成、已滞后）；"
                       "“主要进展”写明本期完成的具体工作、数量和时间节点；有困难或滞后的，请在“存在问题”中说明原因。")  # fmt: skip
        if self.lay.milestones:
            out.append("里程碑事项（“重点任务”表下方）：选择“是/否”，已完成的填写完成日期。")
        out += [
            "请勿增删行列、修改工作表名称或表中的项目名称，也不要删除隐藏的标识工作表；"
            "工作表已保护，黄色单元格可直接填写，无需密码。",
            "可用 Excel 或 WPS 填写，保存为 .xlsx 格式（WPS 请选择“Excel 文件(*.xlsx)”）；"
            "文件名可以保留原样，请不要把多个单位的内容合并到一个文件。",
            f"填好后{p.contact.send_to()}" if p.contact.send_to() else "填好后按报送通知的要求报送。",
        ]
        return out

    def count_rule(self) -> str:
        """How many decimals: whole numbers for what this sheet counts (个, 家, 栋 …), two at most
        for the rest."""
        units: dict[str, bool] = {}  # unit → whole numbers (the plan's count_units), in sheet order
        for r in self.lay.indicators:
            units.setdefault(r.indicator.unit, r.indicator.counted)
        counted = [u for u, whole in units.items() if whole]  # (the cells accept decimals; W219 asks)
        if not counted:
            return "数值保留两位小数即可。"
        names = "".join(f"“{u}”" for u in counted)  # (quoted: 以所计量 reads 所 as a particle)
        rest = "其他数值保留两位小数即可。" if len(counted) < len(units) else ""
        return f"计量单位为{names}的指标请填整数（如 3，不要填 2.5）；{rest}"

    # -- 指标 ------------------------------------------------------------------------
    def indicators(self) -> None:
        last = len(IND_COLUMNS) - 1
        ws = self.sheet(INDICATORS, True, [5, 9, 34, 9, 16, 12, 26, 13, 9, 30])
        f = self.f
        note = ("说明：黄色单元格为填报项；计量单位以“计量单位”列为准；百分数只填数字（如 95% 填 95）；"
                "下降率下降填正数、上升填负数；“完成率”为填报值与年度目标之比，自动计算。")  # fmt: skip
        self.heading(ws, "数值指标填报表", last, note)
        ws.write_row(HEADER_ROW, 0, indicator_columns(self.period), f.header)
        ws.set_row(HEADER_ROW, 30)
        widths = self.widths[INDICATORS]
        for n, row in enumerate(self.lay.indicators, 1):
            ind, r = row.indicator, row.row
            owner = owner_text(self.p, ind, "\n")
            ws.write_number(r, 0, n, f.label_center)
            ws.write_string(r, 1, owner, f.label_center)
            ws.write_string(r, 2, ind.name, f.label)
            ws.write_string(r, 3, ind.unit, f.label_center)
            ws.write_string(r, 4, annual_target_text(row), f.label)
            if row.sequential is None:
                ws.write_string(r, IND_SEQUENTIAL, "—", f.label_center)
            else:
                ws.write_number(r, IND_SEQUENTIAL, row.sequential, f.number)
            basis = reporting_basis(ind, self.period)
            if row.role == "contributor":
                basis += "；填本单位（区域）数"
            if ind.note:  # (the plan's 口径说明: who reports what, a year-end target …)
                basis += f"。{ind.note}"
            ws.write_string(r, 6, basis, f.label)
            self.input(ws, self.fields[f"ind.{ind.id}.value"], f.input_number)
            self.ratio(ws, row, r)
            self.input(ws, self.fields[f"ind.{ind.id}.note"], f.input_text)
            lines = max(wrapped_lines(owner, widths[1], BODY_SIZE),
                        wrapped_lines(ind.name, widths[2], BODY_SIZE),
                        wrapped_lines(annual_target_text(row), widths[4], BODY_SIZE),
                        wrapped_lines(basis, widths[6], BODY_SIZE), 2)  # fmt: skip
            ws.set_row(r, row_height(lines, BODY_SIZE))
        end = self.lay.indicators[-1].row
        self.signature(ws, end + 2, last)
        ws.freeze_panes(FIRST_ROW, 3)
        ws.repeat_rows(HEADER_ROW)
        ws.autofilter(HEADER_ROW, 0, end, last)

    def ratio(self, ws, row, r: int) -> None:
        ind, f = row.indicator, self.f
        value = cell(r, IND_VALUE)
        comparable = row.role != "contributor" and ind.target and ind.comparison in (
            Comparison.AT_LEAST, Comparison.REDUCTION_AT_LEAST)
        if not comparable:
            ws.write_string(r, IND_RATIO, "—", f.formula_text)
            return
        formula = f'=IF(ISNUMBER({value}),{value}/{ind.target!r},"")'
        ws.write_formula(r, IND_RATIO, formula, f.formula_percent, "")

    def signature(self, ws, row: int, last: int) -> None:
        def ref(key):
            return f"'{COVER}'!{_abs(self.fields[key].cell)}"

        formula = (f'="{SIGNATURE_LEAD}"&{ref("header.reviewer")}&"      填报人："&'
                   f'{ref("header.filler")}&"      联系电话："&{ref("header.phone")}')  # fmt: skip
        ws.merge_range(row, 0, row, last, "", self.f.info_value)
        ws.write_formula(row, 0, formula, self.f.info_value,
                         f"{SIGNATURE_LEAD}      填报人：      联系电话：")  # fmt: skip

    # -- 附件指标 -------------------------------------------------------------------------
    def annex(self) -> None:
        ws = self.sheet(ANNEX, False, [6, 34, 22, 22, 24])
        f, annex, period = self.f, self.p.annex, self.period
        unit = annex.unit_for(self.r.id)
        into = annex.rolls_into(self.r.id)
        notes = [f"注：{annex.note}"]
        if unit.rolls_in:
            names = "、".join(self.p.respondent(i).name for i in unit.rolls_in)
            notes.append(f"请填报本单位区域数据（不含{names}）；{names}单独填报，汇总时合并计算。")
        if into:
            notes.append(f"本镇数据汇总时并入{self.p.respondent(into).name}合并考核，仍请如实填报。")
        self.heading(ws, f"附件指标：{annex.indicator_name}", 4, "".join(notes))
        target = (f"年度目标：下降{format_number(unit.target)}%" if unit.assessed
                  else "年度目标：/（不考核，仍请填报数据）" if into
                  else "年度目标：/（不考核，可不填；有数据的请填报，供参考）")  # fmt: skip
        ws.merge_range(3, 0, 3, 4, target, f.section)
        months = f"{period.start.month}—{period.end.month}月"
        head = ["序号", "项目", f"上年同期（{period.start.year - 1}年{months}）",
                f"本期（{period.start.year}年{months}）", "说明"]  # fmt: skip
        ws.write_row(ANNEX_FIRST_ROW - 1, 0, head, f.header)
        ws.set_row(ANNEX_FIRST_ROW - 1, 32)  # the period headings wrap onto two lines
        r0 = ANNEX_FIRST_ROW
        items = ["规上工业综合能耗（吨标准煤）", "规上工业总产值（万元）",
                 "万元产值能耗（吨标准煤/万元）", f"{annex.indicator_name}（%）", "情况说明"]  # fmt: skip
        for i, text in enumerate(items):
            ws.write_number(r0 + i, 0, i + 1, f.label_center)
            ws.write_string(r0 + i, 1, text, f.label)
            ws.set_row(r0 + i, 24)
        for key in ("annex.energy_base", "annex.energy_current", "annex.output_base",
                    "annex.output_current"):  # fmt: skip
            self.input(ws, self.fields[key], f.input_number)
        ws.write_string(r0, 4, "按统计口径填报", f.label)
        ws.write_string(r0 + 1, 4, "按统计口径填报", f.label)
        for col in (2, 3):
            e, o = cell(r0, col), cell(r0 + 1, col)
            ws.write_formula(r0 + 2, col, f'=IF(AND(ISNUMBER({e}),ISNUMBER({o}),{o}>0),{e}/{o},"")',
                             f.formula_number, "")  # fmt: skip
        ws.write_string(r0 + 2, 4, "自动计算", f.label)
        b, c = cell(r0 + 2, 2), cell(r0 + 2, 3)
        rate = f'=IF(AND(ISNUMBER({b}),ISNUMBER({c}),N({b})>0),(1-{c}/{b})*100,"")'
        ws.merge_range(r0 + 3, 2, r0 + 3, 3, "", f.formula_number)
        ws.write_formula(r0 + 3, 2, rate, f.formula_number, "")
        ws.write_string(r0 + 3, 4, "自动计算，下降为正数", f.label)
        ws.merge_range(r0 + 4, 2, r0 + 4, 4, "", f.input_text)
        self.input(ws, self.fields["annex.note"], f.input_text)
        ws.set_row(r0 + 4, 60)
        self.signature(ws, r0 + 6, 4)
        ws.repeat_rows(ANNEX_FIRST_ROW - 1)

    # -- 重点任务 ---------------------------------------------------------------------------
    def tasks(self) -> None:
        last = len(TASK_COLUMNS) - 1
        ws = self.sheet(TASKS, True, [header_width(TASK_COLUMNS[0], BODY_SIZE), 16, 52, 16, 10, 36, 24, 24])
        widths = self.widths[TASKS]
        f = self.f
        note = ("说明：推进状态从下拉列表选择（未启动、推进中、已完成、已滞后）；“主要进展”写明本期完成的具体工作、"
                f"数量和时间节点，每格不超过{TEXT_LIMIT}字；“通知要求”为通知原文，供对照。")  # fmt: skip
        self.heading(ws, "重点任务推进情况填报表", last, note)
        ws.write_row(HEADER_ROW, 0, TASK_COLUMNS, f.header)
        ws.set_row(HEADER_ROW, 30)
        for tr in self.lay.tasks:
            t, r = tr.task, tr.row
            ws.write_number(r, 0, t.number, f.label_center)
            ws.write_string(r, 1, t.title, f.label)
            ws.write_string(r, 2, t.text, f.label_wrap)
            ws.write_string(r, 3, t.departments_text, f.label)
            self.input(ws, self.fields[f"task.{t.number}.status"], f.input_choice)
            for key in ("progress", "problems", "next"):
                self.input(ws, self.fields[f"task.{t.number}.{key}"], f.input_text)
            labels = max(wrapped_lines(t.title, widths[1], BODY_SIZE),
                         wrapped_lines(t.departments_text, widths[3], BODY_SIZE))  # fmt: skip
            ws.set_row(r, max(row_height(max(wrapped_lines(t.text, widths[2]), MIN_TASK_LINES)),  # 10 pt
                              row_height(labels, BODY_SIZE)))  # fmt: skip
        last_row = self.lay.tasks[-1].row if self.lay.tasks else HEADER_ROW
        if self.lay.tasks:
            ws.freeze_panes(FIRST_ROW, 2)
            ws.repeat_rows(HEADER_ROW)
        if self.lay.milestones:
            hr = self.lay.milestone_header_row
            ws.merge_range(hr - 1, 0, hr - 1, last, "里程碑事项（通知明确的具体成果）", f.section)
            ws.write_row(hr, 0, MS_COLUMNS, f.header)
            for n, mr in enumerate(self.lay.milestones, 1):
                ind, r = mr.indicator, mr.row
                ws.write_number(r, 0, n, f.label_center)
                owner = owner_text(self.p, ind)
                if mr.role != "lead":
                    owner += "（参与单位，报本单位情况）"
                ws.write_string(r, 1, owner, f.label_center)
                ws.write_string(r, 2, ind.name, f.label)
                ws.write_string(r, 3, chinese_date(ind.deadline) if ind.deadline else "年内",
                                f.label_center)  # fmt: skip
                self.input(ws, self.fields[f"ind.{ind.id}.done"], f.input_choice)
                self.input(ws, self.fields[f"ind.{ind.id}.date"], f.input_date)
                self.input(ws, self.fields[f"ind.{ind.id}.note"], f.input_text)
                ws.set_row(r, row_height(max(2, wrapped_lines(owner, widths[1], BODY_SIZE)), BODY_SIZE))
            last_row = self.lay.milestones[-1].row
        self.signature(ws, last_row + 2, last)


ALL_FILLED = "必填项已全部填写，可以报送"
FORMULA_LIMIT = 8000  # characters: Excel takes formulas up to 8192


def empty_test(ref: str) -> str:
    """A formula that is TRUE while the cell ``ref`` holds nothing but spaces, as intake reads it
    (E201): blank, or only spaces (full-width ones too, typed with a Chinese input method), tabs
    or line breaks. An error value counts as filled (intake reports it on its own)."""
    return f'IFERROR(LEN(TRIM(CLEAN(SUBSTITUTE({ref},"\u3000",""))))=0,FALSE)'


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _rc(a1: str) -> tuple[int, int]:
    from xlsxwriter.utility import xl_cell_to_rowcol

    return xl_cell_to_rowcol(a1)


def _abs(a1: str) -> str:
    from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell

    r, c = xl_cell_to_rowcol(a1)
    return xl_rowcol_to_cell(r, c, row_abs=True, col_abs=True)

