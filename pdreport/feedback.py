"""Feedback copies (退回修改): the office's own workbook with each problem cell marked.

The original is never written to. For .xlsx/.xlsm returns the copy is made from the
file itself (openpyxl); for .xls/.ods, which openpyxl cannot write, a fresh template
is generated and the office's values are put back in, so every office gets an .xlsx.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

from .collect import Collection
from .findings import Finding
from .intake.clean import clean_text
from .outputs import atomic_write_bytes
from .template import build_layout, render_workbook
from .template.layout import COVER


def _import_openpyxl():
    """openpyxl, imported without numpy when numpy is not loaded yet: openpyxl only imports it to
    recognise numpy numbers, which feedback copies never hold, and it is most of the import time."""
    import sys

    if "openpyxl" in sys.modules or "numpy" in sys.modules:
        import openpyxl
    else:
        sys.modules["numpy"] = None  # type: ignore[assignment] - makes "import numpy" fail at once
        try:
            import openpyxl
        finally:
            if sys.modules.get("numpy", 0) is None:
                del sys.modules["numpy"]
    return openpyxl


openpyxl = _import_openpyxl()
from openpyxl.comments import Comment  # noqa: E402
from openpyxl.styles import PatternFill  # noqa: E402

FEEDBACK_DIR = "退回修改"
ERROR_FILL = PatternFill("solid", fgColor="FF8080")
WARNING_FILL = PatternFill("solid", fgColor="FFD966")
NOTE_SHEET = "退回说明"


def feedback_name(respondent_name: str) -> str:
    return f"{respondent_name}_退回修改.xlsx"


def write_feedback(col: Collection, out_dir: Path,
                   write: Callable[[Path, bytes], Path] = atomic_write_bytes) -> list[Path]:  # fmt: skip
    """One copy per respondent whose accepted return has errors; returns the paths written
    (``write`` may stage them instead, see ``outputs.OutputStage``)."""
    written = []
    for rid, sub in sorted(col.submissions.items()):
        if not sub.has_errors:
            continue
        findings = col.findings_for(sub.file)
        data = build_copy(col, sub.file, findings)
        name = col.plan.respondent(rid).name
        written.append(write(Path(out_dir) / FEEDBACK_DIR / feedback_name(name), data))
    return written


def build_copy(col: Collection, file: str, findings: list[Finding]) -> bytes:
    """The marked copy as .xlsx bytes: the office's own workbook when openpyxl can load and save
    it, otherwise the template rebuilt with the office's values (.xls, .ods, strict OOXML, and any
    workbook openpyxl fails on)."""
    raw = col.raws[file]
    if raw.kind in ("xlsx", "xlsm"):
        wb = _load_own(raw)
        if wb is not None:
            try:
                return _save(wb, findings)
            except Exception:  # noqa: BLE001 - openpyxl could not write it back: rebuild
                pass
    return _save(_rebuilt(col, raw), findings)


def _save(wb, findings: list[Finding]) -> bytes:
    _mark(wb, findings)
    return _deterministic(wb)


FIXED_TIME = (2000, 1, 1, 0, 0, 0)


def _deterministic(wb) -> bytes:
    """Save without the clock: openpyxl stamps the save time into docProps/core.xml and every zip
    member; the same inputs must give the same bytes (re-runs, and the kill test's
    "previous or new, never anything else")."""
    from openpyxl.writer.excel import ExcelWriter

    wb.properties.modified = wb.properties.created = dt.datetime(*FIXED_TIME)
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            fixed = zipfile.ZipInfo(info.filename, FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            zout.writestr(fixed, zin.read(info.filename))
    return out.getvalue()


def _rebuilt(col: Collection, raw):
    plan = col.plan
    layout = build_layout(plan, plan.respondent(raw.tmap.respondent_id), col.period)
    blank = render_workbook(layout, _stamp(raw.tmap.generated_at))
    wb = openpyxl.load_workbook(io.BytesIO(blank))
    for rv in raw.values:
        if rv.field.sheet in wb.sheetnames and rv.value not in (None, ""):
            value = rv.value
            cell = wb[rv.field.sheet][rv.field.cell]
            if isinstance(value, str):
                cell.value = clean_text(value, 32000).text
                cell.data_type = "s"  # typed text stays text: "=…" is never a formula here
            else:
                cell.value = value
    return wb


def _load_own(raw):
    """The office's own workbook in openpyxl, or None when openpyxl cannot use it (strict OOXML
    and other forms calamine reads but openpyxl does not)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(raw.path, keep_vba=False, keep_links=False)
    except Exception:  # noqa: BLE001 - any reader failure: fall back to a rebuilt copy
        return None
    if not {rv.field.sheet for rv in raw.values} & set(wb.sheetnames):
        return None
    return wb


def _mark(wb, findings: list[Finding]) -> None:
    note = wb.create_sheet(NOTE_SHEET, 0)
    note.append(["序号", "工作表", "单元格", "级别", "问题说明", "处理建议"])
    for n, f in enumerate(findings, 1):
        note.append([n, _text(f.sheet), _text(f.cell), f.level.label, _text(f.message), _text(f.hint)])
        for cell in note[note.max_row][1:]:
            cell.data_type = "s"  # never a formula, whatever the text starts with
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
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return dt.datetime(2000, 1, 1)
