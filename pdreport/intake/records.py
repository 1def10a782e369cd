"""Records: what a returned workbook says, raw (cell values by field) and typed.

``extract`` pulls the raw value of every mapped field; ``validate.py`` turns a
``RawSubmission`` into a typed ``Submission`` plus findings. Later stages only see
typed records, each carrying its ``Source`` (file, sheet, cell) for traceability.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlsxwriter.utility import xl_cell_to_rowcol

from ..template.layout import Field, LabelCell
from ..template.metadata import TemplateMap
from .read import Workbook


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
    computed: dict[tuple[str, str], str] = field(default_factory=dict)


def extract(wb: Workbook, tmap: TemplateMap, file: str, kind: str, mtime: float) -> RawSubmission:
    def at(sheet: str, a1: str) -> Any:
        if not wb.has(sheet):
            return None  # the sheet is gone: reported by validation
        row, col = cell_rowcol(a1)
        return wb.value(sheet, row, col)

    values = [RawValue(f, at(f.sheet, f.cell)) for f in tmap.fields]
    labels = [(lb, at(lb.sheet, lb.cell)) for lb in tmap.labels]
    return RawSubmission(file, wb.path, kind, mtime, tmap, values, labels)


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

    def recency_key(self) -> tuple:
        """Which of several returns of one respondent counts: the latest 填报日期, then file time,
        then file name (so the choice never depends on the order files were read in)."""
        return (self.filled_on or dt.date(1900, 1, 1), self.mtime, self.file)
