"""Test helpers shared by several test modules (no fixtures here: see conftest.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from pdreport.template.layout import META
from pdreport.template.metadata import parse_metadata

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")


def read_map_and_values(path: Path):
    """(TemplateMap, {field key: raw value}) read back with calamine through the metadata map."""
    from xlsxwriter.utility import xl_cell_to_rowcol

    wb = CalamineWorkbook.from_path(str(path))
    tmap = parse_metadata(grid(wb, META))
    sheets = {}
    values = {}
    for f in tmap.fields:
        if f.sheet not in sheets:
            sheets[f.sheet] = grid(wb, f.sheet)
        r, c = xl_cell_to_rowcol(f.cell)
        rows = sheets[f.sheet]
        values[f.key] = rows[r][c] if r < len(rows) and c < len(rows[r]) else ""
    return tmap, values


def grid(wb, name):
    """A sheet's values as rows anchored at A1 (calamine starts at the first used cell)."""
    return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)


def soffice_convert(src: Path, fmt: str, outdir: Path) -> Path:
    """Re-save ``src`` through LibreOffice (headless) as ``fmt`` (xlsx/ods/xls/pdf)."""
    return soffice_convert_many([src], fmt, outdir)[0]


def soffice_convert_many(srcs: list[Path], fmt: str, outdir: Path) -> list[Path]:
    """Re-save every file in ``srcs`` as ``fmt`` with ONE LibreOffice start (it takes a few
    seconds to start; converting a file is fast). Returns the outputs in the order of ``srcs``."""
    outdir.mkdir(parents=True, exist_ok=True)
    profile = outdir / ".lo-profile"
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
         "--outdir", str(outdir), *map(str, srcs)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    outs = [outdir / (Path(src).stem + "." + fmt.split(":")[0]) for src in srcs]
    for out in outs:
        assert out.exists(), f"LibreOffice did not write {out}"
    return outs


def replace_in_zip(data: bytes, old: str, new: str) -> bytes:
    """Rewrite every XML member of an .xlsx, replacing ``old`` by ``new`` (for raw-XML cases
    no writer will produce, e.g. control characters as ``_x0001_`` escapes)."""
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename.endswith(".xml"):
                body = body.replace(old.encode(), new.encode())
            dst.writestr(info, body)
    return buf.getvalue()


# -- print layout of the workbooks pdreport writes (read back with openpyxl) ----------------------

A4_PRINTABLE = {"landscape": 842 - 0.8 * 72, "portrait": 595 - 0.8 * 72}  # points, 0.4" margins


def column_widths(ws) -> dict[int, float]:
    """1-based column → width as stored (openpyxl keys a run of equal columns by its first one)."""
    out: dict[int, float] = {}
    for dim in list(ws.column_dimensions.values()):
        if dim.width and dim.min:
            for c in range(dim.min, (dim.max or dim.min) + 1):
                out[c] = dim.width
    return out


def print_scale(ws) -> float:
    """The scale "fit to one page wide" prints ``ws`` at: printable width ÷ column widths (a column
    ``w`` units wide measured 6.15·w + 4.3 points in LibreOffice's PDF export)."""
    widths = column_widths(ws)
    width = sum(6.15 * widths.get(c, 8.43) + 4.3 for c in range(1, ws.max_column + 1))
    return min(1.0, A4_PRINTABLE[ws.page_setup.orientation or "portrait"] / width)


def assert_a4_one_page_wide(ws, orientation: str, header_row: int | None, min_scale: float = 0.85):
    """A4 in ``orientation``, fitted to one page wide at a legible scale, the header row (1-based)
    printed on every page."""
    assert ws.page_setup.paperSize in (9, "9"), ws.title
    assert ws.page_setup.orientation == orientation, ws.title
    assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    assert ws.page_setup.fitToWidth in (1, None) and ws.page_setup.fitToHeight == 0, ws.title
    assert print_scale(ws) >= min_scale, (ws.title, print_scale(ws))
    if header_row is not None:
        assert ws.print_title_rows.replace("$", "") == f"{header_row}:{header_row}", ws.title


def assert_rows_fit(ws, first_row: int, last_row: int | None = None, font_size: float = 10):
    """Every cell's text from ``first_row`` down fits the height set for its row (the estimate the
    writers use, against the stored column width; merged cells are measured over their span)."""
    from pdreport.template.fit import row_height, wrapped_lines

    widths = column_widths(ws)
    spans = {(m.min_row, m.min_col): m for m in ws.merged_cells.ranges}
    for row in ws.iter_rows(min_row=first_row, max_row=last_row or ws.max_row):
        for cell in row:
            if not isinstance(cell.value, str) or not cell.value or not cell.alignment.wrap_text:
                continue  # (text that does not wrap runs on into the cells beside it)
            m = spans.get((cell.row, cell.column))
            cols = range(m.min_col, m.max_col + 1) if m else [cell.column]
            width = sum(widths.get(c, 8.43) for c in cols)
            lines = wrapped_lines(cell.value, width, font_size)
            if lines == 1:
                continue  # the default height holds one line
            need = row_height(lines, font_size)
            height = ws.row_dimensions[cell.row].height or 15  # xlsxwriter rounds to whole pixels
            assert height >= need - 0.75, (ws.title, cell.coordinate, cell.value[:40], height, need)
