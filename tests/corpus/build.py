"""A deterministic corpus of hostile, broken and odd-but-legitimate returns, each with the finding
it must produce. ``tests/test_corpus.py`` builds it into a temporary folder and runs
``pdreport consolidate`` on it; docs/limits.md lists what it proves.

One function per case, registered with ``@case``. Each returns a :class:`Case`: the entry's name
in the folder, its content (bytes, or a callable that creates the entry at a path: directories,
symlinks, FIFOs, sparse files), and the finding code intake must report on it (``""`` when the
file must be taken in without any finding). Returns (cases with a ``respondent``) are real
templates filled with the demo values, then altered; the guard builders are those of
``tests/test_intake_guard.py``.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from test_intake_guard import (
    LAUGHS,
    ODS_CELL,
    _ods,
    cfb,
    deflated,
    overlapping_zip,
    raw_zip,
    rezip,
    xls_bytes,
    zeros_deflated,
)

from pdreport.demo import Filled, demo_values, fill_template
from pdreport.plan.model import Period, Plan
from pdreport.template import build_layout, render_workbook
from pdreport.template.layout import META
from pdreport.template.metadata import _digest, parse_metadata

MiB = 1024 * 1024
STAMP = dt.datetime(2024, 6, 20, 9, 0, 0)

# A valid return under a name the case chooses (the figures must be taken in).
ACCEPTED = ""


@dataclass(frozen=True)
class Case:
    name: str | bytes  # relative path in the corpus folder (bytes: a name that is not UTF-8)
    make: bytes | Callable[[Path], None]  # the content, or what creates the entry at a path
    code: str  # the finding code this file must get ("" = taken in with no finding at all)
    respondent: str = ""  # for returns: the respondent id whose template it is
    accepted: bool = False  # its figures must be taken in (even with the finding above)
    convert: str = ""  # re-save the bytes through LibreOffice as this format first (xlsx/ods/xls)
    requires: str = ""  # "nonroot": the case only means something when not running as root
    guard: bool = False  # refused by the guard before any parser (checked for time and memory)
    what: str = ""  # one line for docs/limits.md

    @property
    def display(self) -> str:
        """The name as intake reports it."""
        from pdreport.collect import display_name

        name = os.fsdecode(self.name) if isinstance(self.name, bytes) else self.name
        return display_name(name)


@dataclass
class Ctx:
    plan: Plan
    period: Period
    scratch: Path  # a folder outside the corpus (symlink targets)
    demo: dict[str, Filled] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.scratch.mkdir(parents=True, exist_ok=True)
        if not self.demo:
            self.demo = demo_values(self.plan, self.period)

    def ret(self, rid: str, changes: dict | None = None, edits: dict | None = None) -> bytes:
        """``rid``'s template filled with its demo values, with ``changes`` ({key: value, None to
        clear}) and raw cell ``edits`` ({(sheet, A1): value}) applied."""
        filled = self.demo[rid]
        values = dict(filled.values)
        for key, value in (changes or {}).items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        return fill_template(filled, values=values, edits=edits)

    def field_key(self, rid: str, suffix: str, n: int = 0) -> str:
        keys = [f.key for f in self.demo[rid].layout.fields if f.key.endswith(suffix)]
        return keys[n]

    def scratch_file(self, name: str, data: bytes) -> Path:
        path = self.scratch / name
        path.write_bytes(data)
        return path


CASES: list[Callable[[Ctx], Case]] = []


def case(fn: Callable[[Ctx], Case]) -> Callable[[Ctx], Case]:
    CASES.append(fn)
    return fn


def build_cases(ctx: Ctx) -> list[Case]:
    cases = [fn(ctx) for fn in CASES]
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "corpus names must be unique"
    rids = [c.respondent for c in cases if c.respondent]
    assert len(rids) == len(set(rids)), "one return per respondent (else W107 duplicates)"
    return cases


def place(c: Case, folder: Path, converted: dict[str | bytes, Path] | None = None) -> Path:
    """Create the case's entry in ``folder``; returns its path."""
    raw = os.path.join(os.fsencode(folder), c.name if isinstance(c.name, bytes) else os.fsencode(c.name))
    path = Path(os.fsdecode(raw))
    path.parent.mkdir(parents=True, exist_ok=True)
    if c.convert:
        src = (converted or {})[c.name]
        path.write_bytes(src.read_bytes())
    elif callable(c.make):
        c.make(path)
    else:
        path.write_bytes(c.make)
    return path


# ================================================================================================
# not a workbook
# ================================================================================================


@case
def zero_bytes(ctx: Ctx) -> Case:
    return Case("空文件.xlsx", b"", "E001", guard=True, what="0 字节")


@case
def text_renamed(ctx: Ctx) -> Case:
    data = "序号,指标,本期完成\n1,新增光伏装机,3.2\n".encode("gb18030")
    return Case("文本改名.xlsx", data, "E001", guard=True, what="CSV 文本（GB18030）改名为 .xlsx")


@case
def docx_renamed(ctx: Ctx) -> Case:
    import docx

    doc = docx.Document()
    doc.add_paragraph("情况说明")
    doc.core_properties.created = doc.core_properties.modified = STAMP
    buf = io.BytesIO()
    doc.save(buf)
    return Case("Word改名.xlsx", buf.getvalue(), "E001", guard=True, what=".docx 改名为 .xlsx")


@case
def pdf_renamed(ctx: Ctx) -> Case:
    data = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    return Case("扫描件.xlsx", data, "E001", guard=True, what="PDF 改名为 .xlsx")


@case
def html_renamed(ctx: Ctx) -> Case:
    data = "<html><meta charset='utf-8'><table><tr><td>指标</td><td>3.2</td></tr></table></html>".encode()
    return Case("网页导出.xls", data, "E001", guard=True, what="网页（HTML）导出的“.xls”")


@case
def word97_renamed(ctx: Ctx) -> Case:
    return Case("旧版Word.xls", cfb({"WordDocument": b"\xec\xa5" + bytes(100)}), "E001", guard=True,
                what="Word 97-2003 文档（CFB 容器）改名为 .xls")  # fmt: skip


@case
def odt_renamed(ctx: Ctx) -> Case:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype", (2024, 1, 1, 0, 0, 0)), "application/vnd.oasis.opendocument.text")
        z.writestr(zipfile.ZipInfo("content.xml", (2024, 1, 1, 0, 0, 0)), "<office:document-content/>")
    return Case("文字文档.ods", buf.getvalue(), "E001", guard=True, what="OpenDocument 文字文档改名为 .ods")


@case
def plain_zip(ctx: Ctx) -> Case:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("填报表/说明.txt", (2024, 1, 1, 0, 0, 0)), "请查收")
    return Case("压缩包.xlsx", buf.getvalue(), "E001", guard=True, what="普通 zip 压缩包改名为 .xlsx")


@case
def truncated(ctx: Ctx) -> Case:
    data = ctx.ret("weifang_jd")
    return Case("传输中断.xlsx", data[: len(data) // 2], "E005", guard=True,
                what="真实填报表截去后一半（zip 不完整）")  # fmt: skip


@case
def no_content_types(ctx: Ctx) -> Case:
    src = ctx.scratch_file("ct_src.xlsx", ctx.ret("lujiazui_jd"))
    rezip(src, ctx.scratch / "ct.xlsx", {"[Content_Types].xml": None})
    return Case("缺内容类型.xlsx", (ctx.scratch / "ct.xlsx").read_bytes(), "E005", guard=True,
                what="真实填报表删去 [Content_Types].xml")  # fmt: skip


# ================================================================================================
# not a regular file
# ================================================================================================


@case
def directory(ctx: Ctx) -> Case:
    def make(path: Path) -> None:
        path.mkdir()
        (path / "内容.txt").write_text("文件夹", encoding="utf-8")

    return Case("x.xlsx", make, "E008", guard=True, what="名为 x.xlsx 的文件夹")


@case
def symlink_outside(ctx: Ctx) -> Case:
    target = ctx.scratch_file("outside.xlsx", ctx.ret("xinchang_zhen"))

    def make(path: Path) -> None:
        path.symlink_to(target)

    return Case("快捷方式.xlsx", make, "E008", guard=True,
                what="指向文件夹之外（一份有效填报表）的符号链接：不跟随，新场镇不算报送")  # fmt: skip


@case
def dangling_symlink(ctx: Ctx) -> Case:
    def make(path: Path) -> None:
        path.symlink_to(ctx.scratch / "不存在.xlsx")

    return Case("失效链接.xlsx", make, "E008", guard=True, what="指向不存在文件的符号链接")


@case
def fifo(ctx: Ctx) -> Case:
    def make(path: Path) -> None:
        os.mkfifo(path)

    return Case("管道.xlsx", make, "E008", guard=True, what="命名管道（读取会阻塞）")


@case
def unreadable(ctx: Ctx) -> Case:
    data = ctx.ret("zhoujiadu_jd")

    def make(path: Path) -> None:
        path.write_bytes(data)
        path.chmod(0)

    return Case("无权限.xlsx", make, "E006", requires="nonroot", guard=True,
                what="没有读取权限（chmod 000；以 root 运行时 root 仍可读，此项不检查）")  # fmt: skip


@case
def too_large(ctx: Ctx) -> Case:
    def make(path: Path) -> None:
        with open(path, "wb") as f:
            f.truncate(21 * MiB)  # sparse: no disk used

    return Case("超大文件.xlsx", make, "E002", guard=True, what="21 MB（稀疏文件），超过 20 MB 上限，不读取内容")


# ================================================================================================
# bombs: refused within bounded time and memory
# ================================================================================================


@case
def zip_bomb_ratio(ctx: Ctx) -> Case:
    data = zeros_deflated(300)
    bomb = raw_zip([{"name": "[Content_Types].xml", "method": 8, "data": data, "crc": 0,
                     "csize": len(data), "usize": 300 * MiB}])  # fmt: skip
    return Case("压缩炸弹.xlsx", bomb, "E003", guard=True, what="300 MB 的 0 压缩到 300 KB（压缩比上限 100:1）")


@case
def zip_bomb_total(ctx: Ctx) -> Case:
    members = []
    for i in range(6):
        data = deflated(bytes(range(256)) * 64)
        members.append({"name": f"xl/media/p{i}.bin", "method": 8, "data": data, "crc": 0,
                        "csize": len(data), "usize": 45 * MiB})  # fmt: skip
    return Case("解压总量.xlsx", raw_zip(members), "E003", guard=True,
                what="成员声明解压后共 270 MB（总量上限 200 MB）")  # fmt: skip


@case
def zip_bomb_liar(ctx: Ctx) -> Case:
    import zlib

    members = []
    with zipfile.ZipFile(_base(ctx, "base_liar.xlsx")) as z:
        for info in z.infolist():
            body = z.read(info.filename)
            comp = deflated(body)
            members.append({"name": info.filename, "method": 8, "data": comp, "crc": zlib.crc32(body),
                            "csize": len(comp), "usize": len(body)})  # fmt: skip
    data = zeros_deflated(64)
    liar = next(m for m in members if m["name"] == "xl/worksheets/sheet1.xml")
    liar.update(data=data, csize=len(data), usize=200_000)
    return Case("大小造假.xlsx", raw_zip(members), "E003", guard=True,
                what="目录声明 200 KB、实际解压为 64 MB 的工作表（解压到超过声明大小即停止）")  # fmt: skip


@case
def zip_many_members(ctx: Ctx) -> Case:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(2001):
            z.writestr(zipfile.ZipInfo(f"xl/m{i}.xml", (2024, 1, 1, 0, 0, 0)), b"")
    return Case("成员过多.xlsx", buf.getvalue(), "E003", guard=True, what="2001 个成员（上限 2000）")


@case
def zip_overlap(ctx: Ctx) -> Case:
    return Case("成员重叠.xlsx", overlapping_zip(), "E003", guard=True,
                what="成员数据互相重叠（“更好的 zip 炸弹”）")  # fmt: skip


@case
def zip_slip(ctx: Ctx) -> Case:
    src = ctx.scratch_file("slip_src.xlsx", ctx.ret("tangqiao_jd"))
    rezip(src, ctx.scratch / "slip.xlsx", add={"../../evil.txt": b"owned"})
    return Case("路径穿越成员.xlsx", (ctx.scratch / "slip.xlsx").read_bytes(), "E003", guard=True,
                what="真实填报表中加入名为 ../../evil.txt 的成员（zip slip）")  # fmt: skip


def _base(ctx: Ctx, name: str) -> Path:
    """A small real template (the hostile parts are swapped into it)."""
    layout = build_layout(ctx.plan, ctx.plan.respondent("shanggang_jd"), ctx.period)
    return ctx.scratch_file(name, render_workbook(layout, STAMP))


def _swap(ctx: Ctx, name: str, part: str, data: bytes | None = None, add: dict | None = None) -> bytes:
    base = _base(ctx, f"base_{name}.xlsx")
    out = ctx.scratch / f"swapped_{name}.xlsx"
    rezip(base, out, {part: data} if part else None, add=add)
    return out.read_bytes()


def _part(ctx: Ctx, part: str) -> bytes:
    with zipfile.ZipFile(_base(ctx, "base_part.xlsx")) as z:
        return z.read(part)


@case
def deep_nesting(ctx: Ctx) -> Case:
    src = ctx.scratch_file("deep_src.xlsx", ctx.ret("zhoupu_zhen"))
    with zipfile.ZipFile(src) as z:
        xml = z.read("xl/worksheets/sheet2.xml")
    deep = b"<extLst>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</extLst></worksheet>"
    rezip(src, ctx.scratch / "deep.xlsx", {"xl/worksheets/sheet2.xml": xml.replace(b"</worksheet>", deep)})
    return Case("深层嵌套.xlsx", (ctx.scratch / "deep.xlsx").read_bytes(), ACCEPTED, respondent="zhoupu_zhen",
                accepted=True, what="工作表 XML 末尾嵌套 100,000 层：calamine 流式读取，不受影响，照常采用"
                "（openpyxl 读取前才检查嵌套，上限 64）")  # fmt: skip


@case
def billion_laughs(ctx: Ctx) -> Case:
    body = _part(ctx, "xl/workbook.xml").split(b"?>", 1)[1]
    return Case("实体膨胀.xlsx", _swap(ctx, "laughs", "xl/workbook.xml", LAUGHS + body), "E007",
                guard=True, what="billion laughs 实体膨胀（含 DOCTYPE/ENTITY 即拒绝）")  # fmt: skip


@case
def million_rows(ctx: Ctx) -> Case:
    # (what LibreOffice writes once a row has been deleted and the file saved as .xlsx)
    src = ctx.scratch_file("rows_src.xlsx", ctx.ret("datuan_zhen"))
    with zipfile.ZipFile(src) as z:
        xml = z.read("xl/worksheets/sheet2.xml")
    xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:J1048576"/>', xml)
    xml = xml.replace(b"</sheetData>", b'<row r="1048576" ht="12.8" customHeight="false"></row></sheetData>')
    rezip(src, ctx.scratch / "rows.xlsx", {"xl/worksheets/sheet2.xml": xml})
    return Case("百万行.xlsx", (ctx.scratch / "rows.xlsx").read_bytes(), ACCEPTED, respondent="datuan_zhen",
                accepted=True, what="工作表声明 1,048,576 行，末尾一个空行（LibreOffice 删除一行后另存为 .xlsx 就这样写）："
                "calamine 按实有的单元格读取，照常采用")  # fmt: skip


@case
def far_cell(ctx: Ctx) -> Case:
    xml = _part(ctx, "xl/worksheets/sheet2.xml")
    xml = re.sub(rb'<dimension ref="[^"]*"/>', b"", xml)
    xml = xml.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')
    return Case("远端单元格.xlsx", _swap(ctx, "far", "xl/worksheets/sheet2.xml", xml), "E007", guard=True,
                what="无 dimension，一个单元格在 XFD1048576（calamine 会分配整片区域）")  # fmt: skip


@case
def ten_thousand_sheets(ctx: Ctx) -> Case:
    xml = _part(ctx, "xl/workbook.xml")
    sheets = b"".join(b'<sheet name="S%d" sheetId="%d" r:id="rId1"/>' % (i, i) for i in range(1, 10_001))
    xml = re.sub(rb"<sheets>.*</sheets>", b"<sheets>" + sheets + b"</sheets>", xml, flags=re.S)
    return Case("一万个工作表.xlsx", _swap(ctx, "sheets", "xl/workbook.xml", xml), "E007", guard=True,
                what="10,000 个工作表（上限 200）")  # fmt: skip


SST_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
            b'openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">')  # fmt: skip


@case
def sst_declared(ctx: Ctx) -> Case:
    sst = SST_HEAD % (1_000_000, 1_000_000) + b"<si><t>a</t></si></sst>"
    return Case("共享字符串声明.xlsx", _swap(ctx, "sstd", "xl/sharedStrings.xml", sst), "E007", guard=True,
                what="共享字符串表声明 1,000,000 条（上限 200,000）")  # fmt: skip


@case
def sst_present(ctx: Ctx) -> Case:
    body = b"".join(b"<si><t>%d</t></si>" % i for i in range(1_000_000))
    sst = SST_HEAD % (3, 3) + body + b"</sst>"
    return Case("共享字符串百万.xlsx", _swap(ctx, "sstp", "xl/sharedStrings.xml", sst), "E007", guard=True,
                what="共享字符串表实有 1,000,000 条不同的字符串（文件 2.6 MB，声明只有 3 条）")  # fmt: skip


@case
def utf16_part(ctx: Ctx) -> Case:
    xml = _part(ctx, "xl/workbook.xml").decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    return Case("UTF16部件.xlsx", _swap(ctx, "utf16", "xl/workbook.xml", xml.encode("utf-16")), "E007",
                guard=True, what="UTF-16 编码的 XML 部件（会让字节扫描失明）")  # fmt: skip


@case
def ods_million_rows(ctx: Ctx) -> Case:
    table = (b'<table:table table:name="S"><table:table-row table:number-rows-repeated="1048576">'
             + ODS_CELL + b"</table:table-row></table:table>")  # fmt: skip
    path = _ods(ctx.scratch / "rows.ods", table)
    return Case("百万行.ods", path.read_bytes(), "E007", guard=True,
                what="ODS 中一行有值的行重复 1,048,576 次")  # fmt: skip


@case
def xls_far_cell(ctx: Ctx) -> Case:
    return Case("远端单元格.xls", xls_bytes([(0, 0, 1.0), (65535, 255, 2.0)]), "E007", guard=True,
                what="BIFF8 .xls 中一个单元格在第 65536 行、第 256 列之外的上限")  # fmt: skip


# ================================================================================================
# encrypted (password to open)
# ================================================================================================


@case
def encrypted_xlsx(ctx: Ctx) -> Case:
    data = cfb({"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00" + bytes(200),
                "EncryptedPackage": bytes(range(8)) + bytes(5000), "\x06DataSpaces": b""})  # fmt: skip
    return Case("加密.xlsx", data, "E004", guard=True, what="设置了打开密码的 .xlsx（CFB 容器中的 EncryptedPackage）")


@case
def encrypted_xls(ctx: Ctx) -> Case:
    return Case("加密.xls", xls_bytes([(0, 0, 1.0)], password=True), "E004", guard=True,
                what="设置了打开密码的 .xls（BIFF8 FILEPASS 记录）")  # fmt: skip


@case
def encrypted_ods(ctx: Ctx) -> Case:
    manifest = (b'<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest='
                b'"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry '
                b'manifest:full-path="content.xml" manifest:media-type="text/xml">'
                b'<manifest:encryption-data manifest:checksum-type="SHA1/1K"/></manifest:file-entry>'
                b"</manifest:manifest>")  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype", (2024, 1, 1, 0, 0, 0)), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr(zipfile.ZipInfo("META-INF/manifest.xml", (2024, 1, 1, 0, 0, 0)), manifest)
        z.writestr(zipfile.ZipInfo("content.xml", (2024, 1, 1, 0, 0, 0)), bytes(range(256)) * 8)
    return Case("加密.ods", buf.getvalue(), "E004", guard=True, what="设置了密码的 .ods")


@case
def zipcrypto(ctx: Ctx) -> Case:
    import zlib

    body = b"<Types/>"
    data = bytearray(raw_zip([{"name": "[Content_Types].xml", "method": 0, "data": body,
                               "crc": zlib.crc32(body), "csize": len(body), "usize": len(body)}]))  # fmt: skip
    data[6] |= 1
    data[data.rfind(b"PK\x01\x02") + 8] |= 1
    return Case("压缩加密.xlsx", bytes(data), "E004", guard=True, what="zip 层加密（ZipCrypto）")


# ================================================================================================
# which template it is
# ================================================================================================


@case
def other_period(ctx: Ctx) -> Case:
    layout = build_layout(ctx.plan, ctx.plan.respondent("hudong_jd"), ctx.plan.period("2024Q1"))
    return Case("一季度表.xlsx", render_workbook(layout, STAMP), "E104", what="一季度的表报上半年")


@case
def forged_metadata(ctx: Ctx) -> Case:
    """The hidden map edited AND its digest recomputed (the digest is no secret): a field key that
    later stages would split, and a cell reference no sheet has. Refused as altered."""
    wb = openpyxl.load_workbook(io.BytesIO(ctx.ret("jinyang_jd")))
    ws = wb[META]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    fields_at = next(i for i, r in enumerate(rows) if r[0] == "[fields]")
    r = fields_at + 1
    ws.cell(r + 1, 1).value = "task.abc"  # a key with no part: would break int()/split()
    ws.cell(r + 1, 3).value = "ZZZZ0"
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    tmap_rows = [["" if v is None else str(v) for v in row] for row in rows]
    head = {row[0]: row[1] for row in tmap_rows[1:fields_at] if len(row) > 1}
    from pdreport.template.layout import Field, LabelCell

    fields, i = [], fields_at + 1
    while tmap_rows[i][0] != "[labels]":
        x = tmap_rows[i] + [""] * 11
        if x[0]:
            fields.append(Field(key=x[0], sheet=x[1], cell=x[2], kind=x[3], required=x[4] == "1",
                                label=x[5], ref=x[6], unit=x[7]))  # fmt: skip
        i += 1
    labels = [LabelCell(*(x + ["", "", ""])[:3]) for x in tmap_rows[i + 1 :] if x and x[0]]
    digest_row = next(n for n, row in enumerate(tmap_rows) if row[0] == "digest")
    ws.cell(digest_row + 1, 2).value = _digest(head, fields, labels)
    buf = io.BytesIO()
    wb.save(buf)
    return Case("伪造标识.xlsx", buf.getvalue(), "E102",
                what="隐藏标识表被改写且重新计算了校验码（字段名和单元格地址畸形）")  # fmt: skip


# ================================================================================================
# structurally odd but legitimate: taken in
# ================================================================================================


@case
def libreoffice_xlsx(ctx: Ctx) -> Case:
    return Case("LibreOffice另存.xlsx", ctx.ret("wsjkw"), ACCEPTED, "wsjkw", True, convert="xlsx",
                what="用 LibreOffice 另存的 .xlsx")  # fmt: skip


@case
def libreoffice_ods(ctx: Ctx) -> Case:
    return Case("LibreOffice另存.ods", ctx.ret("jrj"), ACCEPTED, "jrj", True, convert="ods",
                what="用 LibreOffice 另存的 .ods")  # fmt: skip


@case
def libreoffice_xls(ctx: Ctx) -> Case:
    return Case("Excel97格式.xls", ctx.ret("gzw"), ACCEPTED, "gzw", True, convert="xls",
                what="另存为 .xls（BIFF8，Excel 97-2003）")  # fmt: skip


STRICT = {b"http://schemas.openxmlformats.org/spreadsheetml/2006/main": b"http://purl.oclc.org/ooxml/spreadsheetml/main",
          b"http://schemas.openxmlformats.org/officeDocument/2006/relationships": b"http://purl.oclc.org/ooxml/officeDocument/relationships"}  # fmt: skip


def strict_ooxml(data: bytes) -> bytes:
    """Rewrite a transitional .xlsx with the ISO 29500 strict namespaces (as Excel's “Strict Open
    XML” does for these parts). calamine reads it; openpyxl does not."""
    src, out = io.BytesIO(data), io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename.endswith((".xml", ".rels")):
                for old, new in STRICT.items():
                    body = body.replace(old, new)
            zout.writestr(info, body)
    return out.getvalue()


@case
def strict_ooxml_case(ctx: Ctx) -> Case:
    return Case("严格格式.xlsx", strict_ooxml(ctx.ret("nyncw")), ACCEPTED, "nyncw", True,
                what="Strict Open XML 命名空间（calamine 可读）")  # fmt: skip


@case
def strict_ooxml_with_error(ctx: Ctx) -> Case:
    rid = "ghzyj"
    data = strict_ooxml(ctx.ret(rid, {"header.filler": None}))
    return Case("严格格式有错.xlsx", data, "E201", rid, True,
                what="Strict Open XML 且漏填填报人：退回修改表由模板重建（openpyxl 读不了 strict）")  # fmt: skip


@case
def inline_strings_no_cache(ctx: Ctx) -> Case:
    data = ctx.ret("scjgj")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        sheets = [z.read(n) for n in names if n.startswith("xl/worksheets/")]
    assert any(b't="inlineStr"' in s for s in sheets) and "xl/sharedStrings.xml" not in names
    assert any(b"<f>" in s and b"<v>" not in s.split(b"<f>", 1)[1][:200] for s in sheets)
    return Case("内联字符串.xlsx", data, ACCEPTED, "scjgj", True,
                what="内联字符串（无共享字符串表），公式没有缓存值（openpyxl 保存）")  # fmt: skip


@case
def date_serials(ctx: Ctx) -> Case:
    rid = "zhangjiang_glj"
    done = ctx.field_key(rid, ".done")
    changes = {"header.date": 45472.0, done: "是", done.replace(".done", ".date"): 45470}
    return Case("日期为序列号.xlsx", ctx.ret(rid, changes), ACCEPTED, rid, True,
                what="日期填成 Excel 序列号（45472 = 2024-06-29）")  # fmt: skip


@case
def date_texts(ctx: Ctx) -> Case:
    rid = "heqing_zhen"
    done = ctx.field_key(rid, ".done")
    changes = {"header.date": "2024/6/28", done: "是", done.replace(".done", ".date"): "2024年6月30日"}
    return Case("日期为文字.xlsx", ctx.ret(rid, changes), ACCEPTED, rid, True,
                what="日期填成文字：2024/6/28、2024年6月30日")  # fmt: skip


def numbers_as_text_keys(ctx: Ctx) -> tuple[str, str]:
    """Two of 区府办（机管局）'s figures that are not percentages."""
    keys = [f.key for f in ctx.demo["jgj"].layout.fields if f.key.endswith(".value") and f.unit != "%"]
    return keys[0], keys[1]


@case
def numbers_as_text(ctx: Ctx) -> Case:
    rid = "jgj"
    a, b = numbers_as_text_keys(ctx)
    changes = {a: "１２，３４５", b: " 1,234 "}  # (counts: a decimal would add W219)
    return Case("文字格式数字.xlsx", ctx.ret(rid, changes), "W205", rid, True,
                what="数字填成文字：全角“１２，３４５”和带千分位“ 1,234 ”（按 12345、1234 采用；12345 远超目标，提醒核实单位）")  # fmt: skip


@case
def names_fullwidth(ctx: Ctx) -> Case:
    """A label typed over with half-width brackets and trailing spaces, and a choice with spaces:
    names compare after NFKC and without spaces, so nothing is refused."""
    rid = "sww"
    layout = ctx.demo[rid].layout
    label = next(lb for lb in layout.labels if "（" in lb.text)
    status = ctx.field_key(rid, ".status")
    edits = {(label.sheet, label.cell): label.text.replace("（", "(").replace("）", ")") + "  "}
    return Case("半角括号.xlsx", ctx.ret(rid, {status: " 推进中　"}, edits), ACCEPTED, rid, True,
                what="项目名称中的全角括号改成半角并带尾随空格（区府办(机管局) 与 区府办（机管局） 视为相同）")  # fmt: skip


# ================================================================================================
# text that breaks writers
# ================================================================================================


def _progress(ctx: Ctx, rid: str, n: int = 0) -> str:
    return ctx.field_key(rid, ".progress", n)


@case
def control_characters(ctx: Ctx) -> Case:
    rid = "cgzfj"
    # openpyxl writes "_x0001_" as is; every reader decodes it to U+0001 (how control characters
    # arrive from real files)
    text = "进展" + "".join(f"_x{c:04X}_" for c in range(1, 32) if c not in (9, 10, 13)) + "顺利\t完成\n下一行"
    return Case("控制字符.xlsx", ctx.ret(rid, {_progress(ctx, rid): text}), "W211", rid, True,
                what="文字中含 \\x01…\\x1f 控制字符（制表符、换行保留）")  # fmt: skip


@case
def text_40000(ctx: Ctx) -> Case:
    rid = "tjj"
    text = ("碳达峰工作推进情况说明。" * 3400)[:40_000]
    return Case("超长文字.xlsx", ctx.ret(rid, {_progress(ctx, rid): text}), "W212", rid, True,
                what="40,000 字的主要进展（超过 Excel 单元格 32,767 字上限；截取前 2000 字）")  # fmt: skip


INJECTIONS = ('=HYPERLINK("http://evil.example/","点击查看")', "+cmd|' /C calc'!A0", "-2+3*cmd|'/c calc'!A1",
              "@SUM(1+1)*cmd|' /C calc'!A0")  # fmt: skip


@case
def formula_injection(ctx: Ctx) -> Case:
    rid = "wtlyj"
    changes = {"header.filler": INJECTIONS[0], _progress(ctx, rid): INJECTIONS[1],
               ctx.field_key(rid, ".problems"): INJECTIONS[2], ctx.field_key(rid, ".next"): INJECTIONS[3]}  # fmt: skip
    return Case("公式注入.xlsx", ctx.ret(rid, changes), ACCEPTED, rid, True,
                what="文字以 =、+、-、@ 开头（公式/DDE 注入）：原样作为文字采用，输出中从不成为公式")  # fmt: skip


@case
def formula_text_in_ods_with_error(ctx: Ctx) -> Case:
    rid = "yangjing_jd"
    changes = {_progress(ctx, rid): "=1+1 为原文照录", "header.phone": None}
    return Case("公式文字.ods", ctx.ret(rid, changes), "E201", rid, True, convert="ods",
                what=".ods 中以 = 开头的文字且漏填电话：退回修改表（由模板重建）中仍是文字，不是公式")  # fmt: skip


JINJA = "{{ 7*7 }}{% for x in range(3) %}循环{% endfor %}{{ ''.__class__.__mro__ }}{# 注释 #}"


@case
def jinja_markup(ctx: Ctx) -> Case:
    rid = "jyj"
    texts = {f.key: "进展" + JINJA for f in ctx.demo[rid].layout.fields if f.key.endswith((".progress", ".next"))}
    texts.update({f.key: "# 一、假标题 @表格 附件1" + JINJA for f in ctx.demo[rid].layout.fields
                  if f.key.endswith(".problems")})  # fmt: skip
    return Case("模板语法.xlsx", ctx.ret(rid, texts),
                ACCEPTED, rid, True, what="文字中含 {{ }}、{% %}、{# #} 和报告标记 #、@：原样输出，从不求值")  # fmt: skip


@case
def name_not_utf8(ctx: Ctx) -> Case:
    return Case(b"\xff\xfe\xed\xa0\x80\xb3\xc9\xb4\xa8.xlsx", ctx.ret("chuansha_zhen"), ACCEPTED,
                "chuansha_zhen", True, what="文件名不是 UTF-8（GBK 字节和编码后的代理字符）：显示为 �")  # fmt: skip


@case
def name_control_chars(ctx: Ctx) -> Case:
    return Case("换行\n名称\x01\x1b[31m.xlsx", ctx.ret("beicai_zhen"), ACCEPTED, "beicai_zhen", True,
                what="文件名含换行、控制字符和终端转义序列")  # fmt: skip


@case
def name_traversal(ctx: Ctx) -> Case:
    return Case("..\\..\\..\\Windows\\System32\\唐镇.xlsx", ctx.ret("tang_zhen"), ACCEPTED, "tang_zhen", True,
                what="文件名含 ..\\..\\（Windows 式路径穿越）：只是名字，输出文件名不取自输入文件名")  # fmt: skip


@case
def name_colon(ctx: Ctx) -> Case:
    return Case('曹路镇:上半年|"定稿"?*<>.xlsx', ctx.ret("caolu_zhen"), ACCEPTED, "caolu_zhen", True,
                what="文件名含 : | \" ? * < >（Windows 不允许的字符）")  # fmt: skip


@case
def name_very_long(ctx: Ctx) -> Case:
    rid = "gaohang_zhen"
    name = ("高行镇碳达峰碳中和及节能工作进展填报表最终版修改稿" * 4)[:80] + ".xlsx"  # 245 bytes: near NAME_MAX
    return Case(name, ctx.ret(rid, {"header.filler": None}), "E201", rid, True,
                what="245 字节的长文件名，且漏填填报人（生成退回修改表，文件名取自单位名称）")  # fmt: skip


@case
def name_nested(ctx: Ctx) -> Case:
    return Case("各镇/三林镇/最终.xlsx", ctx.ret("sanlin_zhen"),
                ACCEPTED, "sanlin_zhen", True, what="放在子文件夹中的填报表（子文件夹会被读取）")  # fmt: skip


def corpus_codes(cases: list[Case]) -> dict[str, str]:
    """display name → expected code, for docs and reports."""
    return {c.display: c.code or "采用" for c in cases}


__all__ = ["ACCEPTED", "CASES", "Case", "Ctx", "build_cases", "corpus_codes", "parse_metadata", "place"]
