"""Assessment against the 2024 targets: statuses, numbers and reasons for the edge cases.

Records are built directly (no workbooks): ``sub()`` makes one typed Submission.
Sign convention under test: a reduction rate is typed positive when the quantity fell
(下降5.3% → 5.3) and negative when it rose; the annex rate is computed as
``(1 - (ec/oc) / (eb/ob)) × 100`` with the same sign.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdreport.assess import (
    Assessment,
    Report,
    Status,
    assess,
    assess_indicator,
    change_text,
    judge,
    judge_milestone,
    snapshot,
)
from pdreport.findings import Code, Finding, Severity
from pdreport.intake.records import (
    AnnexReport,
    Figure,
    MilestoneReport,
    Source,
    Submission,
    TaskReport,
)
from pdreport.plan import CrossCheck, load_plan
from pdreport.plan.model import Accumulation, Combine, Comparison
from pdreport.validate import magnitude_doubt

DAY = dt.date(2024, 7, 10)
MTIME = dt.datetime(2024, 7, 10, 12, 0).timestamp()


def sub(
    respondent_id: str,
    figures: dict[str, float] | None = None,
    milestones: dict[str, tuple[bool, dt.date | None] | bool] | None = None,
    tasks: dict[int, str | tuple[str, str]] | None = None,
    annex: tuple[float | None, float | None, float | None, float | None] | None = None,
    filled_on: dt.date | None = DAY,
    mtime: float = MTIME,
    file: str | None = None,
    period: str = "2024H1",
) -> Submission:
    """One typed return. ``tasks`` values: a status ("推进中") or (status, progress)."""
    file = file or f"{respondent_id}.xlsx"
    figs = [Figure(respondent_id, iid, float(v), "", Source(file, "指标", f"H{n + 5}"))
            for n, (iid, v) in enumerate((figures or {}).items())]  # fmt: skip
    ms = []
    for iid, v in (milestones or {}).items():
        done, date = v if isinstance(v, tuple) else (v, None)
        ms.append(MilestoneReport(respondent_id, iid, done, date, "", Source(file, "重点任务", "")))
    ts = []
    for number, v in (tasks or {}).items():
        status, progress = v if isinstance(v, tuple) else (v, "已开展相关工作" if v else "")
        ts.append(TaskReport(respondent_id, number, status, progress, "", "", Source(file, "重点任务", "")))
    ax = AnnexReport(respondent_id, *annex, "", Source(file, "附件指标", "C6")) if annex is not None else None
    return Submission(respondent=respondent_id, file=file, kind="xlsx", period=period, template_version="1",
                      mtime=mtime, filled_on=filled_on, figures=figs, milestones=ms, tasks=ts,
                      annex=ax)  # fmt: skip


def run(plan, period_id: str, *subs: Submission, findings=()) -> Assessment:
    return assess(plan, plan.period(period_id), list(subs), list(findings))


def error(code: Code, respondent: str, file: str, field: str = "", sheet: str = "", cell: str = "",
          message: str = "填报值格式不对") -> Finding:  # fmt: skip
    return Finding(code, message, file=file, respondent=respondent, field=field, sheet=sheet, cell=cell)


# -- cumulative counts (T05-1 新增光伏 15 万千瓦, lead 区发改委) -----------------------------------


@pytest.mark.parametrize(
    ("period_id", "value", "status", "sequential"),
    [
        ("2024H1", 7.5, Status.ON_TRACK, 7.5),  # exactly at 序时进度
        ("2024H1", 7.49, Status.BEHIND, 7.5),  # just below
        ("2024H1", 15, Status.DONE, 7.5),  # annual target reached mid-year
        ("2024H1", 16, Status.DONE, 7.5),
        ("2024Q1", 3.75, Status.ON_TRACK, 3.75),
        ("2024Q1", 3.74, Status.BEHIND, 3.75),
        ("2024Q3", 11.25, Status.ON_TRACK, 11.25),
        ("2024FY", 14.99, Status.BEHIND, 15),  # no 序时 at year end: the annual target
        ("2024FY", 15, Status.DONE, 15),
        ("2024FY", 0, Status.BEHIND, 15),
    ],
)
def test_cumulative_against_sequential_and_annual_target(plan, period_id, value, status, sequential):
    a = run(plan, period_id, sub("fgw", {"T05-1": value}))
    r = a.indicators["T05-1"]
    assert r.status is status
    assert r.value == value
    assert r.target == 15
    assert r.sequential == pytest.approx(sequential)
    assert r.ratio == pytest.approx(value / 15)
    assert "fgw" not in r.owed_by


def test_cumulative_reasons_name_the_bar_and_the_gap(plan):
    r = run(plan, "2024H1", sub("fgw", {"T05-1": 7.49})).indicators["T05-1"]
    assert "低于序时目标7.5万千瓦" in r.reason and "差0.01万千瓦" in r.reason
    r = run(plan, "2024H1", sub("fgw", {"T05-1": 7.5})).indicators["T05-1"]
    assert "达到序时目标7.5万千瓦" in r.reason
    r = run(plan, "2024FY", sub("fgw", {"T05-1": 14.99})).indicators["T05-1"]
    assert "低于年度目标15万千瓦" in r.reason and "差0.01万千瓦" in r.reason
    r = run(plan, "2024FY", sub("fgw", {"T05-1": 15})).indicators["T05-1"]
    assert "已达到年度目标15万千瓦" in r.reason


def test_cumulative_retrofit_area_h5(plan):
    # 建筑节能改造 10 万平方米 (lead 区建交委): same rule as T05-1
    a = run(plan, "2024Q3", sub("jjw", {"H5": 7.5}))
    assert a.indicators["H5"].status is Status.ON_TRACK
    assert a.indicators["H5"].sequential == pytest.approx(7.5)
    a = run(plan, "2024Q3", sub("jjw", {"H5": 7.4}))
    assert a.indicators["H5"].status is Status.BEHIND


# -- levels (T17-2 新能源车辆占比 94%) ------------------------------------------------------------


def test_level_mid_year_meets_is_on_track_not_done(plan):
    r = run(plan, "2024H1", sub("jjw", {"T17-2": 94})).indicators["T17-2"]
    assert r.status is Status.ON_TRACK
    assert r.sequential == 94  # levels are read against the year-end level
    assert r.ratio == pytest.approx(1.0)
    assert "需保持至年底" in r.reason


def test_level_mid_year_below_says_how_far(plan):
    r = run(plan, "2024H1", sub("jjw", {"T17-2": 93.9})).indicators["T17-2"]
    assert r.status is Status.BEHIND
    assert "尚差0.1个百分点" in r.reason
    assert r.ratio == pytest.approx(93.9 / 94)


def test_level_year_end(plan):
    assert run(plan, "2024FY", sub("jjw", {"T17-2": 94})).indicators["T17-2"].status is Status.DONE
    assert run(plan, "2024FY", sub("jjw", {"T17-2": 93.99})).indicators["T17-2"].status is Status.BEHIND


def test_level_with_non_percent_unit_names_the_unit(plan):
    # T18-2 公交车充电服务能力 2608 辆 (level)
    r = run(plan, "2024H1", sub("jjw", {"T18-2": 2600})).indicators["T18-2"]
    assert r.status is Status.BEHIND
    assert "尚差8辆" in r.reason


# -- 左右 (T24-1 分类达标率 95% ±1) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period_id", "value", "status"),
    [
        ("2024H1", 95, Status.ON_TRACK),
        ("2024H1", 94, Status.ON_TRACK),  # the lower edge of 左右 meets
        ("2024H1", 93.99, Status.BEHIND),
        ("2024H1", 97, Status.ON_TRACK),  # above the band is better, not a miss
        ("2024FY", 94, Status.DONE),
        ("2024FY", 93.99, Status.BEHIND),
        ("2024FY", 97, Status.DONE),
        ("2024FY", 96, Status.DONE),
    ],
)
def test_around_uses_the_tolerance(plan, period_id, value, status):
    r = run(plan, period_id, sub("sthjj", {"T24-1": value})).indicators["T24-1"]
    assert r.status is status
    assert r.value == value
    assert r.indicator.tolerance == 1


def test_around_reason_states_the_floor_and_gap(plan):
    r = run(plan, "2024FY", sub("sthjj", {"T24-1": 93.99})).indicators["T24-1"]
    # the target as the notice says it and how it is assessed, the words the report prints it in
    assert "95%左右（不低于94%即达标）" in r.reason
    assert "尚差0.01个百分点" in r.reason  # measured from the floor of the band, not from 95
    # in brackets, the band is a clause (never a bracket in a bracket)
    r = run(plan, "2024H1", sub("sthjj", {"T24-1": 99.5})).indicators["T24-1"]
    assert r.reason == "为99.5%，已达到年度目标水平（目标95%左右，不低于94%即达标），需保持至年底"


# -- reductions (H1 单位增加值能耗 下降5.3%) --------------------------------------------------------


@pytest.mark.parametrize(
    ("period_id", "value", "status"),
    [
        ("2024H1", 5.3, Status.ON_TRACK),
        ("2024H1", 5.29, Status.BEHIND),
        ("2024H1", 6.0, Status.ON_TRACK),
        ("2024H1", 0.0, Status.BEHIND),
        ("2024H1", -1.0, Status.BEHIND),  # an increase
        ("2024FY", 5.3, Status.DONE),
        ("2024FY", 5.29, Status.BEHIND),
    ],
)
def test_reduction_rate_positive_means_fell(plan, period_id, value, status):
    r = run(plan, period_id, sub("fgw", {"H1": value})).indicators["H1"]
    assert r.status is status
    assert r.value == value
    assert r.sequential == 5.3  # rates are not scaled by the elapsed share


def test_reduction_increase_is_said_as_such(plan):
    r = run(plan, "2024H1", sub("fgw", {"H1": -1.0})).indicators["H1"]
    assert r.status is Status.BEHIND
    assert "不降反升1%" in r.reason
    assert "下降5.3%" in r.reason
    assert r.ratio == pytest.approx(-1.0 / 5.3)  # negative completion: moved the wrong way


def test_reduction_gap_and_wording(plan):
    r = run(plan, "2024H1", sub("fgw", {"H1": 5.29})).indicators["H1"]
    assert "同比下降5.29%" in r.reason and "尚差0.01个百分点" in r.reason
    r = run(plan, "2024FY", sub("fgw", {"H1": 5.3})).indicators["H1"]
    assert "同比下降5.3%" in r.reason and "达到目标下降5.3%" in r.reason


def test_judge_sign_conventions_directly(plan):
    h1 = plan.indicator("H1")
    fy = plan.period("2024FY")
    assert judge(h1, 5.3, fy)[0] is Status.DONE
    assert judge(h1, -5.3, fy)[0] is Status.BEHIND  # a rise of 5.3% is not a fall of 5.3%
    status, reason = judge(h1, -0.5, fy)
    assert status is Status.BEHIND and "不降反升0.5%" in reason and "尚差5.8个百分点" in reason


def test_headline_rows_point_at_indicator_results(plan):
    a = run(plan, "2024H1", sub("fgw", {"H1": 5.3}))
    assert [h.row.id for h in a.headline] == [f"H{i}" for i in range(1, 9)]
    assert a.headline[0].result is a.indicators["H1"]
    assert a.headline[0].result.status is Status.ON_TRACK


# -- each (H3 合理值比例 90%, five bureaus assessed on their own) -------------------------------------

H3_BUREAUS = ("sww", "jyj", "wtlyj", "wsjkw", "jrj")


def test_each_all_meet(plan):
    a = run(plan, "2024FY", *(sub(r, {"H3": 90 + i}) for i, r in enumerate(H3_BUREAUS)))
    r = a.indicators["H3"]
    assert r.status is Status.DONE
    assert r.value is None  # no single district figure
    assert r.ratio == pytest.approx(1.0)  # the lowest reporter
    assert [rep.respondent for rep in r.reports] == list(H3_BUREAUS)
    assert all(rep.role == "each" and rep.status is Status.DONE for rep in r.reports)
    assert r.owed_by == ()


def test_each_one_below(plan):
    values = dict(zip(H3_BUREAUS, (95, 89.9, 90, 92, 91), strict=True))
    a = run(plan, "2024FY", *(sub(r, {"H3": v}) for r, v in values.items()))
    r = a.indicators["H3"]
    assert r.status is Status.BEHIND
    by = {rep.respondent: rep for rep in r.reports}
    assert by["jyj"].status is Status.BEHIND
    assert "尚差0.1个百分点" in by["jyj"].reason
    assert all(by[x].status is Status.DONE for x in ("sww", "wtlyj", "wsjkw", "jrj"))
    assert "1个单位未达到目标" in r.reason
    assert r.ratio == pytest.approx(89.9 / 90)


def test_each_one_missing(plan):
    """Four of five report and meet the target: not 未报送 (others did report it), and not 已完成
    either while one has not reported; the missing one is named. In the year that is 序时推进; at
    year end nothing is on schedule: not confirmed done is not done (滞后), and the reason says why."""
    a = run(plan, "2024H1", *(sub(r, {"H3": 95}) for r in H3_BUREAUS[:-1]))
    assert a.indicators["H3"].status is Status.ON_TRACK
    assert "无法确认" not in a.indicators["H3"].reason
    a = run(plan, "2024FY", *(sub(r, {"H3": 95}) for r in H3_BUREAUS[:-1]))
    r = a.indicators["H3"]
    assert r.status is Status.BEHIND
    assert r.owed_by == ("jrj",)
    by = {rep.respondent: rep for rep in r.reports}
    assert by["jrj"].status is Status.MISSING and by["jrj"].state == "missing"
    assert by["sww"].status is Status.DONE
    assert "1个单位未报送，年末无法确认全部达到目标" in r.reason
    from pdreport.report.context import build_context

    (h3,) = [h for h in build_context(a)["headline"] if h["indicator"] == r.indicator.name]
    assert h3["status"] == "滞后"
    assert h3["reason"].endswith("区金融局未报送，年末无法确认全部达到目标")


def test_each_one_missing_one_behind_is_behind(plan):
    subs = [sub("sww", {"H3": 80}), sub("jyj", {"H3": 95}), sub("wtlyj", {"H3": 95}), sub("wsjkw", {"H3": 95})]
    r = run(plan, "2024FY", *subs).indicators["H3"]
    assert r.status is Status.BEHIND
    assert r.owed_by == ("jrj",)


def test_each_mid_year_meets_is_on_track(plan):
    r = run(plan, "2024H1", *(sub(x, {"H3": 90}) for x in H3_BUREAUS)).indicators["H3"]
    assert r.status is Status.ON_TRACK
    assert all(rep.status is Status.ON_TRACK for rep in r.reports)


def test_each_nobody_reports(plan):
    r = run(plan, "2024FY").indicators["H3"]
    assert r.status is Status.MISSING
    assert r.owed_by == H3_BUREAUS


# -- lead vs contributors (T05-1: lead fgw, 34 contributors) ------------------------------------------


@pytest.fixture(scope="module")
def contributors(plan):
    c = plan.indicator("T05-1").contributors
    assert len(c) == 34
    town = next(r for r in c if plan.respondent(r).kind.value == "town")
    authority = next(r for r in c if plan.respondent(r).kind.value == "authority")
    return c[0], authority, town


def checked_as(plan, kind: CrossCheck, indicator: str = "T05-1"):
    """The plan with one indicator's contributors checked as ``kind``."""
    inds = tuple(replace(i, cross_check=kind) if i.id == indicator else i for i in plan.indicators)
    return replace(plan, indicators=inds, _index={})


def test_the_plan_says_how_contributors_are_checked(plan):
    """光伏 is reported by sector (委办局) and by area (管理局、镇) at once: its sum counts some
    figures twice. 森林、公园 are reported by some 管理局 only: parts of the district."""
    assert plan.indicator("T05-1").cross_check is CrossCheck.OVERLAPPING
    assert plan.indicator("T20-1").cross_check is CrossCheck.PARTS
    assert plan.indicator("T20-2").cross_check is CrossCheck.PARTS


def test_lead_is_the_district_figure_contributors_agree(plan, contributors):
    bureau, authority, town = contributors
    for kind in CrossCheck:
        a = run(checked_as(plan, kind), "2024H1", sub("fgw", {"T05-1": 10}), sub(bureau, {"T05-1": 6}),
                sub(town, {"T05-1": 4}))  # fmt: skip
        r = a.indicators["T05-1"]
        assert r.value == 10
        assert r.status is Status.ON_TRACK  # 10 ≥ 7.5
        assert r.contributors_sum == 10
        assert r.contributors_reported == 2
        assert r.gap == (None if kind is CrossCheck.OVERLAPPING else 0)
        assert not r.cross_check_flagged and r.cross_check == ""
        assert "请核对" not in r.reason
        roles = {rep.respondent: rep.role for rep in r.reports}
        assert roles["fgw"] == "lead" and roles[bureau] == "contributor" and roles[town] == "contributor"
        assert authority in r.owed_by and "fgw" not in r.owed_by


def test_contributors_short_of_the_lead(plan, contributors):
    """A sum below the district figure is wrong only when the contributors are the whole district."""
    bureau, authority, _ = contributors
    subs = (sub("fgw", {"T05-1": 10}), sub(bureau, {"T05-1": 5}), sub(authority, {"T05-1": 3}))
    total = run(checked_as(plan, CrossCheck.TOTAL), "2024H1", *subs).indicators["T05-1"]
    assert total.value == 10  # the lead's figure stands; the sum is a cross-check only
    assert total.status is Status.ON_TRACK
    assert total.contributors_sum == 8
    assert total.gap == pytest.approx(0.2)
    assert total.cross_check_flagged
    assert total.cross_check == "牵头单位数10万千瓦与参与单位合计8万千瓦（2个单位）相差20.0%，请核对"
    assert total.cross_check in total.reasons
    for kind in (CrossCheck.PARTS, CrossCheck.OVERLAPPING):
        r = run(checked_as(plan, kind), "2024H1", *subs).indicators["T05-1"]
        assert r.contributors_sum == 8 and not r.cross_check_flagged and "请核对" not in r.reason


def test_contributors_above_the_lead(plan, contributors):
    """A sum above the district figure is wrong for parts of it, not for figures counted twice."""
    bureau, authority, _ = contributors
    subs = (sub("fgw", {"T05-1": 10}), sub(bureau, {"T05-1": 7}), sub(authority, {"T05-1": 5}))
    parts = run(checked_as(plan, CrossCheck.PARTS), "2024H1", *subs).indicators["T05-1"]
    assert parts.gap == pytest.approx(-0.2) and parts.cross_check_flagged
    assert parts.cross_check == "牵头单位数10万千瓦与参与单位合计12万千瓦（2个单位）不符，合计超过牵头单位数20.0%，请核对"
    total = run(checked_as(plan, CrossCheck.TOTAL), "2024H1", *subs).indicators["T05-1"]
    assert total.cross_check.endswith("相差20.0%，请核对")
    overlapping = run(plan, "2024H1", *subs).indicators["T05-1"]
    assert overlapping.contributors_sum == 12 and overlapping.gap is None
    assert not overlapping.cross_check_flagged and "请核对" not in overlapping.reason


def test_a_unit_above_the_district_is_named(plan, contributors):
    """祝桥镇 types 3000 (千瓦) where 万千瓦 is asked: every kind of check names it; a sum many
    times the lead's is said as a multiple, not as "相差23975.0%"."""
    bureau, authority, town = contributors
    subs = (sub("fgw", {"T05-1": 12.5}), sub(bureau, {"T05-1": 5}), sub(town, {"T05-1": 3000}))
    name = plan.respondent(town).name
    r = run(plan, "2024H1", *subs).indicators["T05-1"]
    assert r.cross_check == f"参与单位中{name}填报3000万千瓦，单个单位已超过牵头单位的全区数12.5万千瓦，可能计量单位有误，请核对"
    assert plan.respondent(bureau).name not in r.cross_check
    for kind in (CrossCheck.PARTS, CrossCheck.TOTAL):
        check = run(checked_as(plan, kind), "2024H1", *subs).indicators["T05-1"].cross_check
        assert "合计是牵头单位数的240.4倍" in check and "相差" not in check
        assert f"其中{name}填报3000万千瓦，单个单位已超过全区数，可能计量单位有误" in check


def test_cross_check_tolerance_edge(plan, contributors):
    bureau, _, _ = contributors
    total = checked_as(plan, CrossCheck.TOTAL)
    # exactly 5 % apart: not beyond the tolerance
    r = run(total, "2024H1", sub("fgw", {"T05-1": 10}), sub(bureau, {"T05-1": 9.5})).indicators["T05-1"]
    assert r.gap == pytest.approx(0.05) and not r.cross_check_flagged
    r = run(total, "2024H1", sub("fgw", {"T05-1": 10}), sub(bureau, {"T05-1": 9.4})).indicators["T05-1"]
    assert r.cross_check_flagged
    # one unit 5 % above the district figure: within the tolerance; 6 %: named
    for kind in CrossCheck:
        checked = checked_as(plan, kind)
        r = run(checked, "2024H1", sub("fgw", {"T05-1": 10}), sub(bureau, {"T05-1": 10.5})).indicators["T05-1"]
        assert not r.cross_check_flagged, kind
        r = run(checked, "2024H1", sub("fgw", {"T05-1": 10}), sub(bureau, {"T05-1": 10.6})).indicators["T05-1"]
        assert r.cross_check_flagged and "单个单位已超过" in r.cross_check, kind


def test_lead_zero_contributors_nonzero(plan, contributors):
    bureau, _, _ = contributors
    for kind in CrossCheck:
        checked = checked_as(plan, kind)
        r = run(checked, "2024H1", sub("fgw", {"T05-1": 0}), sub(bureau, {"T05-1": 3})).indicators["T05-1"]
        assert r.status is Status.BEHIND
        assert r.cross_check_flagged and "%" not in r.cross_check, kind  # (no share of zero)
        r = run(checked, "2024H1", sub("fgw", {"T05-1": 0}), sub(bureau, {"T05-1": 0})).indicators["T05-1"]
        assert not r.cross_check_flagged, kind


def test_lead_missing_contributors_present(plan, contributors):
    bureau, authority, town = contributors
    a = run(plan, "2024H1", sub(bureau, {"T05-1": 5}), sub(town, {"T05-1": 2.5}))
    r = a.indicators["T05-1"]
    assert r.status is Status.MISSING
    assert r.value is None and r.ratio is None
    assert r.contributors_sum == 7.5
    assert r.contributors_reported == 2
    assert "fgw" in r.owed_by
    assert "牵头单位未报送" in r.reason and "仅供参考" in r.reason
    assert r.sequential == 7.5


def test_lead_submitted_but_left_the_figure_blank(plan):
    r = run(plan, "2024H1", sub("fgw", {"H1": 5.3})).indicators["T05-1"]
    assert r.status is Status.MISSING
    assert "报表中未填写" in r.reason
    assert "fgw" in r.owed_by


def test_lead_figure_rejected_is_invalid(plan, contributors):
    bureau, _, _ = contributors
    s = sub("fgw", {"H1": 5.3}, file="发改委.xlsx")
    f = error(Code.WRONG_TYPE, "fgw", s.file, field="ind.T05-1.value", message="“新增光伏装机容量”不是数字")
    assert f.is_error
    a = run(plan, "2024H1", s, sub(bureau, {"T05-1": 4}), findings=[f])
    r = a.indicators["T05-1"]
    assert r.status is Status.INVALID
    assert "填报数据有误" in r.reason and "不是数字" in r.reason
    assert r.contributors_sum == 4
    assert "fgw" not in r.owed_by  # typed but rejected: not "not sent"
    lead = next(rep for rep in r.reports if rep.respondent == "fgw")
    assert lead.state == "invalid"
    assert a.indicators["H1"].status is Status.ON_TRACK  # only the rejected field is affected


def test_rejection_needs_the_file_actually_used(plan):
    # an error in an older, superseded file does not taint the newer return
    s = sub("fgw", {"H1": 5.3}, file="新.xlsx")
    f = error(Code.WRONG_TYPE, "fgw", "旧.xlsx", field="ind.T05-1.value")
    assert run(plan, "2024H1", s, findings=[f]).indicators["T05-1"].status is Status.MISSING
    # a finding without a file (e.g. folder-level) counts for the respondent's return
    f = error(Code.WRONG_TYPE, "fgw", "", field="ind.T05-1.value")
    assert run(plan, "2024H1", s, findings=[f]).indicators["T05-1"].status is Status.INVALID


def test_rejection_ignores_warnings_and_required_missing(plan):
    s = sub("fgw", {"H1": 5.3})
    warn = Finding(Code.UNIT_MAGNITUDE, "数量级可疑", file=s.file, respondent="fgw", field="ind.T05-1.value")
    req = error(Code.REQUIRED_MISSING, "fgw", s.file, field="ind.T05-1.value")
    r = run(plan, "2024H1", s, findings=[warn, req]).indicators["T05-1"]
    assert r.status is Status.MISSING  # blank is 未报送, not 数据有误


def test_deleted_sheet_and_edited_row_are_invalid(plan):
    s = sub("fgw", {}, milestones={"T01-M1": (True, dt.date(2024, 5, 1))})
    gone = error(Code.SHEET_MISSING, "fgw", s.file, sheet="指标")
    a = run(plan, "2024H1", s, findings=[gone])
    assert a.indicators["H1"].status is Status.INVALID
    assert a.indicators["T05-1"].status is Status.INVALID
    assert a.indicators["T01-M1"].status is Status.DONE  # other sheet, unaffected
    # the T05-1 value sits in row 6 of 指标: an edited label on that row rejects only that row
    edited = error(Code.LABEL_CHANGED, "fgw", s.file, sheet="指标", cell="B6")
    a = run(plan, "2024H1", s, findings=[edited])
    assert a.indicators["T05-1"].status is Status.INVALID
    assert a.indicators["H1"].status is Status.MISSING


# -- milestones ------------------------------------------------------------------------------------


def test_milestone_done_with_date(plan):
    r = run(plan, "2024H1", sub("fgw", milestones={"T01-M1": (True, dt.date(2024, 5, 20))})).indicators["T01-M1"]
    assert r.status is Status.DONE
    assert r.done is True and r.done_on == dt.date(2024, 5, 20)
    assert "2024年5月20日" in r.reason
    assert r.value is None and r.sequential is None and r.ratio is None


def test_milestone_done_without_date(plan):
    r = run(plan, "2024H1", sub("fgw", milestones={"T01-M1": (True, None)})).indicators["T01-M1"]
    assert r.status is Status.DONE and r.reason == "已完成"


def test_milestone_not_done_before_deadline(plan):
    r = run(plan, "2024H1", sub("fgw", milestones={"T01-M1": (False, None)})).indicators["T01-M1"]
    assert r.status is Status.ON_TRACK
    assert r.done is False
    assert "2024年12月31日前完成" in r.reason


def due_mid_year(plan, indicator: str = "T05-M1"):
    """The plan with one milestone due 2024-06-30, the last day of the H1 period (the notice
    dates none: every milestone of the bundled plan is due at year end)."""
    due = dt.date(2024, 6, 30)
    inds = tuple(replace(i, deadline=due) if i.id == indicator else i for i in plan.indicators)
    return replace(plan, indicators=inds, _index={})


def test_milestone_not_done_after_deadline(plan):
    assert plan.indicator("T05-M1").deadline == dt.date(2024, 12, 31)
    r = run(plan, "2024H1", sub("fgw", milestones={"T05-M1": (False, None)})).indicators["T05-M1"]
    assert r.status is Status.ON_TRACK  # due at year end
    mid = due_mid_year(plan)
    r = run(mid, "2024H1", sub("fgw", milestones={"T05-M1": (False, None)})).indicators["T05-M1"]
    assert r.status is Status.BEHIND
    assert "已过计划完成时间（2024年6月30日）" in r.reason
    # in Q1 the deadline is still ahead
    r = run(mid, "2024Q1", sub("fgw", milestones={"T05-M1": (False, None)})).indicators["T05-M1"]
    assert r.status is Status.ON_TRACK
    # at year end every 12-31 milestone not done is behind
    r = run(plan, "2024FY", sub("fgw", milestones={"T01-M1": (False, None)})).indicators["T01-M1"]
    assert r.status is Status.BEHIND


def test_milestone_no_report(plan):
    r = run(plan, "2024H1").indicators["T01-M1"]
    assert r.status is Status.MISSING and r.owed_by == ("fgw",)
    r = run(plan, "2024H1", sub("fgw", {"H1": 5.3})).indicators["T01-M1"]
    assert r.status is Status.MISSING and "报表中未填写" in r.reason


def test_milestone_contributors_disagreeing_with_the_lead_are_flagged(plan):
    """T09-M1 (lead 区科经委; contributors 张江管理局, 康桥镇): a contributor saying the opposite of
    the lead about 是否完成 is named, ending in 请核对 as a figure's cross-check does, both ways;
    the lead's word stays the verdict. Agreeing, unreported or lead-less: nothing flagged."""
    done = (True, dt.date(2024, 5, 12))
    lead_undone = run(plan, "2024FY", sub("kjw", milestones={"T09-M1": False}),
                      sub("zhangjiang_glj", milestones={"T09-M1": done}),
                      sub("kangqiao_zhen", milestones={"T09-M1": done})).indicators["T09-M1"]  # fmt: skip
    assert lead_undone.status is Status.BEHIND and lead_undone.done is False  # (the lead's word)
    assert lead_undone.cross_check_flagged
    assert lead_undone.cross_check == "牵头单位报未完成，参与单位张江管理局、康桥镇报已完成，请核对"
    assert lead_undone.reasons == ("未完成，已过计划完成时间（2024年12月31日）", lead_undone.cross_check)
    lead_done = run(plan, "2024H1", sub("kjw", milestones={"T09-M1": (True, dt.date(2024, 6, 1))}),
                    sub("zhangjiang_glj", milestones={"T09-M1": done}),
                    sub("kangqiao_zhen", milestones={"T09-M1": False})).indicators["T09-M1"]  # fmt: skip
    assert lead_done.status is Status.DONE and lead_done.done_on == dt.date(2024, 6, 1)
    assert lead_done.cross_check == "牵头单位报已完成，参与单位康桥镇报未完成，请核对"
    assert lead_done.reason == "已于2024年6月1日完成；牵头单位报已完成，参与单位康桥镇报未完成，请核对"
    # all agree; a contributor that sent nothing; no usable word from the lead
    for subs in ((sub("kjw", milestones={"T09-M1": False}), sub("kangqiao_zhen", milestones={"T09-M1": False})),
                 (sub("kjw", milestones={"T09-M1": done}), sub("zhangjiang_glj", milestones={"T09-M1": done})),
                 (sub("zhangjiang_glj", milestones={"T09-M1": done}),)):  # fmt: skip
        r = run(plan, "2024H1", *subs).indicators["T09-M1"]
        assert not r.cross_check_flagged and "请核对" not in r.reason, subs


def test_judge_milestone_directly(plan):
    ind = due_mid_year(plan).indicator("T05-M1")
    rep = Report("fgw", "lead", "ok", done=False)
    assert judge_milestone(ind, rep, plan.period("2024Q1"))[0] is Status.ON_TRACK
    assert judge_milestone(ind, rep, plan.period("2024H1"))[0] is Status.BEHIND
    done = Report("fgw", "lead", "ok", done=True, done_on=dt.date(2024, 8, 1))
    assert judge_milestone(ind, done, plan.period("2024FY"))[0] is Status.DONE



def test_each_names_the_unit_whose_figure_was_rejected(plan):
    subs = [sub(r, {"H3": 92}) for r in H3_BUREAUS[:-1]] + [sub("jrj", {})]
    f = error(Code.WRONG_TYPE, "jrj", "jrj.xlsx", field="ind.H3.value", message="“合理值比例”无法读成数字")
    r = run(plan, "2024H1", *subs, findings=[f]).indicators["H3"]
    assert r.status is Status.INVALID
    assert "区金融局填报数据有误" in r.reason


# -- combine: sum and at_most (documented, unused in 2024): T20-1 新增森林面积 5000 亩 made so ---------


def _summed(plan):
    ind = plan.indicator("T20-1")
    return replace(ind, combine=Combine.SUM, reporters=(ind.lead, *ind.contributors), contributors=())


# -- figures too large to be believed (W205) ----------------------------------------------------


def doubted(plan, rid: str, figures: dict[str, float], **kw) -> Submission:
    """A return whose figures carry what validation found of their size, as ``read_indicators`` does."""
    s = sub(rid, figures, **kw)
    figs = [replace(f, doubt=magnitude_doubt(plan.indicator(f.indicator), f.value)) for f in s.figures]
    return replace(s, figures=figs)


@pytest.mark.parametrize(("iid", "typed", "said"), [
    ("H5", 52200, "牵头单位填报值52200是年度目标（10万平方米）的5220倍"),  # 平方米 typed for 万平方米
    ("H1", 43.2, "牵头单位填报值43.2（即同比下降43.2%）是年度目标（下降5.3%）的8倍"),  # 4.32, point slipped
    ("H6", -30, "即同比上升30%"),
])  # fmt: skip
@pytest.mark.parametrize("period_id", ["2024H1", "2024FY"])
def test_a_lead_figure_not_to_be_believed_is_not_judged(plan, iid, typed, said, period_id):
    """A lead's figure ten times its target would make the indicator 已完成 on a unit slip: it is
    数据有误, with the figure and 请核对 in the reason, and no district figure or 完成率 claimed."""
    lead = plan.indicator(iid).lead
    a = run(plan, period_id, doubted(plan, lead, {iid: typed}, period=period_id))
    r = a.indicators[iid]
    assert r.status is Status.INVALID and r.value is None and r.ratio is None
    assert said in r.reason and r.reason.endswith("未作评估，请核对")
    (rep,) = [x for x in r.reports if x.respondent == lead]
    assert rep.state == "invalid" and rep.value == typed  # kept as typed, for 指标明细
    assert lead not in r.owed_by  # typed: not 未报送
    # the same unit's plausible figure is judged as usual
    plain = next(v for v in (12, 5.4, 1.5) if not magnitude_doubt(plan.indicator(iid), v))
    r = run(plan, period_id, doubted(plan, lead, {iid: plain}, period=period_id)).indicators[iid]
    assert r.status in (Status.DONE, Status.ON_TRACK) and r.value == plain


def test_a_task_with_a_figure_not_to_be_believed_says_so(plan):
    lead = plan.indicator("T13-1").lead
    a = run(plan, "2024H1", doubted(plan, lead, {"T13-1": 750000}))
    (task,) = [t for t in a.tasks if "T13-1" in t.task.indicators]
    assert a.indicators["T13-1"].status is Status.INVALID
    assert task.status is Status.INVALID and f"数据有误待核实：{plan.indicator('T13-1').name}" in task.reason


def test_a_contributor_figure_not_to_be_believed_is_only_cross_checked(plan):
    """祝桥镇's 3000 万千瓦 (千瓦 typed): the district figure is still the lead's, judged; the
    contributor alone above it is named with 请核对."""
    ind = plan.indicator("T05-1")
    part = ind.contributors[0]
    a = run(plan, "2024H1", doubted(plan, ind.lead, {"T05-1": 12.5}), doubted(plan, part, {"T05-1": 3000}))
    r = a.indicators["T05-1"]
    assert r.status is Status.ON_TRACK and r.value == 12.5
    assert r.cross_check_flagged and "3000万千瓦" in r.cross_check and r.cross_check.endswith("请核对")


def test_a_sum_with_a_figure_not_to_be_believed_has_no_total(plan):
    ind = _summed(plan)
    subs = {rid: doubted(plan, rid, {"T20-1": 1000}) for rid in ind.reporters}
    odd = ind.reporters[1]
    subs[odd] = doubted(plan, odd, {"T20-1": 60000})  # 12 times the district's 5000 亩
    r = assess_indicator(ind, plan.period("2024H1"), subs, {}, lambda rid: plan.respondent(rid).name)
    assert r.status is Status.INVALID and r.value is None
    assert f"{plan.respondent(odd).name}填报值60000是年度目标（5000亩）的12倍" in r.reason
    assert f"其余{len(ind.reporters) - 1}个单位合计4000亩，仅供参考" in r.reason
    # the reason that ends in 请核对 is what the report says after the indicator (its ``check``)
    assert any(x.startswith(plan.respondent(odd).name) and x.endswith("请核对") for x in r.reasons)


def test_each_unit_with_a_figure_not_to_be_believed_is_named(plan):
    ind = replace(plan.indicator("T20-1"), combine=Combine.EACH, reporters=plan.indicator("T20-1").reporters[:3])
    subs = {rid: doubted(plan, rid, {"T20-1": 6000}) for rid in ind.reporters}
    odd = ind.reporters[2]
    subs[odd] = doubted(plan, odd, {"T20-1": 50000})
    r = assess_indicator(ind, plan.period("2024H1"), subs, {}, lambda rid: plan.respondent(rid).name)
    assert r.status is Status.INVALID
    assert f"{plan.respondent(odd).name}填报值50000是年度目标（5000亩）的10倍" in r.reason
    assert [x.state for x in r.reports] == ["ok", "ok", "invalid"]


@pytest.mark.parametrize("period_id", ["2024H1", "2024FY"])
def test_sum_with_a_rejected_figure_is_invalid_and_names_the_unit(plan, period_id):
    ind = _summed(plan)
    subs = {r: sub(r, {"T20-1": 1000}, period=period_id) for r in ind.reporters[:-1]}
    last = ind.reporters[-1]
    subs[last] = sub(last, {}, period=period_id)
    name = plan.respondent(last).name
    r = assess_indicator(ind, plan.period(period_id), subs, {last: "“新增森林面积”无法读成数字"},
                         lambda rid: plan.respondent(rid).name)  # fmt: skip
    assert r.status is Status.INVALID
    assert r.value is None  # no district total claimed
    assert f"{name}填报数据有误（未采用）；无法得出全区合计，其余" in r.reason and "仅供参考" in r.reason
    # without the rejection the same figures are a total, judged
    ok = assess_indicator(ind, plan.period(period_id), {k: v for k, v in subs.items() if k != last}, {})
    assert ok.value == 1000 * (len(ind.reporters) - 1) and ok.status is not Status.INVALID


def _capped(plan, accumulation):
    return replace(plan.indicator("T20-1"), comparison=Comparison.AT_MOST, accumulation=accumulation)


@pytest.mark.parametrize("accumulation", [Accumulation.LEVEL, Accumulation.CUMULATIVE])
def test_at_most_over_the_cap_says_it_exceeds(plan, accumulation):
    status, reason = judge(_capped(plan, accumulation), 5001, plan.period("2024FY"))
    assert status is Status.BEHIND
    assert "超出1亩" in reason and "尚差" not in reason


def test_a_cap_exceeded_reads_as_an_excess_in_the_report(plan):
    """The report's task paragraph says 超出 for a cap (over: its shortfall is an excess)."""
    from jinja2 import Environment

    from pdreport.report.context import _indicator

    ind = _capped(plan, Accumulation.LEVEL)
    r = assess_indicator(ind, plan.period("2024FY"), {"sthjj": sub("sthjj", {"T20-1": 5001}, period="2024FY")}, {})
    ctx = _indicator(run(plan, "2024FY"), r, {x.id: x.name for x in plan.respondents})
    assert ctx["over"] and ctx["shortfall"] == "1亩"
    line = next(ln for ln in (Path(__file__).parents[1] / "templates" / "03_tasks.md.j2").read_text(encoding="utf-8").splitlines()
                if "i.shortfall" in ln)  # fmt: skip
    text = Environment().from_string(line).render(i=ctx, period={"year_end": True})
    assert "超出1亩" in text and "尚差" not in text


def test_a_cumulative_cap_exceeded_in_the_year_says_by_how_much_over_the_sequential_target(plan):
    """A cap on an amount counted since January, over its 序时目标 mid-year: the report says
    超出序时目标100亩 (no 完成率 of a cap), and the task's reason 超出序时目标, not 未达到序时要求."""
    from dataclasses import replace as dc_replace

    from jinja2 import Environment

    from pdreport.assess import assess_task
    from pdreport.report.context import _indicator

    ind = _capped(plan, Accumulation.CUMULATIVE)
    r = assess_indicator(ind, plan.period("2024H1"), {"sthjj": sub("sthjj", {"T20-1": 2600})}, {})
    ctx = _indicator(run(plan, "2024H1"), r, {x.id: x.name for x in plan.respondents})
    assert ctx["over"] and ctx["shortfall"] == "100亩"
    lines = (Path(__file__).parents[1] / "templates" / "03_tasks.md.j2").read_text(encoding="utf-8").splitlines()
    line = next(ln for ln in lines if "完成年度目标的" in ln)
    text = Environment().from_string(line).render(i=ctx, period={"year_end": False})
    assert "序时目标2500亩，超出序时目标100亩，滞后" in text and "完成年度目标的" not in text
    capped = dc_replace(plan, indicators=tuple(ind if i.id == ind.id else i for i in plan.indicators))
    t = assess_task(capped, plan.task(20), plan.period("2024H1"), {}, {**{i: r for i in plan.task(20).indicators}})
    assert "超出序时目标：" in t.reason and "未达到序时要求" not in t.reason


@pytest.mark.parametrize(
    ("period_id", "value", "status", "said"),
    [
        ("2024H1", 2500, Status.ON_TRACK, "未超过序时目标2500亩"),
        ("2024H1", 2600, Status.BEHIND, "高于序时目标2500亩，超出100亩"),  # within the year's cap
        ("2024Q3", 3750, Status.ON_TRACK, "未超过序时目标3750亩"),
        ("2024FY", 5000, Status.DONE, "未超过年度目标5000亩"),
        ("2024FY", 5001, Status.BEHIND, "高于年度目标5000亩，超出1亩"),
    ],
)
def test_cumulative_at_most_is_judged_against_the_sequential_cap(plan, period_id, value, status, said):
    """docs/plan-format.md: cumulative figures are judged by 序时进度 — for a cap, the 序时目标 is the
    most the period may show, and it is the figure the status is judged against."""
    ind = _capped(plan, Accumulation.CUMULATIVE)
    r = assess_indicator(ind, plan.period(period_id), {"sthjj": sub("sthjj", {"T20-1": value}, period=period_id)}, {})
    assert r.sequential == 5000 * plan.period(period_id).elapsed
    assert r.status is status and said in r.reason


# -- a gap is never shown as 0 ------------------------------------------------------------------------


def test_a_gap_too_small_for_the_usual_decimals_is_not_shown_as_zero(plan):
    u = run(plan, "2024FY", sub("baoshuiqu_glj", annex=(10000, 9650.4, 10000, 10000))).unit("baoshuiqu_glj")
    assert u.status is Status.BEHIND and u.rate == pytest.approx(3.496)
    assert "同比下降3.496%" in u.reason and "尚差0.004个百分点" in u.reason
    r = run(plan, "2024Q3", sub("fgw", {"T05-1": 11.24999}, period="2024Q3")).indicators["T05-1"]
    assert r.status is Status.BEHIND and "差0.00001万千瓦" in r.reason and "11.24999" in r.reason
    r = run(plan, "2024FY", sub("fgw", {"H1": 5.29999}, period="2024FY")).indicators["H1"]
    assert r.status is Status.BEHIND and "尚差0.00001个百分点" in r.reason
    # a figure closer to its bar than 6 decimals show still reads as short of it
    status, reason = judge(plan.indicator("T17-2"), 93.9999999, plan.period("2024FY"))
    assert status is Status.BEHIND and "为93.9999999%" in reason and "尚差0.0000001个百分点" in reason
    for res in (u.reason, r.reason, reason):
        assert "差0个" not in res and "差0万" not in res


def test_an_annex_rate_short_of_its_target_is_shown_short_of_it_everywhere(plan):
    """3.496 % against a 3.5 % target is 滞后: the report's 表2 and 汇总表 show 3.496, not 3.50."""
    import openpyxl
    from docx import Document

    from pdreport.assess import rate_places
    from pdreport.report.render import render_report
    from pdreport.summary import SHEET_ANNEX, render_summary

    a = run(plan, "2024FY", sub("baoshuiqu_glj", annex=(10000, 9650.4, 10000, 10000), period="2024FY"))
    u = a.unit("baoshuiqu_glj")
    assert u.status is Status.BEHIND and rate_places(u) == 3
    doc = Document(io.BytesIO(render_report(a)))
    rows = [[c.text for c in row.cells] for t in doc.tables for row in t.rows]
    (row,) = [r for r in rows if "保税区管理局" in r and "滞后" in r]
    assert "3.496" in row and "3.50" not in row, row
    ws = openpyxl.load_workbook(io.BytesIO(render_summary(a, ())))[SHEET_ANNEX]
    (cell,) = [c for r in ws.iter_rows() for c in r if isinstance(c.value, float) and abs(c.value - 3.496) < 1e-9]
    assert cell.number_format == "0.000"


# -- annex: 工业万元产值能耗下降率 -------------------------------------------------------------------


def annex_rate(eb, ec, ob, oc):
    return (1 - (ec / oc) / (eb / ob)) * 100


@pytest.mark.parametrize(
    ("period_id", "parts", "status"),
    [
        ("2024H1", (100, 96.5, 100, 100), Status.ON_TRACK),  # exactly 3.5
        ("2024FY", (100, 96.5, 100, 100), Status.DONE),
        ("2024FY", (100, 96.51, 100, 100), Status.BEHIND),  # 3.49
        ("2024FY", (200, 193, 100, 100), Status.DONE),  # same intensity ratio, other scale
        ("2024FY", (100, 110, 100, 100), Status.BEHIND),  # energy up, output flat: rising
        ("2024FY", (100, 100, 100, 120), Status.DONE),  # output up 20 %: intensity fell 16.67 %
    ],
)
def test_annex_rate_against_target(plan, period_id, parts, status):
    u = run(plan, period_id, sub("baoshuiqu_glj", annex=parts)).unit("baoshuiqu_glj")
    assert u.target == 3.5
    assert u.status is status
    assert u.rate == pytest.approx(annex_rate(*parts), abs=1e-4)
    assert (u.energy_base, u.energy_current, u.output_base, u.output_current) == parts
    assert u.intensity_base == pytest.approx(parts[0] / parts[2])
    assert u.included == ("baoshuiqu_glj",)
    assert u.rolled_into is None


def test_annex_exactly_at_target_rate_is_exact(plan):
    u = run(plan, "2024FY", sub("baoshuiqu_glj", annex=(100, 96.5, 100, 100))).unit("baoshuiqu_glj")
    assert u.rate == 3.5
    assert "同比下降3.50%" in u.reason and "达到目标" in u.reason


def test_annex_rising_intensity_is_negative_and_behind(plan):
    u = run(plan, "2024FY", sub("baoshuiqu_glj", annex=(100, 110, 100, 100))).unit("baoshuiqu_glj")
    assert u.rate == pytest.approx(-10)
    assert u.status is Status.BEHIND
    assert "上升" in u.reason and "同比上升10.00%" in u.reason


def test_annex_just_below_reason(plan):
    u = run(plan, "2024FY", sub("baoshuiqu_glj", annex=(100, 96.51, 100, 100))).unit("baoshuiqu_glj")
    assert u.status is Status.BEHIND
    assert "尚差0.01个百分点" in u.reason


@pytest.mark.parametrize(
    "parts",
    [
        (0, 10, 100, 100),  # zero energy base
        (100, 10, 0, 100),  # zero output base
        (100, 10, 100, 0),  # zero current output
        (0, 0, 0, 0),
    ],
)
def test_annex_zero_base_is_invalid(plan, parts):
    u = run(plan, "2024FY", sub("baoshuiqu_glj", annex=parts)).unit("baoshuiqu_glj")
    assert u.status is Status.INVALID
    assert u.rate is None
    assert "为0" in u.reason


def test_annex_zero_current_energy_is_a_full_reduction(plan):
    u = run(plan, "2024FY", sub("baoshuiqu_glj", annex=(100, 0, 100, 100))).unit("baoshuiqu_glj")
    assert u.status is Status.DONE and u.rate == 100


@pytest.mark.parametrize(
    "parts",
    [(None, 96.5, 100, 100), (100, 96.5, None, 100), (100, None, 100, 100)],
)
def test_annex_missing_part_is_invalid(plan, parts):
    u = run(plan, "2024FY", sub("baoshuiqu_glj", annex=parts)).unit("baoshuiqu_glj")
    assert u.status is Status.INVALID
    assert u.rate is None
    assert "数据不全" in u.reason


def test_annex_left_blank_is_not_reported(plan):
    u = run(plan, "2024FY", sub("baoshuiqu_glj", annex=(None, None, None, None))).unit("baoshuiqu_glj")
    assert u.status is Status.MISSING and u.rate is None and "未填写" in u.reason


def test_annex_rejected_field_names_the_finding(plan):
    s = sub("baoshuiqu_glj", annex=(None, 96.5, 100, 100))
    f = error(Code.OUT_OF_RANGE, "baoshuiqu_glj", s.file, field="annex.energy_base", message="填报值 -5 超出合理范围")
    u = run(plan, "2024FY", s, findings=[f]).unit("baoshuiqu_glj")
    assert u.status is Status.INVALID and "超出合理范围" in u.reason
    # no annex at all (sheet deleted) but a finding for it: 数据有误, not 未报送
    s = sub("baoshuiqu_glj", {"T05-1": 1})
    f = error(Code.SHEET_MISSING, "baoshuiqu_glj", s.file, sheet="附件指标")
    u = run(plan, "2024FY", s, findings=[f]).unit("baoshuiqu_glj")
    assert u.status is Status.INVALID and "填报数据有误" in u.reason


def test_annex_no_submission(plan):
    u = run(plan, "2024FY").unit("baoshuiqu_glj")
    assert u.status is Status.MISSING
    assert u.rate is None and u.energy_base is None
    assert "未报送" in u.reason


def test_annex_slash_unit_is_reported_not_assessed(plan):
    unit = plan.annex.unit_for("lujiazui_glj")
    assert unit.target is None and not unit.assessed
    u = run(plan, "2024FY", sub("lujiazui_glj", annex=(100, 90, 100, 100))).unit("lujiazui_glj")
    assert u.status is Status.NOT_ASSESSED
    assert u.rate == pytest.approx(10)
    assert u.target is None
    assert "不考核" in u.reason
    # even a rise is only reported
    u = run(plan, "2024FY", sub("lujiazui_glj", annex=(100, 120, 100, 100))).unit("lujiazui_glj")
    assert u.status is Status.NOT_ASSESSED and u.rate == pytest.approx(-20)
    # and not sending it is not 未报送 either
    assert run(plan, "2024FY").unit("lujiazui_glj").status is Status.NOT_ASSESSED


def test_annex_town_rolls_into_authority(plan):
    glj = (100, 95, 100, 100)
    zhen = (50, 50, 50, 60)
    a = run(plan, "2024FY", sub("jinqiao_glj", annex=glj), sub("jinqiao_zhen", annex=zhen))
    town = a.unit("jinqiao_zhen")
    assert town.status is Status.NOT_ASSESSED
    assert town.rolled_into == "jinqiao_glj"
    assert "金桥管理局" in town.reason
    assert town.rate == pytest.approx(annex_rate(*zhen), abs=1e-4)  # shown for information
    host = a.unit("jinqiao_glj")
    assert host.included == ("jinqiao_glj", "jinqiao_zhen")
    assert host.energy_base == 150 and host.energy_current == 145
    assert host.output_base == 150 and host.output_current == 160
    assert host.rate == pytest.approx(annex_rate(150, 145, 150, 160), abs=1e-4)
    assert host.rate == pytest.approx(9.375)
    assert host.status is Status.DONE
    assert "含金桥镇" in host.reason
    # the combined rate differs from the authority's own rate (5 %): the sums, not the rates, are combined
    assert host.rate != pytest.approx(annex_rate(*glj))


def test_annex_zhangjiang_rolls_in_too(plan):
    a = run(plan, "2024FY", sub("zhangjiang_glj", annex=(100, 99, 100, 100)),
            sub("zhangjiang_zhen", annex=(100, 90, 100, 100)))  # fmt: skip
    assert a.unit("zhangjiang_zhen").rolled_into == "zhangjiang_glj"
    host = a.unit("zhangjiang_glj")
    assert host.energy_base == 200 and host.energy_current == 189
    assert host.rate == pytest.approx(5.5)
    assert host.status is Status.DONE  # target 4; alone (1 %) it would be behind


def test_annex_town_missing_is_said_under_the_authority(plan):
    a = run(plan, "2024FY", sub("jinqiao_glj", annex=(100, 95, 100, 100)))
    host = a.unit("jinqiao_glj")
    assert host.status is Status.DONE
    assert host.included == ("jinqiao_glj",)
    assert host.energy_base == 100
    assert "金桥镇未报送" in host.reason
    town = a.unit("jinqiao_zhen")
    assert town.status is Status.NOT_ASSESSED and town.rolled_into == "jinqiao_glj"
    assert town.rate is None


def test_annex_authority_missing_town_present(plan):
    a = run(plan, "2024FY", sub("jinqiao_zhen", annex=(50, 50, 50, 60)))
    host = a.unit("jinqiao_glj")
    assert host.status is Status.MISSING
    assert host.rate is None



# A merged unit (金桥镇 in 金桥管理局) that gave no figures — no return, or its annex left blank — is
# not counted and is named; one whose figures were typed but are incomplete or rejected leaves no
# combined rate (数据有误), and the reason names it (README 评估规则).
JINQIAO = (100, 95, 100, 100)  # 金桥管理局 alone: 5 % (target 2.5)


@pytest.mark.parametrize("town", [None, (None, None, None, None)], ids=["no return", "annex blank"])
def test_annex_town_without_figures_is_not_counted_and_named(plan, town):
    subs = [sub("jinqiao_glj", annex=JINQIAO)]
    if town is not None:
        subs.append(sub("jinqiao_zhen", annex=town))
    host = run(plan, "2024FY", *subs).unit("jinqiao_glj")
    # a blank sheet is no worse than none: the authority is judged on its own complete figures
    assert host.status is Status.DONE and host.rate == pytest.approx(5)
    assert host.included == ("jinqiao_glj",) and host.energy_base == 100
    said = "金桥镇未报送，未计入" if town is None else "金桥镇附件指标未填写，未计入"
    assert said in host.reason
    assert "含金桥镇" not in host.reason


def test_annex_town_sheet_blank_and_no_sheet_read_the_same(plan):
    """(blank vs nothing: the same status and figures for the host, only the words differ)"""
    alone = run(plan, "2024H1", sub("jinqiao_glj", annex=(100, 98, 100, 100))).unit("jinqiao_glj")
    blank = run(plan, "2024H1", sub("jinqiao_glj", annex=(100, 98, 100, 100)),
                sub("jinqiao_zhen", annex=(None, None, None, None))).unit("jinqiao_glj")  # fmt: skip
    assert (blank.status, blank.rate, blank.included) == (alone.status, alone.rate, alone.included)
    assert blank.status is Status.BEHIND


def test_annex_town_incomplete_figures_make_the_host_invalid_naming_the_town(plan):
    a = run(plan, "2024FY", sub("jinqiao_glj", annex=JINQIAO), sub("jinqiao_zhen", annex=(50, None, 50, 60)))
    host = a.unit("jinqiao_glj")
    assert host.status is Status.INVALID and host.rate is None
    assert "并入计算的金桥镇数据有误" in host.reason and "金桥镇能耗或产值数据不全" in host.reason
    assert "含金桥镇" not in host.reason
    town = a.unit("jinqiao_zhen")
    assert town.status is Status.NOT_ASSESSED and "能耗或产值数据不全" in town.reason


def test_annex_town_rejected_cell_names_the_town_and_the_finding(plan):
    town = sub("jinqiao_zhen", annex=(50, None, 50, 60))
    f = error(Code.WRONG_TYPE, "jinqiao_zhen", town.file, field="annex.energy_current", message="“本期能耗”无法读成数字")
    a = run(plan, "2024FY", sub("jinqiao_glj", annex=JINQIAO), town, findings=[f])
    host = a.unit("jinqiao_glj")
    assert host.status is Status.INVALID and host.rate is None
    assert "金桥镇填报数据有误：“本期能耗”无法读成数字" in host.reason
    assert "填报数据有误" in a.unit("jinqiao_zhen").reason


def test_annex_town_rejected_sheet_is_invalid_not_unreported(plan):
    town = sub("jinqiao_zhen", {"T05-1": 1})  # no annex read: the sheet was deleted
    f = error(Code.SHEET_MISSING, "jinqiao_zhen", town.file, sheet="附件指标")
    host = run(plan, "2024FY", sub("jinqiao_glj", annex=JINQIAO), town, findings=[f]).unit("jinqiao_glj")
    assert host.status is Status.INVALID
    assert "金桥镇填报数据有误" in host.reason and "未报送" not in host.reason


@pytest.mark.parametrize(
    ("parts", "said"),
    [((100, None, 100, 100), "数据不全"), ((0, 5, 0, 100), "为0"), ((None, None, None, None), "未填写")],
)
def test_annex_slash_unit_stays_not_assessed_whatever_its_data(plan, parts, said):
    """"/" in the notice: reported, never assessed — incomplete or zero-based figures are findings
    (问题清单), not a 数据有误 status, so the tally keeps the notice's five 不考核 units."""
    a = run(plan, "2024FY", sub("lujiazui_glj", annex=parts))
    u = a.unit("lujiazui_glj")
    assert u.status is Status.NOT_ASSESSED and u.rate is None and said in u.reason
    counts = a.status_counts(a.annex)
    assert counts[Status.NOT_ASSESSED] == sum(not x.assessed for x in plan.annex.units) == 5
    # a rejected sheet too
    s = sub("lujiazui_glj", {"T05-1": 1})
    f = error(Code.SHEET_MISSING, "lujiazui_glj", s.file, sheet="附件指标")
    u = run(plan, "2024FY", s, findings=[f]).unit("lujiazui_glj")
    assert u.status is Status.NOT_ASSESSED and "填报数据有误" in u.reason and "不考核" in u.reason


# -- tasks -----------------------------------------------------------------------------------------


def test_task_done_when_everyone_says_done_and_indicators_done(plan):
    # task 17: 区建交委 only; T17-1 442 辆 (cumulative), T17-2 94 % (level)
    a = run(plan, "2024FY", sub("jjw", {"T17-1": 442, "T17-2": 94}, tasks={17: "已完成"}, period="2024FY"))
    t = a.task(17)
    assert t.status is Status.DONE
    assert t.owed_by == ()
    assert [r.respondent for r in t.reports] == ["jjw"]
    assert {r.indicator.id for r in t.indicators} == {"T17-1", "T17-2"}


def test_task_said_done_but_indicator_behind(plan):
    a = run(plan, "2024FY", sub("jjw", {"T17-1": 400, "T17-2": 94}, tasks={17: "已完成"}))
    t = a.task(17)
    assert t.status is Status.BEHIND
    assert "新能源公交车辆更新数" in t.reason


def test_task_reported_behind(plan):
    a = run(plan, "2024H1", sub("jjw", {"T17-1": 300, "T17-2": 94}, tasks={17: "已滞后"}))
    t = a.task(17)
    assert t.status is Status.BEHIND
    assert "区建交委报告进度滞后" in t.reason


def test_a_long_list_of_units_behind_names_ten(plan):
    # city-wide, thousands of units can be behind on one task: a reason (a cell in 汇总表, a
    # sentence in the report) names ten and counts the rest; every unit's status is in 汇总表
    rids = plan.task(24).respondents
    a = run(plan, "2024H1", *(sub(r, tasks={24: "已滞后"}) for r in rids))
    names = [plan.respondent(r).name for r in rids]
    assert len(names) > 10
    assert a.task(24).reason == "、".join(names[:10]) + f"等{len(names)}个单位报告进度滞后"
    few = run(plan, "2024H1", *(sub(r, tasks={24: "已滞后"}) for r in rids[:10]))
    assert few.task(24).reason.startswith("、".join(names[:10]) + "报告进度滞后")


def test_task_nobody_reports(plan):
    a = run(plan, "2024H1")
    t = a.task(5)
    assert t.status is Status.MISSING
    assert t.owed_by == plan.task(5).respondents
    assert t.reason == "责任单位均未报送"  # who they are is owed_by, listed by every output


def test_task_partial_reporting_lists_owed(plan):
    # task 3: 区发改委 + 区科经委; 区科经委 says nothing
    s = sub("fgw", tasks={3: "推进中"})
    t = run(plan, "2024H1", s).task(3)
    assert t.status is Status.ON_TRACK
    assert t.owed_by == ("kjw",)
    assert "未报送" not in t.reason  # listed once, from owed_by, not again in the reason


def test_task_all_said_done_but_someone_owed_is_not_done(plan):
    ms = {m: (True, dt.date(2024, 5, 1)) for m in ("T03-M1", "T03-M2", "T03-M3")}
    t = run(plan, "2024H1", sub("fgw", milestones=ms, tasks={3: "已完成"})).task(3)
    assert t.status is Status.ON_TRACK and t.reason == ""
    # at year end a task that cannot be confirmed done is not done
    t = run(plan, "2024FY", sub("fgw", milestones=ms, tasks={3: "已完成"})).task(3)
    assert t.status is Status.BEHIND
    assert t.reason == "1个责任单位未报送，年末无法确认全部完成"
    assert t.owed_by == ("kjw",)
    t = run(plan, "2024FY", sub("fgw", milestones=ms, tasks={3: "已完成"}), sub("kjw", tasks={3: "已完成"})).task(3)
    assert t.status is Status.DONE and t.owed_by == ()


def test_task_blank_row_counts_as_owed(plan):
    # a TaskReport with neither status nor progress text is not a report
    t = run(plan, "2024H1", sub("fgw", tasks={2: ("", "")})).task(2)
    assert t.status is Status.MISSING and t.owed_by == ("fgw",)
    # progress text without a status is a report
    t = run(plan, "2024H1", sub("fgw", tasks={2: ("", "已部署")})).task(2)
    assert t.status is Status.ON_TRACK and t.owed_by == ()


def test_task_not_started(plan):
    t = run(plan, "2024H1", sub("fgw", tasks={2: "未启动"})).task(2)
    assert t.status is Status.ON_TRACK and "1个单位尚未启动" in t.reason
    t = run(plan, "2024FY", sub("fgw", tasks={2: "未启动"})).task(2)
    assert t.status is Status.BEHIND


def test_task_in_progress_at_year_end_is_not_finished(plan):
    """After the year has ended nothing is 序时推进: a unit still 推进中 (or giving progress without
    a status) has not finished its part, so the task is 滞后 and the reason says who."""
    # task 27: 区金融局 alone, no indicator
    t = run(plan, "2024H1", sub("jrj", tasks={27: "推进中"})).task(27)
    assert t.status is Status.ON_TRACK and t.reason == ""
    t = run(plan, "2024FY", sub("jrj", tasks={27: "推进中"})).task(27)
    assert t.status is Status.BEHIND
    assert t.reason == "区金融局年末仍在推进中"
    t = run(plan, "2024FY", sub("jrj", tasks={27: ("", "已开展绿色金融对接")})).task(27)
    assert t.status is Status.BEHIND and t.reason == "区金融局年末仍在推进中"
    t = run(plan, "2024FY", sub("jrj", tasks={27: "已完成"})).task(27)
    assert t.status is Status.DONE and t.reason == ""


def test_task_in_progress_at_year_end_with_every_indicator_done_is_done(plan):
    """Every indicator of the task has reached its annual target (the notice's measure of the
    year's work): a unit's 推进中 is continuing work, the task is 已完成 and the reason says so."""
    # task 13: 区建交委, T13-1 既有建筑节能改造面积 100 万平方米, and H5 (其中公共建筑 10 万平方米)
    t = run(plan, "2024FY", sub("jjw", {"T13-1": 113, "H5": 11}, tasks={13: "推进中"})).task(13)
    assert t.status is Status.DONE
    assert t.reason == "各项指标均已完成年度目标，区建交委报告相关工作仍在持续推进"
    # an indicator short of its target: not finished, and the reason names both
    t = run(plan, "2024FY", sub("jjw", {"T13-1": 90, "H5": 11}, tasks={13: "推进中"})).task(13)
    assert t.status is Status.BEHIND
    assert t.reason == "未完成年度目标：既有建筑节能改造面积；区建交委年末仍在推进中"
    # in the year the same indicator is 未达到序时要求 (and 推进中 is on track)
    t = run(plan, "2024H1", sub("jjw", {"T13-1": 40, "H5": 5}, tasks={13: "推进中"})).task(13)
    assert t.status is Status.BEHIND and t.reason == "未达到序时要求：既有建筑节能改造面积"
    # the indicator not reported: nothing settles it, so 推进中 is not finished
    t = run(plan, "2024FY", sub("jjw", tasks={13: "推进中"})).task(13)
    assert t.status is Status.BEHIND and "区建交委年末仍在推进中" in t.reason
    # a unit that says 已滞后 is behind whatever the figures say
    t = run(plan, "2024FY", sub("jjw", {"T13-1": 113, "H5": 11}, tasks={13: "已滞后"})).task(13)
    assert t.status is Status.BEHIND and t.reason == "区建交委报告进度滞后"


def test_a_task_is_measured_by_the_target_it_states_again(plan):
    """Task 13's "其中…公共建筑节能改造不少于10万平方米" is the headline's H5 (``same_as``, reported
    once): short of it, the task is not done, whatever its own T13-1 says."""
    a = run(plan, "2024FY", sub("jjw", {"T13-1": 100, "H5": 9.99}, tasks={13: "已完成"}))
    t = a.task(13)
    assert [r.indicator.id for r in t.indicators] == ["T13-1", "H5"]
    assert t.status is Status.BEHIND and t.reason == f"未完成年度目标：{plan.indicator('H5').name}"
    assert a.task(13).indicators[1] is a.indicators["H5"]  # (one figure, one result)


def test_a_task_with_an_indicator_in_error_says_so_whatever_its_status(plan):
    """An indicator whose figure was rejected (数据有误) is named in its task's reason. In the year
    it makes the task 数据有误; at year end a unit still 推进中 makes the task 滞后 (every indicator
    is not confirmed done), and the reason says why the 数据有误 line leaves it open."""
    # task 7: 区科经委 alone; T07-1 清洁生产企业数 rejected, T07-2 节能项目数 past its target
    s = sub("kjw", {"T07-2": 21}, tasks={7: "推进中"})
    wrong = error(Code.WRONG_TYPE, "kjw", s.file, field="ind.T07-1.value")
    h1 = run(plan, "2024H1", s, findings=[wrong]).task(7)
    assert h1.indicators[0].status is Status.INVALID
    assert h1.status is Status.INVALID
    assert h1.reason == "数据有误待核实：开展清洁生产相关工作的企业数"
    fy = run(plan, "2024FY", s, findings=[wrong]).task(7)
    assert fy.indicators[0].status is Status.INVALID
    assert fy.status is Status.BEHIND
    assert fy.reason == "区科经委年末仍在推进中；数据有误待核实，年末无法确认完成年度目标：开展清洁生产相关工作的企业数"
    # the unit says 已完成: the task is as its indicators stand, 数据有误, at year end too
    done = sub("kjw", {"T07-2": 21}, tasks={7: "已完成"})
    fy = run(plan, "2024FY", done, findings=[wrong]).task(7)
    assert fy.status is Status.INVALID and "数据有误待核实" in fy.reason


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.deferred(lambda: returns()))
def test_nothing_is_on_schedule_at_year_end(plan, data):
    """At year end every indicator, task, headline target and annex unit is 已完成 or not (滞后,
    未报送, 数据有误, 不考核): never 序时推进."""
    _, everything, stale = data
    a = assess(plan, plan.period("2024FY"), everything, stale)
    results = [*a.indicators.values(), *a.tasks, *a.annex, *(h.result for h in a.headline)]
    assert Status.ON_TRACK not in {r.status for r in results}
    for r in a.indicators.values():
        assert Status.ON_TRACK not in {rep.status for rep in r.reports}


def test_task_long_owed_list_is_shortened(plan):
    t = run(plan, "2024H1", sub("fgw", tasks={1: "推进中"})).task(1)
    n = len(plan.task(1).respondents) - 1
    assert len(t.owed_by) == n and t.reason == ""
    from pdreport.report.context import build_context

    a = run(plan, "2024H1", sub("fgw", tasks={1: "推进中"}))
    task1 = next(x for s in build_context(a, dt.date(2024, 7, 20))["sections"] for x in s["tasks"] if x["number"] == 1)
    assert task1["owed_text"].endswith(f"等{n}个单位")  # the report shortens the list


# -- respondent cards ------------------------------------------------------------------------------


def test_card_on_time_and_late(plan):
    h1 = plan.period("2024H1")
    a = run(plan, "2024H1", sub("fgw", {"H1": 5.3}, filled_on=h1.deadline),
            sub("kjw", {"H2": 4}, filled_on=h1.deadline + dt.timedelta(days=1)))  # fmt: skip
    assert a.card("fgw").on_time is True
    assert a.card("kjw").on_time is False
    assert a.card("jjw").on_time is None
    # no 填报日期: unknown (file times change with every copy and time zone)
    late = dt.datetime(2024, 7, 20, 12).timestamp()
    a = run(plan, "2024H1", sub("fgw", {"H1": 5.3}, filled_on=None, mtime=late))
    assert a.card("fgw").on_time is None


def test_card_states(plan):
    ok = sub("fgw", {"H1": 5.3}, file="fgw.xlsx")
    bad = sub("kjw", {"H2": 4}, file="kjw.xlsx")
    findings = [
        error(Code.WRONG_TYPE, "kjw", "kjw.xlsx", field="ind.H2.note"),
        Finding(Code.TEXT_CLEANED, "已清除", file="fgw.xlsx", respondent="fgw"),
        error(Code.WRONG_TYPE, "fgw", "fgw-旧.xlsx", field="ind.H1.value"),  # superseded file
    ]
    a = run(plan, "2024H1", ok, bad, findings=findings)
    fgw, kjw, jjw = a.card("fgw"), a.card("kjw"), a.card("jjw")
    assert jjw.state == "未报送" and jjw.submission is None
    assert fgw.state == "已报送" and fgw.errors == 0 and fgw.warnings == 1
    assert kjw.state == "需退回修改" and kjw.errors == 1
    assert {c.respondent.id for c in a.submitted} == {"fgw", "kjw"}
    assert len(a.missing) == len(plan.respondents) - 2
    assert Finding(Code.TEXT_CLEANED, "x", severity=Severity.ERROR).is_error  # severity override honoured


def test_card_lists_own_indicators_and_tasks(plan):
    a = run(plan, "2024H1", sub("fgw", {"H1": 5.3, "T05-1": 8}, tasks={5: "推进中"}))
    card = a.card("fgw")
    ids = [res.indicator.id for res, _ in card.indicators]
    assert ids == [i.id for i in plan.indicators_for("fgw")]
    by = {res.indicator.id: (res, rep) for res, rep in card.indicators}
    res, rep = by["T05-1"]
    assert rep.respondent == "fgw" and rep.value == 8 and rep.role == "lead"
    assert res.status is Status.ON_TRACK
    assert by["T01-M1"][1].state == "missing"
    tasks = {task.number: rep for task, rep in card.tasks}
    assert tasks[5] is not None and tasks[5].status == "推进中"
    assert tasks[2] is None
    # a contributor's card shows its own figure next to the district result
    c = a.card("jjw")
    res, rep = next((res, rep) for res, rep in c.indicators if res.indicator.id == "T05-1")
    assert rep.role == "contributor" and rep.state == "missing" and res.value == 8


def test_card_for_each_indicator_carries_own_status(plan):
    a = run(plan, "2024FY", sub("sww", {"H3": 80}), sub("jyj", {"H3": 95}))
    rep = next(rep for res, rep in a.card("sww").indicators if res.indicator.id == "H3")
    assert rep.status is Status.BEHIND
    rep = next(rep for res, rep in a.card("jyj").indicators if res.indicator.id == "H3")
    assert rep.status is Status.DONE


# -- status vocabulary, counts ----------------------------------------------------------------------


def test_status_labels_and_counts(plan):
    assert [s.label for s in Status] == ["已完成", "序时推进", "未报送", "数据有误", "滞后", "不考核"]
    a = run(plan, "2024H1", sub("fgw", {"H1": 5.3, "T05-1": 1}))
    counts = a.status_counts(a.indicators.values())
    assert sum(counts.values()) == len(plan.indicators)
    assert counts[Status.ON_TRACK] >= 1 and counts[Status.BEHIND] >= 1


# -- snapshot / change_text -------------------------------------------------------------------------


def test_snapshot_is_json_and_change_text(plan):
    first = run(plan, "2024H1", sub("fgw", {"T05-1": 7.5, "H1": 5.0}, tasks={5: "推进中"}),
                sub("baoshuiqu_glj", annex=(100, 97, 100, 100)))  # fmt: skip
    snap = snapshot(first)
    text = json.dumps(snap, ensure_ascii=False, sort_keys=True)
    prev = json.loads(text)
    assert prev["period"] == "2024H1"
    assert prev["indicators"]["T05-1"] == {"value": 7.5, "status": "序时推进", "done": None}
    assert prev["submitted"] == ["baoshuiqu_glj", "fgw"]

    second = run(plan, "2024Q3", sub("fgw", {"T05-1": 10, "H1": 4.8}, tasks={5: "已滞后"}),
                 sub("baoshuiqu_glj", annex=(100, 96, 100, 100)))  # fmt: skip
    assert change_text(second, "indicators", "T05-1", 10.0) == ""  # no previous period given
    second.previous = prev
    assert change_text(second, "indicators", "T05-1", 10.0) == "较上期+2.5"
    assert change_text(second, "indicators", "H1", 4.8) == "较上期-0.2个百分点"
    assert change_text(second, "indicators", "H1", 4.9083) == "较上期-0.09个百分点"  # two decimals, as shown
    assert change_text(second, "indicators", "H1", 5.0004) == "与上期持平"
    assert change_text(second, "indicators", "T05-1", 7.5) == "与上期持平"
    # a count since 1 January cannot fall: flagged (a rate may)
    assert change_text(second, "indicators", "T05-1", 7.0) == "较上期-0.5，累计数比上期少，请核对"
    assert change_text(second, "tasks", "5", status=Status.BEHIND) == "上期：序时推进"
    assert change_text(second, "tasks", "5", status=Status.ON_TRACK) == ""
    assert change_text(second, "annex", "baoshuiqu_glj", second.unit("baoshuiqu_glj").rate) == "较上期+1个百分点"
    # the previous period had no figure: its status is shown instead
    assert change_text(second, "indicators", "T17-2", 94) == "上期：未报送"
    assert change_text(second, "indicators", "no-such-id", 1.0) == ""


def test_a_milestone_done_last_period_and_not_done_now_is_flagged(plan):
    """A milestone cannot be undone: reported 已完成 last period and 未完成 now, one of the two reports
    is wrong, and the change says so (as a count since 1 January that fell); otherwise, as for a
    task, the change is the previous status where it differs."""
    from pdreport.assess import UNDONE

    first = run(plan, "2024Q1", sub("fgw", milestones={"T01-M1": (True, dt.date(2024, 1, 29)), "T01-M2": False},
                                    period="2024Q1"))  # fmt: skip
    prev = json.loads(json.dumps(snapshot(first)))
    assert prev["indicators"]["T01-M1"] == {"value": None, "status": "已完成", "done": True}
    second = run(plan, "2024H1", sub("fgw", milestones={"T01-M1": False, "T01-M2": (True, dt.date(2024, 5, 1))}))
    second.previous = prev
    assert second.indicators["T01-M1"].status is Status.ON_TRACK  # (the status is as reported)
    assert change_text(second, "indicators", "T01-M1") == UNDONE == "上期报已完成，本期报未完成，请核对"
    assert change_text(second, "indicators", "T01-M2") == "上期：序时推进"
    same = run(plan, "2024H1", sub("fgw", milestones={"T01-M1": (True, dt.date(2024, 1, 29)), "T01-M2": False}))
    same.previous = prev
    assert change_text(same, "indicators", "T01-M1") == "" and change_text(same, "indicators", "T01-M2") == ""
    # not reported now: not a report of 未完成, only the previous status
    none = run(plan, "2024H1")
    none.previous = prev
    assert change_text(none, "indicators", "T01-M1") == "上期：已完成"


def test_each_units_own_change_since_the_previous_period(plan):
    from pdreport.assess import unit_change_text

    first = run(plan, "2024H1", sub("jyj", {"H3": 92}), sub("sww", {"H3": 95}))
    prev = json.loads(json.dumps(snapshot(first)))
    assert prev["each"]["H3"] == {"jyj": 92, "sww": 95}
    second = run(plan, "2024Q3", sub("jyj", {"H3": 95}), sub("sww", {"H3": 95}), sub("wtlyj", {"H3": 91}))
    second.previous = prev
    assert unit_change_text(second, "H3", "jyj", 95) == "较上期+3个百分点"
    assert unit_change_text(second, "H3", "sww", 95) == "与上期持平"
    assert unit_change_text(second, "H3", "wtlyj", 91) == ""  # nothing last period
    del prev["each"]  # a snapshot written before units' own figures were kept
    assert unit_change_text(second, "H3", "jyj", 95) == ""


# -- order independence and robustness (property tests) ---------------------------------------------

PLAN = load_plan()
RESPONDENTS = tuple(r.id for r in PLAN.respondents)
TASK_STATUSES = ("已完成", "推进中", "已滞后", "未启动", "")
SHEETS = ("指标", "重点任务", "附件指标")
finite = st.floats(0, 1e4, allow_nan=False)


@st.composite
def return_of(draw, rid: str, version: int, values=finite, annex_part=finite):
    """One random return of ``rid``: a random subset of its figures, milestones and tasks."""
    figs, ms = {}, {}
    for ind in PLAN.indicators_for(rid):
        if not draw(st.booleans()):
            continue
        if ind.is_milestone:
            ms[ind.id] = (draw(st.booleans()), draw(st.none() | st.dates(dt.date(2024, 1, 1), dt.date(2024, 12, 31))))
        else:
            figs[ind.id] = draw(values)
    tasks = {t.number: draw(st.sampled_from(TASK_STATUSES)) for t in PLAN.tasks_for(rid) if draw(st.booleans())}
    annex = None
    if PLAN.annex.unit_for(rid) is not None and draw(st.booleans()):
        annex = tuple(draw(annex_part) for _ in range(4))
    return sub(rid, figs, ms, tasks, annex, file=f"{rid}-{version}.xlsx")


@st.composite
def returns(draw, values=finite, annex_part=finite):
    """(newest return per respondent, every return incl. older duplicates, shuffled, and
    error findings on the superseded files only)."""
    chosen = draw(st.lists(st.sampled_from(RESPONDENTS), unique=True, max_size=14))
    newest, everything, stale = [], [], []
    for rid in chosen:
        final = draw(return_of(rid, 0, values, annex_part))
        final.filled_on = DAY
        final.mtime = MTIME
        newest.append(final)
        everything.append(final)
        for v in range(1, draw(st.integers(0, 2)) + 1):
            old = draw(return_of(rid, v, values, annex_part))
            if draw(st.booleans()):
                old.filled_on = DAY - dt.timedelta(days=draw(st.integers(1, 30)))  # older 填报日期
                old.mtime = MTIME + draw(st.integers(0, 10**6))  # even if the file is newer
            else:
                old.filled_on = DAY
                old.mtime = MTIME - draw(st.integers(1, 10**6))  # same date, older file
            everything.append(old)
            if draw(st.booleans()):
                stale.append(error(Code.SHEET_MISSING, rid, old.file, sheet=draw(st.sampled_from(SHEETS))))
    everything = draw(st.permutations(everything))
    return sorted(newest, key=lambda s: s.respondent), everything, draw(st.permutations(stale))


def fingerprint(a: Assessment) -> tuple:
    """Everything a reader sees, beyond the snapshot: statuses, numbers, reasons, who owes what."""
    return (
        tuple((i, r.status, r.value, r.contributors_sum, r.gap, r.reason, r.owed_by,
               tuple((rep.respondent, rep.state, rep.value, rep.done, rep.status) for rep in r.reports))
              for i, r in sorted(a.indicators.items())),
        tuple((t.task.number, t.status, t.reason, t.owed_by, t.reports) for t in a.tasks),
        tuple((u.unit.respondent, u.status, u.rate, u.reason, u.included,
               u.energy_base, u.energy_current, u.output_base, u.output_current) for u in a.annex),
        tuple((c.respondent.id, c.submission.file if c.submission else None, c.on_time, c.state) for c in a.respondents),
    )  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=returns(), period_id=st.sampled_from([p.id for p in PLAN.periods]))
def test_assessment_independent_of_order_and_resubmissions(data, period_id):
    newest, everything, stale = data
    period = PLAN.period(period_id)
    expected = assess(PLAN, period, newest)
    got = assess(PLAN, period, everything, stale)  # findings on superseded files change nothing
    assert snapshot(got) == snapshot(expected)
    assert fingerprint(got) == fingerprint(expected)
    assert json.loads(json.dumps(snapshot(got))) == snapshot(got)
    # a mapping of respondent → return is accepted as well
    assert snapshot(assess(PLAN, period, {s.respondent: s for s in newest})) == snapshot(expected)


annex_part = st.none() | st.just(0.0) | st.floats(0, 1e4, allow_nan=False)
any_figure = st.just(0.0) | st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=returns(values=any_figure, annex_part=annex_part), period_id=st.sampled_from([p.id for p in PLAN.periods]))
def test_assess_never_raises(data, period_id):
    _, everything, stale = data
    a = assess(PLAN, PLAN.period(period_id), everything, stale)
    json.dumps(snapshot(a), allow_nan=False)
    for r in a.indicators.values():
        assert isinstance(r.status, Status) and r.reason
    for u in a.annex:
        assert isinstance(u.status, Status) and u.reason
        if u.rate is not None:
            assert math.isfinite(u.rate)
        if u.status is Status.INVALID:
            assert u.rate is None or not u.unit.assessed
    for t in a.tasks:
        assert isinstance(t.status, Status)
    for c in a.respondents:
        assert c.state in ("未报送", "已报送", "需退回修改")


@settings(max_examples=40, deadline=None)
@given(eb=finite, ec=finite, ob=finite, oc=finite)
def test_annex_rate_formula_and_sign(eb, ec, ob, oc):
    u = assess(PLAN, PLAN.period("2024FY"), [sub("baoshuiqu_glj", annex=(eb, ec, ob, oc))]).unit("baoshuiqu_glj")
    reb, rec, rob, roc = (round(x, 6) for x in (eb, ec, ob, oc))
    if reb <= 0 or rob <= 0 or roc <= 0:
        assert u.status is Status.INVALID and u.rate is None
        return
    expected = annex_rate(reb, rec, rob, roc)
    assert u.rate == pytest.approx(expected, abs=1e-4)
    assert (u.rate >= 3.5) == (u.status is Status.DONE)
    assert u.status in (Status.DONE, Status.BEHIND)
    rising = rec / roc > reb / rob
    if rising and u.rate < 0:
        assert "上升" in u.reason


# regression: sums/ratios of huge but finite figures overflowed to inf/nan and crashed the wording
# (format_number(inf) raises); the issue asks that assess never raises for arbitrary finite figures


def test_huge_finite_figures_do_not_crash(plan):
    big = 1e308
    a = run(plan, "2024H1", sub("fgw", {"T05-1": big}), sub("jjw", {"T05-1": big}), sub("gzw", {"T05-1": big}))
    r = a.indicators["T05-1"]
    assert r.value == big and r.status is Status.DONE
    assert r.contributors_sum is None or math.isfinite(r.contributors_sum)
    a = run(plan, "2024H1", sub("jjw", {"T05-1": big}), sub("gzw", {"T05-1": big}))
    assert a.indicators["T05-1"].status is Status.MISSING
    json.dumps(snapshot(a), allow_nan=False)


@pytest.mark.parametrize(
    "parts",
    [
        (1e-6, 1e308, 1e308, 1e-6),  # current intensity overflows to inf
        (1e308, 1e308, 1e-6, 1e-6),  # both intensities overflow: inf/inf = nan
    ],
)
def test_annex_overflow_is_invalid_not_a_crash(plan, parts):
    u = run(plan, "2024FY", sub("baoshuiqu_glj", annex=parts)).unit("baoshuiqu_glj")
    assert u.status is Status.INVALID and u.rate is None
    assert "异常" in u.reason


def test_annex_rolled_in_sum_overflow_is_invalid(plan):
    a = run(plan, "2024FY", sub("jinqiao_glj", annex=(1e308, 1, 1, 1)), sub("jinqiao_zhen", annex=(1e308, 1, 1, 1)))
    host = a.unit("jinqiao_glj")
    assert host.status is Status.INVALID and host.rate is None
    assert host.energy_base is None or math.isfinite(host.energy_base)
    json.dumps(snapshot(a), allow_nan=False)


big_figure = st.just(0.0) | st.floats(allow_nan=False, allow_infinity=False)
big_part = st.none() | st.just(0.0) | st.floats(0, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=returns(values=big_figure, annex_part=big_part), period_id=st.sampled_from([p.id for p in PLAN.periods]))
def test_assess_never_raises_for_any_finite_figure(data, period_id):
    _, everything, stale = data
    a = assess(PLAN, PLAN.period(period_id), everything, stale)
    json.dumps(snapshot(a), allow_nan=False)
    for u in a.annex:
        assert u.rate is None or math.isfinite(u.rate)


@pytest.mark.parametrize(("ind_id", "expected"), [
    ("T17-1", [110, 221, 331, 442]),  # 442 新能源公交车: 110.5 at Q1 asks for 110, not half a bus
    ("T19-4", [0, 0, 0, 1]),  # one 慢行示范区域: nothing is due before it is done
    ("T05-1", [3.75, 7.5, 11.25, 15]),  # 万千瓦 is not counted in whole things: the share stands
])  # fmt: skip
def test_whole_things_are_asked_for_whole(plan, ind_id, expected):
    from pdreport.periods import sequential_target

    ind = plan.indicator(ind_id)
    got = [sequential_target(ind, plan.period(p)) for p in ("2024Q1", "2024H1", "2024Q3", "2024FY")]
    assert got == pytest.approx(expected)
    assert sequential_target(ind, plan.period("2024Q1"), whole=False) == pytest.approx(ind.target / 4)


def test_a_completion_share_short_of_its_bar_never_rounds_onto_it(plan):
    """649 of 2600 charging points against a quarter's 650 is 滞后: its share reads 24.96 %, not the
    25.0 % the 序时目标 stands for (report and 汇总表 both use ``ratio_places``)."""
    from pdreport.assess import IndicatorResult
    from pdreport.report.context import percent_text

    ind = plan.indicator("T18-3")
    assert ind.target == 2600

    def shown(value, sequential):
        r = IndicatorResult(ind, Status.BEHIND, value, sequential, value / ind.target, ())
        return percent_text(r.ratio, r.ratio_places())

    assert shown(649, 650) == "24.96%"
    assert shown(2599.9, 1300) == "99.996%"  # short of the year's target itself
    assert shown(1000, 650) == "38.5%" and shown(650, 650) == "25.0%"
