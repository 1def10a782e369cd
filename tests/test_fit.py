"""Text sizing shared by the workbook writers (pdreport.template.fit)."""

from __future__ import annotations

import math
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdreport.template.fit import (
    LINE_HEIGHT,
    MAX_ROW_HEIGHT,
    RowHeights,
    chars_per_line,
    display_width,
    header_width,
    lines_that_fit,
    row_height,
    wrapped_lines,
)

# Chinese characters of 10 pt 宋体 that one line of a column holds, measured in LibreOffice's PDF
# export (column width → characters): the estimate may say fewer, never more.
MEASURED_10PT = {6: 3, 8: 5, 10: 6, 14: 8, 20: 12, 30: 18, 50: 30, 72: 44}
MEASURED_11PT = {6: 3, 8: 4, 10: 5, 20: 11, 30: 16, 50: 29}
MEASURED_LINE_PITCH = 14.4  # points between two lines of 10 pt text in the same export


def test_display_width():
    texts = ["", "abc", "碳达峰", "全角，标点！", "ｗｉｄｅ", "emoji 😀", "𠀀𠀁 astral", "\t混合 text",
             "a\n长长长长长长长长长长\n", "单位" * 40]  # fmt: skip
    for text in texts:
        wide = sum(unicodedata.east_asian_width(ch) in "WF" for ch in text)
        assert display_width(text) == len(text) + wide, text


@pytest.mark.parametrize(("size", "measured"), [(10, MEASURED_10PT), (11, MEASURED_11PT)])
def test_wrapping_errs_on_the_high_side_but_not_by_much(size, measured):
    for width, fits in measured.items():
        assert wrapped_lines("碳" * (fits + 1), width, size) >= 2, width  # never hides a line
        assert wrapped_lines("碳" * math.floor(fits * 0.8), width, size) == 1, width  # wastes little
        assert chars_per_line(width, size) <= 2 * fits


def test_wrapped_lines_counts_each_paragraph():
    per_line = chars_per_line(30)
    text = "a\n" + "长" * 40 + "\n"
    assert wrapped_lines(text, 30) == 1 + math.ceil(80 / per_line) + 1


def test_row_heights():
    assert LINE_HEIGHT >= MEASURED_LINE_PITCH
    assert row_height(1) < row_height(2) < row_height(3)
    assert row_height(1000) == MAX_ROW_HEIGHT
    for lines in (2, 5, 20):  # as tall as LibreOffice draws them
        assert row_height(lines) >= lines * MEASURED_LINE_PITCH
        assert row_height(lines, 11) >= lines * MEASURED_LINE_PITCH * 1.1
    n = lines_that_fit()
    assert row_height(n) < MAX_ROW_HEIGHT and (n + 1) * LINE_HEIGHT + 2 > MAX_ROW_HEIGHT


def test_header_width_keeps_a_title_on_one_line():
    for title in ("序号", "任务序号", "是否完成", "参与单位合计", "上年同期综合能耗（吨标准煤）"):
        w = header_width(title)
        assert wrapped_lines(title, w) == 1 and wrapped_lines(title + "长", w - 1) >= 2, title


class _Sheet:
    def __init__(self, name: str):
        self.name = name
        self.heights: dict[int, float] = {}

    def set_column(self, *_args) -> None:
        pass

    def set_row(self, row: int, height: float) -> None:
        self.heights[row] = height


_TEXT = st.one_of(st.text(alphabet="碳达峰ab1 \n，", max_size=120), st.integers(0, 10), st.none())


@given(rows=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3), st.lists(_TEXT, max_size=6)), max_size=12),
       font_size=st.sampled_from([10, 11]))  # fmt: skip
def test_fit_row_is_fit_cell_by_cell(rows, font_size):
    widths = {0: 6, 1: 14, 2: 30, 4: 8.5}  # (column 3 has no width set: never fitted)
    heights = []
    for by_row in (False, True):
        fitted, ws = RowHeights(font_size), _Sheet("明细")
        fitted.columns(ws, widths)
        for row, col, values in rows:
            if by_row:
                fitted.fit_row(ws, row, col, values)
            else:
                for c, text in enumerate(values, col):
                    if isinstance(text, str):
                        fitted.fit(ws, row, c, text)
        fitted.set_heights(ws)
        heights.append(ws.heights)
    assert heights[0] == heights[1]


def test_fit_row_on_a_sheet_without_widths_records_nothing():
    fitted, ws = RowHeights(), _Sheet("其他")
    fitted.fit_row(ws, 0, 0, ["碳" * 500])
    fitted.set_heights(ws)
    assert ws.heights == {}
