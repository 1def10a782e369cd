"""The guard at the door: every kind of broken or hostile file becomes the right finding, fast.

Every input is built here, in the test, from code (no binary blobs). Boundedness is asserted
through ``GuardResult.bytes_read``/``bytes_inflated`` rather than wall time: the hostile inputs are
built so that any approach that decompressed or expanded them in full would be obviously large.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from helpers import SOFFICE, needs_soffice, soffice_convert
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdreport.intake.guard as guard
import pdreport.intake.guard.files as guard_files
from pdreport.findings import Code
from pdreport.intake.guard import KINDS, GuardResult, Limits, guard_file
from pdreport.intake.read import open_workbook

MiB = 1024 * 1024
CJK = re.compile(r"[\u4e00-\u9fff]")
STAMP = dt.datetime(2024, 6, 20, 9, 0, 0)


@pytest.fixture(autouse=True)
def strict_guard(monkeypatch):
    """A bug in the guard must fail these tests, not hide as a CORRUPT finding."""
    monkeypatch.setattr(guard, "_RAISE_UNEXPECTED", True)


# -- builders ---------------------------------------------------------------------------------------


def xlsxwriter_book(path: Path, *, vba: bool = False) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    ws = wb.add_worksheet("指标")
    ws.write_row(0, 0, ["序号", "指标名称", "本期完成"])
    ws.write_row(1, 0, [1, "单位GDP能耗下降", 3.2])
    if vba:
        wb.add_vba_project(io.BytesIO(b"not really a VBA project"), is_stream=True)
    wb.close()
    return path


def openpyxl_book(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "任务"
    ws["A1"] = "重点任务"
    ws["B2"] = 42
    wb.save(path)
    return path


def rezip(src: Path, dst: Path, change: dict[str, bytes | None] | None = None,
          add: dict[str, bytes] | None = None) -> Path:  # fmt: skip
    """Copy a zip, replacing (bytes), dropping (None) or adding members."""
    change = change or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = change.get(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(name)


def raw_zip(members: list[dict]) -> bytes:
    """A zip written byte by byte, so that sizes, CRCs and offsets can lie. Each member: name,
    data (as stored in the file), method (0/8), crc, csize, usize, and optionally offset (a
    central-directory offset to point at instead of the member's own) and local (False: write
    the directory entry only)."""
    out = bytearray()
    central = bytearray()
    for m in members:
        name = m["name"].encode()
        offset = len(out)
        if m.get("local", True):
            out += local_record(m)
        central += b"PK\x01\x02" + struct.pack("<HHHHHHIIIHHHHHII", 20, 20, 0, m["method"], 0, 0x21,
                                               m["crc"], m["csize"], m["usize"], len(name), 0, 0, 0,
                                               0, 0, m.get("offset", offset)) + name  # fmt: skip
    cd_offset = len(out)
    out += central
    out += b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central),
                                       cd_offset, 0)  # fmt: skip
    return bytes(out)


def local_record(m: dict) -> bytes:
    name = m["name"].encode()
    fields = (20, 0, m["method"], 0, 0x21, m["crc"], m["csize"], m["usize"], len(name), 0)
    return b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", *fields) + name + m["data"]


def overlapping_zip(body: bytes = b"<sst/>") -> bytes:
    """The "better zip bomb": member a's stored data is member b's whole local record, so b's
    data is read twice (the directory points b into the middle of a)."""
    inner = {"name": "xl/b.xml", "method": 0, "data": body, "crc": zlib.crc32(body),
             "csize": len(body), "usize": len(body)}  # fmt: skip
    outer_data = local_record(inner)
    outer = {"name": "xl/a.xml", "method": 0, "data": outer_data, "crc": zlib.crc32(outer_data),
             "csize": len(outer_data), "usize": len(outer_data)}  # fmt: skip
    inner.update(local=False, offset=30 + len(b"xl/a.xml"))
    return raw_zip([outer, inner])


def deflated(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def zeros_deflated(mib: int) -> bytes:
    """A raw deflate stream of ``mib`` MiB of zeros, built in milliseconds: after a full flush
    every MiB compresses to the same block, so the block is repeated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
    assert c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH) == block
    return block * mib + b"\x03\x00"  # + an empty final block


def cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal compound file (CFB v3, 512-byte sectors) holding ``streams`` at its root.
    Streams are padded to 4096 bytes so that none lives in the mini stream."""
    ssz = 512
    end, free, fatsect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    datas = [streams[n].ljust(max(4096, -(-len(streams[n]) // ssz) * ssz), b"\0") for n in names]  # whole sectors
    n_dir = -(-(len(names) + 1) * 128 // ssz)
    n_data = sum(-(-len(d) // ssz) for d in datas)
    n_fat = 1
    while n_fat * (ssz // 4) < n_fat + n_dir + n_data:
        n_fat += 1
    fat = [fatsect] * n_fat
    dir_start = len(fat)
    fat += [dir_start + i + 1 for i in range(n_dir - 1)] + [end]
    starts = []
    for d in datas:
        n = -(-len(d) // ssz)
        starts.append(len(fat))
        fat += [len(fat) + i + 1 for i in range(n - 1)] + [end]
    fat += [free] * (n_fat * (ssz // 4) - len(fat))

    def entry(name: str, kind: int, start: int, size: int, right: int, child: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
                + struct.pack("<III", free, right, child) + bytes(16) + struct.pack("<IQQ", 0, 0, 0)
                + struct.pack("<IQ", start, size))  # fmt: skip

    dirs = entry("Root Entry", 5, end, 0, free, 1 if names else free)
    for i, (n, d, s) in enumerate(zip(names, datas, starts, strict=True)):
        dirs += entry(n, 2, s, len(streams[n]) if len(streams[n]) >= 4096 else len(d),
                      i + 2 if i + 1 < len(names) else free, free)  # fmt: skip
    dirs = dirs.ljust(n_dir * ssz, b"\0")
    difat = list(range(n_fat)) + [free] * (109 - n_fat)
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16)
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<IIIIIIIII", 0, n_fat, dir_start, 0, 4096, end, 0, end, 0)
              + struct.pack("<109I", *difat))  # fmt: skip
    body = struct.pack(f"<{len(fat)}I", *fat) + dirs + b"".join(datas)
    return header + body


def biff(rtype: int, body: bytes = b"") -> bytes:
    return struct.pack("<HH", rtype, len(body)) + body


def xls_bytes(cells: list[tuple[int, int, float]], *, password: bool = False, sheets: int = 1,
              dimension: tuple[int, int, int, int] | None = None, ply_shift: int = 0,
              stream_only: bool = False) -> bytes:  # fmt: skip
    """A small BIFF8 workbook (one Workbook stream) that calamine reads: number cells only.
    ``password`` adds a FILEPASS record (RC4 CryptoAPI header) as Excel writes for an encrypted
    file; the record bodies that follow are left plain (the guard stops at FILEPASS).
    ``dimension`` overrides the DIMENSIONS record (first row, last row, first col, last col);
    ``ply_shift`` moves where BOUNDSHEET says each sheet starts."""
    bof = lambda dt: biff(0x0809, struct.pack("<HHHHII", 0x0600, dt, 0x0DBB, 0x07CC, 0, 0x0006))  # noqa: E731
    pad = biff(0x005C, b" " * 4200)  # WRITEACCESS, padded so the stream is >= 4096 bytes
    globals_ = [bof(0x0005)]
    if password:
        globals_.append(biff(0x002F, struct.pack("<HHH", 1, 4, 2) + bytes(6 + 16 + 16 + 20)))
    globals_ += [biff(0x0042, struct.pack("<H", 1200)), pad]
    sheet_names = [f"S{i + 1}" for i in range(sheets)]
    bound_len = sum(4 + 8 + len(n) for n in sheet_names)
    offset = sum(len(r) for r in globals_) + bound_len + 4
    substreams = []
    for _name in sheet_names:
        rows = max((r for r, _, _ in cells), default=0) + 1
        cols = max((c for _, c, _ in cells), default=0) + 1
        dims = dimension or (0, rows, 0, cols)
        recs = [bof(0x0010), biff(0x0200, struct.pack("<IIHHH", *dims, 0))]
        recs += [biff(0x0203, struct.pack("<HHHd", r, c, 0, v)) for r, c, v in cells]
        recs.append(biff(0x000A))
        substreams.append(b"".join(recs))
    bounds = []
    for name, sub in zip(sheet_names, substreams, strict=True):
        bounds.append(biff(0x0085, struct.pack("<IBBBB", offset + ply_shift, 0, 0, len(name), 0) + name.encode()))
        offset += len(sub)
    stream = b"".join(globals_) + b"".join(bounds) + biff(0x000A) + b"".join(substreams)
    return stream if stream_only else cfb({"Workbook": stream})


# -- assertions ---------------------------------------------------------------------------------------


def only(result: GuardResult, code: Code) -> None:
    assert [f.code for f in result.findings] == [code], [f.render() for f in result.findings]
    f = result.findings[0]
    assert f.is_error
    assert CJK.search(f.message) and CJK.search(f.hint), f.render()
    assert not re.search(r"Traceback|Error\b|Exception", f.message)


def check(path: Path, code: Code, limits: Limits = Limits()) -> GuardResult:  # noqa: B008
    result = guard_file(path, limits)
    only(result, code)
    assert result.findings[0].file == str(path)
    size = path.stat().st_size if path.is_file() and not path.is_symlink() else 0
    assert result.bytes_read <= 3 * size + 256 * 1024
    return result


def clean(path: Path, kind: str) -> GuardResult:
    result = guard_file(path)
    assert result.findings == [], [f.render() for f in result.findings]
    assert result.kind == kind
    assert result.ok
    return result


# -- good files ---------------------------------------------------------------------------------------


def test_xlsxwriter_workbook_passes(tmp_path):
    clean(xlsxwriter_book(tmp_path / "a.xlsx"), "xlsx")


def test_openpyxl_workbook_passes(tmp_path):
    clean(openpyxl_book(tmp_path / "a.xlsx"), "xlsx")


def test_macro_workbook_is_xlsm_whatever_its_name(tmp_path):
    clean(xlsxwriter_book(tmp_path / "a.xlsm", vba=True), "xlsm")
    renamed = tmp_path / "a.xlsx"
    shutil.copy(tmp_path / "a.xlsm", renamed)
    clean(renamed, "xlsm")


def test_a_real_template_passes(plan, tmp_path):
    from pdreport.template import build_layout, render_workbook

    layout = build_layout(plan, plan.respondents[0], plan.period("2024H1"))
    path = tmp_path / "template.xlsx"
    path.write_bytes(render_workbook(layout, STAMP))
    result = clean(path, "xlsx")
    infos = zipfile.ZipFile(path).infolist()
    read = [i for i in infos if not i.filename.startswith(guard.CALAMINE_SKIPS[0])]
    assert result.bytes_inflated == sum(i.file_size for i in read) < sum(i.file_size for i in infos)
    assert guard_file(path, for_openpyxl=True).bytes_inflated == sum(i.file_size for i in infos)


@pytest.mark.parametrize("tag", [b'<mergeCells count="1"><mergeCell ref="A20:ALL99999"/></mergeCells>',
                                 b'<hyperlinks><hyperlink ref="$A$1:$XFD$1048576" location="A1"/></hyperlinks>',
                                 b'<mergeCells count="1"><mergeCell ref="A:A"/></mergeCells>'])
def test_merged_ranges_and_hyperlinks_that_span_millions_of_cells_are_not_for_openpyxl(plan, tmp_path, tag):
    """openpyxl (the feedback copy) makes an object for every cell of a merged range or hyperlink:
    one tag spanning a hundred million cells would run for ever. calamine never expands them, so
    the return is read as usual; openpyxl is refused it (the copy is then rebuilt from the template)."""
    from pdreport.template import build_layout, render_workbook

    layout = build_layout(plan, plan.find_respondent("康桥镇"), plan.period("2024H1"))
    template = tmp_path / "t.xlsx"
    template.write_bytes(render_workbook(layout, STAMP))
    sheet = member(template, "xl/worksheets/sheet2.xml")
    assert b"<mergeCells" in sheet  # (a template merges a few cells: fine for openpyxl)
    assert guard_file(template, for_openpyxl=True).ok
    bomb = sheet.replace(b"</sheetData>", b"</sheetData>" + tag, 1) if b"<mergeCells" not in tag[:12] else \
        re.sub(rb"<mergeCells.*?</mergeCells>", tag, sheet, count=1, flags=re.S)  # fmt: skip
    path = rezip(template, tmp_path / "bomb.xlsx", {"xl/worksheets/sheet2.xml": bomb})
    assert guard_file(path).ok  # calamine: as usual
    result = guard_file(path, for_openpyxl=True)
    only(result, Code.XML_UNSAFE)
    assert "合并单元格或超链接的范围过大" in result.findings[0].message


def test_kind_comes_from_content_not_name(tmp_path):
    src = xlsxwriter_book(tmp_path / "a.xlsx")
    for name in ("a.xls", "a.ods", "a.pdf", "noextension"):
        shutil.copy(src, tmp_path / name)
        clean(tmp_path / name, "xlsx")


def test_hand_built_xls_is_read_by_calamine_and_passes(tmp_path):
    from python_calamine import CalamineWorkbook

    path = tmp_path / "hand.xls"
    path.write_bytes(xls_bytes([(0, 0, 1.0), (2, 3, 7.5)]))
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[0][0] == 1.0 and rows[2][3] == 7.5  # the builder makes real BIFF8
    clean(path, "xls")


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    if SOFFICE is None:
        pytest.skip("LibreOffice is not installed")
    out = tmp_path_factory.mktemp("lo")
    src = xlsxwriter_book(out / "src.xlsx")
    return {fmt: soffice_convert(src, fmt, out) for fmt in ("ods", "xls")}


@needs_soffice
@pytest.mark.parametrize("fmt", ["ods", "xls"])
def test_libreoffice_ods_and_xls_pass(converted, fmt):
    clean(converted[fmt], fmt)


# -- not a regular file ---------------------------------------------------------------------------------


def test_directory_named_like_a_workbook(tmp_path):
    d = tmp_path / "x.xlsx"
    d.mkdir()
    check(d, Code.NOT_A_FILE)


def test_symlink_is_not_followed(tmp_path):
    target = xlsxwriter_book(tmp_path / "real.xlsx")
    link = tmp_path / "link.xlsx"
    link.symlink_to(target)
    result = check(link, Code.NOT_A_FILE)
    assert result.bytes_read == 0


def test_dangling_symlink(tmp_path):
    link = tmp_path / "gone.xlsx"
    link.symlink_to(tmp_path / "nowhere.xlsx")
    check(link, Code.NOT_A_FILE)


def test_missing_file(tmp_path):
    check(tmp_path / "nowhere.xlsx", Code.NOT_A_FILE)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    check(fifo, Code.NOT_A_FILE)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path):
    path = xlsxwriter_book(tmp_path / "locked.xlsx")
    path.chmod(0)
    try:
        check(path, Code.UNREADABLE)
    finally:
        path.chmod(0o644)


def test_permission_denied_on_open(tmp_path, monkeypatch):
    """The same path as above, taken even when the tests run as root."""
    path = xlsxwriter_book(tmp_path / "locked.xlsx")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    result = guard_file(path)
    monkeypatch.undo()
    only(result, Code.UNREADABLE)


def test_read_error_midway(tmp_path, monkeypatch):
    path = xlsxwriter_book(tmp_path / "flaky.xlsx")

    real_fdopen = os.fdopen

    class Flaky(io.RawIOBase):
        def __init__(self, f):
            self.f = f

        def seek(self, *a):
            return self.f.seek(*a)

        def read(self, n=-1):
            raise OSError(5, "Input/output error")

        def close(self):
            self.f.close()

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: Flaky(real_fdopen(fd, mode)))
    result = guard_file(path)
    monkeypatch.undo()
    only(result, Code.UNREADABLE)


# -- size ---------------------------------------------------------------------------------------------


def test_file_too_large_is_refused_without_reading(tmp_path):
    path = tmp_path / "huge.xlsx"
    with open(path, "wb") as f:
        f.truncate(21 * MiB)  # sparse: no disk used
    result = check(path, Code.FILE_TOO_LARGE)
    assert result.bytes_read == 0


def test_file_size_cap_is_a_limit(tmp_path):
    path = xlsxwriter_book(tmp_path / "a.xlsx")
    check(path, Code.FILE_TOO_LARGE, Limits(max_file_bytes=1000))


# -- not a workbook -----------------------------------------------------------------------------------


def test_zero_bytes(tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    check(path, Code.NOT_A_WORKBOOK)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("序号,指标,完成\n1,能耗,3.2\n".encode("gb18030"), "文本"),
        ("序号,指标\n1,能耗\n".encode(), "文本"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "PDF"),
        (b"<html><head><meta charset='utf-8'></head><body><table><tr><td>1</td></tr></table>", "网页"),
        (b'<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>', "2003"),
        (b"{\\rtf1\\ansi hello}", "RTF"),
        (bytes(range(256)) * 4, "无法识别"),
    ],
)
def test_other_formats_renamed_xlsx(tmp_path, content, says):
    path = tmp_path / "renamed.xlsx"
    path.write_bytes(content)
    result = check(path, Code.NOT_A_WORKBOOK)
    assert says in result.findings[0].message


def test_docx_renamed_xlsx(tmp_path):
    import docx

    path = tmp_path / "report.xlsx"
    docx.Document().save(str(path))
    result = check(path, Code.NOT_A_WORKBOOK)
    assert "Word" in result.findings[0].message


def test_minimal_hand_made_docx_renamed_xlsx(tmp_path):
    types = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
             b'officedocument.wordprocessingml.document.main+xml"/></Types>')  # fmt: skip
    path = tmp_path / "a.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("word/document.xml", b"<w:document/>")
    assert "Word" in check(path, Code.NOT_A_WORKBOOK).findings[0].message


def test_zip_without_content_types(tmp_path):
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("填报表/说明.txt", "请查收")
    assert "压缩包" in check(path, Code.NOT_A_WORKBOOK).findings[0].message


def test_opendocument_text_is_not_a_workbook(tmp_path):
    path = tmp_path / "a.ods"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", "<office:document-content/>")
    check(path, Code.NOT_A_WORKBOOK)


def test_word_97_document_is_not_a_workbook(tmp_path):
    path = tmp_path / "a.xls"
    path.write_bytes(cfb({"WordDocument": b"\xec\xa5" + bytes(100)}))
    check(path, Code.NOT_A_WORKBOOK)


# -- corrupt ------------------------------------------------------------------------------------------


def test_truncated_xlsx(tmp_path):
    src = xlsxwriter_book(tmp_path / "a.xlsx").read_bytes()
    for cut in (len(src) // 2, len(src) - 30, 40):
        path = tmp_path / f"cut{cut}.xlsx"
        path.write_bytes(src[:cut])
        check(path, Code.CORRUPT)


def test_flipped_byte_inside_a_member(tmp_path):
    src = xlsxwriter_book(tmp_path / "a.xlsx")
    with zipfile.ZipFile(src) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(src.read_bytes())
    start = info.header_offset + 30 + len(info.filename)
    data[start + info.compress_size // 2] ^= 0x55
    path = tmp_path / "flipped.xlsx"
    path.write_bytes(bytes(data))
    check(path, Code.CORRUPT)


def test_member_that_does_not_match_its_crc(tmp_path, monkeypatch):
    """Bytes changed inside a stored member (nothing to inflate, sizes unchanged): only the CRC
    tells, on the one-pass path (file held in memory) and on the streamed one (the file is read
    in chunks beyond ``_SLURP_MAX``)."""
    src = xlsxwriter_book(tmp_path / "a.xlsx")
    buf = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename), zipfile.ZIP_STORED)
    data = bytearray(buf.getvalue())
    at = data.find(b"<sheetData")
    data[at + 1:at + 10] = b"SHEETDATA"  # (one part's text, same length: still well formed)
    path = tmp_path / "crc.xlsx"
    path.write_bytes(bytes(data))
    check(path, Code.CORRUPT)
    monkeypatch.setattr(guard_files, "_SLURP_MAX", 0)
    check(path, Code.CORRUPT)


def test_bad_cfb(tmp_path):
    good = xls_bytes([(0, 0, 1.0)])
    cases = {
        "short": good[:300],
        "bad_order": good[:28] + b"\x00\x00" + good[30:],
        "dir_loop": good[:48] + struct.pack("<I", 10_000) + good[52:],
        "no_sectors": good[:512],
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.xls"
        path.write_bytes(data)
        check(path, Code.CORRUPT)


# -- zip bombs and lying zips -----------------------------------------------------------------------------


def test_zip_bomb_by_ratio_is_refused_from_the_directory(tmp_path):
    data = zeros_deflated(300)  # 300 MiB of zeros in ~300 KB
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(raw_zip([
        {"name": "[Content_Types].xml", "method": 8, "data": data, "crc": 0,
         "csize": len(data), "usize": 300 * MiB},
    ]))  # fmt: skip
    assert path.stat().st_size < 400_000
    result = check(path, Code.ZIP_UNSAFE)
    assert result.bytes_inflated == 0
    assert "压缩" in result.findings[0].message


def test_zip_bomb_by_total_size(tmp_path):
    members = []
    for i in range(5):
        data = deflated(bytes(range(256)) * 64)
        members.append({"name": f"xl/media/p{i}.bin", "method": 8, "data": data, "crc": 0,
                        "csize": len(data), "usize": 45 * MiB})  # fmt: skip
    path = tmp_path / "total.xlsx"
    path.write_bytes(raw_zip(members))
    limits = Limits(max_ratio=10**9)  # only the total cap can object
    result = check(path, Code.ZIP_UNSAFE, limits)
    assert result.bytes_inflated == 0
    assert "解压后" in result.findings[0].message


def test_header_that_lies_about_size_stops_inflating_early(tmp_path):
    """The directory says 200 KB; the data inflates to 64 MiB. Inflation stops at 200 KB."""
    data = zeros_deflated(64)
    declared = 200_000
    members = []
    with zipfile.ZipFile(xlsxwriter_book(tmp_path / "a.xlsx")) as z:
        for info in z.infolist():
            body = z.read(info.filename)
            members.append({"name": info.filename, "method": 8, "data": deflated(body),
                            "crc": zlib.crc32(body), "csize": len(deflated(body)), "usize": len(body)})  # fmt: skip
    liar = next(m for m in members if m["name"] == "xl/worksheets/sheet1.xml")
    liar.update(data=data, csize=len(data), usize=declared)
    path = tmp_path / "liar.xlsx"
    path.write_bytes(raw_zip(members))
    assert guard_file(path, Limits(max_ratio=10**9, max_total_uncompressed=10**12)).kind == "xlsx"
    result = check(path, Code.ZIP_UNSAFE)
    assert "解压后比记录的大小更大" in result.findings[0].message
    assert result.bytes_inflated <= 2 * declared + 256 * 1024


def test_too_many_members(tmp_path):
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(2001):
            z.writestr(f"xl/m{i}.xml", b"")
    result = check(path, Code.ZIP_UNSAFE)
    assert result.bytes_inflated == 0


def test_member_count_cap_is_a_limit(tmp_path):
    path = xlsxwriter_book(tmp_path / "a.xlsx")
    check(path, Code.ZIP_UNSAFE, Limits(max_members=3))


def test_stored_member_sizes_disagree(tmp_path):
    path = tmp_path / "stored.xlsx"
    path.write_bytes(raw_zip([
        {"name": "[Content_Types].xml", "method": 0, "data": b"<Types/>", "crc": zlib.crc32(b"<Types/>"),
         "csize": 8, "usize": 80},
    ]))  # fmt: skip
    check(path, Code.ZIP_UNSAFE)


def test_two_entries_pointing_at_one_member(tmp_path):
    body = b"<Types/>"
    m = {"method": 0, "data": body, "crc": zlib.crc32(body), "csize": len(body), "usize": len(body)}
    data = raw_zip([{**m, "name": "[Content_Types].xml"}, {**m, "name": "xl/aaaaaa.xml", "offset": 0}])
    path = tmp_path / "same.xlsx"
    path.write_bytes(data)
    check(path, Code.ZIP_UNSAFE)


def test_overlapping_members(tmp_path):
    """The 'better zip bomb': one member's data contains the next member, so data is reused."""
    body = b"<sst/>"
    path = tmp_path / "overlap.xlsx"
    path.write_bytes(overlapping_zip(body))
    with zipfile.ZipFile(path) as z:  # zipfile itself reads both
        assert z.read("xl/b.xml") == body
    result = check(path, Code.ZIP_UNSAFE)
    assert "重叠" in result.findings[0].message


def test_duplicate_member_names(tmp_path):
    body = b"<Types/>"
    m = {"name": "[Content_Types].xml", "method": 0, "data": body, "crc": zlib.crc32(body),
         "csize": len(body), "usize": len(body)}  # fmt: skip
    path = tmp_path / "dup.xlsx"
    path.write_bytes(raw_zip([m, m]))
    check(path, Code.ZIP_UNSAFE)


def test_unusual_compression_method(tmp_path):
    src = xlsxwriter_book(tmp_path / "a.xlsx")
    path = tmp_path / "lzma.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_LZMA) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    check(path, Code.ZIP_UNSAFE)


# -- encrypted ----------------------------------------------------------------------------------------


def test_encrypted_xlsx_made_by_msoffcrypto(tmp_path):
    msoffcrypto = pytest.importorskip("msoffcrypto")
    plain = xlsxwriter_book(tmp_path / "plain.xlsx")
    path = tmp_path / "secret.xlsx"
    with open(plain, "rb") as fin, open(path, "wb") as fout:
        msoffcrypto.OfficeFile(fin).encrypt("123456", fout)
    result = check(path, Code.ENCRYPTED)
    assert "密码" in result.findings[0].hint


def test_encrypted_xlsx_hand_built_container(tmp_path):
    path = tmp_path / "secret.xlsx"
    path.write_bytes(cfb({"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00" + bytes(200),
                          "EncryptedPackage": os.urandom(8) + bytes(5000),
                          "\x06DataSpaces": b""}))  # fmt: skip
    check(path, Code.ENCRYPTED)


def test_encrypted_xls(tmp_path):
    from python_calamine import CalamineWorkbook

    path = tmp_path / "secret.xls"
    path.write_bytes(xls_bytes([(0, 0, 1.0)], password=True))
    with pytest.raises(Exception, match="(?i)password|encrypt"):  # calamine agrees: encrypted
        CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    result = check(path, Code.ENCRYPTED)
    assert result.kind == "xls"


def test_encrypted_ods(tmp_path):
    manifest = (b'<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest='
                b'"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry '
                b'manifest:full-path="content.xml" manifest:media-type="text/xml">'
                b'<manifest:encryption-data manifest:checksum-type="SHA1/1K"/></manifest:file-entry>'
                b'</manifest:manifest>')  # fmt: skip
    path = tmp_path / "secret.ods"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", os.urandom(2000))  # encrypted bytes, not XML
    result = check(path, Code.ENCRYPTED)
    assert result.kind == "ods"


def test_zip_level_encryption(tmp_path):
    body = b"<Types/>"
    data = bytearray(raw_zip([{"name": "[Content_Types].xml", "method": 0, "data": body,
                               "crc": zlib.crc32(body), "csize": len(body), "usize": len(body)}]))  # fmt: skip
    data[6] |= 1  # local header: encrypted
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 8] |= 1  # central directory: encrypted
    path = tmp_path / "zipcrypto.xlsx"
    path.write_bytes(bytes(data))
    check(path, Code.ENCRYPTED)


# -- hostile XML --------------------------------------------------------------------------------------

LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b"]>\n")  # fmt: skip


@pytest.fixture
def book(tmp_path):
    return xlsxwriter_book(tmp_path / "base.xlsx")


@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/worksheets/sheet1.xml", "[Content_Types].xml"])
def test_billion_laughs(tmp_path, book, part):
    xml = member(book, part)
    body = xml.split(b"?>", 1)[1]
    path = rezip(book, tmp_path / "laughs.xlsx", {part: LAUGHS + body})
    result = check(path, Code.XML_UNSAFE)
    assert "DOCTYPE" in result.findings[0].message


def test_doctype_hidden_behind_a_long_comment(tmp_path, book):
    xml = member(book, "xl/worksheets/sheet1.xml")
    decl, body = xml.split(b"?>", 1)
    filler = b"<!--" + os.urandom(50_000).hex().encode() + b"-->"
    path = rezip(book, tmp_path / "hidden.xlsx", {"xl/worksheets/sheet1.xml": decl + b"?>" + filler + LAUGHS[22:] + body})
    check(path, Code.XML_UNSAFE)


def test_xml_part_under_another_name_is_still_checked(tmp_path, book):
    path = rezip(book, tmp_path / "renamed.xlsx", add={"xl/worksheets/data.bin": LAUGHS + b"<worksheet/>"})
    check(path, Code.XML_UNSAFE)


def test_utf16_part(tmp_path, book):
    xml = member(book, "xl/workbook.xml").decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    path = rezip(book, tmp_path / "utf16.xlsx", {"xl/workbook.xml": xml.encode("utf-16")})
    check(path, Code.XML_UNSAFE)


def test_deep_nesting(tmp_path, book):
    """Nesting is checked for openpyxl, which builds a tree of each part; calamine reads XML as a
    stream (100,000 levels: 0.06 s, 20 MB), so the default check lets it through."""
    deep = b'<?xml version="1.0"?><worksheet>' + b"<a>" * 500 + b"</a>" * 500 + b"</worksheet>"
    path = rezip(book, tmp_path / "deep.xlsx", {"xl/worksheets/sheet1.xml": deep})
    assert guard_file(path).findings == []
    result = guard_file(path, for_openpyxl=True)
    only(result, Code.XML_UNSAFE)
    assert "嵌套过深" in result.findings[0].message


def test_parts_calamine_never_opens_are_checked_for_openpyxl_only(tmp_path, book):
    """A part calamine never opens (docProps/, nested too deep here) is not inflated for calamine
    and is not in the container calamine gets; for openpyxl every part is checked."""
    path = rezip(book, tmp_path / "props.xlsx", {"docProps/app.xml": b"<Properties>" + b"<a>" * 200})
    result = guard_file(path)
    assert result.findings == [] and result.data is not None
    with zipfile.ZipFile(io.BytesIO(result.data)) as z:
        assert "docProps/app.xml" not in z.namelist() and "xl/workbook.xml" in z.namelist()
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
    only(guard_file(path, for_openpyxl=True), Code.XML_UNSAFE)


def test_the_reader_gets_exactly_the_checked_parts(book):
    """The container handed to calamine holds each checked part byte for byte, uncompressed."""
    result = guard_file(book)
    with zipfile.ZipFile(book) as original, zipfile.ZipFile(io.BytesIO(result.data)) as repacked:
        for info in repacked.infolist():
            assert repacked.read(info) == original.read(info.filename)
        skipped = set(original.namelist()) - set(repacked.namelist())
        assert skipped and all(name.startswith(guard.CALAMINE_SKIPS[0]) for name in skipped)
    assert guard_file(book, for_openpyxl=True).data is not None
    with zipfile.ZipFile(io.BytesIO(guard_file(book, for_openpyxl=True).data)) as z, zipfile.ZipFile(book) as o:
        assert sorted(z.namelist()) == sorted(o.namelist())


@pytest.mark.parametrize("declared", [b"A1:C1048576", b"A1:XFD2", b"A1:XFD1048576"])
@pytest.mark.parametrize("for_openpyxl", [False, True])
def test_a_declared_dimension_is_no_limit_the_cells_are(tmp_path, book, declared, for_openpyxl):
    # LibreOffice declares A1:J1048576 (and writes an empty row 1048576) once a row has been
    # deleted: calamine reserves room by a dimension only below 100,000 cells and builds its range
    # from the cells, openpyxl sizes a sheet by its cells (read only, pdreport reads 5,000 × 200)
    xml = member(book, "xl/worksheets/sheet1.xml")
    assert b'<dimension ref="A1:C2"/>' in xml
    xml = xml.replace(b"A1:C2", declared).replace(b"</sheetData>", b'<row r="1048576" ht="12.8"></row></sheetData>')
    path = rezip(book, tmp_path / "dim.xlsx", {"xl/worksheets/sheet1.xml": xml})
    result = guard_file(path, for_openpyxl=for_openpyxl)
    assert result.findings == []
    wb = open_workbook(path, result.data)
    assert len(wb.grid(wb.sheet_names[0])) == 2
    # the same row with a cell in it is the far cell it is
    far = xml.replace(b'<row r="1048576" ht="12.8"></row>', b'<row r="1048576" ht="12.8"><c r="A1048576"><v>1</v></c></row>')
    check(rezip(book, tmp_path / "far.xlsx", {"xl/worksheets/sheet1.xml": far}), Code.XML_UNSAFE)


@pytest.mark.parametrize("row", [b'<row r="1048576"></row>', b'<row r="1048576" spans="1:3" ></row >',
                                 b'<row r="1048576"/>', b'<row r="1048576">\n  </row>'])  # fmt: skip
def test_an_empty_row_places_nothing(tmp_path, book, row):
    xml = member(book, "xl/worksheets/sheet1.xml").replace(b"</sheetData>", row + b"</sheetData>")
    assert guard_file(rezip(book, tmp_path / "row.xlsx", {"xl/worksheets/sheet1.xml": xml})).findings == []


def test_a_row_whose_end_is_not_right_after_it_counts(tmp_path, book):
    # (anything between a row's start and its end tag may be a cell: the row counts, as before)
    xml = member(book, "xl/worksheets/sheet1.xml")
    xml = xml.replace(b"</sheetData>", b'<row r="1048576"><!-- --></row></sheetData>')
    check(rezip(book, tmp_path / "row.xlsx", {"xl/worksheets/sheet1.xml": xml}), Code.XML_UNSAFE)


def test_one_far_away_cell(tmp_path, book):
    """No dimension, one cell at XFD1048576: calamine would allocate 17 billion cells."""
    xml = member(book, "xl/worksheets/sheet1.xml")
    far = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
    xml = xml.replace(b'<dimension ref="A1:C2"/>', b"").replace(b"</sheetData>", far)
    path = rezip(book, tmp_path / "far.xlsx", {"xl/worksheets/sheet1.xml": xml})
    result = check(path, Code.XML_UNSAFE)
    assert result.findings[0].cell == "XFD1048576"
    # named as the clerk knows it: the sheet's name, not the part's (openpyxl, LibreOffice and
    # xlsxwriter write workbook.xml after the worksheets: it is looked up once the error is known)
    sheet = guard_file(path).findings[0]
    assert sheet.sheet == "指标" and "工作表“指标”实际使用的范围" in sheet.message, sheet.message


def test_a_far_cell_names_its_sheet_in_an_openpyxl_book(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "填报说明"
    wb.create_sheet("重点任务")["C100001"] = "x"
    wb.save(tmp_path / "far.xlsx")
    (f,) = check(tmp_path / "far.xlsx", Code.XML_UNSAFE).findings
    assert f.sheet == "重点任务" and f.message.startswith("工作表“重点任务”实际使用的范围达 100001 行")


def test_far_cell_after_the_head(tmp_path, book):
    """The far cell sits after 64 KiB of ordinary rows: the whole part is scanned, in chunks."""
    xml = member(book, "xl/worksheets/sheet1.xml")
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i) for i in range(3, 4000))
    xml = xml.replace(b"</sheetData>", rows + b'<row r="4000"><c r="A250000"><v>1</v></c></row></sheetData>')
    path = rezip(book, tmp_path / "late.xlsx", {"xl/worksheets/sheet1.xml": xml})
    assert len(xml) > Limits().xml_head_bytes
    check(path, Code.XML_UNSAFE)


def test_area_cap(tmp_path, book):
    xml = member(book, "xl/worksheets/sheet1.xml")
    far = b'<row r="90000"><c r="ALL90000"><v>1</v></c></row></sheetData>'
    path = rezip(book, tmp_path / "area.xlsx", {"xl/worksheets/sheet1.xml": xml.replace(b"</sheetData>", far)})
    check(path, Code.XML_UNSAFE)  # 90,000 rows and 1,000 columns are each allowed, not together


# Forms that quick-xml (calamine) reads differently from a byte scan: a ">" inside a quoted value,
# an attribute merely ending in r, any prefix, cells and rows calamine numbers itself. Each put a
# far cell where calamine would allocate the whole rectangle (found by an adversarial review).
V = b"<v>1</v>"
ODD_SHEET_FORMS = {
    "gt_in_cell_attr": b'<row r="10"><c x=">" r="XFD1048576">' + V + b"</c></row>",
    "attr_ending_in_r": b'<row r="10"><c a-r="A1" r="XFD10">' + V + b"</c></row>",
    "empty_prefix": b'<row r="10"><:c r="XFD10">' + V + b"</:c></row>",
    "digit_prefix": b'<row r="10"><1:c r="XFD10">' + V + b"</1:c></row>",
    "non_ascii_prefix": '<row r="10"><é:c r="XFD10">'.encode() + V + "</é:c></row>".encode(),
    "implicit_row_after_far_empty_row": b'<row r="1048570"/><row><c r="A1">' + V + b"</c></row>",
    "implicit_cell_in_a_far_row": b'<row r="1048576" a="/>"><c>' + V + b"</c></row>",
    "gt_before_row_r": b'<row a=">" r="1048576"><c>' + V + b"</c></row>",
    "implicit_cells_after_far_column": b'<row r="10"><c r="ALL10">' + V + b"</c><c>" + V + b"</c></row>",
    "self_closing_implicit_cell": b'<row r="10"><c r="A10"/><c/></row>',
    # (a re-review: quick-xml keeps duplicate attributes, and calamine takes the last r)
    "second_r": b'<row r="10"><c r="B10" r="XFD1048576">' + V + b"</c></row>",
    "second_r_no_space": b'<row r="10"><c r="B10"r="XFD1048576">' + V + b"</c></row>",
    "second_r_spaced": b'<row r="10"><c r="B10" s="0" r = "XFD1048576">' + V + b"</c></row>",
    "second_r_after_quoted_gt": b'<row r="10"><c r="B10" x=">" r="XFD1048576">' + V + b"</c></row>",
}


@pytest.mark.parametrize("form", sorted(ODD_SHEET_FORMS))
def test_cells_and_rows_must_be_written_plainly(tmp_path, book, form):
    xml = member(book, "xl/worksheets/sheet1.xml")
    xml = xml.replace(b"</sheetData>", ODD_SHEET_FORMS[form] + b"</sheetData>")
    result = check(rezip(book, tmp_path / "odd.xlsx", {"xl/worksheets/sheet1.xml": xml}), Code.XML_UNSAFE)
    assert "写法异常" in result.findings[0].message or "超过上限" in result.findings[0].message


FAR = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'


def test_a_sheet_part_is_scanned_whatever_its_root(tmp_path, book):
    """calamine reads the part the workbook names as a sheet, whatever its root element."""
    xml = member(book, "xl/worksheets/sheet1.xml").replace(b"</sheetData>", FAR + b"</sheetData>")
    renamed = xml.replace(b"<worksheet ", b"<foo ").replace(b"</worksheet>", b"</foo>")
    assert renamed != xml
    check(rezip(book, tmp_path / "root.xlsx", {"xl/worksheets/sheet1.xml": renamed}), Code.XML_UNSAFE)
    texted = b"x" + xml  # quick-xml skips text before the root; _looks_like_xml does not
    result = check(rezip(book, tmp_path / "text.xlsx", {"xl/worksheets/sheet1.xml": texted}), Code.XML_UNSAFE)
    assert "开头不是规范的 XML" in result.findings[0].message


def test_a_tag_longer_than_the_carry_in_a_large_file(tmp_path, book):
    """Streamed in chunks (a file over the in-memory size): a cell tag with thousands of spaces
    before r is cut between two chunks; it is refused rather than read in halves."""
    xml = member(book, "xl/worksheets/sheet1.xml")
    before, after = xml.split(b"</sheetData>")
    before += b'<row r="10">'
    at = Limits().xml_head_bytes - 5000  # the tag starts 5,000 bytes before the first chunk ends
    before += b"<v>" + b" " * (at - len(before) - 7) + b"</v>"
    xml = before + b"<c" + b" " * 6000 + b'r="XFD10"><v>1</v></c></row></sheetData>' + after
    assert xml.index(b"<c   ") == at
    big = os.urandom(5 * 1024 * 1024)
    path = rezip(book, tmp_path / "big.xlsx", {"xl/worksheets/sheet1.xml": xml}, add={"xl/media/image1.png": big})
    assert path.stat().st_size > 4 * 1024 * 1024
    check(path, Code.XML_UNSAFE)


def test_ten_thousand_sheets(tmp_path, book):
    xml = member(book, "xl/workbook.xml")
    sheets = b"".join(b'<sheet name="S%d" sheetId="%d" r:id="rId1"/>' % (i, i) for i in range(1, 10_001))
    xml = re.sub(rb"<sheets>.*</sheets>", b"<sheets>" + sheets + b"</sheets>", xml, flags=re.S)
    path = rezip(book, tmp_path / "sheets.xlsx", {"xl/workbook.xml": xml})
    result = check(path, Code.XML_UNSAFE)
    assert "10000 个工作表" in result.findings[0].message


def test_shared_strings_declaring_a_million(tmp_path, book):
    sst = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
           b'openxmlformats.org/spreadsheetml/2006/main" count="1000000" uniqueCount="1000000">'
           b"<si><t>a</t></si></sst>")  # fmt: skip
    path = rezip(book, tmp_path / "sst.xlsx", {"xl/sharedStrings.xml": sst})
    check(path, Code.XML_UNSAFE)


def test_shared_strings_present_beyond_the_cap(tmp_path, book):
    sst = b'<?xml version="1.0"?><sst>' + b"<si><t>a</t></si>" * 300 + b"</sst>"
    path = rezip(book, tmp_path / "sst.xlsx", {"xl/sharedStrings.xml": sst})
    check(path, Code.XML_UNSAFE, Limits(max_shared_strings=200))
    assert guard_file(path, Limits(max_shared_strings=300)).ok


def _ods(path: Path, table_xml: bytes, tables: int = 1) -> Path:
    content = (b'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content xmlns:office="urn:oasis'
               b':names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:'
               b'xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
               b"<office:spreadsheet>" + table_xml * tables + b"</office:spreadsheet></office:body>"
               b"</office:document-content>")  # fmt: skip
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


ODS_CELL = b'<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>'


@pytest.mark.parametrize("cell", [
    # a quoted ">" hid the repeat and the value from a scan that stopped at it
    b'<table:table-cell text:x=">" table:number-columns-repeated="5000" office:value-type="float" office:value="2"/>',
    # a value without a value-type (calamine reads office:value, string-value, date-value …)
    b'<table:table-cell table:number-columns-repeated="5000" office:value="2"/>',
    b'<table:table-cell table:number-columns-repeated="5000" office:date-value="2024-01-01"/>',
    # a decoy repeat under another prefix before the real one
    b'<table:table-cell text:number-columns-repeated="1" table:number-columns-repeated="5000" '
    b'office:value-type="float" office:value="2"/>',
    # content (text calamine may read) without any value attribute
    b'<table:table-cell table:number-columns-repeated="5000"><text:p>x</text:p></table:table-cell>',
])  # fmt: skip
def test_ods_cells_read_as_calamine_reads_them(tmp_path, cell):
    table = b'<table:table table:name="S"><table:table-row>' + cell + b"</table:table-row></table:table>"
    check(_ods(tmp_path / "wide.ods", table), Code.XML_UNSAFE)  # 5,000 columns: over 1,000


def test_ods_rows_with_a_quoted_gt(tmp_path):
    table = (b'<table:table table:name="S"><table:table-row text:x=">" table:number-rows-repeated="200000">'
             + ODS_CELL + b"</table:table-row></table:table>")  # fmt: skip
    check(_ods(tmp_path / "rows.ods", table), Code.XML_UNSAFE)


def test_ods_repeated_rows_of_values(tmp_path):
    table = (b'<table:table table:name="S"><table:table-row table:number-rows-repeated="1048576">'
             + ODS_CELL + b"</table:table-row></table:table>")  # fmt: skip
    check(_ods(tmp_path / "rows.ods", table), Code.XML_UNSAFE)


def test_ods_repeated_cells_of_values(tmp_path):
    cell = ODS_CELL.replace(b"<table:table-cell ", b'<table:table-cell table:number-columns-repeated="16384" ')
    table = b'<table:table table:name="S"><table:table-row>' + cell + b"</table:table-row></table:table>"
    check(_ods(tmp_path / "cols.ods", table), Code.XML_UNSAFE)


def test_ods_trailing_empty_repeats_are_fine(tmp_path):
    """LibreOffice ends every table with a million repeated empty rows: that is normal."""
    table = (b'<table:table table:name="S"><table:table-row>' + ODS_CELL + b"</table:table-row>"
             b'<table:table-row table:number-rows-repeated="1048575"><table:table-cell '
             b'table:number-columns-repeated="16384"/></table:table-row></table:table>')  # fmt: skip
    result = guard_file(_ods(tmp_path / "ok.ods", table))
    assert result.ok and result.kind == "ods", [f.render() for f in result.findings]


def test_ods_too_many_tables(tmp_path):
    table = b'<table:table table:name="S"><table:table-row>' + ODS_CELL + b"</table:table-row></table:table>"
    check(_ods(tmp_path / "tables.ods", table, tables=201), Code.XML_UNSAFE)


def test_xls_with_a_far_away_cell(tmp_path):
    path = tmp_path / "far.xls"
    path.write_bytes(xls_bytes([(0, 0, 1.0), (65535, 255, 2.0)]))
    check(path, Code.XML_UNSAFE)


def test_xls_whose_dimensions_run_backwards(tmp_path):
    """First row after the last: calamine's row count wraps around to ~4.3 billion (a re-review)."""
    path = tmp_path / "wrap.xls"
    path.write_bytes(xls_bytes([(0, 0, 1.0)], dimension=(100, 2, 0, 1)))
    check(path, Code.XML_UNSAFE)
    path.write_bytes(xls_bytes([(0, 0, 1.0)], dimension=(0, 2, 5, 1)))
    check(path, Code.XML_UNSAFE)


def test_xls_sheet_starting_inside_another_record(tmp_path):
    """calamine starts a sheet where BOUNDSHEET says; the guard's walk must have seen a BOF there."""
    path = tmp_path / "hidden.xls"
    path.write_bytes(xls_bytes([(0, 0, 1.0)], ply_shift=8))
    check(path, Code.XML_UNSAFE)
    path.write_bytes(xls_bytes([(0, 0, 1.0)]))
    assert guard_file(path).ok  # (the same file with the sheet where it says)


@pytest.mark.parametrize("names", [("Workbook", "WORKBOOK"), ("WORKBOOK", "Workbook"), ("Workbook", "Book"),
                                   ("Book", "Workbook")])  # fmt: skip
def test_xls_every_stream_a_reader_may_take_is_checked(tmp_path, names):
    """Two streams that could each be the workbook: whichever calamine picks was checked."""
    plain = xls_bytes([(0, 0, 1.0)], stream_only=True)
    far = xls_bytes([(0, 0, 1.0), (65535, 255, 2.0)], stream_only=True)
    path = tmp_path / "two.xls"
    path.write_bytes(cfb({names[0]: plain, names[1]: far}))
    check(path, Code.XML_UNSAFE)


def test_xls_with_too_many_sheets(tmp_path):
    path = tmp_path / "sheets.xls"
    path.write_bytes(xls_bytes([(0, 0, 1.0)], sheets=5))
    check(path, Code.XML_UNSAFE, Limits(max_sheets=4))
    assert guard_file(path, Limits(max_sheets=5)).ok


# -- never raises -------------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _sane(result: GuardResult) -> None:
    assert result.kind in KINDS + ("",)
    assert result.kind or result.findings
    for f in result.findings:
        assert CJK.search(f.message) and CJK.search(f.hint)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise(tmp_path, data):
    path = tmp_path / "fuzz.xlsx"
    path.write_bytes(data)
    _sane(guard_file(path))


@FUZZ
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_after_zip_magic_never_raise(tmp_path, data):
    path = tmp_path / "fuzz.xlsx"
    path.write_bytes(b"PK\x03\x04" + data)
    _sane(guard_file(path))


@FUZZ
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_after_cfb_magic_never_raise(tmp_path, data):
    path = tmp_path / "fuzz.xls"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + data)
    _sane(guard_file(path))


_XLSX = io.BytesIO()
_XLS = xls_bytes([(0, 0, 1.0), (3, 2, 4.0)])


def _valid_xlsx() -> bytes:
    if not _XLSX.getvalue():
        import xlsxwriter

        wb = xlsxwriter.Workbook(_XLSX, {"in_memory": True})
        wb.add_worksheet().write(0, 0, 1)
        wb.close()
    return _XLSX.getvalue()


@FUZZ
@given(st.data())
def test_damaged_real_files_never_raise(tmp_path, data):
    """Flip, cut and splice real xlsx and xls files: this reaches deep into both parsers."""
    src = bytearray(data.draw(st.sampled_from([_valid_xlsx(), _XLS]), label="file"))
    for _ in range(data.draw(st.integers(1, 8), label="edits")):
        pos = data.draw(st.integers(0, len(src) - 1), label="pos")
        action = data.draw(st.sampled_from(["flip", "cut", "zero", "ff"]), label="action")
        if action == "flip":
            src[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "cut":
            del src[pos:]
            if not src:
                break
        else:
            src[pos : pos + 4] = (b"\0" if action == "zero" else b"\xff") * 4
    path = tmp_path / "damaged.bin"
    path.write_bytes(bytes(src))
    _sane(guard_file(path))


# -- one archive, one reading: python's zipfile (the guard) and the zip crate (calamine) must agree -----
# (a third review built these: each hides a second directory whose sheet1 has a far cell)

FAR_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas'
             b'.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
             b'<row r="1048576"><c r="XFD1048576"><v>2</v></c></row></sheetData></worksheet>')  # fmt: skip


def _two_directories(book: Path) -> tuple[bytearray, bytes, bytes, int]:
    """A far sheet1 at offset 0 that only directory A lists; then every real member. Returns the
    bytes so far, directory A (the far sheet1), directory B (the real one), and the entry count."""

    def local(name: bytes, data: bytes) -> tuple[bytes, dict]:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = comp.compress(data) + comp.flush()
        info = {"crc": zlib.crc32(data), "csize": len(packed), "usize": len(data), "name": name}
        head = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, info["crc"], len(packed),
                           len(data), len(name), 0)  # fmt: skip
        return head + name + packed, info

    def central(info: dict, offset: int) -> bytes:
        return struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, info["crc"],
                           info["csize"], info["usize"], len(info["name"]), 0, 0, 0, 0, 0, offset) + info["name"]  # fmt: skip

    sheet = b"xl/worksheets/sheet1.xml"
    blob, far = local(sheet, FAR_SHEET)
    out = bytearray(blob)
    real = []
    with zipfile.ZipFile(book) as z:
        for info in z.infolist():
            blob, meta = local(info.filename.encode(), z.read(info.filename))
            real.append((meta, len(out)))
            out += blob
    dir_a = b"".join(central(far, 0) if m["name"] == sheet else central(m, off) for m, off in real)
    dir_b = b"".join(central(m, off) for m, off in real)
    return out, dir_a, dir_b, len(real)


def _end(n: int, size: int, offset: int, comment: int = 0, disk: int = 0) -> bytes:
    return struct.pack("<4sHHHHIIH", b"PK\x05\x06", disk, 0, n, n, size, offset, comment)


@pytest.mark.parametrize("trick", ["comment_past_the_end", "other_disk", "zip64_unsaturated"])
def test_a_second_directory_is_refused(tmp_path, book, trick):
    out, dir_a, dir_b, n = _two_directories(book)
    at_a = len(out)
    out += dir_a
    if trick == "zip64_unsaturated":  # python reads the zip64 end record, the zip crate the classic one
        at_b = len(out)
        out += dir_b
        z64 = len(out)
        out += struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, len(dir_b), at_b)
        out += struct.pack("<4sIQI", b"PK\x06\x07", 0, z64, 1) + _end(n, len(dir_a), at_a)
    else:  # the zip crate skips the last end record and falls back to the first; python does not
        out += _end(n, len(dir_a), at_a)
        at_b = len(out)
        out += dir_b
        out += _end(n, len(dir_b), at_b, **({"comment": 0xFFFF} if trick == "comment_past_the_end" else {"disk": 1}))
    path = tmp_path / "two.xlsx"
    path.write_bytes(bytes(out))
    check(path, Code.ZIP_UNSAFE)


def test_bytes_between_members_are_refused(tmp_path, book):
    """The far sheet1 sits before the first listed member, listed by nothing: still refused."""
    out, _dir_a, dir_b, n = _two_directories(book)
    at_b = len(out)
    path = tmp_path / "gap.xlsx"
    path.write_bytes(bytes(out) + dir_b + _end(n, len(dir_b), at_b))
    check(path, Code.ZIP_UNSAFE)


def test_a_word_file_is_called_disguised_only_under_a_spreadsheet_name(tmp_path):
    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    (tmp_path / "说明.docx").write_bytes(buf.getvalue())
    (tmp_path / "填报表.xlsx").write_bytes(buf.getvalue())
    plain = guard_file(tmp_path / "说明.docx").findings[0].message
    disguised = guard_file(tmp_path / "填报表.xlsx").findings[0].message
    assert plain == "这是 Word 文档，不是 Excel 表格"
    assert disguised == "这是 Word 文档，不是 Excel 表格（只是扩展名被改成了表格）"


def test_zip_with_no_member_and_stray_bytes_is_a_finding(tmp_path, monkeypatch):
    """Found by the damaged-files property test: an end record naming no member after some stray
    bytes (read by zipfile, not by the plain-directory path) must be a finding, not an error."""
    monkeypatch.setattr(guard, "_RAISE_UNEXPECTED", True)
    path = tmp_path / "empty.xlsx"
    stray = b"PK\x03\x04" + bytes(26)  # a local header of nothing, that no directory entry names
    path.write_bytes(stray + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0, 0, 0, len(stray), 0))
    result = guard_file(path)
    assert result.findings and not result.ok


def test_the_sample_returns_are_cleared_in_one_pass(monkeypatch):
    """A workbook part longer than 7 bytes a sheet allows (Excel and openpyxl write ~1.5 KB of
    views and defined names for five sheets) still takes the one-pass clearing: its sheets are
    counted there instead of sending every part of the file to the exact scans."""
    from pdreport.intake.guard import zipcheck

    cleared: list[bool] = []
    real = zipcheck._Zip._clear_plainly
    monkeypatch.setattr(zipcheck._Zip, "_clear_plainly", lambda self, members: cleared.append(real(self, members)) or cleared[-1])
    samples = sorted((Path(__file__).resolve().parents[1] / "sample_workbooks").glob("*.xlsx"))
    assert len(samples) > 50
    results = [guard_file(p) for p in samples]
    assert all(r.ok for r in results)
    assert cleared.count(True) == len(samples), cleared.count(False)


def test_too_many_sheets_found_in_a_long_workbook_part(tmp_path, book):
    """The one-pass clearing counts the sheets of a long workbook part: over the limit, the exact
    scan names it."""
    xml = member(book, "xl/workbook.xml")
    sheet = re.search(rb"<sheet [^>]*/>", xml).group(0)
    many = xml.replace(sheet, sheet * 201, 1)
    path = rezip(book, tmp_path / "sheets.xlsx", {"xl/workbook.xml": many})
    result = check(path, Code.XML_UNSAFE)
    assert "超过上限 200 个" in result.findings[0].message
