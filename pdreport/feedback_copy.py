"""A feedback copy (退回修改) built: the office's own workbook with each problem cell marked.

The original is never written to. For .xlsx/.xlsm returns the copy is made from the
file itself (openpyxl); for .xls/.ods, which openpyxl cannot write, a fresh template
is generated and the office's values are put back in, so every office gets an .xlsx.
Which copies a run writes, their names and deadline, and writing them are in ``feedback``:
this module (and openpyxl, ~0.3 s to import) is loaded only where a copy is built: a child
process while the parent writes the other outputs (the parent itself on one core, where it
cannot fork, or for a copy the child could not deliver).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
import zipfile
from copy import copy
from dataclasses import dataclass, replace

from .collect import Collection
from .feedback import COMMENT_AUTHOR, NOTE_COLUMNS, NOTE_HEADER_ROW, NOTE_SHEET, resubmit_deadline
from .findings import Code, Finding
from .intake.clean import clean_text, normalise_name
from .intake.guard import guard_file
from .intake.records import RawSubmission, cell_rowcol, label_bottoms
from .periods import period_span
from .plan.model import chinese_date
from .template import build_layout, render_workbook
from .template.fit import row_height, wrapped_lines
from .template.formats import BODY_FONT, HEADER_FILL, TITLE_FONT
from .template.workbook import BODY_SIZE


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
from openpyxl.cell.cell import MergedCell  # noqa: E402
from openpyxl.comments import Comment  # noqa: E402
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side  # noqa: E402
from openpyxl.utils import get_column_letter  # noqa: E402
from openpyxl.worksheet.page import PageMargins  # noqa: E402

ERROR_FILL = PatternFill("solid", fgColor="FF8080")
WARNING_FILL = PatternFill("solid", fgColor="FFD966")
_THIN = Side(style="thin", color="808080")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="center")
_CENTER = Alignment(wrap_text=True, vertical="center", horizontal="center")


def build_copy(col: Collection, file: str, findings: list[Finding], resubmit_by: dt.date | None = None) -> bytes:
    """The marked copy as .xlsx bytes: the office's own workbook when openpyxl can load and save
    it, otherwise the template rebuilt with the office's values (.xls, .ods, strict OOXML, and any
    workbook openpyxl fails on)."""
    raw = col.raws[file]
    if raw.kind in ("xlsx", "xlsm"):
        wb = _load_own(raw)
        if wb is not None:
            try:
                return _save(col, file, wb, findings, resubmit_by)
            except Exception:  # noqa: BLE001 - openpyxl could not write it back: rebuild
                pass
    return _save(col, file, _rebuilt(col, raw), findings, resubmit_by)


def _save(col: Collection, file: str, wb, findings: list[Finding], resubmit_by: dt.date | None = None) -> bytes:
    raw = col.raws[file]
    # sheets the office renamed (W110) keep their names in its own workbook: findings name them so
    books = {sheet: book for sheet, book in raw.renamed if sheet not in wb.sheetnames and book in wb.sheetnames}
    restored = _restorable_labels(raw, findings, wb, books)
    shown = [restored[i].finding if i in restored else f for i, f in enumerate(findings)]
    if raw.renamed:
        shown = [_in_copy(f, books) for f in shown]
        restored = {i: replace(r, finding=shown[i]) for i, r in restored.items()}
    _clear_marks(wb, col, raw, books)
    _note(wb, col, file, shown, resubmit_by or resubmit_deadline(col.period))
    _mark(wb, shown)
    _restore_labels(wb, list(restored.values()))
    _fit_rows(wb, raw, books)
    return _deterministic(wb)


def _in_copy(f: Finding, books: dict[str, str]) -> Finding:
    """A finding as the copy shows it: on the sheet as the office named it; a rebuilt copy (which
    has the template's names) says that a renamed sheet needs no renaming back there."""
    if f.sheet in books:
        return replace(f, sheet=books[f.sheet])
    if f.code is Code.SHEET_RENAMED:
        return replace(f, hint=f"本副本按下发的填报表重建，工作表名称已是“{f.sheet}”，无需再改")
    return f


FIXED_TIME = (2000, 1, 1, 0, 0, 0)


def _deterministic(wb) -> bytes:
    """Save without the clock: openpyxl stamps the save time into docProps/core.xml and every zip
    member; the same inputs must give the same bytes (re-runs, and the kill test's
    "previous or new, never anything else")."""
    from openpyxl.writer.excel import ExcelWriter

    wb.properties.modified = wb.properties.created = dt.datetime(*FIXED_TIME)
    wb.template = False  # (a return saved as .xltx: the copy is an .xlsx, typed as a workbook)
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


def _blank(col: Collection, raw):
    """The office's template as it was sent out, in openpyxl."""
    plan = col.plan
    layout = build_layout(plan, plan.respondent(raw.tmap.respondent_id), col.period)
    return openpyxl.load_workbook(io.BytesIO(render_workbook(layout, _stamp(raw.tmap.generated_at))))


def _rebuilt(col: Collection, raw):
    wb = _blank(col, raw)
    for rv in raw.values:
        if rv.field.sheet in wb.sheetnames and rv.value not in (None, ""):
            value = rv.value
            cell = wb[rv.field.sheet][rv.field.cell]
            if isinstance(value, str):
                _put_text(cell, value)
            else:
                cell.value = value
    return wb


def _load_own(raw):
    """The office's own workbook in openpyxl, or None when openpyxl cannot use it (strict OOXML
    and other forms calamine reads but openpyxl does not) or must not: openpyxl builds a tree of
    every part, so the file is checked for that first, every part and its nesting (intake checked
    only what calamine reads)."""
    guarded = guard_file(raw.path, for_openpyxl=True)
    if not guarded.ok:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            source = io.BytesIO(guarded.data) if guarded.data is not None else raw.path
            wb = openpyxl.load_workbook(source, keep_vba=False, keep_links=False)
    except Exception:  # noqa: BLE001 - any reader failure: fall back to a rebuilt copy
        return None
    if not {raw.sheet_in_book(rv.field.sheet) for rv in raw.values} & set(wb.sheetnames):
        return None
    return wb


def _note(wb, col: Collection, file: str, findings: list[Finding], resubmit_by: dt.date) -> None:
    """The 退回说明 sheet, first in the copy: what the office is to do, by when, and every problem
    in a bordered table (a note left from an earlier round is replaced)."""
    if NOTE_SHEET in wb.sheetnames:
        del wb[NOTE_SHEET]
    ws = wb.create_sheet(NOTE_SHEET, 0)
    plan, period = col.plan, col.period
    name = plan.respondent(col.raws[file].tmap.respondent_id).name
    errors = sum(f.is_error for f in findings)
    warnings = len(findings) - errors
    send_to = plan.contact.send_to() or "报送。"  # 报送<office>，联系人：…。
    last = len(NOTE_COLUMNS)
    total = sum(w for _, w in NOTE_COLUMNS)
    for i, (_, width) in enumerate(NOTE_COLUMNS, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    lines = (
        (f"{name}{period.label}填报表退回修改说明", Font(name=TITLE_FONT, size=16, bold=True), _CENTER, 16),
        (f"填报单位：{name}    报送期：{period.label}（{period_span(period)}）", None, _WRAP, 11),
        (f"原报送文件：{file}", None, _WRAP, 11),
        (f"一、经校验，本单位报送的填报表有{errors}处错误（红色单元格，相关内容未采用，须修改）"
         + (f"和{warnings}处提醒（黄色单元格，请核实，确无问题的可不修改）" if warnings else "") + "。",
         None, _WRAP, 11),
        ("二、请在本文件各工作表中找到标色单元格（鼠标移到单元格上可看批注），按下表“处理建议”逐项修改；"
         "不要增删行列或改动项目名称，本说明页可以保留。", None, _WRAP, 11),
        (f"三、重新报送期限：{chinese_date(resubmit_by)}。请修改后保存为 .xlsx 格式，于该日期前重新{send_to}",
         Font(name=BODY_FONT, size=11, bold=True), _WRAP, 11),
    )  # fmt: skip
    for row, (text, font, align, size) in enumerate(lines, 1):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last)
        cell = ws.cell(row, 1)
        _put_text(cell, text)
        cell.font, cell.alignment = font or Font(name=BODY_FONT, size=size), align
        ws.row_dimensions[row].height = max(row_height(wrapped_lines(text, total, size), size),
                                            30 if row == 1 else 0)  # fmt: skip

    head_font, body = Font(name=BODY_FONT, size=10, bold=True), Font(name=BODY_FONT, size=10)
    header = PatternFill("solid", fgColor=HEADER_FILL.lstrip("#"))
    for c, (title, _) in enumerate(NOTE_COLUMNS, 1):
        cell = ws.cell(NOTE_HEADER_ROW, c, title)
        cell.font, cell.alignment, cell.border, cell.fill = head_font, _CENTER, _BOX, header
    for n, f in enumerate(findings, 1):
        row = NOTE_HEADER_ROW + n
        values = (str(n), f.sheet, f.cell, f.level.label, f.message, f.hint)
        need = 1
        for c, text in enumerate(values, 1):
            cell = ws.cell(row, c)
            _put_text(cell, text)
            cell.font, cell.border = body, _BOX
            cell.alignment = _WRAP if c > 4 else _CENTER
            need = max(need, wrapped_lines(cell.value, NOTE_COLUMNS[c - 1][1]))
        ws.cell(row, 1).value = n
        ws.cell(row, 4).fill = ERROR_FILL if f.is_error else WARNING_FILL
        ws.row_dimensions[row].height = row_height(max(need, 2))

    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True
    ws.print_title_rows = f"{NOTE_HEADER_ROW}:{NOTE_HEADER_ROW}"
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    wb.active = 0
    for sheet in wb.worksheets[1:]:
        sheet.sheet_view.tabSelected = False


def _mark(wb, findings: list[Finding]) -> None:
    """Each problem cell filled red (error) or yellow (warning), with the problem as a comment."""
    for f in findings:
        if f.sheet not in wb.sheetnames:
            continue
        for ref in (f.cell, f.also):
            if not ref:
                continue
            cell = _writable(wb[f.sheet], ref)
            cell.fill = ERROR_FILL if f.is_error else WARNING_FILL
            text = f"[{f.code.code}] {f.message}" + (f"\n{_HINT}{f.hint}" if f.hint else "")
            if cell.comment is not None:
                text = cell.comment.text + "\n" + text
            cell.comment = Comment(_text(text), COMMENT_AUTHOR, width=320, height=140)


def _writable(ws, ref: str):
    """The cell ``ref`` names, or, when the office merged it into another (E5:E6 merged: E6 is
    covered, and openpyxl cannot give it a comment), the merged range's first cell, which shows."""
    cell = ws[ref]
    if isinstance(cell, MergedCell):
        for rng in ws.merged_cells.ranges:
            if cell.coordinate in rng:
                return ws.cell(rng.min_row, rng.min_col)
    return cell


_HINT = "处理："  # starts the line of a comment after the problem's, saying what to do
_PROBLEM_LINE = re.compile(r"\[[EW]\d{3}\] ")  # "[E201] …": a problem, as _mark and _restore_labels write it
# RGB without the alpha, which Excel and WPS write as FF where openpyxl wrote 00
_MARK_COLOURS = {fill.fgColor.rgb[-6:] for fill in (ERROR_FILL, WARNING_FILL)}


def _clear_marks(wb, col: Collection, raw: RawSubmission, books: dict[str, str]) -> None:
    """Take an earlier round's marks off: a copy sent back still with problems is the workbook the
    next copy is made from, and would otherwise keep a cell the office has put right red with its
    old comment, and repeat the comment of a cell still wrong. The comments pdreport wrote go (what
    the office wrote in them, or had written before the cell was marked, stays), and the cells
    filled red or yellow get the template's fill back, so the copy marks only this round's
    problems. ``books``: {template sheet: the workbook's name for it} for sheets the office renamed."""
    template = None  # (rendered only for a copy that has marks)
    sheets = {book: sheet for sheet, book in books.items()}
    for ws in wb.worksheets:
        if ws.title == NOTE_SHEET:
            continue  # (replaced by _note)
        for cell in list(ws._cells.values()):  # (the cells there are: iter_rows would add empty ones)
            comment = cell.comment
            # (ours by its author, or by its lines: LibreOffice saves a comment without its author)
            if comment is not None and (comment.author == COMMENT_AUTHOR or _PROBLEM_LINE.search(comment.text)):
                kept = _office_part(comment.text)
                cell.comment = Comment(kept, "", comment.height, comment.width) if kept else None
            if not _marked(cell.fill):
                continue
            if template is None:
                template = _blank(col, raw)
            sheet = sheets.get(ws.title, ws.title)
            was = template[sheet][cell.coordinate].fill if sheet in template.sheetnames else None
            cell.fill = copy(was) if was is not None else PatternFill()


def _marked(fill) -> bool:
    rgb = fill.fgColor.rgb if fill.fill_type == "solid" else None
    return isinstance(rgb, str) and rgb[-6:].upper() in _MARK_COLOURS  # (a theme colour has no rgb)


def _office_part(text: str) -> str:
    """A comment pdreport wrote, without the problems it listed: the lines the office wrote (a
    comment of its own that a mark was added to, or its answer to the mark)."""
    kept, after_problem = [], False
    for line in text.split("\n"):
        if _PROBLEM_LINE.match(line):
            after_problem = True
        elif not (after_problem and line.startswith(_HINT)):
            after_problem = False
            kept.append(line)
    return "\n".join(kept).strip()


DEFAULT_COLUMN_WIDTH = 8.43  # Excel's, for a column the sheet gives no width
DEFAULT_ROW_HEIGHT = 15  # points: Excel's for 11 pt text, for a row the sheet gives no height
PIXEL = 0.75  # points: xlsxwriter, Excel and WPS round a row's height to whole pixels


def _fit_rows(wb, raw: RawSubmission, books: dict[str, str]) -> None:
    """The rows of the office's input cells made tall enough for the text typed in them (as
    ``fit`` estimates it, over the column widths the sheet has): the template leaves room for a
    few lines, the office may have typed many more (主要进展 takes 2,000 characters), and neither
    Excel nor WPS fits a row when a file is opened, so the copy would cut off the text it asks the
    office to check. Rows are never made lower (what the template or the office set stays), and
    at most Excel's 409 pt, which shows about 25 lines of 11 pt text. ``books``: {template sheet:
    the workbook's name for it} for sheets the office renamed."""
    need: dict[str, dict[int, float]] = {}  # sheet → row → points
    widths: dict[str, tuple[dict[int, float], float, dict]] = {}  # sheet → columns, default, merges
    for rv in raw.values:
        sheet = books.get(rv.field.sheet, rv.field.sheet)
        if sheet not in wb.sheetnames:
            continue
        ws = wb[sheet]
        cell = ws[rv.field.cell]
        if cell.data_type != "s" or not isinstance(cell.value, str) or not cell.alignment.wrap_text:
            continue  # (text that does not wrap runs on into the cells beside it)
        if sheet not in widths:
            spans = {(m.min_row, m.min_col): m for m in ws.merged_cells.ranges}
            default_width = ws.sheet_format.defaultColWidth or DEFAULT_COLUMN_WIDTH
            widths[sheet] = (_column_widths(ws), default_width, spans)
        columns, default_width, spans = widths[sheet]
        m = spans.get((cell.row, cell.column))
        if m is not None and m.max_row > m.min_row:
            continue  # (a cell over several rows: its height is theirs together, left as it is)
        cols = range(m.min_col, m.max_col + 1) if m else (cell.column,)
        width = sum(columns.get(c, default_width) for c in cols)
        size = cell.font.sz or BODY_SIZE
        lines = wrapped_lines(cell.value, width, size)
        if lines > 1:
            rows = need.setdefault(sheet, {})
            rows[cell.row] = max(rows.get(cell.row, 0), row_height(lines, size))
    for sheet, rows in need.items():
        ws = wb[sheet]
        default_height = ws.sheet_format.defaultRowHeight or DEFAULT_ROW_HEIGHT
        for row, height in sorted(rows.items()):
            now = ws.row_dimensions[row].height if row in ws.row_dimensions else None
            if height > (now or default_height) + PIXEL:
                ws.row_dimensions[row].height = height


def _column_widths(ws) -> dict[int, float]:
    """1-based column → width as the sheet stores it (openpyxl keys a run of equal columns by its
    first one)."""
    widths: dict[int, float] = {}
    for dim in ws.column_dimensions.values():
        if dim.width and dim.min:
            for c in range(dim.min, (dim.max or dim.min) + 1):
                widths[c] = dim.width
    return widths


@dataclass(frozen=True)
class _Restored:
    """An edited label (E208) put back as the template had it, and the inputs it heads, whose
    values were not taken in: the office checks them instead of refilling a blank template."""

    finding: Finding  # as the copy shows it: what the office made of the label, what to do
    text: str  # the template's label
    what: str  # 项目名称 / 表头 / 序号 …, as the office would call it
    inputs: tuple[str, ...]  # A1 of the row's (and column's) input cells, in sheet order


def _restorable_labels(raw: RawSubmission, findings: list[Finding], wb,
                       books: dict[str, str] | None = None) -> dict[int, _Restored]:  # fmt: skip
    """The E208 findings (by index) whose label can be put back in the copy. Only where nothing
    moved: on a sheet where a row or column was inserted or deleted, the values no longer stand
    by the labels they were typed for, and restoring the labels would mislabel them; there the
    copy keeps what the office left and the general advice. A sheet counts as moved when its
    table's bottom label changed (as intake judges it) or when a changed label now reads as
    another label of the sheet (the rows or columns shifted). ``books``: {template sheet: the
    workbook's name for it} for sheets the office renamed."""
    changed = {i: f for i, f in enumerate(findings) if f.code is Code.LABEL_CHANGED and f.label}
    if not changed:
        return {}
    labels = {(lb.sheet, lb.cell): (lb, seen) for lb, seen in raw.labels_seen}
    texts: dict[str, set[str]] = {}
    for lb, _seen in raw.labels_seen:
        texts.setdefault(lb.sheet, set()).add(normalise_name(lb.text))
    bottoms = label_bottoms(lb for lb, _seen in raw.labels_seen)
    moved: set[str] = set()
    for f in changed.values():
        lb, seen = labels.get((f.sheet, f.cell), (None, None))
        if lb is None or lb.text != f.label:
            moved.add(f.sheet)  # (not the map's label: nothing known to put back)
            continue
        now = normalise_name(clean_text(seen, 500).text) if seen is not None else ""
        if cell_rowcol(lb.cell)[0] == bottoms[lb.sheet] or (now and now in texts[lb.sheet]):
            moved.add(lb.sheet)
    rows: dict[tuple[str, int], list[str]] = {}
    cols: dict[tuple[str, int], list[str]] = {}
    for rv in sorted(raw.values, key=lambda rv: cell_rowcol(rv.field.cell)):
        r, c = cell_rowcol(rv.field.cell)
        rows.setdefault((rv.field.sheet, r), []).append(rv.field.cell)
        cols.setdefault((rv.field.sheet, c), []).append(rv.field.cell)
    restored = {}
    for i, f in changed.items():
        book = books.get(f.sheet, f.sheet) if books else f.sheet
        if f.sheet in moved or book not in wb.sheetnames or not hasattr(wb[book][f.cell], "column_letter"):
            continue  # (a merged cell's hidden part cannot hold the label)
        lb, seen = labels[(f.sheet, f.cell)]
        r, c = cell_rowcol(f.cell)
        in_row, in_col = rows.get((f.sheet, r), []), cols.get((f.sheet, c), [])
        scope = "本行和本列" if in_row and in_col else "本行" if in_row else "本列" if in_col else ""
        what = "序号" if lb.text.isdigit() else "项目名称" if in_row else "表头" if in_col else "表中文字"
        was = clean_text(seen, 60).text.strip() if seen is not None else ""
        was = f"被改为“{was}”" if was else "被清空"
        if scope:
            inputs = tuple(dict.fromkeys(in_row + in_col))
            message = f"报送的表中此处{was}（下发时为“{lb.text}”），{scope}填报内容未采用"
            hint = (f"{what}已恢复为下发时的“{lb.text}”；请核对{scope}数据（{_cells(inputs)}，已标红），"
                    "确认无误或改正后重新报送")  # fmt: skip
        else:
            inputs = ()
            message = f"报送的表中此处{was}（下发时为“{lb.text}”）"
            hint = f"{what}已恢复为下发时的“{lb.text}”，无需再改；随本表重新报送即可"
        restored[i] = _Restored(replace(f, message=message, hint=hint), lb.text, what, inputs)
    return restored


def _cells(cells: tuple[str, ...]) -> str:
    """A few cells by name (C6、D6), many as the first and last and how many."""
    if len(cells) <= 4:
        return "、".join(cells)
    return f"{cells[0]}～{cells[-1]}共 {len(cells)} 个单元格"


def _restore_labels(wb, restored: list[_Restored]) -> None:
    """The template's label back in its cell (the finding's comment, written by ``_mark``, says
    so), and every input it heads marked for the office to confirm."""
    heads: dict[tuple[str, str], list[str]] = {}  # input → what was restored over it
    for r in restored:
        f = r.finding
        cell = wb[f.sheet][f.cell]
        if r.text.isdigit():  # a task number: the template writes it as a number
            cell.value = int(r.text)
        else:
            _put_text(cell, r.text)
        row = cell_rowcol(f.cell)[0]
        for a1 in r.inputs:
            scope = "本行" if cell_rowcol(a1)[0] == row else "本列"
            heads.setdefault((f.sheet, a1), []).append(
                f"{scope}{r.what}（{f.cell}）曾被改动，已恢复为下发时的“{r.text}”")
    for (sheet, a1), why in heads.items():
        cell = wb[sheet][a1]
        if not hasattr(cell, "column_letter"):  # (a merged cell's hidden part)
            continue
        cell.fill = ERROR_FILL
        text = (f"[{Code.LABEL_CHANGED.code}] " + "；".join(why) + "；此格内容因此未采用"
                f"\n{_HINT}请核对此格，确认无误或改正后重新报送")  # fmt: skip
        if cell.comment is not None:
            text = cell.comment.text + "\n" + text
        cell.comment = Comment(_text(text), COMMENT_AUTHOR, width=320, height=120)


def _put_text(cell, value: str) -> None:
    """Text from a workbook into an openpyxl cell: cleaned, and typed as text, so that "=…" is never
    a formula."""
    cell.value = _text(value)
    cell.data_type = "s"


def _text(s: str) -> str:
    return clean_text(s, 32000).text


def _stamp(text: str):
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return dt.datetime(2000, 1, 1)
