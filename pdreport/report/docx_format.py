"""Official-document (GB/T 9704-2012) formatting for the Word report, on top of python-docx.

Two layers, in this order in the file:

* the **document layer** — ``new_document`` and the helpers ``title``, ``para``, ``heading``,
  ``page_break``, ``attachment``, ``signature``, ``table``, ``picture`` and ``save_bytes``. They
  speak in styles, millimetres and Chinese text, and are what ``render.py`` uses;
* the **XML layer** below the line ``# ---- XML helpers`` — small functions over ``docx.oxml``
  elements for what python-docx has no API for (East Asian fonts, character-unit indents, table
  borders and header rows, fields, the settings part), and for building paragraphs and table
  rows in bulk (python-docx's API takes time growing with the square of a long report).

Every look is a named project style (``公文正文``, ``一级标题`` …) defined once in
``new_document``; helpers only pick a style. Each style names its fonts explicitly
(``w:ascii``/``w:hAnsi`` Times New Roman, ``w:eastAsia`` the Chinese font) and carries no theme
font attribute, so Word never falls back to the theme's Calibri/等线. Linux has none of the official
fonts: see docs/report-format.md and docs/fonts.conf for rendering with substitutes.
"""

from __future__ import annotations

import copy
import datetime as _dt
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from docx import Document as _new_docx
from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.table import CT_Tbl
from docx.shared import Mm
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from lxml import etree

from .charts import STATUS_BOLD, STATUS_COLOURS

__all__ = [
    "FONT_FANGSONG",
    "FONT_HEITI",
    "FONT_KAITI",
    "FONT_LATIN",
    "FONT_SONG",
    "FONT_TITLE",
    "STATUS_COLOURS",
    "STYLE_IDS",
    "TEXT_WIDTH_MM",
    "attachment",
    "attachment_note",
    "heading",
    "new_document",
    "page_break",
    "para",
    "picture",
    "save_bytes",
    "set_east_asian_font",
    "signature",
    "strip_theme_fonts",
    "table",
    "title",
]

# ---- Page geometry (GB/T 9704-2012 §5.2) ------------------------------------------------------

PAGE_WIDTH_MM = 210.0
PAGE_HEIGHT_MM = 297.0
MARGIN_TOP_MM = 37.0
MARGIN_BOTTOM_MM = 35.0
MARGIN_LEFT_MM = 28.0
MARGIN_RIGHT_MM = 26.0
TEXT_WIDTH_MM = PAGE_WIDTH_MM - MARGIN_LEFT_MM - MARGIN_RIGHT_MM  # 156 mm
# The page number's dash sits 7 mm below the text block: a 14 pt line is ~6 mm high.
FOOTER_DISTANCE_MM = 22.0
HEADER_DISTANCE_MM = 15.0

# ---- Fonts -------------------------------------------------------------------------------------

FONT_LATIN = "Times New Roman"
FONT_FANGSONG = "仿宋_GB2312"
FONT_KAITI = "楷体_GB2312"
FONT_HEITI = "黑体"
FONT_SONG = "宋体"
FONT_TITLE = "方正小标宋简体"

# Word uses altName when the named font is missing (a stock Windows has 仿宋 and 楷体 but not the
# _GB2312 variants); charset 86 = GB2312.
_FONT_TABLE: tuple[tuple[str, str | None, str], ...] = (
    (FONT_FANGSONG, "仿宋", "modern"),
    (FONT_KAITI, "楷体", "modern"),
    (FONT_HEITI, "SimHei", "modern"),
    (FONT_SONG, "SimSun", "auto"),
    (FONT_TITLE, "宋体", "script"),
)

# ---- Sizes (Chinese point names) ---------------------------------------------------------------

SIZE_2HAO = 22.0  # 二号
SIZE_XIAO2 = 18.0  # 小二
SIZE_3HAO = 16.0  # 三号
SIZE_4HAO = 14.0  # 四号
SIZE_XIAO4 = 12.0  # 小四

BODY_LINE_PT = 28.95  # 22 lines in the 225 mm text block
TITLE_LINE_PT = 35.0
TABLE_LINE_PT = 18.0
# A table body row estimated taller than this many lines (12 × 18 pt, about a third of the text
# block) may break across pages: kept whole, a row that does not fit moves to the next page and
# can leave a third of a page or more blank above it. Shorter rows never split.
ROW_SPLIT_LINES = 12
# Word's default left and right cell margin (1.9 mm), where a table does not set its own
_DEFAULT_CELL_MARGIN_TWIPS = 108
# 28 characters of 三号 (16 pt) do not fit in 156 mm (28 x 16 pt = 158 mm): Word templates get the
# standard's 28 characters a line from a character grid, which also re-spaces every table and
# title. Condensing the 16 pt text by 0.25 pt a character (w:spacing in twentieths of a point)
# gives the same 28 characters with no grid.
BODY_CHAR_SPACING = -5

# ---- Styles --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _StyleSpec:
    name: str
    style_id: str
    east_asia: str
    size_pt: float
    latin: str = FONT_LATIN
    bold: bool = False
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.JUSTIFY
    line_exact_pt: float | None = BODY_LINE_PT  # None: single (auto) line spacing
    first_line_chars: int = 0  # hundredths of a character, as in w:firstLineChars
    right_chars: int = 0
    before_lines: int = 0  # hundredths of a line
    after_lines: int = 0
    outline_level: int | None = None
    keep_next: bool = False
    next_style: str | None = None
    condensed: bool = False  # tighten to the 28-characters-a-line grid (see BODY_CHAR_SPACING)


# Names are what users see in Word's style pane; the ids are ASCII so every consumer copes.
_PARAGRAPH_STYLES: tuple[_StyleSpec, ...] = (
    _StyleSpec("公文正文", "GwBody", FONT_FANGSONG, SIZE_3HAO, first_line_chars=200, condensed=True),
    _StyleSpec(
        "公文标题", "GwTitle", FONT_TITLE, SIZE_2HAO, align=WD_ALIGN_PARAGRAPH.CENTER,
        line_exact_pt=TITLE_LINE_PT, after_lines=100, keep_next=True, next_style="公文正文",
    ),
    _StyleSpec(
        "一级标题", "GwHeading1", FONT_HEITI, SIZE_3HAO, first_line_chars=200, condensed=True,
        outline_level=0, keep_next=True, next_style="公文正文",
    ),
    _StyleSpec(
        "二级标题", "GwHeading2", FONT_KAITI, SIZE_3HAO, first_line_chars=200, condensed=True,
        outline_level=1, keep_next=True, next_style="公文正文",
    ),
    _StyleSpec(
        "三级标题", "GwHeading3", FONT_FANGSONG, SIZE_3HAO, bold=True, first_line_chars=200,
        condensed=True,
        outline_level=2, keep_next=True, next_style="公文正文",
    ),
    _StyleSpec(
        "表格文字", "GwTableText", FONT_FANGSONG, SIZE_XIAO4, line_exact_pt=TABLE_LINE_PT,
        align=WD_ALIGN_PARAGRAPH.LEFT,
    ),
    _StyleSpec(
        "表头", "GwTableHeader", FONT_HEITI, SIZE_XIAO4, bold=True, line_exact_pt=TABLE_LINE_PT,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    ),
    _StyleSpec(
        "附件标识", "GwAttachmentMark", FONT_HEITI, SIZE_3HAO, align=WD_ALIGN_PARAGRAPH.LEFT,
        keep_next=True,
    ),
    _StyleSpec(
        "附件标题", "GwAttachmentTitle", FONT_TITLE, SIZE_XIAO2, align=WD_ALIGN_PARAGRAPH.CENTER,
        line_exact_pt=BODY_LINE_PT, before_lines=50, after_lines=100, keep_next=True,
        next_style="公文正文",
    ),
    _StyleSpec(
        "署名", "GwSignature", FONT_FANGSONG, SIZE_3HAO, align=WD_ALIGN_PARAGRAPH.RIGHT,
        right_chars=200, before_lines=100, keep_next=True, next_style="日期",
    ),
    _StyleSpec(
        "日期", "GwDate", FONT_FANGSONG, SIZE_3HAO, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=200,
    ),
    _StyleSpec(
        "图片", "GwFigure", FONT_FANGSONG, SIZE_3HAO, align=WD_ALIGN_PARAGRAPH.CENTER,
        line_exact_pt=None, keep_next=True, next_style="图题",
    ),
    _StyleSpec(
        "表题", "GwTableCaption", FONT_FANGSONG, SIZE_4HAO, align=WD_ALIGN_PARAGRAPH.CENTER,
        line_exact_pt=BODY_LINE_PT, before_lines=50, keep_next=True,
    ),
    _StyleSpec(
        "图题", "GwCaption", FONT_FANGSONG, SIZE_4HAO, align=WD_ALIGN_PARAGRAPH.CENTER,
        line_exact_pt=BODY_LINE_PT, after_lines=50, next_style="公文正文",
    ),
    _StyleSpec(
        "页码", "GwPageNumber", FONT_SONG, SIZE_4HAO, latin=FONT_SONG,
        align=WD_ALIGN_PARAGRAPH.RIGHT, line_exact_pt=None,
    ),
    # A page break's own paragraph: 1 pt high, so the paragraph mark that follows the break onto
    # the next page takes no visible room.
    _StyleSpec("分页", "GwPageBreak", FONT_FANGSONG, 1.0, line_exact_pt=1.0),
)

# Character styles for the status column of tables (colour from charts.STATUS_COLOURS).
_STATUS_STYLE_IDS: dict[str, str] = {
    "已完成": "GwStatusDone",
    "序时推进": "GwStatusOnTrack",
    "滞后": "GwStatusBehind",
    "未报送": "GwStatusMissing",
    "数据有误": "GwStatusError",
    "不考核": "GwStatusExempt",
}

#: Style name → style id, for every project style (paragraph and character).
STYLE_IDS: dict[str, str] = {s.name: s.style_id for s in _PARAGRAPH_STYLES} | {
    f"状态-{status}": sid for status, sid in _STATUS_STYLE_IDS.items()
}

HEADING_STYLES: dict[int, str] = {1: "一级标题", 2: "二级标题", 3: "三级标题"}


# ================================================================================================
# Document layer
# ================================================================================================


def new_document(core_title: str, created: _dt.datetime) -> Document:
    """An empty A4 official document with the project styles, page numbers and fixed metadata.

    ``created`` is written as created/modified/last-printed time so the same input gives the same
    file (a naive value is taken as UTC).
    """
    doc = _new_docx()
    _drop_template_leftovers(doc)
    _set_core_properties(doc, core_title, created)

    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width = Mm(PAGE_WIDTH_MM)
    section.page_height = Mm(PAGE_HEIGHT_MM)
    section.top_margin = Mm(MARGIN_TOP_MM)
    section.bottom_margin = Mm(MARGIN_BOTTOM_MM)
    section.left_margin = Mm(MARGIN_LEFT_MM)
    section.right_margin = Mm(MARGIN_RIGHT_MM)
    section.gutter = Mm(0)
    section.header_distance = Mm(HEADER_DISTANCE_MM)
    section.footer_distance = Mm(FOOTER_DISTANCE_MM)
    section.different_first_page_header_footer = False  # page 1 is numbered too
    _set_doc_grid(section._sectPr, line_pitch_twips=_twips(BODY_LINE_PT))

    _define_styles(doc)
    _add_fonts_to_font_table(doc)

    doc.settings.odd_and_even_pages_header_footer = True
    _page_number_footer(section.footer.paragraphs[0], odd=True)
    _page_number_footer(section.even_page_footer.paragraphs[0], odd=False)
    return doc


def title(doc: Document, text: str) -> Paragraph:
    """The document title (二号方正小标宋简体, centred); ``\n`` in ``text`` is a line break, which
    is how a long title keeps its words whole (GB/T 9704 §7.2.3: lines broken between words)."""
    return para(doc, text, style="公文标题")


def para(doc: Document, text: str, style: str = "公文正文") -> Paragraph:
    """A paragraph of ``text`` in a project style; ``\\n`` in text becomes a line break."""
    # built directly, not with add_paragraph()/add_run(): the same XML, without python-docx's
    # per-call child searches (appending to the body is a scan of the whole body there)
    p = _new_paragraph(_style_id(doc, style))
    if text:
        _append_run(p, text)
    _append_block(doc, p)
    return Paragraph(p, doc._body)


def _style_id(doc: Document, style: str) -> str | None:
    """The paragraph style's id as python-docx resolves it (None for the default style), cached
    per document: resolving a style scans the styles part, which adds up over a long report."""
    cache = doc.__dict__.setdefault("_pdreport_style_ids", {})
    if style not in cache:
        cache[style] = doc.part.get_style_id(doc.styles[style], WD_STYLE_TYPE.PARAGRAPH)
    return cache[style]


def heading(doc: Document, text: str, level: int) -> Paragraph:
    """A heading of level 1 (``一、`` 黑体), 2 (``（一）`` 楷体) or 3 (``1.`` 仿宋加粗).

    The text carries its own number (``"一、总体情况"``): numbering is the author's, as in a
    typed document, not Word list numbering.
    """
    try:
        style = HEADING_STYLES[level]
    except KeyError:
        raise ValueError(f"heading level must be 1, 2 or 3, not {level!r}") from None
    return para(doc, text, style=style)


def page_break(doc: Document) -> Paragraph:
    """Start a new page (a 1 pt paragraph holding the break)."""
    paragraph = doc.add_paragraph(style=doc.styles["分页"])
    paragraph.add_run().add_break(WD_BREAK.PAGE)
    return paragraph


def attachment(doc: Document, number: int, title: str) -> Paragraph:
    """Start attachment ``number`` on a new page: ``附件N`` top left, then its title centred
    (``\n`` in ``title`` is a line break, as in ``title``).

    Returns the title paragraph.
    """
    mark = para(doc, f"附件{number}", style="附件标识")
    mark.paragraph_format.page_break_before = True
    return para(doc, title, style="附件标题")


def _keep_last_with_next(doc: Document) -> None:
    """The body's last paragraph kept on the page of what comes next (the 附件说明 or 落款): a page
    holding only the 落款 and 成文日期, with no text of the body, is what GB/T 9704 practice avoids
    (the last lines of the body move over with it)."""
    last = next((el for el in reversed(doc.element.body) if el.tag in (qn("w:p"), qn("w:tbl"))), None)
    if last is not None and last.tag == qn("w:p"):
        Paragraph(last, doc).paragraph_format.keep_with_next = True


def attachment_note(doc: Document, titles: Sequence[str]) -> list[Paragraph]:
    """附件说明 (GB/T 9704 §7.3.4): one blank line below the body, "附件：1. 名称" two characters
    in; further attachments on their own lines, aligned under the first name (after "附件：").
    It stays on one page with the body's last paragraph and the 落款 after it."""
    _keep_last_with_next(doc)
    out = []
    for i, name in enumerate(titles, 1):
        number = f"{i}. " if len(titles) > 1 else ""
        p = para(doc, f"{'附件：' if i == 1 else ''}{number}{name}")
        if i > 1:
            _set_indent_chars(p._p.get_or_add_pPr(), SIZE_3HAO, left=500)
        else:
            _set_spacing(p._p.get_or_add_pPr(), line_exact_pt=BODY_LINE_PT, before_lines=100, after_lines=0,
                         line_pt_for_lines=BODY_LINE_PT)  # (the blank line)  # fmt: skip
        p.paragraph_format.keep_with_next = True
        out.append(p)
    return out


def signature(doc: Document, issuer: str, date_text: str) -> tuple[Paragraph, Paragraph]:
    """落款 as GB/T 9704 §7.3.5.2 lays out a document without a seal (the report is circulated as
    the office prints it): one blank line below the body (or 附件说明), the issuing office two
    characters in from the right margin, and on the next line the 成文日期 starting two characters
    right of the office's first character; a date longer than that ends two characters in, and the
    office moves left to keep its first character two before the date's."""
    office, date = _text_chars(issuer), _text_chars(date_text)
    start = max(2 + office, 4 + date)  # the office's first character, in characters from the right
    _keep_last_with_next(doc)  # (never a page of 落款 alone)
    sign, when = para(doc, issuer, style="署名"), para(doc, date_text, style="日期")
    sign.paragraph_format.keep_with_next = True
    _set_indent_chars(sign._p.get_or_add_pPr(), SIZE_3HAO, right=round((start - office) * 100))
    _set_indent_chars(when._p.get_or_add_pPr(), SIZE_3HAO, right=round((start - 2 - date) * 100))
    return sign, when


def _text_chars(text: str) -> float:
    """Width of a line of text in characters of its size: Chinese characters and full-width forms
    one each, Arabic digits and other ASCII half (as 仿宋 sets the digits of a date), plus the
    space Word and LibreOffice put between Chinese and digits (autoSpaceDN, about a fifth of a
    character at each change: 2024年7月15日 has five)."""
    wide = [ord(ch) >= 0x2E80 for ch in text]
    changes = sum(a != b for a, b in zip(wide, wide[1:], strict=False))
    return sum(1 if w else 0.5 for w in wide) + 0.2 * changes


_ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "centre": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
}


def table(
    doc: Document,
    header: list[str],
    rows: list[list[str]],
    widths_mm: list[float],
    align: list[str] | None = None,
    status_col: int | None = None,
    caption: str = "",
    cell_margin_mm: float | None = None,
) -> Table:
    """A ruled, centred table with fixed column widths and a header row repeated on every page.

    ``align`` gives each column's body alignment (``left``/``center``/``right``/``justify``;
    default left). ``status_col`` is the index of a column whose text starts with a status
    (已完成, 序时推进, 滞后, 未报送, 数据有误, 不考核): it is coloured with that status's character
    style. Column widths wider in total than the text block are scaled down to fit it.
    ``caption`` (表题, e.g. "表1  总体目标完成情况") goes above the table, kept with it.
    ``cell_margin_mm``: left and right cell margins (default: Word's 1.9 mm), for a table whose
    columns need every millimetre to keep their text on one line.

    The header repeats on every page. A row never splits unless it is estimated taller than
    ``ROW_SPLIT_LINES`` lines (``_row_lines``): such a row may continue on the next page rather
    than leave much of a page blank. Only the caption and the header row are kept with what
    follows (neither sits alone at a page foot); body rows are not, so a table starts where it
    stands and continues on the next page instead of leaving a page part blank.
    """
    ncols = len(header)
    if ncols == 0:
        raise ValueError("a table needs at least one column")
    if len(widths_mm) != ncols:
        raise ValueError(f"{len(widths_mm)} widths for {ncols} columns")
    if align is not None and len(align) != ncols:
        raise ValueError(f"{len(align)} alignments for {ncols} columns")
    for i, row in enumerate(rows):
        if len(row) != ncols:
            raise ValueError(f"row {i + 1} has {len(row)} cells, the header {ncols}")
    if status_col is not None and not 0 <= status_col < ncols:
        raise ValueError(f"status_col {status_col} is not a column index")
    total = sum(widths_mm)
    if total > TEXT_WIDTH_MM:
        widths_mm = [w * TEXT_WIDTH_MM / total for w in widths_mm]
    widths = [_mm_to_twips(w) for w in widths_mm]
    aligns = [_ALIGN[a.lower()] for a in align] if align else [WD_ALIGN_PARAGRAPH.LEFT] * ncols

    if caption:
        para(doc, caption, style="表题")
    tbl = doc.add_table(rows=0, cols=ncols)
    tbl.alignment = WD_TABLE_ALIGNMENT.CENTER
    _set_table_geometry(tbl._tbl, widths)
    _set_table_borders(tbl._tbl, size_eighths=4)
    margin = _DEFAULT_CELL_MARGIN_TWIPS
    if cell_margin_mm is not None:
        margin = _mm_to_twips(cell_margin_mm)
        _set_cell_margins(tbl._tbl, margin)

    # Rows are copies of a formatted empty row with the text added: formatting cell by cell
    # through python-docx costs ~1 ms a row (10,000 respondents, 10 s) for the same XML.
    header_row = _row_template(widths, header=True, aligns=None, keep_next=True)
    body_row = _row_template(widths, header=False, aligns=aligns, keep_next=False)
    _append_rows(tbl._tbl, header_row, [header], status_col=None)
    _append_rows(tbl._tbl, body_row, rows, status_col,
                 split=lambda values: _row_lines(values, widths, margin) > ROW_SPLIT_LINES)  # fmt: skip
    return tbl


def picture(doc: Document, png_bytes: bytes, width_mm: float, caption: str) -> Paragraph:
    """A centred picture ``width_mm`` wide with ``caption`` (图题) below it.

    Returns the caption paragraph.
    """
    paragraph = doc.add_paragraph(style=doc.styles["图片"])
    paragraph.add_run().add_picture(io.BytesIO(png_bytes), width=Mm(min(width_mm, TEXT_WIDTH_MM)))
    return para(doc, caption, style="图题")


_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def save_bytes(doc: Document) -> bytes:
    """The .docx as bytes; the same document always gives the same bytes.

    python-docx stamps every zip member with the current time: the archive is rewritten with a
    fixed time, members in the same order.
    """
    raw = io.BytesIO()
    doc.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            fixed.create_system = 0
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


# ================================================================================================
# ---- XML helpers (docx.oxml) -------------------------------------------------------------------
# ================================================================================================

_THEME_FONT_ATTRS = ("w:asciiTheme", "w:eastAsiaTheme", "w:hAnsiTheme", "w:cstheme")

_RPR_ORDER = (
    "w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps", "w:strike",
    "w:dstrike", "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof", "w:snapToGrid",
    "w:vanish", "w:webHidden", "w:color", "w:spacing", "w:w", "w:kern", "w:position", "w:sz",
    "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd", "w:fitText", "w:vertAlign",
    "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath",
)
_PPR_ORDER = (
    "w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl",
    "w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens",
    "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN",
    "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
    "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
    "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)
_TBLPR_ORDER = (
    "w:tblStyle", "w:tblpPr", "w:tblOverlap", "w:bidiVisual", "w:tblStyleRowBandSize",
    "w:tblStyleColBandSize", "w:tblW", "w:jc", "w:tblCellSpacing", "w:tblInd", "w:tblBorders",
    "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption", "w:tblDescription",
)
_TRPR_ORDER = (
    "w:cnfStyle", "w:divId", "w:gridBefore", "w:gridAfter", "w:wBefore", "w:wAfter",
    "w:cantSplit", "w:trHeight", "w:tblHeader", "w:tblCellSpacing", "w:jc", "w:hidden",
)
_SECTPR_ORDER = (
    "w:headerReference", "w:footerReference", "w:footnotePr", "w:endnotePr", "w:type", "w:pgSz",
    "w:pgMar", "w:paperSrc", "w:pgBorders", "w:lnNumType", "w:pgNumType", "w:cols", "w:formProt",
    "w:vAlign", "w:noEndnote", "w:titlePg", "w:textDirection", "w:bidi", "w:rtlGutter",
    "w:docGrid", "w:printerSettings", "w:sectPrChange",
)
_FONT_ORDER = (
    "w:altName", "w:panose1", "w:charset", "w:family", "w:notTrueType", "w:pitch", "w:sig",
    "w:embedRegular", "w:embedBold", "w:embedItalic", "w:embedBoldItalic",
)


def _twips(pt: float) -> int:
    return round(pt * 20)


def _mm_to_twips(mm: float) -> int:
    return round(mm * 1440 / 25.4)


def _child(parent, tag: str, order: Sequence[str]):
    """The ``tag`` child of ``parent``, created in schema position (``order``) if absent."""
    found = parent.find(qn(tag))
    if found is not None:
        return found
    element = OxmlElement(tag)
    later = set(order[order.index(tag) + 1 :])
    for i, existing in enumerate(parent):
        if _prefixed(existing.tag) in later:
            parent.insert(i, element)
            return element
    parent.append(element)
    return element


def _prefixed(clark: str) -> str:
    """``{ns}local`` → ``w:local`` for the main namespace (other namespaces unchanged)."""
    w_ns = qn("w:x")[:-1]
    return "w:" + clark[len(w_ns) :] if clark.startswith(w_ns) else clark


def strip_theme_fonts(rPr) -> None:
    """Remove theme font attributes from the ``w:rFonts`` of ``rPr`` (a ``w:rPr`` or ``w:rFonts``).

    Theme attributes win over the explicit names in Word, so a style with both would show the
    theme's Calibri/等线 instead of the official font.
    """
    r_fonts = rPr if rPr.tag == qn("w:rFonts") else rPr.find(qn("w:rFonts"))
    if r_fonts is None:
        return
    for attr in _THEME_FONT_ATTRS:
        r_fonts.attrib.pop(qn(attr), None)


def set_east_asian_font(run_or_style_element, font: str, latin: str | None = FONT_LATIN) -> None:
    """Name ``font`` as the East Asian font (and ``latin`` as ascii/hAnsi/cs) of a run or style.

    Accepts a python-docx ``Run``/style object, or a ``w:r``, ``w:style``, ``w:rPr`` or
    ``w:rPrDefault`` element; theme font attributes are removed.
    """
    element = getattr(run_or_style_element, "element", run_or_style_element)
    element = getattr(element, "_r", element)
    r_pr = element if element.tag == qn("w:rPr") else _child(element, "w:rPr", _RPR_CONTAINERS)
    r_fonts = _child(r_pr, "w:rFonts", _RPR_ORDER)
    strip_theme_fonts(r_fonts)
    if latin is not None:
        for attr in ("w:ascii", "w:hAnsi", "w:cs"):
            r_fonts.set(qn(attr), latin)
    r_fonts.set(qn("w:eastAsia"), font)


# rPr is the last child of w:r's properties and comes after pPr in a w:style; this order is
# enough to place it in w:r (first child), w:style (after pPr) and w:rPrDefault (only child).
_RPR_CONTAINERS = (
    "w:name", "w:aliases", "w:basedOn", "w:next", "w:link", "w:autoRedefine", "w:hidden",
    "w:uiPriority", "w:semiHidden", "w:unhideWhenUsed", "w:qFormat", "w:locked", "w:personal",
    "w:personalCompose", "w:personalReply", "w:rsid", "w:pPr", "w:rPr", "w:tblPr", "w:trPr",
    "w:tcPr", "w:tblStylePr", "w:t", "w:br", "w:tab", "w:fldChar", "w:instrText", "w:drawing",
)


def _set_size(r_pr, size_pt: float) -> None:
    half_points = str(round(size_pt * 2))
    for tag in ("w:sz", "w:szCs"):
        _child(r_pr, tag, _RPR_ORDER).set(qn("w:val"), half_points)


def _set_lang(r_pr) -> None:
    lang = _child(r_pr, "w:lang", _RPR_ORDER)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    lang.set(qn("w:bidi"), "ar-SA")


def _set_bold(r_pr, bold: bool) -> None:
    for tag in ("w:b", "w:bCs"):
        if bold:
            _child(r_pr, tag, _RPR_ORDER).attrib.pop(qn("w:val"), None)
        else:
            for element in r_pr.findall(qn(tag)):
                r_pr.remove(element)


def _set_colour(r_pr, hex_colour: str) -> None:
    _child(r_pr, "w:color", _RPR_ORDER).set(qn("w:val"), hex_colour.lstrip("#").upper())


def _set_indent_chars(p_pr, size_pt: float, *, first_line: int = 0, right: int = 0,
                      left: int = 0) -> None:
    """Indents in hundredths of a character, plus the twips Word falls back to without them."""
    ind = p_pr.get_or_add_ind()
    for attr in ("w:firstLine", "w:firstLineChars", "w:hanging", "w:hangingChars", "w:left",
                 "w:leftChars", "w:right", "w:rightChars", "w:start", "w:end"):
        ind.attrib.pop(qn(attr), None)
    char_twips = size_pt * 20
    ind.set(qn("w:firstLineChars"), str(first_line))
    ind.set(qn("w:firstLine"), str(round(first_line / 100 * char_twips)))
    ind.set(qn("w:leftChars"), str(left))
    ind.set(qn("w:left"), str(round(left / 100 * char_twips)))
    ind.set(qn("w:rightChars"), str(right))
    ind.set(qn("w:right"), str(round(right / 100 * char_twips)))


def _set_spacing(p_pr, *, line_exact_pt: float | None, before_lines: int, after_lines: int,
                 line_pt_for_lines: float) -> None:
    spacing = p_pr.get_or_add_spacing()
    spacing.attrib.clear()
    spacing.set(qn("w:before"), str(round(before_lines / 100 * _twips(line_pt_for_lines))))
    spacing.set(qn("w:beforeLines"), str(before_lines))
    spacing.set(qn("w:after"), str(round(after_lines / 100 * _twips(line_pt_for_lines))))
    spacing.set(qn("w:afterLines"), str(after_lines))
    if line_exact_pt is None:
        spacing.set(qn("w:line"), "240")
        spacing.set(qn("w:lineRule"), "auto")
    else:
        spacing.set(qn("w:line"), str(_twips(line_exact_pt)))
        spacing.set(qn("w:lineRule"), "exact")


def _define_styles(doc: Document) -> None:
    styles = doc.styles
    root = styles.element

    # Document defaults and every built-in style: explicit fonts, no theme fonts.
    r_pr_default = root.find(qn("w:docDefaults") + "/" + qn("w:rPrDefault") + "/" + qn("w:rPr"))
    set_east_asian_font(r_pr_default, FONT_FANGSONG)
    _set_size(r_pr_default, SIZE_3HAO)
    _set_lang(r_pr_default)
    p_pr_default = root.find(qn("w:docDefaults") + "/" + qn("w:pPrDefault") + "/" + qn("w:pPr"))
    spacing = p_pr_default.find(qn("w:spacing"))
    if spacing is not None:
        spacing.attrib.clear()
        spacing.set(qn("w:after"), "0")
        spacing.set(qn("w:line"), "240")
        spacing.set(qn("w:lineRule"), "auto")
    # Punctuation may hang past the line's end (Word's default, said explicitly): LibreOffice, left
    # to its own default, drops a "、" or "，" that falls at the end of a full line of the
    # condensed body text, in print and PDF alike
    _child(p_pr_default, "w:overflowPunct", _PPR_ORDER).set(qn("w:val"), "1")
    for r_fonts in root.iter(qn("w:rFonts")):
        strip_theme_fonts(r_fonts)
        if not r_fonts.attrib:
            r_fonts.getparent().remove(r_fonts)
    normal = styles["Normal"]
    set_east_asian_font(normal, FONT_FANGSONG)
    _set_size(normal.element.get_or_add_rPr(), SIZE_3HAO)
    normal.paragraph_format.widow_control = False

    for spec in _PARAGRAPH_STYLES:
        style = styles.add_style(spec.name, WD_STYLE_TYPE.PARAGRAPH)
        style.style_id = spec.style_id
        style.base_style = normal
        style.quick_style = True
        style.hidden = False
        style.unhide_when_used = False
        style.priority = 1
        r_pr = style.element.get_or_add_rPr()
        set_east_asian_font(style, spec.east_asia, latin=spec.latin)
        _set_size(r_pr, spec.size_pt)
        _set_bold(r_pr, spec.bold)
        if spec.condensed:
            _child(r_pr, "w:spacing", _RPR_ORDER).set(qn("w:val"), str(BODY_CHAR_SPACING))
        if spec.latin == FONT_SONG:
            r_pr.find(qn("w:rFonts")).set(qn("w:hint"), "eastAsia")
        fmt = style.paragraph_format
        fmt.alignment = spec.align
        fmt.widow_control = False
        fmt.keep_with_next = spec.keep_next
        p_pr = style.element.get_or_add_pPr()
        _set_spacing(p_pr, line_exact_pt=spec.line_exact_pt, before_lines=spec.before_lines,
                     after_lines=spec.after_lines, line_pt_for_lines=BODY_LINE_PT)
        _set_indent_chars(p_pr, spec.size_pt, first_line=spec.first_line_chars,
                          right=spec.right_chars)
        if spec.outline_level is not None:
            p_pr.get_or_add_outlineLvl().set(qn("w:val"), str(spec.outline_level))
    for spec in _PARAGRAPH_STYLES:
        if spec.next_style:
            styles[spec.name].next_paragraph_style = styles[spec.next_style]

    for status, style_id in _STATUS_STYLE_IDS.items():
        style = styles.add_style(f"状态-{status}", WD_STYLE_TYPE.CHARACTER)
        style.style_id = style_id
        style.hidden = False
        style.unhide_when_used = False
        r_pr = style.element.get_or_add_rPr()
        colour = STATUS_COLOURS.get(status)
        if colour:
            _set_colour(r_pr, colour)
        if status in STATUS_BOLD:
            _set_bold(r_pr, True)


def _set_paragraph_style_id(p, style_id: str) -> None:
    p.get_or_add_pPr().style = style_id


def _status_of(text: str) -> str | None:
    stripped = text.strip()
    for status in STATUS_COLOURS:
        if stripped.startswith(status):
            return status
    return None


def _set_doc_grid(sect_pr, line_pitch_twips: int) -> None:
    grid = _child(sect_pr, "w:docGrid", _SECTPR_ORDER)
    grid.attrib.clear()
    grid.set(qn("w:linePitch"), str(line_pitch_twips))


def _page_number_footer(paragraph: Paragraph, *, odd: bool) -> None:
    """``— N —`` with a PAGE field: odd pages right (one character in), even pages left."""
    p = paragraph._p
    for child in list(p):
        p.remove(child)
    _set_paragraph_style_id(p, STYLE_IDS["页码"])
    p_pr = p.get_or_add_pPr()
    p_pr.get_or_add_jc().set(qn("w:val"), "right" if odd else "left")
    if odd:
        _set_indent_chars(p_pr, SIZE_4HAO, right=100)
    else:
        _set_indent_chars(p_pr, SIZE_4HAO, left=100)
    _append_text_run(p, "— ")
    _append_field(p, "PAGE", placeholder="1")
    _append_text_run(p, " —")


def _append_text_run(p, text: str):
    r = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = text
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    r.append(t)
    p.append(r)
    return r


def _append_field(p, instruction: str, placeholder: str) -> None:
    """A complex field (begin / instrText / separate / result / end)."""

    def run_with(element):
        r = OxmlElement("w:r")
        r.append(element)
        p.append(r)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    instr.text = f" {instruction} "
    run_with(instr)
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run_with(separate)
    _append_text_run(p, placeholder)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _set_table_geometry(tbl, widths_twips: Sequence[int]) -> None:
    tbl_pr = tbl.tblPr
    tbl_w = _child(tbl_pr, "w:tblW", _TBLPR_ORDER)
    tbl_w.set(qn("w:type"), "dxa")
    tbl_w.set(qn("w:w"), str(sum(widths_twips)))
    _child(tbl_pr, "w:tblLayout", _TBLPR_ORDER).set(qn("w:type"), "fixed")
    look = tbl_pr.find(qn("w:tblLook"))
    if look is not None:
        tbl_pr.remove(look)
    grid = tbl.tblGrid
    for col in list(grid):
        grid.remove(col)
    for width in widths_twips:
        col = OxmlElement("w:gridCol")
        col.set(qn("w:w"), str(width))
        grid.append(col)


def _set_table_borders(tbl, size_eighths: int) -> None:
    borders = _child(tbl.tblPr, "w:tblBorders", _TBLPR_ORDER)
    for child in list(borders):
        borders.remove(child)
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), str(size_eighths))
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
        borders.append(element)


def _set_cell_margins(tbl, twips: int) -> None:
    """Left and right cell margins of every cell of the table (``w:tblCellMar``)."""
    margins = _child(tbl.tblPr, "w:tblCellMar", _TBLPR_ORDER)
    for child in list(margins):
        margins.remove(child)
    for edge in ("left", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(twips))
        element.set(qn("w:type"), "dxa")
        margins.append(element)


def _set_row_flags(tr, *, header: bool) -> None:
    tr_pr = tr.get_or_add_trPr()
    _child(tr_pr, "w:cantSplit", _TRPR_ORDER)
    if header:
        _child(tr_pr, "w:tblHeader", _TRPR_ORDER)


def _set_cell_width(tc, width_twips: int) -> None:
    tc_w = tc.get_or_add_tcPr().get_or_add_tcW()
    tc_w.set(qn("w:type"), "dxa")
    tc_w.set(qn("w:w"), str(width_twips))


# -- Bulk building -------------------------------------------------------------------------------
# A long report has thousands of paragraphs and table rows. python-docx adds each child element by
# searching its parent for where it belongs, and adds a paragraph to the body by searching the
# whole body for w:sectPr, so building through its API grows with the square of the length. The
# helpers below build the same elements directly with lxml; tests/test_report_fast.py compares
# their XML with python-docx's.

_W_PPR = qn("w:pPr")
_W_PSTYLE = qn("w:pStyle")
_W_R = qn("w:r")
_W_RPR = qn("w:rPr")
_W_RSTYLE = qn("w:rStyle")
_W_T = qn("w:t")
_W_TAB = qn("w:tab")
_W_BR = qn("w:br")
_W_TC = qn("w:tc")
_W_CANTSPLIT = qn("w:cantSplit")
_W_VAL = qn("w:val")
_W_SECTPR = qn("w:sectPr")
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_RUN_SPECIAL = re.compile(r"([\t\r\n])")


def _new_paragraph(style_id: str | None):
    """A detached ``w:p`` in paragraph style ``style_id``, as ``CT_P.style = style_id`` leaves it
    (an empty ``w:pPr`` for ``None``)."""
    p = OxmlElement("w:p")
    p_pr = etree.SubElement(p, _W_PPR)
    if style_id is not None:
        etree.SubElement(p_pr, _W_PSTYLE).set(_W_VAL, style_id)
    return p


def _append_block(doc: Document, element) -> None:
    """Append a paragraph or table to the body, before its closing ``w:sectPr``.

    python-docx finds that ``w:sectPr`` by scanning the body from the start; it is the body's
    last child, which lxml reaches directly."""
    body = doc.element.body
    last = next(body.iterchildren(reversed=True), None)
    if last is not None and last.tag == _W_SECTPR:
        last.addprevious(element)
    else:
        body.insert_element_before(element, "w:sectPr")


def _append_run(p, text: str, style_id: str | None = None):
    """Append a ``w:r`` holding ``text`` to ``p``, with the elements python-docx's ``Run.text``
    writes: a tab is ``w:tab``, ``\\r`` and ``\\n`` are each ``w:br``, other text goes in ``w:t``
    (``xml:space="preserve"`` when it starts or ends with white space). ``style_id`` is a character
    style (``w:rStyle``).

    The text is set through lxml exactly as python-docx sets it, so characters XML cannot hold
    (control characters, U+FFFE …) raise the same ``ValueError``; lxml escapes ``&``, ``<``, ``>``.
    """
    r = etree.SubElement(p, _W_R)
    if style_id is not None:
        etree.SubElement(etree.SubElement(r, _W_RPR), _W_RSTYLE).set(_W_VAL, style_id)
    # most cells hold no tab or line break: one piece, without the split
    pieces = _RUN_SPECIAL.split(text) if "\t" in text or "\n" in text or "\r" in text else (text,)
    for piece in pieces:
        if piece == "\t":
            etree.SubElement(r, _W_TAB)
        elif piece in ("\r", "\n"):
            etree.SubElement(r, _W_BR)
        elif piece:
            t = etree.SubElement(r, _W_T)
            t.text = piece
            if len(piece.strip()) < len(piece):
                t.set(_XML_SPACE, "preserve")
    return r


def _row_template(widths_twips: Sequence[int], *, header: bool,
                  aligns: Sequence[WD_ALIGN_PARAGRAPH] | None, keep_next: bool):  # fmt: skip
    """An empty table row (``w:tr``) formatted as ``table`` formats its rows: not split, fixed
    cell widths, cells vertically centred, one paragraph each in the 表头 style (``header``, and
    the row repeats on every page) or 表格文字, aligned by ``aligns`` (``None``: as the style
    says), kept with the next row if ``keep_next``.

    Built once per table through python-docx's own API, then copied for every row."""
    tr = CT_Tbl.new_tbl(1, len(widths_twips), Mm(0)).tr_lst[0]
    _set_row_flags(tr, header=header)
    style_id = STYLE_IDS["表头" if header else "表格文字"]
    for c, tc in enumerate(tr.tc_lst):
        _set_cell_width(tc, widths_twips[c])
        _Cell(tc, None).vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        paragraph = Paragraph(tc.p_lst[0], None)
        _set_paragraph_style_id(paragraph._p, style_id)
        if aligns is not None:
            paragraph.alignment = aligns[c]
        if keep_next:
            paragraph.paragraph_format.keep_with_next = True
    return tr


def _append_rows(tbl, template, rows: Sequence[Sequence[str | None]], status_col: int | None,
                 split: Callable[[Sequence[str | None]], bool] | None = None):  # fmt: skip
    """Append to ``tbl`` one copy of the ``template`` row per row of values, each value in one
    run in its cell's paragraph (none for an empty value). In ``status_col`` a value starting
    with a status gets that status's character style. A row for which ``split`` is true may
    break across pages (its copy loses ``w:cantSplit``)."""
    for values in rows:
        tr = copy.deepcopy(template)
        if split is not None and split(values):
            tr_pr = tr.trPr
            tr_pr.remove(tr_pr.find(_W_CANTSPLIT))
        for c, tc in enumerate(tr.iterchildren(_W_TC)):
            value = values[c]
            text = "" if value is None else str(value)
            if not text:
                continue
            status = _status_of(text) if c == status_col else None
            # tc[-1]: the template's cells hold tcPr then their one paragraph
            _append_run(tc[-1], text, None if status is None else _STATUS_STYLE_IDS[status])
        tbl.append(tr)


def _row_lines(values: Sequence[str | None], widths_twips: Sequence[int], margin_twips: int) -> int:
    """About how many lines of table text (小四, 12 pt) the tallest cell of a row takes: a Chinese
    character (or any wide or ambiguous one) is 1 em, anything else half; a line holds as many whole
    ems as fit between the cell margins, and ``\n`` starts a new line."""
    tallest = 1
    for value, width in zip(values, widths_twips, strict=True):
        if not value:
            continue
        ems = max(1, (width - 2 * margin_twips) // _twips(SIZE_XIAO4))  # whole characters a line
        lines = 0
        for piece in str(value).split("\n"):
            wide = sum(unicodedata.east_asian_width(ch) in "WFA" for ch in piece)
            lines += max(1, math.ceil((wide + (len(piece) - wide) / 2) / ems))
        tallest = max(tallest, lines)
    return tallest


def _add_fonts_to_font_table(doc: Document) -> None:
    """Declare the official fonts (GB2312 charset, Windows alternative names) in fontTable.xml."""
    part = _related_part(doc, RT.FONT_TABLE)
    if part is None:
        return
    from docx.oxml.parser import parse_xml

    root = parse_xml(part.blob)
    names = {f.get(qn("w:name")) for f in root.findall(qn("w:font"))}
    for name, alt, family in _FONT_TABLE:
        if name in names:
            continue
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        if alt:
            _child(font, "w:altName", _FONT_ORDER).set(qn("w:val"), alt)
        _child(font, "w:charset", _FONT_ORDER).set(qn("w:val"), "86")
        _child(font, "w:family", _FONT_ORDER).set(qn("w:val"), family)
        _child(font, "w:pitch", _FONT_ORDER).set(qn("w:val"), "variable")
        root.append(font)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _related_part(doc: Document, reltype: str):
    for rel in doc.part.rels.values():
        if rel.reltype == reltype and not rel.is_external:
            return rel.target_part
    return None


_RT_STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"


def _drop_template_leftovers(doc: Document) -> None:
    """Remove what python-docx's template carries but this document must not: its thumbnail (a
    picture of some other page), the Word 2010 stylesWithEffects copy (with theme fonts), and
    its customXml item."""
    package = doc.part.package
    for rel_id, rel in list(package.rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            package.rels.pop(rel_id)
    for rel_id, rel in list(doc.part.rels.items()):
        if rel.reltype in (_RT_STYLES_WITH_EFFECTS, RT.CUSTOM_XML):
            doc.part.rels.pop(rel_id)
    settings = doc.settings.element
    for tag in ("w:savePreviewPicture", "w:attachedTemplate"):
        for element in settings.findall(qn(tag)):
            settings.remove(element)


def _set_core_properties(doc: Document, core_title: str, created: _dt.datetime) -> None:
    when = created
    if when.tzinfo is not None:
        when = when.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    when = when.replace(microsecond=0)
    props = doc.core_properties
    props.title = core_title
    props.author = "pdreport"
    props.last_modified_by = "pdreport"
    props.created = when
    props.modified = when
    props.last_printed = when
    props.revision = 1
    props.subject = ""
    props.keywords = ""
    props.comments = ""
    props.category = ""
    props.language = "zh-CN"
