"""A worksheet that writes its cells' XML faster, byte for byte as xlsxwriter does.

At city scale 汇总表 and 数据明细 hold over a million cells. xlsxwriter spends most of its time
on them at ``close()``: for every cell ``_write_cell`` builds an attribute list, escapes each
attribute and writes one small string (about 5 µs a cell, as long as everything else pdreport
does for that cell). ``FastWorksheet`` overrides that loop (``_write_rows``): the cells
xlsxwriter stores as numbers, dates, shared strings and blanks are written a row at a time from
the same data, and anything else (formulas, rich strings, booleans, errors, comments) still goes
through xlsxwriter's own ``_write_cell`` and ``_write_row``. ``write_string`` and ``write_number``
with row and column numbers skip the decorator that reads "A1" references.

xlsxwriter documents subclassing ``Worksheet`` through ``Workbook.worksheet_class``; the method
overridden here is internal, so ``usable()`` checks that the xlsxwriter installed still stores
cells the way this code reads them, else the stock loop runs. ``tests/test_fastsheet.py``
compares whole files written both ways, byte for byte (the real 汇总表 and generated sheets of
every cell kind).
"""

from __future__ import annotations

import functools

import xlsxwriter
from xlsxwriter import worksheet as _ws
from xlsxwriter.utility import xl_col_to_name

from .formats import workbook_options

_FAST_KINDS = ("Number", "Datetime", "String", "Blank")


@functools.cache
def usable() -> bool:
    """Whether this xlsxwriter stores cells as the named tuples ``_write_rows`` below reads, and
    has the internal methods ``FastWorksheet`` calls."""
    try:
        kinds = {_ws.CellNumberTuple: ("number", "format"), _ws.CellDatetimeTuple: ("number", "format"),
                 _ws.CellStringTuple: ("string", "format"), _ws.CellBlankTuple: ("format",)}  # fmt: skip
        probe = _ws.Worksheet()
        needed = ("table", "row_info", "comments", "col_info", "row_spans", "dim_rowmin", "dim_rowmax",
                  "default_row_height", "original_row_height", "excel_version", "constant_memory")  # fmt: skip
        methods = ("_write_rows", "_write_row", "_write_empty_row", "_write_cell", "_calculate_spans",
                   "_write_string", "_write_number")  # fmt: skip
        return (all(cls._fields == fields and cls.__name__ in _FAST_KINDS for cls, fields in kinds.items())
                and all(hasattr(probe, name) for name in needed)
                and all(callable(getattr(_ws.Worksheet, name, None)) for name in methods))  # fmt: skip
    except Exception:  # noqa: BLE001 - any surprise means: use xlsxwriter's own loop
        return False


class FastWorksheet(_ws.Worksheet):
    """``Worksheet`` with a faster ``_write_rows`` (same bytes; see the module docstring)."""

    # The public write methods pass through a decorator that also takes "A1" references, then
    # call what xlsxwriter calls their "undecorated version". pdreport passes row and column
    # numbers, over a million times at city scale: those go to the undecorated version directly.

    def write_string(self, *args, **kwargs):
        if len(args) > 1 and args[0].__class__ is int and args[1].__class__ is int and usable():
            return self._write_string(*args, **kwargs)
        return super().write_string(*args, **kwargs)

    def write_number(self, *args, **kwargs):
        if len(args) > 1 and args[0].__class__ is int and args[1].__class__ is int and usable():
            return self._write_number(*args, **kwargs)
        return super().write_number(*args, **kwargs)

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
        if self.excel_version == 2010:
            plain_tail += ' x14ac:dyDescent="0.25"'
        letters: dict[int, str] = {}
        styles: dict[int, str] = {}  # id(format) → ' s="N"' (formats live as long as the workbook)
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
            else:
                self._write_row(row_num, span, info)
            number = str(row_num + 1)
            parts = []
            for col_num in sorted(cells):
                cell = cells[col_num]
                kind = cell.__class__.__name__
                if kind not in _FAST_KINDS:
                    if parts:
                        write("".join(parts))
                        parts = []
                    self._write_cell(row_num, col_num, cell)
                    continue
                ref = letters.get(col_num)
                if ref is None:
                    ref = letters[col_num] = xl_col_to_name(col_num)
                fmt = cell.format
                if fmt:
                    s = styles.get(id(fmt))
                    if s is None:
                        s = styles[id(fmt)] = f' s="{fmt._get_xf_index()}"'
                elif info is not None and info.row_format:
                    s = f' s="{info.row_format._get_xf_index()}"'
                elif col_num in col_info and col_info[col_num].column_format is not None:
                    s = f' s="{col_info[col_num].column_format._get_xf_index()}"'
                else:
                    s = ""
                if kind == "String":
                    parts.append(f'<c r="{ref}{number}"{s} t="s"><v>{cell.string}</v></c>')
                elif kind == "Blank":
                    parts.append(f'<c r="{ref}{number}"{s}/>')
                else:
                    parts.append(f'<c r="{ref}{number}"{s}><v>{cell.number:.16G}</v></c>')
            parts.append("</row>")
            write("".join(parts))


def new_workbook(target) -> xlsxwriter.Workbook:
    """Every workbook pdreport writes: ``workbook_options()`` (no string becomes a formula, link
    or number), with ``FastWorksheet`` sheets."""
    wb = xlsxwriter.Workbook(target, workbook_options())
    wb.worksheet_class = FastWorksheet
    return wb
