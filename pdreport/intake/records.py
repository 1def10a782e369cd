"""Records: what a returned workbook says, raw (cell values by field) and typed.

``extract`` pulls the raw value of every mapped field; ``validate.py`` turns a
``RawSubmission`` into a typed ``Submission`` plus findings. Later stages only see
typed records, each carrying its ``Source`` (file, sheet, cell) for traceability.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell

from ..template.layout import (
    ANNEX,
    COVER,
    FEEDBACK_NOTE,
    FEEDBACK_WORD,
    INDICATORS,
    META,
    SIGNATURE_LEAD,
    TABLE_WIDTHS,
    TASKS,
    Field,
    LabelCell,
)
from ..template.metadata import TemplateMap
from .clean import clean_text, is_blank, normalise_name
from .read import Computed, ReadError, Workbook


@dataclass(frozen=True)
class Source:
    file: str
    sheet: str = ""
    cell: str = ""

    def __str__(self) -> str:
        return "!".join(p for p in (self.file, self.sheet, self.cell) if p)


@dataclass(frozen=True)
class RawValue:
    field: Field
    value: Any  # as the reader returned it


@dataclass
class RawSubmission:
    file: str  # relative to the input folder
    path: Path
    kind: str  # xlsx / xls / ods …
    mtime: float
    tmap: TemplateMap
    values: list[RawValue]
    labels_seen: list[tuple[LabelCell, Any]]  # each mapped label and what the cell holds now
    # (sheet, cell) of an empty-looking required input → "" a formula with no saved result, or the
    # error value it shows ("#DIV/0!"): said as such instead of "not filled in"
    computed: dict[tuple[str, str], Computed] = field(default_factory=dict)
    # (sheet, cell) of an empty-looking required input inside a range the office merged, not its
    # first cell → that range ("E5:E8"): what shows there is the first cell's
    merged: dict[tuple[str, str], str] = field(default_factory=dict)
    # (sheet, cell) of a % figure read as a fraction (0 < |v| ≤ 1) whose cell shows it as a
    # percentage: "2.5%" typed there reads as 0.025
    percent: set[tuple[str, str]] = field(default_factory=set)
    # rows typed below a table (its last field or label) or to the right of it, one ``Stray`` a
    # row, at most ``MAX_STRAY_ROWS`` a sheet; nothing there is read
    stray: list[Stray] = field(default_factory=list)
    sheet_names: tuple[str, ...] = ()  # as the workbook has them (a renamed sheet shows here)
    # (template sheet, the workbook's sheet read as it) for each sheet the office renamed and
    # ``renamed_sheets`` found again; values, labels and stray rows were read from there
    renamed: tuple[tuple[str, str], ...] = ()

    def sheet_in_book(self, sheet: str) -> str:
        """The name the workbook gives the template's ``sheet`` (renamed or not)."""
        for template_sheet, name in self.renamed:
            if template_sheet == sheet:
                return name
        return sheet


class Stray(NamedTuple):
    """A row with something typed outside a table: the row's most telling cell (its longest text,
    such as an added indicator's name rather than its 序号) and what it holds."""

    sheet: str
    cell: str  # A1
    value: Any
    beside: bool = False  # to the right of the table, in one of its rows (else below it)
    added: bool = False  # on a sheet the office added (its first filled row): no table there


MAX_STRAY_ROWS = 20


def is_correction(raw: RawSubmission) -> bool:
    """Whether the return is a 退回修改 copy the office corrected and sent back: it still holds the
    退回说明 sheet pdreport put first in the copy, or (the office may delete that sheet) its file is
    still named as the copy was ("区科经委_退回修改.xlsx", however renamed around that word)."""
    name = raw.file.replace("\\", "/").rsplit("/", 1)[-1]
    return FEEDBACK_NOTE in raw.sheet_names or FEEDBACK_WORD in name


def extract(wb: Workbook, tmap: TemplateMap, file: str, kind: str, mtime: float) -> RawSubmission:
    grids: dict[str, list[list[Any]] | None] = {}  # (each sheet looked up once, not per cell)
    renamed: dict[str, str] | None = None  # looked for only once a mapped sheet is not there

    def book_name(sheet: str) -> str | None:  # a mapped sheet the workbook has not by that name
        nonlocal renamed
        if renamed is None:
            renamed = renamed_sheets(wb, tmap)
        return renamed.get(sheet)

    def at(sheet: str, a1: str) -> Any:
        grid = grids.get(sheet, _UNSEEN)
        if grid is _UNSEEN:
            name = sheet if wb.has(sheet) else book_name(sheet)
            grid = grids[sheet] = wb.grid(name) if name is not None else None
        if grid is None:
            return None  # the sheet is gone: reported by validation
        row, col = cell_rowcol(a1)
        return grid[row][col] if row < len(grid) and col < len(grid[row]) else ""

    values = [RawValue(f, at(f.sheet, f.cell)) for f in tmap.fields]
    labels = [(lb, at(lb.sheet, lb.cell)) for lb in tmap.labels]
    stray = []
    for sheet, bottom, width in table_extents(tmap.fields, tmap.labels):
        name = sheet if wb.has(sheet) else book_name(sheet)
        if name is not None:
            grid = wb.grid(name)
            stray += (rows_beside(grid, sheet, bottom, width) + rows_below(grid, sheet, bottom))[:MAX_STRAY_ROWS]
    if None not in grids.values():  # (every mapped sheet was found, as read above)
        # (with a sheet missing, E109 asks for the template to be filled again: nothing more to say)
        stray += added_sheets(wb, set(renamed.values()) if renamed else set())
    return RawSubmission(file, wb.path, kind, mtime, tmap, values, labels, stray=stray,
                         sheet_names=tuple(wb.sheet_names),
                         renamed=tuple(sorted(renamed.items())) if renamed else ())  # fmt: skip


# the template's own sheet names (and the feedback copy's note): never another sheet renamed
TEMPLATE_SHEETS = frozenset((COVER, INDICATORS, ANNEX, TASKS, META, FEEDBACK_NOTE))


def renamed_sheets(wb: Workbook, tmap: TemplateMap) -> dict[str, str]:
    """{template sheet: the workbook's sheet to read as it} for mapped sheets the workbook does not
    have by name (only called then: a return whose sheets are all there never comes here).

    A sheet whose name differs only in white space ("指标 ", full-width spaces too) is that sheet.
    Otherwise a sheet the template does not have is taken for the missing one only when it is the
    one candidate whose locked labels (those E208 checks) mostly read as the template wrote them
    (at least half, and that sheet fits no other missing sheet): a sheet renamed "任务" or
    "Sheet2" is read, one the office made itself is never read as the template's. Validation then
    checks every label as usual, and says the sheet was renamed (W110)."""
    labels: dict[str, list[LabelCell]] = {}
    for f in tmap.fields:
        labels.setdefault(f.sheet, [])
    for lb in tmap.labels:
        labels.setdefault(lb.sheet, []).append(lb)
    missing = [s for s in labels if not wb.has(s)]
    spare = [n for n in wb.sheet_names if n not in labels and n not in TEMPLATE_SHEETS]
    found: dict[str, str] = {}
    for sheet in missing:
        same = [n for n in spare if normalise_name(n) == normalise_name(sheet)]
        if len(same) == 1:
            found[sheet] = same[0]
    spare = [n for n in spare if n not in found.values()]
    fits = {s: [n for n in spare if _labels_fit(wb, n, labels[s])] for s in missing if s not in found}
    for sheet, names in fits.items():
        if len(names) == 1 and sum(names[0] in other for other in fits.values()) == 1:
            found[sheet] = names[0]
    return found


def _labels_fit(wb: Workbook, name: str, labels: list[LabelCell]) -> bool:
    """Whether at least half of a sheet's labels (and at least one) read as written on ``name``."""
    if not labels:
        return False
    try:
        grid = wb.grid(name)
    except ReadError:  # (a chart sheet, or one calamine cannot read: not the template's)
        return False
    same = 0
    for lb in labels:
        row, col = cell_rowcol(lb.cell)
        seen = grid[row][col] if row < len(grid) and col < len(grid[row]) else ""
        same += label_unchanged(seen, lb.text)
    return 2 * same >= len(labels)


def label_unchanged(seen: Any, text: str) -> bool:
    """Whether a label cell still reads as the template wrote ``text`` (E208 when not): exactly
    (a task number reads back as a float), or the same name after cleaning and normalising."""
    if seen == text or (type(seen) is float and seen.is_integer() and str(int(seen)) == text):
        return True
    return normalise_name(clean_text(seen, 500).text) == normalise_name(text)


_UNSEEN: Any = object()


def added_sheets(wb: Workbook, read_as_template: set[str]) -> list[Stray]:
    """The first filled row of each visible sheet the office added (a 补充说明 sheet): nothing there
    is read, which the office is told. A return with only the template's sheets (the usual case)
    reads nothing more; hidden sheets (a program's own) and chart sheets are passed over."""
    found = []
    for name in wb.sheet_names:
        if (name in TEMPLATE_SHEETS or name in read_as_template
                or wb.visibility.get(name, "visible") != "visible"):  # fmt: skip
            continue
        try:
            first = wb.first_filled_row(name)
        except ReadError:  # (a chart sheet, or one calamine cannot read)
            continue
        filled = [(c, v) for c, v in first[1] if not is_blank(v)] if first else []
        if filled:
            found.append(_stray(name, first[0], filled, beside=False)._replace(added=True))
        if len(found) >= MAX_STRAY_ROWS:
            break
    return found


def rows_below(grid: list[list[Any]], sheet: str, bottom: int) -> list[Stray]:
    """The filled rows of ``grid`` after row index ``bottom``, except the template's own signature
    line (a formula, so only filled once recalculated; in an .xls LibreOffice saved from a blank
    template its text result reads as a lone 0)."""
    found = []
    for r in range(bottom + 1, len(grid)):
        row = grid[r]
        first = row[0] if row else ""
        if isinstance(first, str) and first.startswith(SIGNATURE_LEAD):
            continue
        filled = [(c, v) for c, v in enumerate(row) if v != "" and not is_blank(v)]
        if filled == [(0, 0.0)]:
            continue
        if filled:
            found.append(_stray(sheet, r, filled, beside=False))
            if len(found) >= MAX_STRAY_ROWS:
                break
    return found


def rows_beside(grid: list[list[Any]], sheet: str, bottom: int, width: int) -> list[Stray]:
    """The rows down to ``bottom`` with something typed right of column index ``width - 1``.
    A row the reader gives no wider than the table holds nothing there: the usual case (nothing
    right of any table) is one pass of ``len`` in C."""
    rows = grid[:bottom + 1]
    if not rows or max(map(len, rows)) <= width:
        return []
    found = []
    for r, row in enumerate(rows):
        if len(row) <= width:
            continue
        filled = [(c, v) for c, v in enumerate(row[width:], width) if v != "" and not is_blank(v)]
        if filled:
            found.append(_stray(sheet, r, filled, beside=True))
            if len(found) >= MAX_STRAY_ROWS:
                break
    return found


def _stray(sheet: str, row: int, filled: list[tuple[int, Any]], beside: bool) -> Stray:
    """The row's most telling cell: its longest text that is not a number (a name, a note), else
    its first filled cell (a 序号 or a figure alone)."""
    words = [(c, v) for c, v in filled if isinstance(v, str) and not _NUMERAL.fullmatch(v.strip())]
    col, value = max(words, key=lambda cv: len(cv[1].strip())) if words else filled[0]
    return Stray(sheet, xl_rowcol_to_cell(row, col), value, beside)


_NUMERAL = re.compile(r"[-+]?[0-9.,%]*")


def label_bottoms(labels: Iterable[LabelCell]) -> dict[str, int]:
    """{sheet: row index of its last label}: a table's bottom row. When the label there no longer
    reads as the template wrote it, rows were inserted or deleted above it (validation's E208,
    and why a feedback copy does not put labels back on that sheet)."""
    bottoms: dict[str, int] = {}
    for lb in labels:
        bottoms[lb.sheet] = max(bottoms.get(lb.sheet, 0), cell_rowcol(lb.cell)[0])
    return bottoms


_EXTENTS: dict[int, tuple[tuple, list[tuple[str, int, int]]]] = {}


def table_extents(fields: tuple[Field, ...], labels: tuple[LabelCell, ...]) -> list[tuple[str, int, int]]:
    """(sheet, row index of its last field or label, columns its table spans) for each sheet
    holding a table: every sheet with a field other than the cover's header (the cover has
    instructions below its fields). Remembered per map (every return of one layout shares the
    same tuples)."""
    hit = _EXTENTS.get(id(fields))
    if hit is not None and hit[0] is fields:
        return hit[1]
    tables = {f.sheet for f in fields if f.ref != "header"}
    bottoms: dict[str, int] = {}
    widths: dict[str, int] = {}
    for cell in (*fields, *labels):
        if cell.sheet in tables:
            row, col = cell_rowcol(cell.cell)
            bottoms[cell.sheet] = max(bottoms.get(cell.sheet, 0), row)
            widths[cell.sheet] = max(widths.get(cell.sheet, TABLE_WIDTHS.get(cell.sheet, 0)), col + 1)
    result = [(sheet, bottom, widths[sheet]) for sheet, bottom in sorted(bottoms.items())]
    if len(_EXTENTS) > 512:
        _EXTENTS.clear()
    _EXTENTS[id(fields)] = (fields, result)
    return result


@functools.lru_cache(maxsize=8192)
def cell_rowcol(a1: str) -> tuple[int, int]:
    """``xl_cell_to_rowcol``, remembered (every return of a layout names the same cells)."""
    return xl_cell_to_rowcol(a1)


# -- typed records ------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A number reported for an indicator (already normalised to the indicator's unit)."""

    respondent: str
    indicator: str
    value: float
    note: str
    source: Source
    # why the figure is too large to be believed (W205: another unit, an extra digit), or "": taken
    # in as typed, but the assessment does not judge the indicator on it
    doubt: str = ""


@dataclass(frozen=True)
class MilestoneReport:
    respondent: str
    indicator: str
    done: bool
    date: dt.date | None
    note: str
    source: Source


@dataclass(frozen=True)
class TaskReport:
    respondent: str
    task: int
    status: str  # one of the template's statuses, or "" when not given
    progress: str
    problems: str
    next_steps: str
    source: Source
    status_invalid: bool = False  # a status was typed, not one of the choices (E209): not "not given"

    @property
    def no_status(self) -> str:
        """What stands for a status not taken in: typed wrong, or none chosen."""
        return "状态填写有误" if self.status_invalid else "未选状态"


SUM_DECIMALS = 6  # figures are added up to this many places (assess), and annex figures checked so (validate)


@dataclass(frozen=True)
class AnnexReport:
    respondent: str
    energy_base: float | None
    energy_current: float | None
    output_base: float | None
    output_current: float | None
    note: str
    source: Source


@dataclass
class Submission:
    """One accepted workbook of one respondent, typed."""

    respondent: str
    file: str
    kind: str
    period: str
    template_version: str
    mtime: float
    filler: str = ""
    phone: str = ""
    reviewer: str = ""
    filled_on: dt.date | None = None
    figures: list[Figure] = field(default_factory=list)
    milestones: list[MilestoneReport] = field(default_factory=list)
    tasks: list[TaskReport] = field(default_factory=list)
    annex: AnnexReport | None = None
    has_errors: bool = False
    correction: bool = False  # a corrected 退回修改 copy sent back (``is_correction``)
    # the earliest usable 填报日期 among the respondent's returns of the period, superseded ones
    # included (set by collect on the return it keeps): 是否按时 is judged by the first return
    first_filled_on: dt.date | None = None
    named_other: str = ""  # the other office the file's name names (W113): ranked below the rest
    blank: bool = False  # nothing typed in any of its cells (E114): the template as sent out


def newest_last(subs: Iterable[Submission]) -> list[Submission]:
    """Several returns of one respondent, the one that counts last: by 填报日期, then file time,
    then file name (so the choice never depends on the order files were read in). When any of them
    has no usable 填报日期 (mistyped or unreadable), dates cannot compare them all, and file time
    decides alone: a corrected copy whose date went wrong still beats the draft it replaces. On the
    same 填报日期 a corrected 退回修改 copy beats an ordinary return whatever the file times (it was
    made from an earlier return; copying a folder can make the original look newer). A return whose
    file is named for another office (W113: likely that office's figures on this one's form) counts
    only when the office sent nothing else."""
    subs = list(subs)
    if all(s.filled_on is not None for s in subs):
        return sorted(subs, key=lambda s: (not s.named_other, s.filled_on, s.correction, s.mtime, s.file))
    return sorted(subs, key=lambda s: (not s.named_other, s.mtime, s.file))
