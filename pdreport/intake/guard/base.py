"""What every part of the guard shares: its limits, its result, the hints its findings give, and
the exceptions that end a check."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...findings import Code, Finding

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
    max_openpyxl_span_cells: int = 100_000
    """Most cells a worksheet's merged ranges and hyperlinks may span in all, for openpyxl (feedback
    copies), which makes an object for each of them (a template merges a few hundred)."""


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


def _mb(n: int) -> str:
    return f"{n / MiB:.1f}"

