"""Security at the door: decide, cheaply and in bounded time and memory, whether a returned file
is safe and plausible to hand to a parser (python-calamine, openpyxl).

Returned workbooks are untrusted. ``guard_file`` never raises for any input; everything wrong is a
:class:`~pdreport.findings.Finding` (any error finding means: do not parse). The kind of file is
taken from its content (magic bytes, zip members, container streams), never from its name.

Checked for the parser that follows: by default python-calamine, which streams XML (nesting depth
cannot hurt it) and never opens the parts in ``CALAMINE_SKIPS`` (those are checked in the zip
directory only); with ``for_openpyxl=True`` every part and the nesting depth as well, for
openpyxl, which builds a tree of each part (feedback copies; .xlsx with unconvertible dates).

What is read, and why it stays bounded
--------------------------------------
* Nothing is followed: symlinks are refused (``lstat`` first, then ``O_NOFOLLOW``), as are
  directories and special files. The file is opened once and never read past the size seen by
  ``fstat``, which is capped by :attr:`Limits.max_file_bytes`.
* **Zip (xlsx/xlsm/ods)**: the end-of-central-directory record is read first and the member
  count and directory size are checked *before* ``zipfile`` builds its member list. The archive
  must read one way only: one end record whose comment ends the file, no disk numbers, no zip64
  records, and members back to back from byte 0 up to the directory, which ends at the end record
  (zip readers differ in which directory they believe; calamine's must be the one checked). Declared
  sizes are then checked (count, total, ratio, stored sizes, overlapping or out-of-range members,
  duplicate names, compression methods). Only then is each member inflated, as a stream in
  small chunks that are scanned and dropped: inflation of a member stops as soon as it produces
  more than it declared (headers that lie), so the total work is bounded by
  :attr:`Limits.max_total_uncompressed` and memory by the chunk size (by 4 MiB for a small
  member inflated in one call, see below). The CRC of each member is checked. Nothing is
  extracted or kept.
* **XML parts** (any member whose content starts like XML, whatever its name): the first
  :attr:`Limits.xml_head_bytes` are checked for ``<!DOCTYPE``/``<!ENTITY``, a prolog that never
  ends, UTF-16/32 encodings (which would blind the byte scans below) and nesting depth. The rest
  is scanned, chunk by chunk, with a few byte regexes chosen by the part's root element:
  ``worksheet`` (declared ``<dimension>`` and the furthest cell reference — a single far-away
  cell makes calamine allocate the whole rectangle), ``workbook`` (number of sheets), ``sst``
  (shared strings declared and present), ODS ``document-content`` (tables, and the extent of
  non-empty repeated rows and cells). A part holding ``<sheetData>`` is scanned as a worksheet
  whatever its root (calamine reads what the workbook names), and in a worksheet every ``<c>``
  and ``<row>`` must be written plainly, ``r`` first: quick-xml skips a quoted ">", takes any
  prefix and numbers a cell without ``r`` itself, so any other form could hide a far cell.
* **One pass for a normal file**: a file up to ``_SLURP_MAX`` is read into memory once; a zip
  written the plain way is read from its directory with ``struct`` (``plainzip.py``; anything
  else goes through ``zipfile`` and every check above); each member up to ``_WHOLE_MAX`` is
  inflated in one call into exactly its declared size (libdeflate), and parts whose size alone
  bounds a count (``<si>``, ``<sheet>``) are not counted. A worksheet whose cells and rows are all
  written the usual way (``<c r="B12"``, ``<row r="12"``, at most two column letters and six row
  digits) is bounded by a few searches over its ``<sheetData>`` (``_sheet_bound``) instead of a
  Python object per reference. A normal return is cleared in one lean pass (``_clear_plainly``);
  for openpyxl, when all members together declare at most ``_BATCH_MAX`` and numpy is loaded,
  the depth scan is done for all parts of the file together (``fastscan.py``). These shortcuts
  only ever *clear*: anything unusual (a member that does not inflate as declared, a depth or
  extent over a limit, a form the shortcut does not read) goes to the exact scans above, which
  find and name the problem; ``tests/test_corpus.py`` checks that both give the same findings.
  The checked parts are then repacked into a new, uncompressed zip (``GuardResult.data``): the
  reader parses exactly the bytes checked here, and does not inflate them again.
* **CFB/OLE (xls, password-protected OOXML)**: the 512-byte header, the FAT, and the directory
  are parsed here (no dependency). ``EncryptionInfo``/``EncryptedPackage`` streams mean a
  password-protected xlsx. For xls the ``Workbook`` stream (at most the file's size) is walked
  record by record: ``FILEPASS`` means encrypted; ``BOUNDSHEET`` records are counted; cell
  records give each sheet's extent.
"""

from __future__ import annotations

import array
import errno
import os
import re
import stat
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

from ..findings import Code, Finding
from . import plainzip

KiB = 1024
MiB = 1024 * KiB


@dataclass(frozen=True)
class Limits:
    """Caps applied before any parser sees a file. Templates are small: the defaults are generous
    for a filled-in template and still far below what would hurt a reader."""

    max_file_bytes: int = 20 * MiB
    """Largest file accepted at all (a filled template is well under 1 MiB)."""
    max_members: int = 2_000
    """Most members (parts) in a zip container (a template has about 15–40)."""
    max_total_uncompressed: int = 200 * MiB
    """Largest sum of the members' uncompressed sizes."""
    max_ratio: int = 100
    """Largest compression ratio (uncompressed : compressed) of one member …"""
    ratio_min_bytes: int = 1 * MiB
    """… applied only to members that uncompress to more than this (small parts compress well)."""
    max_sheets: int = 200
    """Most sheets in a workbook."""
    max_rows: int = 100_000
    """Furthest row a sheet may declare or use (1-based)."""
    max_cols: int = 1_000
    """Furthest column a sheet may declare or use (1-based; column ALL = 1000)."""
    max_cells: int = 4_000_000
    """Largest rows × columns rectangle of one sheet: calamine allocates the whole rectangle
    (about 32 bytes a cell), so this bounds the memory a reader needs for one sheet (~128 MB)."""
    max_shared_strings: int = 200_000
    """Most shared strings declared (``count``/``uniqueCount``) or present."""
    xml_head_bytes: int = 64 * KiB
    """Bytes at the start of each XML part checked for DOCTYPE/ENTITY, encoding and depth; the
    prolog (everything before the root element) must end within them."""
    max_xml_depth: int = 64
    """Deepest element nesting seen in an XML part's head (workbook parts nest less than 20)."""


@dataclass(frozen=True)
class GuardResult:
    """``kind``: "xlsx", "xlsm", "xls", "ods", or "" when the content is not a known workbook.
    ``findings``: errors mean do not parse. ``bytes_read``/``bytes_inflated`` say how much of
    the file was read and how much was decompressed (for tests and benchmarks)."""

    kind: str
    findings: list[Finding] = field(default_factory=list)
    bytes_read: int = 0
    bytes_inflated: int = 0
    mtime: float = 0.0
    """The file's modification time, from the same ``fstat`` as the bytes read (0 if not opened)."""
    dates_out_of_range: bool = False
    """A worksheet holds a number so far below zero (≤ -1e10) that calamine panics converting it
    if the cell is formatted as a date: an .xlsx is read with openpyxl instead (``read.py``); an
    .xls, which only calamine reads, in a child process whose stderr goes nowhere (``collect``)."""
    data: bytes | None = field(default=None, repr=False)
    """What to parse (not the file again, which may have changed since), when the file was small
    enough to be read whole: for a zip whose every member was inflated whole and checked, a new,
    uncompressed zip of exactly those parts (``plainzip.stored_container``: the reader neither
    inflates them again nor meets anything of the original container); otherwise the file's bytes
    exactly as checked."""

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)


KINDS = ("xlsx", "xlsm", "xls", "ods")

# Parts python-calamine never opens (OOXML, ODS): checked in the directory like every member, but
# inflated and scanned only for openpyxl. They are left out of the repacked container the reader
# gets, so a reader that wanted one would find it missing, never unchecked.
CALAMINE_SKIPS = (
    ("docProps/", "xl/theme/", "xl/printerSettings/", "xl/media/", "xl/drawings/", "customXml/"),
    ("Thumbnails/", "Configurations2/", "meta.xml", "settings.xml", "styles.xml", "manifest.rdf"),
)

# -- hints ---------------------------------------------------------------------------------------
RESAVE = "请用 Excel 或 WPS 打开后另存为 .xlsx 再发送"
SEND_TEMPLATE = "请发送下发的 Excel 填报表（.xlsx），填写后直接保存发送"
TAMPERED = "该文件可能被篡改或由非常规软件生成。" + RESAVE
DECRYPT = "请取消打开密码后重新发送（Excel：文件→信息→保护工作簿→用密码进行加密，清空密码；WPS：文件→文档加密→密码加密，清空密码）"
TRIM = "请删除表格下方和右侧多余的行列（包括只设置了格式的区域）后另存为 .xlsx 再发送"

# Tests set this to True so that a bug in the guard surfaces instead of becoming a finding.
_RAISE_UNEXPECTED = False


def guard_file(path: Path | str, limits: Limits = Limits(), *, for_openpyxl: bool = False) -> GuardResult:  # noqa: B008
    """Check one returned file before any parser touches it. Never raises.

    By default the checks are those python-calamine needs, on the parts it reads (see
    ``CALAMINE_SKIPS``): calamine parses XML as a stream, so neither nesting depth nor the parts
    it never opens can hurt it. ``for_openpyxl=True`` checks every part and the nesting depth as
    well, for openpyxl, which builds a tree of each part: call it again before openpyxl opens a
    file that passed (a feedback copy, an .xlsx with dates calamine cannot convert)."""
    file = str(path)
    g = _Guard(Path(path), file, limits, for_openpyxl)
    try:
        kind = g.run()
    except _Stop:
        kind = g.kind
    except _IOFail as exc:
        g.findings.append(_finding(Code.UNREADABLE, f"读取文件时出错（{exc.reason}）",
                                   "请重新拷贝该文件后重试", file))  # fmt: skip
        kind = g.kind
    except Exception as exc:  # noqa: BLE001 - the guard must never raise on input
        if _RAISE_UNEXPECTED:
            raise
        g.findings.append(_finding(Code.CORRUPT, "检查文件时遇到无法识别的内部结构，文件可能已损坏",
                                   RESAVE, file, value=type(exc).__name__))  # fmt: skip
        kind = ""
    reader = g.reader
    return GuardResult(
        kind=kind if kind in KINDS else "",
        findings=g.findings,
        bytes_read=reader.bytes_read if reader else 0,
        bytes_inflated=g.inflated,
        mtime=g.mtime,
        dates_out_of_range=g.dates_out_of_range,
        data=(g.container or reader.data) if reader and not g.findings else None,
    )


# -- internals -------------------------------------------------------------------------------------


class _Stop(Exception):
    """A finding was recorded that ends the check."""


class _IOFail(Exception):
    """The operating system failed a read (not a problem of the file's structure)."""

    def __init__(self, exc: OSError):
        super().__init__(str(exc))
        self.reason = exc.strerror or type(exc).__name__


DISGUISED = "（只是扩展名被改成了表格）"
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".et", ".xltx", ".xlsb", ".csv")


def _finding(code: Code, message: str, hint: str, file: str, **more: str) -> Finding:
    return Finding(code, message, hint, file=file, **more)


_PREAD = getattr(os, "pread", None)  # (not on Windows)


class _Reader:
    """A seekable view of the open file that never reads past ``size`` and counts what it reads.
    Used directly and as the file object handed to ``zipfile``."""

    def __init__(self, f, size: int):
        self._f = f
        self.size = size
        self._pos = 0
        self.bytes_read = 0
        self.data: bytes | None = None
        if size <= _SLURP_MAX:  # a filled template is ~20 KB: one read instead of dozens of seeks
            self.data = self._read_at(0, size)
            self.bytes_read = len(self.data)

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self.size}[whence]
        new = base + offset
        if new < 0:
            raise OSError(errno.EINVAL, "negative seek")
        self._pos = new
        return new

    def read(self, n: int | None = -1) -> bytes:
        left = max(0, self.size - self._pos)
        n = left if n is None or n < 0 else min(n, left)
        if n == 0:
            return b""
        if self.data is not None:
            data = self.data[self._pos:self._pos + n]
            self._pos += len(data)
            return data
        data = self._read_at(self._pos, n)
        self._pos += len(data)
        self.bytes_read += len(data)
        return data

    def _read_at(self, offset: int, n: int) -> bytes:
        try:
            if _PREAD is not None:  # one system call, no buffered reader in between
                out = _PREAD(self._f.fileno(), n, offset)
                while len(out) < n:  # (a regular file gives all of it at once; this is for the rest)
                    more = _PREAD(self._f.fileno(), n - len(out), offset + len(out))
                    if not more:
                        break
                    out += more
                return out
            self._f.seek(offset)
            return self._f.read(n)
        except OSError as exc:
            raise _IOFail(exc) from exc

    def pread(self, offset: int, n: int) -> bytes:
        self.seek(offset)
        return self.read(n)


def _mb(n: int) -> str:
    return f"{n / MiB:.1f}"


_CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")


class _Guard:
    def __init__(self, path: Path, file: str, limits: Limits, for_openpyxl: bool = False):
        self.path = path
        self.file = file
        self.limits = limits
        self.for_openpyxl = for_openpyxl
        self.findings: list[Finding] = []
        self.kind = ""
        self.reader: _Reader | None = None
        self.inflated = 0
        self.mtime = 0.0
        self.dates_out_of_range = False
        self.container: bytes | None = None  # the checked parts, repacked for the reader (zip only)

    # findings -----------------------------------------------------------------------------------
    def add(self, code: Code, message: str, hint: str, **more: str) -> None:
        if DISGUISED in message and self.path.suffix.lower() not in SPREADSHEET_SUFFIXES:
            message = message.replace(DISGUISED, "")  # a Word file named .docx is not disguised
        self.findings.append(_finding(code, message, hint, self.file, **more))

    def stop(self, code: Code, message: str, hint: str, **more: str) -> _Stop:
        self.add(code, message, hint, **more)
        return _Stop()

    def corrupt(self, message: str = "文件已损坏或不完整（可能下载或拷贝时中断）") -> _Stop:
        return self.stop(Code.CORRUPT, message, "请用 Excel 或 WPS 确认能正常打开，另存为 .xlsx 后重新发送")

    def unsafe_zip(self, message: str) -> _Stop:
        return self.stop(Code.ZIP_UNSAFE, message, TAMPERED)

    # the file itself ----------------------------------------------------------------------------
    def run(self) -> str:
        lim = self.limits
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            raise self.stop(Code.NOT_A_FILE, "文件不存在（可能已被移动或删除）", "请确认文件位置后重试") from None
        except PermissionError:
            raise self.stop(Code.UNREADABLE, "没有读取该文件的权限", "请检查文件权限（或请管理员开放读取权限）后重试") from None
        except (OSError, ValueError) as exc:
            raise self.stop(Code.UNREADABLE, f"无法访问该文件（{type(exc).__name__}）", "请检查文件名和位置后重试") from None
        self._check_stat(st)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        flags |= getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(self.path, flags)
        except PermissionError:
            raise self.stop(Code.UNREADABLE, "没有读取该文件的权限", "请检查文件权限（或请管理员开放读取权限）后重试") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # became a symlink after lstat
                raise self.stop(Code.NOT_A_FILE, "这是一个快捷方式（符号链接），为安全起见不予读取",
                                "请放入填报表文件本身，而不是快捷方式") from None  # fmt: skip
            raise self.stop(Code.UNREADABLE, f"无法打开该文件（{exc.strerror or type(exc).__name__}）",
                            "请重新拷贝该文件后重试") from None  # fmt: skip
        with os.fdopen(fd, "rb") as f:
            st2 = os.fstat(fd)
            if (st2.st_dev, st2.st_ino) != (st.st_dev, st.st_ino):
                raise self.stop(Code.NOT_A_FILE, "文件在检查过程中被替换", "请确认文件未被其他程序改动后重试")
            self._check_stat(st2)
            size = st2.st_size
            self.mtime = st2.st_mtime
            self.reader = _Reader(f, min(size, lim.max_file_bytes))
            return self._dispatch()

    def _check_stat(self, st: os.stat_result) -> None:
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            raise self.stop(Code.NOT_A_FILE, "这是一个快捷方式（符号链接），为安全起见不予读取",
                            "请放入填报表文件本身，而不是快捷方式")  # fmt: skip
        if stat.S_ISDIR(mode):
            raise self.stop(Code.NOT_A_FILE, "这是一个文件夹，不是表格文件",
                            "请把文件夹中的填报表取出，单独放入收集目录")  # fmt: skip
        if not stat.S_ISREG(mode):
            raise self.stop(Code.NOT_A_FILE, "这不是普通文件（可能是设备、管道等特殊文件）",
                            "请放入填报表文件本身")  # fmt: skip
        if st.st_size > self.limits.max_file_bytes:
            raise self.stop(Code.FILE_TOO_LARGE,
                            f"文件大小为 {_mb(st.st_size)} MB，超过上限 {_mb(self.limits.max_file_bytes)} MB，远大于正常的填报表",
                            "请删除表中无关的图片、附件和多余工作表后另存为 .xlsx 再发送",
                            value=str(st.st_size))  # fmt: skip
        if st.st_size == 0:
            raise self.stop(Code.NOT_A_WORKBOOK, "文件是空的（0 字节）", "请重新保存填报表后发送完整的文件")

    def _dispatch(self) -> str:
        r = self.reader
        assert r is not None
        head = r.pread(0, 8)
        if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08", b"PK00"):
            return _Zip(self).run()
        if head == _CFB_MAGIC:
            return _Cfb(self).run()
        raise self._not_zip_or_cfb(r.pread(0, 1024))

    def _not_zip_or_cfb(self, head: bytes) -> _Stop:
        not_wb = Code.NOT_A_WORKBOOK
        if head.startswith(b"%PDF"):
            return self.stop(not_wb, "这是 PDF 文件，不是 Excel 表格（只是扩展名被改成了表格）", SEND_TEMPLATE)
        if head.startswith(b"{\\rtf"):
            return self.stop(not_wb, "这是 RTF 文档，不是 Excel 表格", SEND_TEMPLATE)
        if head[:2] in (b"\x09\x00", b"\x09\x02", b"\x09\x04") and len(head) >= 4:
            return self.stop(not_wb, "这是很旧的 Excel 格式（Excel 4.0 或更早），系统无法读取", RESAVE)
        text = _decode_text(head)
        if text is not None:
            low = text.lstrip("\ufeff \t\r\n").lower()
            if "urn:schemas-microsoft-com:office:spreadsheet" in low:
                return self.stop(not_wb, "这是“XML 表格 2003”格式，系统无法读取", RESAVE)
            if low.startswith(("<html", "<!doctype html", "<table", "<meta", "<head", "<body")) or "<html" in low:
                return self.stop(not_wb, "这是网页（HTML）格式的文件，只是扩展名被改成了表格", RESAVE)
            if low.startswith("<"):
                return self.stop(not_wb, "这是 XML 文本文件，不是 Excel 表格", RESAVE)
            return self.stop(not_wb, "这是纯文本文件（如 CSV 或 TXT），不是 Excel 表格", RESAVE)
        return self.stop(not_wb, "文件内容不是 Excel 表格（无法识别的格式）", RESAVE)


def _decode_text(head: bytes) -> str | None:
    """The head as text if it plausibly is text (UTF-8/16 or GB18030), else None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return head[2:].decode("utf-16-le" if head[0] == 0xFF else "utf-16-be", errors="ignore")
        except UnicodeError:  # pragma: no cover - errors="ignore"
            return None
    for enc in ("utf-8", "gb18030"):
        try:
            text = head.decode(enc)
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # allow a character cut at the end of the head
                continue
            text = head[: exc.start].decode(enc)
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
        if text and controls <= len(text) // 100:
            return text
    return None


# -- zip containers ----------------------------------------------------------------------------------

_IN_CHUNK = 64 * KiB
_SLURP_MAX = 4 * MiB  # files up to this size are read into memory at once
_WHOLE_MAX = 4 * MiB  # members up to this size (declared) are inflated in one call
_BATCH_MAX = 4 * MiB  # files whose members declare at most this in all are scanned in one pass
_OUT_CHUNK = 256 * KiB
_CD_ENTRY_MAX = 1024  # bytes a central-directory entry may take on average (46 + name + extra)

_XML_START = re.compile(rb"\s*<")
_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
_ATTR = r"""\b{}\s*=\s*["']([^"']*)["']"""


def _attr(name: str) -> re.Pattern[bytes]:
    return re.compile(_ATTR.format(re.escape(name)).encode())


_ATTR_REF = _attr("ref")
_ATTR_COUNT = _attr("count")
_ATTR_UNIQUE = _attr("uniqueCount")
_ATTR_PARTNAME = _attr("PartName")
_ATTR_CTYPE = _attr("ContentType")
_CELL_REF = re.compile(rb"<" + _PREFIX + rb"""c\s[^<>]*?\br\s*=\s*["']([A-Za-z]*)([0-9]*)""")
_ROW_REF = re.compile(rb"<" + _PREFIX + rb"""row\s[^<>]*?\br\s*=\s*["']([0-9]*)["'][^<>]*?(/?)>""")
# _CELL_REF and _ROW_REF in one scan (at most one of them matches at a "<", and neither match
# reaches past the tag it starts): (letters, digits, "", "") for a cell, ("", "", digits, "/"?) a row
_SHEET_REFS = re.compile(
    rb"<" + _PREFIX + rb"""(?:c\s[^<>]*?\br\s*=\s*["']([A-Za-z]*)([0-9]*)"""
    rb"""|row\s[^<>]*?\br\s*=\s*["']([0-9]*)["'][^<>]*?(/?)>)"""
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
_DIMENSION = re.compile(rb"<" + _PREFIX + rb"dimension\s[^<>]*")
_SST = re.compile(rb"<" + _PREFIX + rb"sst\b[^<>]*")
_DRIVE = re.compile(r"[a-z]:")
# the usual start of an XML part: an optional UTF-8 BOM and XML declaration, then the root element
# (what _prolog_root finds there, in one match; anything else is read by _prolog_root)
_PLAIN_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*(?:<\?xml[^<>]*\?>[ \t\r\n]*)?<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_REF_END = re.compile(rb"([A-Za-z]*)([0-9]*)")

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
        self.declared_rows = 0
        self.declared_cols = 0
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


class _Zip:
    def __init__(self, g: _Guard):
        self.g = g
        self.r = g.reader
        self.lim = g.limits
        self._parts: dict[str, bytes] | None = {}  # name -> inflated part, for the container
        self._kept = 0

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
        by_name = {i.filename: i for i in infos}

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
        root in its head and no DOCTYPE; each worksheet bounded by ``_sheet_bound`` (and its declared
        dimension) within the limits; shared strings and sheets too few to count by the part's
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
            if out is None or len(out) != info.file_size or zlib.crc32(out) != info.CRC:
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
            if _WIDE_ENCODING.match(head) or (b"!" in head and _DANGER.search(head)):
                return False
            if root in _SHEET_ROOTS or _SHEET_DATA.search(part):
                bound = _sheet_bound(part)
                if bound is None or _over(bound[0], bound[1], lim):
                    return False
                m = _DIMENSION.search(head) if root in _SHEET_ROOTS else None
                ref = _ATTR_REF.search(m.group(0)) if m else None
                if ref and _over(*_ref_extent(ref.group(1)), lim):
                    return False
                dates = dates or _huge_negative(part)
            elif root == "sst":
                m = _SST.search(head)
                declared = max((_int(a.group(1)) for pat in (_ATTR_COUNT, _ATTR_UNIQUE)
                                if m and (a := pat.search(m.group(0)))), default=0)  # fmt: skip
                if len(part) // 4 > lim.max_shared_strings or declared > lim.max_shared_strings:
                    return False
            elif root == "workbook" and len(part) // 7 > lim.max_sheets:
                return False
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
                crc = zlib.crc32(data, crc)
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
                    crc = zlib.crc32(out, crc)
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
        if out is None or len(out) != info.file_size or zlib.crc32(out) != info.CRC:
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
            bound = _sheet_bound(data)
            cleared = bound is not None and not _over(bound[0], bound[1], lim)
            if cleared:
                state.sheetish = True
            else:  # (the same cells _sheet_bound looks at: those calamine reads)
                start, end = _cell_region(data)
                self._sheet_handler(state)(data[start:end] if end - start < len(data) else data)
            if _huge_negative(data):
                self.g.dates_out_of_range = True
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
        if b"!" in head and _DANGER.search(head):  # ("!" alone is found at memchr speed, "<!" is not)
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
        if root in ("worksheet", "dialogsheet"):
            m = _DIMENSION.search(head)
            if m:
                ref = _ATTR_REF.search(m.group(0))
                if ref:
                    state.declared_rows, state.declared_cols = _ref_extent(ref.group(1))
        elif root == "sst":
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
            rows.update(digits for digits, end in set(zip(row_digits, closed, strict=True)) if not end)
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
        if state.sheetish:
            self._check_extent(name, state.declared_rows, state.declared_cols, "声明的范围")
            if used_range:
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
            raise self.g.stop(Code.XML_UNSAFE,
                              f"某个工作表（文件内部部件 {name}）{what}达 {size}，超过上限"
                              f"（{lim.max_rows} 行、{lim.max_cols} 列、共 {lim.max_cells} 格）",
                              TRIM, cell=end if len(end) <= 16 else "", value=name)  # fmt: skip

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


def _huge_negative(buf: bytes) -> bool:
    """Whether a value of -1e10 or below is in ``buf``: calamine panics (chrono's TimeDelta
    overflows, from about -1.07e11) converting one that sits in a date-formatted cell."""
    if b"-" not in buf or b">-" not in buf:  # ("-" alone is found at memchr speed)
        return False
    for text in _NEGATIVE.findall(buf):
        try:
            if float(text) >= 1e10:
                return True
        except ValueError:
            continue
    return False


def _over(rows: int, cols: int, lim: Limits) -> bool:
    return rows > lim.max_rows or cols > lim.max_cols or rows * cols > lim.max_cells


@dataclass
class _Deferred:
    """What ``_scan_whole`` leaves for one pass over the whole file: XML heads whose depth must be
    checked."""

    depth_heads: list[bytes] = field(default_factory=list)


# A worksheet's extent, cheaply, when its cells and rows are written the way every spreadsheet
# program writes them (<c r="B12" …>, <row r="12" …>): a few searches in C instead of one Python
# object per reference. Anything else (a namespace prefix, other white space, r not first) leaves
# the decision to the exact scan, as do references of 3+ letters or 7+ digits. One pattern per
# search: each starts with a literal, which the regex engine finds at memchr speed.
_PREFIXED_CELL_OR_ROW = re.compile(rb":(?:c|row)[\s/>]")  # (one search: both start with ":")
_ODD_CELL = re.compile(rb"""<c(?:[\t\n\r\x0b\x0c/>]| (?!r=["']))""")
_ODD_ROW = re.compile(rb"""<row(?:[\t\n\r\x0b\x0c/>]| (?!r=["']))""")
# (the usual case in one search each: no cell beyond column Z or row 999, no row beyond 999)
_NOT_SMALL_CELL = re.compile(rb"""<c(?:[\t\n\r\x0b\x0c/>]| (?!r=["'][A-Za-z]?[0-9]{1,3}["']))""")
_NOT_SMALL_ROW = re.compile(rb"""<row(?:[\t\n\r\x0b\x0c/>]| (?!r=["'][0-9]{1,3}["']))""")
# any attribute named exactly r (calamine does not read a prefixed x:r, nor xmlns:r)
_NOT_SMALL_R = re.compile(rb"""r(?<=[\s"']r)\s*=\s*["'](?![A-Za-z]?[0-9]{1,3}["'])""")
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


def _sheet_bound(data: bytes) -> tuple[int, int] | None:
    """(rows, columns) that no ``<c>``/``<row>`` reference the exact scan reads goes beyond (an
    upper bound: 999 rows when no reference has 4 digits, Z or ZZ columns by the letters used), or
    ``None`` when the exact scan must decide."""
    start, end = _cell_region(data)
    if _PREFIXED_CELL_OR_ROW.search(data, start, end):
        return None
    if (not _NOT_SMALL_CELL.search(data, start, end) and not _NOT_SMALL_ROW.search(data, start, end)
            and not _NOT_SMALL_R.search(data, start, end)):  # fmt: skip
        return 999, 26  # (every r attribute is small, a second one included: calamine keeps the last)
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
        if head.startswith(b"<?", i):
            j = head.find(b"?>", i + 2)
            if j < 0:
                return None, 0
            i = j + 2
            continue
        if head.startswith(b"<!--", i):
            j = head.find(b"-->", i + 4)
            if j < 0:
                return None, 0
            i = j + 3
            continue
        m = _ROOT.match(head, i)
        if not m:
            return None, 0
        return m.group(1).decode("ascii", "replace"), i
    return None, 0


def _ref_extent(ref: bytes) -> tuple[int, int]:
    """(rows, cols) up to the bottom-right corner of a ref like ``A1:XFD1048576``."""
    end = ref.split(b":")[-1].replace(b"$", b"").strip()
    m = _REF_END.fullmatch(end)
    if not m:
        return 0, 0
    return _int(m.group(2)), (_col_number(m.group(1)) if m.group(1) else 0)


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


# -- CFB / OLE2 containers (xls, password-protected OOXML) -----------------------------------------

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
