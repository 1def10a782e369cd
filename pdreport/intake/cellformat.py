"""Which cells show their number as a percentage: "2.5%" typed into a cell is saved as 0.025 in a
cell formatted as a percentage, and the reader gives 0.025. The format is the only sign of what
the clerk saw, so for the few cells where it matters (a % figure between 0 and 1) it is looked
up in the file itself: .xlsx styles (``s`` → ``numFmtId`` → format code), .ods value types
(``office:value-type="percentage"``), .xls XF records (through xlrd, ``xls.py``).

Best effort on files the guard has passed: anything unexpected gives no answer, never an error.
"""

from __future__ import annotations

import io
import re
import zipfile

from .read import _ATTR, OFFICE_NS, cell_tag, ods_cells, sheet_parts

_PERCENT_BUILTIN = {9, 10}  # 0%, 0.00% (ECMA-376 Part 1, 18.8.30)
_CELL_XFS = re.compile(rb"<(?:[\w.-]+:)?cellXfs\b[^>]*>(.*?)</(?:[\w.-]+:)?cellXfs>", re.S)
_XF = re.compile(rb"<(?:[\w.-]+:)?xf\b([^>]*)>")
_NUM_FMT = re.compile(rb"<(?:[\w.-]+:)?numFmt\b([^>]*)>")
_STYLE = re.compile(rb"""\ss\s*=\s*["'](\d{1,6})["']""")
# what in a format code is shown as is, not a format character: "text", \x, [Red], _x, *x
_LITERAL = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')


def is_percent_code(code: str) -> bool:
    """A number format code that multiplies by 100 and shows "%" (a "%" in quotes does not)."""
    return "%" in _LITERAL.sub("", code)


def percent_cells(data: bytes, kind: str, wanted: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(sheet, cell) of each of ``wanted`` ({sheet: {"H5", …}}) formatted as a percentage."""
    try:
        if kind in ("xlsx", "xlsm"):
            return _xlsx(data, wanted)
        if kind == "ods":
            return _ods(data, wanted)
        if kind == "xls":
            from .xls import percent_cells as xls_percent_cells

            return xls_percent_cells(data, wanted)
    except Exception:  # noqa: BLE001 - only a better reading of a rare cell is at stake
        return set()
    return set()


def _xlsx(data: bytes, wanted: dict[str, set[str]]) -> set[tuple[str, str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        styles = z.read("xl/styles.xml")
        codes = {}
        for attrs in _NUM_FMT.findall(styles):
            a = dict(_ATTR.findall(attrs))
            codes[int(a.get(b"numFmtId", b"-1"))] = _unescape(a.get(b"formatCode", b""))
        xfs = _CELL_XFS.search(styles)
        fmt_ids = [int(dict(_ATTR.findall(attrs)).get(b"numFmtId", b"0")) for attrs in _XF.findall(xfs.group(1))] if xfs else []
        percent_styles = {i for i, f in enumerate(fmt_ids)
                          if f in _PERCENT_BUILTIN or (f in codes and is_percent_code(codes[f]))}  # fmt: skip
        found = set()
        if not percent_styles:
            return found
        for name, xml in sheet_parts(z, set(wanted)).items():
            for cell in wanted[name]:
                m = cell_tag(xml, cell)
                style = _STYLE.search(b" " + m.group(1)) if m else None
                if style and int(style.group(1)) in percent_styles:
                    found.add((name, cell))
        return found


def _unescape(raw: bytes) -> str:
    import html

    return html.unescape(raw.decode("utf-8", "replace"))


def _ods(data: bytes, wanted: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {key for key, td in ods_cells(data, wanted).items() if td.get(f"{{{OFFICE_NS}}}value-type") == "percentage"}
