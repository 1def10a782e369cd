"""FastWorksheet writes the same bytes as xlsxwriter's own Worksheet, for every file pdreport makes
and for generated sheets holding every kind of cell and row xlsxwriter has."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdreport.template import fastsheet
from pdreport.template.fastsheet import FastWorksheet, new_workbook

SAMPLES = Path(__file__).parent.parent / "sample_workbooks"


@pytest.fixture
def stock(monkeypatch):
    """Within the block, FastWorksheet falls back to xlsxwriter's own loop."""

    def use_stock():
        monkeypatch.setattr(fastsheet, "usable", lambda: False)
        monkeypatch.setattr(fastsheet, "usable_strings", lambda: False)

    return use_stock


def both(render, stock) -> tuple[bytes, bytes]:
    fast = render()
    stock()
    return fast, render()


def sheets_differ(a: bytes, b: bytes) -> list[str]:
    """The parts of two .xlsx files whose bytes differ (for a readable failure)."""
    with zipfile.ZipFile(io.BytesIO(a)) as za, zipfile.ZipFile(io.BytesIO(b)) as zb:
        names = sorted(set(za.namelist()) | set(zb.namelist()))
        return [n for n in names if n not in za.namelist() or n not in zb.namelist() or za.read(n) != zb.read(n)]


def test_usable_with_the_installed_xlsxwriter():
    assert fastsheet.usable() and fastsheet.usable_strings()
    wb = new_workbook(io.BytesIO())
    assert isinstance(wb.add_worksheet("x"), FastWorksheet)


def test_outputs_of_the_sample_returns_are_identical(plan, stock):
    from pdreport.assess import assess
    from pdreport.collect import collect
    from pdreport.datatable import render_xlsx
    from pdreport.problems import render_problem_list
    from pdreport.summary import render_summary

    col = collect(plan, SAMPLES, "2024H1")
    a = assess(plan, col.period, col.submissions, col.findings)
    assert col.findings and a.tasks  # the samples hold errors and warnings: every sheet has rows

    def render():
        return render_summary(a, col.outcomes), render_problem_list(col), render_xlsx(col)

    fast, slow = both(render, stock)
    for name, x, y in zip(("汇总表", "问题清单", "数据明细"), fast, slow, strict=True):
        assert x == y, (name, sheets_differ(x, y))


def test_templates_and_filled_returns_are_identical(plan, demo, stock):
    from pdreport.template import TemplateFile
    from pdreport.template.distribution import render_distribution
    from pdreport.template.layout import build_layout
    from pdreport.template.workbook import render_workbook

    period = plan.period("2024H1")
    stamp = dt.datetime(2024, 6, 1, 9, 30)
    layouts = [(r, build_layout(plan, r, period)) for r in plan.respondents]

    def render():
        files = [TemplateFile(r, Path(f"{r.id}.xlsx"), layout) for r, layout in layouts]
        return ([render_workbook(layout, stamp) for _, layout in layouts]
                + [render_workbook(layout, stamp, demo[r.id].values) for r, layout in layouts if r.id in demo]
                + [render_distribution(files, period, plan.title)])  # fmt: skip

    fast, slow = both(render, stock)
    assert len(fast) > len(layouts) + 1
    for i, (x, y) in enumerate(zip(fast[:-1], slow[:-1], strict=True)):
        assert x == y, (i, sheets_differ(x, y))
    assert sheets_differ(fast[-1], slow[-1]) in ([], ["docProps/core.xml"])  # 分发清单 is dated now


# -- every kind of cell and row ---------------------------------------------------------------------

_TEXT = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    # what the shared-strings writer escapes: _xHHHH_, control characters, markup, end spaces
    st.lists(st.sampled_from(["_x0041_", "_x", "_X00ff_", "\x01", "\x1f", "\t", "\n", "\r", '"', "&", "<r>",
                              "</r>", ">", " ", "\u3000", "\xa0", "\ufffe", "\uffff", "甲", "a"]),
             max_size=4).map("".join),
)  # fmt: skip
_CELL = st.one_of(
    st.tuples(st.just("string"), _TEXT),
    st.tuples(st.just("number"), st.floats(allow_nan=False, allow_infinity=False) | st.integers(-10**12, 10**12)),
    st.tuples(st.just("date"), st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2100, 1, 1))),
    st.tuples(st.just("blank"), st.none()),
    st.tuples(st.just("formula"), st.sampled_from(["=1+1", "=A1", '="a"&"<b>"', "=SUM(A1:B2)"])),
    st.tuples(st.just("bool"), st.booleans()),
    st.tuples(st.just("rich"), _TEXT.filter(bool)),
    st.tuples(st.just("url"), st.just("https://example.org/?a=1&b=<2>")),
)
_ROW = st.fixed_dictionaries({}, optional={
    "height": st.sampled_from([None, 0, 0.2, 9, 15, 30.5, 409, -3]),
    "format": st.booleans(),
    "hidden": st.booleans(),
    "level": st.integers(0, 2),
})  # fmt: skip


def _sheet_book(cells, rows, columns, default_height, comment_rows, fmt_cells):
    buf = io.BytesIO()
    wb = new_workbook(buf)
    wb.set_properties({"created": dt.datetime(2024, 7, 15)})
    formats = [wb.add_format({"bold": True}), wb.add_format({"num_format": "0.00", "border": 1}),
               wb.add_format({"bg_color": "#FFC7CE", "text_wrap": True})]  # fmt: skip
    ws = wb.add_worksheet("数据")
    if default_height:
        ws.set_default_row(default_height)
    for col, which in columns.items():
        ws.set_column(col, col, 12, formats[which] if which is not None else None)
    for row, props in rows.items():
        fmt = formats[2] if props.get("format") else None
        if "hidden" in props or "level" in props:
            ws.set_row(row, props.get("height"), fmt,
                       {"hidden": props.get("hidden", False), "level": props.get("level", 0)})  # fmt: skip
        else:  # a height (or nothing) alone: FastWorksheet's own set_row
            ws.set_row(row, props.get("height"), fmt)
    bold = formats[0]
    for ((row, col), (kind, value)), f in zip(cells.items(), fmt_cells, strict=False):
        fmt = formats[f] if f is not None else None
        if kind == "string":
            ws.write_string(row, col, value, fmt)
        elif kind == "number":
            ws.write_number(row, col, value, fmt)
        elif kind == "date":
            ws.write_datetime(row, col, value, fmt or formats[1])
        elif kind == "blank":
            ws.write_blank(row, col, None, fmt or formats[1])
        elif kind == "formula":
            ws.write_formula(row, col, value, fmt)
        elif kind == "bool":
            ws.write_boolean(row, col, value, fmt)
        elif kind == "rich":
            parts = ("a", bold, value, fmt) if fmt else (bold, value, "z")
            ws.write_rich_string(row, col, *parts)
        else:
            ws.write_url(row, col, value, fmt)
    for row in comment_rows:
        ws.write_comment(row, 3, "批注 <&>")
    wb.close()
    return buf.getvalue()


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    cells=st.dictionaries(st.tuples(st.integers(0, 40), st.integers(0, 20)), _CELL, max_size=60),
    rows=st.dictionaries(st.integers(0, 45), _ROW, max_size=12),
    columns=st.dictionaries(st.integers(0, 22), st.sampled_from([None, 0, 1, 2]), max_size=5),
    default_height=st.sampled_from([None, 10, 25]),
    comment_rows=st.lists(st.integers(0, 50), max_size=3, unique=True),
    fmt_cells=st.lists(st.sampled_from([None, 0, 1, 2]), min_size=60, max_size=60),
)
def test_any_sheet_is_identical(cells, rows, columns, default_height, comment_rows, fmt_cells):
    args = (cells, rows, columns, default_height, comment_rows, fmt_cells)
    fast = _sheet_book(*args)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fastsheet, "usable", lambda: False)
        mp.setattr(fastsheet, "usable_strings", lambda: False)
        slow = _sheet_book(*args)
    assert fast == slow, sheets_differ(fast, slow)


def test_an_empty_sheet_row_settings_and_a1_references(stock):
    def render():
        buf = io.BytesIO()
        wb = new_workbook(buf)
        wb.set_properties({"created": dt.datetime(2024, 7, 15)})
        wb.add_worksheet("空")
        ws = wb.add_worksheet("行")
        ws.set_row(3, 40)
        ws.set_row(9, None, None, {"hidden": True})
        ws.write_string("C5", "A1 形式的单元格")  # through xlsxwriter's decorator
        ws.write_number("D6", 2.5)
        ws.write_string(5, 1, "行列号")
        bars = wb.add_worksheet("数据条")  # an Excel 2010 data bar makes xlsxwriter tag every row
        bars.write_row(0, 0, [1, 2, 3])
        bars.set_row(2, 30)
        bars.write_number(2, 0, 4)
        bars.conditional_format(0, 0, 2, 2, {"type": "data_bar", "data_bar_2010": True})
        wb.close()
        return buf.getvalue()

    fast, slow = both(render, stock)
    assert fast == slow, sheets_differ(fast, slow)
    with zipfile.ZipFile(io.BytesIO(fast)) as z:
        assert b'x14ac:dyDescent="0.25"' in z.read("xl/worksheets/sheet3.xml")


def test_falls_back_when_xlsxwriter_stores_cells_differently(monkeypatch):
    fastsheet.usable.cache_clear()
    try:
        monkeypatch.setattr(xlsxwriter.worksheet, "CellStringTuple", tuple)
        assert not fastsheet.usable()
    finally:
        monkeypatch.undo()
        fastsheet.usable.cache_clear()
    assert fastsheet.usable()


# -- storing cells: the lean write_string / write_number / write_values ---------------------------

_ROW_NUM = st.one_of(st.integers(0, 30), st.sampled_from([-1, 1_048_575, 1_048_576]))
_COL_NUM = st.one_of(st.integers(0, 12), st.sampled_from([-1, 16_383, 16_384]))
_LONG = st.sampled_from(["长" * 16_383, "a" * 16_384, "x" * 40_000, "😀" * 16_384])
_VALUE = st.one_of(
    _TEXT, _LONG,
    st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**12, 10**12),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 10**400, True, None, dt.date(2024, 6, 30)]),
)  # fmt: skip
_OP = st.one_of(
    st.tuples(st.just("string"), _ROW_NUM, _COL_NUM, st.one_of(_TEXT, _LONG)),
    st.tuples(st.just("number"), _ROW_NUM, _COL_NUM, _VALUE.filter(lambda v: isinstance(v, (int, float)))),
    st.tuples(st.just("values"), _ROW_NUM, _COL_NUM, st.lists(_VALUE, max_size=8)),
    st.tuples(st.just("a1"), st.sampled_from(["A1", "C5", "XFD3"]), st.none(), _TEXT),
)


def _stored_book(ops, with_format):
    """The file, and what each write call returned (or raised)."""
    buf = io.BytesIO()
    wb = new_workbook(buf)
    wb.set_properties({"created": dt.datetime(2024, 7, 15)})
    fmt = wb.add_format({"bold": True}) if with_format else None
    ws = wb.add_worksheet("数据")
    results = []
    for kind, row, col, value in ops:
        try:
            if kind == "string":
                results.append(ws.write_string(row, col, value, fmt))
            elif kind == "number":
                results.append(ws.write_number(row, col, value, fmt))
            elif kind == "values":
                results.append(ws.write_values(row, col, value, fmt))
            else:
                results.append(ws.write_string(row, value, fmt) if fmt else ws.write_string(row, value))
        except Exception as exc:  # noqa: BLE001 - the same error both ways is what is compared
            results.append(type(exc).__name__)
    wb.close()
    return buf.getvalue(), results


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(ops=st.lists(_OP, max_size=25), with_format=st.booleans())
def test_lean_writes_store_what_xlsxwriter_stores(ops, with_format):
    fast, fast_results = _stored_book(ops, with_format)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fastsheet, "usable", lambda: False)
        mp.setattr(fastsheet, "usable_strings", lambda: False)
        slow, slow_results = _stored_book(ops, with_format)
    assert fast_results == slow_results
    assert fast == slow, sheets_differ(fast, slow)


def _cell_by_cell(ws, row: int, col: int, values, formats) -> None:
    """What ``write_values`` stands for: one call a cell."""
    for c, (v, f) in enumerate(zip(values, formats, strict=True), col):
        if isinstance(v, str):
            ws.write_string(row, c, v, f)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            ws.write_number(row, c, v, f)
        else:
            ws.write(row, c, v, f)


def _written_both_ways(render) -> zipfile.ZipFile:
    """The file ``render(False)`` writes (with ``write_values``), once it equals ``render(True)``'s."""
    together = render(False)
    assert together == render(True), sheets_differ(together, render(True))
    return zipfile.ZipFile(io.BytesIO(together))


def test_write_values_is_write_string_and_write_number_cell_by_cell():
    rows = [["甲", "", 1.5, 7, "=1+1", "-2"], ["乙", None, True, dt.date(2024, 6, 30)], [], ["丙"] * 3]

    def render(one_by_one: bool) -> bytes:
        buf = io.BytesIO()
        wb = new_workbook(buf)
        wb.set_properties({"created": dt.datetime(2024, 7, 15)})
        ws = wb.add_worksheet("数据")
        for r, row in enumerate(rows):
            if not one_by_one:
                assert ws.write_values(r, 0, row) == 0
                continue
            _cell_by_cell(ws, r, 0, row, [None] * len(row))
        wb.close()
        return buf.getvalue()

    with _written_both_ways(render) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in sheet and "=1+1" in strings  # text stays text
    assert '<c r="B1" t="s">' in sheet and '<c r="B2"' not in sheet  # "" is an empty text, None nothing
    assert '<c r="C2" t="b">' in sheet  # True is a boolean, through write()


def test_shared_strings_fall_back_when_xlsxwriter_escapes_differently(monkeypatch):
    import re

    fastsheet.usable_strings.cache_clear()
    try:
        monkeypatch.setattr(xlsxwriter.xmlwriter, "xml_escapes", re.compile('["&<>\n\']'))
        assert not fastsheet.usable_strings()
        buf = io.BytesIO()
        wb = new_workbook(buf)
        assert type(wb._get_packager()) is xlsxwriter.packager.Packager
    finally:
        monkeypatch.undo()
        fastsheet.usable_strings.cache_clear()
    assert fastsheet.usable_strings()
    assert type(new_workbook(io.BytesIO())._get_packager()) is fastsheet._Packager


def test_write_values_with_a_format_for_each_cell():
    row = ["甲", "", 1.5, 7, None, True, dt.date(2024, 6, 30), "=1+1"]

    def render(one_by_one: bool) -> bytes:
        buf = io.BytesIO()
        wb = new_workbook(buf)
        wb.set_properties({"created": dt.datetime(2024, 7, 15)})
        ws = wb.add_worksheet("数据")
        formats = [wb.add_format({"bold": i % 2 == 0, "num_format": "0.0" if i == 2 else "General"})
                   for i in range(len(row))]  # fmt: skip
        if one_by_one:
            _cell_by_cell(ws, 1, 2, row, formats)
        else:
            assert ws.write_values(1, 2, row, formats=formats) == 0
            with pytest.raises(ValueError, match="one format for each value"):
                ws.write_values(2, 0, row, formats=formats[:-1])
        wb.close()
        return buf.getvalue()

    with _written_both_ways(render) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert '<c r="C2" s="1" t="s">' in sheet and '<c r="D2" s="2" t="s">' in sheet  # each its own format
    assert "<row r=\"3\"" not in sheet  # the refused row left nothing behind


def _deflated_at(data: bytes, level: int) -> bool:
    """Whether every part of the .xlsx ``data`` is deflated exactly as zlib does at ``level``."""
    import zlib

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
        assert infos and all(i.compress_type == zipfile.ZIP_DEFLATED for i in infos)
        for info in infos:
            packer = zlib.compressobj(level, zlib.DEFLATED, -15)
            if info.compress_size != len(packer.compress(z.read(info)) + packer.flush()):
                return False
    return True


def _rows(wb) -> None:
    ws = wb.add_worksheet("数据")
    for r in range(300):
        ws.write_row(r, 0, [f"碳达峰{r}", r * 1.5, "节能" * (r % 7)])


@pytest.mark.parametrize("in_memory", [True, False])
def test_parts_are_compressed_at_the_zip_level(in_memory, tmp_path):
    from pdreport.template.formats import workbook_options

    assert fastsheet.ZIP_LEVEL != 6  # (else the tests below would not tell it from zipfile's default)
    buf = io.BytesIO()
    options = {**workbook_options(), "in_memory": in_memory, "tmpdir": str(tmp_path)}
    wb = fastsheet.FastWorkbook(buf, options)  # (without in_memory xlsxwriter zips temporary files)
    _rows(wb)
    wb.close()
    assert _deflated_at(buf.getvalue(), fastsheet.ZIP_LEVEL)


def test_plain_xlsxwriter_workbooks_keep_zipfiles_level_in_any_thread():
    import threading

    from xlsxwriter import workbook as xlsx_workbook

    def plain() -> bytes:
        buf = io.BytesIO()
        wb = xlsxwriter.Workbook(buf, {"in_memory": True})
        _rows(wb)
        wb.close()
        return buf.getvalue()

    fast = io.BytesIO()
    wb = new_workbook(fast)
    _rows(wb)
    wb.close()
    assert xlsx_workbook.ZipFile is fastsheet._LeveledZipFile  # installed by the first FastWorkbook
    assert _deflated_at(plain(), 6)  # in this thread, after it
    # another thread's workbook, while this thread is storing a FastWorkbook (its level set)
    fastsheet._STORING.level = fastsheet.ZIP_LEVEL
    try:
        out: list[bytes] = []
        t = threading.Thread(target=lambda: out.append(plain()))
        t.start()
        t.join()
    finally:
        fastsheet._STORING.level = None
    assert _deflated_at(out[0], 6)
