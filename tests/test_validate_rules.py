"""Validation rules on real files: 填报日期 range, annex zero divisors, milestone date agreement."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import re
from pathlib import Path

import openpyxl
import pytest
from helpers import needs_soffice, soffice_convert
from hypothesis import given
from hypothesis import strategies as st

from pdreport.assess import Status, assess
from pdreport.collect import ACCEPTED, SUPERSEDED, check_one, collect
from pdreport.demo import fill_template
from pdreport.feedback import build_copy
from pdreport.findings import Code, Severity
from pdreport.template.layout import ANNEX, COVER, TASKS

NEW_CODES = (Code.FILLED_ON_IMPLAUSIBLE, Code.ANNEX_ZERO_BASE, Code.ANNEX_ZERO_MERGED, Code.MILESTONE_DATE_AFTER_PERIOD,
             Code.MILESTONE_DATE_MISSING, Code.MILESTONE_DATE_UNEXPECTED, Code.ANNEX_UNIT_MIXED,
             Code.ANNEX_CHANGE_DOUBTFUL, Code.ANNEX_INTENSITY_LOW)  # fmt: skip


def write_return(folder: Path, name: str, filled, mtime: float | None = None, **changes) -> Path:
    """``filled``'s demo values with ``changes`` ({field key: value}) typed in, saved as ``name``."""
    folder.mkdir(parents=True, exist_ok=True)
    values = dict(filled.values)
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    path = folder / name
    path.write_bytes(fill_template(filled, values=values))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def cell_of(filled, key: str):
    f = next(f for f in filled.layout.fields if f.key == key)
    return f.sheet, f.cell


def new_findings(findings):
    return [f for f in findings if f.code in NEW_CODES]


def test_demo_returns_raise_none_of_the_new_findings(plan, demo_returns):
    col = collect(plan, demo_returns[0], "2024H1", workers=1)
    assert new_findings(col.findings) == []
    assert all(s.filled_on is not None for s in col.submissions.values())


# -- 填报日期 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("day", [dt.datetime(2042, 7, 1), dt.datetime(2023, 12, 31), dt.datetime(2025, 7, 17)])
def test_implausible_filled_on_is_warned_and_not_used(plan, h1, demo, tmp_path, day):
    filled = demo["jjw"]
    p = write_return(tmp_path, "x.xlsx", filled, **{"header.date": day})
    sub, findings = check_one(plan, p, "2024H1")
    (w,) = new_findings(findings)
    assert w.code is Code.FILLED_ON_IMPLAUSIBLE and w.level is Severity.WARNING
    assert (w.sheet, w.cell) == cell_of(filled, "header.date") == (COVER, w.cell)
    assert w.field == "header.date" and w.respondent == "jjw"
    assert day.date().isoformat() in w.message and h1.label in w.message and "2024-07-15" in w.message
    assert "填报日期" in w.hint
    assert sub.filled_on is None and not sub.has_errors


@pytest.mark.parametrize("day", [dt.datetime(2024, 1, 1), dt.datetime(2024, 7, 20), dt.datetime(2025, 7, 16)])
def test_plausible_filled_on_is_kept(plan, demo, tmp_path, day):
    p = write_return(tmp_path, "x.xlsx", demo["jjw"], **{"header.date": day})
    sub, findings = check_one(plan, p, "2024H1")
    assert new_findings(findings) == []
    assert sub.filled_on == day.date()


@pytest.mark.parametrize("typed", [20240710, "20240710", "2024-7-10 14:30", "2024/7/10 14:30:00", "2024年7月10日 14时",
                                   "2024-07-10 周三 14:30", "2024年7月10日（星期三）上午"])
def test_filled_on_typed_as_digits_or_with_a_time_is_read(plan, demo, tmp_path, typed):
    """A clerk's yyyymmdd (the cell holds the number 20240710.0) and a date with a time of day."""
    p = write_return(tmp_path, "x.xlsx", demo["jjw"], **{"header.date": typed})
    sub, findings = check_one(plan, p, "2024H1")
    assert [f for f in findings if f.field == "header.date"] == []
    assert sub.filled_on == dt.date(2024, 7, 10) and not sub.has_errors


@pytest.mark.parametrize("typed", ["2024-07-10（星期二）", "2024年7月10日 周日 9:00"])
def test_filled_on_with_another_weekday_is_kept_and_questioned(plan, demo, tmp_path, typed):
    """2024-07-10 is a Wednesday: the date or the weekday is mistyped, and nothing tells which.
    The date is kept as written (it still decides between duplicates) and the doubt said at the cell."""
    filled = demo["jjw"]
    p = write_return(tmp_path, "x.xlsx", filled, **{"header.date": typed})
    sub, findings = check_one(plan, p, "2024H1")
    (w,) = [f for f in findings if f.field == "header.date"]
    assert w.code is Code.WEEKDAY_MISMATCH and w.level is Severity.WARNING
    assert (w.sheet, w.cell) == cell_of(filled, "header.date") and w.value == typed
    assert w.message.startswith("“填报日期”填的是") and "2024-07-10 是星期三" in w.message
    assert "核对日期" in w.hint
    assert sub.filled_on == dt.date(2024, 7, 10) and not sub.has_errors


@pytest.mark.parametrize("typed", ["六月底", "2024/2/30", 20240230, 12345678, 19991231, True])
def test_every_unreadable_filled_on_says_how_to_write_it(plan, demo, tmp_path, typed):
    p = write_return(tmp_path, "x.xlsx", demo["jjw"], **{"header.date": typed})
    sub, findings = check_one(plan, p, "2024H1")
    (e,) = [f for f in findings if f.field == "header.date"]
    assert e.code is Code.BAD_DATE and e.message.startswith("“填报日期”日期")
    assert e.hint == "请按 2024-06-30 的格式填写日期"
    assert sub.filled_on is None


def test_mistyped_year_does_not_win_between_duplicates(plan, demo, tmp_path):
    filled = demo["jjw"]
    t = dt.datetime(2024, 7, 10, 9).timestamp()
    # the real return: later file time; the draft: older file, but its 填报日期 typed as 2042
    write_return(tmp_path, "正式.xlsx", filled, mtime=t + 3600,
                 **{"header.date": dt.datetime(2024, 7, 8), "ind.T17-1.value": 230})  # fmt: skip
    write_return(tmp_path, "草稿.xlsx", filled, mtime=t,
                 **{"header.date": dt.datetime(2042, 7, 1), "ind.T17-1.value": 100})  # fmt: skip
    col = collect(plan, tmp_path, "2024H1", workers=1)
    sub = col.submissions["jjw"]
    assert sub.file == "正式.xlsx"
    assert {f.indicator: f.value for f in sub.figures}["T17-1"] == 230
    assert {o.file: o.status for o in col.outcomes} == {"正式.xlsx": ACCEPTED, "草稿.xlsx": SUPERSEDED}
    (dup,) = [f for f in col.findings if f.code is Code.DUPLICATE]
    assert dup.file == "草稿.xlsx"
    # collect keeps only the W107 note of a superseded file; the office's self-check shows the date
    assert [f for f in col.findings if f.code is Code.FILLED_ON_IMPLAUSIBLE] == []
    _, findings = check_one(plan, tmp_path / "草稿.xlsx", "2024H1")
    (w,) = new_findings(findings)
    assert w.code is Code.FILLED_ON_IMPLAUSIBLE and w.file == "草稿.xlsx"
    assert (w.sheet, w.cell) == cell_of(filled, "header.date")


def test_mistyped_year_falls_back_to_file_time(plan, demo, tmp_path):
    """With one date unusable, dates cannot rank the copies: file time decides alone, so the newer
    file wins even though the other one has a real (earlier) 填报日期."""
    filled = demo["jjw"]
    t = dt.datetime(2024, 7, 10, 9).timestamp()
    write_return(tmp_path, "a.xlsx", filled, mtime=t, **{"header.date": dt.datetime(2024, 7, 8)})
    write_return(tmp_path, "b.xlsx", filled, mtime=t + 60, **{"header.date": dt.datetime(2042, 7, 1)})
    col = collect(plan, tmp_path, "2024H1", workers=1)
    assert col.submissions["jjw"].file == "b.xlsx"
    (w,) = [f for f in col.findings if f.code is Code.FILLED_ON_IMPLAUSIBLE]  # the kept file's own
    assert w.file == "b.xlsx" and "2042-07-01" in w.message
    (dup,) = [f for f in col.findings if f.code is Code.DUPLICATE]
    assert dup.file == "a.xlsx" and "按文件修改时间判断" in dup.message


def test_a_correction_whose_date_is_unreadable_still_replaces_the_draft(plan, demo, tmp_path):
    """The draft has a proper date and an older file; the correction sent later has 填报日期
    "10月12日" (E210): the correction counts (it is returned for its own errors), and the note on
    the draft says so and counts the draft's own problems."""
    filled = demo["jjw"]
    t = dt.datetime(2024, 7, 10, 9).timestamp()
    write_return(tmp_path, "初稿.xlsx", filled, mtime=t, **{"header.date": dt.datetime(2024, 7, 8),
                                                            "ind.T17-1.value": "约100"})  # fmt: skip
    write_return(tmp_path, "修改稿.xlsx", filled, mtime=t + 3600, **{"header.date": "7月12日"})
    col = collect(plan, tmp_path, "2024H1", workers=1)
    assert col.submissions["jjw"].file == "修改稿.xlsx"
    assert {o.file: o.status for o in col.outcomes} == {"修改稿.xlsx": ACCEPTED, "初稿.xlsx": SUPERSEDED}
    assert [f.file for f in col.findings if f.code is Code.BAD_DATE] == ["修改稿.xlsx"]
    (dup,) = [f for f in col.findings if f.code is Code.DUPLICATE]
    assert dup.file == "初稿.xlsx" and "修改稿.xlsx" in dup.message
    assert "本份另有错误 1 条" in dup.message


def test_the_duplicate_note_names_the_dates_that_decided(plan, demo, tmp_path):
    filled = demo["jjw"]
    write_return(tmp_path, "a.xlsx", filled, mtime=2e9, **{"header.date": dt.datetime(2024, 7, 1)})
    write_return(tmp_path, "b.xlsx", filled, mtime=1e9, **{"header.date": dt.datetime(2024, 7, 9)})
    col = collect(plan, tmp_path, "2024H1", workers=1)
    (dup,) = [f for f in col.findings if f.code is Code.DUPLICATE]
    assert dup.file == "a.xlsx" and "填报日期 2024-07-09 晚于本份的 2024-07-01" in dup.message
    assert "未列出" not in dup.message


# -- annex ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("key, what", [("annex.energy_base", "上年同期综合能耗"),
                                       ("annex.output_base", "上年同期产值"),
                                       ("annex.output_current", "本期产值")])  # fmt: skip
def test_zero_annex_divisor_is_an_error_at_the_cell(plan, h1, demo, tmp_path, key, what):
    filled = demo["kangqiao_zhen"]
    write_return(tmp_path, "康桥镇.xlsx", filled, **{key: 0})
    col = collect(plan, tmp_path, "2024H1", workers=1)
    (e,) = new_findings(col.findings)
    assert e.code is Code.ANNEX_ZERO_BASE and e.is_error
    assert (e.sheet, e.cell) == cell_of(filled, key) and e.sheet == ANNEX
    assert e.field == key and e.file == "康桥镇.xlsx" and e.value == "0"
    assert e.message == f"{what}为 0，无法计算下降率"
    assert "实际" in e.hint
    sub = col.submissions["kangqiao_zhen"]
    assert sub.has_errors and sub.file in col.raws  # gets a feedback copy
    result = assess(plan, col.period, col.submissions, col.findings).unit("kangqiao_zhen")
    assert result.status is Status.INVALID
    assert any("无法计算下降率" in r for r in result.reasons)
    # the feedback copy marks the cell
    wb = openpyxl.load_workbook(io.BytesIO(build_copy(col, sub.file, col.findings_for(sub.file))))
    comment = wb[e.sheet][e.cell].comment
    assert comment is not None and "无法计算下降率" in comment.text


def test_zero_current_energy_is_fine(plan, demo, tmp_path):
    """本期能耗 0 still gives a rate (100% decline): assess does not call it 数据有误."""
    p = write_return(tmp_path, "康桥镇.xlsx", demo["kangqiao_zhen"], **{"annex.energy_current": 0})
    _, findings = check_one(plan, p, "2024H1")
    assert new_findings(findings) == []


def test_negative_annex_figure_is_reported_once(plan, demo, tmp_path):
    p = write_return(tmp_path, "康桥镇.xlsx", demo["kangqiao_zhen"], **{"annex.output_base": -5})
    _, findings = check_one(plan, p, "2024H1")
    assert [f.code for f in findings if f.field == "annex.output_base"] == [Code.OUT_OF_RANGE]


def test_zero_in_a_merged_unit_is_only_a_warning(plan, demo, tmp_path):
    """金桥镇 is added into 金桥管理局 (通知附件注释): only the sum has to be positive."""
    filled = demo["jinqiao_zhen"]
    p = write_return(tmp_path, "金桥镇.xlsx", filled, **{"annex.output_base": 0})
    sub, findings = check_one(plan, p, "2024H1")
    (w,) = new_findings(findings)
    assert w.code is Code.ANNEX_ZERO_MERGED and w.level is Severity.WARNING and w.code.code == "W222"
    assert (w.sheet, w.cell) == cell_of(filled, "annex.output_base")
    assert "金桥管理局" in w.message and not sub.has_errors


def test_an_unassessed_annex_unit_may_leave_its_figures_blank(plan, demo, tmp_path):
    """陆家嘴管理局 has "/" in the annex: its figures are asked for but count nowhere, so a blank is
    no error to send back. 金桥镇 has "/" too, but its figures count in 金桥管理局's: still needed."""
    keys = ("annex.energy_base", "annex.energy_current", "annex.output_base", "annex.output_current")
    blank = dict.fromkeys(keys)
    sub, findings = check_one(plan, write_return(tmp_path, "陆家嘴.xlsx", demo["lujiazui_glj"], **blank), "2024H1")
    assert not [f for f in findings if f.sheet == ANNEX] and not sub.has_errors
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["lujiazui_glj"])))
    assert "不考核，可不填" in wb[ANNEX]["A4"].value
    sub, findings = check_one(plan, write_return(tmp_path, "金桥镇.xlsx", demo["jinqiao_zhen"], **blank), "2024H1")
    assert {f.code for f in findings if f.sheet == ANNEX} == {Code.REQUIRED_MISSING} and sub.has_errors


def _annex_with(filled, key: str, times: float) -> dict:
    """``key`` set to ``times`` the other figure of its pair (本期 against 上年同期 and back): 1/10000
    for 本期产值 is 亿元 typed where 万元 belongs."""
    other = key.replace("_base", "_current") if key.endswith("_base") else key.replace("_current", "_base")
    return {key: round(filled.values[other] * times, 4)}


@pytest.mark.parametrize(("key", "times", "what", "slip"), [
    ("annex.output_current", 1 / 10_000, "本期产值", "亿元或元"),   # 本期 in 亿元
    ("annex.output_base", 1 / 10_000, "本期产值", "亿元或元"),      # 上年同期 in 亿元: 本期 10000 times it
    ("annex.output_current", 10_000, "本期产值", "亿元或元"),       # 本期 in 元
    ("annex.energy_current", 1 / 10_000, "本期综合能耗", "万吨标准煤"),
    ("annex.energy_base", 1_000, "本期综合能耗", "千克标准煤"),
])  # fmt: skip
def test_an_annex_figure_in_the_wrong_unit_is_an_error_and_not_used(plan, demo, tmp_path, key, times, what, slip):
    """538.69 (亿元) typed where 5386927.3 (万元) belongs: no town's industry changes a hundredfold in a
    year, so the pair is not used and the unit is 数据有误 — never 同比上升953169%."""
    filled = demo["chuansha_zhen"]
    write_return(tmp_path, "川沙新镇.xlsx", filled, **_annex_with(filled, key, times))
    col = collect(plan, tmp_path, "2024H1", workers=1)
    (e,) = new_findings(col.findings)
    pair = "output" if "output" in key else "energy"
    assert e.code is Code.ANNEX_UNIT_MIXED and e.is_error and e.code.code == "E223"
    assert (e.sheet, e.cell) == cell_of(filled, f"annex.{pair}_current") and e.field == f"annex.{pair}_current"
    base_cell = cell_of(filled, f"annex.{pair}_base")[1]
    assert e.message.startswith(what) and f"（{base_cell} 格，" in e.message  # names both cells
    assert f"按{slip}填报" in e.message and "两格均未采用" in e.message
    assert "计量单位" in e.hint and ("万元计" in e.hint or "吨标准煤计" in e.hint)
    sub = col.submissions["chuansha_zhen"]
    assert sub.has_errors
    assert getattr(sub.annex, f"{pair}_base") is None and getattr(sub.annex, f"{pair}_current") is None
    other = "energy" if pair == "output" else "output"
    assert getattr(sub.annex, f"{other}_current") == filled.values[f"annex.{other}_current"]
    u = assess(plan, col.period, col.submissions, col.findings).unit("chuansha_zhen")
    assert u.status is Status.INVALID and u.rate is None and "两格均未采用" in u.reason
    # the 退回修改 copy marks both cells: neither was used, and either may be the wrong one
    assert e.also == base_cell
    wb = openpyxl.load_workbook(io.BytesIO(build_copy(col, sub.file, col.findings_for(sub.file))))
    for ref in (e.cell, base_cell):
        c = wb[e.sheet][ref]
        assert c.fill.fgColor.rgb.endswith("FF8080") and "[E223]" in c.comment.text, (ref, c.fill.fgColor.rgb)


@pytest.mark.parametrize(("key", "times", "slip"), [
    ("annex.output_current", 10, "按千元填报，或多打、少打了一位数"),  # 本期 in 千元
    ("annex.output_base", 10.5, "按千元填报，或多打、少打了一位数"),
    ("annex.energy_current", 1 / 10, "多打、少打了一位数"),
    ("annex.output_current", 6, "数值或计量单位填错"),
    ("annex.energy_base", 50, "数值或计量单位填错"),
])  # fmt: skip
def test_an_annex_figure_five_times_last_years_is_questioned_and_used(plan, demo, tmp_path, key, times, slip):
    filled = demo["chuansha_zhen"]
    changed = _annex_with(filled, key, times)
    p = write_return(tmp_path, "川沙新镇.xlsx", filled, **changed)
    sub, findings = check_one(plan, p, "2024H1")
    (w,) = new_findings(findings)
    assert w.code is Code.ANNEX_CHANGE_DOUBTFUL and w.level is Severity.WARNING and w.code.code == "W224"
    assert f"可能{slip}；已按所填采用" in w.message and "情况说明" in w.hint
    assert not sub.has_errors and getattr(sub.annex, key.split(".")[1]) == changed[key]


@pytest.mark.parametrize(("key", "times"), [("annex.output_current", 4.9), ("annex.energy_current", 1 / 4.9),
                                            ("annex.output_base", 0.25), ("annex.energy_current", 0)])  # fmt: skip
def test_a_large_but_possible_change_is_not_questioned(plan, demo, tmp_path, key, times):
    filled = demo["chuansha_zhen"]
    p = write_return(tmp_path, "川沙新镇.xlsx", filled, **_annex_with(filled, key, times))
    _sub, findings = check_one(plan, p, "2024H1")
    assert new_findings(findings) == []


WAN_TONS = {"annex.energy_base": 34.8, "annex.energy_current": 35.35,  # 万吨标准煤 where 吨标准煤 is asked
            "annex.output_base": 9_100_000.0, "annex.output_current": 9_572_744.0}  # fmt: skip


def test_an_annex_intensity_below_a_thousandth_is_questioned_and_used(plan, demo, tmp_path):
    """Energy typed in 万吨标准煤 in both periods: 35.35 against 9,572,744 万元 is 0.0000037 吨标准煤/万元,
    ten thousand times too small, though neither pair differs from last year's (no E223 or W224) and the
    rate is right. One reminder, at 本期综合能耗, naming the figure; taken as typed."""
    filled = demo["chuansha_zhen"]
    p = write_return(tmp_path, "川沙新镇.xlsx", filled, **WAN_TONS)
    sub, findings = check_one(plan, p, "2024H1")
    (w,) = new_findings(findings)
    assert w.code is Code.ANNEX_INTENSITY_LOW and w.level is Severity.WARNING and w.code.code == "W225"
    assert (w.sheet, w.cell) == cell_of(filled, "annex.energy_current") and w.also == cell_of(filled, "annex.energy_base")[1]
    assert w.message.startswith("本期万元产值能耗按所填只有 0.0000037 吨标准煤/万元（综合能耗 35.35吨标准煤 ÷ 产值 9572744万元）")
    assert "上年同期也是如此" in w.message and "万吨标准煤" in w.message and "已按所填采用" in w.message
    assert "1 万吨标准煤填 10000" in w.hint and "情况说明" in w.hint
    assert not sub.has_errors and sub.annex.energy_current == 35.35
    # only last year's below the floor (0.0009, this year's 0.002): said at its cell, with its output
    low_base = {**WAN_TONS, "annex.energy_base": 8_190.0, "annex.energy_current": 19_145.488}
    _sub, findings = check_one(plan, write_return(tmp_path, "b.xlsx", filled, **low_base), "2024H1")
    (w,) = new_findings(findings)
    assert (w.sheet, w.cell) == cell_of(filled, "annex.energy_base") and w.also == cell_of(filled, "annex.output_base")[1]
    assert w.message.startswith("上年同期万元产值能耗按所填只有 0.00090 吨标准煤/万元") and "也是如此" not in w.message
    # one period in 万吨, the other in 吨: E223 leaves both out, and nothing more is said of them
    mixed = {**WAN_TONS, "annex.energy_base": 348_000.0}
    _sub, findings = check_one(plan, write_return(tmp_path, "c.xlsx", filled, **mixed), "2024H1")
    assert [f.code for f in new_findings(findings)] == [Code.ANNEX_UNIT_MIXED]
    # at the floor: nothing
    plausible = {**WAN_TONS, "annex.energy_base": 9_100.0, "annex.energy_current": 9_572.744}
    _sub, findings = check_one(plan, write_return(tmp_path, "d.xlsx", filled, **plausible), "2024H1")
    assert new_findings(findings) == []


def test_a_merged_units_wrong_unit_makes_its_hosts_rate_invalid(plan, demo, tmp_path):
    """金桥镇's 本期产值 in 亿元 would be added to 金桥管理局's 万元: neither is used, so the sum is not."""
    write_return(tmp_path, "金桥镇.xlsx", demo["jinqiao_zhen"],
                 **_annex_with(demo["jinqiao_zhen"], "annex.output_current", 1 / 10_000))  # fmt: skip
    write_return(tmp_path, "金桥管理局.xlsx", demo["jinqiao_glj"])
    col = collect(plan, tmp_path, "2024H1", workers=1)
    (e,) = new_findings(col.findings)
    assert e.code is Code.ANNEX_UNIT_MIXED and e.respondent == "jinqiao_zhen"
    u = assess(plan, col.period, col.submissions, col.findings).unit("jinqiao_glj")
    assert u.status is Status.INVALID and u.rate is None


# -- milestones ----------------------------------------------------------------------------------


def ms_keys(filled, indicator="T09-M1"):
    return f"ind.{indicator}.done", f"ind.{indicator}.date"


def test_done_with_a_date_after_the_period(plan, h1, demo, tmp_path):
    filled = demo["kangqiao_zhen"]
    done, date = ms_keys(filled)
    p = write_return(tmp_path, "康桥镇.xlsx", filled, **{done: "是", date: dt.datetime(2024, 9, 30)})
    sub, findings = check_one(plan, p, "2024H1")
    (w,) = new_findings(findings)
    assert w.code is Code.MILESTONE_DATE_AFTER_PERIOD and w.level is Severity.WARNING
    assert (w.sheet, w.cell) == cell_of(filled, date) and w.sheet == TASKS
    assert "2024-09-30" in w.message and "2024-06-30" in w.message
    (m,) = [m for m in sub.milestones if m.indicator == "T09-M1"]
    assert m.done and m.date == dt.date(2024, 9, 30)  # taken in as reported


def test_done_on_the_last_day_is_fine(plan, demo, tmp_path):
    filled = demo["kangqiao_zhen"]
    done, date = ms_keys(filled)
    p = write_return(tmp_path, "康桥镇.xlsx", filled, **{done: "是", date: dt.datetime(2024, 6, 30)})
    _, findings = check_one(plan, p, "2024H1")
    assert new_findings(findings) == []


def test_done_without_a_date(plan, demo, tmp_path):
    filled = demo["kangqiao_zhen"]
    done, date = ms_keys(filled)
    p = write_return(tmp_path, "康桥镇.xlsx", filled, **{done: "是", date: None})
    _, findings = check_one(plan, p, "2024H1")
    (w,) = new_findings(findings)
    assert w.code is Code.MILESTONE_DATE_MISSING and w.level is Severity.WARNING
    assert (w.sheet, w.cell) == cell_of(filled, date)
    assert "未填写完成日期" in w.message and "补填" in w.hint


def test_not_done_with_a_date(plan, demo, tmp_path):
    filled = demo["kangqiao_zhen"]
    done, date = ms_keys(filled)
    p = write_return(tmp_path, "康桥镇.xlsx", filled, **{done: "否", date: dt.datetime(2024, 5, 12)})
    _, findings = check_one(plan, p, "2024H1")
    (w,) = new_findings(findings)
    assert w.code is Code.MILESTONE_DATE_UNEXPECTED and w.level is Severity.WARNING
    assert (w.sheet, w.cell) == cell_of(filled, date)
    assert "2024-05-12" in w.message


def test_unreadable_date_is_reported_once(plan, demo, tmp_path):
    filled = demo["kangqiao_zhen"]
    done, date = ms_keys(filled)
    p = write_return(tmp_path, "康桥镇.xlsx", filled, **{done: "是", date: "六月底"})
    _, findings = check_one(plan, p, "2024H1")
    assert [(f.code, f.hint) for f in findings if f.field == date] == [(Code.BAD_DATE, "请按 2024-06-30 的格式填写日期")]


def test_milestone_date_with_another_weekday(plan, demo, tmp_path):
    """完成日期 "2024-06-28（周五）" is right (a Friday); "2024-06-27（周五）" is questioned, and used."""
    filled = demo["fgw"]
    changes = {"ind.T03-M1.done": "是", "ind.T03-M1.date": "2024-06-28（周五）",
               "ind.T03-M3.done": "是", "ind.T03-M3.date": "2024-06-27（周五）"}  # fmt: skip
    p = write_return(tmp_path, "区发改委.xlsx", filled, **changes)
    sub, findings = check_one(plan, p, "2024H1")
    (w,) = [f for f in findings if f.code is Code.WEEKDAY_MISMATCH]
    assert (w.sheet, w.cell, w.field) == (*cell_of(filled, "ind.T03-M3.date"), "ind.T03-M3.date")
    assert "2024-06-27 是星期四，不是星期五" in w.message
    dates = {m.indicator: m.date for m in sub.milestones}
    assert dates["T03-M1"] == dt.date(2024, 6, 28) and dates["T03-M3"] == dt.date(2024, 6, 27)


def test_milestone_findings_in_collect(plan, demo, tmp_path):
    """Several milestones of one office (区发改委), each finding at its own 完成日期 cell."""
    filled = demo["fgw"]
    changes = {"ind.T03-M1.done": "是", "ind.T03-M1.date": dt.datetime(2024, 12, 1),
               "ind.T03-M3.done": "是", "ind.T03-M3.date": None,
               "ind.T01-M1.done": "否", "ind.T01-M1.date": dt.datetime(2024, 6, 1)}  # fmt: skip
    write_return(tmp_path, "区发改委.xlsx", filled, **changes)
    col = collect(plan, tmp_path, "2024H1", workers=1)
    got = sorted((f.code.code, f.sheet, f.cell, f.field) for f in new_findings(col.findings))
    want = sorted([
        ("W215", *cell_of(filled, "ind.T03-M1.date"), "ind.T03-M1.date"),
        ("W216", *cell_of(filled, "ind.T03-M3.date"), "ind.T03-M3.date"),
        ("W217", *cell_of(filled, "ind.T01-M1.date"), "ind.T01-M1.date"),
    ])  # fmt: skip
    assert got == want
    assert not col.submissions["fgw"].has_errors


def test_a_percentage_typed_where_an_amount_belongs_is_an_error(plan, demo, tmp_path):
    filled = demo["jjw"]
    key = next(f.key for f in filled.layout.fields if f.key.startswith("ind.") and f.key.endswith(".value")
               and f.unit and f.unit != "%")  # fmt: skip
    unit = next(f.unit for f in filled.layout.fields if f.key == key)
    p = write_return(tmp_path, "区建交委.xlsx", filled, **{key: "5.3%"})
    sub, findings = check_one(plan, p, "2024H1")
    (e,) = [f for f in findings if f.code is Code.WRONG_TYPE]
    assert (e.sheet, e.cell) == cell_of(filled, key) and e.is_error and unit in e.message
    assert key.split(".")[1] not in {x.indicator for x in sub.figures}  # not taken in as 5.3


# -- a formula where a figure belongs -----------------------------------------------------------


def _required_number(filled):
    return next(f for f in filled.layout.fields if f.required and f.kind == "number" and f.key in filled.values)


def test_a_formula_without_a_saved_result_is_said_to_be_one(plan, demo, tmp_path):
    filled = demo["jjw"]
    f = _required_number(filled)
    p = tmp_path / "区建交委.xlsx"  # openpyxl writes the formula and no result, as some tools do
    p.write_bytes(fill_template(filled, values={k: v for k, v in filled.values.items() if k != f.key},
                                edits={(f.sheet, f.cell): "=2+3"}))  # fmt: skip
    _, findings = check_one(plan, p, "2024H1")
    (e,) = [x for x in findings if (x.sheet, x.cell) == (f.sheet, f.cell)]
    assert e.code is Code.WRONG_TYPE and "公式" in e.message and "没有保存计算结果" in e.message
    assert not [x for x in findings if x.code is Code.REQUIRED_MISSING and x.cell == f.cell]


def test_a_formula_in_a_list_cell_is_told_to_be_chosen_from_the_list(plan, demo, tmp_path):
    """The hint says what the cell takes instead: a status is chosen from the list (typing "1", as
    "直接填写数值" said, is E209), a text is typed; never "本表各项只填数值" of a sheet that has both."""
    filled = demo["jjw"]
    edits = {("重点任务", filled.layout.field("task.1.status").cell): "=1/0",
             ("重点任务", filled.layout.field("task.1.progress").cell): "=A1"}  # fmt: skip
    p = tmp_path / "区建交委.xlsx"
    p.write_bytes(fill_template(filled, values={k: v for k, v in filled.values.items()
                                                if k not in ("task.1.status", "task.1.progress")}, edits=edits))  # fmt: skip
    _, findings = check_one(plan, p, "2024H1")
    hints = {f.field: f.hint for f in findings if f.code is Code.WRONG_TYPE}
    assert hints["task.1.status"].startswith("请从下拉列表中选择（不用公式）")
    assert hints["task.1.progress"].startswith("请直接填写文字（不用公式）")
    assert not any("本表各项" in h for h in hints.values())


def test_a_formula_showing_an_error_value_is_said_to_be_one(plan, demo, tmp_path):
    from helpers import SOFFICE, soffice_convert_many

    if SOFFICE is None:
        pytest.skip("LibreOffice is not installed")
    filled = demo["jjw"]
    f = _required_number(filled)
    src = tmp_path / "src" / "区建交委.xlsx"
    src.parent.mkdir()
    src.write_bytes(fill_template(filled, values={k: v for k, v in filled.values.items() if k != f.key},
                                  edits={(f.sheet, f.cell): "=1/0"}))  # fmt: skip
    # LibreOffice saves the result, #DIV/0!, in an .xlsx and (as what calamine reads as empty) in
    # an .ods and an .xls: each is said to be the error it shows, not "未填写"
    for kind in ("xlsx", "ods", "xls"):
        [p] = soffice_convert_many([src], kind, tmp_path / kind)
        _, findings = check_one(plan, p, "2024H1")
        (e,) = [x for x in findings if (x.sheet, x.cell) == (f.sheet, f.cell)]
        assert e.code is Code.WRONG_TYPE and "结果为错误值 #DIV/0!" in e.message, (kind, e.render())


def test_an_inserted_column_drops_the_shifted_columns_instead_of_misreading_them(plan, demo, tmp_path):
    """A column inserted in 重点任务 moves every value one cell right: the column titles no longer
    match, and nothing is read from those columns (before, the status was read as the progress and
    each task got a "not filled in" error besides)."""
    import io

    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["jjw"])))
    wb[TASKS].insert_cols(5)
    p = tmp_path / "区建交委.xlsx"
    wb.save(p)
    sub, findings = check_one(plan, p, "2024H1")
    assert {f.code for f in findings} == {Code.LABEL_CHANGED}
    assert all(f.sheet == TASKS and "本列填报内容未采用" in f.message for f in findings)
    assert sub.tasks == [] and sub.figures  # the other sheets are read as usual


@pytest.mark.parametrize("emptied", [None, "   ", "\u3000"])
def test_an_emptied_label_is_said_to_be_empty(plan, demo, tmp_path, emptied):
    """A cleared label cell (or one left with blanks only) reads 现为空, not 现为“”; an edited one
    still quotes what is there now."""
    filled = demo["jjw"]
    label = next(lb for lb in filled.layout.labels if lb.sheet == "指标" and lb.text == "新能源公交车辆更新数")
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    wb["指标"][label.cell] = emptied
    task_label = next(lb for lb in filled.layout.labels if lb.sheet == TASKS)
    wb[TASKS][task_label.cell] = "任务"  # not the template's text
    p = tmp_path / "区建交委.xlsx"
    wb.save(p)
    _sub, findings = check_one(plan, p, "2024H1")
    by_cell = {(f.sheet, f.cell): f for f in findings if f.code is Code.LABEL_CHANGED}
    cleared = by_cell[("指标", label.cell)]
    assert cleared.message.startswith("此处应为“新能源公交车辆更新数”，现为空；") and "“”" not in cleared.message
    assert "现为“任务”；" in by_cell[(TASKS, task_label.cell)].message


# -- rows typed below a table ----------------------------------------------------------------


def _last_row(filled, sheet: str) -> int:
    """1-based row of the last field or label of ``sheet`` in the template."""
    from pdreport.intake.records import cell_rowcol

    cells = [c.cell for c in (*filled.layout.fields, *filled.layout.labels) if c.sheet == sheet]
    return max(cell_rowcol(c)[0] for c in cells) + 1


def test_a_row_typed_below_a_table_is_reported_not_dropped_silently(plan, demo, tmp_path):
    """An office that unprotects the sheet and adds its own indicator row under the table: the row
    is not read (nothing maps it), and the office and the coordinator are told so at that row."""
    filled = demo["jjw"]
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    below = _last_row(filled, "指标") + 4  # under the signature line
    wb["指标"][f"A{below - 2}"] = "单位负责人（审核人）：张三      填报人：李四"  # as Excel shows it
    wb["指标"][f"C{below}"] = "新增公共充电桩"
    wb["指标"][f"H{below}"] = 1200
    wb[TASKS][f"B{_last_row(filled, TASKS) + 1}"] = "另：本单位还开展了节能宣传周活动"
    wb[COVER][f"B{_last_row(filled, COVER) + 5}"] = "（单位盖章）"  # the cover has text below its fields
    p = tmp_path / "区建交委.xlsx"
    wb.save(p)
    sub, findings = check_one(plan, p, "2024H1")
    stray = [f for f in findings if f.code is Code.OUTSIDE_TABLE]
    assert [(f.sheet, f.cell) for f in stray] == [("指标", f"C{below}"), (TASKS, f"B{_last_row(filled, TASKS) + 1}")]
    assert stray[0].level is Severity.WARNING and stray[0].respondent == "jjw"
    assert f"第 {below} 行" in stray[0].message and "新增公共充电桩" in stray[0].message
    assert "情况说明" in stray[0].hint
    assert not sub.has_errors and {f.code for f in findings} == {Code.OUTSIDE_TABLE}


def test_rows_moved_down_by_an_inserted_row_are_left_to_the_label_check(plan, demo, tmp_path):
    filled = demo["jjw"]
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    wb["指标"].insert_rows(6)  # inside the table: every later row moves down, the last one past it
    p = tmp_path / "区建交委.xlsx"
    wb.save(p)
    _sub, findings = check_one(plan, p, "2024H1")
    assert Code.LABEL_CHANGED in {f.code for f in findings}
    assert Code.OUTSIDE_TABLE not in {f.code for f in findings}


def test_a_row_added_below_is_quoted_by_its_name_not_its_number(plan, demo, tmp_path):
    filled = demo["jjw"]
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    ws, below = wb["指标"], _last_row(filled, "指标") + 3
    ws[f"A{below}"], ws[f"C{below}"], ws[f"D{below}"], ws[f"H{below}"] = 17, "新增充电桩（自加）", "个", 50
    wb.save(tmp_path / "x.xlsx")
    _sub, findings = check_one(plan, tmp_path / "x.xlsx", "2024H1")
    (w,) = [f for f in findings if f.code is Code.OUTSIDE_TABLE]
    assert w.cell == f"C{below}" and "“新增充电桩（自加）”" in w.message and f"第 {below} 行" in w.message
    # a row of figures alone is quoted by its first one
    wb[TASKS][f"D{_last_row(filled, TASKS) + 1}"], wb[TASKS][f"F{_last_row(filled, TASKS) + 1}"] = 3, 12.5
    wb.save(tmp_path / "y.xlsx")
    _sub, findings = check_one(plan, tmp_path / "y.xlsx", "2024H1")
    assert [f.cell for f in findings if f.code is Code.OUTSIDE_TABLE and f.sheet == TASKS] == [
        f"D{_last_row(filled, TASKS) + 1}"]


def test_text_typed_right_of_a_table_is_reported_not_dropped_silently(plan, demo, tmp_path):
    """An office that unprotects 重点任务 and writes a note in the column after 下一步工作."""
    filled = demo["jjw"]
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    wb[TASKS]["I6"] = "补充：光伏项目明细见附件"
    wb["指标"]["L7"], wb["指标"]["M7"] = 2, "含专用桩"
    wb["指标"]["K1"] = "（草稿）"  # beside the title, above the table
    wb.save(tmp_path / "x.xlsx")
    sub, findings = check_one(plan, tmp_path / "x.xlsx", "2024H1")
    stray = {(f.sheet, f.cell): f for f in findings if f.code is Code.OUTSIDE_TABLE}
    assert set(stray) == {(TASKS, "I6"), ("指标", "M7"), ("指标", "K1")}
    w = stray[(TASKS, "I6")]
    assert "第 6 行表格右侧（I 列）" in w.message and "补充：光伏项目明细见附件" in w.message
    assert "表格右侧" in w.hint and w.level is Severity.WARNING
    assert "“含专用桩”" in stray[("指标", "M7")].message and not sub.has_errors


def test_a_sheet_the_office_added_is_reported_not_dropped_silently(plan, demo, tmp_path):
    """A 补充说明 sheet with a note on more PV: not read, and said so once (its first filled row);
    an empty added sheet, a hidden one (a program's own) and the template's sheets say nothing."""
    filled = demo["jjw"]
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    extra = wb.create_sheet("补充说明")
    extra["B3"], extra["B4"] = "另有光伏项目 2.3 万千瓦已并网，未计入", "第二行"
    wb.create_sheet("Sheet3")
    wb.create_sheet("隐藏")["A1"] = "x"
    wb["隐藏"].sheet_state = "hidden"
    wb.save(tmp_path / "x.xlsx")
    sub, findings = check_one(plan, tmp_path / "x.xlsx", "2024H1")
    (w,) = [f for f in findings if f.code is Code.OUTSIDE_TABLE]
    assert (w.sheet, w.cell, w.level) == ("补充说明", "B3", Severity.WARNING)
    assert w.message == "另加的工作表“补充说明”中的内容（“另有光伏项目 2.3 万千瓦已并网，未计入”等）未采用"
    assert "只读取下发的工作表" in w.hint and not sub.has_errors


def test_text_right_of_the_annex_table_is_reported(plan, demo, tmp_path):
    """附件指标's own 说明 column (按统计口径填报, 自动计算) is the table's: only what is beyond it counts."""
    filled = demo["kangqiao_zhen"]
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    wb[ANNEX]["F7"] = "产值单位为亿元"
    wb.save(tmp_path / "x.xlsx")
    _sub, findings = check_one(plan, tmp_path / "x.xlsx", "2024H1")
    assert [(f.sheet, f.cell) for f in findings if f.code is Code.OUTSIDE_TABLE] == [(ANNEX, "F7")]


def test_columns_moved_right_by_an_inserted_column_are_left_to_the_label_check(plan, demo, tmp_path):
    filled = demo["jjw"]
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    wb["指标"].insert_cols(5)  # inside the table: the last column moves past it
    wb.save(tmp_path / "x.xlsx")
    _sub, findings = check_one(plan, tmp_path / "x.xlsx", "2024H1")
    assert Code.LABEL_CHANGED in {f.code for f in findings}
    assert Code.OUTSIDE_TABLE not in {f.code for f in findings}


def test_no_template_writes_right_of_its_tables(plan, demo_returns):
    """TABLE_WIDTHS is how wide each table sheet is as templates are written: the demo returns (every
    respondent's template, filled) have nothing outside their tables."""
    col = collect(plan, demo_returns[0], "2024H1", workers=1)
    assert [f for f in col.findings if f.code is Code.OUTSIDE_TABLE] == []


def test_many_stray_rows_are_capped(plan, demo, tmp_path):
    from pdreport.intake.records import MAX_STRAY_ROWS

    filled = demo["jjw"]
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    start = _last_row(filled, "指标") + 1
    for r in range(start, start + 3 * MAX_STRAY_ROWS):
        wb["指标"][f"K{r}"] = f"备注{r}"
    p = tmp_path / "区建交委.xlsx"
    wb.save(p)
    _sub, findings = check_one(plan, p, "2024H1")
    stray = [f for f in findings if f.code is Code.OUTSIDE_TABLE]
    assert len(stray) == MAX_STRAY_ROWS and stray[0].cell == f"K{start}"
    # beside the table and below it: one cap for the sheet, the rows above first
    for r in range(1, start):
        wb["指标"][f"L{r}"] = f"旁注{r}"
    wb.save(p)
    _sub, findings = check_one(plan, p, "2024H1")
    stray = [f for f in findings if f.code is Code.OUTSIDE_TABLE]
    assert len(stray) == MAX_STRAY_ROWS and [f.cell for f in stray[:2]] == ["L1", "L2"]


# -- fractions in % cells ----------------------------------------------------------------------


@pytest.mark.parametrize(("rid", "key", "typed", "read", "converted"), [
    ("fgw", "ind.H1.value", 0.9, 0.9, False),      # a real 0.9 % fall (target 5.3 %), not 90 %
    ("kjw", "ind.H2.value", 0.6, 0.6, False),
    ("fgw", "ind.H1.value", -0.5, -0.5, False),    # a 0.5 % rise
    ("fgw", "ind.H1.value", 0.053, 0.053, False),  # a rate: a real 0.053 % fall is possible (W220)
    ("fgw", "ind.H1.value", 0.1, 0.1, False),      # … and 0.1 % is no 10 % (滞后, not 序时推进)
    ("sww", "ind.H4.value", 0.006, 0.6, True),     # 0.6 % typed into a cell Excel made a % cell
    ("jjw", "ind.T17-2.value", 0.969, 96.9, True),  # a share: 0.969 can only be 96.9 %
    ("jjw", "ind.T17-2.value", 96.9, 96.9, False),
    ("jjw", "ind.T17-2.value", "0.969", 96.9, True),  # the same as text (a cell formatted as 文本)
    ("jjw", "ind.T17-2.value", "０.９６９", 96.9, True),
    ("fgw", "ind.H1.value", "0.9", 0.9, False),
    ("jjw", "ind.T17-2.value", "0.969%", 0.969, False),  # typed with its %: meant as it stands
])  # fmt: skip
def test_a_fraction_is_read_as_a_percentage_only_where_nothing_else_is_plausible(
        plan, demo, tmp_path, rid, key, typed, read, converted):  # fmt: skip
    p = write_return(tmp_path, "x.xlsx", demo[rid], **{key: typed})
    sub, findings = check_one(plan, p, "2024H1")
    indicator = key.split(".")[1]
    (fig,) = [x for x in sub.figures if x.indicator == indicator]
    assert fig.value == pytest.approx(read)
    w204 = [f for f in findings if f.code is Code.PERCENT_NORMALISED and f.field == key
            and "小数形式的百分比" in f.message]  # (not the W204 of a typed "%")
    assert bool(w204) is converted
    if key == "ind.H1.value" and isinstance(typed, float) and 0 < typed < 0.53:  # (within 10 targets ×100)
        (w220,) = [f for f in findings if f.code is Code.PERCENT_MAYBE_FRACTION]
        assert f"已按 {typed}% 采用；如本意是 {typed * 100:g}%" in w220.message


def test_a_task_row_rejected_for_an_edit_is_data_error_not_missing(plan, h1, demo, tmp_path):
    """康桥镇 inserts a row in 重点任务: its task rows are not taken in (E208), and the tasks say
    数据有误 for 康桥镇 — not that 康桥镇 sent nothing."""
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["kangqiao_zhen"])))
    wb[TASKS].insert_rows(6)
    wb.save(tmp_path / "康桥镇.xlsx")
    col = collect(plan, tmp_path, "2024H1", workers=1)
    assert Code.LABEL_CHANGED in {f.code for f in col.findings if f.file == "康桥镇.xlsx"}
    a = assess(plan, h1, col.submissions, col.findings)
    theirs = [t for t in a.tasks if "kangqiao_zhen" in t.task.respondents]
    assert theirs
    shifted = [t for t in theirs if "kangqiao_zhen" in t.invalid_by]
    assert shifted and all("kangqiao_zhen" not in t.owed_by for t in theirs)
    for t in shifted:
        assert "数据有误（本单位此项填报未采用）：康桥镇" in t.reason
        assert "kangqiao_zhen" not in t.owed_by


@pytest.mark.parametrize(("edit", "said", "hint"), [
    ("insert", "第6行处插入了1行，以下各行下移", "请删除第6行处插入的1行后重新报送"),
    ("delete", "第6行附近删除了1行，以下各行上移", "请使用下发的填报表重新填写"),
])  # fmt: skip
def test_rows_inserted_or_deleted_are_said_as_such(plan, demo, tmp_path, edit, said, hint):
    """One row inserted in 重点任务 moves every row below: each moved row is an E208, and each says
    what happened (and how to undo it), not only that its name changed."""
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["kangqiao_zhen"])))
    getattr(wb[TASKS], f"{edit}_rows")(6)
    wb.save(tmp_path / "康桥镇.xlsx")
    _sub, findings = check_one(plan, tmp_path / "康桥镇.xlsx", "2024H1")
    e208 = [f for f in findings if f.code is Code.LABEL_CHANGED]
    assert len(e208) >= 4 and all(said in f.message and hint in f.hint for f in e208)
    # an edited name, nothing moved, says no more than that
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["kangqiao_zhen"])))
    wb[TASKS]["B7"] = "自己改的任务名称"
    wb.save(tmp_path / "改名.xlsx")
    _sub, findings = check_one(plan, tmp_path / "改名.xlsx", "2024H1")
    (e,) = [f for f in findings if f.code is Code.LABEL_CHANGED]
    assert "插入" in e.message and "行处" not in e.message  # (the generic "可能被插入/删除行列")
    # two names edited into their neighbours' (the names between still as written): no insertion
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["kangqiao_zhen"])))
    wb[TASKS]["B8"] = wb[TASKS]["B7"].value
    wb[TASKS]["B10"] = wb[TASKS]["B9"].value
    wb.save(tmp_path / "邻行.xlsx")
    _sub, findings = check_one(plan, tmp_path / "邻行.xlsx", "2024H1")
    e208 = [f for f in findings if f.code is Code.LABEL_CHANGED]
    assert len(e208) == 2 and not any("行处" in f.message or "行之间" in f.message for f in e208)


def test_a_figure_ten_times_the_target_is_questioned(plan, demo, tmp_path):
    """26000 for a 2600 target: one digit too many, or the wrong unit — a warning at the cell."""
    p = write_return(tmp_path, "x.xlsx", demo["jjw"], **{"ind.T18-3.value": 26000})
    sub, findings = check_one(plan, p, "2024H1")
    (w,) = [f for f in findings if f.code is Code.UNIT_MAGNITUDE]
    assert w.field == "ind.T18-3.value" and "10倍" in w.message
    # (its example is in the indicator's own unit, and only where the unit counts in 万)
    assert w.hint == "请确认计量单位为“个”，并核对是否多打了数位"
    assert {f.indicator: f.value for f in sub.figures}["T18-3"] == 26000  # taken as typed
    p = write_return(tmp_path, "z.xlsx", demo["jjw"], **{"ind.H5.value": 1000})  # 建筑节能改造, 10 万平方米
    _, findings = check_one(plan, p, "2024H1")
    (w,) = [f for f in findings if f.code is Code.UNIT_MAGNITUDE]
    assert w.hint == "请确认计量单位为“万平方米”（如 15万平方米应填 15，而不是 150000），并核对是否多打了数位"
    p = write_return(tmp_path, "y.xlsx", demo["jjw"], **{"ind.T18-3.value": 25000})
    _, findings = check_one(plan, p, "2024H1")
    assert Code.UNIT_MAGNITUDE not in {f.code for f in findings}


@pytest.mark.parametrize(("rid", "key", "typed", "said"), [
    ("jjw", "ind.H6.value", 95, "即同比下降95%"),     # target 下降1%: a level or a share, not a rate
    ("jjw", "ind.H6.value", -30, "即同比上升30%"),
    ("jjw", "ind.H6.value", 20, "即同比下降20%"),
    ("fgw", "ind.H1.value", 53, "即同比下降53%"),     # target 下降5.3%
    ("fgw", "ind.H1.value", 43.2, "即同比下降43.2%"), # 4.32 with the point slipped
    ("fgw", "ind.H1.value", 20, "即同比下降20%"),     # a district's intensity does not fall a fifth in a year
])  # fmt: skip
def test_a_rate_far_beyond_its_target_is_questioned(plan, demo, tmp_path, rid, key, typed, said):
    p = write_return(tmp_path, "x.xlsx", demo[rid], **{key: typed})
    sub, findings = check_one(plan, p, "2024H1")
    (w,) = [f for f in findings if f.code is Code.UNIT_MAGNITUDE]
    assert w.field == key and w.level is Severity.WARNING
    assert said in w.message and "倍" in w.message and "同比变化率" in w.hint and "-2" in w.hint
    assert {f.indicator: f.value for f in sub.figures}[key.split(".")[1]] == typed  # taken as typed
    assert not sub.has_errors


@pytest.mark.parametrize(("rid", "key", "typed"), [
    ("jjw", "ind.H6.value", 10),    # ten times a 1 % target, but a 10 % fall is no slip
    ("jjw", "ind.H6.value", -19.9),
    ("fgw", "ind.H1.value", 19.9),  # under 20 points
    ("fgw", "ind.H1.value", -8),
])  # fmt: skip
def test_a_rate_within_reason_is_not_questioned(plan, demo, tmp_path, rid, key, typed):
    p = write_return(tmp_path, "x.xlsx", demo[rid], **{key: typed})
    _sub, findings = check_one(plan, p, "2024H1")
    assert Code.UNIT_MAGNITUDE not in {f.code for f in findings}


@pytest.mark.parametrize(("typed", "unit", "hint"), [
    ("15万平方米", "万平方米", "计量单位已是“万平方米”，只填数字 15"),
    ("１.５万千瓦", "万千瓦", "计量单位已是“万千瓦”，只填数字 1.5"),
    ("12万", "个", "本格以“个”计，请换算后只填数字（12万填 120000）"),
    ("约20", "个", "只填数字（如 20）"),
    ("见附件", "个", "只填一个数字（以本格的计量单位计）；文字说明写在“情况说明”中"),
])  # fmt: skip
def test_a_number_written_with_words_gets_a_hint_that_says_what_to_type(typed, unit, hint):
    from pdreport.intake.number_hint import number_hint

    assert number_hint(typed, unit).startswith(hint)


def test_the_hint_reaches_the_finding(plan, demo, tmp_path):
    p = write_return(tmp_path, "x.xlsx", demo["jjw"], **{"ind.H5.value": "15万平方米"})
    _, findings = check_one(plan, p, "2024H1")
    (e,) = [f for f in findings if f.field == "ind.H5.value"]
    assert e.code is Code.WRONG_TYPE and e.hint == "计量单位已是“万平方米”，只填数字 15"


def renamed_return(tmp_path, filled, names: dict[str, str], edit=None, name: str = "x.xlsx") -> Path:
    """``filled`` with its sheets renamed ({template name: new name}), ``edit(wb)`` done first."""
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    if edit is not None:
        edit(wb)
    for old, new in names.items():
        wb[old].title = new
    tmp_path.mkdir(parents=True, exist_ok=True)
    wb.save(tmp_path / name)
    return tmp_path / name


def test_two_renamed_copies_of_a_sheet_are_named_and_neither_is_read(plan, demo, tmp_path):
    def copy(wb):
        wb.copy_worksheet(wb["指标"]).title = "指标-旧"

    path = renamed_return(tmp_path, demo["jjw"], {"指标": "指标-新"}, edit=copy)
    _sub, findings = check_one(plan, path, "2024H1")
    [e109] = [f for f in findings if f.code is Code.SHEET_MISSING]
    assert e109.sheet == "指标" and "“指标-新”“指标-旧”这两个工作表都像是它改名后的副本，无法确定以哪个为准" in e109.message
    assert e109.hint == "请只保留填好的一份，把名称改回“指标”，删去其余的副本后重新报送"


def renamed_warnings(findings) -> dict[str, tuple[str, str, str]]:
    return {f.sheet: (f.value, f.message, f.hint) for f in findings if f.code is Code.SHEET_RENAMED}


def test_a_sheet_renamed_with_the_units_name_is_read_with_the_way_back(plan, demo, tmp_path):
    filled = demo["jjw"]
    plain, _ = check_one(plan, write_return(tmp_path, "plain.xlsx", filled), "2024H1")
    sub, findings = check_one(plan, renamed_return(tmp_path, filled, {"指标": "指标（区建交委）"}), "2024H1")
    assert [f.code for f in findings] == [Code.SHEET_RENAMED] and not sub.has_errors
    (w,) = findings
    assert w.level is Severity.WARNING and w.code.code == "W110" and w.sheet == "指标" and w.cell == ""
    assert w.message == "工作表“指标”被改名为“指标（区建交委）”，已按“指标”读取其中的内容"
    assert w.hint.startswith("请把工作表“指标（区建交委）”的名称改回“指标”；内容已采用，不必重新填写")
    assert sub.figures == [dataclasses.replace(f, source=dataclasses.replace(f.source, file="x.xlsx"))
                           for f in plain.figures]  # fmt: skip


@pytest.mark.parametrize("name", ["指标 ", " 指标", "\u3000指标", "指标\u3000\u3000", "指 标"])
def test_a_sheet_name_differing_only_in_white_space_is_the_same_sheet(plan, demo, tmp_path, name):
    filled = demo["jjw"]
    sub, findings = check_one(plan, renamed_return(tmp_path, filled, {"指标": name}), "2024H1")
    assert not sub.has_errors and [f.code for f in findings] == [Code.SHEET_RENAMED]
    value, message, hint = renamed_warnings(findings)["指标"]
    assert value == name.strip() or value == name  # (a finding's value may be cleaned)
    assert message == f"工作表“{name}”的名称与下发时的“指标”只差空格，已按“指标”读取"
    assert hint.startswith("一般无需处理") and "改回" not in hint
    assert len(sub.figures) == len(filled.layout.indicators)


@pytest.mark.parametrize("name", ["任务", "Sheet2", "Sheet1"])
def test_a_sheet_renamed_to_anything_is_read_when_its_labels_are_the_templates(plan, demo, tmp_path, name):
    filled = demo["jjw"]
    sub, findings = check_one(plan, renamed_return(tmp_path, filled, {TASKS: name}), "2024H1")
    assert not sub.has_errors and [f.code for f in findings] == [Code.SHEET_RENAMED]
    assert renamed_warnings(findings)[TASKS][0] == name
    assert len(sub.tasks) == len(filled.layout.tasks) and all(t.status for t in sub.tasks)
    assert {t.source.sheet for t in sub.tasks} == {TASKS}  # (sources keep the template's names)


def test_two_sheets_renamed_are_each_found_by_their_labels(plan, demo, tmp_path):
    filled = demo["chuansha_zhen"]
    p = renamed_return(tmp_path, filled, {"指标": "A", ANNEX: "B", TASKS: "附件指标（川沙）"})
    sub, findings = check_one(plan, p, "2024H1")
    assert not sub.has_errors
    assert {s: v for s, (v, _m, _h) in renamed_warnings(findings).items()} == {
        "指标": "A", ANNEX: "B", TASKS: "附件指标（川沙）"}  # fmt: skip
    assert sub.annex is not None and sub.tasks and sub.figures


def test_a_sheet_of_the_offices_own_is_never_read_as_the_missing_one(plan, demo, tmp_path):
    """Only one sheet missing and one the template does not have: still not read when its labels
    are not the template's (the office deleted 重点任务 and added notes of its own)."""
    def own_sheet(wb):
        del wb[TASKS]
        ws = wb.create_sheet("Sheet2")
        ws["A1"], ws["B5"], ws["E5"] = "备注", "自己的说明", "已完成"

    sub, findings = check_one(plan, renamed_return(tmp_path, demo["jjw"], {}, own_sheet), "2024H1")
    assert [(f.code, f.sheet) for f in findings] == [(Code.SHEET_MISSING, TASKS)]
    assert "请使用下发的填报表重新填写" in findings[0].hint and sub.tasks == []


def test_two_copies_of_a_renamed_sheet_are_not_guessed_between(plan, demo, tmp_path):
    def copy(wb):
        wb.copy_worksheet(wb[TASKS]).title = "任务"

    sub, findings = check_one(plan, renamed_return(tmp_path, demo["jjw"], {TASKS: "任务2"}, copy), "2024H1")
    assert [f.code for f in findings] == [Code.SHEET_MISSING] and sub.tasks == []


def test_a_renamed_sheet_keeps_every_label_check(plan, demo, tmp_path):
    """E208 on the renamed sheet: the edited row is not taken in; a row typed below is W218."""
    filled = demo["jjw"]
    title = next(lb for lb in filled.layout.labels if lb.sheet == TASKS and lb.text == filled.layout.tasks[0].task.title)

    def edit(wb):
        wb[TASKS][title.cell] = title.text + "（改）"
        wb[TASKS]["A60"] = "自己加的一行"

    sub, findings = check_one(plan, renamed_return(tmp_path, filled, {TASKS: "任务"}, edit), "2024H1")
    found = {(f.code, f.sheet, f.cell) for f in findings}
    assert found == {(Code.SHEET_RENAMED, TASKS, ""), (Code.LABEL_CHANGED, TASKS, title.cell),
                     (Code.OUTSIDE_TABLE, TASKS, "A60")}  # fmt: skip
    assert filled.layout.tasks[0].task.number not in {t.task for t in sub.tasks}
    assert len(sub.tasks) == len(filled.layout.tasks) - 1


def test_a_return_with_its_sheets_as_sent_never_looks_for_renamed_ones(plan, demo, tmp_path, monkeypatch):
    """(Intake is benchmarked: the search costs nothing on a normal return.)"""
    import pdreport.intake.records as records

    def fail(*_args):
        raise AssertionError("looked for renamed sheets")

    monkeypatch.setattr(records, "renamed_sheets", fail)
    sub, findings = check_one(plan, write_return(tmp_path, "x.xlsx", demo["jjw"]), "2024H1")
    assert findings == [] and sub.tasks


def test_blanks_and_percent_cells_are_explained_on_a_renamed_sheet(plan, demo, tmp_path):
    """What collect looks up in the file itself (a formula without result, a cell formatted as a
    percentage) is found on the sheet as the office named it."""
    filled = demo["jjw"]
    share = next(f for f in filled.layout.fields if f.sheet == "指标" and f.unit == "%")
    other = next(f for f in filled.layout.fields if f.sheet == "指标" and f.kind == "number" and f is not share)

    def edit(wb):
        wb["指标"][share.cell] = 0.025
        wb["指标"][share.cell].number_format = "0.0%"
        wb["指标"][other.cell] = "=1/0"

    _, findings = check_one(plan, renamed_return(tmp_path, filled, {"指标": "Sheet1"}, edit), "2024H1")
    by_field = {f.field: f for f in findings}
    assert by_field[share.key].code is Code.PERCENT_NORMALISED and "百分比格式" in by_field[share.key].message
    assert by_field[other.key].code is Code.WRONG_TYPE and "公式" in by_field[other.key].message


@pytest.mark.parametrize("kind", ["xlsx", pytest.param("ods", marks=needs_soffice)])
def test_the_feedback_copy_of_a_return_with_a_renamed_sheet(plan, demo, tmp_path, kind):
    """The office's own copy keeps its sheet name, and the marks are on it; a copy rebuilt from
    the template (.ods) has the template's name and says no renaming back is needed."""
    filled = demo["jjw"]
    status = next(f for f in filled.layout.fields if f.key.startswith("task.") and f.key.endswith(".status"))

    def edit(wb):
        wb[TASKS][status.cell] = "进行中"

    d = tmp_path / "in"
    p = renamed_return(d, filled, {TASKS: "任务"}, edit, "区建交委.xlsx")
    if kind == "ods":
        converted = soffice_convert(p, "ods", tmp_path / "ods")
        p.unlink()
        p = d / converted.name
        converted.rename(p)
    col = collect(plan, d, "2024H1", workers=1)
    sub = col.submissions["jjw"]
    assert sub.has_errors
    wb = openpyxl.load_workbook(io.BytesIO(build_copy(col, sub.file, col.findings_for(sub.file))))
    sheet = "任务" if kind == "xlsx" else TASKS
    assert sheet in wb.sheetnames and (TASKS if kind == "xlsx" else "任务") not in wb.sheetnames
    cell = wb[sheet][status.cell]
    assert cell.value == "进行中" and "[E209]" in cell.comment.text
    notes = {row[1]: row[5] for row in wb["退回说明"].iter_rows(min_row=8, values_only=True)}
    assert set(notes) == {sheet}
    rows = list(wb["退回说明"].iter_rows(min_row=8, values_only=True))
    renamed = next(r for r in rows if r[2] is None)
    if kind == "xlsx":
        assert renamed[5].startswith("请把工作表“任务”的名称改回“重点任务”")
    else:
        assert renamed[5] == "本副本按下发的填报表重建，工作表名称已是“重点任务”，无需再改"


def test_a_fraction_of_a_bus_is_questioned(plan, demo, tmp_path):
    p = write_return(tmp_path, "x.xlsx", demo["jjw"], **{"ind.T17-1.value": 230.5})
    sub, findings = check_one(plan, p, "2024H1")
    (w,) = [f for f in findings if f.code is Code.NOT_WHOLE]
    assert w.field == "ind.T17-1.value" and "辆" in w.message and "230.5" in w.message
    assert {f.indicator: f.value for f in sub.figures}["T17-1"] == 230.5
    assert not sub.has_errors


def test_demo_returns_report_whole_numbers_for_counts(plan, h1, demo):
    for filled in demo.values():
        for row in filled.layout.indicators:
            value = filled.values.get(f"ind.{row.indicator.id}.value")
            if row.indicator.counted and isinstance(value, float):
                assert value.is_integer(), (filled.respondent, row.indicator.id, value)


def test_a_renamed_column_title_makes_its_figures_data_errors_not_missing(plan, h1, demo, tmp_path):
    """填报值 renamed 填报值（%）: the whole column is dropped (E208), and each of its figures is
    数据有误 for that unit — it was typed, not left out."""
    filled = demo["jjw"]
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    header = next(lb for lb in filled.layout.labels if lb.sheet == "指标" and lb.text == "填报值")
    wb["指标"][header.cell] = "填报值（%）"
    wb.save(tmp_path / "区建交委.xlsx")
    col = collect(plan, tmp_path, "2024H1", workers=1)
    a = assess(plan, h1, col.submissions, col.findings)
    mine = [r for r in a.indicators.values() if not r.indicator.is_milestone
            and any(rep.respondent == "jjw" for rep in r.reports)]  # fmt: skip
    assert mine
    for r in mine:
        rep = next(rep for rep in r.reports if rep.respondent == "jjw")
        assert rep.state == "invalid", (r.indicator.id, rep)


def test_an_edited_item_name_does_not_hide_a_row_added_below(plan, demo, tmp_path):
    filled = demo["jjw"]
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(filled)))
    name = next(lb for lb in filled.layout.labels if lb.sheet == "指标" and lb.cell.startswith("C")
                and lb.cell != "C4")  # an item's name, not the last row  # fmt: skip
    wb["指标"][name.cell] = name.text + "（含专用）"
    extra = _last_row(filled, "指标") + 8
    wb["指标"][f"C{extra}"] = "新增：换电站建设数（座）"
    wb.save(tmp_path / "x.xlsx")
    _sub, findings = check_one(plan, tmp_path / "x.xlsx", "2024H1")
    codes = {(f.code, f.cell) for f in findings}
    assert (Code.LABEL_CHANGED, name.cell) in codes and (Code.OUTSIDE_TABLE, f"C{extra}") in codes


def test_the_duplicate_note_says_file_time_decided_for_the_whole_group(plan, demo, tmp_path):
    """Three copies, the middle one with a mistyped year: file time ranks all three, and the note on
    the oldest copy says so (it does not compare its own date with the kept one's)."""
    filled = demo["kjw"]
    t = dt.datetime(2024, 7, 10, 9).timestamp()
    write_return(tmp_path, "终稿.xlsx", filled, mtime=t + 7200, **{"header.date": dt.datetime(2024, 7, 10)})
    write_return(tmp_path, "修改.xlsx", filled, mtime=t + 3600, **{"header.date": dt.datetime(2042, 7, 11)})
    write_return(tmp_path, "初稿.xlsx", filled, mtime=t, **{"header.date": dt.datetime(2024, 7, 12)})
    col = collect(plan, tmp_path, "2024H1", workers=1)
    assert col.submissions["kjw"].file == "终稿.xlsx"
    notes = {f.file: f.message for f in col.findings if f.code is Code.DUPLICATE}
    assert set(notes) == {"修改.xlsx", "初稿.xlsx"}
    assert all("按文件修改时间判断" in m and "晚于本份" not in m for m in notes.values())


@pytest.mark.parametrize(("typed", "unit", "hint"), [
    ("3000千瓦", "万千瓦", "本格以“万千瓦”计，请换算后只填数字（3000千瓦填 0.3）"),
    ("150000平方米", "万平方米", "本格以“万平方米”计，请换算后只填数字（150000平方米填 15）"),
    ("2024年已建成1300个", "个", "只填一个数字"),  # two numbers: no guess (not the year)
    ("25万", "万元", "计量单位已是“万元”，只填数字 25"),
    ("12,345.6吨", "吨标准煤", "计量单位已是“吨标准煤”，只填数字 12345.6"),
    ("2万", "", "请换算后只填数字（2万填 20000）"),  # no unit known: no guess at one
    # square metres as typed (the "2" of ㎡, m² and m2 is no second number), 平米, and a decimal
    # point typed with a 句号
    ("150000㎡", "万平方米", "本格以“万平方米”计，请换算后只填数字（150000平方米填 15）"),
    ("15万m²", "万平方米", "计量单位已是“万平方米”，只填数字 15"),
    ("150000M2", "万平方米", "本格以“万平方米”计，请换算后只填数字（150000平方米填 15）"),
    ("3000平米", "平方米", "计量单位已是“平方米”，只填数字 3000"),
    ("１２。５", "万平方米", "小数点请用“.”，只填数字 12.5"),
    ("12。5万平方米", "万平方米", "计量单位已是“万平方米”，只填数字 12.5"),
    ("建成。5个", "个", "计量单位已是“个”，只填数字 5"),  # (a 句号 not between digits is no point)
    # words are quoted as typed, not as read (full-width digits, a 句号 for the point)
    ("约12。5", "万平方米", "只填数字（如 12.5）；“约12。5”中的文字说明"),
    ("上升３．２％", "%", "只填数字，以本格的计量单位“%”计；“上升３．２％”中的升降"),
])  # fmt: skip
def test_hints_convert_to_the_cells_unit_and_do_not_guess(typed, unit, hint):
    from pdreport.intake.number_hint import number_hint

    assert number_hint(typed, unit).startswith(hint)


@pytest.mark.parametrize(("typed", "unit", "hint"), [
    ("8000kW", "万千瓦", "本格以“万千瓦”计，请换算后只填数字（8000kW填 0.8）"),
    ("8MW", "万千瓦", "本格以“万千瓦”计，请换算后只填数字（8MW填 0.8）"),
    ("8兆瓦", "万千瓦", "本格以“万千瓦”计，请换算后只填数字（8兆瓦填 0.8）"),
    ("8mwp", "万千瓦", "本格以“万千瓦”计，请换算后只填数字（8mwp填 0.8）"),  # a PV plant's peak power
    ("1.2万kW", "万千瓦", "计量单位已是“万千瓦”，只填数字 1.2"),
    ("0.8万", "万千瓦", "计量单位已是“万千瓦”，只填数字 0.8"),
    ("1.3千", "个", "本格以“个”计，请换算后只填数字（1.3千填 1300）"),
    ("1.3千个", "个", "本格以“个”计，请换算后只填数字（1.3千个填 1300）"),
    ("1.2亿", "万元", "本格以“万元”计，请换算后只填数字（1.2亿填 12000）"),
    ("1.2万吨", "吨标准煤", "本格以“吨标准煤”计，请换算后只填数字（1.2万吨填 12000）"),
    ("1300多个", "个", "计量单位已是“个”，只填数字 1300"),
    ("1300（含专用桩）", "个", "只填数字（如 1300）"),
    ("上升3.2%", "%", "只填数字，以本格的计量单位“%”计；“上升3.2%”中的升降"),  # not known to be a decline rate
    # no number where it is not certain
    ("56,5", "万平方米", "只填数字，以本格的计量单位“万平方米”计；“56,5”看不出是多少"),
    ("1,3千", "个", "只填数字，以本格的计量单位“个”计；“1,3”看不出是多少"),
    ("8000kWh", "万千瓦", "只填数字，以本格的计量单位“万千瓦”计；“8000kWh”中的单位或文字无法换算"),
    ("8000kW.h", "万千瓦", "只填数字，以本格的计量单位“万千瓦”计；“8000kW.h”中的单位或文字无法换算"),
    ("-5万", "个", "本格以“个”计，请换算后只填数字（-5万填 -50000）"),
    ("8000千瓦", "个", "只填数字，以本格的计量单位“个”计；“8000千瓦”中的单位或文字无法换算"),
    ("1300辆", "个", "只填数字，以本格的计量单位“个”计；“1300辆”中的单位或文字无法换算"),
    ("约5.3%", "万平方米", "只填数字，以本格的计量单位“万平方米”计；“约5.3%”中的单位或文字无法换算"),
])  # fmt: skip
def test_hints_convert_known_units_and_multipliers_and_give_no_number_otherwise(typed, unit, hint):
    from pdreport.intake.number_hint import number_hint

    assert number_hint(typed, unit).startswith(hint)


@pytest.mark.parametrize(("typed", "hint"), [
    ("上升3.2%", "本格填下降率，下降填正数、上升填负数：只填数字 -3.2"),
    ("同比下降约3.2%", "本格填下降率，下降填正数、上升填负数：只填数字 3.2"),
    ("下降3.2个百分点", "只填数字，以本格的计量单位“%”计；“下降3.2个百分点”中的单位或文字无法换算"),
])  # fmt: skip
def test_a_decline_rate_written_in_words_is_signed(typed, hint):
    from pdreport.intake.number_hint import number_hint

    assert number_hint(typed, "%", decline=True).startswith(hint)


_POWER = {"kW": 1, "KW": 1, "kw": 1, "千瓦": 1, "MW": 1e3, "mw": 1e3, "兆瓦": 1e3, "万千瓦": 1e4, "万kW": 1e4,
          "GW": 1e6, "吉瓦": 1e6}  # fmt: skip
_SCALED = {"": 1, "千": 1e3, "万": 1e4, "十万": 1e5, "百万": 1e6, "千万": 1e7, "亿": 1e8}
_CELLS = {"个": 1, "万元": 1e4, "吨标准煤": 1, "万平方米": 1e4}
_SUGGESTED = re.compile(r"(?:只填数字 |填 |如 )(-?[0-9]+(?:\.[0-9]+)?)")


def _suggested(hint: str) -> float | None:
    m = _SUGGESTED.search(hint)
    return float(m.group(1)) if m else None


_AMOUNTS = st.decimals(min_value="0.01", max_value="99999", places=2).map(lambda d: format(d, "f"))


@given(_AMOUNTS, st.sampled_from(sorted(_POWER)), st.sampled_from(["万千瓦", "千瓦", "MW"]))
def test_a_power_typed_in_any_known_unit_is_converted_to_the_cells(amount, typed, cell):
    from pdreport.intake.number_hint import number_hint

    expected = float(amount) * _POWER[typed] / _POWER[cell]
    assert _suggested(number_hint(f"{amount}{typed}", cell)) == pytest.approx(expected, rel=1e-6, abs=1e-6)


@given(_AMOUNTS, st.sampled_from(sorted(_SCALED)), st.sampled_from(sorted(_CELLS)), st.booleans())
def test_a_multiplier_is_converted_to_the_cells_unit(amount, multiplier, cell, with_unit):
    """"1.3千" or "1.3千个" where 个 is asked is 1300; "1.2亿" or "1.2亿元" where 万元 is 12000."""
    from pdreport.intake.number_hint import number_hint

    base = cell[1:] if cell.startswith("万") else cell
    hint = number_hint(f"{amount}{multiplier}{base if with_unit else ''}", cell)
    typed_in_unit = with_unit or multiplier  # (a bare number is in the cell's unit already)
    expected = float(amount) * _SCALED[multiplier] / _CELLS[cell] if typed_in_unit else float(amount)
    assert _suggested(hint) == pytest.approx(expected, rel=1e-6, abs=1e-6)


@given(_AMOUNTS, st.sampled_from(["辆", "kWh", "千瓦时", "公里", "台套", "m2", "千米", "亿千瓦时", "万辆", "平方米"]))
def test_a_unit_that_cannot_be_converted_gets_no_number(amount, typed):
    from pdreport.intake.number_hint import number_hint

    assert _suggested(number_hint(f"{amount}{typed}", "个")) is None


@given(st.from_regex(r"[1-9][0-9]{0,2}(,[0-9]{1,2}|,[0-9]{4,6}|\.[0-9]+\.[0-9]+)", fullmatch=True),
       st.sampled_from(["", "个", "万元", "千"]))
def test_an_ambiguous_number_gets_no_number(typed, suffix):
    """"56,5" is 56.5 or 565: no guess."""
    from pdreport.intake.number_hint import number_hint

    assert _suggested(number_hint(typed + suffix, "个")) is None


@given(st.text(max_size=40), st.sampled_from(["", "个", "万千瓦", "万元", "%", "吨标准煤"]), st.booleans())
def test_number_hint_never_fails(typed, unit, decline):
    from pdreport.intake.number_hint import number_hint

    assert isinstance(number_hint(typed, unit, decline), str)


@pytest.mark.parametrize("typed", ["8000kW", "约20", "56,5", "见附件", "15万平方米"])
def test_a_wrong_type_says_where_remarks_go_once(plan, demo, tmp_path, typed):
    p = write_return(tmp_path, "x.xlsx", demo["jjw"], **{"ind.T05-1.value": typed})
    _, findings = check_one(plan, p, "2024H1")
    (e,) = [f for f in findings if f.field == "ind.T05-1.value"]
    assert e.code is Code.WRONG_TYPE and (e.message + e.hint).count("情况说明") <= 1


def test_a_small_share_is_not_multiplied(plan, demo, tmp_path):
    """A share with a small target (1 %): 0.15 is a plausible 0.15 %, not 15 %."""
    from pdreport.plan.model import Comparison

    small = [i for i in plan.indicators if i.unit == "%" and i.target and abs(i.target) < 20
             and i.comparison is not Comparison.REDUCTION_AT_LEAST]  # fmt: skip
    for ind in small:
        rid = next((r for r in ind.reporters if f"ind.{ind.id}.value" in demo[r].values), None)
        if rid is None:
            continue
        p = write_return(tmp_path, f"{ind.id}.xlsx", demo[rid], **{f"ind.{ind.id}.value": 0.15})
        sub, findings = check_one(plan, p, "2024H1")
        assert {f.indicator: f.value for f in sub.figures}[ind.id] == 0.15, ind.id
        assert not [f for f in findings if f.code is Code.PERCENT_NORMALISED]
        break
    else:
        pytest.skip("the plan has no small share")


def test_renamed_sheets_with_the_units_name_are_each_found(plan, demo, tmp_path):
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["chuansha_zhen"])))
    wb["指标"].title = "指标（川沙）"
    wb[ANNEX].title = "附件指标（川沙）"
    wb.save(tmp_path / "x.xlsx")
    sub, findings = check_one(plan, tmp_path / "x.xlsx", "2024H1")
    assert {s: v for s, (v, _m, _h) in renamed_warnings(findings).items()} == {"指标": "指标（川沙）",
                                                                           ANNEX: "附件指标（川沙）"}  # fmt: skip
    assert not sub.has_errors and sub.annex is not None and sub.figures


def test_a_renamed_sheet_that_cannot_be_read_is_named(plan, demo, tmp_path):
    """Renamed, and its rows moved (a row inserted at the top): not read as the template's sheet,
    but the name it has now is given, and why it was not read."""
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["jjw"])))
    wb["指标"].insert_rows(1, 3)
    wb["指标"].title = "指标（区建交委）"
    wb.save(tmp_path / "x.xlsx")
    _, findings = check_one(plan, tmp_path / "x.xlsx", "2024H1")
    (e,) = [f for f in findings if f.code is Code.SHEET_MISSING]
    assert e.sheet == "指标" and "被改名为“指标（区建交委）”，其中的表格也与下发时不同" in e.message
    assert e.hint.startswith("请使用下发的填报表重新填写")
    assert not [f for f in findings if f.code is Code.SHEET_RENAMED]


def test_annex_figures_are_hinted_in_their_own_units(plan, demo, tmp_path):
    """附件指标 is in 吨标准煤 and 万元, also in returns of templates whose hidden map has no unit
    for them (made before it carried one)."""
    import dataclasses

    filled = next(f for f in demo.values() if f.layout.has_annex)
    p = write_return(tmp_path, "x.xlsx", filled, **{"annex.output_base": "25万", "annex.energy_base": "5%"})
    _, findings = check_one(plan, p, "2024H1")
    hints = {f.field: (f.code, f.message, f.hint) for f in findings if f.field.startswith("annex.")}
    assert hints["annex.output_base"][::2] == (Code.WRONG_TYPE, "计量单位已是“万元”，只填数字 25")
    assert hints["annex.energy_base"][0] is Code.WRONG_TYPE and "吨标准煤" in hints["annex.energy_base"][1]

    from pdreport.validate import field_unit

    f = next(f for f in filled.layout.fields if f.key == "annex.output_base")
    assert f.unit == "万元" and field_unit(dataclasses.replace(f, unit="")) == "万元"


@pytest.mark.parametrize(("base_energy", "energy", "base_output", "output"), [
    (1e-320, 1000.0, 5000.0, 5000.0),   # subnormal: 1 / (energy / it) overflowed
    (1000.0, 1e-320, 5000.0, 5000.0),   # … and energy / it underflowed to 0
    (1000.0, 1000.0, 1e-300, 1e10),     # a ratio past any float
    (1e300, 1e-5, 1.7e308, 1e-5),
    (1000.0, 1000.0, 4e-7, 4e-7),       # 0 to the assessment's six decimals
])  # fmt: skip
def test_absurd_annex_figures_are_findings_not_a_crash(plan, demo, tmp_path, base_energy, energy, base_output, output):
    """Figures no form holds (1e-320, 1.7e308) are said at their cells, and the rest of the return
    is taken in: before, the fivefold check raised OverflowError or ZeroDivisionError (``check``
    showed a traceback; ``consolidate`` rejected the whole file as E005)."""
    typed = {"annex.energy_base": base_energy, "annex.energy_current": energy,
             "annex.output_base": base_output, "annex.output_current": output}  # fmt: skip
    filled = demo["chuansha_zhen"]
    sub, findings = check_one(plan, write_return(tmp_path, "川沙新镇.xlsx", filled, **typed), "2024H1")
    assert sub is not None and sub.figures and Code.CORRUPT not in {f.code for f in findings}
    annex = [f for f in findings if f.sheet == ANNEX]
    assert all(f.cell for f in annex)
    for key, value in typed.items():
        if 0 < value < 1e-6 and key != "annex.energy_current":  # (no energy is a full reduction)
            (zero,) = [f for f in annex if f.field == key and f.code is Code.ANNEX_ZERO_BASE]
            assert "不足 0.000001（按 0 计）" in zero.message


def test_bidirectional_controls_never_reach_an_output(plan, h1, demo, tmp_path):
    """A right-to-left override (U+202E) in a cell or a sheet name would show the rest of the
    sentence quoting it reversed, in the terminal, 问题清单, 汇总表 and the report: typed text loses
    it (W211), and a finding quoting what was typed shows it as �."""
    import zipfile

    from pdreport.problems import render_problem_list
    from pdreport.summary import render_summary

    rlo = "\u202e"
    wb = openpyxl.load_workbook(io.BytesIO(fill_template(demo["fgw"], values={
        **demo["fgw"].values, "task.1.status": f"推进中{rlo}", "task.2.status": f"进行中{rlo}",
        "task.2.progress": f"本单位{rlo}已完成全部工作"})))  # fmt: skip
    wb[TASKS].title = f"{rlo}重点任务"
    wb.save(tmp_path / "区发改委.xlsx")
    col = collect(plan, tmp_path, "2024H1", workers=1)
    codes = {f.code for f in col.findings}
    assert {Code.TEXT_CLEANED, Code.INVALID_CHOICE, Code.SHEET_RENAMED} <= codes
    assert not any(rlo in str(getattr(f, k)) for f in col.findings for k in ("message", "hint", "value", "sheet"))
    assert any("\ufffd重点任务" in f.message for f in col.findings if f.code is Code.SHEET_RENAMED)
    (wrong,) = [f for f in col.findings if f.code is Code.INVALID_CHOICE]
    assert "填的是“进行中”" in wrong.message  # (what shows nothing is no part of a choice)
    tasks = {t.task: t for t in col.submissions["fgw"].tasks}
    assert tasks[1].status == "推进中" and tasks[2].progress == "本单位已完成全部工作"
    a = assess(plan, h1, col.submissions, col.findings)
    for data in (render_problem_list(col), render_summary(a, col.outcomes)):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            assert not any(rlo.encode() in z.read(n) for n in z.namelist())
