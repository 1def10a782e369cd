"""Read cell values with python-calamine (.xlsx/.xlsm/.xls/.ods), anchored at A1.

Calamine gives numbers as floats and dates as ``datetime`` values; this module is the one place
that knows that. Formulas are never evaluated: only cached values are read. The one exception to
calamine: an .xlsx holding a number calamine cannot turn into a date is read with openpyxl (read
only, cached values), which gives the same grid with that cell as ``#VALUE!``.
"""

from __future__ import annotations

import io
import os
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from python_calamine import CalamineWorkbook

MAX_GRID_ROWS = 5000  # templates are small; a bigger used range is not ours to read whole
MAX_GRID_COLS = 200


class ReadError(Exception):
    """The file could not be read as a workbook; ``str()`` is a Chinese reason."""


@dataclass
class Workbook:
    path: Path
    sheet_names: list[str]
    visibility: dict[str, str]
    _book: Any = field(repr=False, default=None)
    _grids: dict[str, list[list[Any]]] = field(default_factory=dict, repr=False)
    engine: str = "calamine"

    def has(self, name: str) -> bool:
        return name in self.sheet_names

    def grid(self, name: str) -> list[list[Any]]:
        """Rows of values with row 0 / column 0 being A1; '' for empty cells."""
        if name not in self._grids and self.engine == "openpyxl":
            self._grids[name] = _openpyxl_grid(self._book, name)
        if name not in self._grids:
            try:
                sheet = self._book.get_sheet_by_name(name)
                # skip_empty_area=False anchors the rows at A1 (the default starts at the first used cell)
                rows = sheet.to_python(skip_empty_area=False, nrows=MAX_GRID_ROWS)
            except BaseException as exc:  # calamine raises its own types, and panics (BaseException)
                _reraise_interrupts(exc)
                if "out of bounds" in str(exc) or "TimeDelta" in str(exc):
                    raise ReadError(f"工作表“{name}”中有超出范围的日期（如日期格中填了过大的数字），"
                                    "无法读取") from None  # fmt: skip
                raise ReadError(f"工作表“{name}”的内部结构已损坏，无法读取") from None
            rows = [row[:MAX_GRID_COLS] for row in rows]
            self._grids[name] = rows
        return self._grids[name]

    def first_filled_row(self, name: str, most_cells: int = 20_000) -> tuple[int, list[tuple[int, Any]]] | None:
        """The first row of a sheet with anything in it, as (row, [(column, value), …]) anchored at
        A1, or None: for a sheet only glanced at (one the office added). Unlike ``grid`` nothing is
        built from A1 nor kept, and at most ``most_cells`` cells are looked at: an added sheet with
        one cell at ALL3999 would otherwise cost a 4,000,000-cell grid (and 200 such sheets, minutes)."""
        if self.engine != "calamine":
            grid = self.grid(name)
            return next(((r, filled) for r, row in enumerate(grid)
                         if (filled := [(c, v) for c, v in enumerate(row) if v != ""])), None)  # fmt: skip
        try:
            sheet = self._book.get_sheet_by_name(name)
            start = sheet.start
            if start is None:
                return None
            # the used area from its first row and column (to_python's default), no more rows of it
            # than hold ``most_cells``
            rows = sheet.to_python(nrows=max(1, most_cells // max(1, sheet.width)))
            for i, row in enumerate(rows):
                filled = [(start[1] + c, v) for c, v in enumerate(row) if v != ""]
                if filled:
                    return start[0] + i, filled
        except BaseException as exc:  # calamine raises its own types, and panics (BaseException)
            _reraise_interrupts(exc)
            raise ReadError(f"工作表“{name}”的内部结构已损坏，无法读取") from None
        return None

    def merged_ranges(self, name: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """The sheet's merged ranges as ((first row, first column), (last row, last column)),
        0-based; [] where the reader does not give them (openpyxl read-only, an older calamine)."""
        if self.engine != "calamine":
            return []
        try:
            return list(getattr(self._book.get_sheet_by_name(name), "merged_cell_ranges", None) or [])
        except BaseException as exc:  # (only a better message is at stake)
            _reraise_interrupts(exc)
            return []

    def value(self, name: str, row: int, col: int) -> Any:
        grid = self.grid(name)
        if row < len(grid) and col < len(grid[row]):
            return grid[row][col]
        return ""


def _reraise_interrupts(exc: BaseException) -> None:
    """A Rust panic inside calamine arrives as ``pyo3_runtime.PanicException``, a BaseException:
    it is a fact about the file; Ctrl-C and exit are not."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        raise exc


def open_workbook(path: Path, data: bytes | None = None, engine: str = "calamine") -> Workbook:
    """Open a workbook the guard has passed: ``data``, the bytes it checked, when it kept them.
    Otherwise the file is opened here (not by calamine from a path string): names that are not
    valid UTF-8 work, and a symlink swapped in since the guard looked is refused (``O_NOFOLLOW``).

    ``engine="openpyxl"`` (an .xlsx only) when the guard saw values calamine cannot convert
    (``GuardResult.dates_out_of_range``): calamine would panic on the whole sheet, openpyxl reads
    such a cell as ``#VALUE!`` and the rest as typed, so the other figures are kept."""
    if engine == "openpyxl":
        return _open_openpyxl(path, data)
    try:
        if data is not None:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        else:
            book = _open_file(path)
        metas = book.sheets_metadata
    except ReadError:
        raise
    except BaseException as exc:
        _reraise_interrupts(exc)
        raise ReadError("文件的内部结构已损坏，无法读取表格内容") from None
    names = [m.name for m in metas]
    visibility = {m.name: str(m.visible).rsplit(".", 1)[-1].lower() for m in metas}
    return Workbook(Path(path), names, visibility, book)


def _open_file(path: Path):
    return CalamineWorkbook.from_filelike(io.BytesIO(_read_nofollow(path)))


def _open_openpyxl(path: Path, data: bytes | None) -> Workbook:
    import openpyxl

    try:
        if data is None:
            data = _read_nofollow(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about each date it cannot convert
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ReadError:
        raise
    except Exception:  # noqa: BLE001 - any failure to parse is a fact about the file
        raise ReadError("文件的内部结构已损坏，无法读取表格内容") from None
    names = list(book.sheetnames)
    visibility = {ws.title: str(ws.sheet_state).lower() for ws in book.worksheets}
    return Workbook(Path(path), names, visibility, book, engine="openpyxl")


def _openpyxl_grid(book, name: str) -> list[list[Any]]:
    """The sheet's values as calamine would give them: anchored at A1, '' for empty cells."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = book[name].iter_rows(max_row=MAX_GRID_ROWS, max_col=MAX_GRID_COLS, values_only=True)
            return [["" if v is None else v for v in row] for row in rows]
    except Exception:  # noqa: BLE001
        raise ReadError(f"工作表“{name}”的内部结构已损坏，无法读取") from None


def _read_nofollow(path: Path) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ReadError(f"无法打开文件（{exc.strerror or type(exc).__name__}）") from None
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


# -- why a cell reads as empty ---------------------------------------------------------------------

_SHEET_TAG = re.compile(rb"<(?:[\w.-]+:)?sheet\s([^<>]*)>")
_ATTR = re.compile(rb"""([\w.:-]+)\s*=\s*["']([^"']*)["']""")
_REL_TAG = re.compile(rb"<(?:[\w.-]+:)?Relationship\s([^<>]*)>")
_VALUE = re.compile(rb"<(?:[\w.-]+:)?v>([^<]*)<")
_FORMULA = re.compile(rb"<(?:[\w.-]+:)?f(?:\s[^<>]*)?>([^<]*)<")


class Computed(NamedTuple):
    shown: str  # the error value shown ("#DIV/0!"), or "" when no result was saved
    formula: str  # the formula's text, without "=" ("" if it has none of its own, e.g. shared)


def computed_cells(data: bytes, wanted: dict[str, set[str]], kind: str = "xlsx") -> dict[tuple[str, str], Computed]:
    """For cells that read as empty: which of ``wanted`` ({sheet name: {"H5", …}}) hold a formula
    with no saved result or an error value, so that the finding can say so instead of "not filled
    in" (and a text typed as "-完成3场培训", which Excel takes for a formula showing #NAME?, can be
    read as typed). ``data`` is an .xlsx the guard has passed (plain ``<c r=…>`` tags), an .ods or
    an .xls (``kind``). Best effort: anything unexpected gives no answer, never an error."""
    import html

    out: dict[tuple[str, str], Computed] = {}
    if kind == "ods":
        try:
            return _ods_computed(data, wanted)
        except Exception:  # noqa: BLE001 - only a better message is at stake
            return {}
    if kind == "xls":  # (BIFF keeps no formula text that xlrd decodes: the error value is said)
        from .xls import error_cells

        return {key: Computed(shown, "") for key, shown in error_cells(data, wanted).items()}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for name, xml in sheet_parts(z, set(wanted)).items():
                for cell in wanted[name]:
                    m = cell_tag(xml, cell)
                    if m is None or m.group(2):
                        continue
                    end = xml.find(b"</c>", m.end())
                    body = xml[m.end():end if end >= 0 else m.end()]
                    v = _VALUE.search(body)
                    shown = html.unescape(v.group(1).decode("utf-8", "replace")).strip() if v else ""
                    f = _FORMULA.search(body)
                    formula = html.unescape(f.group(1).decode("utf-8", "replace")) if f else ""
                    if re.search(rb't\s*=\s*["\']e["\']', m.group(1)):  # an error value
                        out[(name, cell)] = Computed(shown or "#N/A", formula)
                    elif b"<f" in body and not shown:  # a formula, no result saved (openpyxl: <v></v>)
                        out[(name, cell)] = Computed("", formula)
    except Exception:  # noqa: BLE001 - only a better message is at stake
        return {}
    return out


OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_CALCEXT_NS = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODS_CELLS = (f"{{{_TABLE_NS}}}table-cell", f"{{{_TABLE_NS}}}covered-table-cell")
_MAX_REPEAT = 1_048_576  # (a repeat count past the last row or column a sheet can have is not)


def ods_cells(data: bytes, wanted: dict[str, set[str]]) -> dict[tuple[str, str], Any]:
    """{(sheet, "H5"): its ``table:table-cell`` element} for the cells of ``wanted`` an .ods (one
    the guard has passed) has, rows and columns counted with their repeats as calamine counts
    them. Read as a stream: each element is dropped once looked at (a content.xml of 150 MB of
    empty cells, which a 3 MB file can hold, costs no more than its largest cell), and reading
    stops past the last row wanted. Raises on anything unexpected (callers only want a better
    message: they give none)."""
    from defusedxml import ElementTree
    from xlsxwriter.utility import xl_cell_to_rowcol

    targets_of = {name: {xl_cell_to_rowcol(c): c for c in cells} for name, cells in wanted.items() if cells}
    last_row = {name: max(r for r, _ in t) for name, t in targets_of.items()}
    left = set(targets_of)
    found: dict[tuple[str, str], Any] = {}
    table_tag, row_tag, ns = f"{{{_TABLE_NS}}}table", f"{{{_TABLE_NS}}}table-row", f"{{{_TABLE_NS}}}"
    open_: list[Any] = []  # the elements started and not yet ended (each one's parent is the one before)
    tables = cells = 0  # how deep inside tables and cells the parser is
    name, targets, row, rows, col = None, None, 0, 1, 0
    with zipfile.ZipFile(io.BytesIO(data)) as z, z.open("content.xml") as fh:
        for event, elem in ElementTree.iterparse(fh, events=("start", "end")):
            tag = elem.tag
            if event == "start":
                open_.append(elem)
                if tag == table_tag:
                    tables += 1
                    if tables == 1:
                        name, row = elem.get(f"{ns}name"), 0
                        targets = targets_of.get(name) if name in left else None
                elif tables == 1 and tag == row_tag:
                    rows, col = min(int(elem.get(f"{ns}number-rows-repeated", "1")), _MAX_REPEAT), 0
                elif tables == 1 and tag in _ODS_CELLS:
                    cells += 1
                continue
            open_.pop()
            if tables == 1 and tag in _ODS_CELLS:
                cells -= 1
                span = min(int(elem.get(f"{ns}number-columns-repeated", "1")), _MAX_REPEAT)
                for (r, k), c in (targets or {}).items():
                    if row <= r < row + rows and col <= k < col + span:
                        found[(name, c)] = elem
                col += span
            elif tables == 1 and tag == row_tag:
                row += rows
                if targets is not None and row > last_row[name]:
                    left.discard(name)  # (nothing more wanted from this table)
                    targets = None
                    if not left:
                        break
            elif tag == table_tag:
                tables -= 1
            if cells == 0 and open_:  # (a cell's content is kept until the cell has been looked at)
                open_[-1].remove(elem)
    return found


def _ods_computed(data: bytes, wanted: dict[str, set[str]]) -> dict[tuple[str, str], Computed]:
    """``computed_cells`` of an .ods: LibreOffice saves a formula's error as the text it shows
    (#DIV/0!) with ``calcext:value-type="error"``, which calamine reads as an empty cell."""
    out = {}
    for key, td in ods_cells(data, wanted).items():
        formula = td.get(f"{{{_TABLE_NS}}}formula")
        if formula is None:
            continue
        text = formula.split(":", 1)[1] if formula.startswith("of:") else formula
        formula = text[1:] if text.startswith("=") else text
        if td.get(f"{{{_CALCEXT_NS}}}value-type") == "error":
            shown = "".join("".join(p.itertext()) for p in td.iter(f"{{{_TEXT_NS}}}p")).strip()
            out[key] = Computed(shown or "#N/A", formula)
        elif td.get(f"{{{OFFICE_NS}}}value-type") is None:  # a formula with no result saved
            out[key] = Computed("", formula)
    return out


def sheet_parts(z, names: set[str]) -> dict[str, bytes]:
    """{sheet name: its worksheet XML} for the sheets of ``names`` an .xlsx (``zipfile.ZipFile``,
    one the guard has passed) has, found the way calamine finds them (workbook.xml → its rels)."""
    found = sheet_targets(z.read("xl/workbook.xml"), z.read("xl/_rels/workbook.xml.rels"))
    return {name: z.read(part) for name, part in found.items() if name in names}


def sheet_targets(workbook_xml: bytes, rels_xml: bytes) -> dict[str, str]:
    """{sheet name: its part ("xl/worksheets/sheet3.xml")}, from an .xlsx's workbook.xml and its
    rels (the first sheet of a name, as calamine takes it)."""
    import html

    targets = {}
    for attrs in _REL_TAG.findall(rels_xml):
        a = dict(_ATTR.findall(attrs))
        targets[a.get(b"Id")] = a.get(b"Target", b"").decode("utf-8", "replace")
    parts: dict[str, str] = {}
    for attrs in _SHEET_TAG.findall(workbook_xml):
        a = {k.split(b":")[-1] if k.endswith(b":id") else k: v for k, v in _ATTR.findall(attrs)}
        name = html.unescape(a.get(b"name", b"").decode("utf-8", "replace"))
        if a.get(b"id") not in targets or name in parts:
            continue
        target = targets[a[b"id"]]
        parts[name] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return parts


def cell_tag(xml: bytes, cell: str) -> re.Match | None:
    """The opening tag of ``cell`` ("H5") in worksheet XML the guard has passed (plain
    ``<c r="H5" …>``): group 1 its other attributes, group 2 "/" when it is empty."""
    return re.search(rb'<c r="' + re.escape(cell.encode()) + rb'"([^<>]*?)(/?)>', xml)
