"""The Word report's bulk builders (paragraphs and table rows built directly with lxml) write
exactly the XML python-docx writes cell by cell, including for awkward text."""

from __future__ import annotations

import datetime as dt

import pytest
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.oxml.ns import qn
from docx.table import _Cell
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from pdreport.report import docx_format as fmt

CREATED = dt.datetime(2024, 7, 15, 9, 0)
# XML markup, outer and inner white space (ASCII, no-break, ideographic), tabs, line breaks,
# empty and missing values, and statuses with and without surrounding text
AWKWARD = ["<&>\"'", "a&b<c>d", " 前导空格", "末尾空格 ", "a\tb", "\t", "一\n二\r\n三", "\n", "",
           None, "\u3000全角空格", "x\u00a0", "滞后（逾期）", " 已完成", "不考核", "数据有误：单位"]  # fmt: skip
CONTROL = ["a\x01b", "\x00", "x\x1fy", "\ufffe"]


def _reference_table(doc, header, rows, widths_mm, align=None, status_col=None):
    """``fmt.table`` as it was written before the bulk path: python-docx, cell by cell."""
    ncols = len(header)
    total = sum(widths_mm)
    if total > fmt.TEXT_WIDTH_MM:
        widths_mm = [w * fmt.TEXT_WIDTH_MM / total for w in widths_mm]
    widths = [fmt._mm_to_twips(w) for w in widths_mm]
    aligns = [fmt._ALIGN[a] for a in align] if align else [fmt.WD_ALIGN_PARAGRAPH.LEFT] * ncols
    tbl = doc.add_table(rows=1 + len(rows), cols=ncols)
    tbl.alignment = WD_TABLE_ALIGNMENT.CENTER
    fmt._set_table_geometry(tbl._tbl, widths)
    fmt._set_table_borders(tbl._tbl, size_eighths=4)
    for r, tr in enumerate(tbl._tbl.tr_lst):
        fmt._set_row_flags(tr, header=r == 0)
        values = header if r == 0 else rows[r - 1]
        for c, tc in enumerate(tr.tc_lst):
            fmt._set_cell_width(tc, widths[c])
            cell = _Cell(tc, tbl)
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            paragraph = cell.paragraphs[0]
            style = "表头" if r == 0 else "表格文字"
            fmt._set_paragraph_style_id(paragraph._p, fmt.STYLE_IDS[style])
            if r > 0:
                paragraph.alignment = aligns[c]
            if r == 0:  # the header row keeps with the first body row
                paragraph.paragraph_format.keep_with_next = True
            text = "" if values[c] is None else str(values[c])
            if not text:
                continue
            run = paragraph.add_run(text)
            if r > 0 and c == status_col:
                status = fmt._status_of(text)
                if status is not None:
                    run._r.get_or_add_rPr().style = fmt._STATUS_STYLE_IDS[status]
    return tbl


def _reference_para(doc, text, style="公文正文"):
    paragraph = doc.add_paragraph()
    paragraph._p.style = fmt._style_id(doc, style)
    if text:
        paragraph.add_run(text)
    return paragraph


def _body_xml(doc) -> bytes:
    return etree.tostring(doc.element.body, encoding="UTF-8")


def _rows(n: int, ncols: int = 4) -> list[list[str | None]]:
    return [[AWKWARD[(i * ncols + c) % len(AWKWARD)] for c in range(ncols)] for i in range(n)]


@pytest.mark.parametrize("nrows", [0, 1, 2, 12, 13, 40])
@pytest.mark.parametrize("status_col", [None, 3])
def test_table_xml_equals_python_docx_cell_by_cell(nrows, status_col):
    header = ["序号<&>", " 单位", "类\t别", "状态"]
    widths = [20, 50, 60, 60]  # wider than the text block: scaled down
    align = ["center", "right", "justify", "left"]
    fast, slow = (fmt.new_document("t", CREATED) for _ in range(2))
    for doc, build in ((fast, fmt.table), (slow, _reference_table)):
        fmt.para(doc, "表前")
        build(doc, header, _rows(nrows), widths, align=align, status_col=status_col)
        fmt.para(doc, "表后")
    assert _body_xml(fast) == _body_xml(slow)


def test_table_default_alignment_and_returned_table_reads_back():
    fast, slow = (fmt.new_document("t", CREATED) for _ in range(2))
    rows = _rows(3, ncols=2)
    table = fmt.table(fast, ["a", "b"], rows, [30, 30])
    _reference_table(slow, ["a", "b"], rows, [30, 30])
    assert _body_xml(fast) == _body_xml(slow)
    assert [c.text for c in table.rows[1].cells] == [c.text for c in slow.tables[0].rows[1].cells]
    assert table.rows[0].cells[0].text == "a"


@pytest.mark.parametrize("style", ["公文正文", "一级标题", "图题"])
def test_para_xml_equals_python_docx(style):
    fast, slow = (fmt.new_document("t", CREATED) for _ in range(2))
    for text in [t for t in AWKWARD if t is not None]:
        fmt.para(fast, text, style=style)
        _reference_para(slow, text, style=style)
    assert _body_xml(fast) == _body_xml(slow)
    # paragraphs go before the section properties, which stay the body's last child
    assert fast.element.body[-1].tag == qn("w:sectPr")
    assert fast.paragraphs[0].text == "<&>\"'"


@pytest.mark.parametrize("text", CONTROL)
def test_text_xml_cannot_hold_is_refused_as_python_docx_refuses_it(text):
    with pytest.raises(ValueError) as slow_error:
        _reference_para(fmt.new_document("t", CREATED), text)
    with pytest.raises(ValueError) as para_error:
        fmt.para(fmt.new_document("t", CREATED), text)
    with pytest.raises(ValueError) as table_error:
        fmt.table(fmt.new_document("t", CREATED), ["h"], [[text]], [10])
    assert str(para_error.value) == str(table_error.value) == str(slow_error.value)


def test_whole_document_bytes_equal_python_docx():
    fast, slow = (fmt.new_document("t", CREATED) for _ in range(2))
    builders = ((fast, fmt.table, fmt.para), (slow, _reference_table, _reference_para))
    for doc, table, para in builders:
        para(doc, "一、总体情况 <&>")
        table(doc, ["代码", "问题", "级别", "条数"], _rows(30), [22, 90, 22, 22], status_col=1)
        para(doc, "a\tb\nc")
    assert fmt.save_bytes(fast) == fmt.save_bytes(slow)


_ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=15)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(st.one_of(st.none(), _ANY_TEXT), min_size=3, max_size=3), max_size=6))
def test_any_text_gives_python_docx_xml_or_its_error(rows):
    fast, slow = (fmt.new_document("t", CREATED) for _ in range(2))
    results = []
    for doc, build in ((fast, fmt.table), (slow, _reference_table)):
        try:
            build(doc, ["单位", "说明", "状态"], rows, [30, 60, 30], status_col=2)
            results.append(_body_xml(doc))
        except ValueError as exc:  # characters XML cannot hold: the same refusal
            results.append(str(exc))
    assert results[0] == results[1]
