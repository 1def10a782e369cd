"""Every intake check, in one folder of returns: each produces its code, located by file, sheet, cell.

One collection run over a folder that has a bit of everything an office sends back; each row of
EXPECTED names a check, the code it must produce and where. File-level problems (a file that is
not ours, a duplicate) are located by file only; identity problems point at the hidden sheet's
cell that holds the wrong value (the period: the cover's 报送期, which the office sees); value problems at
the input cell.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import openpyxl
import pytest
from helpers import replace_in_zip

from pdreport.collect import ACCEPTED, REJECTED, SUPERSEDED, collect
from pdreport.demo import STAMP, demo_values, fill_template
from pdreport.findings import Code
from pdreport.plan.load import parse_plan
from pdreport.template import build_layout, render_workbook
from pdreport.template.layout import COVER, COVER_PERIOD_CELL, META, TASKS

H1 = "2024H1"


def put(folder: Path, name: str, data: bytes, mtime: float | None = None) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def edit(path: Path, fn) -> None:
    wb = openpyxl.load_workbook(path)
    fn(wb)
    wb.save(path)


@pytest.fixture(scope="module")
def case(plan, plan_text, tmp_path_factory):
    """(collection, {respondent id: layout}) for a folder with one instance of every problem."""
    period = plan.period(H1)
    demo = demo_values(plan, period)
    d = tmp_path_factory.mktemp("returns")

    def filled(rid, **change):
        return fill_template(demo[rid], values=dict(demo[rid].values, **change))

    # values: 区建交委 and 区发改委
    put(d, "区建交委.xlsx", filled("jjw", **{
        "ind.H5.value": None,                 # E201 required input missing
        "ind.T18-3.value": "约1300个",         # E202 text in a number cell
        "ind.T12-1.value": -3,                # E203 below the range
        "ind.H6.value": "5.3%",               # W204 percent sign: read as 5.3
        "ind.T15-1.value": 3,                 # … so that task 15 “已完成” is below target
        "task.15.status": "已完成",            # W206 done, but T15-1 is 3 of 10 栋
        "ind.T17-1.value": 120,
        "task.17.status": "未启动",            # W207 figures above zero, but “not started”
        "task.12.status": "进行中",            # E209 not one of the list
        "header.date": "六月底",               # E210 not a date
    }))  # fmt: skip
    fgw = filled("fgw", **{
        "ind.H1.value": 0.053,                # W220 a rate: taken as 0.053 %, perhaps 5.3 %
        "ind.T05-1.value": 150000,            # W205 千瓦 where 万千瓦 is asked: 15 万千瓦 → 150000
        "task.1.progress": "进展CTRL顺利",      # W211 control character (injected below)
        "task.2.progress": "字" * 2100,        # W212 longer than 2000 characters
    })  # fmt: skip
    put(d, "区发改委.xlsx", replace_in_zip(fgw, "CTRL", "_x0001_"))

    # structure and identity
    kq = put(d, "康桥镇.xlsx", filled("kangqiao_zhen"))
    edit(kq, lambda wb: wb.remove(wb[META]))  # E102 the hidden sheet deleted
    hm = put(d, "花木街道.xlsx", filled("huamu_jd"))
    edit(hm, lambda wb: wb[META].__setitem__("C12", "重点任务"))  # E102 the map edited
    plain = openpyxl.Workbook()
    plain.active["A1"] = "进展情况"
    plain.save(d / "自制表格.xlsx")  # E101 not one of our templates
    put(d, "说明.txt", "见附件".encode())  # E001 not a workbook
    jq = put(d, "金桥镇.xlsx", filled("jinqiao_zhen"))
    edit(jq, lambda wb: wb.remove(wb[TASKS]))  # E109 a sheet deleted
    kjw_lay = build_layout(plan, plan.respondent("kjw"), period)
    title = next(lb for lb in kjw_lay.labels if lb.sheet == TASKS and lb.text == kjw_lay.tasks[0].task.title)
    kjw = put(d, "区科经委.xlsx", filled("kjw"))
    edit(kjw, lambda wb: wb[TASKS].__setitem__(title.cell, title.text + "（已完成）"))  # E208
    q1 = build_layout(plan, plan.respondent("sthjj"), plan.period("2024Q1"))
    put(d, "区生态环境局.xlsx", render_workbook(q1, STAMP))  # E104 last quarter's template
    other = parse_plan(plan_text.replace("id: pudong-2024", "id: pudong-2025", 1))
    lay = build_layout(other, other.find_respondent("区教育局"), other.period(H1))
    put(d, "区教育局-2025.xlsx", render_workbook(lay, STAMP))  # E103 another plan's template
    extra = parse_plan(plan_text.replace(
        "- {id: tjj, name: 区统计局", "- {id: xyz, name: 区某某办, kind: bureau}\n- {id: tjj, name: 区统计局"))
    lay = build_layout(extra, extra.find_respondent("区某某办"), extra.period(H1))
    put(d, "区某某办.xlsx", render_workbook(lay, STAMP))  # E105 not in the plan
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("pdreport.template.metadata.TEMPLATE_VERSION", "0")
        put(d, "区教育局.xlsx", filled("jyj"))  # W106 an older template version

    # duplicates: by 填报日期, then by file time when the dates are the same
    put(d, "区商务委/第一次.xlsx", filled("sww", **{"header.date": dt.datetime(2024, 7, 1)}), mtime=2e9)
    put(d, "区商务委/第二次.xlsx", filled("sww", **{"header.date": dt.datetime(2024, 7, 9)}), mtime=1e9)
    same_day = {"header.date": dt.datetime(2024, 7, 5)}
    put(d, "区文体旅游局/a.xlsx", filled("wtlyj", **same_day), mtime=1.7e9)  # older file
    put(d, "区文体旅游局/b.xlsx", filled("wtlyj", **same_day), mtime=1.6e9)  # the oldest: superseded
    put(d, "区文体旅游局/c.xlsx", filled("wtlyj", **same_day), mtime=1.8e9)  # newest: kept
    col = collect(plan, d, H1)
    layouts = {rid: build_layout(plan, plan.respondent(rid), period) for rid in ("jjw", "fgw")}
    layouts["label"] = title
    return col, layouts


def at(layouts, rid, key):
    f = layouts[rid].field(key)
    return f.sheet, f.cell


# check → (code, file, sheet, cell, respondent); sheet/cell as a field key resolved per layout
EXPECTED = {
    "missing required input": (Code.REQUIRED_MISSING, "区建交委.xlsx", ("jjw", "ind.H5.value")),
    "wrong type": (Code.WRONG_TYPE, "区建交委.xlsx", ("jjw", "ind.T18-3.value")),
    "out of range": (Code.OUT_OF_RANGE, "区建交委.xlsx", ("jjw", "ind.T12-1.value")),
    "percent as '5.3%'": (Code.PERCENT_NORMALISED, "区建交委.xlsx", ("jjw", "ind.H6.value")),
    "rate maybe a fraction 0.053": (Code.PERCENT_MAYBE_FRACTION, "区发改委.xlsx", ("fgw", "ind.H1.value")),
    "unit magnitude 150000 for 15 万千瓦": (Code.UNIT_MAGNITUDE, "区发改委.xlsx", ("fgw", "ind.T05-1.value")),
    "已完成 below target": (Code.DONE_BELOW_TARGET, "区建交委.xlsx", ("jjw", "task.15.status")),
    "figure > 0 but 未启动": (Code.PROGRESS_NOT_STARTED, "区建交委.xlsx", ("jjw", "task.17.status")),
    "choice not in list": (Code.INVALID_CHOICE, "区建交委.xlsx", ("jjw", "task.12.status")),
    "unreadable date": (Code.BAD_DATE, "区建交委.xlsx", ("jjw", "header.date")),
    "control characters": (Code.TEXT_CLEANED, "区发改委.xlsx", ("fgw", "task.1.progress")),
    "text too long": (Code.TEXT_TRUNCATED, "区发改委.xlsx", ("fgw", "task.2.progress")),
    "label cell changed": (Code.LABEL_CHANGED, "区科经委.xlsx", ("label", "")),
    "metadata sheet deleted": (Code.METADATA_ALTERED, "康桥镇.xlsx", ("", "")),
    "metadata altered": (Code.METADATA_ALTERED, "花木街道.xlsx", (META, "")),
    "no metadata (not our template)": (Code.NO_METADATA, "自制表格.xlsx", ("", "")),
    "unrecognised file": (Code.NOT_A_WORKBOOK, "说明.txt", ("", "")),
    "sheet deleted": (Code.SHEET_MISSING, "金桥镇.xlsx", (TASKS, "")),
    "period mismatch": (Code.PERIOD_MISMATCH, "区生态环境局.xlsx", (COVER, COVER_PERIOD_CELL)),
    "plan mismatch": (Code.PLAN_MISMATCH, "区教育局-2025.xlsx", (META, "plan_id")),
    "respondent unknown": (Code.UNKNOWN_RESPONDENT, "区某某办.xlsx", (META, "respondent_id")),
    "template version mismatch": (Code.TEMPLATE_VERSION, "区教育局.xlsx", (META, "template_version")),
    "duplicate (older 填报日期)": (Code.DUPLICATE, str(Path("区商务委/第一次.xlsx")), ("", "")),
    "duplicate (same date, older file)": (Code.DUPLICATE, str(Path("区文体旅游局/b.xlsx")), ("", "")),
    "duplicate (same date, older file) 2": (Code.DUPLICATE, str(Path("区文体旅游局/a.xlsx")), ("", "")),
}  # fmt: skip


@pytest.mark.parametrize("check", list(EXPECTED))
def test_check_produces_located_finding(case, check):
    col, layouts = case
    code, file, (a, b) = EXPECTED[check]
    if a == "label":
        sheet, cell = layouts["label"].sheet, layouts["label"].cell
    elif a in layouts:
        sheet, cell = at(layouts, a, b)
    elif a == META and b:
        sheet, cell = META, None  # a cell of the hidden sheet: B2…B9, whichever row holds ``b``
    else:
        sheet, cell = a, b
    hits = [f for f in col.findings if f.code is code and f.file == file]
    assert hits, f"{check}: no {code.code} for {file}; got {[x.render() for x in col.findings if x.file == file]}"
    f = next((f for f in hits if f.sheet == sheet and (cell is None or f.cell == cell)), None)
    assert f is not None, f"{check}: {[(x.sheet, x.cell) for x in hits]} != {(sheet, cell)}"
    if cell is None:
        assert f.cell.startswith("B") and f.value, check
    assert f.message and f.hint, check
    assert f.level is code.severity


def test_identity_cells_point_at_the_value(case, plan):
    col, _ = case
    by_code = {f.code: f for f in col.findings}
    assert by_code[Code.PERIOD_MISMATCH].value == "2024年一季度"  # as the cover shows it, not the id
    assert "2024年一季度" in by_code[Code.PERIOD_MISMATCH].message
    assert by_code[Code.PLAN_MISMATCH].value == "pudong-2025"
    assert by_code[Code.UNKNOWN_RESPONDENT].value == "xyz"
    assert by_code[Code.TEMPLATE_VERSION].value == "0"
    cells = {by_code[c].cell for c in (Code.PLAN_MISMATCH, Code.UNKNOWN_RESPONDENT, Code.TEMPLATE_VERSION)}
    assert len(cells) == 3  # three different rows of the hidden sheet
    # the period, which the office can fix only with the right form, where the office sees it
    e104 = by_code[Code.PERIOD_MISMATCH]
    assert (e104.sheet, e104.cell) == (COVER, COVER_PERIOD_CELL)
    shown = openpyxl.load_workbook(col.folder / e104.file)[COVER][COVER_PERIOD_CELL].value
    assert shown.startswith(e104.value)  # 2024年一季度（2024年1月1日至2024年3月31日）


def test_normalised_values_are_taken_in(case):
    col, _ = case
    jjw = {f.indicator: f.value for f in col.submissions["jjw"].figures}
    fgw = {f.indicator: f.value for f in col.submissions["fgw"].figures}
    assert jjw["H6"] == 5.3 and fgw["H1"] == pytest.approx(0.053)  # (a rate: as typed, W220)
    assert fgw["T05-1"] == 150000  # kept, with a warning to check the unit
    assert "H5" not in jjw and "T18-3" not in jjw and "T12-1" not in jjw
    assert col.submissions["jjw"].has_errors and not col.submissions["fgw"].has_errors
    tasks = {t.task: t for t in col.submissions["fgw"].tasks}
    assert tasks[1].progress == "进展顺利" and len(tasks[2].progress) == 2000


def test_duplicates_keep_the_newest_by_date_then_file_time(case):
    col, _ = case
    status = {o.file: o.status for o in col.outcomes}
    assert col.submissions["sww"].file == str(Path("区商务委/第二次.xlsx"))  # later date, older file
    assert col.submissions["wtlyj"].file == str(Path("区文体旅游局/c.xlsx"))
    assert status[str(Path("区商务委/第一次.xlsx"))] == SUPERSEDED
    assert status[str(Path("区文体旅游局/a.xlsx"))] == SUPERSEDED
    assert status[str(Path("区文体旅游局/b.xlsx"))] == SUPERSEDED
    dups = [f for f in col.findings if f.code is Code.DUPLICATE]
    assert all(f.respondent in ("sww", "wtlyj") and "已采用" in f.message for f in dups)


def test_missing_submissions_name_the_respondent(case, plan):
    col, _ = case
    missing = {f.respondent: f for f in col.findings if f.code is Code.MISSING_SUBMISSION}
    accepted = set(col.submissions)
    assert set(missing) == {r.id for r in plan.respondents} - accepted
    assert set(col.missing) == set(missing)
    for rid in ("kangqiao_zhen", "huamu_jd", "sthjj", "tjj"):  # rejected returns count as missing
        assert rid in missing and plan.respondent(rid).name in missing[rid].message
        assert missing[rid].file == "" and missing[rid].is_error


def test_outcomes(case):
    col, _ = case
    status = {o.file: o.status for o in col.outcomes}
    for name in ("康桥镇.xlsx", "花木街道.xlsx", "自制表格.xlsx", "说明.txt", "区生态环境局.xlsx",
                 "区教育局-2025.xlsx", "区某某办.xlsx"):  # fmt: skip
        assert status[name] == REJECTED, name
    for name in ("区建交委.xlsx", "区发改委.xlsx", "金桥镇.xlsx", "区科经委.xlsx", "区教育局.xlsx"):
        assert status[name] == ACCEPTED, name
    assert all(f.file for f in col.findings if f.code is not Code.MISSING_SUBMISSION)
    assert not [f for f in col.findings if f.code is Code.SHEET_MISSING and f.sheet == COVER]


def test_a_return_from_an_earlier_template_names_fields_as_the_sheet_does(plan, tmp_path):
    """Templates sent out before labels followed the sheet name indicators by the plan's id
    (“T07-1 …·填报值”, which the office sees nowhere): messages about such a return, and the 项目
    it is listed under, name them as the sheet does (任务7 …), and the file is still read."""
    # 区科经委's sample return as bundled before (its 清洁生产企业数 typed as “约6家”)
    sample = Path(__file__).resolve().parent / "data" / "旧版模板_2024年上半年_区科经委.xlsx"
    stored = {row[0].value: row[5].value for row in openpyxl.load_workbook(sample)[META].iter_rows()}
    assert stored["ind.T07-1.value"].startswith("T07-1 ")  # such a return
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / sample.name).write_bytes(sample.read_bytes())
    col = collect(plan, tmp_path / "in", H1, workers=1)
    assert "kjw" in col.submissions  # read as before
    (f,) = [f for f in col.findings if f.code is Code.WRONG_TYPE]
    assert f.label == "任务7 开展清洁生产相关工作的企业数·填报值"
    assert "T07-1" not in f.message and f"“{f.label}”" in f.message
