"""分发清单.xlsx: which workbook goes to whom, what it covers, and by when it is due."""

from __future__ import annotations

import io

from ..plan.model import Period, chinese_date
from .fastsheet import new_workbook
from .fit import RowHeights, row_height, wrapped_lines
from .formats import make_formats
from .layout import DISTRIBUTION_SHEET, indicator_label

COLUMNS = ("序号", "填报单位", "类别", "文件名", "数值指标", "附件指标", "重点任务", "里程碑",
           "报送截止", "填报内容")  # fmt: skip
WIDTHS = (5, 16, 14, 52, 8, 8, 8, 8, 14, 70)
FONT_SIZE = 11  # make_formats' header and label
TITLE_SIZE = 16


def distribution_rows(files, period: Period) -> list[list]:
    rows = []
    for n, tf in enumerate(files, 1):
        lay = tf.layout
        # (named as the clerk's sheet names them: the plan's ids are shown on no sheet)
        parts = [indicator_label(lay.plan, r.indicator) for r in lay.indicators]
        if lay.has_annex:
            parts.append(lay.plan.annex.indicator_name)
        if lay.tasks:
            parts.append("任务" + "、".join(str(t.task.number) for t in lay.tasks))
        parts += [indicator_label(lay.plan, m.indicator) for m in lay.milestones]
        rows.append([
            n, tf.respondent.name, tf.respondent.kind.label, tf.path.name, len(lay.indicators),
            "是" if lay.has_annex else "", len(lay.tasks), len(lay.milestones),
            chinese_date(period.deadline), "；".join(parts),
        ])  # fmt: skip
    return rows


def render_distribution(files, period: Period, title: str) -> bytes:
    buf = io.BytesIO()
    wb = new_workbook(buf)
    f = make_formats(wb)
    ws = wb.add_worksheet(DISTRIBUTION_SHEET)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    # Every row gets its height: LibreOffice and WPS do not fit rows of wrapped text when they open
    # a file, and long file names and 填报内容 lines would print over the next row.
    heights = RowHeights(FONT_SIZE)
    heights.columns(ws, dict(enumerate(WIDTHS)))
    text = f"{title}填报表分发清单（{period.label}）"
    ws.merge_range(0, 0, 0, len(COLUMNS) - 1, text, f.title)
    ws.set_row(0, max(30, row_height(wrapped_lines(text, sum(WIDTHS), TITLE_SIZE), TITLE_SIZE)))
    ws.write_row(1, 0, COLUMNS, f.header)
    for c, head in enumerate(COLUMNS):
        heights.fit(ws, 1, c, head)
    rows = distribution_rows(files, period)
    for r, row in enumerate(rows, 2):
        for c, value in enumerate(row):
            if isinstance(value, int):
                ws.write_number(r, c, value, f.label_center)
            else:
                ws.write_string(r, c, value, f.label if c in (3, 9) else f.label_center)
                heights.fit(ws, r, c, value)
    for r in range(1, 2 + len(rows)):  # one line where nothing wraps; set_heights sets the rest
        ws.set_row(r, row_height(1, FONT_SIZE))
    heights.set_heights(ws)
    ws.freeze_panes(2, 2)
    ws.repeat_rows(1)
    ws.autofilter(1, 0, 1 + len(rows), len(COLUMNS) - 1)
    wb.close()
    return buf.getvalue()
