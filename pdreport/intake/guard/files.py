"""The file itself: opened once without following links, read within the size ``fstat`` gave, and
handed by its first bytes to the zip check (xlsx, xlsm, ods) or the CFB check (xls); anything else
is named for what it is (a PDF, an HTML page, a CSV …)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ...findings import Code, Finding
from .base import (
    DISGUISED,
    RESAVE,
    SEND_TEMPLATE,
    SPREADSHEET_SUFFIXES,
    TAMPERED,
    Limits,
    MiB,
    _finding,
    _IOFail,
    _mb,
    _Stop,
)
from .cfb import _Cfb
from .zipcheck import _Zip

_SLURP_MAX = 4 * MiB  # files up to this size are read into memory at once

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
        except PermissionError:  # (looking a file up fails so only for a folder on its way)
            raise self.stop(Code.UNREADABLE, "没有打开该文件所在文件夹的权限",
                            "请检查文件夹权限（或请管理员开放读取权限），或把文件拷到能打开的文件夹后重试") from None  # fmt: skip
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
        if stat.S_ISDIR(mode) and not os.access(self.path, os.R_OK | os.X_OK):
            raise self.stop(Code.UNREADABLE, "这是一个打不开的子文件夹（没有读取权限），其中的文件都没有读取",
                            "请检查该文件夹的权限（或请管理员开放读取权限），或把其中的填报表拷出来放入收集目录，"
                            "然后重新汇总")  # fmt: skip
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


