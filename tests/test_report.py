"""The Word report: structure mirrors the notice, official format, editable wording, inert user text."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import shutil
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn

from pdreport.assess import Status, assess, snapshot
from pdreport.collect import collect
from pdreport.plan.model import Accumulation
from pdreport.report import charts
from pdreport.report.context import build_context
from pdreport.report.prepared import chart_job
from pdreport.report.render import (
    PARTS,
    ReportTemplateError,
    default_templates_dir,
    render_markup,
    render_report,
    report_filename,
)

DATE = dt.date(2024, 7, 20)
SAMPLES = Path(__file__).resolve().parents[1] / "sample_workbooks"


@pytest.fixture(scope="module")
def report(demo_assessment):
    return docx.Document(io.BytesIO(render_report(demo_assessment, report_date=DATE)))


@pytest.fixture(scope="module")
def sample_assessment(plan):
    """The shipped sample returns, with their defects (康桥镇's annex figures are rejected …)."""
    col = collect(plan, SAMPLES, "2024H1")
    return assess(plan, col.period, col.submissions, col.findings)


@pytest.fixture(scope="module")
def sample_report(sample_assessment):
    return docx.Document(io.BytesIO(render_report(sample_assessment, report_date=DATE, with_charts=False)))


def texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def styled(doc, style: str) -> list[str]:
    return [p.text for p in doc.paragraphs if p.style.name == style]


def test_the_goals_footnote_is_given_as_a_note_under_it(report, plan):
    """The notice footnotes 考核口径 (superscript 1, text at the page foot): the report marks the
    word ① (a bare “1” would read as part of it) and gives the footnote's text as a 注 right after."""
    (note,) = plan.footnotes
    assert note.ref == "考核口径1" and note.ref in plan.goal
    paragraphs = texts(report)
    goal = paragraphs.index("一、总体目标完成情况") + 1
    assert paragraphs[goal] == plan.goal.replace("（考核口径1）", "（考核口径①）")
    assert "考核口径1" not in "".join(paragraphs)
    assert paragraphs[goal + 1] == f"注：①考核口径：{note.text}"
    assert paragraphs[goal + 1].startswith("注：①考核口径：1、农业；2、除百千外工业；") and paragraphs[goal + 1].endswith("居民生活。")


def test_footnotes_are_numbered_in_order_and_only_where_the_goal_has_them(plan, demo_assessment):
    from pdreport.plan.model import Footnote

    notes = (Footnote("a", "考核口径1", "六个领域", ()), Footnote("b", "不在目标中2", "无关", ()),
             Footnote("c", "重点领域2", "产业结构调整等；", ()))  # fmt: skip
    goal = plan.goal.replace("重点领域", "重点领域2")
    a = dataclasses.replace(demo_assessment, plan=dataclasses.replace(plan, goal=goal, footnotes=notes))
    context = build_context(a, DATE)["plan"]
    assert "（考核口径①）" in context["goal"] and "重点领域②工作任务" in context["goal"]
    assert context["goal_notes"] == [{"mark": "①", "word": "考核口径", "text": "六个领域。"},
                                     {"mark": "②", "word": "重点领域", "text": "产业结构调整等；"}]  # fmt: skip
    bare = dataclasses.replace(demo_assessment, plan=dataclasses.replace(plan, footnotes=()))
    assert build_context(bare, DATE)["plan"]["goal"] == plan.goal
    doc = docx.Document(io.BytesIO(render_report(bare, report_date=DATE, with_charts=False)))
    assert not any(t.startswith("注：①") for t in texts(doc))


def test_file_name(demo_assessment):
    assert report_filename(demo_assessment) == "浦东新区2024年碳达峰碳中和及节能重点工作推进情况（2024年上半年）.docx"


def test_title_issuer_and_date(report, plan):
    # the title is broken between words into lines of similar length (GB/T 9704 §7.2.3)
    assert styled(report, "公文标题") == ["浦东新区2024年碳达峰碳中和及节能\n重点工作推进情况（2024年上半年）"]
    assert styled(report, "署名") == [plan.issuer]
    assert styled(report, "日期") == ["2024年7月20日"]


def test_headings_mirror_the_notice(report, plan):
    assert styled(report, "一级标题") == ["一、总体目标完成情况", "二、重点工作推进情况", "三、存在问题及下一步工作"]
    level2 = styled(report, "二级标题")
    assert level2[:9] == [f"（{s.number}）{s.title}" for s in plan.sections]
    assert level2[9:] == ["（一）存在问题", "（二）下一步工作"]
    assert styled(report, "三级标题") == [f"{t.number}. {t.title}" for t in plan.tasks]


def test_headline_table(report, demo_assessment, plan):
    table = report.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["序号", "领域", "目标", "责任部门", "完成情况", "状态"]
    body = table.rows[1:]
    assert len(body) == 8
    for row, h in zip(body, demo_assessment.headline, strict=True):
        cells = [c.text for c in row.cells]
        assert cells[1] == h.row.field and cells[2] == h.row.target_text
        assert cells[3] == h.row.departments_text and cells[5] == h.result.status.label
    # the figure typed by 区发改委 for H1 is the one shown
    h1 = demo_assessment.headline[0].result
    assert body[0].cells[4].text == f"同比下降{h1.value:g}%"


def test_every_task_shows_status_and_figures(report, demo_assessment):
    body = "\n".join(texts(report))
    for t in demo_assessment.tasks:
        # (the notice's 区机管局 by the name the rest of the report gives it, 区府办（机管局）)
        written = t.task.departments_text.replace("区机管局", "区府办（机管局）")
        assert f"【{t.status.label}】责任部门：{written}" in body
    assert "区机管局" not in body
    pv = demo_assessment.indicators["T05-1"]
    assert f"新增光伏装机容量：{pv.value:g}万千瓦，年度目标不少于15万千瓦，序时目标7.5万千瓦" in body


def test_annex_tables(report, plan, demo_assessment):
    annex = next(t for t in report.tables if t.rows[0].cells[1].text == "单位名称")
    rows = annex.rows[1:]
    assert len(rows) == 30
    for row, unit in zip(rows, plan.annex.units, strict=True):
        cells = [c.text for c in row.cells]
        assert cells[1] == plan.respondent(unit.respondent).name
        assert cells[2] == ("/" if unit.target is None else f"{unit.target:g}")
    assert sum(r.cells[2].text == "/" for r in rows) == 5
    result = demo_assessment.unit("baoshuiqu_glj")
    assert rows[3].cells[5].text == f"{result.rate:.2f}"
    assert annex.rows[0].cells[3].text == "上年同期万元产值能耗（吨标准煤/万元）"
    # a reader recomputing 下降率 from the printed intensities gets the printed rate
    recomputed = 0
    for row in rows:
        base, now, rate = (row.cells[i].text for i in (3, 4, 5))
        if "—" not in (base, now, rate):
            assert f"{(1 - float(now) / float(base)) * 100:.{len(rate.split('.')[1])}f}" == rate, (base, now, rate)
            recomputed += 1
    assert recomputed > 20
    submissions = next(t for t in report.tables if t.rows[0].cells[1].text == "单位" and len(t.columns) == 7)
    assert len(submissions.rows) == 1 + 58 + 1  # and 合计
    assert styled(report, "附件标识") == ["附件1", "附件2"]


def test_page_setup_and_fonts(report):
    s = report.sections[0]
    mm = lambda v: round(v.mm)  # noqa: E731
    assert (mm(s.page_width), mm(s.page_height)) == (210, 297)
    assert (mm(s.top_margin), mm(s.bottom_margin), mm(s.left_margin), mm(s.right_margin)) == (37, 35, 28, 26)
    fonts = {}
    for name in ("公文标题", "公文正文", "一级标题", "二级标题", "三级标题"):
        rfonts = report.styles[name].element.rPr.find(qn("w:rFonts"))
        fonts[name] = rfonts.get(qn("w:eastAsia"))
        assert rfonts.get(qn("w:eastAsiaTheme")) is None
    assert fonts == {"公文标题": "方正小标宋简体", "公文正文": "仿宋_GB2312", "一级标题": "黑体",
                     "二级标题": "楷体_GB2312", "三级标题": "仿宋_GB2312"}
    footer = s.footer.paragraphs[0]._p.xml
    assert "PAGE" in footer and "—" in footer
    for table in report.tables:
        assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
        assert all(r._tr.trPr.find(qn("w:cantSplit")) is not None for r in table.rows)


def test_deterministic(demo_assessment):
    assert render_report(demo_assessment, report_date=DATE) == render_report(demo_assessment, report_date=DATE)


def test_missing_data_is_stated(plan, demo_assessment):
    # nobody responsible for task 2 (区发改委 only) reported: the report says so and names who owes it
    subs = [c.submission for c in demo_assessment.respondents if c.submission and c.respondent.id != "fgw"]
    a = assess(plan, demo_assessment.period, subs)
    assert a.task(2).status is Status.MISSING
    doc = docx.Document(io.BytesIO(render_report(a, report_date=DATE, with_charts=False)))
    body = "\n".join(texts(doc))
    assert "【未报送】责任部门：区发改委。责任单位均未报送。\n未报送：区发改委。" in body
    assert "请区发改委尽快报送2024年上半年推进情况" in body


def test_user_text_is_never_markup_or_template_code(plan, demo_assessment):
    hostile = "# 一、假标题\n@表格 总体目标\n{{ plan.issuer }}{% for x in range(3) %}x{% endfor %}"
    subs = []
    for c in demo_assessment.respondents:
        sub = c.submission
        if c.respondent.id == "fgw":
            sub = dataclasses.replace(sub, tasks=[dataclasses.replace(t, progress=hostile) for t in sub.tasks])
        subs.append(sub)
    a = assess(plan, demo_assessment.period, subs)
    doc = docx.Document(io.BytesIO(render_report(a, report_date=DATE, with_charts=False)))
    assert "假标题" not in "".join(styled(doc, "一级标题"))
    shown = [p.text for p in doc.paragraphs if "假标题" in p.text]
    assert shown and all(re.fullmatch(
        r"区发改委（\w+）：一、假标题；@表格 总体目标；\{\{ plan\.issuer \}\}\{% for x in range\(3\) %\}x\{% endfor %\}", t)
        for t in shown)  # fmt: skip
    assert len(doc.tables) == len(docx.Document(io.BytesIO(render_report(demo_assessment, report_date=DATE,
                                                                         with_charts=False))).tables)


def test_wording_is_edited_in_one_template_file(tmp_path, demo_assessment):
    folder = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), folder)
    path = folder / "03_tasks.md.j2"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("通知明确的", "今年以来，通知明确的"), encoding="utf-8")
    doc = docx.Document(io.BytesIO(render_report(demo_assessment, folder, DATE, with_charts=False)))
    assert any(p.text.startswith("今年以来，通知明确的34项重点任务中") for p in doc.paragraphs)


def test_texts_by_task_are_read_only_for_a_template_that_uses_them(tmp_path, demo_assessment, monkeypatch):
    """``problems``/``next_steps`` (texts grouped by task) read every respondent's text; the default
    templates list texts once each instead, so those two are built only when a template asks."""
    from pdreport.report import context as ctx

    built = []
    real = ctx._texts
    monkeypatch.setattr(ctx, "_texts", lambda a, names, attr: built.append(attr) or real(a, names, attr))
    render_report(demo_assessment, report_date=DATE, with_charts=False)
    assert built == []
    context = build_context(demo_assessment, DATE)
    names = {r.id: r.name for r in demo_assessment.plan.respondents}
    assert context["problems"] == real(demo_assessment, names, "problems") and built == ["problems"]
    assert len(context["problems"]) > 0 and built == ["problems"]  # built once

    folder = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), folder)
    path = folder / "04_problems.md.j2"
    path.write_text(path.read_text(encoding="utf-8") + "\n按任务：{% for p in problems %}{{ p.task }}、{% endfor %}共{{ next_steps|length }}项\n",
                    encoding="utf-8")  # fmt: skip
    doc = docx.Document(io.BytesIO(render_report(demo_assessment, folder, DATE, with_charts=False)))
    line = next(p.text for p in doc.paragraphs if p.text.startswith("按任务："))
    first = context["problems"][0]["task"]
    assert line.startswith(f"按任务：{first}、") and line.endswith(f"共{len(context['next_steps'])}项")


def test_template_errors_are_clear(tmp_path, demo_assessment):
    folder = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), folder)
    (folder / "02_overall.md.j2").write_text("{{ no_such_thing }}", encoding="utf-8")
    with pytest.raises(ReportTemplateError, match="02_overall.md.j2.*不存在的变量"):
        render_markup(demo_assessment, folder)
    (folder / "02_overall.md.j2").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(ReportTemplateError, match="02_overall.md.j2 第 1 行：此处缺少条件或变量"):
        render_markup(demo_assessment, folder)
    (folder / "02_overall.md.j2").write_text("@表格 不存在", encoding="utf-8")
    with pytest.raises(ReportTemplateError, match="无法识别"):
        render_report(demo_assessment, folder, with_charts=False)
    (folder / "02_overall.md.j2").unlink()
    with pytest.raises(ReportTemplateError, match="缺少文件"):
        render_markup(demo_assessment, folder)


# an edited template's usual mistakes → (where, what) in Chinese; no English left in the message
TEMPLATE_MISTAKES = {
    "正文\n{{ no_such_thing }}": ("第 2 行", "不存在的变量“no_such_thing”"),
    "{{ period.no_such_part }}": ("第 1 行", "没有“no_such_part”这一项"),
    "{% for t in tasks %}\n{{ t }}\n": ("第 2 行", "{% for %}（循环）还没有结束；请补上 {% endfor %}"),
    "{% if report_title %}\nx\n{% endfor %}": ("第 3 行", "{% endfor %} 与前面未结束的 {% if %}（条件）对不上"),
    "{{ report_title }": ("第 1 行", "多余或位置不对的“}”"),
    "{{ report_title report_title }}": ("第 1 行", "此处应为“end of print statement”，却是“report_title”"),
    "{% bold %}": ("第 1 行", "无法识别的标记 {% bold %}"),
    "{{ report_title|shout }}": ("第 1 行", "没有名为“shout”的过滤器"),
    "{# 注释": ("第 1 行", "注释缺少结尾的 #}"),
    "\n\n{{ 1 / 0 }}": ("第 3 行", "除数为 0"),
    "{{ report_title.__class__ }}": ("第 1 行", "出于安全考虑"),
    "{{ report_title() }}": ("第 1 行", "不能调用"),
    "总体目标".encode("gbk"): ("", "文件不是 UTF-8 编码"),  # saved by a GBK editor: no line to give
}


@pytest.mark.parametrize("text", list(TEMPLATE_MISTAKES))
def test_template_mistakes_are_said_in_chinese_with_their_line(tmp_path, demo_assessment, text):
    folder = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), folder)
    path = folder / "02_overall.md.j2"
    path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text, encoding="utf-8")
    with pytest.raises(ReportTemplateError) as info:
        render_markup(demo_assessment, folder)
    where, what = TEMPLATE_MISTAKES[text]
    message = str(info.value)
    assert message.startswith(f"报告模板 02_overall.md.j2{' ' + where if where else ''}："), message
    assert what in message, message
    assert not re.search(r"\b(undefined|expected|unexpected|Encountered|Missing|No filter)\b", message), message


def test_every_part_has_a_template():
    assert sorted(p.name for p in default_templates_dir().glob("*.md.j2")) == sorted(PARTS)


# -- layout and wording of the report's parts ------------------------------------------------------


def test_titles_break_between_words_where_the_template_says(report, tmp_path, demo_assessment):
    title = next(p for p in report.paragraphs if p.style.name == "公文标题")
    assert len(title._p.findall(".//" + qn("w:br"))) == 1
    assert title.text.replace("\n", "") == report_filename(demo_assessment).removesuffix(".docx")
    assert styled(report, "附件标题") == ["各管理局（管委会）、镇“双碳”指标完成情况\n（2024年上半年）",
                                      "报送及数据质量情况（2024年上半年）"]  # fmt: skip
    # "｜" is the break in any title line; a title without one is one paragraph line
    folder = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), folder)
    (folder / "01_title.md.j2").write_text("@标题 第一行｜第二行｜ 第三行\n@标题 一行\n", encoding="utf-8")
    (folder / "06_annex2.md.j2").write_text("@附件 2 附件｜标题\n", encoding="utf-8")
    doc = docx.Document(io.BytesIO(render_report(demo_assessment, folder, DATE, with_charts=False)))
    assert styled(doc, "公文标题") == ["第一行\n第二行\n第三行", "一行"]
    assert styled(doc, "附件标题")[-1] == "附件\n标题"


def test_submissions_are_counted_as_of_the_report_date(report):
    # the returns came in July: "截至6月30日，已报送57个" would be wrong
    opening = texts(report)[1]
    assert "截至2024年7月20日，应报送单位58个，已报送58个。" in opening
    assert "6月30日" not in opening


def _indicator_line(doc, name: str) -> str:
    lines = [t for t in texts(doc) if t.startswith(name + "：")]
    assert len(lines) == 1, lines
    return lines[0]


def test_levels_are_said_to_be_held_not_completed_by_a_ratio(sample_report, sample_assessment):
    levels = [r for r in sample_assessment.indicators.values()
              if r.indicator.accumulation is Accumulation.LEVEL and not r.indicator.id.startswith("H")]  # fmt: skip
    assert {r.indicator.id for r in levels} >= {"T17-2", "T18-2", "T24-1", "T22-1"}
    for r in levels:
        line = _indicator_line(sample_report, r.indicator.name)
        assert "完成年度目标的" not in line and "序时目标" not in line, line
        if r.status is Status.ON_TRACK:
            assert line.endswith("已达到年度目标水平，需保持至年底。"), line
    assert _indicator_line(sample_report, "区属公交、出租领域新能源车辆占比") == (
        "区属公交、出租领域新能源车辆占比：96.9%，年度目标不少于94%，已达到年度目标水平，需保持至年底。")
    assert _indicator_line(sample_report, "资源循环利用行业用地规划布局比例") == (
        "资源循环利用行业用地规划布局比例：0.6%，年度目标不少于1%，尚差0.4个百分点，滞后。")
    # cumulative figures keep their completion ratio and status
    assert _indicator_line(sample_report, "新增森林面积").endswith("完成年度目标的110.7%，已完成。")


def test_an_indicator_without_a_figure_states_its_status_once(sample_report):
    line = _indicator_line(sample_report, "开展清洁生产相关工作的企业数")
    # (and why: what the lead typed, the problem's name, and that the copy went back)
    assert line == ("开展清洁生产相关工作的企业数：数据有误（区科经委填报“约6家”，格式不对，已退回修改），待核实，"
                    "年度目标不少于10家，序时目标5家。")  # fmt: skip
    [annex] = [t for t in texts(sample_report) if t.startswith("附件所列")]
    assert annex.endswith("数据有误1个（康桥镇：表格标题或项目名称被改动，已退回修改）。")


def test_attention_paragraph_names_units_and_nests_no_brackets(sample_report):
    [text] = [t for t in texts(sample_report) if t.startswith("需要关注的是：")]
    assert "同比下降率同比" not in text and "下降率（" not in text
    assert "单位增加值综合能耗同比下降4.32%，目标下降5.3%，尚差0.98个百分点，责任部门为区碳达峰碳中和工作领导小组成员单位；" in text
    assert "区级机关单位建筑面积能耗（碳排放）同比下降0.91%，目标下降1%，尚差0.09个百分点，责任部门为区府办（机管局）。" in text
    # units judged one by one: those behind are named, not counted
    assert "行业内重点用能单位能效达到合理值比例，5个单位报送，3个达到目标，区商务委、区文体旅游局未达到目标；" in text
    assert "个单位未达到目标" not in text
    assert not re.search(r"（[^（）]*（[^（）]*）[^（）]*）", text), "brackets nested in brackets"


def test_only_caption_and_header_are_kept_with_what_follows(sample_report, report):
    body = sample_report.element.body
    for tbl in sample_report.tables:
        rows = tbl.rows
        for n, row in enumerate(rows):
            keep = {p.paragraph_format.keep_with_next for c in row.cells for p in c.paragraphs}
            assert keep == ({True} if n == 0 else {None}), n
            assert row._tr.trPr.find(qn("w:cantSplit")) is not None
        assert rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
        # every table has its caption right above it, in a style kept with the next paragraph
        caption = tbl._tbl.getprevious()
        assert caption.tag == qn("w:p") and caption.pPr.pStyle.val == "GwTableCaption"
    assert sample_report.styles["表题"].paragraph_format.keep_with_next is True
    captions = styled(sample_report, "表题")
    assert captions == ["表1  总体目标完成情况", "表2  各管理局（管委会）、镇工业万元产值能耗下降情况",
                        "表3  各单位报送情况", "表4  数据校验问题分类统计"]  # fmt: skip
    assert sum(1 for child in body if child.tag == qn("w:tbl")) == len(captions)
    # without findings there is no table, and no caption for it
    assert styled(report, "表题")[-1] == "表3  各单位报送情况" and "数据校验未发现问题。" in texts(report)


def test_annex2_names_problems_in_words(sample_report, sample_assessment):
    findings = sample_report.tables[-1]
    assert [c.text for c in findings.rows[0].cells] == ["序号", "问题类别", "级别", "条数"]
    cells = [c.text for r in findings.rows for c in r.cells]
    assert not any(re.fullmatch(r"[EW]\d{3}", c) for c in cells), cells
    assert "重复报送（已采用较新的一份）" in cells
    assert sum(int(r.cells[3].text) for r in findings.rows[1:]) == len(sample_assessment.findings)
    body = "\n".join(texts(sample_report))
    assert ".xlsx" not in body and "逐条问题及处理办法见“问题清单”" in body
    # 类别 holds "管理局（管委会）" on one line: 8 characters of 12 pt plus the cell margins
    submissions = sample_report.tables[-2]
    assert [c.text for c in submissions.rows[0].cells][2] == "类别"
    grid = [int(g.get(qn("w:w"))) for g in submissions._tbl.tblGrid.findall(qn("w:gridCol"))]
    margins = submissions._tbl.tblPr.find(qn("w:tblCellMar"))
    margin = sum(int(m.get(qn("w:w"))) for m in margins)
    assert grid[1] - margin >= 8 * 240 and grid[2] - margin >= 8 * 240
    assert sum(grid) <= 156 * 1440 / 25.4 + 1


def test_same_problem_text_is_listed_once(report, demo_assessment):
    paragraphs = texts(report)
    start, end = paragraphs.index("（一）存在问题"), paragraphs.index("（二）下一步工作")
    written = {r.problems.strip() for t in demo_assessment.tasks for r in t.reports if r.problems}
    part = paragraphs[start:end]
    for text in written:
        assert sum(p.endswith("：" + text) for p in part) == 1, text
    assert any(re.match(r"\S+等\d+个单位反映（涉及任务\d+、\d+、\d+等\d+项）：", p) for p in part)
    # a long run of numbers and 、 cannot be broken across lines: at most three task numbers
    assert not any(re.search(r"\d+(、\d+){3}", p) for p in part)


def test_change_since_the_previous_period_carries_its_unit(demo_assessment):
    prev = snapshot(demo_assessment)
    prev["period"], prev["period_label"] = "2024Q1", "2024年一季度"
    ids = {"T05-1": 2.5, "T17-2": -0.78, "T18-2": 55, "H1": 0.5, "T17-1": -55}
    for key, diff in ids.items():
        prev["indicators"][key]["value"] = demo_assessment.indicators[key].value - diff
    prev["indicators"]["T13-1"]["value"] = demo_assessment.indicators["T13-1"].value
    a = dataclasses.replace(demo_assessment, previous=prev)
    context = build_context(a, DATE)
    shown = {i["id"]: i["change"] for s in context["sections"] for t in s["tasks"] for i in t["indicators"]}
    assert shown["T05-1"] == "较上期增加2.5万千瓦"
    assert shown["T17-2"] == "较上期降低0.78个百分点"
    assert shown["T18-2"] == "较上期增加55辆"
    assert shown["T17-1"] == "较上期减少55辆，累计数比上期少，请核对"  # a count since January fell
    assert shown["T13-1"] == "与上期持平"
    # H1 is a decline rate (下降不少于): a larger rate is a wider fall, never "提高", which reads as
    # energy use going up; a percentage that is not a decline rises and falls (T17-2 above)
    assert context["headline"][0]["change"] == "较上期降幅扩大0.5个百分点"
    doc = docx.Document(io.BytesIO(render_report(a, report_date=DATE, with_charts=False)))
    table = doc.tables[0]
    assert table.rows[0].cells[-1].text == "较上期"
    assert table.rows[1].cells[-1].text == "降幅扩大0.5个百分点"
    prev["indicators"]["H1"]["value"] = demo_assessment.indicators["H1"].value + 1.04
    assert build_context(a, DATE)["headline"][0]["change"] == "较上期降幅收窄1.04个百分点"
    # a fall that became a rise did not narrow by more than itself (nor a rise that became a fall)
    from pdreport.report.context import _change

    h1 = a.indicators["H1"]
    prev["indicators"]["H1"]["value"] = 1.14
    assert _change(a, dataclasses.replace(h1, value=-0.5)) == "较上期由下降1.14%转为上升0.5%"
    prev["indicators"]["H1"]["value"] = -0.5
    assert _change(a, dataclasses.replace(h1, value=4.3), short=True) == "由上升0.5%转为下降4.3%"
    body = "\n".join(texts(doc))
    assert "（较上期增加2.5万千瓦）。" in body
    # written in brackets, the flag is a clause of the change, never a bracket in a bracket
    assert "（较上期减少55辆，累计数比上期少，请核对）。" in body
    assert not re.search(r"（[^（）\n]*（", body.replace("区府办（机管局）", ""))
    # --previous may skip a period (前三季度 against 一季度): the note under 表1, where 较上期 is
    # first used, names the period compared with, once
    note = "".join(t.text for t in table._tbl.getnext().iter(qn("w:t")))
    assert note.startswith("注：本报告中的“上期”均指2024年一季度。第")  # (then each unit's change)
    assert sum("2024年一季度" in t for t in texts(doc)) == 1
    del prev["period_label"]  # (a snapshot without its label: the plan's name of its period)
    assert build_context(a, DATE)["previous_label"] == "2024年一季度"


def test_a_change_written_in_brackets_has_no_brackets_of_its_own(demo_assessment):
    """Each unit's change of an indicator each unit is judged on names the units: a name with
    brackets (区府办（机管局）) gets 〔〕 in ``change`` (the templates write it in brackets); the note
    under 表1 (``change_each``) keeps the name as it is."""
    import copy

    each = next(r for r in demo_assessment.indicators.values()
                if r.indicator.combine.value == "each" and r.value is None)  # fmt: skip
    rid = next(rep.respondent for rep in each.reports if rep.value is not None)
    name = demo_assessment.plan.respondent(rid).name
    plan = copy.copy(demo_assessment.plan)  # (its own respondents; the shared plan is left alone)
    object.__setattr__(plan, "respondents", tuple(
        dataclasses.replace(x, name=x.name + "（测试）") if x.id == rid else x for x in plan.respondents))
    prev = snapshot(demo_assessment)
    prev["period"], prev["period_label"] = "2024Q1", "2024年一季度"
    prev["each"][each.indicator.id][rid] -= 3
    a = dataclasses.replace(demo_assessment, previous=prev, plan=plan)
    row = next(h for h in build_context(a, DATE)["headline"] if h["indicator"] == each.indicator.name)
    assert f"{name}〔测试〕较上期提高3个百分点" in row["change"] and "（" not in row["change"]
    assert f"{name}（测试）较上期提高3个百分点" in row["change_each"]
    assert demo_assessment.plan.respondent(rid).name == name

def test_a_milestone_reported_undone_is_flagged_in_the_report(demo_assessment):
    """A milestone done last period and not done now says so on its line, as a count that fell
    does; a milestone whose status did not change says nothing about the previous period."""
    done = [r for r in demo_assessment.indicators.values() if r.indicator.is_milestone and r.done]
    undone = [r for r in demo_assessment.indicators.values() if r.indicator.is_milestone and r.done is False]
    assert done and undone
    prev = snapshot(demo_assessment)
    prev["period"], prev["period_label"] = "2024Q1", "2024年一季度"
    prev["indicators"][undone[0].indicator.id].update(done=True, status="已完成")
    a = dataclasses.replace(demo_assessment, previous=prev)
    shown = {i["id"]: i["change"] for s in build_context(a, DATE)["sections"] for t in s["tasks"] for i in t["indicators"]}
    assert shown[undone[0].indicator.id] == "上期报已完成，本期报未完成，请核对"
    assert shown[done[0].indicator.id] == ""
    doc = docx.Document(io.BytesIO(render_report(a, report_date=DATE, with_charts=False)))
    line = next(p for p in texts(doc) if p.startswith(undone[0].indicator.name + "："))
    assert line.endswith("（上期报已完成，本期报未完成，请核对）。")
    assert not any(p.startswith(done[0].indicator.name + "：") and "上期" in p for p in texts(doc))


def test_annex_chart_says_why_a_unit_has_no_rate(sample_assessment, monkeypatch):
    fn, args = chart_job(sample_assessment, "附件下降率")
    labels, values, statuses = args[0], args[1], args[5]
    kangqiao = labels.index("康桥镇")
    assert values[kangqiao] is None and statuses[kangqiao] == "数据有误"
    if charts.find_cjk_font() is None:
        return
    drawn = []  # the texts written beside the bars
    real = charts.render
    monkeypatch.setattr(charts, "render", lambda chart, *a: drawn.extend(n.text for n in chart.notes) or real(chart, *a))
    assert fn(*args) is not None
    assert "数据有误" in drawn and "未报送" not in drawn
    drawn.clear()
    charts.bar_vs_target(["甲", "乙"], [None, 1.0], [2.0, 2.0], "标题", "%")
    assert "未报送" in drawn  # no statuses given: a gap means nothing was reported
    # a rate just short of its target is labelled as 表2 shows it, never as the target itself
    drawn.clear()
    charts.bar_vs_target(["甲", "乙", "丙"], [3.49, 3.5, 4.04], [3.5, 3.5, 3.5], "标题", "%")
    assert {"3.49", "3.5", "4.0"} <= set(drawn) and "3.5" not in drawn[:1]


def test_each_units_change_is_named_unit_by_unit(demo_assessment):
    prev = snapshot(demo_assessment)
    prev["period"], prev["period_label"] = "2024Q1", "2024年一季度"
    h3 = demo_assessment.indicators["H3"]
    ok = [r for r in h3.reports if r.value is not None]
    prev["each"]["H3"] = {r.respondent: r.value for r in ok}
    prev["each"]["H3"][ok[0].respondent] = ok[0].value - 3
    a = dataclasses.replace(demo_assessment, previous=prev)
    row = next(h for h in build_context(a, DATE)["headline"] if h["indicator"] == h3.indicator.name)
    name = a.plan.respondent(ok[0].respondent).name
    assert row["change"].startswith(f"{name}较上期提高3个百分点，")
    assert row["change"].count("与上期持平") == len(ok) - 1
    assert row["change_each"] == row["change"]
    # the 较上期 column counts the units (each unit's change would run to a dozen narrow lines)
    assert row["change_short"] == f"1个单位提高，{len(ok) - 1}个单位持平"
    doc = docx.Document(io.BytesIO(render_report(a, report_date=DATE, with_charts=False)))
    table = doc.tables[0]
    cells = [c.text for c in table.rows[row["seq"]].cells]
    assert cells[-1] == f"1个单位提高\n{len(ok) - 1}个单位持平"
    # ... and each unit's change is said in the note right under the table
    after = table._tbl.getnext()
    note = "".join(t.text for t in after.iter(qn("w:t")))
    assert re.match(r"注：本报告中的“上期”均指2024年一季度。第\d(、\d)*项由各单位分别考核，“较上期”列为变化的单位数。"
                    r"各单位较上期的变化：第\d项，", note)  # fmt: skip
    assert f"第{row['seq']}项，{row['change']}" in note
    # without a previous period: no 较上期 column and no note
    plain = docx.Document(io.BytesIO(render_report(demo_assessment, report_date=DATE, with_charts=False)))
    assert plain.tables[0].rows[0].cells[-1].text == "状态"
    assert not any(t.startswith("注：第") or "上期" in t for t in texts(plain))


def test_the_change_column_takes_its_width_from_the_others(demo_assessment):
    """With 较上期 the headline table keeps 156 mm: 状态 holds 序时推进 and 较上期 “1个单位提高” on one
    line (narrow cell margins), 领域 two characters."""
    prev = snapshot(demo_assessment)
    doc = docx.Document(io.BytesIO(render_report(dataclasses.replace(demo_assessment, previous=prev),
                                                 report_date=DATE, with_charts=False)))  # fmt: skip
    table = doc.tables[0]
    grid = [int(g.get(qn("w:w"))) for g in table._tbl.tblGrid.findall(qn("w:gridCol"))]
    margin = sum(int(m.get(qn("w:w"))) for m in table._tbl.tblPr.find(qn("w:tblCellMar")))
    assert len(grid) == 7 and sum(grid) <= 156 * 1440 / 25.4 + 1
    assert grid[1] - margin >= 2 * 240 and grid[5] - margin >= 4 * 240
    assert grid[6] - margin >= 5.5 * 240 + 60  # five characters, a digit and the space around it


def test_a_cross_check_gap_is_said_in_the_report(demo_assessment):
    """祝桥镇's 3000 (千瓦 for 万千瓦) puts the contributors' sum far from the lead's figure: the
    report says 请核对 where the figure is given, as 汇总表 does."""
    flagged = [r for r in demo_assessment.indicators.values() if r.cross_check_flagged]
    context = build_context(demo_assessment, DATE)
    shown = {i["id"]: i for s in context["sections"] for t in s["tasks"] for i in t["indicators"]}
    for r in flagged:
        assert shown[r.indicator.id]["check"].endswith("请核对")
    unflagged = [i for i, r in demo_assessment.indicators.items() if not r.cross_check_flagged and i in shown]
    assert all(shown[i]["check"] == "" for i in unflagged)


def _all_behind(a, number: int):
    """``a`` with every report on task ``number`` saying 已滞后."""
    tasks = tuple(dataclasses.replace(t, reports=tuple(dataclasses.replace(r, status="已滞后") for r in t.reports))
                  if t.task.number == number else t for t in a.tasks)  # fmt: skip
    return dataclasses.replace(a, tasks=tasks)


def test_units_behind_on_a_task_are_named_up_to_a_limit(demo_assessment, plan, monkeypatch):
    import pdreport.report.context as context

    monkeypatch.setattr(context, "BEHIND_SHOWN_LIMIT", 3)
    a = _all_behind(demo_assessment, 24)  # 区生态环境局、各街道、镇: 36 reports
    reports = a.task(24).reports
    named = {r.id for d in plan.task(24).departments if (r := plan.find_respondent(d)) is not None}
    task = next(t for s in build_context(a)["sections"] for t in s["tasks"] if t["number"] == 24)
    want = [r.respondent for r in reports if r.respondent in named]
    want += [r.respondent for r in reports if r.respondent not in named][:3]
    assert [r["id"] for r in task["reports"]] == [r.respondent for r in reports if r.respondent in want]
    assert task["others"] == len(reports) - len(want) > 0
    assert task["others_text"] == f"已滞后{task['others']}个"
    doc = docx.Document(io.BytesIO(render_report(a, report_date=DATE, with_charts=False)))
    assert f"另有{task['others']}个单位报送了本项工作情况，其中已滞后{task['others']}个，各单位填报原文见汇总表。" in texts(doc)


def test_many_respondents_are_counted_by_kind_in_the_submission_table(sample_assessment, monkeypatch):
    import pdreport.report.render as render

    a = sample_assessment
    few = docx.Document(io.BytesIO(render_report(a, report_date=DATE, with_charts=False)))
    # one row a unit, up to the limit (and 单位不明的文件, 合计)
    assert len(few.tables[2].rows) == 1 + len(a.respondents) + 2
    monkeypatch.setattr(render, "SUBMISSION_ROWS_LIMIT", len(a.respondents) - 1)
    doc = docx.Document(io.BytesIO(render_report(a, report_date=DATE, with_charts=False)))
    assert styled(doc, "表题")[2] == "表3  各单位报送情况"
    rows = [[c.text for c in r.cells] for r in doc.tables[2].rows]
    assert rows[0] == ["类别", "应报送", "已报送", "需退回修改", "未报送", "逾期", "错误", "提醒"]
    kinds = list(dict.fromkeys(c.respondent.kind.label for c in a.respondents))
    assert [r[0] for r in rows[1:]] == [*kinds, "单位不明的文件", "合计"]
    for row in rows[1:-2]:
        cards = [c for c in a.respondents if c.respondent.kind.label == row[0]]
        mine = [f for f in a.findings if f.respondent in {c.respondent.id for c in cards}]
        assert row[1:] == [str(len(cards)), str(sum(c.submission is not None for c in cards)),
                           str(sum(c.state == "需退回修改" for c in cards)), str(sum(c.submission is None for c in cards)),
                           str(sum(c.on_time is False for c in cards)), str(sum(f.is_error for f in mine)),
                           str(sum(not f.is_error for f in mine))]  # fmt: skip
    assert rows[-2] == ["单位不明的文件", "—", "—", "—", "—", "—", "1", "0"]  # 区统计局_情况说明.docx
    totals = [sum(int(r[i]) for r in rows[1:-2]) for i in range(1, 6)]
    assert rows[-1][1:6] == [str(n) for n in totals] and totals[0] == len(a.respondents)
    errors = sum(f.is_error for f in a.findings)
    assert rows[-1][6:] == [str(errors), str(len(a.findings) - errors)]
    assert int(rows[-1][4]) == len(a.missing) > 0 and int(rows[-1][3]) > 0  # the samples have both
    note = next(t for t in texts(doc) if t.startswith("注：应报送单位共"))
    assert "汇总表“报送情况”工作表" in note and "问题清单“催报名单”工作表" in note
    assert "错误、提醒按问题所属单位统计" in note and "单位不明的文件共1份" in note


def test_submission_table_adds_up_to_the_counts_in_the_text(sample_report, sample_assessment):
    """附件2 says how many errors and warnings there are, 表4 counts them by kind, and 表3 by unit:
    the W107 on 区建交委's superseded copy is 区建交委's, the E001 of a Word document no unit could
    be told for has a row of its own, and the 合计 row is the text's."""
    from pdreport.problems import UNKNOWN_FILES as IN_PROBLEM_LIST
    from pdreport.report.render import UNKNOWN_FILES

    a = sample_assessment
    errors, warnings = sum(f.is_error for f in a.findings), sum(not f.is_error for f in a.findings)
    assert (errors, warnings) == (6, 4)
    assert f"数据校验共发现错误{errors}条、提醒{warnings}条" in "".join(texts(sample_report))
    table = sample_report.tables[2]
    rows = [[c.text for c in r.cells] for r in table.rows]
    by = {r[1]: r for r in rows[1:]}
    assert by["区建交委"][3:] == ["已报送", "7月10日", "0", "1"]  # the copy in use has no problem
    assert by[UNKNOWN_FILES] == ["", UNKNOWN_FILES, "—", "无法采用", "—", "1", "0"] and UNKNOWN_FILES == IN_PROBLEM_LIST
    assert rows[-1] == ["", "合计", "", "", "", str(errors), str(warnings)]
    assert [sum(int(r[i]) for r in rows[1:-1]) for i in (5, 6)] == [errors, warnings]
    findings = sample_report.tables[3]
    assert sum(int(r.cells[3].text) for r in findings.rows[1:]) == errors + warnings
    # the note under 表3 says what its counts take in
    note = "".join(t.text for t in table._tbl.getnext().iter(qn("w:t")))
    assert note == ("注：错误、提醒按问题所属单位统计，含该单位未采用的文件（如重复报送的较早一份）中的问题，"
                    "“报送情况”按采用的文件判断；单位不明的文件共1份，文件中读不出报送单位，未能采用；"
                    "按文件名判断可能是区统计局的文件，未计入该单位。逐条问题见问题清单。")  # fmt: skip


def test_no_note_under_the_submission_table_when_each_count_is_the_file_in_uses(report):
    table = report.tables[2]
    assert table.rows[-1].cells[1].text == "合计"
    assert table._tbl.getnext().tag != qn("w:p") or not "".join(
        t.text for t in table._tbl.getnext().iter(qn("w:t"))).startswith("注：")


def test_past_the_limit_the_texts_most_units_wrote_are_listed(sample_assessment, monkeypatch):
    import pdreport.report.context as context

    before = build_context(sample_assessment)
    every, steps = before["problem_texts"], before["next_step_texts"]
    assert len(every) > 2 and len(steps) > 2 and before["problem_texts_more"] == before["next_step_texts_more"] == 0
    monkeypatch.setattr(context, "TEXTS_LIMIT", 2)
    c = build_context(sample_assessment)
    top = sorted(every, key=lambda t: -t["count"])[:2]
    assert c["problem_texts"] == [t for t in every if t in top]  # in the order written
    assert c["problem_texts_more"] == len(every) - 2
    assert len(c["next_step_texts"]) == 2 and c["next_step_texts_more"] == len(steps) - 2
    doc = docx.Document(io.BytesIO(render_report(sample_assessment, report_date=DATE, with_charts=False)))
    assert f"另有{len(every) - 2}条存在问题的反映，见汇总表“任务进展明细”。" in texts(doc)
    assert sum(t["text"] in p for t in every for p in texts(doc)) == 2


def test_the_year_end_report_has_no_in_year_wording(plan, demo_returns):
    """At year end nothing is 序时 any more: the counts say 已完成 and 未完成, no task is 序时推进,
    the 序时目标 is not repeated, and the next steps are about what was not finished (reasons,
    measures and deadlines, carried into next year's work), not about catching up within the year."""
    col = collect(plan, demo_returns[0], "2024H1")
    fy = assess(plan, plan.period("2024FY"), col.submissions, col.findings)  # the same figures at year end
    h1 = assess(plan, plan.period("2024H1"), col.submissions, col.findings)
    assert fy.status_counts(fy.tasks)[Status.ON_TRACK] == 0
    assert fy.status_counts(fy.tasks)[Status.BEHIND] and h1.status_counts(h1.tasks)[Status.BEHIND]
    year_end = "\n".join(text for _, text in render_markup(fy, report_date=dt.date(2025, 1, 20)))
    in_year = "\n".join(text for _, text in render_markup(h1, report_date=DATE))
    for words in ("序时", "确保完成全年目标", "需保持至年底", "下半年"):
        assert words not in year_end, words
    assert "纳入下一年度工作安排" in year_end and "纳入下一年度工作安排" not in in_year
    assert "确保完成全年目标" in in_year and "序时推进" in in_year
    assert re.search(r"8项总体目标，2024年全年已完成\d+项，未完成（滞后）\d+项", year_end)
    assert re.search(r"34项重点任务中，全年已完成\d+项，未完成（滞后）\d+项", year_end)
    assert re.search(r"截至年底，\d+项重点任务未完成：任务", year_end)
    assert re.search(r"完成年度目标\d+个，未完成（滞后）\d+个", year_end)
    # the task chart has no 序时推进 bar at year end
    _, (counts, _title) = chart_job(fy, "任务状态")
    assert "序时推进" not in counts and "序时推进" in chart_job(h1, "任务状态")[1][0]


@pytest.fixture(scope="module")
def demo_collected(plan, demo_returns):
    return collect(plan, demo_returns[0], "2024H1")


def _markup(a, date=DATE) -> str:
    return "\n".join(text for _, text in render_markup(a, report_date=date))


def _lines(body: str, start: str) -> list[str]:
    return [line for line in body.splitlines() if line.startswith(start)]


def test_a_target_around_a_value_is_printed_with_the_floor_its_gap_is_measured_to(plan, demo_collected):
    """'95%左右' is assessed as 不低于94%, and the shortfall is measured to 94: the report prints the
    target as the notice says it and how it is assessed, never the plan's '±1', so that a reader
    gets the same gap from the target printed next to it."""
    subs = [dataclasses.replace(s, figures=[dataclasses.replace(f, value=74.0) if f.indicator == "T24-1" else f
                                            for f in s.figures]) for s in demo_collected.submissions.values()]  # fmt: skip
    a = assess(plan, plan.period("2024Q3"), subs, demo_collected.findings)
    assert a.indicators["T24-1"].value == 74 and a.indicators["T24-1"].status is Status.BEHIND
    body = _markup(a)
    assert _lines(body, "居住区生活垃圾分类达标率：") == [
        "居住区生活垃圾分类达标率：74%，年度目标95%左右（不低于94%即达标），尚差20个百分点，滞后。"]
    assert "±" not in body
    context = build_context(a, DATE)
    [row] = [i for s in context["sections"] for t in s["tasks"] for i in t["indicators"] if i["id"] == "T24-1"]
    assert row["target"] == "95%左右（不低于94%即达标）" and row["shortfall"] == "20个百分点"
    assert "95%左右（不低于94%即达标）" in row["reason"]  # (汇总表's 说明 says it in the same words)


def _milestone_said(subs, iid: str, said: dict[str, tuple[bool, dt.date | None]]):
    """``subs`` with what each respondent in ``said`` reports on milestone ``iid``."""
    return [dataclasses.replace(s, milestones=[dataclasses.replace(m, done=said[s.respondent][0], date=said[s.respondent][1])
                                               if m.indicator == iid and s.respondent in said else m
                                               for m in s.milestones]) for s in subs]  # fmt: skip


def test_a_milestone_whose_contributors_disagree_with_the_lead_says_so(plan, demo_collected):
    """T09-M1's lead (区科经委) says not done, its contributors say done: the line gives the lead's
    verdict, then the 请核对 as a sentence of its own, after the change in brackets (which belongs to
    the verdict); the reverse is said too. (汇总表 has the same words in its 评估说明.)"""
    done, undone = (True, dt.date(2024, 5, 12)), (False, None)
    subs = _milestone_said(demo_collected.submissions.values(), "T09-M1",
                           {"kjw": undone, "zhangjiang_glj": done, "kangqiao_zhen": done})  # fmt: skip
    a = assess(plan, plan.period("2024H1"), subs, demo_collected.findings)
    assert a.indicators["T09-M1"].status is Status.ON_TRACK
    name = plan.indicator("T09-M1").name
    assert _lines(_markup(a), name + "：") == [
        f"{name}：尚未完成，计划2024年12月31日前完成。牵头单位报未完成，参与单位张江管理局、康桥镇报已完成，请核对。"]
    subs = _milestone_said(subs, "T09-M1", {"kjw": (True, dt.date(2024, 6, 1)), "kangqiao_zhen": undone})
    a = assess(plan, plan.period("2024H1"), subs, demo_collected.findings)
    prev = snapshot(a)
    prev["period"], prev["period_label"] = "2024Q1", "2024年一季度"
    prev["indicators"]["T09-M1"].update(done=False, status="序时推进")
    assert _lines(_markup(dataclasses.replace(a, previous=prev)), name + "：") == [
        f"{name}：已于2024年6月1日完成（上期尚未完成）。牵头单位报已完成，参与单位康桥镇报未完成，请核对。"]


def test_the_annex_intro_counts_units_by_the_statuses_of_its_table(demo_assessment, plan, demo_collected):
    """附件1's first sentence uses the statuses 表2 gives the units: in the year a unit whose rate
    has reached its annual target is 序时推进 (to be held to the year end), not '已达到年度目标'
    under another name; at year end 已完成 and 未完成（滞后）."""
    counts = demo_assessment.status_counts(u for u in demo_assessment.annex if u.unit.assessed)
    assert counts[Status.ON_TRACK] and not counts[Status.DONE]
    [intro] = _lines(_markup(demo_assessment), "附件所列")
    assert f"工业万元产值能耗下降率序时推进{counts[Status.ON_TRACK]}个（下降率已达到年度目标，需保持至年底）" in intro
    assert f"滞后{counts[Status.BEHIND]}个" in intro and "已达到年度目标" + str(counts[Status.ON_TRACK]) not in intro
    fy = assess(plan, plan.period("2024FY"), demo_collected.submissions, demo_collected.findings)
    counts = fy.status_counts(u for u in fy.annex if u.unit.assessed)
    [intro] = _lines(_markup(fy, dt.date(2025, 1, 20)), "附件所列")
    assert f"完成年度目标{counts[Status.DONE]}个，未完成（滞后）{counts[Status.BEHIND]}个" in intro
    assert "序时推进" not in intro


def test_a_milestones_change_says_what_the_earlier_report_said(demo_assessment, plan, demo_collected):
    """A milestone done now and not done then: '（上期尚未完成）', as the earlier report said
    '尚未完成，计划……前完成', not the status '上期：序时推进' it never printed next to it; one
    overdue then, '（上期未完成，已过计划完成时间）'; one now overdue that was not yet due then,
    '（上期尚未到计划完成时间）'. (Milestones whose contributors disagree with the lead end their
    line with that 请核对 instead: left out.)"""
    ms = [r for r in demo_assessment.indicators.values() if r.indicator.is_milestone and not r.cross_check]
    done = [r for r in ms if r.done]
    undone = [r for r in ms if r.done is False]
    assert len(done) >= 2 and undone
    prev = snapshot(demo_assessment)
    prev["period"], prev["period_label"] = "2024Q1", "2024年一季度"
    prev["indicators"][done[0].indicator.id].update(done=False, status="序时推进")
    prev["indicators"][done[1].indicator.id].update(done=False, status="滞后")
    body = _markup(dataclasses.replace(demo_assessment, previous=prev))
    [line] = _lines(body, done[0].indicator.name + "：")
    assert line.endswith("完成（上期尚未完成）。"), line
    [line] = _lines(body, done[1].indicator.name + "：")
    assert line.endswith("完成（上期未完成，已过计划完成时间）。"), line
    assert "上期：序时推进" not in body and "上期：滞后" not in body
    # at year end, not done: overdue now, not yet due in the first half
    fy = assess(plan, plan.period("2024FY"), demo_collected.submissions, demo_collected.findings)
    fy.previous = snapshot(demo_assessment)
    assert fy.indicators[undone[0].indicator.id].status is Status.BEHIND
    [line] = _lines(_markup(fy, dt.date(2025, 1, 20)), undone[0].indicator.name + "：")
    assert line.endswith("已过计划完成时间（2024年12月31日）（上期尚未到计划完成时间）。"), line


def test_a_task_done_last_period_and_not_now_says_so(demo_assessment):
    """A task 已完成 in the --previous period and 序时推进 or 滞后 now says so in its paragraph (汇总表
    says '上期：已完成'); a task whose status did not change, or a report without --previous, does not."""
    by_status = {s: [t for t in demo_assessment.tasks if t.status is s] for s in (Status.ON_TRACK, Status.BEHIND)}
    on_track, behind = by_status[Status.ON_TRACK][0], by_status[Status.BEHIND][0]
    done = next(t for t in demo_assessment.tasks if t.status is Status.DONE)
    prev = snapshot(demo_assessment)
    prev["period"], prev["period_label"] = "2024Q1", "2024年一季度"
    prev["tasks"][str(on_track.task.number)] = prev["tasks"][str(behind.task.number)] = "已完成"
    body = _markup(dataclasses.replace(demo_assessment, previous=prev))
    lines = [line for line in body.splitlines() if line.startswith("【")]
    assert prev["tasks"][str(done.task.number)] == "已完成"  # done in both periods: nothing said
    assert sum("上期为已完成" in line for line in lines) == 2
    assert any(line.startswith("【序时推进】") and "。上期为已完成，本期转为序时推进。" in line for line in lines)
    [line] = [x for x in lines if x.startswith("【滞后】") and "上期为已完成" in x]
    assert line.startswith(f"【滞后】责任部门：{behind.task.departments_text}。上期为已完成，本期转为滞后。")
    assert "上期为已完成" not in _markup(demo_assessment)


def test_an_each_indicator_with_a_rejected_figure_names_the_unit(plan, demo_collected):
    """H3 is judged unit by unit: a unit whose figure was typed but not taken in makes it 数据有误,
    and the report (and 汇总表's 说明) says which unit, not only how many met the target."""
    from pdreport.findings import Code, Finding

    def h3(s):  # the others all meet the target: the rejected figure is what makes it 数据有误
        figures = [dataclasses.replace(f, value=95.0) if f.indicator == "H3" else f for f in s.figures]
        return dataclasses.replace(s, figures=[f for f in figures if f.indicator != "H3" or s.respondent != "jrj"])

    subs = [h3(s) for s in demo_collected.submissions.values()]
    rejected = Finding(Code.WRONG_TYPE, "“合理值比例”无法读成数字", file=demo_collected.submissions["jrj"].file,
                       respondent="jrj", field="ind.H3.value")  # fmt: skip
    a = assess(plan, plan.period("2024H1"), subs, [*demo_collected.findings, rejected])
    assert a.indicators["H3"].status is Status.INVALID
    assert "区金融局填报数据有误" in a.indicators["H3"].reason
    [row] = [h for h in build_context(a, DATE)["headline"] if h["indicator"] == a.indicators["H3"].indicator.name]
    assert row["status"] == "数据有误" and "区金融局填报数据有误" in row["reason"]
    assert "区金融局填报数据有误" in _markup(a)


def test_next_steps_name_the_returns_sent_back_and_their_deadline(sample_assessment):
    """下一步工作 asks the units whose returns go back (退回修改) to correct them by the date the
    copies give, numbered on after 催报; with no return sent back the item is not there."""
    doc = docx.Document(io.BytesIO(render_report(sample_assessment, report_date=DATE, with_charts=False)))
    body = texts(doc)
    steps = body[body.index("（二）下一步工作") + 1 :]
    assert steps[0].startswith("一是抓紧催报。请东明路街道")
    names = [c.respondent.name for c in sample_assessment.respondents if c.state == "需退回修改"]
    assert names == ["区科经委", "康桥镇", "航头镇"]
    later = DATE + dt.timedelta(days=7)
    assert steps[1] == (f"二是督促更正。请{'、'.join(names)}按退回修改表所列问题逐项更正，"
                        f"于{later.year}年{later.month}月{later.day}日前重新报送。")  # fmt: skip
    assert steps[2].startswith("三是聚焦滞后事项。")
    asked = docx.Document(io.BytesIO(render_report(sample_assessment, report_date=DATE, with_charts=False,
                                                   resubmit_by=dt.date(2024, 8, 1))))  # fmt: skip
    assert any("于2024年8月1日前重新报送" in t for t in texts(asked))


def test_progress_written_over_several_lines_reads_as_one_paragraph():
    from pdreport.report.context import safe_line

    typed = "一、垃圾分类：\n1. 开展宣传10场；\n\n2. 检查小区32个。\n二、塑料治理\n完成商户检查。"
    assert safe_line(typed) == "一、垃圾分类：1. 开展宣传10场；2. 检查小区32个。二、塑料治理；完成商户检查。"
    assert safe_line("甲\r\n 乙") == "甲；乙"


def test_without_a_date_a_late_return_dates_the_report_and_the_resubmission(sample_assessment):
    """A return filled in after the deadline: the report is dated by it (“截至2024年7月25日” counts
    it), and the 重新报送期限 is a week after, never before the return was filled in."""
    from pdreport.collect import default_report_date

    late = next(c for c in sample_assessment.respondents if c.submission is not None)
    card = dataclasses.replace(late, submission=dataclasses.replace(late.submission, filled_on=dt.date(2024, 7, 25)))
    a = dataclasses.replace(sample_assessment, respondents=tuple(card if c is late else c for c in sample_assessment.respondents))
    assert default_report_date(a.period, [c.submission for c in a.submitted]) == dt.date(2024, 7, 25)
    context = build_context(a)
    assert (context["date"], context["resubmit_by"]) == ("2024年7月25日", "2024年8月1日")
    doc = docx.Document(io.BytesIO(render_report(a, with_charts=False)))
    assert "截至2024年7月25日，应报送单位58个" in "\n".join(texts(doc))
    # on time (the latest 填报日期 before the deadline) or a date given: as before
    assert build_context(sample_assessment)["date"] == "2024年7月15日"
    assert build_context(a, dt.date(2024, 7, 20))["date"] == "2024年7月20日"


def test_why_a_figure_is_invalid_quotes_words_briefly_and_never_a_stored_number():
    from types import SimpleNamespace

    from pdreport.findings import Code, Finding
    from pdreport.report.context import _invalid_why

    def why(value, code=Code.WRONG_TYPE):
        a = SimpleNamespace(findings=[Finding(code, "…", respondent="kjw", field="ind.T07-1.value", value=value)])
        return _invalid_why(a, {"kjw": "区科经委"}, "kjw", "ind.T07-1.")

    assert why("约6家") == "区科经委填报“约6家”，格式不对，已退回修改"
    assert why("约6家，其中包括某某企业和某某某企业") == "区科经委填报“约6家，其中包括某某企业……”，格式不对，已退回修改"
    # what the reader stored, not what was typed (50% reads 0.5, 12 in a date cell 1900-01-12)
    assert why("0.5") == why("1900-01-12 00:00:00") == "区科经委：格式不对，已退回修改"
    assert why("", Code.REQUIRED_MISSING) == "区科经委：缺少必填项，已退回修改"
