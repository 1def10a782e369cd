"""A worksheet and workbook that write their XML faster, byte for byte as xlsxwriter does.

At city scale 汇总表 and 数据明细 hold over a million cells. xlsxwriter spends most of its time
on them at ``close()``: for every cell ``_write_cell`` builds an attribute list, escapes each
attribute and writes one small string (about 5 µs a cell, as long as everything else pdreport
does for that cell). ``FastWorksheet`` overrides that loop (``_write_rows``): the cells
xlsxwriter stores as numbers, dates, shared strings and blanks are written a row at a time from
the same data, and anything else (formulas, rich strings, booleans, errors, comments) still goes
through xlsxwriter's own ``_write_cell`` and ``_write_row``.

Storing the cells costs as much again: ``write_string`` passes through a decorator that reads "A1"
references, then ``_check_dimensions`` and the shared-strings table, three calls a cell. With row
and column numbers, a text short enough never to need truncating and a finite number,
``write_string``/``write_number`` do the same bookkeeping inline, and ``write_values`` stores a
whole row of texts and numbers at once (what 数据明细 and most of 汇总表 are). Anything else takes
xlsxwriter's own path, which returns the same error codes. ``set_row`` with a height alone (tens of
thousands of fitted rows) is stored, and its ``<row>`` tag written, without the option handling.

``FastWorkbook`` packages the file with a faster sharedStrings.xml: xlsxwriter runs five regular
expressions over each distinct text (汇总表 holds tens of thousands); the texts none of them would
change are written joined. It zips the parts at zlib level 3 (``ZIP_LEVEL``), where xlsxwriter
leaves zipfile's default of 6 (see ``_LeveledZipFile``): the same parts, in less than half the
time, in a file a seventh larger.

xlsxwriter documents subclassing ``Worksheet`` through ``Workbook.worksheet_class`` and says
``Workbook._get_packager`` is there to be overridden; the other methods used here are internal,
so ``usable()`` and ``usable_strings()`` check that the xlsxwriter installed still stores cells
and escapes strings the way this code reads them, else xlsxwriter's own code runs.
``tests/test_fastsheet.py`` compares whole files written both ways, byte for byte (the real
汇总表 and generated sheets of every cell kind).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import sys
import threading
import zipfile

import xlsxwriter
from xlsxwriter import utility as _utility
from xlsxwriter import workbook as _xlsx_workbook
from xlsxwriter import worksheet as _ws
from xlsxwriter import xmlwriter as _xml
from xlsxwriter.packager import Packager
from xlsxwriter.sharedstrings import SharedStrings, SharedStringTable
from xlsxwriter.utility import xl_col_to_name

from .formats import workbook_options

_FAST_KINDS = ("Number", "Datetime", "String", "Blank")
_ROWS, _COLS = 1_048_576, 16_384  # xlsxwriter's xls_rowmax, xls_colmax (checked by usable())
# A text of at most half Excel's 32,767 UTF-16 units can never need truncating (xlsxwriter skips
# its slower check below the same length).
_SHORT = 32_767 // 2
_FINITE = sys.float_info.max  # NaN, ±inf and ints too large for a float: xlsxwriter's own path
_UNSET = object()
_NEW = tuple.__new__  # what a named tuple's __new__ calls, without its Python frame
# A shared string xlsxwriter writes as <si><t>text</t></si>, untouched, has none of the characters
# its escapes look for (control characters, the two non-characters, what _escape_data escapes),
# no "_x" (the start of an _xHHHH_ escape) and no white space at either end.
_SST_SPECIAL = re.compile('[\x00-\x08\x0b-\x1f"&<>\n\ufffe\uffff]')
_SST_ESCAPES = ("(_x[0-9a-fA-F]{4}_)", r"([\x00-\x08\x0b-\x1f])", '["&<>\n]', r"^\s", r"\s$")


@functools.cache
def usable() -> bool:
    """Whether this xlsxwriter stores cells, rows and shared strings as ``FastWorksheet`` stores
    and reads them, and has the internal methods it calls."""
    try:
        kinds = {_ws.CellNumberTuple: ("number", "format"), _ws.CellDatetimeTuple: ("number", "format"),
                 _ws.CellStringTuple: ("string", "format"), _ws.CellBlankTuple: ("format",)}  # fmt: skip
        probe = _ws.Worksheet()
        needed = ("table", "row_info", "comments", "col_info", "row_spans", "str_table", "dim_rowmin",
                  "dim_rowmax", "dim_colmin", "dim_colmax", "default_row_height", "original_row_height",
                  "excel_version", "constant_memory", "row_sizes")  # fmt: skip
        methods = ("_write_rows", "_write_row", "_write_empty_row", "_write_cell", "_calculate_spans",
                   "_write_string", "_write_number", "_check_dimensions")  # fmt: skip
        strings = SharedStringTable()
        row_fields = tuple(f.name for f in dataclasses.fields(_ws.RowInfo))
        return (all(cls._fields == fields and cls.__name__ in _FAST_KINDS for cls, fields in kinds.items())
                and all(hasattr(probe, name) for name in needed)
                and (probe.xls_rowmax, probe.xls_colmax, probe.xls_strmax) == (_ROWS, _COLS, 32_767)
                and (strings.string_table, strings.count, strings.unique_count) == ({}, 0, 0)
                and row_fields == ("height", "row_format", "hidden", "level", "collapsed")
                and probe.row_sizes == {}
                and all(callable(getattr(_ws.Worksheet, name, None)) for name in methods))  # fmt: skip
    except Exception:  # noqa: BLE001 - any surprise means: use xlsxwriter's own loop
        return False


@functools.cache
def usable_strings() -> bool:
    """Whether this xlsxwriter escapes shared strings with the expressions ``_SST_SPECIAL`` mirrors
    and writes them through the methods ``_SharedStrings`` and ``_Packager`` use."""
    try:
        patterns = (_xml.re_control_chars_1.pattern, _xml.re_control_chars_2.pattern, _xml.xml_escapes.pattern,
                    _utility.RE_LEADING_WHITESPACE.pattern, _utility.RE_TRAILING_WHITESPACE.pattern)  # fmt: skip
        methods = ((SharedStrings, "_write_sst_strings"), (SharedStrings, "_write_si"),
                   (SharedStrings, "_assemble_xml_file"), (SharedStrings, "_set_xml_writer"),
                   (Packager, "_write_shared_strings_file"), (Packager, "_filename"),
                   (xlsxwriter.Workbook, "_get_packager"))  # fmt: skip
        return (patterns == _SST_ESCAPES and hasattr(SharedStringTable(), "string_array")
                and all(callable(getattr(cls, name, None)) for cls, name in methods))  # fmt: skip
    except Exception:  # noqa: BLE001 - any surprise means: xlsxwriter's own writer
        return False


class FastWorksheet(_ws.Worksheet):
    """``Worksheet`` that stores cells and writes their XML faster (same bytes; see the module
    docstring), plus ``write_values`` for a row of texts and numbers."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lean = usable()

    # The lean paths below do what xlsxwriter's _write_string/_write_number do for a cell inside the
    # sheet (constant_memory is off in every workbook pdreport writes): widen the dimensions, index
    # the text in the shared-strings table, store the cell's named tuple.

    def write_string(self, row, col=_UNSET, string=_UNSET, cell_format=None):
        if (row.__class__ is int and col.__class__ is int and string.__class__ is str
                and 0 <= row < _ROWS and 0 <= col < _COLS and len(string) <= _SHORT
                and self._lean and not self.constant_memory):  # fmt: skip
            rmax, cmax = self.dim_rowmax, self.dim_colmax  # _widen, inlined: it runs once a cell
            if (rmax is None or cmax is None or row > rmax or col > cmax or row < self.dim_rowmin
                    or col < self.dim_colmin):  # fmt: skip
                self._check_dimensions(row, col)
            strings = self.str_table  # SharedStringTable._get_shared_string_index, inlined
            index = strings.string_table.get(string)
            if index is None:
                index = strings.string_table[string] = strings.unique_count
                strings.unique_count += 1
            strings.count += 1
            self.table[row][col] = _NEW(_ws.CellStringTuple, (index, cell_format))
            return 0
        return super().write_string(*_given(row, col, string), **_format(cell_format))

    def write_number(self, row, col=_UNSET, number=_UNSET, cell_format=None):
        if (row.__class__ is int and col.__class__ is int and (number.__class__ is float or number.__class__ is int)
                and -_FINITE <= number <= _FINITE and 0 <= row < _ROWS and 0 <= col < _COLS
                and self._lean and not self.constant_memory):  # fmt: skip
            self._widen(row, col, col)
            self.table[row][col] = _NEW(_ws.CellNumberTuple, (number, cell_format))
            return 0
        return super().write_number(*_given(row, col, number), **_format(cell_format))

    def set_row(self, row, height=None, cell_format=None, options=None):
        # Only a height (what fit.RowHeights sets on tens of thousands of rows): stored as
        # set_row_pixels stores it, without its options and outline bookkeeping.
        if (row.__class__ is int and (height.__class__ is float or height.__class__ is int)
                and cell_format is None and not options and 0 <= row < _ROWS and 0 < height < _FINITE
                and self._lean):  # fmt: skip
            pixels = int(height * 4.0 / 3.0 + 0.5)
            if pixels > 0:  # (0 pixels means hidden: xlsxwriter's own path)
                self._check_dimensions(row, self.dim_colmin if self.dim_colmin is not None else 0)
                self.row_info[row] = _ws.RowInfo(height=pixels)
                self.row_sizes[row] = [pixels, False]
                return 0
        return super().set_row(row, height, cell_format, options)

    def write_values(self, row: int, col: int, values, cell_format=None, formats=None) -> int:
        """Write ``values`` from (``row``, ``col``) rightwards: each ``str`` with ``write_string``,
        each ``int``/``float`` with ``write_number``, anything else with ``write``. The same cells
        and error codes as those calls (the first error is returned, and the rest still written).
        Each cell takes ``cell_format``, or its own from ``formats`` (one for each value) if given.

        Unlike ``write_row`` (which calls ``write``), "" is an empty text cell, not a blank one."""
        values = values if isinstance(values, (list, tuple)) else list(values)
        if formats is None:
            formats = (cell_format,) * len(values)
        elif len(formats) != len(values):
            raise ValueError("write_values: one format for each value")
        last = col + len(values) - 1
        if not (row.__class__ is int and col.__class__ is int and 0 <= row < _ROWS and 0 <= col
                and last < _COLS and self._lean and not self.constant_memory):  # fmt: skip
            return self._write_each(row, col, values, formats)
        if not values:
            return 0
        cells = self.table[row]
        strings = self.str_table
        index_of = strings.string_table
        new, as_string, as_number = _NEW, _ws.CellStringTuple, _ws.CellNumberTuple
        first = last = None  # the columns stored here: their bounds widen the dimensions once
        counted = error = 0
        try:
            for c, value, fmt in zip(range(col, col + len(values)), values, formats, strict=True):
                kind = value.__class__
                if kind is str and len(value) <= _SHORT:
                    index = index_of.get(value)  # as in write_string
                    if index is None:
                        index = index_of[value] = strings.unique_count
                        strings.unique_count += 1
                    counted += 1
                    cells[c] = new(as_string, (index, fmt))
                elif (kind is float or kind is int) and -_FINITE <= value <= _FINITE:
                    cells[c] = new(as_number, (value, fmt))
                else:  # the cells before stay written if this raises, as with one call a cell
                    this = self._write_each(row, c, (value,), (fmt,))
                    error = error or this
                    continue
                if first is None:
                    first = c
                last = c
        finally:
            strings.count += counted
            if first is not None:
                self._widen(row, first, last)
            elif not cells:  # nothing stored: leave no empty row behind (xlsxwriter would not)
                del self.table[row]
        return error

    def _write_each(self, row, col, values, formats) -> int:
        first = 0
        for c, value, cell_format in zip(range(col, col + len(values)), values, formats, strict=True):
            if isinstance(value, str):
                error = self.write_string(row, c, value, cell_format)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                error = self.write_number(row, c, value, cell_format)
            else:
                error = self.write(row, c, value, cell_format)
            first = first or error
        return first

    def _widen(self, row: int, first_col: int, last_col: int) -> None:
        """``_check_dimensions`` for cells in ``row`` from ``first_col`` to ``last_col`` (inside the
        sheet), called only when they fall outside the dimensions so far."""
        if (self.dim_rowmax is None or self.dim_colmax is None or row > self.dim_rowmax
                or row < self.dim_rowmin or first_col < self.dim_colmin or last_col > self.dim_colmax):  # fmt: skip
            self._check_dimensions(row, first_col)
            self._check_dimensions(row, last_col)

    def _calculate_spans(self) -> None:
        """The ``spans`` of each block of 16 rows (first:last column holding a cell or comment),
        from each row's own columns rather than by testing every column of the sheet's width."""
        rmin, rmax, cmin, cmax = self.dim_rowmin, self.dim_rowmax, self.dim_colmin, self.dim_colmax
        if not self._lean or rmin is None or cmin is None:
            super()._calculate_spans()
            return
        blocks: dict[int, list[int]] = {}
        for rows in (self.table, self.comments):
            for row_num, cells in rows.items():
                if not cells:
                    continue
                lo, hi = min(cells), max(cells)
                if not (rmin <= row_num <= rmax and cmin <= lo and hi <= cmax):  # xlsxwriter skips those
                    super()._calculate_spans()
                    return
                span = blocks.get(row_num // 16)
                if span is None:
                    blocks[row_num // 16] = [lo, hi]
                else:
                    span[0], span[1] = min(span[0], lo), max(span[1], hi)
        self.row_spans = {block: f"{lo + 1}:{hi + 1}" for block, (lo, hi) in sorted(blocks.items())}

    def _write_rows(self) -> None:
        if self.constant_memory or not usable():
            super()._write_rows()
            return
        self._calculate_spans()
        table, row_info, comments, col_info = self.table, self.row_info, self.comments, self.col_info
        spans = self.row_spans
        write = self.fh.write
        # A row without set_row() has the default height: its <row> tag differs only in r and spans.
        plain_tail = ""
        if self.default_row_height != self.original_row_height:
            plain_tail += f' ht="{self.default_row_height * 0.75:.16g}" customHeight="1"'
        dy_descent = ' x14ac:dyDescent="0.25"' if self.excel_version == 2010 else ""
        plain_tail += dy_descent
        letters = [xl_col_to_name(col) for col in range((self.dim_colmax or 0) + 1)]
        styles: dict[object, str] = {}  # format → ' s="N"' (formats hash by identity)
        # the kinds written here (the format is every kind's last field), by class: 0 text, 1 number
        kinds = {_ws.CellStringTuple: 0, _ws.CellNumberTuple: 1, _ws.CellDatetimeTuple: 1,
                 _ws.CellBlankTuple: 2}  # fmt: skip
        for row_num in range(self.dim_rowmin, self.dim_rowmax + 1):
            cells = table.get(row_num)
            info = row_info.get(row_num)
            if not cells:
                if info is not None or row_num in comments:
                    self._write_empty_row(row_num, spans.get(row_num // 16), info)
                continue
            span = spans.get(row_num // 16)
            if info is None:
                write(f'<row r="{row_num + 1}"' + (f' spans="{span}"' if span else "") + plain_tail + ">")
            elif not (info.row_format or info.hidden or info.level or info.collapsed):  # a height only
                height = self.default_row_height if info.height is None else info.height
                tail = dy_descent
                if height != self.original_row_height or height != self.default_row_height:
                    tail = f' ht="{height * 0.75:.16g}" customHeight="1"' + dy_descent
                write(f'<row r="{row_num + 1}"' + (f' spans="{span}"' if span else "") + tail + ">")
            else:
                self._write_row(row_num, span, info)
            number = str(row_num + 1)
            parts = []
            for col_num in sorted(cells):
                cell = cells[col_num]
                kind = kinds.get(cell.__class__)
                if kind is None:
                    if parts:
                        write("".join(parts))
                        parts = []
                    self._write_cell(row_num, col_num, cell)
                    continue
                ref = letters[col_num] if col_num < len(letters) else xl_col_to_name(col_num)
                fmt = cell[-1]
                if fmt:
                    s = styles.get(fmt)
                    if s is None:
                        s = styles[fmt] = f' s="{fmt._get_xf_index()}"'
                elif info is not None and info.row_format:
                    s = f' s="{info.row_format._get_xf_index()}"'
                elif col_num in col_info and col_info[col_num].column_format is not None:
                    s = f' s="{col_info[col_num].column_format._get_xf_index()}"'
                else:
                    s = ""
                if kind == 0:
                    parts.append(f'<c r="{ref}{number}"{s} t="s"><v>{cell[0]}</v></c>')
                elif kind == 1:
                    parts.append(f'<c r="{ref}{number}"{s}><v>{cell[0]:.16G}</v></c>')
                else:
                    parts.append(f'<c r="{ref}{number}"{s}/>')
            parts.append("</row>")
            write("".join(parts))


class _SharedStrings(SharedStrings):
    """sharedStrings.xml with the strings that need no escaping joined in one write (汇总表 holds
    tens of thousands of distinct texts; xlsxwriter runs five expressions over each)."""

    def _write_sst_strings(self) -> None:
        write = self.fh.write
        special = _SST_SPECIAL.search
        plain: list[str] = []
        for string in self.string_table.string_array:
            if special(string) is None and "_x" not in string and not string[:1].isspace() \
                    and not string[-1:].isspace():  # fmt: skip
                plain.append(string)
                continue
            if plain:
                write("<si><t>" + "</t></si><si><t>".join(plain) + "</t></si>")
                plain = []
            self._write_si(string)
        if plain:
            write("<si><t>" + "</t></si><si><t>".join(plain) + "</t></si>")


class _Packager(Packager):
    def _write_shared_strings_file(self) -> None:
        # xlsxwriter's own, with _SharedStrings
        sst = _SharedStrings()
        sst.string_table = self.workbook.str_table
        if not self.workbook.str_table.count:
            return
        sst._set_xml_writer(self._filename("xl/sharedStrings.xml"))
        sst._assemble_xml_file()


# zlib level of the parts of the workbooks pdreport builds with xlsxwriter (templates, 汇总表,
# 问题清单, 数据明细; the feedback copies, saved by openpyxl, keep zipfile's default). xlsxwriter
# leaves zipfile's default (6); 3 compresses 汇总表 at 10,000 units in 0.15 s instead of 0.38 s,
# into a file 14 % larger (3.4 MB instead of 3.0 MB), and a template or Pudong's 汇总表 by a few
# kilobytes more.
ZIP_LEVEL = 3

_STORING = threading.local()  # .level: the zip level of the workbook this thread is storing, if any
_INSTALL = threading.Lock()


class _LeveledZipFile(zipfile.ZipFile):
    """``ZipFile`` for xlsxwriter's module: compresses at the level of the ``FastWorkbook`` this
    thread is storing, if any; otherwise exactly as ``zipfile.ZipFile`` (a plain xlsxwriter workbook,
    in this thread or another, gets zipfile's default as before). xlsxwriter passes each part to
    ``writestr`` with a ``ZipInfo`` of its own, which carries no level, and calls ``write`` for
    parts kept in temporary files (without ``in_memory``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._level = getattr(_STORING, "level", None)

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        level = self._level if compresslevel is None else compresslevel
        return super().writestr(zinfo_or_arcname, data, compress_type, level)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        level = self._level if compresslevel is None else compresslevel
        return super().write(filename, arcname, compress_type, level)


def _leveled_zip_installed() -> bool:
    """Whether xlsxwriter's module opens its zips with ``_LeveledZipFile`` (installed on first use;
    not over anything but zipfile's own class, which someone else may have replaced)."""
    with _INSTALL:
        current = getattr(_xlsx_workbook, "ZipFile", None)
        if current is zipfile.ZipFile:
            _xlsx_workbook.ZipFile = current = _LeveledZipFile
        return current is _LeveledZipFile


class FastWorkbook(xlsxwriter.Workbook):
    """``Workbook`` with ``FastWorksheet`` sheets, packaged with a faster shared-strings writer
    (xlsxwriter's ``_get_packager`` is there to be overridden) into a zip of level ``ZIP_LEVEL``."""

    worksheet_class = FastWorksheet

    def _get_packager(self):
        return _Packager() if usable_strings() else super()._get_packager()

    def _store_workbook(self) -> None:
        # xlsxwriter opens the zip with the ZipFile its module imported: ``_LeveledZipFile``, which
        # takes this thread's level when it is opened.
        if not _leveled_zip_installed():
            super()._store_workbook()
            return
        _STORING.level = ZIP_LEVEL
        try:
            super()._store_workbook()
        finally:
            _STORING.level = None


def _given(*args):
    """The positional arguments a caller gave (an "A1" reference shifts them left by one)."""
    return [a for a in args if a is not _UNSET]


def _format(cell_format) -> dict:
    return {} if cell_format is None else {"cell_format": cell_format}


def new_workbook(target) -> xlsxwriter.Workbook:
    """Every workbook pdreport writes: ``workbook_options()`` (no string becomes a formula, link
    or number), a ``FastWorkbook`` with ``FastWorksheet`` sheets."""
    return FastWorkbook(target, workbook_options())
