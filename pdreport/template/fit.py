"""Text sizing and print setup shared by every workbook pdreport writes.

Excel, WPS and LibreOffice do not fit the height of a row of wrapped text when a file is opened
(nor in merged cells ever), so each writer sets row heights itself from an estimate of how many
lines a text wraps to. The estimate errs on the high side: a row a little too tall wastes paper, a
row too short hides text.

Calibration (LibreOffice with the Noto CJK fonts standing in for 宋体, which measure like 宋体 in
Excel and WPS): in a column ``w`` units wide, 10 pt text holds about ``1.2·w`` half-width
characters per line (3 Chinese characters at w = 6, 18 at w = 30, 44 at w = 72), and one line
takes 14.4 pt. ``chars_per_line`` assumes ``1.15·w − 1``; ``LINE_HEIGHT`` is 14.5 pt.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping

MAX_ROW_HEIGHT = 409  # points: Excel's limit
LINE_HEIGHT = 14.5  # points per wrapped line of 10 pt text
ROW_PADDING = 2  # points above and below the lines of a row (LibreOffice needs none)
BASE_SIZE = 10  # the font size the two figures above are for


class _CharWidths(dict):
    """Character → display width, looked up in ``unicodedata`` once per distinct character (a few
    thousand at most), so measuring a text is one C-level pass over it."""

    def __missing__(self, ch: str) -> int:
        width = self[ch] = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        return width


_CHAR_WIDTH = _CharWidths()


def display_width(text: str) -> int:
    """Width in half-width characters (a Chinese character counts two)."""
    if text.isascii():  # no ASCII character is wide
        return len(text)
    return sum(map(_CHAR_WIDTH.__getitem__, text))


def chars_per_line(width: float, font_size: float = BASE_SIZE) -> float:
    """Half-width characters one line of a column ``width`` units wide holds (an underestimate)."""
    return max((width * 1.15 - 1.0) * BASE_SIZE / font_size, 2.0)


def wrapped_lines(text: str, width: float, font_size: float = BASE_SIZE) -> int:
    """How many lines ``text`` wraps to in a column ``width`` units wide (an estimate that errs on
    the high side)."""
    per_line = chars_per_line(width, font_size)
    if "\n" not in text:  # the usual case, without the generator
        return max(1, math.ceil(display_width(text) / per_line))
    return sum(max(1, math.ceil(display_width(p) / per_line)) for p in text.split("\n"))


def row_height(lines: int, font_size: float = BASE_SIZE) -> float:
    """Points a row needs to show ``lines`` lines of ``font_size`` text (Excel's limit at most)."""
    return min(MAX_ROW_HEIGHT, lines * LINE_HEIGHT * font_size / BASE_SIZE + ROW_PADDING)


def lines_that_fit(font_size: float = BASE_SIZE) -> int:
    """The most lines of ``font_size`` text a row can show (Excel caps a row at 409 pt)."""
    return int((MAX_ROW_HEIGHT - ROW_PADDING) // (LINE_HEIGHT * font_size / BASE_SIZE))


def header_width(title: str, font_size: float = BASE_SIZE) -> float:
    """The narrowest column width that keeps ``title`` on one line."""
    return math.ceil(((display_width(title) * font_size / BASE_SIZE) + 1.0) / 1.15 * 2) / 2


_NO_COLUMNS: dict[int, tuple[float, float]] = {}


class RowHeights:
    """The wrapped lines each row needs, per sheet; ``set_heights`` then sizes the rows.

    ``columns`` gives a sheet's column widths; ``fit`` records a cell's text (memoised by text and
    width: a sheet of 10,000 respondents repeats the same names and file names in every row), and
    ``fit_row`` the texts of a row of cells at once."""

    def __init__(self, font_size: float = BASE_SIZE):
        self.font_size = font_size
        self._wraps: dict[tuple[str, float], int] = {}  # (text, column width) → wrapped lines
        # sheet → column → (width, half-width characters a line holds): fit runs once per cell
        self._columns: dict[str, dict[int, tuple[float, float]]] = {}
        self._lines: dict[str, dict[int, int]] = {}  # sheet → row → wrapped lines needed

    def columns(self, ws, widths: Mapping[int, float]) -> None:
        """Set the sheet's column widths and remember them for ``fit``."""
        self._columns[ws.name] = {col: (width, chars_per_line(width, self.font_size))
                                  for col, width in widths.items() if width}  # fmt: skip
        for col, width in widths.items():
            ws.set_column(col, col, width)

    def fit(self, ws, row: int, col: int, text: str) -> None:
        if not text:
            return
        column = self._columns.get(ws.name, _NO_COLUMNS).get(col)
        if column is not None:
            self.need(ws, row, self._wrapped(text, column))

    def fit_row(self, ws, row: int, col: int, values) -> None:
        """``fit`` for each text of ``values``, in the cells from (``row``, ``col``) rightwards, in
        one call (a sheet of 10,000 respondents has hundreds of thousands of cells)."""
        columns = self._columns.get(ws.name)
        if not columns:
            return
        most = 1
        for c, text in enumerate(values, col):
            if text and isinstance(text, str):
                column = columns.get(c)
                if column is not None:
                    most = max(most, self._wrapped(text, column))
        self.need(ws, row, most)

    def _wrapped(self, text: str, column: tuple[float, float]) -> int:
        """The lines ``text`` wraps to in a column (width, characters a line holds), memoised."""
        # Most cells are one short line: a text of n characters is at most 2n wide, so when 2n fits
        # wrapped_lines would say 1 and there is nothing to record (set_heights skips 1-line rows).
        if len(text) * 2 <= column[1] and "\n" not in text:
            return 1
        key = (text, column[0])
        n = self._wraps.get(key)
        if n is None:
            n = self._wraps[key] = wrapped_lines(text, column[0], self.font_size)
        return n

    def need(self, ws, row: int, lines: int) -> None:
        """Row ``row`` needs at least ``lines`` lines."""
        if lines > 1:
            rows = self._lines.setdefault(ws.name, {})
            if lines > rows.get(row, 1):
                rows[row] = lines

    def set_heights(self, ws) -> None:
        for row, n in sorted(self._lines.get(ws.name, {}).items()):
            if n > 1:
                ws.set_row(row, row_height(n, self.font_size))


def a4_print(ws, landscape: bool = True, footer: str = "&L&A&R第 &P 页，共 &N 页") -> None:
    """A4, one page wide (as many pages down as it takes), centred, numbered pages (xlsxwriter)."""
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.center_horizontally()
    ws.set_footer(footer)
