"""The calamine reader: a Rust panic on a cell is a finding about the file, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdreport.intake.read import ReadError, Workbook


class PanicException(BaseException):
    """Stands in for pyo3_runtime.PanicException (a BaseException, not an Exception)."""


class _Sheet:
    def __init__(self, exc: BaseException):
        self.exc = exc

    def to_python(self, **_kw):
        raise self.exc


class _Book:
    def __init__(self, exc: BaseException):
        self.exc = exc

    def get_sheet_by_name(self, _name):
        return _Sheet(self.exc)


def test_panic_while_reading_a_sheet_becomes_a_read_error():
    wb = Workbook(Path("x.xlsx"), ["填报说明"], {}, _Book(PanicException("TimeDelta::milliseconds out of bounds")))
    with pytest.raises(ReadError, match="超出范围的日期"):
        wb.grid("填报说明")


def test_interrupts_are_not_swallowed():
    wb = Workbook(Path("x.xlsx"), ["填报说明"], {}, _Book(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        wb.grid("填报说明")
