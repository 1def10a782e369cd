"""Intake + validation over real workbook files built in the test (filled with openpyxl)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import openpyxl
import pytest
from helpers import needs_soffice, soffice_convert

from pdreport.collect import (
    ACCEPTED,
    BLANK,
    LISTING,
    OTHER_PERIOD,
    REJECTED,
    SUPERSEDED,
    check_one,
    collect,
)
from pdreport.demo import STAMP, fill_template
from pdreport.findings import Code
from pdreport.plan.load import parse_plan
from pdreport.template import build_layout, render_workbook
from pdreport.template.layout import INDICATORS, META, TASKS

NAMES = ["区建交委", "康桥镇", "金桥镇", "花木街道", "区发改委"]


def rid(plan, name):
    return plan.find_respondent(name).id


def write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_bytes(data)
    return p


def returns(plan, demo, folder, names=NAMES, change=None):
    """Write filled returns; ``change`` maps respondent name → {field key: value} overrides."""
    paths = {}
    for name in names:
        filled = demo[rid(plan, name)]
        values = dict(filled.values)
        values.update((change or {}).get(name, {}))
        paths[name] = write(folder, f"{name}.xlsx", fill_template(filled, values=values))
    return paths


def codes_at(col, code):
    return [f for f in col.findings if f.code is code]


def test_clean_returns_are_taken_in_exactly(plan, h1, demo, tmp_path):
    returns(plan, demo, tmp_path)
    col = collect(plan, tmp_path, "2024H1")
    assert {o.status for o in col.outcomes} == {ACCEPTED}
    assert [f for f in col.findings if f.code is not Code.MISSING_SUBMISSION] == []
    assert len(col.missing) == 58 - len(NAMES)
    for name in NAMES:
        r = rid(plan, name)
        sub, typed = col.submissions[r], demo[r].values
        for fig in sub.figures:
            assert fig.value == pytest.approx(typed[f"ind.{fig.indicator}.value"])
        for t in sub.tasks:
            assert t.status == typed[f"task.{t.task}.status"]
            assert t.progress == typed[f"task.{t.task}.progress"]
        assert sub.filler == typed["header.filler"]
        assert sub.filled_on == typed["header.date"].date()
    kq = col.submissions[rid(plan, "康桥镇")].annex
    assert kq.energy_base == demo[rid(plan, "康桥镇")].values["annex.energy_base"]


def test_value_problems_are_located(plan, h1, demo, tmp_path):
    change = {"区建交委": {
        "ind.T17-1.value": None,                # E201 required
        "ind.T18-3.value": "约1300个",           # E202 text in a number cell
        "ind.T12-1.value": -3,                  # E203 below 0
        "ind.T17-2.value": "92.5%",             # W204 percent sign
        "ind.H6.value": 0.011,                  # W220 a rate of 1% typed as a fraction: taken as typed
        "ind.T13-1.value": 750000,              # W205 平方米 instead of 万平方米
        "task.17.status": "未启动",              # W207: figures reported
        "task.15.status": "已完成",              # W206: 10栋 not reached
        "task.12.status": "进行中",              # E209 not in the list
        "header.date": "六月底",                 # E210
    }}  # fmt: skip
    returns(plan, demo, tmp_path, ["区建交委"], change)
    col = collect(plan, tmp_path, "2024H1")
    lay = build_layout(plan, plan.find_respondent("区建交委"), h1)
    by_code = {f.code: f for f in col.findings if f.respondent == "jjw"}
    expect = {
        Code.REQUIRED_MISSING: "ind.T17-1.value", Code.WRONG_TYPE: "ind.T18-3.value",
        Code.OUT_OF_RANGE: "ind.T12-1.value", Code.UNIT_MAGNITUDE: "ind.T13-1.value",
        Code.PROGRESS_NOT_STARTED: "task.17.status", Code.DONE_BELOW_TARGET: "task.15.status",
        Code.INVALID_CHOICE: "task.12.status", Code.BAD_DATE: "header.date",
    }  # fmt: skip
    for code, key in expect.items():
        f = by_code[code]
        assert (f.sheet, f.cell) == (lay.field(key).sheet, lay.field(key).cell), code
        assert f.file == "区建交委.xlsx" and f.message and f.hint
    pct = {f.field: f for f in codes_at(col, Code.PERCENT_NORMALISED)}
    assert set(pct) == {"ind.T17-2.value"}
    (maybe,) = codes_at(col, Code.PERCENT_MAYBE_FRACTION)
    assert (maybe.field, maybe.sheet, maybe.cell) == ("ind.H6.value", lay.field("ind.H6.value").sheet,
                                                      lay.field("ind.H6.value").cell)  # fmt: skip
    for f in pct.values():  # one bracket each, not "…读取（本表百分数只填数字）（今后请只填数字）"
        assert "）（" not in f.render() and "只填数字" in f.hint
    figures = {f.indicator: f.value for f in col.submissions["jjw"].figures}
    assert figures["T17-2"] == 92.5 and figures["H6"] == pytest.approx(0.011)
    assert "T17-1" not in figures and "T18-3" not in figures and "T12-1" not in figures
    assert figures["T13-1"] == 750000  # taken in, with a warning
    assert col.submissions["jjw"].has_errors
    assert "约1300个" in by_code[Code.WRONG_TYPE].value
    # a status typed by hand is quoted, and is "typed wrong", not "none chosen", wherever it shows
    assert by_code[Code.INVALID_CHOICE].message == ("“任务12·推进状态”填的是“进行中”，只能从下拉列表中选择："
                                                   "未启动、推进中、已完成、已滞后")  # fmt: skip
    (t12,) = [t for t in col.submissions["jjw"].tasks if t.task == 12]
    assert (t12.status, t12.status_invalid, t12.no_status) == ("", True, "状态填写有误")
    assert all(not t.status_invalid for t in col.submissions["jjw"].tasks if t.task != 12)


def _edit(path: Path, fn) -> None:
    wb = openpyxl.load_workbook(path)
    fn(wb)
    wb.save(path)


def test_a_required_cell_merged_into_the_one_above_is_said_to_be_merged(plan, h1, demo, tmp_path):
    """A clerk merges 推进状态 E5:E8 showing "推进中": only E5 holds it. E6–E8 are not "未填写"
    without a word: the finding says they were merged, into which range."""
    paths = returns(plan, demo, tmp_path, ["区建交委"])
    lay = build_layout(plan, plan.find_respondent("区建交委"), h1)
    cells = [lay.field(f"task.{t.task.number}.status").cell for t in lay.tasks[:4]]
    assert cells == ["E5", "E6", "E7", "E8"]
    _edit(paths["区建交委"], lambda wb: wb[TASKS].merge_cells("E5:E8"))
    col = collect(plan, tmp_path, "2024H1")
    found = {f.cell: f for f in codes_at(col, Code.REQUIRED_MISSING)}
    assert sorted(found) == ["E6", "E7", "E8"]
    assert found["E7"].message.endswith("为必填项：E7 被合并进了 E5:E8，合并后只有 E5 有内容，本格读作未填写")
    assert found["E7"].hint == "请取消合并单元格，在 E7 中单独填写；与 E5 相同的，复制过去即可"
    # an item's name merged into the one above: said so too, not "现为空" with rows inserted
    _edit(paths["区建交委"], lambda wb: wb[INDICATORS].merge_cells("C5:C6"))
    [named] = [f for f in codes_at(collect(plan, tmp_path, "2024H1"), Code.LABEL_CHANGED) if f.cell == "C6"]
    assert "现为空（C6 被合并进了 C5:C6）；合并后只显示左上角一格的内容，本行填报内容未采用" in named.message
    assert named.hint.startswith("请取消合并 C5:C6")
    # a required cell left empty, not merged: as ever
    returns(plan, demo, tmp_path / "plain", ["区建交委"], {"区建交委": {"task.5.status": None}})
    (plain,) = codes_at(collect(plan, tmp_path / "plain", "2024H1"), Code.REQUIRED_MISSING)
    assert plain.message.endswith("为必填项，未填写")


def test_structure_problems(plan, h1, demo, tmp_path):
    paths = returns(plan, demo, tmp_path, ["区建交委", "康桥镇", "花木街道", "金桥镇"])
    lay = build_layout(plan, plan.find_respondent("区建交委"), h1)
    label = next(lb for lb in lay.labels if lb.sheet == INDICATORS and lb.text == "新能源公交车辆更新数")
    _edit(paths["区建交委"], lambda wb: wb[INDICATORS].__setitem__(label.cell, "新能源公交车辆更新数（辆）"))
    _edit(paths["康桥镇"], lambda wb: wb.remove(wb[META]))
    _edit(paths["花木街道"], lambda wb: wb[META].__setitem__("C12", "重点任务"))
    _edit(paths["金桥镇"], lambda wb: wb.remove(wb[TASKS]))
    plain = openpyxl.Workbook()
    plain.active["A1"] = "进展情况"
    plain.save(tmp_path / "自制表格.xlsx")
    (tmp_path / "说明.txt").write_text("见附件", encoding="utf-8")
    col = collect(plan, tmp_path, "2024H1")
    files = {o.file: o.status for o in col.outcomes}
    assert files["区建交委.xlsx"] == ACCEPTED and files["金桥镇.xlsx"] == ACCEPTED
    assert files["康桥镇.xlsx"] == REJECTED and files["花木街道.xlsx"] == REJECTED
    assert files["自制表格.xlsx"] == REJECTED and files["说明.txt"] == REJECTED
    (changed,) = codes_at(col, Code.LABEL_CHANGED)
    assert (changed.file, changed.cell) == ("区建交委.xlsx", label.cell)
    assert "T17-1" not in {f.indicator for f in col.submissions["jjw"].figures}
    assert {f.file for f in codes_at(col, Code.METADATA_ALTERED)} == {"康桥镇.xlsx", "花木街道.xlsx"}
    assert [f.file for f in codes_at(col, Code.NO_METADATA)] == ["自制表格.xlsx"]
    assert [f.file for f in codes_at(col, Code.NOT_A_WORKBOOK)] == ["说明.txt"]
    (gone,) = codes_at(col, Code.SHEET_MISSING)
    assert gone.file == "金桥镇.xlsx" and gone.sheet == TASKS
    assert col.submissions["jinqiao_zhen"].tasks == []
    assert "kangqiao_zhen" in col.missing


def test_identity_checks(plan, h1, demo, tmp_path, plan_text, monkeypatch):
    filled = demo["jjw"]
    q1 = build_layout(plan, plan.find_respondent("区发改委"), plan.period("2024Q1"))
    write(tmp_path, "q1.xlsx", render_workbook(q1, STAMP))  # 区发改委 has no return of 2024H1
    other = parse_plan(plan_text.replace("id: pudong-2024", "id: pudong-2025", 1))
    lay = build_layout(other, other.find_respondent("区建交委"), other.period("2024H1"))
    write(tmp_path, "other-plan.xlsx", render_workbook(lay, STAMP))
    extra = parse_plan(plan_text.replace(
        "- {id: tjj, name: 区统计局", "- {id: xyz, name: 区某某办, kind: bureau}\n- {id: tjj, name: 区统计局"))
    lay = build_layout(extra, extra.find_respondent("区某某办"), extra.period("2024H1"))
    write(tmp_path, "unknown.xlsx", render_workbook(lay, STAMP))
    monkeypatch.setattr("pdreport.template.metadata.TEMPLATE_VERSION", "0")
    write(tmp_path, "old-version.xlsx", fill_template(filled))
    col = collect(plan, tmp_path, "2024H1")
    assert [f.file for f in codes_at(col, Code.PERIOD_MISMATCH)] == ["q1.xlsx"]
    assert next(o for o in col.outcomes if o.file == "q1.xlsx").respondent == "fgw"  # though unusable
    assert [f.file for f in codes_at(col, Code.PLAN_MISMATCH)] == ["other-plan.xlsx"]
    assert [f.file for f in codes_at(col, Code.UNKNOWN_RESPONDENT)] == ["unknown.xlsx"]
    assert [f.file for f in codes_at(col, Code.TEMPLATE_VERSION)] == ["old-version.xlsx"]
    assert col.submissions["jjw"].file == "old-version.xlsx"


def test_a_return_of_an_earlier_plan_version_is_read_only_if_its_template_is_the_same(plan, demo, tmp_path, plan_text):
    """The plan revised after the templates went out (version 2024.1 → 2024.2): a return is read
    where the unit's template is the same in both (W112: a target changed, say); where an item or
    a unit changed (T05-1 in 兆瓦, task 2 gone and the rest renumbered) every figure would land on
    the wrong item, so nothing is read (E111) and the message says what differs and what to do."""
    for rid, name in (("jjw", "区建交委.xlsx"), ("fgw", "区发改委.xlsx"), ("huamu_jd", "花木街道.xlsx")):
        write(tmp_path, name, fill_template(demo[rid]))
    v2 = plan_text.replace("  version: '2024.1'\n", "  version: '2024.2'\n", 1)
    assert v2 != plan_text
    retargeted = v2.replace("      target: 15\n", "      target: 16\n", 1)  # (T05-1: 15 → 16 万千瓦)
    assert retargeted != v2
    col = collect(parse_plan(retargeted), tmp_path, "2024H1", workers=1)
    assert {o.file: o.status for o in col.outcomes} == dict.fromkeys(("区建交委.xlsx", "区发改委.xlsx", "花木街道.xlsx"), ACCEPTED)
    w = codes_at(col, Code.PLAN_VERSION)
    assert len(w) == 3 and all(f.level.label == "提醒" and "第 2024.1 版" in f.message and "第 2024.2 版" in f.message for f in w)
    assert not [f for f in w if f.sheet]  # (about the file: the version is on no visible sheet)

    revised = parse_plan(v2.replace("unit: 万千瓦", "unit: 兆瓦", 1))
    col = collect(revised, tmp_path, "2024H1", workers=1)
    rejected = {f.file: f for f in codes_at(col, Code.PLAN_REVISED)}
    assert set(rejected) == {"区建交委.xlsx", "区发改委.xlsx"}  # (花木街道 reports no PV: the same)
    e = rejected["区发改委.xlsx"]
    assert "“任务5 新增光伏装机容量”的计量单位由“万千瓦”改为“兆瓦”" in e.message and e.is_error
    assert "--plan 指定第 2024.1 版的计划文件" in e.hint and "fgw" not in col.submissions
    assert [f.file for f in codes_at(col, Code.PLAN_VERSION)] == ["花木街道.xlsx"]


def test_duplicates_keep_the_newest(plan, h1, demo, tmp_path):
    filled = demo["jjw"]
    older = dict(filled.values, **{"header.date": dt.datetime(2024, 7, 1), "ind.T17-1.value": 100})
    newer = dict(filled.values, **{"header.date": dt.datetime(2024, 7, 9), "ind.T17-1.value": 230})
    write(tmp_path / "a", "第二次.xlsx", fill_template(filled, values=older))
    write(tmp_path / "b", "第一次.xlsx", fill_template(filled, values=newer))
    col = collect(plan, tmp_path, "2024H1")
    sub = col.submissions["jjw"]
    assert sub.file == str(Path("b") / "第一次.xlsx")
    assert {f.indicator: f.value for f in sub.figures}["T17-1"] == 230
    (dup,) = codes_at(col, Code.DUPLICATE)
    assert dup.file == str(Path("a") / "第二次.xlsx")
    assert {o.file: o.status for o in col.outcomes}[dup.file] == SUPERSEDED


def test_another_offices_name_on_the_file_is_said_and_never_replaces_the_offices_own(plan, demo, tmp_path):
    """康桥镇 fills in 合庆镇's form (W113): said on that file; 合庆镇's own return, though older,
    is the one used; alone, the misnamed return is used, still with W113. ``check`` says it too."""
    filled = demo[rid(plan, "合庆镇")]
    own = dict(filled.values, **{"header.date": dt.datetime(2024, 7, 8)})
    wrong = dict(filled.values, **{"header.date": dt.datetime(2024, 7, 10), "header.filler": "王五"})
    write(tmp_path / "in", "2024年上半年_合庆镇_填报表.xlsx", fill_template(filled, values=own))
    misnamed = write(tmp_path / "in", "康桥镇_填报表.xlsx", fill_template(filled, values=wrong))
    col = collect(plan, tmp_path / "in", "2024H1")
    sub = col.submissions[rid(plan, "合庆镇")]
    assert sub.file == "2024年上半年_合庆镇_填报表.xlsx" and sub.filler != "王五"
    (dup,) = codes_at(col, Code.DUPLICATE)  # (a superseded copy's own findings are counted, not listed)
    assert dup.file == "康桥镇_填报表.xlsx"
    assert "（本份文件名中是“康桥镇”，可能是康桥镇用错了合庆镇的填报表，请与康桥镇核实）" in dup.message
    assert rid(plan, "康桥镇") in col.missing
    # alone, it is used (with W113); a file naming both offices, or a folder named for another, is not W113
    write(tmp_path / "alone", "康桥镇_填报表.xlsx", misnamed.read_bytes())
    write(tmp_path / "alone" / "康桥镇收", "合庆镇（康桥镇转来）.xlsx", fill_template(demo[rid(plan, "区建交委")]))
    col = collect(plan, tmp_path / "alone", "2024H1")
    assert col.submissions[rid(plan, "合庆镇")].filler == "王五"
    (w113,) = codes_at(col, Code.OTHER_OFFICE_NAMED)
    assert w113.file == "康桥镇_填报表.xlsx" and w113.respondent == rid(plan, "合庆镇")
    assert w113.message.startswith("文件名中是“康桥镇”，表内却是合庆镇的填报表")
    _sub, findings = check_one(plan, misnamed)
    assert [f.code for f in findings] == [Code.OTHER_OFFICE_NAMED]


def test_inputs_are_byte_identical_and_period_is_inferred(plan, h1, demo, tmp_path):
    returns(plan, demo, tmp_path)
    (tmp_path / "坏文件.xlsx").write_bytes(b"PK\x03\x04broken")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.rglob("*") if p.is_file()}
    stat = {p: p.stat().st_mtime_ns for p in before}
    col = collect(plan, tmp_path)
    assert col.period.id == "2024H1"
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.rglob("*") if p.is_file()}
    assert before == after and stat == {p: p.stat().st_mtime_ns for p in before}


def test_check_one(plan, demo, tmp_path):
    p = write(tmp_path, "x.xlsx", fill_template(demo["jjw"]))
    sub, findings = check_one(plan, p)
    assert sub is not None and findings == []
    blank = write(tmp_path, "y.xlsx", fill_template(demo["jjw"], values={}))
    sub, findings = check_one(plan, blank)  # the template as sent out: one finding, not one per cell
    assert sub is not None and sub.blank and [f.code for f in findings] == [Code.BLANK_RETURN]
    bad = write(tmp_path, "z.xlsx", fill_template(demo["jjw"], values={"header.filler": "张三"}))
    sub, findings = check_one(plan, bad)
    assert sub is not None and not sub.blank and all(f.code is Code.REQUIRED_MISSING for f in findings)
    required = build_layout(plan, plan.find_respondent("区建交委"), plan.period("2024H1")).required_fields()
    assert len(findings) == len(required) - 1


def test_openpyxl_reads_feedback_inputs(plan, demo):
    data = fill_template(demo["kangqiao_zhen"])
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb[META].sheet_state == "veryHidden"


def test_an_unreadable_file_is_tied_to_its_unit_by_name_and_counted(plan, demo, tmp_path):
    """An encrypted or broken file cannot say whose it is; its name can. 催报名单 must not tell
    区金融局 that nothing arrived, and 收到文件 counts the file's problems."""
    from pdreport.problems import render_problem_list

    (tmp_path / "区金融局_加密.xlsx").write_bytes(b"not a workbook at all" * 10)
    (tmp_path / "唐镇.xlsx").write_bytes(b"")
    (tmp_path / "区金融局和区商务委.xlsx").write_bytes(b"\x00")  # two names: no guess
    (tmp_path / "说明.xlsx").write_bytes(b"\x00")
    (tmp_path / "ok.xlsx").write_bytes(fill_template(demo["jjw"]))
    col = collect(plan, tmp_path, "2024H1", workers=1)
    by_file = {o.file: o for o in col.outcomes}
    assert by_file["区金融局_加密.xlsx"].respondent == "jrj" and by_file["区金融局_加密.xlsx"].guessed
    assert by_file["唐镇.xlsx"].respondent == plan.find_respondent("唐镇").id
    assert by_file["区金融局和区商务委.xlsx"].respondent == "" and by_file["说明.xlsx"].respondent == ""
    for name in ("区金融局_加密.xlsx", "唐镇.xlsx", "说明.xlsx"):
        o = by_file[name]
        assert o.status == REJECTED and o.errors == 1 and o.warnings == 0, name
    assert not by_file["ok.xlsx"].guessed
    # the file names no unit in its findings: the guess stays in the outcome
    assert all(f.respondent == "" for f in col.findings if f.file == "区金融局_加密.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(render_problem_list(col)))
    notes = {row[1]: row[3] for row in wb["催报名单"].iter_rows(min_row=4, values_only=True)}
    assert notes["区金融局"] == "按文件名判断，可能是本单位的文件，但无法采用：区金融局_加密.xlsx"
    assert notes["区商务委"] == "未收到填报表"
    units = {row[2]: row[1] for row in wb["问题清单"].iter_rows(min_row=4, values_only=True)}
    assert units["区金融局_加密.xlsx"] == "区金融局（按文件名判断）"  # as 汇总表 收到文件 says
    assert units["说明.xlsx"] in ("", None)  # (no unit in its name: no guess)
    from pdreport.assess import assess
    from pdreport.summary import render_summary

    a = assess(plan, plan.period("2024H1"), col.submissions, col.findings)
    wb = openpyxl.load_workbook(io.BytesIO(render_summary(a, col.outcomes)))
    units = {row[2]: row[1] for row in wb["问题清单"].iter_rows(min_row=4, values_only=True)}
    assert units["区金融局_加密.xlsx"] == "区金融局（按文件名判断）"  # the same in every output
    owners = {row[1]: row[4] for row in wb["收到文件"].iter_rows(min_row=4, values_only=True)}
    assert owners["区金融局_加密.xlsx"] == "区金融局（按文件名判断）" and owners["说明.xlsx"] in ("", None)


def test_returns_of_another_plan_ask_for_its_plan_file(plan, plan_text, tmp_path):
    from pdreport.errors import UsageError

    other = parse_plan(plan_text.replace("id: pudong-2024", "id: pudong-2025", 1))
    lay = build_layout(other, other.find_respondent("区教育局"), other.period("2024H1"))
    (tmp_path / "区教育局.xlsx").write_bytes(render_workbook(lay, STAMP))
    with pytest.raises(UsageError, match="属于计划“pudong-2025”.*请用 --plan 指定该计划文件"):
        collect(plan, tmp_path)
    _sub, findings = check_one(plan, tmp_path / "区教育局.xlsx")
    (e,) = findings
    assert e.code is Code.PLAN_MISMATCH and "--plan" in e.hint


def test_the_files_own_name_outranks_its_folders(plan, tmp_path):
    from pdreport.collect import respondent_named_in

    assert respondent_named_in(plan, "区建交委/康桥镇.xlsx") == "kangqiao_zhen"
    assert respondent_named_in(plan, "区建交委/加密.xlsx") == "jjw"
    assert respondent_named_in(plan, "加密.xlsx") == ""


def test_counts_by_unit_include_the_units_other_files(plan, demo, tmp_path):
    """Two copies: the W107 note on the older one is the unit's, and 按单位统计 counts it under the
    unit (as the report's 附件2 表3 does), though the file in use has no problem; a file no unit
    could be told for has a row of its own, so that the rows add up to every finding."""
    from pdreport.problems import UNKNOWN_FILES, render_problem_list

    (tmp_path / "a.xlsx").write_bytes(fill_template(demo["kjw"]))
    (tmp_path / "b.xlsx").write_bytes(fill_template(demo["kjw"]))
    (tmp_path / "说明.docx").write_bytes(b"not a workbook")
    col = collect(plan, tmp_path, "2024H1", workers=1)
    assert [f.code for f in col.findings if f.respondent == "kjw"] == [Code.DUPLICATE]
    wb = openpyxl.load_workbook(io.BytesIO(render_problem_list(col)))
    rows = [r for r in wb["按单位统计"].iter_rows(min_row=4, values_only=True)]
    by = {r[0]: r for r in rows}
    assert by["区科经委"][2:] == ("已报送", "b.xlsx", 0, 1)
    assert rows[-1][0] == UNKNOWN_FILES and rows[-1][2:] == ("无法采用", "", 1, 0)
    assert "单位不明的文件共1份，无法确定报送单位，未能采用。" in wb["按单位统计"]["A2"].value
    errors = sum(f.is_error for f in col.findings)
    assert (sum(r[4] for r in rows), sum(r[5] for r in rows)) == (errors, len(col.findings) - errors)
    assert f"错误 {errors} 条，提醒 {len(col.findings) - errors} 条" in wb["按单位统计"]["A2"].value
    # counted as the report's 附件2 says them: a return sent back for correction was still sent
    assert "应报单位 58 个：已报送 1 个（其中需退回修改 0 个），未报送 57 个。" in wb["按单位统计"]["A2"].value
    outcome = next(o for o in col.outcomes if o.respondent == "kjw" and o.status == ACCEPTED)
    assert (outcome.errors, outcome.warnings) == (0, 0)


def test_another_periods_return_is_no_problem_beside_this_periods(plan, h1, demo, tmp_path):
    """Last quarter's returns left in the folder (README: 别的报送期的都可以直接放进去): a unit whose
    return of this period is taken in has no problem for it, counted nowhere, told to refill
    nothing; only a unit that sent nothing but another period's return gets E104 (and is chased)."""
    from pdreport.assess import assess, findings_by_respondent
    from pdreport.problems import render_problem_list
    from pdreport.summary import render_summary

    returns(plan, demo, tmp_path / "上半年", names=["区建交委", "康桥镇", "金桥镇", "花木街道", "区教育局"])
    for name in ("区建交委", "康桥镇", "区发改委"):  # 区发改委 sent only its Q1 return
        lay = build_layout(plan, plan.find_respondent(name), plan.period("2024Q1"))
        write(tmp_path / "一季度", f"{name}.xlsx", render_workbook(lay, STAMP))
    write(tmp_path / "一季度", "康桥镇（再发一次）.xlsx",
          render_workbook(build_layout(plan, plan.find_respondent("康桥镇"), plan.period("2024Q1")), STAMP))
    for period_id in ("2024H1", None):  # (without --period: the majority's, found another way)
        col = collect(plan, tmp_path, period_id, workers=1)
        assert col.period.id == "2024H1"
        status = {o.file: (o.status, o.respondent, o.errors, o.warnings) for o in col.outcomes}
        for f, whose in (("区建交委.xlsx", "jjw"), ("康桥镇.xlsx", "kangqiao_zhen"), ("康桥镇（再发一次）.xlsx", "kangqiao_zhen")):
            assert status[str(Path("一季度") / f)] == (OTHER_PERIOD, whose, 0, 0)
        assert status[str(Path("一季度") / "区发改委.xlsx")] == (REJECTED, "fgw", 1, 0)
        (e104,) = codes_at(col, Code.PERIOD_MISMATCH)
        assert e104.respondent == "fgw" and "重新填写" in e104.hint
        assert not any(f.file.startswith("一季度") for f in col.findings if f.respondent != "fgw")
        assert "fgw" in col.missing and col.counts["other_period"] == 3
        assert sum(col.counts[k] for k in ("accepted", "rejected", "superseded", "replaced", "other_period")) \
            == col.counts["received"] == 9
    a = assess(plan, col.period, col.submissions, col.findings)
    found = findings_by_respondent(a)
    assert "jjw" not in found and "kangqiao_zhen" not in found and found["fgw"] == (2, 0)  # E104, E108
    assert a.card("jjw").state == "已报送"
    wb = openpyxl.load_workbook(io.BytesIO(render_problem_list(col)))
    assert "其他报送期的文件 3 份" in wb["问题清单"]["A2"].value
    notes = {row[1]: row[3] for row in wb["催报名单"].iter_rows(min_row=4, values_only=True)}
    assert notes["区发改委"] == f"已收到文件但无法采用：{Path('一季度') / '区发改委.xlsx'}"
    wb = openpyxl.load_workbook(io.BytesIO(render_summary(a, col.outcomes)))
    files = {row[1]: row[3:] for row in wb["收到文件"].iter_rows(min_row=4, values_only=True)}
    assert files[str(Path("一季度") / "区建交委.xlsx")] == (OTHER_PERIOD, "区建交委", 0, 0)
    assert OTHER_PERIOD in wb["收到文件"]["A2"].value
    stats = {row[0]: row[3] for row in wb["报送情况"].iter_rows(values_only=True) if row[0]}
    assert stats["其他报送期的文件（未采用）"] == 3 and stats["收到文件"] == 9


def test_a_blank_template_is_not_a_return(plan, h1, demo, tmp_path):
    """A template sent back with nothing filled in is no return: its office is chased (E108) with
    one E114 saying so, not 采用 with an E201 for every cell; beside the office's filled-in return
    it is no problem at all. Typing anything (only a 填报日期) makes it a return again."""
    from pdreport.assess import assess
    from pdreport.problems import render_problem_list
    from pdreport.summary import render_summary

    returns(plan, demo, tmp_path, names=["区建交委", "康桥镇"])
    for name in ("区建交委", "区发改委", "金桥镇"):  # 区建交委's beside its return; the others alone
        lay = build_layout(plan, plan.find_respondent(name), h1)
        write(tmp_path / "空表", f"{name}.xlsx", render_workbook(lay, STAMP))
    dated = fill_template(demo[rid(plan, "花木街道")], values={"header.date": dt.datetime(2024, 7, 8)})
    write(tmp_path, "花木街道.xlsx", dated)
    col = collect(plan, tmp_path, "2024H1", workers=1)
    status = {o.file: (o.status, o.respondent, o.errors, o.blank) for o in col.outcomes}
    assert status[str(Path("空表") / "区建交委.xlsx")] == (BLANK, "jjw", 0, True)
    assert status[str(Path("空表") / "区发改委.xlsx")] == (REJECTED, "fgw", 1, True)
    assert status["花木街道.xlsx"][0] == ACCEPTED and not status["花木街道.xlsx"][3]
    e114 = codes_at(col, Code.BLANK_RETURN)
    assert sorted(f.respondent for f in e114) == ["fgw", "jinqiao_zhen"]
    assert not any(f.respondent in ("fgw", "jinqiao_zhen") and f.code is Code.REQUIRED_MISSING for f in col.findings)
    assert {"fgw", "jinqiao_zhen"} <= set(col.missing) and "jjw" not in col.missing
    assert codes_at(col, Code.REQUIRED_MISSING)  # 花木街道: its blanks one by one
    c = col.counts  # (every file in one bucket: a blank beside a return has its own)
    assert (c["blank"], c["blank_beside"], c["rejected"]) == (2, 1, 2) and col.mostly_blank() is None
    assert sum(c[k] for k in ("accepted", "rejected", "superseded", "replaced", "other_period",
                              "blank_beside", "listing")) == c["received"] == 6  # fmt: skip
    wb = openpyxl.load_workbook(io.BytesIO(render_problem_list(col)))
    notes = {row[1]: row[3] for row in wb["催报名单"].iter_rows(min_row=4, values_only=True)}
    assert notes["区发改委"] == f"收到的是未填写的空白填报表：{Path('空表') / '区发改委.xlsx'}"
    wb_problems_header = wb["问题清单"]["A2"].value
    a = assess(plan, col.period, col.submissions, col.findings)
    assert a.card("fgw").state == "未报送" and a.card("jjw").state == "已报送"
    wb = openpyxl.load_workbook(io.BytesIO(render_summary(a, col.outcomes)))
    stats = {row[0]: row[3] for row in wb["报送情况"].iter_rows(values_only=True) if row[0]}
    assert stats["其中空表（未填写）"] == 2 and stats["空表（单位另有采用的填报表）"] == 1
    assert "无法采用 2 份（其中空表 2 份）" in wb_problems_header
    assert BLANK in wb["收到文件"]["A2"].value


@needs_soffice
def test_a_blank_template_saved_by_libreoffice_is_still_blank(plan, h1, tmp_path):
    """Saved as .xls, a blank template's signature formula reads as a lone 0 below the table: the
    template's own, not something typed there (no W218), so the return is still blank (E114)."""
    lay = build_layout(plan, plan.find_respondent("东明路街道"), h1)
    src = write(tmp_path, "东明路街道.xlsx", render_workbook(lay, STAMP))
    for fmt in ("xls", "ods"):
        saved = soffice_convert(src, fmt, tmp_path / fmt)
        sub, findings = check_one(plan, saved, "2024H1")
        assert sub is not None and sub.blank and [f.code for f in findings] == [Code.BLANK_RETURN], fmt


def test_a_folder_of_blank_templates_asks_whether_it_is_the_right_one(plan, h1, tmp_path):
    from pdreport.template import TemplateFile
    from pdreport.template.distribution import render_distribution

    names = ["区建交委", "区发改委", "金桥镇"]
    files = []
    for name in names:
        lay = build_layout(plan, plan.find_respondent(name), h1)
        path = write(tmp_path, f"{name}.xlsx", render_workbook(lay, STAMP))
        files.append(TemplateFile(plan.find_respondent(name), path, lay))
    write(tmp_path, "分发清单.xlsx", render_distribution(files, h1, plan.title))
    col = collect(plan, tmp_path, "2024H1", workers=1)
    assert col.mostly_blank() == 3 and col.counts["listing"] == 1
    (listing,) = [o for o in col.outcomes if o.file == "分发清单.xlsx"]
    assert listing.status == LISTING and not col.findings_for("分发清单.xlsx")
    # one blank template beside the list is still a folder of templates, not of returns
    for name in names[1:]:
        (tmp_path / f"{name}.xlsx").unlink()
    assert collect(plan, tmp_path, "2024H1", workers=1).mostly_blank() == 1
    # checked on its own, the list is no return (not "可以报送")
    sub, findings = check_one(plan, tmp_path / "分发清单.xlsx", "2024H1")
    assert sub is None and [f.code for f in findings] == [Code.NO_METADATA] and "分发清单" in findings[0].message


def test_a_file_named_after_a_unit_is_counted_apart_and_every_output_says_whose_it_may_be(plan, demo, tmp_path):
    """区统计局_情况说明.docx (E001) is "区统计局（按文件名判断）" in 问题清单 and 收到文件: the
    counts by unit (report 表3, 按单位统计, 汇总表 报送情况) keep it in the unit-less row, not
    under 区统计局, and the notes under them name the unit its name suggests, in the same words."""
    from pdreport.assess import assess, findings_by_respondent, unknown_files
    from pdreport.problems import UNKNOWN_FILES, render_problem_list
    from pdreport.report.render import _counted_note

    (tmp_path / "区统计局.xlsx").write_bytes(fill_template(demo["tjj"]))
    (tmp_path / "区统计局_情况说明.docx").write_bytes(b"not a workbook")
    (tmp_path / "说明.docx").write_bytes(b"not a workbook")
    col = collect(plan, tmp_path, "2024H1", workers=1)
    a = assess(plan, col.period, col.submissions, col.findings)
    assert unknown_files(a) == {"区统计局_情况说明.docx": "tjj", "说明.docx": ""}
    assert unknown_files(a) == {o.file: o.respondent if o.guessed else "" for o in col.outcomes
                                if o.status == REJECTED}  # as collect guessed it  # fmt: skip
    found = findings_by_respondent(a)
    assert "tjj" not in found and found[""] == (2, 0)
    said = "单位不明的文件共2份，文件中读不出报送单位，未能采用；其中1份按文件名判断可能是区统计局的文件，未计入该单位"
    wb = openpyxl.load_workbook(io.BytesIO(render_problem_list(col)))
    assert said in wb["按单位统计"]["A2"].value
    rows = {r[0]: r for r in wb["按单位统计"].iter_rows(min_row=4, values_only=True)}
    assert rows["区统计局"][4:] == (0, 0) and rows[UNKNOWN_FILES][4:] == (2, 0)
    units = {row[2]: row[1] for row in wb["问题清单"].iter_rows(min_row=4, values_only=True)}
    assert units["区统计局_情况说明.docx"] == "区统计局（按文件名判断）"
    assert said in _counted_note(a, found)  # the note under the report's 表3
    (tmp_path / "说明.docx").unlink()
    col = collect(plan, tmp_path, "2024H1", workers=1)
    a = assess(plan, col.period, col.submissions, col.findings)
    assert "单位不明的文件共1份，文件中读不出报送单位，未能采用；按文件名判断可能是区统计局的文件，未计入该单位。" \
        in _counted_note(a, findings_by_respondent(a))


def test_file_names_are_shown_as_they_can_be_found():
    """Control characters and the invisible characters that reorder text are shown as U+FFFD: a
    name holding U+202E would show "三林镇exe.xslx", which no one finds in the folder."""
    from pdreport.collect import display_name

    assert display_name("三林镇\u202exslx.exe") == "三林镇\ufffdxslx.exe"
    assert display_name("a\u2067b\u200fc\td\n.xlsx") == "a\ufffdb\ufffdc\ufffdd\ufffd.xlsx"
    assert display_name("子文件夹/区建交委（更正）.xlsx") == "子文件夹/区建交委（更正）.xlsx"


def test_names_in_a_file_name_are_found_as_a_scan_of_every_name_would(plan):
    texts = ["康桥镇_填报表.xlsx", "区机管局报表", "金桥镇与金桥管理局", "合庆镇（康桥镇转来）", "无名.xlsx", "", "区"]
    for text in texts:
        naive: dict[int, set[str]] = {}
        for r in plan.respondents:
            for name in (r.name, *r.aliases):
                if len(name) >= 2 and name in text:
                    naive.setdefault(len(name), set()).add(r.id)
        assert plan.respondents_named_in(text) == naive, text


def test_scan_names_files_in_sub_folders_relative_to_the_folder(tmp_path):
    """Relative names are joined as text (no Path per file): the same names and paths as before,
    at every depth, with output folders reported by name and symlinked folders not entered."""
    import os

    from pdreport.collect import scan
    from pdreport.outputs import OUTPUT_MARKER

    root = tmp_path / "回收"
    (root / "浦东" / "镇").mkdir(parents=True)
    (root / "旧结果").mkdir()
    (root / "旧结果" / OUTPUT_MARKER).write_text("")
    (root / "旧结果" / "区科经委_退回修改.xlsx").write_bytes(b"x")
    (root / "假表.xlsx").mkdir()  # a folder named like a workbook: listed, not entered
    (root / "a.xlsx").write_bytes(b"x")
    (root / "浦东" / "b.xlsx").write_bytes(b"x")
    (root / "浦东" / "镇" / "c.xls").write_bytes(b"x")
    os.symlink(root / "浦东", root / "链接")
    skipped: list[str] = []
    entries = scan(root, skipped=skipped)
    sep = os.sep
    assert [rel for rel, _ in entries] == sorted(["a.xlsx", "假表.xlsx", f"浦东{sep}b.xlsx", f"浦东{sep}镇{sep}c.xls", "链接"])
    for rel, path in entries:
        assert path == root / rel and isinstance(path, Path)
    assert skipped == ["旧结果"]
    assert [rel for rel, _ in scan(root / "浦东")] == ["b.xlsx", f"镇{sep}c.xls"]


def test_a_sub_folder_that_cannot_be_opened_is_reported_not_passed_over(plan, h1, demo, tmp_path, monkeypatch):
    # (os.walk passes over a folder it cannot list, and every return in it, without a word; as
    # root every folder opens, so the permission is taken away where collect and the guard ask)
    import os

    returns(plan, demo, tmp_path / "in", names=["康桥镇"])
    returns(plan, demo, tmp_path / "in" / "锁住的文件夹", names=["金桥镇"])
    locked = tmp_path / "in" / "锁住的文件夹"
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: Path(p) != locked and real_access(p, mode, **kw))
    col = collect(plan, tmp_path / "in", h1.id)
    [f] = [f for f in col.findings if f.file == "锁住的文件夹"]
    assert f.code is Code.UNREADABLE and "打不开的子文件夹" in f.message and "权限" in f.hint
    assert [o.file for o in col.outcomes if o.status == ACCEPTED] == ["康桥镇.xlsx"]


def test_check_one_through_a_folder_that_cannot_be_opened_says_so(plan, tmp_path, monkeypatch):
    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "exists", denied)
    monkeypatch.setattr(Path, "is_symlink", denied)
    # (not a traceback: the guard looks itself, and says what it finds; as a user without the
    # permission that is E006 "没有打开该文件所在文件夹的权限", here, as root, that nothing is there)
    _sub, found = check_one(plan, tmp_path / "锁住的文件夹" / "x.xlsx")
    assert [f.code for f in found] == [Code.NOT_A_FILE] and "不存在" in found[0].message
