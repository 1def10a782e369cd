"""The Word report's official-document layer (GB/T 9704) and its charts."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn

from pdreport.report import charts
from pdreport.report import docx_format as fmt

ROOT = Path(__file__).resolve().parents[1]
CREATED = dt.datetime(2024, 7, 15, 9, 30)
PNG_MAGIC = b"\x89PNG"
THEME_ATTRS = ("w:asciiTheme", "w:eastAsiaTheme", "w:hAnsiTheme", "w:cstheme")

EXPECTED_FONTS = {
    "公文标题": "方正小标宋简体",
    "公文正文": "仿宋_GB2312",
    "一级标题": "黑体",
    "二级标题": "楷体_GB2312",
    "三级标题": "仿宋_GB2312",
    "表格文字": "仿宋_GB2312",
    "表头": "黑体",
    "附件标识": "黑体",
    "附件标题": "方正小标宋简体",
    "署名": "仿宋_GB2312",
    "日期": "仿宋_GB2312",
    "图题": "仿宋_GB2312",
    "页码": "宋体",
}
UNITS = ["川沙新镇", "高桥镇", "北蔡镇", "合庆镇", "唐镇"]
STATUSES = ["已完成", "序时推进", "滞后", "未报送", "数据有误", "不考核"]

# A 1×1 PNG, so the document tests do not depend on matplotlib or fonts.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d6a4c70000000049454e44ae426082"
)


def build_sample(picture_png: bytes = TINY_PNG) -> docx.document.Document:
    doc = fmt.new_document("浦东新区碳达峰工作推进情况报告", CREATED)
    fmt.title(doc, "浦东新区2024年上半年碳达峰碳中和及节能重点工作推进情况报告")
    fmt.para(doc, "根据工作要点要求，现将上半年推进情况报告如下。" * 6)
    fmt.heading(doc, "一、总体情况", 1)
    fmt.para(doc, "上半年全区能耗强度同比下降3.2%，总体符合序时进度要求。" * 5)
    fmt.heading(doc, "（一）重点任务", 2)
    fmt.heading(doc, "1.工业领域", 3)
    fmt.para(doc, "重点用能单位节能改造项目有序推进。" * 5)
    rows = [
        [str(i + 1), f"重点任务第{i + 1}项：推进既有建筑节能改造", UNITS[i % 5], STATUSES[i % 6]]
        for i in range(40)
    ]
    fmt.table(doc, ["序号", "任务名称", "责任单位", "状态"], rows, [14, 80, 34, 28],
              align=["center", "left", "left", "center"], status_col=3)
    fmt.picture(doc, picture_png, 120, "图1  示意图")
    fmt.signature(doc, "浦东新区发展和改革委员会", "2024年7月15日")
    fmt.attachment(doc, 1, "各单位指标完成情况汇总表")
    fmt.table(doc, ["单位", "目标"], [[u, "3.0"] for u in UNITS], [60, 30])
    fmt.page_break(doc)
    fmt.para(doc, "分页之后的段落。")
    return doc


@pytest.fixture(scope="module")
def sample_bytes() -> bytes:
    return fmt.save_bytes(build_sample())


@pytest.fixture(scope="module")
def reopened(sample_bytes):
    return docx.Document(io.BytesIO(sample_bytes))


def _mm(length) -> float:
    return length / 36000  # EMU per millimetre


def test_page_is_a4_with_official_margins(reopened):
    section = reopened.sections[0]
    assert _mm(section.page_width) == pytest.approx(210, abs=0.5)
    assert _mm(section.page_height) == pytest.approx(297, abs=0.5)
    assert _mm(section.top_margin) == pytest.approx(37, abs=0.5)
    assert _mm(section.bottom_margin) == pytest.approx(35, abs=0.5)
    assert _mm(section.left_margin) == pytest.approx(28, abs=0.5)
    assert _mm(section.right_margin) == pytest.approx(26, abs=0.5)


def test_core_properties_are_fixed(reopened):
    props = reopened.core_properties
    assert props.title == "浦东新区碳达峰工作推进情况报告"
    assert props.author == "pdreport"
    for when in (props.created, props.modified, props.last_printed):
        assert when.replace(tzinfo=None) == CREATED
    assert props.revision == 1


@pytest.mark.parametrize("name", sorted(EXPECTED_FONTS))
def test_project_styles_name_official_fonts_without_theme_fonts(reopened, name):
    style = reopened.styles[name]
    r_fonts = style.element.rPr.find(qn("w:rFonts"))
    assert r_fonts.get(qn("w:eastAsia")) == EXPECTED_FONTS[name]
    assert r_fonts.get(qn("w:ascii")) in ("Times New Roman", "宋体")
    assert r_fonts.get(qn("w:hAnsi")) == r_fonts.get(qn("w:ascii"))
    for attr in THEME_ATTRS:
        assert r_fonts.get(qn(attr)) is None


def test_no_theme_font_anywhere_in_styles(reopened):
    root = reopened.styles.element
    for r_fonts in root.iter(qn("w:rFonts")):
        for attr in THEME_ATTRS:
            assert r_fonts.get(qn(attr)) is None
    default = root.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}")
    assert default.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert default.get(qn("w:ascii")) == "Times New Roman"
    normal = reopened.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert normal.get(qn("w:eastAsia")) == "仿宋_GB2312"


def test_body_style_line_spacing_indent_and_widow_control(reopened):
    style = reopened.styles["公文正文"]
    p_pr = style.element.pPr
    spacing = p_pr.find(qn("w:spacing"))
    assert spacing.get(qn("w:lineRule")) == "exact"
    assert int(spacing.get(qn("w:line"))) / 20 == pytest.approx(28.95, abs=0.05)
    ind = p_pr.find(qn("w:ind"))
    assert ind.get(qn("w:firstLineChars")) == "200"
    assert ind.get(qn("w:firstLine")) == "640"
    assert style.paragraph_format.widow_control is False
    assert style.paragraph_format.alignment == fmt.WD_ALIGN_PARAGRAPH.JUSTIFY
    assert style.font.size.pt == 16


def test_sizes_and_outline_levels(reopened):
    sizes = {"公文标题": 22, "一级标题": 16, "二级标题": 16, "三级标题": 16, "表格文字": 12,
             "表头": 12, "附件标识": 16, "图题": 14, "页码": 14}
    for name, size in sizes.items():
        assert reopened.styles[name].font.size.pt == size, name
    assert reopened.styles["三级标题"].font.bold is True
    for name, level in (("一级标题", "0"), ("二级标题", "1"), ("三级标题", "2")):
        outline = reopened.styles[name].element.pPr.find(qn("w:outlineLvl"))
        assert outline.get(qn("w:val")) == level
    # Headings are project styles, not Word's built-in Heading styles.
    used = {p.style.name for p in reopened.paragraphs}
    assert {"一级标题", "二级标题", "三级标题", "公文标题", "公文正文"} <= used
    assert not any(name.startswith("Heading") for name in used)


def test_table_header_repeats_rows_do_not_split_widths_fixed(reopened):
    tbl = reopened.tables[0]
    trs = tbl._tbl.tr_lst
    assert len(trs) == 41
    assert trs[0].trPr.find(qn("w:tblHeader")) is not None
    assert all(tr.trPr.find(qn("w:tblHeader")) is None for tr in trs[1:])
    assert all(tr.trPr.find(qn("w:cantSplit")) is not None for tr in trs)
    tbl_pr = tbl._tbl.tblPr
    assert tbl_pr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
    assert tbl_pr.find(qn("w:jc")).get(qn("w:val")) == "center"
    grid = [int(c.get(qn("w:w"))) for c in tbl._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert [round(w * 25.4 / 1440) for w in grid] == [14, 80, 34, 28]
    assert int(tbl_pr.find(qn("w:tblW")).get(qn("w:w"))) == sum(grid)
    borders = tbl_pr.find(qn("w:tblBorders"))
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = borders.find(qn(f"w:{edge}"))
        assert element.get(qn("w:val")) == "single" and element.get(qn("w:sz")) == "4"
    assert tbl.rows[0].cells[0].paragraphs[0].style.name == "表头"
    assert tbl.rows[1].cells[1].paragraphs[0].style.name == "表格文字"
    assert tbl.rows[1].cells[0].vertical_alignment == fmt.WD_CELL_VERTICAL_ALIGNMENT.CENTER


def test_only_a_row_taller_than_a_third_of_a_page_may_split():
    """A row kept whole moves to the next page when it does not fit: a tall one would leave a
    third of a page or more blank, so it may split; shorter rows never do."""
    doc = fmt.new_document("t", CREATED)
    lines = fmt.ROW_SPLIT_LINES
    rows = [["短", "一行"], ["高", "\n".join(["一行"] * lines)], ["更高", "\n".join(["一行"] * (lines + 1))],
            # 8 characters a line in 40 mm (less Word's 1.9 mm margins): wrapped, not broken by \n
            ["长", "重点用能单位节能改造" * (lines * 8 // 10 + 1)], ["长而短", "重点用能单位节能改造" * (lines * 8 // 10)]]  # fmt: skip
    tbl = fmt.table(doc, ["项目", "内容"], rows, [20, 40])
    split = [tr.trPr.find(qn("w:cantSplit")) is None for tr in tbl._tbl.tr_lst]
    assert split == [False, False, False, True, True, False]
    # the estimate: a Chinese character is one em, a digit or letter half
    assert fmt._row_lines(["12345678" * 2], [8 * 240 + 2 * 100], 100) == 1
    assert fmt._row_lines(["一二三四五六七八九"], [8 * 240 + 2 * 100], 100) == 2
    assert fmt._row_lines(["", None, "甲\n乙\n丙"], [500, 500, 1000], 100) == 3


def test_status_column_uses_status_character_styles(reopened):
    tbl = reopened.tables[0]
    for row in tbl.rows[1:7]:
        status = row.cells[3].text
        run = row.cells[3].paragraphs[0].runs[0]
        assert run.style.name == f"状态-{status}"
        colour = charts.STATUS_COLOURS[status]
        style_colour = run.style.font.color.rgb
        assert (str(style_colour) if style_colour is not None else None) == (
            colour.lstrip("#").upper() if colour else None
        )
    assert reopened.styles["状态-滞后"].font.bold is True
    # Other columns are plain.
    assert tbl.rows[1].cells[1].paragraphs[0].runs[0].style.name == "Default Paragraph Font"


def test_footers_have_page_field_odd_right_even_left(reopened, sample_bytes):
    assert reopened.settings.odd_and_even_pages_header_footer is True
    section = reopened.sections[0]
    assert section.different_first_page_header_footer is False
    for footer, align, indent in (
        (section.footer, "right", "w:rightChars"),
        (section.even_page_footer, "left", "w:leftChars"),
    ):
        assert not footer.is_linked_to_previous
        p = footer.paragraphs[0]
        xml = p._p.xml
        assert "PAGE" in "".join(t.text for t in p._p.iter(qn("w:instrText")))
        assert 'w:fldCharType="begin"' in xml and 'w:fldCharType="end"' in xml
        assert p.text.startswith("— ") and p.text.endswith(" —")
        assert p.style.name == "页码"
        assert p._p.pPr.find(qn("w:jc")).get(qn("w:val")) == align
        assert p._p.pPr.find(qn("w:ind")).get(qn(indent)) == "100"
    settings = zipfile.ZipFile(io.BytesIO(sample_bytes)).read("word/settings.xml")
    assert b"evenAndOddHeaders" in settings


def test_attachment_and_signature(reopened):
    paragraphs = reopened.paragraphs
    mark = next(p for p in paragraphs if p.text == "附件1")
    assert mark.style.name == "附件标识"
    assert mark.paragraph_format.page_break_before is True
    after = paragraphs[paragraphs.index(mark) + 1]
    assert after.text == "各单位指标完成情况汇总表" and after.style.name == "附件标题"
    sign = next(p for p in paragraphs if p.text == "浦东新区发展和改革委员会")
    assert sign.style.name == "署名"
    date = paragraphs[paragraphs.index(sign) + 1]
    assert date.style.name == "日期" and date.text == "2024年7月15日"
    for name in ("署名", "日期"):
        style = reopened.styles[name]
        assert style.paragraph_format.alignment == fmt.WD_ALIGN_PARAGRAPH.RIGHT
    # GB/T 9704 §7.3.5.2 (no seal): the office two characters in from the right, one blank line
    # above; the date's first character two right of the office's: 12 characters of office, a
    # date 7.5 characters wide (digits half, a fifth at each of its five changes between digits
    # and characters) → the date ends 12 + 2 − 2 − 7.5 = 4.5 characters in
    def right_chars(p):
        return p._p.pPr.find(qn("w:ind")).get(qn("w:rightChars"))

    assert (right_chars(sign), right_chars(date)) == ("200", "450")
    assert reopened.styles["署名"].element.pPr.find(qn("w:spacing")).get(qn("w:beforeLines")) == "100"
    # a date longer than the office ends two characters in; the office keeps two before it
    doc = fmt.new_document("t", CREATED)
    short, long_date = fmt.signature(doc, "区发改委", "2024年12月31日")  # 4 characters; 8
    assert (right_chars(short), right_chars(long_date)) == ("800", "200")
    # 附件说明 (§7.3.4): one blank line below the body; the second name under the first
    first, second = fmt.attachment_note(doc, ["甲表", "乙表"])
    assert (first.text, second.text) == ("附件：1. 甲表", "2. 乙表")
    assert first._p.pPr.find(qn("w:spacing")).get(qn("w:beforeLines")) == "100"


def test_picture_is_centred_with_caption(reopened):
    paragraphs = reopened.paragraphs
    caption = next(p for p in paragraphs if p.text == "图1  示意图")
    assert caption.style.name == "图题"
    picture = paragraphs[paragraphs.index(caption) - 1]
    assert picture.style.name == "图片"
    assert picture._p.xpath(".//pic:pic")
    assert reopened.inline_shapes[0].width.mm == pytest.approx(120, abs=0.5)


def test_save_is_deterministic(sample_bytes):
    assert fmt.save_bytes(build_sample()) == sample_bytes
    with zipfile.ZipFile(io.BytesIO(sample_bytes)) as z:
        assert {info.date_time for info in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        names = z.namelist()
    assert "docProps/thumbnail.jpeg" not in names
    assert names[0] == "[Content_Types].xml"


def test_helpers_reject_bad_input():
    doc = fmt.new_document("t", CREATED)
    with pytest.raises(ValueError):
        fmt.heading(doc, "四级", 4)
    with pytest.raises(ValueError):
        fmt.table(doc, ["a", "b"], [["1"]], [10, 10])
    with pytest.raises(ValueError):
        fmt.table(doc, ["a", "b"], [["1", "2"]], [10])


def test_set_east_asian_font_and_strip_theme_fonts():
    doc = fmt.new_document("t", CREATED)
    run = fmt.para(doc, "文字").runs[0]
    fmt.set_east_asian_font(run, "楷体_GB2312")
    r_fonts = run._r.rPr.find(qn("w:rFonts"))
    assert r_fonts.get(qn("w:eastAsia")) == "楷体_GB2312"
    assert r_fonts.get(qn("w:ascii")) == "Times New Roman"
    r_fonts.set(qn("w:eastAsiaTheme"), "minorEastAsia")
    fmt.strip_theme_fonts(run._r.rPr)
    assert r_fonts.get(qn("w:eastAsiaTheme")) is None
    assert r_fonts.get(qn("w:eastAsia")) == "楷体_GB2312"


# ---- charts ---------------------------------------------------------------------------------


def test_status_colours_are_shared():
    assert fmt.STATUS_COLOURS is charts.STATUS_COLOURS
    assert list(charts.STATUS_COLOURS) == STATUSES


@pytest.mark.skipif(charts.find_cjk_font() is None, reason="no CJK font installed")
def test_charts_draw_deterministic_png():
    labels = UNITS * 5
    values = [3.1, None, -1.2, 2.0, 0.0] * 5
    targets = [3.0, 3.0, None, 2.5, 2.5] * 5
    first = charts.bar_vs_target(labels, values, targets, "各单位能耗下降率", "下降率（%）")
    assert first is not None and first.startswith(PNG_MAGIC)
    assert charts.bar_vs_target(labels, values, targets, "各单位能耗下降率", "下降率（%）") == first
    counts = {"已完成": 3, "序时推进": 10, "滞后": 2, "未报送": 1, "数据有误": 1, "不考核": 0}
    overview = charts.status_overview(counts, "任务状态")
    assert overview is not None and overview.startswith(PNG_MAGIC)


def test_charts_return_none_without_cjk_font(monkeypatch):
    monkeypatch.setattr(charts, "find_cjk_font", lambda: None)
    assert charts.bar_vs_target(["甲"], [1.0], [2.0], "标题", "%") is None
    assert charts.status_overview({"已完成": 1}, "标题") is None


def test_chart_input_lengths_must_match():
    with pytest.raises(ValueError):
        charts.bar_vs_target(["甲", "乙"], [1.0], [2.0], "标题", "%")


# ---- rendering with LibreOffice -------------------------------------------------------------


@pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftotext") is None,
    reason="LibreOffice (soffice) or poppler (pdftotext) not installed",
)
def test_libreoffice_renders_page_numbers_and_chinese(tmp_path, sample_bytes):
    source = tmp_path / "sample.docx"
    source.write_bytes(sample_bytes)
    env = dict(os.environ, FONTCONFIG_FILE=str(ROOT / "docs" / "fonts.conf"))
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=180, env=env,
    )
    pdf = tmp_path / "sample.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    # pdftotext drops the narrow spaces around the number: "— 1 —" comes out as "—1—".
    assert re.search(r"—\s*1\s*—", text)
    assert re.search(r"—\s*2\s*—", text)
    assert "总体情况" in text
    assert "各单位指标完成情况汇总表" in text
    # The header row is repeated on the table's second page.
    pages = text.split("\f")
    assert sum("任务名称" in page for page in pages) >= 2


@pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftotext") is None,
    reason="LibreOffice (soffice) or poppler (pdftotext) not installed",
)
def test_libreoffice_keeps_punctuation_at_the_end_of_a_full_line(tmp_path):
    # left to its own default LibreOffice dropped a "、" or "，" that fell at the end of a full line
    # of the condensed body text (overflowPunct is now said explicitly): one of these lands there
    doc = fmt.new_document("t", CREATED)
    texts = ["2024年新区碳达峰碳中和及节能降碳计划目标是：力争完成市下达的新区单位增加值能耗（考核口径①）同比下降"
             "5.3%的目标任务，完成市下达的产业结构调整、节能技改、建筑节能、公共机构节能等重点领域工作任务。"]  # (the report's)
    texts += ["节" * k + "、公共机构节能，" + "等重点领域工作任务" * 3 for k in range(20, 36)]
    for text in texts:
        fmt.para(doc, text)
    source = tmp_path / "punct.docx"
    source.write_bytes(fmt.save_bytes(doc))
    env = dict(os.environ, FONTCONFIG_FILE=str(ROOT / "docs" / "fonts.conf"))
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=180, env=env)  # fmt: skip
    text = subprocess.run(["pdftotext", str(tmp_path / "punct.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip
    assert [text.count(ch) for ch in "、，"] == [sum(t.count(ch) for t in texts) for ch in "、，"]


def test_the_signature_never_stands_on_a_page_without_body_text():
    # the body's last paragraph, the 附件说明 and the office's name are each kept on the page of
    # what follows them: the 落款 page always carries the end of the body
    doc = fmt.new_document("t", CREATED)
    last = fmt.para(doc, "下一步工作。" * 20)
    note = fmt.attachment_note(doc, ["甲表", "乙表"])
    sign, date = fmt.signature(doc, "区发改委", "2024年12月31日")
    assert [p.paragraph_format.keep_with_next for p in (last, *note, sign)] == [True] * 4
    assert not date.paragraph_format.keep_with_next
    # without a 附件说明 the body's last paragraph goes with the 落款; after a table nothing is kept
    doc = fmt.new_document("t", CREATED)
    last = fmt.para(doc, "正文。")
    fmt.signature(doc, "区发改委", "2024年12月31日")
    assert last.paragraph_format.keep_with_next
    doc = fmt.new_document("t", CREATED)
    fmt.table(doc, ["单位"], [["甲"]], [60])
    sign, _date = fmt.signature(doc, "区发改委", "2024年12月31日")
    assert sign.paragraph_format.keep_with_next
