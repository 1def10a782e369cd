"""Intake outputs: 问题清单, feedback copies, data table; the CLI. (LibreOffice-saved returns:
test_intake_libreoffice.py.)"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import subprocess
import sys

import openpyxl
import pytest
from helpers import assert_a4_one_page_wide, assert_rows_fit, replace_in_zip

from pdreport.collect import REJECTED, FileOutcome, collect
from pdreport.datatable import render_csv, render_xlsx
from pdreport.demo import fill_template
from pdreport.feedback import (
    FEEDBACK_DIR,
    NOTE_COLUMNS,
    NOTE_HEADER_ROW,
    NOTE_SHEET,
    write_feedback,
)
from pdreport.findings import Code, Finding
from pdreport.plan.model import chinese_date
from pdreport.problems import render_problem_list
from pdreport.template import build_layout
from pdreport.template.formats import INPUT_FILL
from pdreport.template.layout import TASKS


@pytest.fixture()
def folder(plan, demo, tmp_path):
    d = tmp_path / "回收"
    d.mkdir()
    bad = dict(demo["jjw"].values, **{"ind.T18-3.value": "=HYPERLINK(\"http://x\")", "ind.T17-1.value": None})
    (d / "jjw.xlsx").write_bytes(fill_template(demo["jjw"], values=bad))
    (d / "kq.xlsx").write_bytes(fill_template(demo["kangqiao_zhen"]))
    (d / "hm.xlsx").write_bytes(fill_template(demo["huamu_jd"]))
    return d


def test_problem_list_and_feedback(plan, folder, tmp_path):
    col = collect(plan, folder, "2024H1")
    data = render_problem_list(col)
    xl = openpyxl.load_workbook(io.BytesIO(data))
    ws = xl["问题清单"]
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[0] is not None]
    assert len(rows) == len(col.findings)
    injected = next(r for r in rows if r[7] == "E202")
    assert injected[6].startswith("=HYPERLINK")  # kept as text
    assert ws.cell(row=rows.index(injected) + 4, column=7).data_type == "s"
    assert xl["催报名单"].max_row == 3 + len(col.missing)
    assert xl["催报名单"]["A2"].value == f"共 {len(col.missing)} 个单位未报送（或报送的文件无法采用），请及时催报。"

    out = tmp_path / "out"
    (copy,) = write_feedback(col, out)
    assert copy.parent.name == FEEDBACK_DIR and copy.name == "区建交委_退回修改.xlsx"
    fb = openpyxl.load_workbook(copy)
    assert fb.sheetnames[0] == NOTE_SHEET
    lay = build_layout(plan, plan.find_respondent("区建交委"), col.period)
    cell = fb[lay.field("ind.T17-1.value").sheet][lay.field("ind.T17-1.value").cell]
    assert cell.comment is not None and "E201" in cell.comment.text
    assert cell.fill.fgColor.rgb.endswith("FF8080")


def test_feedback_note_sheet(plan, folder, tmp_path):
    # the first sheet a unit sees says who, which period, what to do and by when, and lists every
    # problem in a bordered, wrapped table that prints on A4 one page wide
    col = collect(plan, folder, "2024H1")
    (copy,) = write_feedback(col, tmp_path / "out")
    fb = openpyxl.load_workbook(copy)
    ws = fb[NOTE_SHEET]
    assert fb.active.title == NOTE_SHEET
    assert not any(s.sheet_view.tabSelected for s in fb.worksheets[1:])
    texts = [ws.cell(r, 1).value for r in range(1, NOTE_HEADER_ROW)]
    assert texts[0] == "区建交委2024年上半年填报表退回修改说明"
    assert ws["A1"].font.size == 16 and ws["A1"].font.bold
    assert "填报单位：区建交委" in texts[1] and "2024年1月1日至2024年6月30日" in texts[1]
    assert "jjw.xlsx" in texts[2]
    due = chinese_date(col.period.deadline + dt.timedelta(days=7))  # (by default, a week after the deadline)
    assert any(f"重新报送期限：{due}。" in t and "于该日期前重新报送" in t for t in texts)
    assert any(f"于该日期前重新报送{plan.contact.office}。" in t for t in texts)  # (the plan gives no person)
    assert [c.value for c in ws[NOTE_HEADER_ROW]] == [t for t, _ in NOTE_COLUMNS]
    findings = col.findings_for(col.submissions["jjw"].file)
    body = list(ws.iter_rows(min_row=NOTE_HEADER_ROW + 1, values_only=True))
    assert [r[0] for r in body] == list(range(1, len(findings) + 1))
    assert [r[4] for r in body] == [f.message for f in findings]
    for row in ws.iter_rows(min_row=NOTE_HEADER_ROW, max_row=ws.max_row):
        for cell in row:
            assert cell.border.left.style == "thin" and cell.border.bottom.style == "thin"
            assert cell.alignment.wrap_text
            if cell.row > NOTE_HEADER_ROW and cell.column > 1:
                assert cell.data_type == "s"
    assert_a4_one_page_wide(ws, "portrait", header_row=NOTE_HEADER_ROW, min_scale=0.95)
    assert_rows_fit(ws, 2, NOTE_HEADER_ROW - 1, font_size=11)
    assert_rows_fit(ws, NOTE_HEADER_ROW)


def test_feedback_of_a_feedback_copy_has_one_note(plan, folder, tmp_path):
    # a unit returns its 退回修改 copy still with an error: the new copy replaces the old note
    col = collect(plan, folder, "2024H1")
    (copy,) = write_feedback(col, tmp_path / "out")
    again = tmp_path / "again"
    again.mkdir()
    (again / "jjw.xlsx").write_bytes(copy.read_bytes())
    col2 = collect(plan, again, "2024H1")
    assert col2.submissions["jjw"].has_errors
    (copy2,) = write_feedback(col2, tmp_path / "out2")
    fb = openpyxl.load_workbook(copy2)
    assert fb.sheetnames.count(NOTE_SHEET) == 1 and fb.sheetnames[0] == NOTE_SHEET
    assert not [n for n in fb.sheetnames if n.startswith(NOTE_SHEET) and n != NOTE_SHEET]


def test_feedback_of_a_corrected_copy_marks_only_this_rounds_problems(plan, demo, folder, tmp_path):
    # the unit fills the missing cell of its copy, leaves the text in the number cell, comments a
    # cell itself and answers in a mark's comment: the next copy marks only the cell still wrong,
    # once, gives the filled cell its template fill back and keeps what the unit wrote
    col = collect(plan, folder, "2024H1")
    (copy,) = write_feedback(col, tmp_path / "out")
    lay = build_layout(plan, plan.find_respondent("区建交委"), col.period)
    fixed, wrong, other = (lay.field(k) for k in ("ind.T17-1.value", "ind.T18-3.value", "header.filler"))
    fb = openpyxl.load_workbook(copy)
    assert fb[fixed.sheet][fixed.cell].comment.author == "pdreport"
    fb[fixed.sheet][fixed.cell] = demo["jjw"].values["ind.T17-1.value"]
    mark = fb[wrong.sheet][wrong.cell].comment
    fb[wrong.sheet][wrong.cell].comment = openpyxl.comments.Comment(mark.text + "\n已核实，按统计口径填写", mark.author)
    fb[other.sheet][other.cell].comment = openpyxl.comments.Comment("联系人已变更", "区建交委")
    again = tmp_path / "again"
    again.mkdir()
    fb.save(again / "jjw_退回修改.xlsx")
    col2 = collect(plan, again, "2024H1")
    assert [(f.sheet, f.cell) for f in col2.findings_for("jjw_退回修改.xlsx")] == [(wrong.sheet, wrong.cell)]

    (copy2,) = write_feedback(col2, tmp_path / "out2")
    fb2 = openpyxl.load_workbook(copy2)
    cell = fb2[fixed.sheet][fixed.cell]
    assert cell.comment is None and cell.fill.fgColor.rgb.endswith(INPUT_FILL.lstrip("#"))
    cell = fb2[wrong.sheet][wrong.cell]
    assert cell.fill.fgColor.rgb.endswith(_RED)
    assert cell.comment.text.count("[E202]") == 1 and "已核实，按统计口径填写" in cell.comment.text
    assert fb2[other.sheet][other.cell].comment.text == "联系人已变更"
    marked = [(ws.title, c.coordinate) for ws in fb2.worksheets[1:] for row in ws.iter_rows() for c in row
              if c.comment is not None or c.fill.fgColor.rgb in ("00" + _RED, "FF" + _RED)]  # fmt: skip
    assert sorted(marked) == sorted([(wrong.sheet, wrong.cell), (other.sheet, other.cell)])


def test_marks_saved_without_their_author_are_still_taken_off(plan, demo, folder, tmp_path):
    """LibreOffice saves a comment without its author: the next copy still knows pdreport's own
    lines by their "[E202] …" / "处理：…" form, so a cell put right loses its old comment and a
    cell still wrong has this round's comment once, not twice."""
    col = collect(plan, folder, "2024H1")
    (copy,) = write_feedback(col, tmp_path / "out")
    lay = build_layout(plan, plan.find_respondent("区建交委"), col.period)
    fixed, wrong = (lay.field(k) for k in ("ind.T17-1.value", "ind.T18-3.value"))
    fb = openpyxl.load_workbook(copy)
    for ws in fb.worksheets:
        for c in list(ws._cells.values()):
            if c.comment is not None:
                c.comment = openpyxl.comments.Comment(c.comment.text, "")  # (as LibreOffice saves it)
    fb[fixed.sheet][fixed.cell] = demo["jjw"].values["ind.T17-1.value"]
    again = tmp_path / "again"
    again.mkdir()
    fb.save(again / "jjw_退回修改.xlsx")
    (copy2,) = write_feedback(collect(plan, again, "2024H1"), tmp_path / "out2")
    fb2 = openpyxl.load_workbook(copy2)
    assert fb2[fixed.sheet][fixed.cell].comment is None
    assert fb2[wrong.sheet][wrong.cell].comment.text.count("[E202]") == 1


def test_a_problem_in_a_merged_cell_is_marked_where_it_shows(plan, demo, tmp_path):
    """The office merged E5:E6 (two tasks' statuses): E6 is covered and openpyxl cannot give it a
    comment, which had made the copy a rebuilt blank template (the office's own comments and
    sheets lost). The mark goes on E5, which shows, and the copy is the office's workbook."""
    values = dict(demo["xinchang_zhen"].values)
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["xinchang_zhen"], values=values)))
    ws = wb[TASKS]
    ws["E6"] = None
    ws.merge_cells("E5:E6")
    ws.merge_cells("B7:B8")  # (a task's name merged into the one above: E208)
    wb.create_sheet("补充说明")["A1"] = "本镇补充材料"
    d = tmp_path / "回收"
    d.mkdir()
    wb.save(d / "新场镇.xlsx")
    col = collect(plan, d, "2024H1")
    assert any(f.cell == "E6" and f.is_error for f in col.findings)
    (copy,) = write_feedback(col, tmp_path / "out")
    fb = openpyxl.load_workbook(copy)
    assert "补充说明" in fb.sheetnames and "E5:E6" in {str(r) for r in fb[TASKS].merged_cells.ranges}
    assert "[E201]" in fb[TASKS]["E5"].comment.text and fb[TASKS]["E5"].fill.fgColor.rgb.endswith(_RED)
    # a task's name merged away: its finding (请取消合并 B7:B8) is on the merged cell that shows
    assert "[E208]" in fb[TASKS]["B7"].comment.text and "B7:B8" in fb[TASKS]["B7"].comment.text


def test_feedback_copy_rows_show_long_text(plan, demo, tmp_path):
    # 主要进展 takes 2,000 characters: the copy's row grows to show the text (at most Excel's
    # 409 pt); a row with a few lines keeps the height the template gave it
    from pdreport.template.fit import MAX_ROW_HEIGHT, row_height, wrapped_lines

    lay = demo["jjw"].layout
    long, medium, short = (lay.field(f"task.{n}.progress") for n in (1, 5, 6))
    values = dict(demo["jjw"].values, **{"ind.T17-1.value": None,  # (an error: a copy is made)
                                         long.key: "本期完成节能诊断和改造项目推进工作。" * 83,  # 1,494 characters
                                         medium.key: "组织召开专题会议，落实责任分工，形成阶段成果。" * 8})  # fmt: skip
    d = tmp_path / "回收"
    d.mkdir()
    (d / "jjw.xlsx").write_bytes(fill_template(demo["jjw"], values=values))
    sent = openpyxl.load_workbook(d / "jjw.xlsx")[TASKS]
    (copy,) = write_feedback(collect(plan, d, "2024H1"), tmp_path / "out")
    ws = openpyxl.load_workbook(copy)[TASKS]
    width = ws.column_dimensions[long.cell[0]].width

    def row(field) -> int:
        return int(field.cell[1:])

    assert ws.row_dimensions[row(long)].height == MAX_ROW_HEIGHT
    assert sent.row_dimensions[row(long)].height < 100  # (the template's: about five lines)
    need = row_height(wrapped_lines(values[medium.key], width, 11), 11)
    assert sent.row_dimensions[row(medium)].height < need <= ws.row_dimensions[row(medium)].height
    assert ws.row_dimensions[row(short)].height == sent.row_dimensions[row(short)].height


def test_problem_list_per_respondent(plan, folder):
    # 按单位统计 and 催报名单 group the findings by respondent once; compare with a plain scan
    col = collect(plan, folder, "2024H1")
    late = col.missing[0]  # a unit whose only return could not be used
    col = dataclasses.replace(
        col,
        outcomes=[*col.outcomes, FileOutcome("迟交.xlsx", REJECTED, late)],
        findings=[*col.findings, Finding(Code.CORRUPT, "文件损坏", file="迟交.xlsx", respondent=late)],
    )
    xl = openpyxl.load_workbook(io.BytesIO(render_problem_list(col)))
    by = {r[0]: r for r in xl["按单位统计"].iter_rows(min_row=4, values_only=True)}
    assert len(by) == len(plan.respondents)  # (every finding here names its unit: no 单位不明 row)
    for resp in plan.respondents:
        mine = [x for x in col.findings if x.respondent == resp.id]
        errors = sum(x.is_error for x in mine)
        assert by[resp.name][4:] == (errors, len(mine) - errors)
    assert by[plan.respondent("jjw").name][4] > 0
    notes = {r[1]: r[3] for r in xl["催报名单"].iter_rows(min_row=4, values_only=True)}
    assert len(notes) == len(col.missing)
    assert notes[plan.respondent(late).name] == "已收到文件但无法采用：迟交.xlsx"
    assert notes[plan.respondent(col.missing[1]).name] == "未收到填报表"


def test_problem_list_prints(plan, folder):
    # every sheet: a title, A4 one page wide at a legible scale, the header row on every page,
    # rows tall enough for their wrapped text
    col = collect(plan, folder, "2024H1")
    xl = openpyxl.load_workbook(io.BytesIO(render_problem_list(col)))
    assert xl.sheetnames == ["问题清单", "按单位统计", "催报名单"]
    for name, orientation in (("问题清单", "landscape"), ("按单位统计", "portrait"), ("催报名单", "portrait")):
        ws = xl[name]
        assert col.period.label in ws["A1"].value and "A1" in {str(m).split(":")[0] for m in ws.merged_cells.ranges}
        assert_a4_one_page_wide(ws, orientation, header_row=3)
        assert_rows_fit(ws, 2)
        assert all(ws.cell(3, c).value for c in range(1, ws.max_column + 1))  # every column headed
    assert "截止" in xl["催报名单"]["A1"].value and xl["催报名单"]["A1"].value.endswith("日）")
    # the long texts wrap onto several lines, and the rows are set for them
    ws = xl["问题清单"]
    assert max(ws.row_dimensions[r].height or 0 for r in range(4, ws.max_row + 1)) > 40


def test_data_table(plan, folder, demo):
    col = collect(plan, folder, "2024H1")
    rows = list(csv.reader(io.StringIO(render_csv(col).decode("utf-8-sig"))))
    figures = [r for r in rows[1:] if r[2] == "指标" and r[0] == "kangqiao_zhen"]
    assert [float(r[5]) for r in figures] == [demo["kangqiao_zhen"].values["ind.T05-1.value"]]
    texts = [r for r in rows if r[6].startswith(("=", "+", "-", "@"))]
    assert texts == []  # defused for spreadsheets opening the CSV
    xl = openpyxl.load_workbook(io.BytesIO(render_xlsx(col)))
    assert xl.active.max_row == len(rows)
    ws = xl.active  # printable: A4 landscape, every column on one page, the header on each page
    assert (ws.page_setup.orientation, ws.page_setup.paperSize, ws.page_setup.fitToHeight) == ("landscape", 9, 0)
    assert ws.page_setup.fitToWidth in (None, 1)  # (1 is the default, left out)
    assert ws.oddFooter.right.text == "&P / &N"  # (ASCII: a Chinese one doubles the sheet XML's memory)
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows.replace("$", "") == "1:1"
    # every row names its source cell, the annex figures included (where the template puts them)
    lay = build_layout(plan, plan.respondent("kangqiao_zhen"), col.period)
    annex = {r[3]: r for r in rows[1:] if r[2] == "附件指标" and r[0] == "kangqiao_zhen"}
    assert len(annex) == 4
    for key, row in annex.items():
        field = lay.field(f"annex.{key}")
        assert (row[8], row[9]) == (field.sheet, field.cell)
    assert all(r[9] for r in rows[1:] if r[2] in ("指标", "附件指标", "任务", "里程碑"))


def _run(*args):
    return subprocess.run([sys.executable, "-m", "pdreport", *args], capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip


def test_cli_intake_and_check(plan, folder, tmp_path, demo):
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    out = tmp_path / "结果"
    r = _run("intake", str(folder), "--period", "2024H1", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "收到文件         3" in r.stdout and "未报送单位      55 / 58" in r.stdout
    for name in ("问题清单.xlsx", "数据明细.csv", "数据明细.xlsx", "退回修改/区建交委_退回修改.xlsx"):
        assert (out / name).exists(), name
    assert before == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert "Traceback" not in r.stderr

    clean = _run("check", str(folder / "kq.xlsx"))
    assert clean.returncode == 0 and "可以报送" in clean.stdout
    bad = _run("check", str(folder / "jjw.xlsx"))
    assert bad.returncode == 2 and "E201" in bad.stdout and "E202" in bad.stdout
    warn = tmp_path / "warn.xlsx"
    data = fill_template(demo["huamu_jd"], values=dict(demo["huamu_jd"].values,
                                                       **{"task.21.progress": "进展CTRL顺利"}))
    warn.write_bytes(replace_in_zip(data, "CTRL", "_x0001_"))
    w = _run("check", str(warn))
    assert w.returncode == 1 and "W211" in w.stdout
    missing = _run("check", str(tmp_path / "nope.xlsx"))
    assert missing.returncode == 2 and "找不到文件" in missing.stderr


def test_feedback_checks_every_part_before_openpyxl_opens_it(plan, folder):
    """Intake checks the parts calamine reads; openpyxl reads every part and builds trees, so the
    feedback copy is made from the office's own file only after the openpyxl check, and rebuilt
    from the template when that check fails (here: docProps nested 200 deep)."""
    import zipfile

    from pdreport.feedback import build_copy
    from pdreport.feedback_copy import _load_own

    assert _load_own(collect(plan, folder, "2024H1").raws["jjw.xlsx"]) is not None
    src = zipfile.ZipFile(io.BytesIO((folder / "jjw.xlsx").read_bytes()))
    deep = b'<?xml version="1.0"?><Properties>' + b"<a>" * 200 + b"</a>" * 200 + b"</Properties>"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, deep if info.filename == "docProps/app.xml" else src.read(info))
    (folder / "jjw.xlsx").write_bytes(buf.getvalue())
    col = collect(plan, folder, "2024H1")
    assert col.submissions[plan.find_respondent("区建交委").id].has_errors  # taken in as before
    assert _load_own(col.raws["jjw.xlsx"]) is None
    copy = openpyxl.load_workbook(io.BytesIO(build_copy(col, "jjw.xlsx", col.findings_for("jjw.xlsx"))))
    assert copy.sheetnames[0] == NOTE_SHEET
    field = build_layout(plan, plan.find_respondent("区建交委"), col.period).field("ind.T17-1.value")
    assert "E201" in copy[field.sheet][field.cell].comment.text


# -- edited labels (E208) in feedback copies ---------------------------------------------------

_RED = "FF8080"


def _relabelled(demo, tmp_path, rid: str, sheet: str, text: str, new, extra=None):
    """A folder with ``rid``'s return whose label ``text`` on ``sheet`` now reads ``new``; ``extra``
    edits the workbook further. Returns the folder, the label and the file name."""
    filled = demo[rid]
    label = next(lb for lb in filled.layout.labels if lb.sheet == sheet and lb.text == text)
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    wb[sheet][label.cell] = new
    if extra:
        extra(wb)
    d = tmp_path / "回收"
    d.mkdir(exist_ok=True)
    wb.save(d / f"{rid}.xlsx")
    return d, label, f"{rid}.xlsx"


def _note_rows(fb):
    return list(fb[NOTE_SHEET].iter_rows(min_row=NOTE_HEADER_ROW + 1, values_only=True))


def test_feedback_restores_an_edited_item_name_and_marks_its_row(plan, demo, tmp_path):
    """康桥镇 rewrote an item's name on a protected sheet (the sample's E208): the clerk cannot edit
    the locked cell, so the copy puts the template's name back, says so, and marks the row's
    inputs (not taken in) for the clerk to confirm; filled in and returned, the row is taken in."""
    folder, label, name = _relabelled(demo, tmp_path, "kangqiao_zhen", "附件指标", "规上工业综合能耗（吨标准煤）",
                                      "规上工业能耗（万吨）")  # fmt: skip
    col = collect(plan, folder, "2024H1")
    (e208,) = [f for f in col.findings if f.code is Code.LABEL_CHANGED]
    assert e208.hint.startswith("请把此处改回下发时的“规上工业综合能耗（吨标准煤）”（退回修改表中会改回并标出），核对本行数据后重新报送")
    (copy,) = write_feedback(col, tmp_path / "out")
    fb = openpyxl.load_workbook(copy)
    ws = fb["附件指标"]
    cell = ws[label.cell]
    assert cell.value == "规上工业综合能耗（吨标准煤）" and cell.data_type == "s" and cell.protection.locked
    assert cell.fill.fgColor.rgb.endswith(_RED)
    assert "项目名称已恢复为下发时的“规上工业综合能耗（吨标准煤）”" in cell.comment.text
    assert "规上工业能耗（万吨）" in cell.comment.text and "重新报送" in cell.comment.text
    row = int(label.cell[1:])
    inputs = [f.cell for f in demo["kangqiao_zhen"].layout.fields
              if f.sheet == "附件指标" and int(f.cell[1:]) == row]  # fmt: skip
    assert inputs == ["C6", "D6"]
    for a1 in inputs:
        assert ws[a1].fill.fgColor.rgb.endswith(_RED) and not ws[a1].protection.locked
        assert "E208" in ws[a1].comment.text and label.cell in ws[a1].comment.text
        assert ws[a1].value == demo["kangqiao_zhen"].values[next(
            f.key for f in demo["kangqiao_zhen"].layout.fields if f.sheet == "附件指标" and f.cell == a1)]
    other = ws[f"C{row + 1}"]  # the next row was taken in: left as it was
    assert other.comment is None and not other.fill.fgColor.rgb.endswith(_RED)
    (note,) = _note_rows(fb)
    assert note[1:3] == ("附件指标", label.cell)
    assert "已恢复为下发时的“规上工业综合能耗（吨标准煤）”" in note[5] and "C6、D6" in note[5]
    assert "重新填写" not in note[5] and "被改为“规上工业能耗（万吨）”" in note[4]

    # the clerk confirms (here: corrects) the marked values and sends the copy back
    ws["C6"], ws["D6"] = 353000.0, 347000.0
    again = tmp_path / "again"
    again.mkdir()
    fb.save(again / name)
    col2 = collect(plan, again, "2024H1")
    assert not [f for f in col2.findings if f.code is Code.LABEL_CHANGED]
    sub = col2.submissions["kangqiao_zhen"]
    assert not sub.has_errors and not write_feedback(col2, tmp_path / "out2")
    assert (sub.annex.energy_base, sub.annex.energy_current) == (353000.0, 347000.0)


def test_feedback_restores_an_edited_column_title_and_marks_the_column(plan, demo, tmp_path):
    """填报值 renamed 填报值（%）: the whole column was dropped; the copy restores the title and
    marks every input of the column."""
    folder, label, _ = _relabelled(demo, tmp_path, "jjw", "指标", "填报值", "填报值（%）")
    col = collect(plan, folder, "2024H1")
    (copy,) = write_feedback(col, tmp_path / "out")
    fb = openpyxl.load_workbook(copy)
    ws = fb["指标"]
    assert ws[label.cell].value == "填报值"
    assert "表头已恢复为下发时的“填报值”" in ws[label.cell].comment.text
    column = [f.cell for f in demo["jjw"].layout.fields if f.sheet == "指标" and f.cell[0] == label.cell[0]]
    assert len(column) > 4
    for a1 in column:
        assert ws[a1].fill.fgColor.rgb.endswith(_RED) and "E208" in ws[a1].comment.text
    (note,) = [r for r in _note_rows(fb) if r[2] == label.cell]
    assert f"{column[0]}～{column[-1]}共 {len(column)} 个单元格" in note[5] and "本列" in note[5]


def test_feedback_restores_labels_in_a_rebuilt_copy_too(plan, demo, tmp_path):
    """A copy rebuilt from the template (the office's file cannot be opened with openpyxl) already
    shows the template's labels: it says so and marks the row the same way."""
    import zipfile

    folder, label, name = _relabelled(demo, tmp_path, "kangqiao_zhen", "附件指标", "规上工业综合能耗（吨标准煤）",
                                      "规上工业能耗（万吨）")  # fmt: skip
    src = zipfile.ZipFile(io.BytesIO((folder / name).read_bytes()))
    deep = b'<?xml version="1.0"?><Properties>' + b"<a>" * 200 + b"</a>" * 200 + b"</Properties>"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, deep if info.filename == "docProps/app.xml" else src.read(info))
    (folder / name).write_bytes(buf.getvalue())
    col = collect(plan, folder, "2024H1")
    from pdreport.feedback_copy import _load_own

    assert _load_own(col.raws[name]) is None
    (copy,) = write_feedback(col, tmp_path / "out")
    ws = openpyxl.load_workbook(copy)["附件指标"]
    assert ws[label.cell].value == "规上工业综合能耗（吨标准煤）"
    assert "已恢复为下发时的" in ws[label.cell].comment.text
    assert all(ws[a1].fill.fgColor.rgb.endswith(_RED) for a1 in ("C6", "D6"))


def test_feedback_keeps_labels_where_rows_moved(plan, demo, tmp_path):
    """A row inserted in 指标 moves every later row: the labels no longer stand by their values, so
    restoring them would mislabel the data. The copy keeps the office's sheet and the advice to
    refill the template, and marks only the findings' cells."""
    filled = demo["jjw"]
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    wb["指标"].insert_rows(6)
    d = tmp_path / "回收"
    d.mkdir()
    wb.save(d / "jjw.xlsx")
    col = collect(plan, d, "2024H1")
    moved = [f for f in col.findings if f.code is Code.LABEL_CHANGED]
    assert len(moved) > 2
    (copy,) = write_feedback(col, tmp_path / "out")
    fb = openpyxl.load_workbook(copy)
    ws = fb["指标"]
    for f in moved:
        assert ws[f.cell].value == (f.value or None)  # as the office left it
        assert "已恢复" not in ws[f.cell].comment.text
    assert [r[5] for r in _note_rows(fb) if r[2] in {f.cell for f in moved}] == [f.hint for f in moved]
    flagged = {f.cell for f in col.findings if f.sheet == "指标"}
    assert not [c.coordinate for row in ws.iter_rows() for c in row
                if c.comment is not None and c.coordinate not in flagged]  # fmt: skip


def test_feedback_keeps_labels_where_columns_moved(plan, demo, tmp_path):
    """A column inserted in 重点任务: each title now stands over its neighbour's column (it reads as
    another label of the sheet), so nothing is restored there either."""
    folder, _label, _ = _relabelled(demo, tmp_path, "jjw", "指标", "填报值", "填报值",
                                    extra=lambda wb: wb[TASKS].insert_cols(5))  # fmt: skip
    col = collect(plan, folder, "2024H1")
    moved = [f for f in col.findings if f.code is Code.LABEL_CHANGED]
    assert moved and all(f.sheet == TASKS for f in moved)
    (copy,) = write_feedback(col, tmp_path / "out")
    ws = openpyxl.load_workbook(copy)[TASKS]
    assert all("已恢复" not in ws[f.cell].comment.text for f in moved)


def test_nobody_to_chase_is_said_so(plan, demo_returns):
    col = collect(plan, demo_returns[0], "2024H1")
    assert col.missing == []
    sheet = openpyxl.load_workbook(io.BytesIO(render_problem_list(col)))["催报名单"]
    assert sheet["A2"].value == "各单位均已报送，本期无需催报。"


def test_the_copy_of_a_return_saved_as_a_template_is_a_workbook(plan, folder, tmp_path):
    """A return saved as .xltx (typed a template inside): its copy is named .xlsx and must be typed
    a workbook too, or Excel refuses to open it (“文件格式或文件扩展名无效”)."""
    src = folder / "jjw.xlsx"
    xltx = folder / "jjw.xltx"
    xltx.write_bytes(replace_in_zip(src.read_bytes(), "spreadsheetml.sheet.main+xml", "spreadsheetml.template.main+xml"))
    src.unlink()
    col = collect(plan, folder, "2024H1")
    (copy,) = write_feedback(col, tmp_path / "out")
    assert copy.suffix == ".xlsx"
    import zipfile

    types = zipfile.ZipFile(copy).read("[Content_Types].xml")
    assert b"spreadsheetml.sheet.main+xml" in types and b"template.main" not in types
