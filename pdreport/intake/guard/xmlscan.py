"""Byte scans of XML parts, without an XML parser: the root element and its prolog, nesting depth,
a worksheet's extent (the furthest cell calamine would allocate up to), the extent of an ODS
table, and numbers calamine cannot turn into dates. Regexes chosen so that the engine finds their
literal start at memchr speed; every shortcut here only ever clears what the exact scan clears."""

from __future__ import annotations

import re
from itertools import accumulate

from .base import KiB, Limits

_XML_START = re.compile(rb"\s*<")
_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
_ATTR = r"""\b{}\s*=\s*["']([^"']*)["']"""


def _attr(name: str) -> re.Pattern[bytes]:
    return re.compile(_ATTR.format(re.escape(name)).encode())


_ATTR_COUNT = _attr("count")
_ATTR_UNIQUE = _attr("uniqueCount")
_ATTR_PARTNAME = _attr("PartName")
_ATTR_CTYPE = _attr("ContentType")
_CELL_REF = re.compile(rb"<" + _PREFIX + rb"""c\s[^<>]*?\br\s*=\s*["']([A-Za-z]*)([0-9]*)""")
# A row's end: ">" for a row that may hold cells; "/>" or ">" with its end tag right after it for an
# empty one (LibreOffice writes <row r="1048576" …></row> after a row is deleted), which places
# nothing: every cell carries its own r (one without is refused, _NOT_PLAIN_CELL_OR_ROW)
_ROW_END = rb"""[^<>]*?(/>|>(?:\s*</""" + _PREFIX + rb"""row\s*>)?)"""
_ROW_REF = re.compile(rb"<" + _PREFIX + rb"""row\s[^<>]*?\br\s*=\s*["']([0-9]*)["']""" + _ROW_END)
# _CELL_REF and _ROW_REF in one scan (at most one of them matches at a "<", and neither match
# reaches past the row it starts): (letters, digits, "", "") for a cell, ("", "", digits, end) a row
_SHEET_REFS = re.compile(
    rb"<" + _PREFIX + rb"""(?:c\s[^<>]*?\br\s*=\s*["']([A-Za-z]*)([0-9]*)"""
    rb"""|row\s[^<>]*?\br\s*=\s*["']([0-9]*)["']""" + _ROW_END + rb")"
)
_SHEET_TAG = re.compile(rb"<" + _PREFIX + rb"sheet[\s/>]")
_SI_TAG = re.compile(rb"<" + _PREFIX + rb"si[\s/>]")
_OVERRIDE = re.compile(rb"<" + _PREFIX + rb"Override\b([^<>]*)")
_ODS_TABLE = re.compile(rb"<" + _PREFIX + rb"table[\s/>]")
# (attributes read as quick-xml reads them: a quoted ">" does not end the tag)
_ODS_TAG = re.compile(
    rb"<(/?)" + _PREFIX + rb"(table-row|table-cell|covered-table-cell|table)(?=[\s/>])"
    rb"""((?:"[^"]*"|'[^']*'|[^<>"'])*)"""
)
_ODS_ROWS_REP = _attr("number-rows-repeated")
_ODS_COLS_REP = _attr("number-columns-repeated")
# anything calamine takes as a value: a type, a formula, or any *value attribute
_ODS_VALUE = re.compile(rb"\b(?:office:)?value-type\s*=|\btable:formula\s*=|[\s:](?:[\w-]+-)?value\s*=")
_TAG = re.compile(rb"<(/?)([A-Za-z_][^\s/<>]*)[^<>]*?(/?)>")
# the same tags as _TAG, matched greedily (several times faster): group 1 is "/" for a closing tag,
# group 2 the character before ">" ("/" for a self-closing tag)
_TAG_KINDS = re.compile(rb"<(/?)[A-Za-z_](?:[^<>]*([^<>]))?>")
# The depth scan without a Python object per tag (see _max_depth): each byte becomes flags,
# 1 "<", 2 ">", 4 "/", 8 a name start [A-Za-z_]; positions of interest become c/o/L/e/G.
_FLAGS = bytes(
    1 if b == 0x3C else 2 if b == 0x3E else 4 if b == 0x2F
    else 8 if (0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A or b == 0x5F) else 0
    for b in range(256)
)
_ONES_LEN = 64 * 1024 + 64
_ONES = int.from_bytes(b"\x01" * _ONES_LEN, "little")  # bit 0 of every byte
_POSITIONS = bytes.maketrans(bytes([1, 2, 4, 8, 16]), b"coLeG")
_DEPTH_MARKS = bytes.maketrans(b"+-", b"\x01\xff")
_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_DANGER = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# a negative number as calamine reads a cell value (Rust's float syntax, "inf" included)
_NEGATIVE = re.compile(rb">-(inf(?:inity)?|[\d.]+(?:[eE][+-]?\d+)?)", re.IGNORECASE)
_WIDE_ENCODING = re.compile(rb"<\?xml[^>]*encoding\s*=\s*[\"']\s*(utf-?16|utf-?32|ucs)", re.I)
_SST = re.compile(rb"<" + _PREFIX + rb"sst\b[^<>]*")
# the usual start of an XML part: an optional UTF-8 BOM and XML declaration, then the root element
# (what _prolog_root finds there, in one match; anything else is read by _prolog_root)
_PLAIN_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*(?:<\?xml[^<>]*\?>[ \t\r\n]*)?<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
# merged ranges and hyperlinks: openpyxl (feedback copies) makes an object for every cell they span
_SPAN_REF = re.compile(rb"<" + _PREFIX + rb"""(?:mergeCell|hyperlink)\b[^<>]*?\bref\s*=\s*["']([^"']*)["']""")
_SPAN_CORNER = re.compile(rb"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")


def span_cells(data: bytes, most: int) -> int:
    """The cells that the merged ranges and hyperlinks of a worksheet span in all (openpyxl makes
    a ``MergedCell`` for each cell of a merged range and sets each cell of a hyperlink's range),
    counting stopped past ``most``; a ref that is not one cell or a range of two corners counts
    as ``most + 1`` (openpyxl might read it as whole columns or rows)."""
    total = 0
    for m in _SPAN_REF.finditer(data):
        corners = m.group(1).strip().split(b":")
        found = [_SPAN_CORNER.fullmatch(c.strip()) for c in corners]
        if not 1 <= len(corners) <= 2 or not all(found):
            return most + 1
        cols = [_col_number(f.group(1)) for f in found]
        rows = [int(f.group(2)) for f in found]
        total += (max(rows) - min(rows) + 1) * (max(cols) - min(cols) + 1)
        if total > most:
            return total
    return total

def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper()[:8]:
        n = n * 26 + (ch - 64)
    return n if len(letters) <= 8 else 1 << 62


def _col_letters(n: int) -> str:
    s = ""
    while n > 0 and len(s) < 8:
        n, rem = divmod(n - 1, 26)
        s = chr(65 + rem) + s
    return s


def _int(b: bytes, default: int = 0) -> int:
    b = b.strip()
    if not b.isdigit():
        return default
    return int(b[:19]) if len(b) <= 19 else 1 << 62


_ROW_START_AT_END = re.compile(rb"<" + _PREFIX + rb"row\s[^<>]*[^/<>]>\s*\Z")


class _Scan:
    """Feeds a part's decompressed chunks to byte regexes without keeping more than one chunk
    (plus an unfinished tag) in memory. ``handle(buf)`` sees complete tags only."""

    CARRY_MAX = 4 * KiB

    def __init__(self, handle):
        self.handle = handle
        self.carry = b""

    def feed(self, chunk: bytes) -> None:
        buf = self.carry + chunk if self.carry else chunk
        cut = buf.rfind(b"<")
        if cut >= 0 and buf.find(b">", cut) < 0 and len(buf) - cut <= self.CARRY_MAX:
            self.carry, buf = buf[cut:], buf[:cut]  # an unfinished tag: wait for the rest
        elif cut >= 0 and len(buf) - cut <= self.CARRY_MAX and _ROW_START_AT_END.match(buf, cut):
            # a row's start tag last: whether its end tag follows right after (an empty row, which
            # places nothing) is in the next chunk
            self.carry, buf = buf[cut:], buf[:cut]
        else:
            self.carry = b""  # (a tag longer than CARRY_MAX is scanned as far as it goes)
        if buf:
            self.handle(buf)

    def close(self) -> None:
        if self.carry:
            self.handle(self.carry)
            self.carry = b""


class _PartState:
    """What the scans of one XML part found."""

    def __init__(self, name: str):
        self.name = name
        self.root = ""
        self.sheetish = False  # read as a worksheet: its root says so, or it holds <sheetData>
        self.max_row = 0
        self.max_col = 0
        self.sheets = 0
        self.strings = 0
        self.declared_strings = 0
        self.overrides: list[tuple[str, str]] = []  # (content type lower-cased, part name)
        self.ods_tables: list[tuple[int, int]] = []  # (rows, cols) of non-empty extent per table
        # ODS walk state
        self.ods_row = 0
        self.ods_col = 0
        self.ods_rep = 1
        self.ods_row_has_value = False
        self.ods_max = (0, 0)
        self.ods_open = False


_BANGS_MAX = 64  # "!" looked at one by one in a part's head; beyond, one regex search


def _declares_doctype(head: bytes) -> bool:
    """Whether ``head`` holds ``<!DOCTYPE`` or ``<!ENTITY`` (any case, white space after "<!").
    A worksheet's formulas hold "!" ('填报说明'!$C$13), so the regex, which tries every "<", would
    run over most sheets: the few "!" are found at memchr speed instead, and the regex is tried
    only where one follows a "<" (or over the whole head once there are many)."""
    at = head.find(b"!")
    seen = 0
    while at >= 0:
        if at and head[at - 1] == 0x3C and _DANGER.match(head, at - 1):  # (0x3C: "<")
            return True
        seen += 1
        if seen > _BANGS_MAX:
            return _DANGER.search(head, max(at - 1, 0)) is not None
        at = head.find(b"!", at + 1)
    return False


def _huge_negative(buf: bytes, start: int = 0, end: int | None = None) -> bool:
    """Whether a value of -1e10 or below is in ``buf`` (between ``start`` and ``end``: a
    worksheet's cells, ``_cell_region``): calamine panics (chrono's TimeDelta overflows, from
    about -1.07e11) converting one that sits in a date-formatted cell."""
    end = len(buf) if end is None else end
    if buf.find(b"-", start, end) < 0 or buf.find(b">-", start, end) < 0:  # ("-" alone: memchr speed)
        return False
    for text in _NEGATIVE.findall(buf, start, end):
        try:
            if float(text) >= 1e10:
                return True
        except ValueError:
            continue
    return False


def _over(rows: int, cols: int, lim: Limits) -> bool:
    return rows > lim.max_rows or cols > lim.max_cols or rows * cols > lim.max_cells


# A worksheet's extent, cheaply, when its cells and rows are written the way every spreadsheet
# program writes them (<c r="B12" …>, <row r="12" …>): a few searches in C instead of one Python
# object per reference. Anything else (a namespace prefix, other white space, r not first) leaves
# the decision to the exact scan, as do references of 3+ letters or 7+ digits. One pattern per
# search: each starts with a literal, which the regex engine finds at memchr speed.
_PREFIXED_CELL_OR_ROW = re.compile(rb":(?:c|row)[\s/>]")  # (one search: both start with ":")
_ODD_CELL = re.compile(rb"""<c(?:[\t\n\r\x0b\x0c/>]| (?!r=["']))""")
_ODD_ROW = re.compile(rb"""<row(?:[\t\n\r\x0b\x0c/>]| (?!r=["']))""")
# (the usual case in two searches: no cell beyond column Z or row 999, no row beyond 999) Every "r=" is
# followed by a small reference in quotes, and no "r" by white space: then every attribute named r,
# a second one included (calamine keeps the last), is small (a superset of what matters: text that
# happens to look so only sends the sheet to the searches below). With each <c>/<row> written r first,
# its own reference is one of those.
_R_NOT_SMALL = re.compile(rb"""r(?:=(?!["'][A-Za-z]?[0-9]{1,3}["'])|\s)""")
_CELL_OR_ROW_NOT_R_FIRST = re.compile(rb"""<(?:c|row)(?:[\t\n\r\x0b\x0c/>]| (?!r=))""")
_TWO_LETTERS = re.compile(rb"""<c r=["'][A-Za-z]{2}""")
_LONG_COLUMN = re.compile(rb"""<c r=["'][A-Za-z]{3}""")
_LONG_CELL_ROW = re.compile(rb"""<c r=["'][A-Za-z]*([0-9]{4,})""")
_LONG_ROW = re.compile(rb"""<row r=["']([0-9]{4,})""")
_CLOSING_PREFIX = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?")  # what stands before "sheetData" in its end tag


# What the exact scan refuses in a worksheet. quick-xml finds a tag's end past quoted ">", takes
# any prefix, and calamine numbers a cell or row without r itself: only the plain form, r first
# (which every spreadsheet program writes), reads the same in both. So: a <c>/<row> (any prefix)
# whose first attribute is not r, or with a prefix no XML name has.
_NOT_PLAIN_CELL_OR_ROW = re.compile(
    rb"""<(?:[^\s/<>!?]*:)?(?:c|row)(?=[\s/>])(?!\s{1,64}r\s{0,64}=\s{0,64}["'])"""
    rb"""|<(?![A-Za-z_][\w.-]*:(?:c|row)[\s/>])[^\s/<>!?]*:(?:c|row)[\s/>]"""
    # a second r (quick-xml keeps duplicate attributes; calamine takes the last r)
    rb"""|<(?:[^\s/<>!?]*:)?(?:c|row)\s+r\s*=\s*(?:"[^"]*"|'[^']*')(?:"[^"]*"|'[^']*'|[^<>"'])*?"""
    rb"""(?<=[\s"'])(?:[\w.-]+:)?r\s*="""
)
_SHEET_ROOTS = ("worksheet", "dialogsheet")
_SHEET_DATA = re.compile(rb"sheetData[\s/>]")


def _sheet_bound(data: bytes, region: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """(rows, columns) that no ``<c>``/``<row>`` reference the exact scan reads goes beyond (an
    upper bound: 999 rows when no reference has 4 digits, Z or ZZ columns by the letters used), or
    ``None`` when the exact scan must decide. ``region``: ``_cell_region(data)``, when known."""
    start, end = region or _cell_region(data)
    if _PREFIXED_CELL_OR_ROW.search(data, start, end):
        return None
    if not _R_NOT_SMALL.search(data, start, end) and not _CELL_OR_ROW_NOT_R_FIRST.search(data, start, end):
        return 999, 26
    if _ODD_CELL.search(data, start, end) or _ODD_ROW.search(data, start, end) or _LONG_COLUMN.search(data, start, end):
        return None
    if _NOT_PLAIN_CELL_OR_ROW.search(data, start, end):  # (a second r, among others: the exact scan says so)
        return None
    rows = 999
    long_rows = set(_LONG_CELL_ROW.findall(data, start, end)) | set(_LONG_ROW.findall(data, start, end))
    if long_rows:
        if max(map(len, long_rows)) > 6:
            return None
        rows = max(999, *(int(d) for d in long_rows))
    return rows, 702 if _TWO_LETTERS.search(data, start, end) else 26


def _cell_region(data: bytes) -> tuple[int, int]:
    """Where a worksheet's cells can be, for the usual-case searches: calamine reads cells and rows
    only inside ``<sheetData>`` (the first one; any other "sheetData" is inside the span too), so
    the span runs from the first "sheetData" to the last, or to the end of the part when the last
    is not a closing tag (an unclosed one). Without any, the whole part. About 40 % of a filled
    template's sheet (columns, merged cells, data validations with their prompts) is outside."""
    start = data.find(b"sheetData")
    if start < 0:
        return 0, len(data)
    last = data.rfind(b"sheetData")
    opened = data.rfind(b"<", 0, last)
    if opened >= 0 and _CLOSING_PREFIX.fullmatch(data, opened, last):
        return start, last
    return start, len(data)


def _max_depth(head: bytes, start: int = 0) -> int:
    """The deepest element nesting of the tags ``_TAG_KINDS`` finds in ``head[start:]`` (closing
    tag -1, opening +1, self-closing 0; the largest running sum, at least 0), computed in C
    (``_max_depth_reference`` is the same with one Python object per tag).

    A tag is a "<" … ">" run with no "<" or ">" inside, so tags never overlap. A "<" followed by
    "/" and a name start begins a closing tag (c), one followed by a name start any other tag (o);
    other "<" (L) begin none. A ">" after "/" ends a self-closing tag (e), other ">" (G) end any
    other. These positions are found for all bytes at once with big-integer bit operations (byte i
    of the flags at bits 8i…8i+7) and kept in order; everything else is dropped. A tag is then a
    start directly followed by an end: "ce"/"cG" -1, "oG" +1, "oe" 0; anything else is no tag,
    exactly as for the regex."""
    flags = head[start:].translate(_FLAGS) if start else head.translate(_FLAGS)
    n = len(flags)
    ones = _ONES if n <= _ONES_LEN else int.from_bytes(b"\x01" * n, "little")
    x = int.from_bytes(flags, "little")
    lt = x & ones
    close = lt & (x >> 10) & (x >> 19)  # "/" at i+1 (bit 2), a name start at i+2 (bit 3)
    open_ = lt & (x >> 11)  # a name start at i+1
    gt = (x >> 1) & ones
    empty = gt & (x << 6)  # "/" at i-1
    y = close | (open_ << 1) | ((lt ^ close ^ open_) << 2) | (empty << 3) | ((gt ^ empty) << 4)
    seq = y.to_bytes(n, "little").translate(_POSITIONS, b"\x00")
    seq = seq.replace(b"ce", b"-").replace(b"cG", b"-").replace(b"oG", b"+")
    marks = seq.translate(_DEPTH_MARKS, b"coLeG")
    return max(0, max(accumulate(memoryview(marks).cast("b")), default=0))


def _max_depth_reference(head: bytes, start: int = 0) -> int:
    """The same with one Python object per tag (kept for the tests)."""
    deltas = [-1 if close else 0 if last == b"/" else 1 for close, last in _TAG_KINDS.findall(head, start)]
    return max(0, max(accumulate(deltas), default=0))


def _looks_like_xml(head: bytes) -> bool:
    if head.startswith((b"\xef\xbb\xbf",)):
        head = head[3:]
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"<\x00", b"\x00<")):
        return True
    return bool(_XML_START.match(head))


_PROLOG_SKIPS = ((b"<?", b"?>"), (b"<!--", b"-->"))


def _prolog_root(head: bytes) -> tuple[str | None, int]:
    """The root element's local name and where it starts, skipping the XML declaration,
    processing instructions, comments and white space; (None, 0) if not found in ``head``."""
    i = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    n = len(head)
    while i < n:
        ch = head[i : i + 1]
        if ch in (b" ", b"\t", b"\r", b"\n"):
            i += 1
            continue
        if ch != b"<":
            return None, 0
        skip = next(((o, c) for o, c in _PROLOG_SKIPS if head.startswith(o, i)), None)
        if skip is not None:  # a declaration, processing instruction or comment
            j = head.find(skip[1], i + len(skip[0]))
            if j < 0:
                return None, 0
            i = j + len(skip[1])
            continue
        m = _ROOT.match(head, i)
        if not m:
            return None, 0
        return m.group(1).decode("ascii", "replace"), i
    return None, 0


def _ods_walk(state: _PartState, buf: bytes) -> None:
    """Track the extent of non-empty cells in ODS tables, honouring repeat counts."""
    for m in _ODS_TAG.finditer(buf):
        closing, tag, attrs = m.group(1), m.group(2), m.group(3) or b""
        selfclosing = attrs.rstrip().endswith(b"/")
        if tag == b"table":
            if closing:
                _ods_end_table(state)
            else:
                _ods_end_table(state)  # a table inside a table is not valid: count it anyway
                state.ods_tables.append((0, 0))
                state.ods_open = True
                state.ods_row = 0
                state.ods_max = (0, 0)
                if selfclosing:
                    _ods_end_table(state)
        elif tag == b"table-row":
            if closing:
                _ods_end_row(state)
            else:
                state.ods_rep = _ods_repeat(_ODS_ROWS_REP, attrs)
                state.ods_col = 0
                state.ods_row_has_value = False
                if selfclosing:
                    _ods_end_row(state)
        elif not closing:  # table-cell / covered-table-cell
            n = _ods_repeat(_ODS_COLS_REP, attrs)
            if _ODS_VALUE.search(attrs) or not selfclosing:  # (content: text calamine may read)
                rows, cols = state.ods_max
                state.ods_max = (rows, max(cols, state.ods_col + n))
                state.ods_row_has_value = True
            state.ods_col += n


def _ods_repeat(pattern: re.Pattern[bytes], attrs: bytes) -> int:
    """The largest repeat count the tag states (a decoy under another prefix counts too)."""
    return max([1, *(_int(v, 1) for v in pattern.findall(attrs))])


def _ods_end_row(state: _PartState) -> None:
    if state.ods_row_has_value:
        rows, cols = state.ods_max
        state.ods_max = (max(rows, state.ods_row + state.ods_rep), cols)
    state.ods_row += state.ods_rep
    state.ods_rep = 1
    state.ods_row_has_value = False


def _ods_end_table(state: _PartState) -> None:
    if state.ods_open and state.ods_tables:
        state.ods_tables[-1] = state.ods_max
        state.ods_open = False


