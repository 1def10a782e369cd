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


# -- a number calamine cannot turn into a date: read with openpyxl, the rest kept -----------------


@pytest.fixture()
def bad_date_return(plan, tmp_path):
    from pdreport.demo import demo_values, fill_template

    filled = demo_values(plan, plan.period("2024H1"))["fgw"]
    field = next(f for f in filled.layout.fields if f.kind == "date")
    values = dict(filled.values)
    values[field.key] = -1e300  # calamine: "TimeDelta::milliseconds out of bounds" (a panic)
    path = tmp_path / "fgw.xlsx"
    path.write_bytes(fill_template(filled, values=values))
    return path, field, filled


def test_guard_notices_a_number_calamine_cannot_convert(bad_date_return, demo_returns):
    from pdreport.intake.guard import guard_file
    from pdreport.intake.guard.xmlscan import _huge_negative

    path, _field, _filled = bad_date_return
    assert guard_file(path).dates_out_of_range
    assert not guard_file(Path(demo_returns[0]) / "fgw.xlsx").dates_out_of_range
    for text, huge in ((b"<v>-1E+300</v>", True), (b"<v>-100E+9</v>", True), (b"<v>-inf</v>", True),
                       (b"<v>-12345678901</v>", True), (b"<v>-9999999999</v>", False),
                       (b"<v>-3.3333333333333335</v>", False), (b"<f>A1-B1</f>", False)):  # fmt: skip
        assert _huge_negative(text) is huge, text


def test_openpyxl_engine_reads_the_sheet_calamine_cannot(bad_date_return):
    from openpyxl.utils.cell import coordinate_to_tuple

    from pdreport.intake.read import open_workbook

    path, field, filled = bad_date_return
    wb = open_workbook(path, path.read_bytes(), engine="openpyxl")
    row, col = coordinate_to_tuple(field.cell)
    assert wb.value(field.sheet, row - 1, col - 1) == "#VALUE!"
    other = next(f for f in filled.layout.fields if f.kind == "number" and f.key in filled.values)
    row, col = coordinate_to_tuple(other.cell)
    assert wb.value(other.sheet, row - 1, col - 1) == filled.values[other.key]
    assert wb.visibility[field.sheet] == "visible"


def test_return_with_such_a_date_is_taken_in_and_the_date_reported(plan, bad_date_return):
    import subprocess
    import sys

    from pdreport.collect import ACCEPTED, collect
    from pdreport.findings import Code

    path, field, _filled = bad_date_return
    col = collect(plan, path.parent, "2024H1", workers=1)
    assert [o.status for o in col.outcomes] == [ACCEPTED]
    assert [(f.code, f.sheet, f.cell) for f in col.findings if f.file == "fgw.xlsx"] == \
        [(Code.BAD_DATE, field.sheet, field.cell)]  # fmt: skip
    assert col.submissions["fgw"].figures  # the other figures are kept
    r = subprocess.run([sys.executable, "-m", "pdreport", "check", str(path), "--period", "2024H1"],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2 and "E210" in r.stdout
    assert "panicked" not in r.stderr and "Traceback" not in r.stderr, r.stderr


# -- the same in an .xls, which only calamine reads: a finding, and nothing on stderr -------------


def test_biff_records_with_a_number_calamine_cannot_convert():
    import struct

    from pdreport.intake.guard.cfb import _biff_huge_negative, _rk

    def record(rtype: int, body: bytes) -> tuple[int, bytes, int, int]:
        return rtype, struct.pack("<HH", rtype, len(body)) + body, 4, len(body)

    cell = struct.pack("<HHH", 3, 2, 15)  # row, column, XF
    assert _biff_huge_negative(*record(0x0203, cell + struct.pack("<d", -1e300)))
    assert _biff_huge_negative(*record(0x0203, cell + struct.pack("<d", -1e10)))
    assert not _biff_huge_negative(*record(0x0203, cell + struct.pack("<d", -9.9e9)))
    result = struct.pack("<d", -1e12)
    assert _biff_huge_negative(*record(0x0006, cell + result + b"\0" * 6))  # FORMULA, numeric result
    text_result = b"\0\0\0\0\0\0\xff\xff"
    assert not _biff_huge_negative(*record(0x0006, cell + text_result + b"\0" * 6))
    huge_rk = struct.unpack("<Q", struct.pack("<d", -1e300))[0] >> 32 & 0xFFFFFFFC
    assert _rk(huge_rk) <= -1e10 and _rk(0x3FF00000) == 1.0 and _rk((100 << 2) | 2) == 0.0
    assert _rk(0x3FF00000 | 1) == 0.01
    assert _biff_huge_negative(*record(0x027E, cell + struct.pack("<I", huge_rk)))
    assert not _biff_huge_negative(*record(0x027E, cell + struct.pack("<I", 0x3FF00000)))
    mulrk = struct.pack("<HH", 3, 1) + struct.pack("<HI", 15, 0x3FF00000) + struct.pack("<HI", 15, huge_rk)
    assert _biff_huge_negative(*record(0x00BD, mulrk + struct.pack("<H", 2)))
    plain = struct.pack("<HH", 3, 1) + struct.pack("<HI", 15, 0x3FF00000) * 2 + struct.pack("<H", 2)
    assert not _biff_huge_negative(*record(0x00BD, plain))


def test_xls_with_such_a_date_is_refused_cleanly(plan, bad_date_return, demo_returns, tmp_path):
    """LibreOffice saves the return as .xls: calamine panics on the date sheet (caught, a finding),
    and Rust's panic message with its backtrace must not reach the user's terminal. Saved as .ods,
    the date is reported on its cell like any unreadable date."""
    import os
    import shutil
    import subprocess
    import sys

    from helpers import SOFFICE, soffice_convert_many

    from pdreport.collect import ACCEPTED, REJECTED, collect
    from pdreport.findings import Code
    from pdreport.intake.guard import guard_file

    if SOFFICE is None:
        pytest.skip("LibreOffice is not installed")
    path, field, _filled = bad_date_return
    [xls] = soffice_convert_many([path], "xls", tmp_path / "xls")
    assert guard_file(xls).kind == "xls" and guard_file(xls).dates_out_of_range
    env = {**os.environ, "RUST_BACKTRACE": "1"}
    r = subprocess.run([sys.executable, "-m", "pdreport", "check", str(xls), "--period", "2024H1"],
                       capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    assert r.returncode == 2 and "E005" in r.stdout and f"“{field.sheet}”" in r.stdout
    assert r.stderr == "", r.stderr
    shutil.copy(Path(demo_returns[0]) / "jjw.xlsx", xls.parent / "jjw.xlsx")
    col = collect(plan, xls.parent, "2024H1", workers=2)  # beside a reading thread
    assert {o.file: o.status for o in col.outcomes} == {"fgw.xls": REJECTED, "jjw.xlsx": ACCEPTED}
    assert [f.code for f in col.findings if f.file == "fgw.xls"] == [Code.CORRUPT]
    [ods] = soffice_convert_many([path], "ods", tmp_path / "ods")  # a date text, "-000-32768-01-01"
    col = collect(plan, ods.parent, "2024H1", workers=1)
    assert [o.status for o in col.outcomes] == [ACCEPTED]
    assert [(f.code, f.sheet, f.cell) for f in col.findings if f.file == "fgw.ods"] == \
        [(Code.BAD_DATE, field.sheet, field.cell)]  # fmt: skip


def test_a_sheet_only_glanced_at_is_read_from_its_first_cell_and_not_kept(tmp_path):
    """An added sheet is only looked at for its first filled row (W218): read from its used area,
    anchored at A1 in what it returns, never as a grid from A1 (one cell at ALL3999 would make a
    4,000,000-cell grid; 190 such sheets took a minute and 1.4 GB) and not kept."""
    import xlsxwriter

    from pdreport.intake.read import open_workbook

    path = tmp_path / "wide.xlsx"
    book = xlsxwriter.Workbook(str(path))
    far = book.add_worksheet("远处")
    far.write(3998, 999, "说明")  # ALL3999
    two = book.add_worksheet("两格")
    two.write(2, 1, "第一行")
    two.write(3998, 999, "很远")
    book.add_worksheet("空")
    book.close()
    wb = open_workbook(path)
    assert wb.first_filled_row("远处") == (3998, [(999, "说明")])
    assert wb.first_filled_row("两格") == (2, [(1, "第一行")])
    assert wb.first_filled_row("空") is None
    assert wb._grids == {}


def _ods(content: bytes) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
    return buf.getvalue()


_ODS_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
             b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
             b'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
             b'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>')  # fmt: skip


def test_ods_cells_counts_repeats_and_stops_past_the_last_row_wanted():
    from pdreport.intake.read import ods_cells

    def row(*cells, repeat=1):
        tds = b"".join(b'<table:table-cell table:number-columns-repeated="%d"><text:p>%s</text:p></table:table-cell>'
                       % (n, t.encode()) for n, t in cells)  # fmt: skip
        return b'<table:table-row table:number-rows-repeated="%d">%s</table:table-row>' % (repeat, tds)

    first = b'<table:table table:name="A">' + row((1, "x"), repeat=3) + b"</table:table>"
    second = (b'<table:table table:name="B"><table:table-header-rows>' + row((2, "h"))
              + b"</table:table-header-rows>" + row((1, "a"), (3, "b"), repeat=2) + row((1, "c")))  # fmt: skip
    # (past B's last wanted row come 10,000 rows, then the stream is cut off mid-tag: it is never
    # read that far)
    data = _ods(_ODS_HEAD + first + second + row((1, "never read")) * 10_000 + b"<table:table-row <broken")
    found = ods_cells(data, {"B": {"A1", "D3", "A4"}, "A": {"A3"}})
    text = {k: "".join(v.itertext()) for k, v in found.items()}
    assert text == {("A", "A3"): "x", ("B", "A1"): "h", ("B", "D3"): "b", ("B", "A4"): "c"}
