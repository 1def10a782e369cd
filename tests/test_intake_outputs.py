"""Intake outputs: 问题清单, feedback copies, data table; the CLI. (LibreOffice-saved returns:
test_intake_libreoffice.py.)"""

from __future__ import annotations

import csv
import dataclasses
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
    assert any(f"于{chinese_date(col.period.deadline)}前重新报送" in t for t in texts)
    assert any(plan.contact.office in t for t in texts)
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

    from pdreport.feedback import _load_own, build_copy

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
