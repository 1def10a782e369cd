"""Zip containers (xlsx, xlsm, ods): the directory read one unambiguous way and checked before any
member is inflated, then every member inflated within its declared size, CRC-checked and scanned
(``xmlscan``); the checked parts are repacked for the reader (``plainzip.stored_container``)."""

from __future__ import annotations

import re
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...findings import Code
from . import plainzip
from .base import (
    CALAMINE_SKIPS,
    DECRYPT,
    RESAVE,
    SEND_TEMPLATE,
    TAMPERED,
    TRIM,
    KiB,
    MiB,
    _IOFail,
    _mb,
    _Stop,
)
from .xmlscan import (
    _ATTR_COUNT,
    _ATTR_CTYPE,
    _ATTR_PARTNAME,
    _ATTR_UNIQUE,
    _NOT_PLAIN_CELL_OR_ROW,
    _OVERRIDE,
    _PLAIN_PROLOG,
    _SHEET_DATA,
    _SHEET_REFS,
    _SHEET_ROOTS,
    _SHEET_TAG,
    _SI_TAG,
    _SST,
    _WIDE_ENCODING,
    _cell_region,
    _col_letters,
    _col_number,
    _declares_doctype,
    _huge_negative,
    _int,
    _looks_like_xml,
    _max_depth,
    _ods_end_table,
    _ods_walk,
    _over,
    _PartState,
    _prolog_root,
    _Scan,
    _sheet_bound,
    span_cells,
)

if TYPE_CHECKING:
    from .files import _Guard


_IN_CHUNK = 64 * KiB
_WHOLE_MAX = 4 * MiB  # members up to this size (declared) are inflated in one call
_BATCH_MAX = 4 * MiB  # files whose members declare at most this in all are scanned in one pass
_OUT_CHUNK = 256 * KiB
_DRIVE = re.compile(r"[a-z]:")
_CD_ENTRY_MAX = 1024  # bytes a central-directory entry may take on average (46 + name + extra)


# main-part content types → kind (or a Chinese description of what the file is instead)
_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": "xlsm",
    "application/vnd.ms-excel.template.macroenabled.main+xml": "xlsm",
    "application/vnd.ms-excel.addin.macroenabled.main+xml": "xlsm",
}
_OTHER_MAIN = (
    ("application/vnd.ms-excel.sheet.binary.macroenabled.main", "这是 Excel 二进制工作簿（.xlsb），系统无法读取", RESAVE),
    ("wordprocessingml", "这是 Word 文档，不是 Excel 表格（只是扩展名被改成了表格）", SEND_TEMPLATE),
    ("application/vnd.ms-word", "这是 Word 文档，不是 Excel 表格（只是扩展名被改成了表格）", SEND_TEMPLATE),
    ("presentationml", "这是 PowerPoint 演示文稿，不是 Excel 表格", SEND_TEMPLATE),
    ("application/vnd.ms-powerpoint", "这是 PowerPoint 演示文稿，不是 Excel 表格", SEND_TEMPLATE),
)
_ODF_SHEET = ("application/vnd.oasis.opendocument.spreadsheet", "application/vnd.oasis.opendocument.spreadsheet-template")


_TITLE_BYTES = 256 * 1024  # of workbook.xml and its rels, to name a sheet in a message


@dataclass
class _Deferred:
    """What ``_scan_whole`` leaves for one pass over the whole file: XML heads whose depth must be
    checked."""

    depth_heads: list[bytes] = field(default_factory=list)


def _fastscan():
    """``fastscan`` for the openpyxl check's depth scan, when numpy is already loaded, else None and
    the exact scans decide alone: for the few files openpyxl opens (feedback copies) numpy's import
    (~0.1 s) costs more than the whole-file scan saves (~0.2 ms a file). The findings are the
    same either way (calamine's check has no depth scan: it does not need numpy)."""
    if "numpy" not in sys.modules:
        return None
    try:
        from . import fastscan
    except ImportError:  # pragma: no cover - numpy is a dependency
        return None
    return fastscan


class _Zip:
    def __init__(self, g: _Guard):
        self.g = g
        self.r = g.reader
        self.lim = g.limits
        self._parts: dict[str, bytes] | None = {}  # name -> inflated part, for the container
        self._kept = 0
        self._by_name: dict[str, zipfile.ZipInfo] = {}  # the directory, by member name (set by run)

    def run(self) -> str:
        g, lim = self.g, self.lim
        self._precheck_eocd()
        plain = self._plain_directory()
        if plain is not None:  # (the same checks below, on the same entries, as zipfile reads them)
            infos, start_dir = plain, self._eocd[3]
            self._check_directory(infos, start_dir)
            self._starts = {m.filename: m.data_start for m in plain}
        else:
            infos, start_dir = self._zipfile_directory()
        names = {i.filename for i in infos}
        by_name = self._by_name = {i.filename: i for i in infos}

        if "mimetype" in names:
            mime = self._read_small(by_name["mimetype"], 256).decode("ascii", "replace").strip()
            if mime.startswith("application/vnd.oasis.opendocument."):
                if mime not in _ODF_SHEET:
                    what = "文字文档" if ".text" in mime else "演示文稿" if ".presentation" in mime else "文档"
                    raise g.stop(Code.NOT_A_WORKBOOK, f"这是 OpenDocument {what}，不是表格", SEND_TEMPLATE)
                g.kind = "ods"
                manifest = by_name.get("META-INF/manifest.xml")
                if manifest is not None:
                    text = self._read_small(manifest, lim.xml_head_bytes)
                    if b"encryption-data" in text:
                        raise g.stop(Code.ENCRYPTED, "文件设置了打开密码（已加密），系统无法读取", DECRYPT)
        if g.kind != "ods" and "[Content_Types].xml" not in names:
            if any(n.startswith(("word/", "ppt/")) for n in names):
                raise g.stop(Code.NOT_A_WORKBOOK, "这是 Word 或 PowerPoint 文件，不是 Excel 表格", SEND_TEMPLATE)
            if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
                raise g.corrupt("文件不完整：Excel 表格缺少内容类型清单（[Content_Types].xml），可能被压缩软件改动过")
            raise g.stop(Code.NOT_A_WORKBOOK, "这是一个压缩包，不是 Excel 表格",
                         "请解压后发送其中的填报表，或直接发送 .xlsx 文件")  # fmt: skip

        # stream every member; [Content_Types].xml first, so that a Word file stops there
        if g.kind != "ods":
            types = self._scan_member(by_name["[Content_Types].xml"])
            g.kind = self._ooxml_kind(types, names)
        members = [i for i in sorted(infos, key=lambda i: i.header_offset)
                   if not (i.filename == "[Content_Types].xml" and g.kind != "ods")
                   and not (i.is_dir() and i.file_size == 0)]  # fmt: skip
        skips = () if g.for_openpyxl else CALAMINE_SKIPS[g.kind == "ods"]
        skipped = [i for i in members if i.filename.startswith(skips)]
        members = [i for i in members if not i.filename.startswith(skips)]
        cleared = self._scan_all_at_once(members) if g.for_openpyxl else self._clear_plainly(members)
        if not cleared:
            for info in members:
                self._scan_member(info)
        if self._parts is not None and len(self._parts) == len(members) + (g.kind != "ods"):
            checked = sorted((i for i in infos if i.filename in self._parts), key=lambda i: i.header_offset)
            g.container = plainzip.stored_container([(i, self._parts[i.filename]) for i in checked])
        else:  # the reader gets the file as it is: every part is checked
            for info in skipped:
                self._scan_member(info)
        return g.kind

    def _plain_directory(self) -> list[plainzip.Member] | None:
        """The directory of a file held in memory and written the plain way (``plainzip``), its
        layout and local headers checked; ``None`` for anything else."""
        if self.r.data is None:
            return None
        eocd_at, entries, cd_size, cd_offset = self._eocd
        if cd_offset + cd_size != eocd_at:  # (something between the directory and its end record)
            return None
        return plainzip.plain_members(self.r.data, cd_offset, cd_size, entries)

    def _zipfile_directory(self) -> tuple[list[zipfile.ZipInfo], int]:
        """The directory as ``zipfile`` reads it, with every check that names what is wrong."""
        g = self.g
        try:
            zf = zipfile.ZipFile(self.r)  # type: ignore[arg-type]
            infos = zf.infolist()
            start_dir = zf.start_dir
        except _IOFail:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError,
                ValueError, UnicodeDecodeError, struct.error, IndexError, KeyError, OverflowError):  # fmt: skip
            raise g.corrupt() from None
        self._check_directory(infos, start_dir)
        # each member must end before the next one starts (overlapping members = "better zip bomb")
        offsets = sorted({i.header_offset for i in infos})
        self._next_offset = dict(zip(offsets, offsets[1:] + [start_dir], strict=False))  # (no member: {})
        self._starts = {i.filename: self._data_start(i) for i in infos}  # local headers agree?
        self._check_layout(infos, start_dir)
        return infos, start_dir

    def _clear_plainly(self, members: list[zipfile.ZipInfo]) -> bool:
        """True when every member is plainly fine for calamine, decided in one pass with as little
        per-part work as possible: each inflated whole as declared; each XML part in UTF-8 with a
        root in its head and no DOCTYPE; each worksheet bounded by ``_sheet_bound`` within the
        limits; shared strings and sheets too few to count by the part's
        size. False (nothing recorded) at the first thing that is not: the members are then scanned
        one by one, exactly (``_scan_member``), which finds and names whatever is wrong. An .ods
        always goes there."""
        g, lim, data = self.g, self.lim, self.r.data
        if data is None or g.kind == "ods" or sum(i.file_size for i in members) > _BATCH_MAX:
            return False
        parts = []
        for info in members:
            start = self._starts[info.filename]
            raw = data[start:start + info.compress_size]
            out = raw if info.compress_type == zipfile.ZIP_STORED else plainzip.inflate(raw, info.file_size)
            if out is None or len(out) != info.file_size or plainzip.crc32(out) != info.CRC:
                return False
            parts.append((info, out))
        head_max = lim.xml_head_bytes
        dates = False
        for _info, part in parts:
            head = part[:head_max]
            plain = _PLAIN_PROLOG.match(head)  # (the usual start, in one search: UTF-8, a root)
            if plain is not None:
                root = plain.group(1).decode("ascii")
            elif not _looks_like_xml(head):
                if _SHEET_DATA.search(part):
                    return False
                continue
            else:
                if head[:1] == b"\x00" or head[1:2] == b"\x00" or head.startswith((b"\xff\xfe", b"\xfe\xff")):
                    return False
                root, _at = _prolog_root(head)
                if root is None:
                    return False
            if _WIDE_ENCODING.match(head) or _declares_doctype(head):
                return False
            if root in _SHEET_ROOTS or _SHEET_DATA.search(part):
                region = _cell_region(part)
                bound = _sheet_bound(part, region)
                if bound is None or _over(bound[0], bound[1], lim):
                    return False
                dates = dates or _huge_negative(part, *region)
            elif root == "sst":
                m = _SST.search(head)
                declared = max((_int(a.group(1)) for pat in (_ATTR_COUNT, _ATTR_UNIQUE)
                                if m and (a := pat.search(m.group(0)))), default=0)  # fmt: skip
                if len(part) // 4 > lim.max_shared_strings or declared > lim.max_shared_strings:
                    return False
            elif root == "workbook" and len(part) // 7 > lim.max_sheets and len(_SHEET_TAG.findall(part)) > lim.max_sheets:
                return False  # (counted only when the part is long enough to hold that many: ~1.4 KB)
        for info, part in parts:
            g.inflated += len(part)
            self._keep(info, part)
        g.dates_out_of_range = g.dates_out_of_range or dates
        return True

    def _scan_all_at_once(self, members: list[zipfile.ZipInfo]) -> bool:
        """True when every member is cleared by one pass over the whole file: each inflated in one
        call and head-checked as usual (for openpyxl, the depth scans done for all parts together,
        ``fastscan``). False (nothing recorded) when anything is not plainly fine: the members are
        then scanned one by one, exactly, and whatever is wrong is found and named there."""
        g = self.g
        fast = _fastscan() if g.for_openpyxl else None
        if (g.for_openpyxl and fast is None) or self.r.data is None or sum(i.file_size for i in members) > _BATCH_MAX:
            return False  # (the parts are kept for the pass: only for a file of normal size)
        n_findings, inflated = len(g.findings), g.inflated
        deferred = _Deferred()
        try:
            for info in members:
                data = self._whole(info)
                if data is None:
                    raise _Stop
                self._scan_whole(info, data, deferred)
            lim = self.lim
            if fast is not None and max(fast.max_depths(deferred.depth_heads), default=0) > lim.max_xml_depth:
                raise _Stop
        except _Stop:
            del g.findings[n_findings:]
            g.inflated = inflated
            return False
        return True

    # -- the central directory ------------------------------------------------------------------
    def _precheck_eocd(self) -> None:
        """Read the end record ourselves so that a huge directory is refused before ``zipfile``
        builds one object per entry, and so that the file has one unambiguous end: zip readers
        differ in which end record they believe (Python takes the last; the zip crate inside
        calamine skips one whose comment runs past the file or that names another disk, and reads
        zip64 records only when a field is saturated), and two readers believing two directories
        would let calamine read a member the guard never saw."""
        r, lim = self.r, self.lim
        tail_len = min(r.size, 22 + 65535)
        tail = r.pread(r.size - tail_len, tail_len)
        pos = tail.rfind(b"PK\x05\x06")
        if pos < 0 or len(tail) - pos < 22:
            raise self.g.corrupt()
        disk, cd_disk, here, entries, cd_size, cd_offset, comment = struct.unpack_from("<HHHHIIH", tail, pos + 4)
        if pos + 22 + comment != len(tail) or disk or cd_disk or here != entries:
            raise self.g.unsafe_zip("文件内部目录的结束记录异常（多个结束记录、注释长度不符或分卷标记）")
        if pos >= 20 and tail[pos - 20:pos - 16] == b"PK\x06\x07":
            raise self.g.unsafe_zip("文件内部使用了 zip64 目录记录，正常大小的表格不需要")  # (20 MB cap)
        if entries > lim.max_members:
            raise self.g.unsafe_zip(f"文件内部包含 {entries} 个部件，超过上限 {lim.max_members} 个")
        if cd_size > lim.max_members * _CD_ENTRY_MAX:
            raise self.g.unsafe_zip("文件内部目录异常庞大")
        if cd_size > r.size:
            raise self.g.corrupt()
        self._eocd = (r.size - tail_len + pos, entries, cd_size, cd_offset)

    def _check_layout(self, infos: list[zipfile.ZipInfo], start_dir: int) -> None:
        """Members back to back from the first byte, then the directory, then the end record: no
        byte is left that one zip reader could take for another member or directory."""
        eocd_at, entries, cd_size, cd_offset = self._eocd
        if len(infos) != entries or start_dir != cd_offset or cd_offset + cd_size != eocd_at:
            raise self.g.unsafe_zip("文件内部目录与结束记录不一致")
        expected = 0
        for info in sorted(infos, key=lambda i: i.header_offset):
            if info.header_offset != expected:
                raise self.g.unsafe_zip("文件内部各部件之间有来历不明的数据")
            expected = self._starts[info.filename] + info.compress_size
            if info.flag_bits & 0x8:  # a data descriptor follows the data: 12 or 16 bytes
                sig = self.r.pread(expected, 4) == b"PK\x07\x08"
                expected += 16 if sig else 12
        if expected != start_dir:
            raise self.g.unsafe_zip("文件内部各部件之间有来历不明的数据")

    def _check_directory(self, infos: list[zipfile.ZipInfo], start_dir: int) -> None:
        g, lim = self.g, self.lim
        if len(infos) > lim.max_members:
            raise g.unsafe_zip(f"文件内部包含 {len(infos)} 个部件，超过上限 {lim.max_members} 个")
        seen: set[str] = set()
        total = 0
        for i in infos:
            key = i.filename.replace("\\", "/").lower()
            if key in seen:
                raise g.unsafe_zip(f"文件内部有重名的部件（{i.filename}）")
            seen.add(key)
            if key.startswith("/") or ".." in key.split("/") or _DRIVE.match(key):
                raise g.unsafe_zip(f"文件内部部件的名称异常（{i.filename[:80]}），指向文件夹之外")
            if i.flag_bits & 0x1:
                raise g.stop(Code.ENCRYPTED, "文件内容被加密压缩，系统无法读取", DECRYPT)
            if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise g.unsafe_zip(f"文件内部部件 {i.filename} 使用了不常见的压缩方式")
            if i.compress_type == zipfile.ZIP_STORED and i.compress_size != i.file_size:
                raise g.unsafe_zip(f"文件内部部件 {i.filename} 记录的大小前后不一致")
            # deflate never grows data by more than ~0.1 % (+ a few bytes)
            if i.compress_size > i.file_size + i.file_size // 100 + 1024:
                raise g.unsafe_zip(f"文件内部部件 {i.filename} 记录的大小前后不一致")
            if i.header_offset < 0 or i.header_offset + 30 + i.compress_size > start_dir:
                raise g.unsafe_zip(f"文件内部部件 {i.filename} 的位置超出范围")
            total += i.file_size
            if i.file_size > lim.ratio_min_bytes and i.file_size > lim.max_ratio * max(i.compress_size, 1):
                ratio = i.file_size // max(i.compress_size, 1)
                raise g.unsafe_zip(f"文件内部部件 {i.filename} 压缩比异常（约 {ratio}:1，上限 {lim.max_ratio}:1），"
                                   "可能是“压缩炸弹”")  # fmt: skip
        if total > lim.max_total_uncompressed:
            raise g.unsafe_zip(f"文件解压后约 {_mb(total)} MB，超过上限 {_mb(lim.max_total_uncompressed)} MB")

    # -- members ------------------------------------------------------------------------------------
    def _data_start(self, info: zipfile.ZipInfo) -> int:
        g, r = self.g, self.r
        lh = r.pread(info.header_offset, 30)
        if len(lh) < 30 or lh[:4] != b"PK\x03\x04":
            raise g.corrupt()
        flags, method = struct.unpack_from("<HH", lh, 6)
        name_len, extra_len = struct.unpack_from("<HH", lh, 26)
        name = r.pread(info.header_offset + 30, name_len)
        enc = "utf-8" if info.flag_bits & 0x800 else "cp437"
        try:
            central = info.orig_filename.encode(enc)
        except UnicodeEncodeError:
            central = b""
        if name != central:
            raise g.unsafe_zip(f"文件内部部件 {info.filename} 的前后记录名称不一致")
        if method != info.compress_type or (flags & 0x1):
            raise g.unsafe_zip(f"文件内部部件 {info.filename} 的前后记录不一致")
        start = info.header_offset + 30 + name_len + extra_len
        end = start + info.compress_size
        if end > self._next_offset.get(info.header_offset, self.r.size):
            raise g.unsafe_zip(f"文件内部部件 {info.filename} 与其他部件重叠或超出范围")
        return start

    def _chunks(self, info: zipfile.ZipInfo, limit: int | None = None) -> Iterator[bytes]:
        """The member's data, decompressed, in bounded chunks; checks size and CRC when read
        to the end. ``limit``: stop after about this many bytes (no end checks)."""
        g, r = self.g, self.r
        pos = self._starts[info.filename]
        remaining = info.compress_size
        produced = 0
        crc = 0
        if info.compress_type == zipfile.ZIP_STORED:
            while remaining:
                n = min(_IN_CHUNK, remaining)
                data = r.pread(pos, n)
                if len(data) < n:
                    raise g.corrupt()
                pos += n
                remaining -= n
                produced += n
                g.inflated += n
                crc = plainzip.crc32(data, crc)
                yield data
                if limit is not None and produced >= limit:
                    return
        elif remaining == 0 and info.file_size == 0:
            pass  # an empty member written without a deflate stream
        else:
            d = zlib.decompressobj(-15)
            buf = b""
            while not d.eof:
                if not buf and remaining:
                    n = min(_IN_CHUNK, remaining)
                    buf = r.pread(pos, n)
                    if len(buf) < n:
                        raise g.corrupt()
                    pos += n
                    remaining -= n
                try:
                    out = d.decompress(buf, _OUT_CHUNK)
                except zlib.error:
                    raise g.corrupt() from None
                buf = d.unconsumed_tail
                if out:
                    produced += len(out)
                    g.inflated += len(out)
                    if produced > info.file_size:
                        raise g.unsafe_zip(f"文件内部部件 {info.filename} 解压后比记录的大小更大（记录 {info.file_size} 字节），"
                                           "可能是“压缩炸弹”")  # fmt: skip
                    crc = plainzip.crc32(out, crc)
                    yield out
                    if limit is not None and produced >= limit:
                        return
                elif not buf and not remaining and not d.eof:
                    raise g.corrupt()
        if produced != info.file_size:
            raise g.unsafe_zip(f"文件内部部件 {info.filename} 解压后的大小与记录不符")
        if crc != info.CRC:
            raise g.corrupt("文件内容已损坏（校验不符），可能下载或拷贝时出错")

    def _read_small(self, info: zipfile.ZipInfo, n: int) -> bytes:
        out = b""
        for chunk in self._chunks(info, limit=n):
            out += chunk
            if len(out) >= n:
                break
        return out[:n]

    def _whole(self, info: zipfile.ZipInfo) -> bytes | None:
        """A small member of a file held in memory, inflated in one call, when everything about it
        is as declared (size, end of stream, CRC); ``None`` otherwise, and the member is streamed by
        ``_chunks``, which finds and names whatever is wrong. Inflation is capped at the declared
        size, so a lying header costs no more here than there."""
        r = self.r
        if r.data is None or info.file_size > _WHOLE_MAX:
            return None
        start = self._starts[info.filename]
        raw = r.data[start:start + info.compress_size]
        if len(raw) < info.compress_size:
            return None
        out = raw if info.compress_type == zipfile.ZIP_STORED else plainzip.inflate(raw, info.file_size)
        if out is None or len(out) != info.file_size or plainzip.crc32(out) != info.CRC:
            return None
        self.g.inflated += len(out)
        self._keep(info, out)
        return out

    def _keep(self, info: zipfile.ZipInfo, data: bytes) -> None:
        """Keep a part inflated whole for the repacked container, while all kept stay small."""
        if self._parts is None:
            return
        self._kept += len(data)
        if self._kept > _BATCH_MAX or not info.filename.isascii():
            self._parts = None  # (the reader then gets the original bytes)
        else:
            self._parts[info.filename] = data

    def _scan_whole(self, info: zipfile.ZipInfo, data: bytes,
                    deferred: _Deferred | None = None) -> _PartState | None:  # fmt: skip
        """``_scan_member`` for a member already inflated (the handlers see the whole part at once
        instead of chunks cut between tags); counts that the part's size bounds are skipped, and a
        worksheet that ``_sheet_bound`` clears is not scanned reference by reference. With
        ``deferred``, the depth scan is left to the caller."""
        lim = self.lim
        head = data[: lim.xml_head_bytes]
        if not _looks_like_xml(head):
            if _SHEET_DATA.search(data):
                raise self._not_xml_but_sheet(info)
            return None
        state = _PartState(info.filename)
        self._check_head(state, head, info.file_size <= lim.xml_head_bytes, deferred)
        cleared = False
        if state.root in _SHEET_ROOTS or _SHEET_DATA.search(data):
            start, end = _cell_region(data)  # (the cells calamine reads: _sheet_bound's, the exact scan's)
            bound = _sheet_bound(data, (start, end))
            cleared = bound is not None and not _over(bound[0], bound[1], lim)
            if cleared:
                state.sheetish = True
                if _huge_negative(data, start, end):
                    self.g.dates_out_of_range = True
            else:  # (the handler looks for such numbers too)
                self._sheet_handler(state)(data[start:end] if end - start < len(data) else data)
        # (any part: openpyxl reads a worksheet's merged ranges whatever its root element is)
        if self.g.for_openpyxl and span_cells(data, lim.max_openpyxl_span_cells) > lim.max_openpyxl_span_cells:
            raise self.g.stop(Code.XML_UNSAFE,
                              f"工作表（文件内部部件 {info.filename}）中合并单元格或超链接的范围过大"
                              f"（共超过 {lim.max_openpyxl_span_cells} 格）", TAMPERED, value=info.filename)  # fmt: skip
        handle = self._handler(state)
        # each <si …> takes 4 bytes and each <sheet …> 7: a short part cannot hold too many
        if handle is not None and not (state.root == "sst" and len(data) // 4 <= lim.max_shared_strings) and not (
            state.root == "workbook" and len(data) // 7 <= lim.max_sheets
        ):
            handle(data)
        self._finish_part(state, used_range=not cleared)
        return state

    def _scan_member(self, info: zipfile.ZipInfo) -> _PartState | None:
        whole = self._whole(info)
        if whole is not None:
            return self._scan_whole(info, whole)
        lim = self.lim
        it = self._chunks(info)
        head = b""
        for chunk in it:
            head += chunk
            if len(head) >= lim.xml_head_bytes:
                break
        rest_head, head = head[lim.xml_head_bytes:], head[: lim.xml_head_bytes]
        if not _looks_like_xml(head):
            tail = b""
            for chunk in (head, rest_head, *it):  # still verify size and CRC of binary members
                if _SHEET_DATA.search(tail + chunk[:64]) or _SHEET_DATA.search(chunk):
                    raise self._not_xml_but_sheet(info)
                tail = chunk[-16:]
            return None
        state = _PartState(info.filename)
        complete = info.file_size <= lim.xml_head_bytes
        self._check_head(state, head, complete)
        if self.g.for_openpyxl:  # (openpyxl builds a tree of it, and its merged ranges are not counted here)
            raise self.g.stop(Code.XML_UNSAFE, f"文件内部部件 {info.filename} 过大（超过 {_WHOLE_MAX // MiB} MB）",
                              TAMPERED, value=info.filename)  # fmt: skip
        scan = _Scan(self._streaming_handler(state))
        scan.feed(head)
        if rest_head:
            scan.feed(rest_head)
        for chunk in it:
            scan.feed(chunk)
        scan.close()
        self._finish_part(state)
        return state

    def _not_xml_but_sheet(self, info: zipfile.ZipInfo) -> _Stop:
        """quick-xml, which calamine uses, skips text before the root: such a part is still read."""
        return self.g.stop(Code.XML_UNSAFE, f"文件内部部件 {info.filename} 开头不是规范的 XML，却含有工作表数据",
                           TAMPERED, value=info.filename)  # fmt: skip

    def _check_head(self, state: _PartState, head: bytes, complete: bool,
                    deferred: _Deferred | None = None) -> None:  # fmt: skip
        g, lim = self.g, self.lim
        name = state.name
        unusual = head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) or (
            len(head) >= 2 and (head[0] == 0 or head[1] == 0)
        )
        if unusual or _WIDE_ENCODING.match(head):
            raise g.stop(Code.XML_UNSAFE, f"文件内部部件 {name} 使用了不常见的文字编码（UTF-16/32）", TAMPERED)
        if _declares_doctype(head):
            raise g.stop(Code.XML_UNSAFE, "文件中含有文档类型声明（DOCTYPE/ENTITY），正常的表格不会有，可能是恶意构造",
                         RESAVE, value=name)  # fmt: skip
        root, root_at = _prolog_root(head)
        if root is None:
            if not complete:
                raise g.stop(Code.XML_UNSAFE, f"文件内部部件 {name} 的开头部分异常冗长", TAMPERED, value=name)
            return  # a short part that is not XML after all: the parser will say so
        state.root = root
        # closing tag -1, opening +1, self-closing 0; the deepest nesting is the largest running sum
        # each level needs a "<": a part with few tags cannot be too deep
        if not g.for_openpyxl:
            pass  # (calamine streams: nesting cannot hurt it)
        elif deferred is not None:
            deferred.depth_heads.append(head[root_at:] if root_at else head)
        elif head.count(b"<", root_at) > lim.max_xml_depth and _max_depth(head, root_at) > lim.max_xml_depth:
            raise g.stop(Code.XML_UNSAFE, f"文件内部部件 {name} 的层级嵌套过深（超过 {lim.max_xml_depth} 层）",
                         TAMPERED, value=name)  # fmt: skip
        # (a worksheet's <dimension> is not looked at: calamine reserves room by it only below
        # 100,000 cells and builds its range from the cells; openpyxl sizes a sheet by its cells, and
        # read only, pdreport reads at most MAX_GRID_ROWS × MAX_GRID_COLS. LibreOffice declares
        # A1:J1048576 once a row has been deleted.)
        if root == "sst":
            m = _SST.search(head)
            if m:
                for pat in (_ATTR_COUNT, _ATTR_UNIQUE):
                    a = pat.search(m.group(0))
                    if a:
                        state.declared_strings = max(state.declared_strings, _int(a.group(1)))

    def _sheet_handler(self, state: _PartState):
        """The exact worksheet scan: every ``<c>``/``<row>`` written the plain way, the furthest
        reference, and numbers calamine cannot turn into dates."""
        state.sheetish = True
        tail = [b""]  # the end of the previous chunk: a number may be cut between chunks

        def sheet(buf: bytes) -> None:
            joined = tail[0] + buf
            if _huge_negative(joined):
                self.g.dates_out_of_range = True
            tail[0] = buf[-64:]
            odd = _NOT_PLAIN_CELL_OR_ROW.search(buf)
            if odd:
                raise self.g.stop(Code.XML_UNSAFE,
                                  f"工作表（文件内部部件 {state.name}）中有写法异常的单元格或行"
                                  f"（{odd.group(0)[:40].decode('utf-8', 'replace')}…），正常的表格软件不会这样写",
                                  TAMPERED, value=state.name)  # fmt: skip
            refs = _SHEET_REFS.findall(buf)  # only distinct values need converting
            if not refs:
                return
            letters_, digits_, row_digits, closed = zip(*refs, strict=True)
            for letters in set(letters_):
                if letters:
                    c = _col_number(letters)
                    if c > state.max_col:
                        state.max_col = c
            rows = set(digits_)
            rows.update(digits for digits, end in set(zip(row_digits, closed, strict=True)) if end == b">")
            for digits in rows:
                if digits:
                    n = _int(digits)
                    if n > state.max_row:
                        state.max_row = n

        return sheet

    def _streaming_handler(self, state: _PartState):
        """What a part read in chunks is scanned with: the handler its root calls for, and the
        worksheet scan from the chunk where a <sheetData> appears (calamine reads any part the
        workbook names as a sheet, whatever its root)."""
        base = self._handler(state)
        sheet = self._sheet_handler(state) if state.root in _SHEET_ROOTS else None

        def handle(buf: bytes) -> None:
            nonlocal sheet
            if sheet is None and _SHEET_DATA.search(buf):
                sheet = self._sheet_handler(state)
            if sheet is not None:
                sheet(buf)
            if base is not None:
                base(buf)

        return handle

    def _handler(self, state: _PartState):
        """The scan a part's root calls for (worksheets: ``_sheet_handler``), or None."""
        root = state.root
        if root == "workbook":

            def workbook(buf: bytes) -> None:
                state.sheets += len(_SHEET_TAG.findall(buf))

            return workbook
        if root == "sst":

            def sst(buf: bytes) -> None:
                state.strings += len(_SI_TAG.findall(buf))

            return sst
        if root == "Types":

            def types(buf: bytes) -> None:
                for attrs in _OVERRIDE.findall(buf):
                    if b"main" not in attrs.lower():  # (only a main part's type is looked at)
                        continue
                    ct = _ATTR_CTYPE.search(attrs)
                    pn = _ATTR_PARTNAME.search(attrs)
                    if ct and pn:
                        ctype = ct.group(1).decode("ascii", "replace").strip().lower()
                        if "main" in ctype and len(state.overrides) < 16:
                            state.overrides.append((ctype, pn.group(1).decode("utf-8", "replace")))

            return types
        if root == "document-content":
            return lambda buf: _ods_walk(state, buf)
        return None

    def _finish_part(self, state: _PartState, used_range: bool = True) -> None:
        g, lim = self.g, self.lim
        name = state.name
        if state.sheetish and used_range:
            self._check_extent(name, state.max_row, state.max_col, "实际使用的范围")
        if state.root == "workbook" and state.sheets > lim.max_sheets:
            raise g.stop(Code.XML_UNSAFE, f"工作簿包含 {state.sheets} 个工作表，超过上限 {lim.max_sheets} 个",
                         "请删除多余的工作表后另存为 .xlsx 再发送", value=str(state.sheets))  # fmt: skip
        elif state.root == "sst":
            n = max(state.strings, state.declared_strings)
            if n > lim.max_shared_strings:
                raise g.stop(Code.XML_UNSAFE, f"文件中的文字条目达 {n} 条，超过上限 {lim.max_shared_strings} 条",
                             TAMPERED, value=str(n))  # fmt: skip
        elif state.root == "document-content":
            _ods_end_table(state)  # an unclosed table still counts
            if len(state.ods_tables) > lim.max_sheets:
                raise g.stop(Code.XML_UNSAFE, f"工作簿包含 {len(state.ods_tables)} 个工作表，超过上限 {lim.max_sheets} 个",
                             "请删除多余的工作表后另存为 .xlsx 再发送")  # fmt: skip
            for rows, cols in state.ods_tables:
                self._check_extent(name, rows, cols, "实际使用的范围")

    def _check_extent(self, name: str, rows: int, cols: int, what: str) -> None:
        lim = self.lim
        if _over(rows, cols, lim):
            size = f"{rows} 行 × {cols} 列" if cols <= 16384 * 26 else f"{rows} 行 × 超长列号"
            end = f"{_col_letters(cols) or 'A'}{rows}" if cols <= 16384 * 26 else ""
            title = self._sheet_title(name)
            sheet = f"工作表“{title}”" if title else f"某个工作表（文件内部部件 {name}）"
            raise self.g.stop(Code.XML_UNSAFE,
                              f"{sheet}{what}达 {size}，超过上限"
                              f"（{lim.max_rows} 行、{lim.max_cols} 列、共 {lim.max_cells} 格）",
                              TRIM, sheet=title, cell=end if len(end) <= 16 else "", value=name)  # fmt: skip

    def _sheet_title(self, part: str) -> str:
        """The name the workbook gives worksheet ``part``, for a message; "" when it cannot be told
        from the first 256 KB of workbook.xml and its rels (read only on the way to an error)."""
        from ..read import sheet_targets

        wb, rels = self._by_name.get("xl/workbook.xml"), self._by_name.get("xl/_rels/workbook.xml.rels")
        if wb is None or rels is None:
            return ""
        try:
            found = sheet_targets(self._read_small(wb, _TITLE_BYTES), self._read_small(rels, _TITLE_BYTES))
        except Exception:  # noqa: BLE001 - only a better message is at stake; the error stands
            return ""
        return next((name for name, target in found.items() if target == part), "")

    def _ooxml_kind(self, types: _PartState | None, names: set[str]) -> str:
        g = self.g
        overrides = types.overrides if types and types.root == "Types" else []
        for ctype, part in overrides:
            kind = _MAIN_TYPES.get(ctype)
            if kind:
                if part.lstrip("/") not in names:
                    raise g.corrupt("文件不完整：缺少工作簿主体部分")
                return kind
        for ctype, _part in overrides:
            for needle, message, hint in _OTHER_MAIN:
                if needle in ctype:
                    raise g.stop(Code.NOT_A_WORKBOOK, message, hint)
        if any(n.startswith("word/") for n in names):
            raise g.stop(Code.NOT_A_WORKBOOK, "这是 Word 文档，不是 Excel 表格（只是扩展名被改成了表格）", SEND_TEMPLATE)
        if any(n.startswith("ppt/") for n in names):
            raise g.stop(Code.NOT_A_WORKBOOK, "这是 PowerPoint 演示文稿，不是 Excel 表格", SEND_TEMPLATE)
        raise g.stop(Code.NOT_A_WORKBOOK, "文件是 Office 格式的压缩包，但不是 Excel 表格", RESAVE)


