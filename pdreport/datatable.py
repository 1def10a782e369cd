"""数据明细: every accepted figure, status and text as flat rows (CSV + xlsx) for later stages."""

from __future__ import annotations

import csv
import datetime as dt
import io

import xlsxwriter

from .collect import Collection
from .template.formats import make_formats, workbook_options

DATA_CSV, DATA_XLSX = "数据明细.csv", "数据明细.xlsx"
COLUMNS = ("respondent_id", "单位", "类型", "编号", "项目", "数值", "文字", "文件", "工作表", "单元格")


def data_rows(col: Collection) -> list[list]:
    plan = col.plan
    rows: list[list] = []
    for resp in plan.respondents:
        sub = col.submissions.get(resp.id)
        if sub is None:
            continue
        base = [resp.id, resp.name]
        for fig in sub.figures:
            ind = plan.indicator(fig.indicator)
            rows.append(base + ["指标", ind.id, f"{ind.name}（{ind.unit}）", fig.value, fig.note,
                                fig.source.file, fig.source.sheet, fig.source.cell])  # fmt: skip
        for m in sub.milestones:
            ind = plan.indicator(m.indicator)
            text = ("是" if m.done else "否") + (f"；{m.date.isoformat()}" if m.date else "")
            rows.append(base + ["里程碑", ind.id, ind.name, "", text + (f"；{m.note}" if m.note else ""),
                                m.source.file, m.source.sheet, m.source.cell])  # fmt: skip
        if sub.annex is not None:
            a = sub.annex
            for key, label, value in (
                ("energy_base", "规上工业综合能耗·上年同期（吨标准煤）", a.energy_base),
                ("energy_current", "规上工业综合能耗·本期（吨标准煤）", a.energy_current),
                ("output_base", "规上工业总产值·上年同期（万元）", a.output_base),
                ("output_current", "规上工业总产值·本期（万元）", a.output_current),
            ):
                rows.append(base + ["附件指标", key, label, "" if value is None else value, a.note,
                                    a.source.file, a.source.sheet, ""])  # fmt: skip
        for t in sub.tasks:
            text = "\n".join(p for p in (t.progress, t.problems and f"存在问题：{t.problems}",
                                         t.next_steps and f"下一步：{t.next_steps}") if p)  # fmt: skip
            rows.append(base + ["任务", str(t.task), f"{t.status or '（未选状态）'}", "", text,
                                t.source.file, t.source.sheet, t.source.cell])  # fmt: skip
    return rows


def render_csv(col: Collection) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    for row in data_rows(col):
        # a leading =,+,-,@ would be a formula when a spreadsheet opens the CSV
        writer.writerow([_defuse(v) if isinstance(v, str) else v for v in row])
    return buf.getvalue().encode("utf-8-sig")


def render_xlsx(col: Collection) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, workbook_options())
    wb.set_properties({"author": "pdreport", "created": dt.datetime.combine(col.period.deadline, dt.time())})
    f = make_formats(wb)
    ws = wb.add_worksheet("数据明细")
    ws.write_row(0, 0, COLUMNS, f.header)
    rows = data_rows(col)
    for r, row in enumerate(rows, 1):
        for c, v in enumerate(row):
            if isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, v)
    for i, w in enumerate((14, 16, 8, 10, 40, 12, 60, 40, 10, 8)):
        ws.set_column(i, i, w)
    ws.freeze_panes(1, 2)
    ws.autofilter(0, 0, max(len(rows), 1), len(COLUMNS) - 1)
    wb.close()
    return buf.getvalue()


def _defuse(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
