"""问题清单.xlsx: every finding one row, grouped by respondent, plus counts and 催报名单.

All text that came from a workbook is written with ``write_string`` into a workbook
opened with ``strings_to_formulas=False``: it can never become a formula or a link.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict

import xlsxwriter

from .collect import Collection
from .findings import Finding, Severity
from .outputs import close_workbook, gc_paused
from .plan.model import chinese_date
from .template.formats import make_formats, workbook_options

PROBLEM_LIST = "问题清单.xlsx"
COLUMNS = ("序号", "填报单位", "文件", "工作表", "单元格", "项目", "填报内容", "问题代码", "级别",
           "问题说明", "处理建议")  # fmt: skip
WIDTHS = (6, 16, 40, 10, 8, 30, 24, 9, 7, 50, 40)


@gc_paused()  # thousands of findings make as many rows: see gc_paused
def render_problem_list(col: Collection) -> bytes:
    plan = col.plan
    names = {r.id: r.name for r in plan.respondents}
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, workbook_options())
    wb.set_properties({"author": "pdreport", "created": dt.datetime.combine(col.period.deadline, dt.time())})
    f = make_formats(wb)
    err = wb.add_format({"font_color": "#C00000", "bold": True, "border": 1, "align": "center"})
    warn = wb.add_format({"font_color": "#9C5700", "border": 1, "align": "center"})

    ws = wb.add_worksheet("问题清单")
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    title = f"{plan.title}填报问题清单（{col.period.label}）"
    ws.merge_range(0, 0, 0, len(COLUMNS) - 1, title, f.title)
    c = col.counts
    ws.merge_range(1, 0, 1, len(COLUMNS) - 1,
                   f"收到文件 {c['received']} 份，采用 {c['accepted']} 份（其中有错误 {c['with_errors']} 份），"
                   f"无法采用 {c['rejected']} 份，重复 {c['superseded']} 份，未报送单位 {c['missing']} 个。"
                   f"错误 {sum(x.is_error for x in col.findings)} 条，提醒 {sum(not x.is_error for x in col.findings)} 条。",
                   f.info_value)  # fmt: skip
    ws.write_row(2, 0, COLUMNS, f.header)
    for i, w in enumerate(WIDTHS):
        ws.set_column(i, i, w)
    row = 3
    for n, x in enumerate(col.findings, 1):
        cells = [names.get(x.respondent, ""), x.file, x.sheet, x.cell, x.label, x.value,
                 x.code.code, x.level.label, x.message, x.hint]  # fmt: skip
        ws.write_number(row, 0, n, f.label_center)
        for i, v in enumerate(cells, 1):
            if i == 8:
                ws.write_string(row, i, v, err if x.level is Severity.ERROR else warn)
            else:
                ws.write_string(row, i, v, f.label)
        row += 1
    ws.freeze_panes(3, 2)
    ws.repeat_rows(2)
    ws.autofilter(2, 0, max(row - 1, 3), len(COLUMNS) - 1)

    # Each respondent's findings, grouped once: scanning every finding for every respondent (and
    # again for every missing one) grows with units × findings, minutes at 10,000 units.
    mine_of: dict[str, list[Finding]] = defaultdict(list)
    for x in col.findings:
        mine_of[x.respondent].append(x)

    by = wb.add_worksheet("按单位统计")
    head = ("填报单位", "类别", "报送情况", "采用文件", "错误", "提醒")
    by.write_row(0, 0, head, f.header)
    for i, w in enumerate((18, 14, 14, 50, 8, 8)):
        by.set_column(i, i, w)
    for r, resp in enumerate(plan.respondents, 1):
        sub = col.submissions.get(resp.id)
        mine = mine_of.get(resp.id, ())
        status = "未报送" if sub is None else ("需退回修改" if sub.has_errors else "已报送")
        values = (resp.name, resp.kind.label, status, sub.file if sub else "")
        for i, v in enumerate(values):
            by.write_string(r, i, v, f.label)
        by.write_number(r, 4, sum(x.is_error for x in mine), f.number)
        by.write_number(r, 5, sum(not x.is_error for x in mine), f.number)
    by.autofilter(0, 0, len(plan.respondents), len(head) - 1)
    by.freeze_panes(1, 1)

    miss = wb.add_worksheet("催报名单")
    miss.merge_range(0, 0, 0, 3, f"催报名单（{col.period.label}，截止{chinese_date(col.period.deadline)}）", f.title)
    miss.write_row(1, 0, ("序号", "单位", "类别", "说明"), f.header)
    for i, w in enumerate((6, 20, 16, 50)):
        miss.set_column(i, i, w)
    rejected = {o.file for o in col.outcomes if o.status != "已采用"}
    named = {}  # respondent id → files only their names tie to it (encrypted, broken …)
    for o in col.outcomes:
        if o.guessed:
            named.setdefault(o.respondent, []).append(o.file)
    for r, rid in enumerate(col.missing, 2):
        resp = plan.respondent(rid)
        sent = sorted({x.file for x in mine_of.get(rid, ()) if x.file in rejected})
        note = f"已收到文件但无法采用：{'、'.join(sent)}" if sent else "未收到填报表"
        if named.get(rid):
            maybe = f"按文件名判断，可能是本单位的文件，但无法采用：{'、'.join(sorted(named[rid]))}"
            note = f"{note}；{maybe}" if sent else maybe
        miss.write_number(r, 0, r - 1, f.label_center)
        miss.write_string(r, 1, resp.name, f.label)
        miss.write_string(r, 2, resp.kind.label, f.label)
        miss.write_string(r, 3, note, f.label)
    close_workbook(wb)
    return buf.getvalue()
