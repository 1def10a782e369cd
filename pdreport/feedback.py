"""Feedback copies (退回修改): the office's own workbook with each problem cell marked.

The original is never written to. For .xlsx/.xlsm returns the copy is made from the
file itself (openpyxl); for .xls/.ods, which openpyxl cannot write, a fresh template
is generated and the office's values are put back in, so every office gets an .xlsx.
"""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from .collect import Collection
from .findings import Finding
from .intake.clean import clean_text
from .outputs import atomic_write_bytes
from .template import build_layout, render_workbook
from .template.layout import COVER

FEEDBACK_DIR = "退回修改"
ERROR_FILL = PatternFill("solid", fgColor="FF8080")
WARNING_FILL = PatternFill("solid", fgColor="FFD966")
NOTE_SHEET = "退回说明"


def feedback_name(respondent_name: str) -> str:
    return f"{respondent_name}_退回修改.xlsx"


def write_feedback(col: Collection, out_dir: Path) -> list[Path]:
    """One copy per respondent whose accepted return has errors; returns the paths written."""
    written = []
    for rid, sub in sorted(col.submissions.items()):
        if not sub.has_errors:
            continue
        findings = col.findings_for(sub.file)
        data = build_copy(col, sub.file, findings)
        name = col.plan.respondent(rid).name
        written.append(atomic_write_bytes(Path(out_dir) / FEEDBACK_DIR / feedback_name(name), data))
    return written


def build_copy(col: Collection, file: str, findings: list[Finding]) -> bytes:
    raw = col.raws[file]
    if raw.kind in ("xlsx", "xlsm"):
        wb = openpyxl.load_workbook(raw.path, keep_vba=False, keep_links=False)
    else:
        plan = col.plan
        layout = build_layout(plan, plan.respondent(raw.tmap.respondent_id), col.period)
        blank = render_workbook(layout, _stamp(raw.tmap.generated_at))
        wb = openpyxl.load_workbook(io.BytesIO(blank))
        for rv in raw.values:
            if rv.field.sheet in wb.sheetnames and rv.value not in (None, ""):
                value = rv.value
                if isinstance(value, str):
                    value = clean_text(value, 32000).text
                wb[rv.field.sheet][rv.field.cell].value = value
    _mark(wb, findings)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _mark(wb, findings: list[Finding]) -> None:
    note = wb.create_sheet(NOTE_SHEET, 0)
    note.append(["序号", "工作表", "单元格", "级别", "问题说明", "处理建议"])
    for n, f in enumerate(findings, 1):
        note.append([n, f.sheet, f.cell, f.level.label, _text(f.message), _text(f.hint)])
        if f.sheet in wb.sheetnames and f.cell:
            cell = wb[f.sheet][f.cell]
            cell.fill = ERROR_FILL if f.is_error else WARNING_FILL
            text = f"[{f.code.code}] {f.message}" + (f"\n处理：{f.hint}" if f.hint else "")
            if cell.comment is not None:
                text = cell.comment.text + "\n" + text
            cell.comment = Comment(_text(text), "pdreport", width=320, height=140)
    for col, width in zip("ABCDEF", (6, 12, 8, 6, 60, 40), strict=True):
        note.column_dimensions[col].width = width
    wb.active = 0
    if COVER in wb.sheetnames:
        wb[COVER].sheet_view.tabSelected = False


def _text(s: str) -> str:
    return clean_text(s, 32000).text


def _stamp(text: str):
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return dt.datetime(2000, 1, 1)
