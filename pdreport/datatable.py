"""数据明细: every accepted figure, status and text as flat rows (CSV + xlsx) for later stages."""

from __future__ import annotations

import csv
import datetime as dt
import io

from .collect import Collection
from .outputs import close_workbook, gc_paused
from .template.fastsheet import new_workbook
from .template.fit import a4_print
from .template.formats import make_formats
from .template.layout import ANNEX, ANNEX_FIELDS, ANNEX_FIRST_ROW, TEMPLATE_VERSION, cell

DATA_CSV, DATA_XLSX = "数据明细.csv", "数据明细.xlsx"
COLUMNS = ("respondent_id", "单位", "类型", "编号", "项目", "数值", "文字", "文件", "工作表", "单元格")
ANNEX_CELLS = {key: cell(ANNEX_FIRST_ROW + offset, col) for key, _, offset, col in ANNEX_FIELDS}
# CSV text starting with these is quoted; a set, so that "" (an empty cell) is not among them
_RISKY = frozenset(("=", "+", "-", "@", "\t", "\r"))


def data_rows(col: Collection) -> list[list]:
    plan = col.plan
    rows: list[list] = []
    # indicator id → (id, label), built once rather than for every unit
    figure_label: dict[str, tuple[str, str]] = {}
    for resp in plan.respondents:
        sub = col.submissions.get(resp.id)
        if sub is None:
            continue
        base = [resp.id, resp.name]
        for fig in sub.figures:
            label = figure_label.get(fig.indicator)
            if label is None:
                ind = plan.indicator(fig.indicator)
                label = figure_label[fig.indicator] = (ind.id, f"{ind.name}（{ind.unit}）")
            rows.append(base + ["指标", label[0], label[1], fig.value, fig.note,
                                fig.source.file, fig.source.sheet, fig.source.cell])  # fmt: skip
        for m in sub.milestones:
            ind = plan.indicator(m.indicator)
            text = ("是" if m.done else "否") + (f"；{m.date.isoformat()}" if m.date else "")
            rows.append(base + ["里程碑", ind.id, ind.name, "", text + (f"；{m.note}" if m.note else ""),
                                m.source.file, m.source.sheet, m.source.cell])  # fmt: skip
        if sub.annex is not None:
            a = sub.annex
            # The records keep one source for the annex (its first figure's cell); the four cells
            # are where this template version puts them, given when that source agrees.
            placed = (sub.template_version == TEMPLATE_VERSION and a.source.sheet == ANNEX
                      and a.source.cell in ANNEX_CELLS.values())  # fmt: skip
            for key, label, _, _ in ANNEX_FIELDS:
                name = key.removeprefix("annex.")
                value = getattr(a, name)
                rows.append(base + ["附件指标", name, label, "" if value is None else value, a.note,
                                    a.source.file, a.source.sheet, ANNEX_CELLS[key] if placed else ""])  # fmt: skip
        for t in sub.tasks:
            text = "\n".join(p for p in (t.progress, t.problems and f"存在问题：{t.problems}",
                                         t.next_steps and f"下一步：{t.next_steps}") if p)  # fmt: skip
            rows.append(base + ["任务", str(t.task), t.status or f"（{t.no_status}）", "", text,
                                t.source.file, t.source.sheet, t.source.cell])  # fmt: skip
    return rows


@gc_paused()
def render_csv(col: Collection, rows: list[list] | None = None) -> bytes:
    """``rows``: ``data_rows(col)``, when the caller has them already (the xlsx shares them)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    # a leading =,+,-,@ (or tab, CR) would be a formula when a spreadsheet opens the CSV: quote it
    writer.writerows(
        [("'" + v if v[:1] in _RISKY else v) if isinstance(v, str) else v for v in row]
        for row in (data_rows(col) if rows is None else rows)
    )
    return buf.getvalue().encode("utf-8-sig")


@gc_paused()
def render_xlsx(col: Collection, rows: list[list] | None = None) -> bytes:
    buf = io.BytesIO()
    wb = new_workbook(buf)
    wb.set_properties({"author": "pdreport", "created": dt.datetime.combine(col.period.deadline, dt.time())})
    f = make_formats(wb)
    ws = wb.add_worksheet("数据明细")
    ws.write_row(0, 0, COLUMNS, f.header)
    if rows is None:
        rows = data_rows(col)
    write_values = ws.write_values  # texts and numbers, a row at a time: half a million cells at scale
    for r, row in enumerate(rows, 1):
        write_values(r, 0, row)
    for i, w in enumerate((14, 16, 8, 10, 40, 12, 60, 40, 10, 8)):
        ws.set_column(i, i, w)
    ws.freeze_panes(1, 2)
    ws.autofilter(0, 0, max(len(rows), 1), len(COLUMNS) - 1)
    ws.repeat_rows(0)  # printed (it is read by programs mostly): A4 landscape, all columns on a page
    # (a footer of ASCII only: one Chinese character in it would widen the whole sheet's XML, a
    # string of tens of megabytes at city scale, to two bytes a character while it is written)
    a4_print(ws, footer="&L&A&R&P / &N")
    close_workbook(wb)
    return buf.getvalue()

