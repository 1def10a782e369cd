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
