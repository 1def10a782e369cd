"""汇总表.xlsx: every sheet read back with openpyxl and compared with the assessment."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import gc
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from helpers import assert_rows_fit, column_widths, needs_soffice, soffice_convert

from pdreport.assess import Status, assess, snapshot
from pdreport.collect import ACCEPTED, REJECTED, SUPERSEDED, collect
from pdreport.demo import demo_values, fill_template
from pdreport.summary import (
    CELL_LIMIT,
    CUT_NOTE,
    FIRST_ROW,
    PROGRESS_NOTE,
    SHEET_ANNEX,
    SHEET_CHARTS,
    SHEET_FILES,
    SHEET_FINDINGS,
    SHEET_HEADLINE,
    SHEET_INDICATORS,
    SHEET_PROGRESS,
    SHEET_RESPONDENTS,
    SHEET_TASKS,
    SHEETS,
    SUMMARY_FILE,
    render_summary,
)
from pdreport.template.fit import MAX_ROW_HEIGHT, lines_that_fit, row_height, wrapped_lines
from pdreport.template.layout import owner_text

PERIOD = "2024H1"
PROGRESS_WIDTH = 72  # the 各单位进展 column
MISSING = "wanxiang_zhen"  # sends nothing: 未报送 everywhere
INVALID = "kjw"  # types text into the H2 figure: 数据有误
HOSTILE = "jjw"  # types formula-looking text everywhere it can
# contributors far above the lead: cross-checks flagged (光伏 by one unit above the district;
# 森林, parts of the district, by a sum of 1,000,000 亩 against the lead's figure)
OVERRIDES = {("gzw", "T05-1"): 50.0, ("zhangjiang_glj", "T20-1"): 1_000_000.0}
# a milestone its lead says is not done and its contributors say is: flagged too
SAID_DONE = {("kjw", "T09-M1"): False, ("zhangjiang_glj", "T09-M1"): True, ("kangqiao_zhen", "T09-M1"): True}
HOSTILE_TEXT = {
    "progress": "=1+2",
    "problems": "@SUM(A1)",
    "next": "+1",
    "note": '=HYPERLINK("http://example.invalid","点我")',
}


@dataclasses.dataclass
class Fixture:
    plan: object
    period: object
    filled: dict
    col: object
    a: object
    data: bytes
    wb: openpyxl.Workbook


@pytest.fixture(scope="session")
def fx(plan, tmp_path_factory) -> Fixture:
    folder = tmp_path_factory.mktemp("returns")
    period = plan.period(PERIOD)
    filled = demo_values(plan, period)
    for rid, f in filled.items():
        if rid == MISSING:
            continue
        values = dict(f.values)
        for (who, ind), v in OVERRIDES.items():
            if who == rid:
                values[f"ind.{ind}.value"] = v
        for (who, ind), done in SAID_DONE.items():
            if who == rid:
                values[f"ind.{ind}.done"] = "是" if done else "否"
                if done:
                    values.setdefault(f"ind.{ind}.date", dt.datetime(2024, 5, 12))
                else:
                    values.pop(f"ind.{ind}.date", None)
        if rid == INVALID:
            values["ind.H2.value"] = "约百分之四"
        if rid == HOSTILE:
            for t in f.layout.tasks:
                n = t.task.number
                values[f"task.{n}.progress"] = HOSTILE_TEXT["progress"]
                values[f"task.{n}.problems"] = HOSTILE_TEXT["problems"]
                values[f"task.{n}.next"] = HOSTILE_TEXT["next"]
            for row in f.layout.indicators:
                values[f"ind.{row.indicator.id}.note"] = HOSTILE_TEXT["note"]
        (folder / f"{rid}.xlsx").write_bytes(fill_template(f, values=values))
    # an older second return of one office (superseded) and a file that is no workbook (rejected)
    older = dict(filled["fgw"].values)
    older["header.date"] = dt.datetime.combine(period.deadline - dt.timedelta(days=20), dt.time())
    (folder / "fgw_初稿.xlsx").write_bytes(fill_template(filled["fgw"], values=older))
    (folder / "=cmd.xlsx").write_bytes(b"not a workbook at all")
    col = collect(plan, folder, PERIOD)
    a = assess(plan, period, col.submissions, col.findings)
    data = render_summary(a, col.outcomes)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return Fixture(plan, period, filled, col, a, data, wb)


def rows(ws, first: int = FIRST_ROW + 1):
    """Data rows (1-based openpyxl rows) until the first empty 序号/编号 cell."""
    out = []
    r = first
    while ws.cell(r, 1).value not in (None, ""):
        out.append([c.value for c in ws[r]])
        r += 1
    return out


def column(ws, title: str) -> int:
    """0-based index of a header column."""
    heads = [c.value for c in ws[FIRST_ROW]]
    return heads.index(title)


def indicator_ids(a, ws) -> list[str]:
    """The plan id of each 指标明细 row, told by its 所属 and 指标名称 (the sheet shows no id)."""
    ids = {(owner_text(a.plan, r.indicator), r.indicator.name): i for i, r in a.indicators.items()}
    assert len(ids) == len(a.indicators)  # 所属 and 指标名称 tell every indicator apart
    owner, name = column(ws, "所属"), column(ws, "指标名称")
    return [ids[(row[owner], row[name])] for row in rows(ws)]


def test_file_constant_and_sheets(fx):
    assert SUMMARY_FILE == "汇总表.xlsx"
    assert fx.wb.sheetnames == list(SHEETS)
    for name in fx.wb.sheetnames:
        ws = fx.wb[name]
        assert fx.plan.title in ws["A1"].value and fx.period.label in ws["A1"].value
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage  # one page wide (the default), any height
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
        if name != SHEET_CHARTS:
            assert ws.freeze_panes is not None and ws.auto_filter.ref
            assert ws.print_title_rows == f"${FIRST_ROW}:${FIRST_ROW}"


def test_summary_without_outcomes_has_no_file_sheet(fx):
    wb = openpyxl.load_workbook(io.BytesIO(render_summary(fx.a)))
    assert wb.sheetnames == [s for s in SHEETS if s != SHEET_FILES]


def test_headline(fx):
    ws = fx.wb[SHEET_HEADLINE]
    data = rows(ws)
    assert len(data) == 8
    target, status, value = column(ws, "目标"), column(ws, "状态"), column(ws, "本期完成")
    for row, h in zip(data, fx.a.headline, strict=True):
        assert row[target] == h.row.target_text
        assert row[status] == h.result.status.label
        if h.result.value is not None:
            assert row[value] == pytest.approx(h.result.value)
    h2 = next(h for h in fx.a.headline if h.row.indicator == "H2")
    assert h2.result.status is Status.INVALID  # the typed text was refused
    # combine: each (H3/H4) lists every department in 说明
    h3 = next(i for i, h in enumerate(fx.a.headline) if h.result.indicator.combine.value == "each")
    note = data[h3][column(ws, "说明")]
    for rep in fx.a.headline[h3].result.reports:
        assert fx.plan.respondent(rep.respondent).name in note


def test_status_colours(fx):
    ws = fx.wb[SHEET_HEADLINE]
    col = column(ws, "状态") + 1
    fills = {}
    for r in range(FIRST_ROW + 1, FIRST_ROW + 9):
        cell = ws.cell(r, col)
        fills[cell.value] = (cell.fill.fgColor.rgb[-6:], cell.font.color.rgb[-6:] if cell.font.color else None,
                             cell.font.bold)  # fmt: skip
    assert fills["滞后"] == ("FFC7CE", "9C0006", True)
    assert fills["数据有误"][:2] == ("FCE4D6", "C65911")
    if "序时推进" in fills:
        assert fills["序时推进"][:2] == ("DDEBF7", "1F4E78")


def test_tasks_in_order(fx):
    ws = fx.wb[SHEET_TASKS]
    data = rows(ws)
    assert [r[0] for r in data] == list(range(1, 35))
    status, progress, owed = column(ws, "状态"), column(ws, "各单位进展"), column(ws, "未报送单位")
    missing = fx.plan.respondent(MISSING).name
    departments = column(ws, "责任部门")
    for row, t in zip(data, fx.a.tasks, strict=True):
        assert row[2] == t.task.title
        # (the notice's 区机管局 by the name every other table gives it, as the report does)
        assert row[departments] == t.task.departments_text.replace("区机管局", "区府办（机管局）")
        assert row[status] == t.status.label
        assert len(row[progress] or "") <= CELL_LIMIT
        if MISSING in t.owed_by:
            assert missing in row[owed]
    first = fx.a.tasks[0]
    name = fx.plan.respondent(first.reports[0].respondent).name
    assert data[0][progress].startswith(f"【{name}】{first.reports[0].status}：")


def test_progress_detail_rows(fx):
    ws = fx.wb[SHEET_PROGRESS]
    data = rows(ws)
    expected = sum(len(t.reports) + len(t.owed_by) for t in fx.a.tasks)
    assert len(data) == expected


def test_indicator_values_equal_typed_figures(fx):
    ws = fx.wb[SHEET_INDICATORS]
    data = rows(ws)
    who, value, status = column(ws, "填报单位"), column(ws, "填报值"), column(ws, "状态")
    names = {r.name: r.id for r in fx.plan.respondents}
    ids = indicator_ids(fx.a, ws)
    seen = 0
    for iid, row in zip(ids, data, strict=True):
        if row[who] == "全区（汇总）":
            r = fx.a.indicators[iid]
            assert row[status] == r.status.label
            if r.value is not None:
                assert row[value] == pytest.approx(r.value)
            continue
        rid = names[row[who]]
        typed = OVERRIDES.get((rid, iid), fx.filled[rid].values.get(f"ind.{iid}.value"))
        if isinstance(typed, float) and rid != MISSING and (rid, iid) != (INVALID, "H2"):
            assert row[value] == pytest.approx(typed), (iid, rid)
            seen += 1
    assert seen > 60
    invalid = fx.plan.respondent(INVALID).name
    h2 = next(r for i, r in zip(ids, data, strict=True) if i == "H2" and r[who] == invalid)
    assert h2[value] in (None, "") and h2[status] == "数据有误"
    expected_rows = sum(1 + len(r.reports) for r in fx.a.indicators.values())
    assert len(data) == expected_rows


def test_indicator_cross_check_and_milestones(fx):
    ws = fx.wb[SHEET_INDICATORS]
    data = rows(ws)
    done, csum = column(ws, "是否完成"), column(ws, "参与单位合计")
    ids = indicator_ids(fx.a, ws)
    for iid, row in zip(ids, data, strict=True):
        if row[column(ws, "填报单位")] != "全区（汇总）":
            continue
        r = fx.a.indicators[iid]
        if r.indicator.is_milestone and r.done is not None:
            assert row[done] == ("是" if r.done else "否")
        if r.contributors_sum is not None:
            assert row[csum] == pytest.approx(r.contributors_sum)
    for iid in ("T05-1", "T20-1", "T09-M1"):
        result = fx.a.indicators[iid]
        assert result.cross_check_flagged
        r = ids.index(iid) + FIRST_ROW + 1  # its 全区 row comes first
        gap = ws.cell(r, column(ws, "差异") + 1)
        assert gap.fill.fgColor.rgb.endswith("FCE4D6")
        assert result.cross_check in ws.cell(r, column(ws, "评估说明") + 1).value
        if iid == "T09-M1":  # the lead's 否 stands; the contributors' 是 is named
            assert ws.cell(r, done + 1).value == "否" and not gap.value
            assert result.cross_check == "牵头单位报未完成，参与单位张江管理局、康桥镇报已完成，请核对"
        elif iid == "T05-1":  # counted by sector and by area: no gap
            assert result.gap is None and not gap.value
        else:  # a sum thousands of times the lead's: shown whole so that it fits, not ####
            assert gap.value == pytest.approx(result.gap) and result.gap < -1
            assert gap.number_format == "0%"


def test_annex(fx):
    ws = fx.wb[SHEET_ANNEX]
    data = rows(ws)
    assert len(data) == 30
    names = [fx.plan.respondent(u.unit.respondent).name for u in fx.a.annex]
    assert [r[1] for r in data] == names
    target, rate = column(ws, "目标下降率（%）"), column(ws, "下降率（%）")
    slashed = {r[1] for r in data if r[target] == "/"}
    assert slashed == {"度假区管委会", "陆家嘴管理局", "世博管理局", "金桥镇", "张江镇"}
    for row, u in zip(data, fx.a.annex, strict=True):
        if u.target is not None:
            assert row[target] == pytest.approx(u.target)
        if u.rate is None:
            assert row[rate] in (None, "")
        else:
            assert row[rate] == pytest.approx(round(u.rate, 2))
        assert row[column(ws, "状态")] == u.status.label
    assert any("含金桥镇" in (r[column(ws, "说明")] or "") for r in data)
    assert fx.a.unit(MISSING).status is Status.MISSING
    note_row = FIRST_ROW + 1 + 30 + 1
    assert fx.plan.annex.note in ws.cell(note_row, 1).value


def test_annex_intensity_typed_in_wan_tons_is_not_shown_as_zero(fx):
    """An office that typed its energy in 万吨 (35.35 against 9,572,744 万元) has an intensity of
    0.0000037: the cell keeps the figure itself, a number (sortable), shown to six significant
    figures as the report's 表2 shows it, never as 0.0000; an ordinary one is shown alike."""
    small = dataclasses.replace(fx.a.annex[0], energy_base=34.8, energy_current=35.35,
                                output_base=9_100_000.0, output_current=9_572_744.0)  # fmt: skip
    a = copy.copy(fx.a)
    a.annex = (small, *fx.a.annex[1:])
    ws = openpyxl.load_workbook(io.BytesIO(render_summary(a)))[SHEET_ANNEX]
    row = FIRST_ROW + 1
    base = ws.cell(row, column(ws, "上年同期万元产值能耗（吨标准煤/万元）") + 1)
    current = ws.cell(row, column(ws, "本期万元产值能耗（吨标准煤/万元）") + 1)
    assert current.value == pytest.approx(35.35 / 9_572_744, rel=1e-12) and current.value > 0
    assert current.number_format == "0.0000000000"  # 0.0000036928 (ten decimals at most)
    assert base.value == pytest.approx(34.8 / 9_100_000, rel=1e-12) and base.number_format == "0.0000000000"
    i, other = next((i, u) for i, u in enumerate(a.annex) if u.intensity_current and 0.01 <= u.intensity_current < 0.1)
    cell = ws.cell(row + i, column(ws, "本期万元产值能耗（吨标准煤/万元）") + 1)
    assert cell.value == pytest.approx(other.intensity_current, rel=1e-12) and cell.number_format == "0.0000000"


def test_charts(fx):
    ws = fx.wb[SHEET_CHARTS]
    assert len(ws._charts) == 2


def test_respondents_and_files(fx):
    ws = fx.wb[SHEET_RESPONDENTS]
    data = rows(ws)
    assert len(data) == len(fx.plan.respondents)
    state = column(ws, "报送状态")
    by_name = {r[1]: r[state] for r in data}
    assert by_name[fx.plan.respondent(MISSING).name] == "未报送"
    assert by_name[fx.plan.respondent(INVALID).name] == "需退回修改"
    # 错误/提醒 by the unit each finding names, as the report's 表3 counts (a duplicate's W107 too)
    from pdreport.assess import findings_by_respondent

    found = findings_by_respondent(fx.a)
    errors, warnings = column(ws, "错误"), column(ws, "提醒")
    for r in data:
        rid = fx.plan.find_respondent(r[1]).id
        assert (r[errors], r[warnings]) == found.get(rid, (0, 0)), r[1]
    assert sum(r[warnings] for r in data) == sum(w for rid, (_, w) in found.items() if rid)
    files = rows(fx.wb[SHEET_FILES])
    assert len(files) == len(fx.col.outcomes)
    results = {r[1]: r[3] for r in files}
    assert results["fgw_初稿.xlsx"] == SUPERSEDED
    assert results["=cmd.xlsx"] == REJECTED
    assert results["fgw.xlsx"] == ACCEPTED


def test_findings(fx):
    ws = fx.wb[SHEET_FINDINGS]
    data = rows(ws)
    assert len(data) == len(fx.a.findings) > 0
    code = column(ws, "问题代码")
    assert [r[code] for r in data] == [f.code.code for f in fx.a.findings]


def test_hostile_text_stays_text(fx):
    hits = {k: 0 for k in HOSTILE_TEXT}
    for ws in fx.wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                for k, text in HOSTILE_TEXT.items():
                    if cell.value == text:
                        assert cell.data_type == "s"
                        hits[k] += 1
    assert all(hits.values()), hits
    assert fx.wb[SHEET_FILES]["B4"].value == "=cmd.xlsx"  # a file name is text too
    with zipfile.ZipFile(io.BytesIO(fx.data)) as z:
        sheets = b"".join(z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
        assert b"<f>" not in sheets and b"<f " not in sheets


def _tasks_cell(a) -> tuple[str, float]:
    """The first task's 各单位进展 text and the height of its row."""
    wb = openpyxl.load_workbook(io.BytesIO(render_summary(a)))
    ws = wb[SHEET_TASKS]
    return ws.cell(FIRST_ROW + 1, column(ws, "各单位进展") + 1).value, ws.row_dimensions[FIRST_ROW + 1].height


def _with_reports(fx, reports):
    a = copy.copy(fx.a)
    a.tasks = (dataclasses.replace(fx.a.tasks[0], reports=tuple(reports)), *fx.a.tasks[1:])
    return a


def test_long_text_is_capped(fx):
    t0 = fx.a.tasks[0]
    long = dataclasses.replace(t0.reports[0], progress="长" * 40_000)
    a = _with_reports(fx, (long, *t0.reports[1:]))
    merged, height = _tasks_cell(a)
    assert wrapped_lines(merged, PROGRESS_WIDTH) <= lines_that_fit() and height <= MAX_ROW_HEIGHT
    assert merged.endswith(PROGRESS_NOTE)
    wb = openpyxl.load_workbook(io.BytesIO(render_summary(a)))
    detail = wb[SHEET_PROGRESS].cell(FIRST_ROW + 1, 5).value
    # cut where the row can still show it, saying so and where the full text is (not mid-air)
    assert len(detail) <= CELL_LIMIT and detail.endswith(CUT_NOTE) and detail.startswith("长" * 100)
    assert wrapped_lines(detail, 50) <= lines_that_fit()


def test_every_progress_detail_cell_fits_its_row(fx):
    """任务进展明细: a unit's text long enough to pass Excel's 409 pt row is cut to what shows, with
    a note; a text that fits is whole."""
    t0 = fx.a.tasks[0]
    problems = "；".join(f"第{i}个问题是项目前期手续办理周期较长" for i in range(40))
    long = dataclasses.replace(t0.reports[0], problems=problems, next_steps="按计划推进。")
    a = _with_reports(fx, (long, *t0.reports[1:]))
    wb = openpyxl.load_workbook(io.BytesIO(render_summary(a)))
    ws = wb[SHEET_PROGRESS]
    cut, whole = ws.cell(FIRST_ROW + 1, 6).value, ws.cell(FIRST_ROW + 1, 7).value
    assert cut.endswith(CUT_NOTE) and problems.startswith(cut[: -len(CUT_NOTE)])
    assert wrapped_lines(cut, 30) <= lines_that_fit() and whole == "按计划推进。"


def test_merged_progress_fits_its_row(fx):
    # 各单位进展 holds what a row shows (Excel caps a row at 409 pt): the full text while it fits,
    # then each unit's first sentence, then the units under their status; a shortened cell says
    # where the full text is, and nothing else is cut
    t0 = fx.a.tasks[0]
    rep = t0.reports[0]
    name = fx.plan.respondent(rep.respondent).name
    sentence = "本期完成方案细化，开展现场检查和督导7次，总体按计划推进，下一步将聚焦重点项目加快形成实物工作量"
    short = dataclasses.replace(rep, progress=sentence + "。另有其他进展。", problems="", next_steps="")
    units = [dataclasses.replace(short, respondent=r.id) for r in fx.plan.respondents]

    full, _ = _tasks_cell(_with_reports(fx, units[:3]))
    assert full.count("\n") == 2 and PROGRESS_NOTE not in full and "另有其他进展" in full

    snippets, _ = _tasks_cell(_with_reports(fx, units[:15]))
    lines = snippets.split("\n")
    assert lines[-1] == PROGRESS_NOTE and len(lines) == 16
    assert all(line.endswith("…") and "另有其他进展" not in line for line in lines[:-1])
    assert lines[0].startswith(f"【{name}】")

    many = [dataclasses.replace(units[i % len(units)], status=("推进中", "已滞后", "")[i % 3])
            for i in range(10_000)]  # fmt: skip
    grouped, height = _tasks_cell(_with_reports(fx, many))
    lines = grouped.split("\n")
    assert lines[0].startswith("已滞后（3333个单位）：") and lines[0].endswith("等3333个单位")
    assert any(line.startswith("未选状态（3333个单位）：") for line in lines)
    assert lines[-1] == PROGRESS_NOTE

    for text in (full, snippets, grouped):
        assert wrapped_lines(text, PROGRESS_WIDTH) <= lines_that_fit()
    assert height <= MAX_ROW_HEIGHT


def test_every_cell_fits_its_row(fx):
    # the sample's text in every sheet shows in full: no row needs more than Excel's 409 pt, and
    # every row is set tall enough for the text it holds
    for ws in fx.wb.worksheets:
        if ws.title == SHEET_CHARTS:
            continue
        assert_rows_fit(ws, FIRST_ROW)
        widths = column_widths(ws)
        for row in ws.iter_rows(min_row=FIRST_ROW + 1):
            for cell in row:
                if isinstance(cell.value, str) and cell.coordinate not in ws.merged_cells:
                    lines = wrapped_lines(cell.value, widths[cell.column])
                    assert lines <= lines_that_fit(), (ws.title, cell.coordinate)


def test_short_headers_stay_on_one_line(fx):
    for ws in fx.wb.worksheets:
        if ws.title == SHEET_CHARTS:
            continue
        widths = column_widths(ws)
        for cell in ws[FIRST_ROW]:
            title = cell.value
            if isinstance(title, str) and "（" not in title:
                width = widths[cell.column] - 0.71  # xlsxwriter's padding
                assert wrapped_lines(title, width) == 1, (ws.title, title)


def test_sections_numbered_as_in_the_notice(fx):
    ws = fx.wb[SHEET_TASKS]
    section = column(ws, "板块")
    numbers = {s.number: s.title for s in fx.plan.sections}
    for row, t in zip(rows(ws), fx.a.tasks, strict=True):
        assert row[section] == f"（{t.task.section}）{numbers[t.task.section]}"
    assert rows(ws)[0][section].startswith("（一）")


def test_respondent_rows_are_as_tall_as_their_text(fx):
    # 报送情况: each row is as tall as its tallest text, and no taller
    ws = fx.wb[SHEET_RESPONDENTS]
    widths = column_widths(ws)
    for r in range(FIRST_ROW + 1, FIRST_ROW + 1 + len(fx.a.respondents)):
        lines = max(wrapped_lines(c.value, widths[c.column] - 0.71)  # xlsxwriter's padding
                    for c in ws[r] if isinstance(c.value, str) and c.value)  # fmt: skip
        height = ws.row_dimensions[r].height
        assert (height is None) if lines == 1 else abs(height - row_height(lines)) < 1, r


@pytest.mark.parametrize("writer", ["summary", "problems", "csv", "xlsx"])
def test_writers_leave_the_collector_as_found(fx, writer):
    from pdreport.datatable import render_csv, render_xlsx
    from pdreport.problems import render_problem_list

    render = {"summary": lambda: render_summary(fx.a, fx.col.outcomes),
              "problems": lambda: render_problem_list(fx.col),
              "csv": lambda: render_csv(fx.col),
              "xlsx": lambda: render_xlsx(fx.col)}[writer]  # fmt: skip
    assert gc.isenabled()
    flags, kept = gc.get_debug(), len(gc.garbage)
    gc.collect()
    gc.set_debug(flags | gc.DEBUG_SAVEALL)
    try:
        render()
        assert gc.isenabled()  # paused while rendering, back on after
        gc.collect()
        left = [o for o in gc.garbage[kept:] if type(o).__module__.startswith("xlsxwriter")]
    finally:
        gc.set_debug(flags)
        del gc.garbage[kept:]
    assert left == []  # no workbook ↔ worksheet cycle left for the collector (close_workbook)
    gc.disable()
    try:
        render()
        assert not gc.isenabled()  # a caller's own pause is left alone
    finally:
        gc.enable()


def test_gc_paused_restores_after_an_error():
    from pdreport.outputs import gc_paused

    with pytest.raises(ZeroDivisionError), gc_paused():
        assert not gc.isenabled()
        1 / 0  # noqa: B018
    assert gc.isenabled()


def test_heap_frozen_leaves_what_exists_out_and_restores():
    from pdreport.outputs import heap_frozen

    held = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == 0
    with pytest.raises(ZeroDivisionError), heap_frozen():
        assert gc.get_freeze_count() >= len(held)
        with heap_frozen():  # nested: the outer block's freeze stays
            pass
        assert gc.get_freeze_count() >= len(held)
        cycle: list = []
        cycle.append(cycle)  # made in the block: still collected
        del cycle
        assert gc.collect() >= 1
        1 / 0  # noqa: B018
    assert gc.get_freeze_count() == 0


def test_consolidate_unfreezes_when_it_ends(plan, tmp_path):
    from pdreport.consolidate import consolidate

    samples = Path(__file__).parent.parent / "sample_workbooks"
    consolidate(plan, samples, tmp_path / "out", "2024H1")
    assert gc.get_freeze_count() == 0


def test_deterministic(fx):
    assert render_summary(fx.a, fx.col.outcomes) == fx.data
    # xlsxwriter writes into the options it is given: other outputs made in the same process
    # (templates, 问题清单) must not change this one
    from pdreport.problems import render_problem_list

    render_problem_list(fx.col)
    assert render_summary(fx.a, fx.col.outcomes) == fx.data


def test_previous_period_column(fx):
    prev = snapshot(fx.a)
    prev["period_label"] = "2024年一季度"
    h1 = fx.a.indicators["H1"]
    prev["indicators"]["H1"]["value"] = h1.value - 1.5
    prev["tasks"]["1"] = "已完成"
    undone = next(r for r in fx.a.indicators.values() if r.indicator.is_milestone and r.done is False)
    prev["indicators"][undone.indicator.id].update(done=True, status="已完成")
    unit = next(u for u in fx.a.annex if u.rate is not None and u.target is not None)
    prev["annex"][unit.unit.respondent]["rate"] = unit.rate - 0.5
    a = copy.copy(fx.a)
    a.previous = prev
    wb = openpyxl.load_workbook(io.BytesIO(render_summary(a)))
    for name in (SHEET_HEADLINE, SHEET_TASKS, SHEET_INDICATORS, SHEET_ANNEX):
        assert "较上期" in [c.value for c in wb[name][FIRST_ROW]], name
    head = wb[SHEET_HEADLINE]
    h1_row = next(r for r in rows(head) if r[2] == fx.a.headline[0].row.label)
    assert h1_row[column(head, "较上期")] == "较上期+1.5个百分点"
    tasks = rows(wb[SHEET_TASKS])
    if fx.a.tasks[0].status is not Status.DONE:
        assert tasks[0][column(wb[SHEET_TASKS], "较上期")] == "上期：已完成"
    # a milestone done last period and not done now is flagged, as a count that fell is
    ind = wb[SHEET_INDICATORS]
    # (its 全区 row comes first)
    district = rows(ind)[indicator_ids(a, ind).index(undone.indicator.id)]
    assert district[column(ind, "较上期")] == "上期报已完成，本期报未完成，请核对"
    annex = wb[SHEET_ANNEX]
    row = next(r for r in rows(annex) if r[0] == unit.unit.seq)
    assert row[column(annex, "较上期")] == "较上期+0.5个百分点"
    assert "2024年一季度" in head["A2"].value
    prev["period"] = "2024Q1"
    del prev["period_label"]  # (a snapshot without its label: the plan's name of its period, as the report)
    assert "“较上期”与2024年一季度相比" in openpyxl.load_workbook(io.BytesIO(render_summary(a)))[SHEET_HEADLINE]["A2"].value
    # without a previous period there is no such column
    assert "较上期" not in [c.value for c in fx.wb[SHEET_HEADLINE][FIRST_ROW]]


def test_only_sheets_with_the_change_column_mention_it(fx):
    """The line under the title says what “较上期” compares with on the sheets that have that
    column, and on no other (报送情况, 收到文件, 问题清单, 任务进展明细 have none)."""
    a = copy.copy(fx.a)
    a.previous = snapshot(fx.a)
    a.previous["period_label"] = "2024年一季度"
    wb = openpyxl.load_workbook(io.BytesIO(render_summary(a, fx.col.outcomes)))
    with_column = {SHEET_HEADLINE, SHEET_TASKS, SHEET_INDICATORS, SHEET_ANNEX}
    for name in SHEETS:
        if name == SHEET_CHARTS:
            continue
        ws = wb[name]
        has = "较上期" in [c.value for c in ws[FIRST_ROW]]
        assert has == (name in with_column), name
        said = "“较上期”与2024年一季度相比" in ws["A2"].value
        assert said == has, (name, ws["A2"].value)


def test_indicators_named_as_the_clerks_sheet_names_them(fx):
    """指标明细 names an indicator by what it belongs to (“总体目标第1项”, “任务5”), as the
    clerk's sheet does, never by the plan's id (H1, T05-1), which reads like a cell address."""
    ws = fx.wb[SHEET_INDICATORS]
    assert [c.value for c in ws[FIRST_ROW]][:2] == ["所属", "指标名称"]
    assert "指标编号" not in [c.value for c in ws[FIRST_ROW]]
    data = rows(ws)
    owners = [r[0] for r in data]
    assert owners[0] == "总体目标第1项"
    assert not [o for o in owners if re.fullmatch(r"[A-Z]+\d+(-[A-Z]*\d+)?", o)]
    ids = indicator_ids(fx.a, ws)
    assert {o for o, i in zip(owners, ids, strict=True) if i == "T05-1"} == {"任务5"}
    assert {o for o, i in zip(owners, ids, strict=True) if i == "T01-M1"} == {"任务1"}


def test_a_target_around_a_value_says_its_floor(fx):
    """“95%左右” is assessed from 94 %: the 年度目标 cell says so, as the report and the reasons
    do (the plan's “（±1）” is not the notice's words)."""
    ws = fx.wb[SHEET_INDICATORS]
    data = rows(ws)
    head = [c.value for c in ws[FIRST_ROW]]
    around = [r for r in data if r[head.index("指标名称")] == "居住区生活垃圾分类达标率"]
    assert around and all(r[head.index("年度目标")] == "95%左右（不低于94%即达标）" for r in around), around
    assert not [r for r in data if "±" in str(r[head.index("年度目标")])]


@pytest.fixture(scope="module")
def fy(fx):
    """The same returns assessed at year end, compared with the half year."""
    a = assess(fx.plan, fx.plan.period("2024FY"), fx.col.submissions, fx.col.findings)
    a.previous = snapshot(fx.a)
    return a, openpyxl.load_workbook(io.BytesIO(render_summary(a, fx.col.outcomes)))


def test_year_end_headings_say_annual_target(fx, fy):
    """At year end nothing is 序时: 总体目标's target column is the 年度目标 (完成率 is read
    against it); 指标明细, which has a 年度目标 column already, drops its 序时目标."""
    a, wb = fy
    for name in SHEETS:
        if name != SHEET_CHARTS:
            heads = [c.value for c in wb[name][FIRST_ROW]]
            assert not [h for h in heads if h and "序时" in h], name
            assert "序时" not in wb[name]["A2"].value, name
    head = wb[SHEET_HEADLINE]
    target = column(head, "年度目标")
    assert target == column(fx.wb[SHEET_HEADLINE], "序时目标")  # (in the year: the same place)
    for row, h in zip(rows(head), a.headline, strict=True):
        if h.result.indicator.target is not None:
            assert row[target] == pytest.approx(h.result.indicator.target)
    ind = wb[SHEET_INDICATORS]
    heads = [c.value for c in ind[FIRST_ROW]]
    assert heads.count("年度目标") == 1
    in_year = [c.value for c in fx.wb[SHEET_INDICATORS][FIRST_ROW]]
    assert heads == [h for h in in_year if h != "序时目标"] + ["较上期"]
    # every column still holds what its heading says
    who, value, status, cell = (column(ind, t) for t in ("填报单位", "填报值", "状态", "单元格"))
    data = rows(ind)
    for iid, row in zip(indicator_ids(a, ind), data, strict=True):
        r = a.indicators[iid]
        if row[who] == "全区（汇总）":
            assert row[status] == r.status.label
            if r.value is not None:
                assert row[value] == pytest.approx(r.value)
    assert any(re.fullmatch(r"[A-Z]+\d+", r[cell] or "") for r in data)
    done = next(r for r in a.indicators.values() if r.indicator.is_milestone and r.done_on)
    row = data[indicator_ids(a, ind).index(done.indicator.id)]
    assert row[column(ind, "是否完成")] == "是" and row[column(ind, "完成日期")].date() == done.done_on


def test_year_end_chart_has_no_on_track(fx, fy):
    """At year end nothing is 序时推进: 图表 leaves that row and its bar out (as the report's chart)."""
    a, wb = fy
    assert not any(a.status_counts(x).get(Status.ON_TRACK) for x in (a.tasks, a.indicators.values(), a.annex))

    def statuses(ws):
        labels = [ws.cell(r, 1).value for r in range(FIRST_ROW + 2, FIRST_ROW + 12)]
        return labels[: labels.index("合计")]

    assert "序时推进" in statuses(fx.wb[SHEET_CHARTS])  # (in the year it is there)
    ws = wb[SHEET_CHARTS]
    shown = statuses(ws)
    assert "序时推进" not in shown and shown[0] == "已完成" and "滞后" in shown
    chart = ws._charts[0]
    first, last = FIRST_ROW + 2, FIRST_ROW + 1 + len(shown)  # the categories are those rows
    for series in chart.series:
        assert series.cat.strRef.f.endswith(f"$A${first}:$A${last}"), series.cat.strRef.f


@needs_soffice
def test_libreoffice_converts_to_pdf(fx, tmp_path):
    src = tmp_path / SUMMARY_FILE
    src.write_bytes(fx.data)
    pdf = soffice_convert(src, "pdf", tmp_path / "pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000


def _fill(cell) -> str | None:
    """The cell's solid fill as #RRGGBB, or None."""
    return f"#{cell.fill.fgColor.rgb[-6:]}" if cell.fill.fill_type == "solid" else None


def test_detail_sheets_cell_formats(fx):
    """任务进展明细, 报送情况 and 收到文件 are written a row at a time, each cell with its own format:
    numbers centred or right, texts wrapped (the three progress texts at the top), the status
    coloured as on the other sheets, a date as a date."""
    from pdreport.assess import REPORTED_STATUS
    from pdreport.summary import STATE_STATUS, STATUS_STYLE

    def fill_of(status) -> str | None:
        return STATUS_STYLE[status][0] if status else None

    ws = fx.wb[SHEET_PROGRESS]
    unreported = {Status.MISSING.label: Status.MISSING, Status.INVALID.label: Status.INVALID}
    seen = set()
    for r in range(FIRST_ROW + 1, FIRST_ROW + 1 + len(rows(ws))):
        number, status = ws.cell(r, 1), ws.cell(r, 4)
        assert isinstance(number.value, int) and number.alignment.horizontal == "center"
        reported = status.value not in unreported
        st = REPORTED_STATUS.get(status.value) if reported else unreported[status.value]
        assert _fill(status) == fill_of(st) and status.alignment.horizontal == "center", (r, status.value)
        for c in range(2, 9):
            cell = ws.cell(r, c)
            assert cell.alignment.wrap_text and cell.border.left.style == "thin"
            top = reported and c in (5, 6, 7)
            assert cell.alignment.vertical == ("top" if top else "center"), (r, c)
        seen.add(reported)
    assert seen == {True, False}  # both kinds of row were looked at

    ws = fx.wb[SHEET_RESPONDENTS]
    state, day, in_time = column(ws, "报送状态") + 1, column(ws, "填报日期") + 1, column(ws, "是否按时") + 1
    dated = 0
    for r in range(FIRST_ROW + 1, FIRST_ROW + 1 + len(rows(ws))):
        assert _fill(ws.cell(r, state)) == fill_of(STATE_STATUS.get(ws.cell(r, state).value))
        cell = ws.cell(r, day)
        if isinstance(cell.value, dt.datetime):
            assert cell.number_format == "yyyy-mm-dd" and cell.alignment.horizontal == "center"
            dated += 1
        else:
            assert cell.value in (None, "") and cell.number_format == "General"
        late = ws.cell(r, in_time)
        assert _fill(late) == (fill_of(Status.BEHIND) if late.value == "否" else None)
        for c in (column(ws, "错误") + 1, column(ws, "提醒") + 1):
            assert isinstance(ws.cell(r, c).value, int) and ws.cell(r, c).alignment.horizontal == "right"
    assert dated == len(fx.a.submitted)

    ws = fx.wb[SHEET_FILES]
    result = column(ws, "处理结果") + 1
    fills = {ws.cell(r, result).value: _fill(ws.cell(r, result)) for r in range(FIRST_ROW + 1, FIRST_ROW + 1 + len(rows(ws)))}
    assert fills[ACCEPTED] == fill_of(Status.DONE)
    assert fills[REJECTED] == fill_of(Status.BEHIND) and fills[SUPERSEDED] == fill_of(Status.MISSING)
    for r in range(FIRST_ROW + 1, FIRST_ROW + 1 + len(fills)):
        assert ws.cell(r, column(ws, "文件类型") + 1).alignment.horizontal == "center"
        for c in (column(ws, "错误") + 1, column(ws, "提醒") + 1):
            assert isinstance(ws.cell(r, c).value, int) and ws.cell(r, c).alignment.horizontal == "right"

    # a late return: 是否按时 “否” coloured as 滞后 (the fixture's returns are all in time)
    a = copy.copy(fx.a)
    a.respondents = [dataclasses.replace(card, on_time=False) if card.submission else card for card in a.respondents]
    ws = openpyxl.load_workbook(io.BytesIO(render_summary(a, fx.col.outcomes)))[SHEET_RESPONDENTS]
    late = [ws.cell(r, in_time) for r in range(FIRST_ROW + 1, FIRST_ROW + 1 + len(rows(ws)))
            if ws.cell(r, in_time).value == "否"]  # fmt: skip
    assert len(late) == len(fx.a.submitted) and all(_fill(c) == fill_of(Status.BEHIND) for c in late)
