"""CFB/OLE2 containers: .xls (the BIFF ``Workbook`` stream walked record by record for encryption,
sheet count and extents) and password-protected OOXML (``EncryptionInfo``/``EncryptedPackage``).
The header, FAT and directory are parsed here, within the file's size (no dependency)."""

from __future__ import annotations

import array
import struct
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...findings import Code
from .base import DECRYPT, RESAVE, SEND_TEMPLATE, TAMPERED, TRIM, _Stop

if TYPE_CHECKING:
    from .files import _Guard

_ENDOFCHAIN = 0xFFFFFFFE
_FREESECT = 0xFFFFFFFF
_BIFF_BOF = 0x0809
_BIFF_EOF = 0x000A
_BIFF_FILEPASS = 0x002F
_BIFF_BOUNDSHEET = 0x0085
_BIFF_DIMENSIONS = 0x0200
_BIFF_CELLS = {0x0203, 0x027E, 0x00FD, 0x0204, 0x0201, 0x0205, 0x0006, 0x00D6, 0x00BD, 0x00BE}
_BIFF_MULTI = {0x00BD, 0x00BE}  # MULRK, MULBLANK: last column in the last two bytes
_BIFF_NUMBER, _BIFF_RK, _BIFF_MULRK, _BIFF_FORMULA = 0x0203, 0x027E, 0x00BD, 0x0006
_HUGE = -1e10  # as _huge_negative


def _biff_huge_negative(rtype: int, data: bytes, body: int, rlen: int) -> bool:
    """Whether a BIFF cell record holds a number of -1e10 or below (``_huge_negative`` for .xls):
    NUMBER and a FORMULA's numeric result (8-byte IEEE after row, column and XF), RK and MULRK
    (30-bit RK numbers; only the floating-point form can be that large)."""
    if rtype in (_BIFF_NUMBER, _BIFF_FORMULA) and rlen >= 14:
        if rtype == _BIFF_FORMULA and data[body + 12:body + 14] == b"\xff\xff":
            return False  # a text, logical or error result
        return struct.unpack_from("<d", data, body + 6)[0] <= _HUGE
    if rtype == _BIFF_RK and rlen >= 10:
        return _rk(struct.unpack_from("<I", data, body + 6)[0]) <= _HUGE
    if rtype == _BIFF_MULRK and rlen >= 12:
        return any(_rk(struct.unpack_from("<I", data, at)[0]) <= _HUGE
                   for at in range(body + 6, body + rlen - 2 - 3, 6))  # fmt: skip
    return False


def _rk(rk: int) -> float:
    if rk & 2:  # a 30-bit integer: never that large
        return 0.0
    value = struct.unpack("<d", struct.pack("<Q", (rk & 0xFFFFFFFC) << 32))[0]
    return value / 100 if rk & 1 else value


@dataclass
class _DirEntry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    start: int
    size: int


class _Cfb:
    def __init__(self, g: _Guard):
        self.g = g
        self.r = g.reader
        self.lim = g.limits

    def bad(self) -> _Stop:
        return self.g.corrupt("文件已损坏（Excel 97-2003 格式的内部结构不完整）")

    def run(self) -> str:
        g = self.g
        self._header()
        entries = self._directory()
        names = {e.name.lower(): e for e in entries if e.kind in (1, 2, 5)}
        if "encryptedpackage" in names or "encryptioninfo" in names:
            raise g.stop(Code.ENCRYPTED, "文件设置了打开密码（已加密），系统无法读取", DECRYPT)
        book = names.get("workbook") or names.get("book")
        if book is None or book.kind != 2:
            if "worddocument" in names:
                raise g.stop(Code.NOT_A_WORKBOOK, "这是 Word 97-2003 文档（.doc），不是 Excel 表格", SEND_TEMPLATE)
            if "powerpoint document" in names:
                raise g.stop(Code.NOT_A_WORKBOOK, "这是 PowerPoint 97-2003 演示文稿，不是 Excel 表格", SEND_TEMPLATE)
            raise g.stop(Code.NOT_A_WORKBOOK, "这是 Office 旧格式文件，但不是 Excel 表格", RESAVE)
        g.kind = "xls"
        # every stream a reader might take for the workbook (names differing only in case, or both
        # Workbook and Book): the guard must not check one while calamine reads another
        for e in entries:
            if e.kind == 2 and e.name.lower() in ("workbook", "book"):
                self._biff(self._stream(e, entries[0] if entries else None))
        return "xls"

    def _header(self) -> None:
        r = self.r
        h = r.pread(0, 512)
        if len(h) < 512:
            raise self.bad()
        _minor, major, bom, shift, mshift = struct.unpack_from("<HHHHH", h, 24)
        if bom != 0xFFFE or (major, shift) not in ((3, 9), (4, 12)) or mshift != 6:
            raise self.bad()
        self.ssz = ssz = 1 << shift
        (n_fat, self.dir_start, _tx, cutoff, self.minifat_start, self.n_minifat,
         difat_start, n_difat) = struct.unpack_from("<8I", h, 44)  # fmt: skip
        if cutoff != 4096:
            raise self.bad()
        self.cutoff = cutoff
        self.n_sect = max(0, (r.size - ssz + ssz - 1) // ssz)
        if n_fat > self.n_sect or n_difat > self.n_sect:
            raise self.bad()
        fat_secs = [s for s in struct.unpack_from("<109I", h, 76)[: min(n_fat, 109)]]
        s = difat_start
        seen: set[int] = set()
        per = ssz // 4 - 1
        while len(fat_secs) < n_fat:
            if s in (_ENDOFCHAIN, _FREESECT) or s >= self.n_sect or s in seen:
                raise self.bad()
            seen.add(s)
            vals = struct.unpack(f"<{per + 1}I", self._sector(s))
            fat_secs.extend(vals[:per])
            s = vals[per]
        fat = array.array("I")
        for s in fat_secs[:n_fat]:
            if s >= self.n_sect:
                raise self.bad()
            fat.frombytes(self._sector(s))
        if sys.byteorder == "big":  # pragma: no cover
            fat.byteswap()
        self.fat = fat

    def _sector(self, s: int) -> bytes:
        data = self.r.pread((s + 1) * self.ssz, self.ssz)
        if len(data) < self.ssz:
            if len(data) == 0:
                raise self.bad()
            data += b"\0" * (self.ssz - len(data))  # the last sector may be cut short
        return data

    def _chain(self, start: int, fat: array.array, limit: int, count: int | None = None) -> list[int]:
        out: list[int] = []
        seen: set[int] = set()
        s = start
        while s != _ENDOFCHAIN and (count is None or len(out) < count):
            if s >= len(fat) or s >= limit or s in seen:
                raise self.bad()
            seen.add(s)
            out.append(s)
            s = fat[s]
        if count is not None and len(out) < count:
            raise self.bad()
        return out

    def _directory(self) -> list[_DirEntry]:
        entries: list[_DirEntry] = []
        for s in self._chain(self.dir_start, self.fat, self.n_sect):
            data = self._sector(s)
            for off in range(0, self.ssz, 128):
                raw = data[off : off + 128]
                name_len = struct.unpack_from("<H", raw, 64)[0]
                kind = raw[66]
                start, size = struct.unpack_from("<IQ", raw, 116)
                if self.ssz == 512:
                    size &= 0xFFFFFFFF
                name = raw[: max(0, min(name_len, 64) - 2)].decode("utf-16-le", "replace")
                entries.append(_DirEntry(name, kind, start, size))
        if not entries or entries[0].kind != 5:
            raise self.bad()
        return entries

    def _stream(self, entry: _DirEntry, root: _DirEntry | None) -> bytes:
        """A stream's bytes (at most the file's size, which is capped)."""
        size = entry.size
        if size > self.r.size:
            raise self.bad()
        if size >= self.cutoff:
            n = -(-size // self.ssz)
            sectors = self._chain(entry.start, self.fat, self.n_sect, count=n)
            return self._read_sectors(sectors, self.ssz)[:size]
        # small streams live in the mini stream (the root entry's data) in 64-byte sectors
        if root is None or root.size > self.r.size:
            raise self.bad()
        minifat = array.array("I")
        if self.n_minifat:
            secs = self._chain(self.minifat_start, self.fat, self.n_sect, count=self.n_minifat)
            minifat.frombytes(self._read_sectors(secs, self.ssz))
            if sys.byteorder == "big":  # pragma: no cover
                minifat.byteswap()
        mini = self._read_sectors(self._chain(root.start, self.fat, self.n_sect, count=-(-root.size // self.ssz)), self.ssz)
        n = -(-size // 64)
        chain = self._chain(entry.start, minifat, len(mini) // 64, count=n)
        return b"".join(mini[m * 64 : m * 64 + 64] for m in chain)[:size]

    def _read_sectors(self, sectors: list[int], ssz: int) -> bytes:
        parts: list[bytes] = []
        i = 0
        while i < len(sectors):  # coalesce contiguous runs into one read
            j = i
            while j + 1 < len(sectors) and sectors[j + 1] == sectors[j] + 1:
                j += 1
            data = self.r.pread((sectors[i] + 1) * ssz, (j - i + 1) * ssz)
            parts.append(data.ljust((j - i + 1) * ssz, b"\0"))
            i = j + 1
        return b"".join(parts)

    def _biff(self, data: bytes) -> None:
        g, lim = self.g, self.lim
        if len(data) < 8:
            raise self.bad()
        rtype, rlen = struct.unpack_from("<HH", data, 0)
        if rtype != _BIFF_BOF:
            raise self.bad()
        pos = 0
        n = len(data)
        globals_ = True
        sheets = 0
        sheet_no = 0
        max_row = max_col = 0
        dim_rows = dim_cols = 0
        sheet_starts: set[int] = set()
        bofs: set[int] = set()
        while pos + 4 <= n:
            rtype, rlen = struct.unpack_from("<HH", data, pos)
            body = pos + 4
            end = body + rlen
            if end > n:
                break  # a cut record at the end: leave it to the parser
            if rtype == _BIFF_FILEPASS and globals_:
                raise g.stop(Code.ENCRYPTED, "文件设置了密码保护（已加密），系统无法读取",
                             "请取消密码后另存为 .xlsx 再发送（Excel：文件→信息→保护工作簿；WPS：文件→文档加密）")  # fmt: skip
            if rtype == _BIFF_BOUNDSHEET:
                if rlen >= 4:  # where calamine will start reading this sheet
                    sheet_starts.add(struct.unpack_from("<I", data, body)[0])
                sheets += 1
                if sheets > lim.max_sheets:
                    raise g.stop(Code.XML_UNSAFE, f"工作簿包含超过 {lim.max_sheets} 个工作表",
                                 "请删除多余的工作表后另存为 .xlsx 再发送")  # fmt: skip
            elif rtype == _BIFF_BOF:
                bofs.add(pos)
                max_row = max_col = dim_rows = dim_cols = 0
            elif rtype == _BIFF_EOF:
                if not globals_:
                    sheet_no += 1
                    self._extent(sheet_no, dim_rows, dim_cols, "声明的范围")
                    self._extent(sheet_no, max_row, max_col, "实际使用的范围")
                globals_ = False
            elif rtype in _BIFF_CELLS and rlen >= 4:
                row, col = struct.unpack_from("<HH", data, body)
                if rtype in _BIFF_MULTI and rlen >= 6:
                    col = max(col, struct.unpack_from("<H", data, end - 2)[0])
                max_row = max(max_row, row + 1)
                max_col = max(max_col, col + 1)
                if not g.dates_out_of_range and _biff_huge_negative(rtype, data, body, rlen):
                    g.dates_out_of_range = True
            elif rtype == _BIFF_DIMENSIONS and rlen >= 10:
                fmt = "<IIHH" if rlen >= 14 else "<HHHH"  # BIFF8, or the older form calamine reads too
                rw_first, rw_last, c_first, c_last = struct.unpack_from(fmt, data, body)
                if rw_first > rw_last or c_first > c_last:  # calamine's row count would wrap around
                    raise self._odd_biff()
                dim_rows, dim_cols = rw_last, c_last  # both one past the last used
            pos = end
        if not sheet_starts <= bofs:  # a sheet calamine would read from inside another record
            raise self._odd_biff()

    def _odd_biff(self) -> _Stop:
        return self.g.stop(Code.XML_UNSAFE, "文件内部的工作表记录异常（位置或范围前后矛盾），正常的表格软件不会这样写",
                           TAMPERED)  # fmt: skip

    def _extent(self, sheet_no: int, rows: int, cols: int, what: str) -> None:
        lim = self.lim
        if rows > lim.max_rows or cols > lim.max_cols or rows * cols > lim.max_cells:
            raise self.g.stop(Code.XML_UNSAFE,
                              f"第 {sheet_no} 个工作表{what}达 {rows} 行 × {cols} 列，超过上限"
                              f"（{lim.max_rows} 行、{lim.max_cols} 列、共 {lim.max_cells} 格）",
                              TRIM, value=str(sheet_no))  # fmt: skip
