"""What calamine does not say of an .xls cell: a formula whose result is an error value (#DIV/0!,
which calamine reads as an empty cell) and whether a cell shows its number as a percentage (50%
typed into an amount cell is saved as 0.5). Looked up with xlrd, only for the few cells where it
matters, in a file the guard has passed (its BIFF records already walked within their bounds).

Best effort: anything unexpected gives no answer, never an error (callers only want a better
message or a better reading of a rare cell)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from xlsxwriter.utility import xl_cell_to_rowcol


def error_cells(data: bytes, wanted: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """{(sheet, "H5"): the error value it shows ("#DIV/0!")} for the cells of ``wanted``
    ({sheet name: {"H5", …}}) that hold one."""
    import xlrd

    try:
        with _book(data, formatting=False) as book:
            return {(name, cell): xlrd.error_text_from_code.get(sheet.cell_value(r, c), "#N/A")
                    for name, cell, sheet, r, c in _cells(book, wanted)
                    if sheet.cell_type(r, c) == xlrd.XL_CELL_ERROR}  # fmt: skip
    except Exception:  # noqa: BLE001 - see the module's docstring
        return {}


def percent_cells(data: bytes, wanted: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(sheet, cell) of each of ``wanted`` whose number format shows a percentage."""
    from .cellformat import is_percent_code

    try:
        with _book(data, formatting=True) as book:
            found = set()
            for name, cell, sheet, r, c in _cells(book, wanted):
                fmt = book.format_map.get(book.xf_list[sheet.cell_xf_index(r, c)].format_key)
                if fmt is not None and is_percent_code(fmt.format_str):
                    found.add((name, cell))
            return found
    except Exception:  # noqa: BLE001 - see the module's docstring
        return set()


@contextmanager
def _book(data: bytes, formatting: bool) -> Iterator[Any]:
    import xlrd

    # (xlrd writes its warnings to stdout unless given somewhere else to write them)
    book = xlrd.open_workbook(file_contents=data, on_demand=True, formatting_info=formatting,
                              logfile=io.StringIO(), verbosity=0)  # fmt: skip
    try:
        yield book
    finally:
        book.release_resources()


def _cells(book, wanted: dict[str, set[str]]) -> Iterator[tuple[str, str, Any, int, int]]:
    names = set(book.sheet_names())
    for name, cells in wanted.items():
        if name not in names:
            continue
        sheet = book.sheet_by_name(name)
        for cell in cells:
            r, c = xl_cell_to_rowcol(cell)
            if r < sheet.nrows and c < sheet.row_len(r):
                yield name, cell, sheet, r, c
